#pragma once
// Benchmarking a strategy on a tabular benchmark (a CSV of precomputed results, NAS-Bench-201
// style), as xnas-tabular does: run_tabular searches the table several times on simulated
// workers (each query costs its cost column's seconds on a simulated clock) and summarises the
// runs: the report metric of each run's pick, the strategy's own time per trial, the
// hypervolume of multi-objective runs, and the anytime curve of the best result so far against
// simulated seconds. The summary prints as one JSON line (tabular_json) and its curves as a CSV
// (write_anytime_csv).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/durable_file.hpp>
#include <xnas/core/json.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/data/csv.hpp>
#include <xnas/evaluate/tabular_evaluator.hpp>
#include <xnas/experiment/strategy_registry.hpp>
#include <xnas/run/search.hpp>
#include <xnas/run/simulated_executor.hpp>
#include <xnas/select/pareto.hpp>
#include <xnas/space/detail/text.hpp>

namespace xnas::experiment {

/// Parses fidelity levels written FIDELITY:SUFFIX,... (e.g. "1/27:@7,1/9:@22,1:@200"), each
/// fidelity in (0, 1] as a decimal or a fraction; "" gives none. Throws std::invalid_argument
/// naming `option` and the entry at fault.
inline std::vector<fidelity_level> parse_fidelity_levels(std::string_view text,
                                                         std::string_view option) {
    std::vector<fidelity_level> out;
    if (text.empty())
        return out;
    for (std::size_t from = 0;;) {
        const std::size_t comma = text.find(',', from);
        const std::string entry(
            text.substr(from, comma == std::string_view::npos ? comma : comma - from));
        auto refuse = [&] {
            return std::invalid_argument(
                std::string(option) +
                ": expected entries FIDELITY:SUFFIX, comma-separated, with a FIDELITY in (0, 1] "
                "as a decimal or a fraction (1/27:@7,1:@200), not \"" +
                entry + "\"");
        };
        const std::size_t colon = entry.find(':');
        if (colon == std::string::npos || colon + 1 == entry.size())
            throw refuse();
        // Whole text or nothing (std::stod would read "1x" as 1), and a decimal point whatever
        // the C locale.
        auto number = [&](const std::string& t) {
            double v = 0;
            if (!xnas::detail::parse_double(t, v))
                throw refuse();
            return v;
        };
        const std::string f = entry.substr(0, colon);
        const std::size_t slash = f.find('/');
        const double value = slash == std::string::npos
                                 ? number(f)
                                 : number(f.substr(0, slash)) / number(f.substr(slash + 1));
        if (!(value > 0 && value <= 1))
            throw refuse();
        out.push_back({value, entry.substr(colon + 1)});
        if (comma == std::string_view::npos)
            return out;
        from = comma + 1;
    }
}

/// A strategy that counts its asks and the seconds spent inside ask and tell: the overhead a
/// strategy adds to every trial, which a tabular benchmark makes visible (its evaluations are
/// lookups).
template <class St>
struct timed_strategy {
    St inner;
    double seconds = 0;
    std::size_t asks = 0;

    template <class Space>
    auto ask(const Space& s, rng& g) {
        const auto t0 = std::chrono::steady_clock::now();
        auto t = inner.ask(s, g);
        seconds += since(t0);
        ++asks;
        return t;
    }
    template <class A>
    void tell(const trial<A>& t, const evaluation& e) {
        const auto t0 = std::chrono::steady_clock::now();
        inner.tell(t, e);
        seconds += since(t0);
    }

  private:
    static double since(std::chrono::steady_clock::time_point t0) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
};

/// What run_tabular runs: `seeds` searches (seeds seed, seed + 1, ...) of `queries` queries
/// each by `strategy`, maximising `search_metric` in `table`.
struct tabular_benchmark {
    std::filesystem::path table;
    std::string strategy = "evolution";
    std::size_t queries = 150; ///< evaluated trials per run, repeats included
    std::size_t seeds = 10;
    std::string search_metric = "val_acc";
    std::string report_metric = "test_acc"; ///< read from each run's pick
    /// Minimised beside search_metric by nsga2, and by every strategy under multi_objective.
    std::string second_objective = "train_time";
    /// Each run's journal: this file for one run, FILE.k for run k of several (empty: none).
    std::string journal;
    std::uint64_t seed = 0;
    std::size_t workers = 1; ///< simulated workers
    /// Column of a query's simulated seconds (per fidelity under `fidelities`); empty: free.
    std::string cost_column;
    /// The table's fidelity levels (parse_fidelity_levels); the multi-fidelity strategies'
    /// lowest rung is the lowest of them.
    std::vector<fidelity_level> fidelities;
    double max_cost = 0; ///< also stop a run once its summed cost reaches this (0: no bound)
    /// Strategies that rank by several objectives take search_metric and second_objective
    /// together, and each run's hypervolume is measured.
    bool multi_objective = false;
};

/// run_tabular's result, one entry per run in each vector.
struct tabular_summary {
    std::vector<double> report;  ///< report metric of the trial best by the search metric
    std::vector<double> search;  ///< that trial's search metric
    std::vector<double> seconds; ///< simulated seconds at the run's last result
    /// With multi_objective: the front's hypervolume, the reference point being the table's
    /// worst search metric and worst (largest) second objective at the top fidelity.
    std::vector<double> hypervolume;
    /// (simulated seconds, best search metric so far at any fidelity) after each result, as
    /// Syne Tune's anytime plots count it; -infinity before the first success.
    std::vector<std::vector<std::pair<double, double>>> curves;
    double overhead_seconds = 0; ///< inside ask and tell, over all runs
    std::size_t trials = 0;      ///< asks over all runs
};

/// Mean of `v` (0 when empty).
inline double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v)
        s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

/// Sample standard deviation of `v` (0 with fewer than two values).
inline double sample_std(const std::vector<double>& v) {
    if (v.size() < 2)
        return 0.0;
    const double m = mean_of(v);
    double s = 0;
    for (double x : v)
        s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size() - 1));
}

namespace detail {

/// Follows a run on its executor's simulated clock (tabular_summary::curves).
template <class Executor>
struct anytime_curve {
    const Executor* exec;
    std::string metric;
    std::vector<std::pair<double, double>> points{};
    double best = -std::numeric_limits<double>::infinity();

    template <class A>
    void on_result(const scored<A>& s) {
        if (s.e.ok() && s.e.value(metric) > best)
            best = s.e.value(metric);
        points.emplace_back(exec->now(), best);
    }
};

/// The hypervolume's reference point (tabular_summary::hypervolume) in `csv`, b.table's rows.
inline std::vector<double> worst_point(const tabular_benchmark& b, const data::csv_table& csv) {
    std::string suffix;
    double top = 0;
    for (const auto& l : b.fidelities)
        if (l.fidelity > top) {
            top = l.fidelity;
            suffix = l.suffix;
        }
    auto column = [&](const std::string& base) {
        return csv.has_column(base + suffix) ? base + suffix : base;
    };
    const std::string a = column(b.search_metric), c = column(b.second_objective);
    double worst_a = std::numeric_limits<double>::infinity(), worst_c = -worst_a;
    for (std::size_t r = 0; r < csv.rows(); ++r) {
        worst_a = std::min(worst_a, csv.number(r, a));
        worst_c = std::max(worst_c, csv.number(r, c));
    }
    return {worst_a, worst_c};
}

} // namespace detail

/// Runs `b` over `space` (whose to_string is the table's arch column) with b.strategy made by
/// `registry`. Throws what the table's reading and the registry throw, and std::runtime_error
/// when a run has no successful trial or the table lacks the report metric (naming the field).
template <search_space Space>
tabular_summary run_tabular(const tabular_benchmark& b, const Space& space,
                            const strategy_registry<Space>& registry) {
    tabular_options topt;
    topt.objectives = {b.search_metric};
    topt.cost_column = b.cost_column;
    topt.fidelities = b.fidelities;
    const data::csv_table csv = data::read_csv(b.table);
    auto eval = make_tabular_evaluator(csv, space, topt);
    using executor = simulated_executor<decltype(eval), typename Space::architecture>;
    const objective primary{b.search_metric, direction::maximize};
    // Field by field: g++ 12 warns (falsely) that a designated initializer leaves the
    // objectives' strings uninitialised.
    strategy_settings settings;
    settings.primary = primary;
    settings.secondary = {b.second_objective, direction::minimize};
    if (b.multi_objective)
        settings.objectives = {settings.primary, settings.secondary};
    for (const auto& l : b.fidelities) // the rungs start at the table's lowest level
        if (settings.min_fidelity == 0 || l.fidelity < settings.min_fidelity)
            settings.min_fidelity = l.fidelity;
    const std::vector<objective> both{settings.primary, settings.secondary};
    const std::vector<double> reference =
        b.multi_objective ? detail::worst_point(b, csv) : std::vector<double>{};
    tabular_summary out;
    for (std::size_t k = 0; k < b.seeds; ++k) {
        timed_strategy<any_strategy<Space>> st{registry.make(b.strategy, settings)};
        search_options opt;
        opt.objectives = {primary};
        if (b.strategy == "nsga2" || b.multi_objective)
            opt.objectives.push_back(settings.secondary);
        opt.max_trials = b.queries;
        opt.max_cost = b.max_cost;
        opt.seed = b.seed + k;
        opt.workers = b.workers;
        if (!b.journal.empty()) {
            opt.journal = b.seeds == 1 ? b.journal : b.journal + "." + std::to_string(k);
            opt.fsync = false; // a benchmark's journal is a record, not a resume point
        }
        executor exec(eval, b.workers);
        detail::anytime_curve<executor> curve{&exec, b.search_metric};
        const auto study = search_with(space, st, exec, opt, curve);
        out.seconds.push_back(exec.now());
        out.curves.push_back(std::move(curve.points));
        if (b.multi_objective) {
            std::vector<std::vector<double>> front;
            for (std::size_t i : study.pareto_front(both))
                front.push_back(objective_values(study.history[i].e, both));
            out.hypervolume.push_back(hypervolume(front, both, reference));
        }
        const auto best = study.best_index(primary);
        if (!best)
            throw std::runtime_error("xnas::experiment::run_tabular: run " + std::to_string(k) +
                                     " has no successful trial (is the search metric '" +
                                     b.search_metric + "' a column of " + b.table.string() + "?)");
        const auto& e = study.history[*best].e;
        const double report = e.value(b.report_metric);
        if (std::isnan(report))
            throw std::runtime_error("xnas::experiment::run_tabular: " + b.table.string() +
                                     " has no column '" + b.report_metric +
                                     "' (the report metric)");
        out.report.push_back(report);
        out.search.push_back(e.value(b.search_metric));
        out.overhead_seconds += st.seconds;
        out.trials += st.asks;
    }
    return out;
}

/// Writes the curves as CSV rows run,seconds,best (rows before a run's first success left out)
/// to `path`, whole or not at all (write_file_atomically). Throws xnas::file_error naming it.
inline void write_anytime_csv(const std::filesystem::path& path, const tabular_summary& s) {
    std::ostringstream csv;
    csv.imbue(std::locale::classic()); // no digit grouping or decimal comma from the global locale
    csv << "run,seconds,best\n";
    for (std::size_t k = 0; k < s.curves.size(); ++k)
        for (const auto& [t, best] : s.curves[k])
            if (std::isfinite(best))
                csv << k << ',' << t << ',' << best << '\n';
    write_file_atomically(path, csv.str());
}

/// Ten points of the mean best-so-far curve over the runs, at 10 %, 20 %, ... of the shortest
/// run's simulated time (so that every run is there at each point), as a JSON object
/// {"seconds": [...], "mean_best": [...]} (null where no run has a success yet).
inline std::string anytime_json(const tabular_summary& s) {
    double horizon = std::numeric_limits<double>::infinity();
    for (double t : s.seconds)
        horizon = std::min(horizon, t);
    std::string seconds = "[", best = "[";
    char number[48];
    for (int i = 1; i <= 10 && std::isfinite(horizon); ++i) {
        const double t = horizon * i / 10;
        std::vector<double> at;
        for (const auto& curve : s.curves) {
            double b = std::nan("");
            for (const auto& [when, v] : curve)
                if (when <= t && std::isfinite(v))
                    b = v;
            if (!std::isnan(b))
                at.push_back(b);
        }
        const char* sep = i > 1 ? ", " : "";
        std::snprintf(number, sizeof number, "%s%.1f", sep, t);
        seconds += number;
        if (at.empty())
            std::snprintf(number, sizeof number, "%snull", sep);
        else
            std::snprintf(number, sizeof number, "%s%.4f", sep, mean_of(at));
        best += number;
    }
    return "{\"seconds\": " + seconds + "], \"mean_best\": " + best + "]}";
}

/// The summary of `b`'s runs over the space named `space_name` as one JSON line (no newline):
/// the report metric's mean and sample standard deviation over runs, the mean best search
/// metric, the strategy's overhead in microseconds per trial, the mean simulated seconds, the
/// hypervolume's mean and deviation with multi_objective, and the anytime curve.
inline std::string tabular_json(const tabular_benchmark& b, std::string_view space_name,
                                const tabular_summary& s) {
    auto text = [](std::string_view v) { return json::value(std::string(v)).dump(); };
    auto number = [](const char* format, double v) {
        char out[48];
        std::snprintf(out, sizeof out, format, v);
        return std::string(out);
    };
    std::string line =
        "{\"strategy\": " + text(b.strategy) + ", \"space\": " + text(space_name) +
        ", \"queries\": " + std::to_string(b.queries) + ", \"seeds\": " + std::to_string(b.seeds) +
        ", \"search_metric\": " + text(b.search_metric) +
        ", \"report_metric\": " + text(b.report_metric) +
        ", \"mean\": " + number("%.4f", mean_of(s.report)) +
        ", \"std\": " + number("%.4f", sample_std(s.report)) +
        ", \"mean_best_search\": " + number("%.4f", mean_of(s.search)) +
        ", \"overhead_us_per_trial\": " +
        number("%.3f", s.trials ? 1e6 * s.overhead_seconds / static_cast<double>(s.trials) : 0.0) +
        ", \"workers\": " + std::to_string(b.workers) +
        ", \"mean_simulated_seconds\": " + number("%.1f", mean_of(s.seconds));
    if (!s.hypervolume.empty())
        line += ", \"hypervolume\": " + number("%.4f", mean_of(s.hypervolume)) +
                ", \"hypervolume_std\": " + number("%.4f", sample_std(s.hypervolume));
    return line + ", \"anytime\": " + anytime_json(s) + "}";
}

} // namespace xnas::experiment
