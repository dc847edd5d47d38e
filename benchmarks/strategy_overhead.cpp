// Per-trial overhead (time inside ask + tell) of every strategy of xnas's strategy registry on
// NAS-Bench-201's cell space with a trivial objective, beside Optuna's RandomSampler and TPESampler
// on the same six categorical decisions (from benchmarks/strategy_overhead_optuna.py's JSON line).
//
//   /usr/bin/python3 benchmarks/strategy_overhead_optuna.py --trials 500 > optuna.json
//   strategy_overhead --trials 500 --optuna optuna.json
//
// Prints one line per strategy (microseconds per trial, and Optuna TPE's / ours) and a final
// JSON line. BANANAS retrains a neural ensemble every 10 results, so it is timed on
// min(trials, 200) trials.

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <xnas/core/json.hpp>
#include <xnas/experiment/strategy_registry.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/strategy.hpp>
#include <xnas/strategy/lstm_controller.hpp>

namespace {

using space_t = xnas::cell_space;

double objective(const space_t::architecture& a) {
    static const double gain[5] = {-3, 0, 1, 2, -1};
    double v = 0;
    for (std::size_t e = 0; e < a.ops.size(); ++e)
        v += gain[a.ops[e]] * (1.0 + 0.1 * static_cast<double>(e));
    return v;
}

// Microseconds per trial of a serial ask -> evaluate -> tell loop, timing ask and tell only.
template <class St>
double per_trial_us(St st, const space_t& space, std::size_t trials, std::uint64_t seed,
                    double& best) {
    xnas::rng g(seed);
    double seconds = 0;
    best = -1e300;
    for (std::size_t i = 0; i < trials; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto t = st.ask(space, g);
        const auto t1 = std::chrono::steady_clock::now();
        xnas::evaluation e;
        const double v = objective(t.architecture);
        e.objectives["score"] = v * (0.5 + 0.5 * t.fidelity);
        e.objectives["size"] = static_cast<double>(t.architecture.ops[0]);
        if (t.fidelity == 1.0)
            best = std::max(best, v);
        const auto t2 = std::chrono::steady_clock::now();
        st.tell(t, e);
        const auto t3 = std::chrono::steady_clock::now();
        seconds += std::chrono::duration<double>((t1 - t0) + (t3 - t2)).count();
    }
    return 1e6 * seconds / static_cast<double>(trials);
}

} // namespace

int main(int argc, char** argv) {
    std::size_t trials = 500;
    std::uint64_t seed = 0;
    std::string optuna_file;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--trials" && i + 1 < argc)
            trials = std::stoul(argv[++i]);
        else if (a == "--seed" && i + 1 < argc)
            seed = std::stoull(argv[++i]);
        else if (a == "--optuna" && i + 1 < argc)
            optuna_file = argv[++i];
        else {
            std::fprintf(stderr,
                         "usage: strategy_overhead [--trials N] [--seed S] [--optuna FILE]\n"
                         "  FILE: the JSON line of benchmarks/strategy_overhead_optuna.py\n");
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }
    double optuna_random = 0, optuna_tpe = 0;
    if (!optuna_file.empty()) {
        std::ifstream in(optuna_file);
        if (!in) {
            std::fprintf(stderr, "strategy_overhead: cannot read %s\n", optuna_file.c_str());
            return 1;
        }
        std::ostringstream text;
        text << in.rdbuf();
        const auto j = xnas::json::value::parse(text.str());
        optuna_random = j.at("optuna_random_us").get<double>();
        optuna_tpe = j.at("optuna_tpe_us").get<double>();
    }

    const auto space = space_t::nb201();
    const auto path_space = space.with_encoding(space_t::encoding::path);
    const xnas::objective score{"score"};
    struct row {
        std::string name;
        std::size_t trials;
        double us, best;
    };
    std::vector<row> rows;
    // Every strategy of the registry (xnas-search's and xnas-tabular's), with its defaults,
    // and two variants only this benchmark times.
    auto registry = xnas::experiment::shipped_strategies<space_t>();
    using any = xnas::experiment::any_strategy<space_t>;
    registry.add("reinforce_lstm", "", [](const xnas::experiment::strategy_settings& s) {
        return any(xnas::reinforce<space_t, xnas::lstm_policy>({.objective = s.primary},
                                                               xnas::lstm_policy()));
    });
    registry.add("successive_halving", "", [](const xnas::experiment::strategy_settings& s) {
        return any(xnas::successive_halving<space_t>({.objective = s.primary}));
    });
    xnas::experiment::strategy_settings settings; // field by field: see run_tabular
    settings.primary = score;
    settings.secondary = {"size", xnas::direction::minimize};
    for (const auto& entry : registry.entries()) {
        // BANANAS learns from the path encoding and retrains its ensemble every 10 results.
        const bool bananas = entry.name == "bananas";
        const std::size_t n = bananas ? std::min<std::size_t>(trials, 200) : trials;
        double best = 0;
        const double us =
            per_trial_us(entry.make(settings), bananas ? path_space : space, n, seed, best);
        rows.push_back({entry.name, n, us, best});
    }

    std::printf("%-20s %8s %14s %12s %14s\n", "strategy", "trials", "us/trial", "best", "tpe/ours");
    xnas::json::value out;
    out["trials"] = trials;
    if (optuna_tpe > 0) {
        std::printf("%-20s %8zu %14.3f %12s %14s\n", "optuna_random", trials, optuna_random, "-",
                    "-");
        std::printf("%-20s %8zu %14.3f %12s %14.1f\n", "optuna_tpe", trials, optuna_tpe, "-", 1.0);
        out["optuna_random_us"] = optuna_random;
        out["optuna_tpe_us"] = optuna_tpe;
    }
    for (const auto& r : rows) {
        const double ratio = optuna_tpe > 0 ? optuna_tpe / r.us : 0.0;
        std::printf("%-20s %8zu %14.3f %12.3f %14.1f\n", r.name.c_str(), r.trials, r.us, r.best,
                    ratio);
        out["xnas"][r.name] =
            xnas::json::value::object({{"us_per_trial", r.us}, {"trials", r.trials}});
        if (optuna_tpe > 0) {
            out["xnas"][r.name]["tpe_over_ours"] = ratio;
            out["xnas"][r.name]["optuna_random_over_ours"] = optuna_random / r.us;
        }
    }
    std::printf("%s\n", out.dump().c_str());
    return 0;
}
