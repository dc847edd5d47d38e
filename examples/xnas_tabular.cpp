// xnas-tabular: runs a search strategy against a tabular benchmark (a CSV of precomputed
// results, NAS-Bench-201 style) many times and reports the mean and standard deviation of the
// chosen architectures' report metric, plus the strategy's own overhead per trial, and how
// the best result grows against simulated time on simulated workers (anytime performance).
//
//   /usr/bin/python3 benchmarks/make_nb201_table.py --out nb201.csv
//   xnas-tabular --table nb201.csv --space nb201 --strategy evolution --queries 150 --seeds 50
//
// Run with --help for every option.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>
#include <xnas/evaluate/tabular_evaluator.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/strategy_registry.hpp>
#include <xnas/run/search.hpp>
#include <xnas/run/simulated_executor.hpp>
#include <xnas/select/pareto.hpp>
#include <xnas/space/cell_space.hpp>

namespace {

struct config {
    std::string table;
    std::string space = "nb201";
    std::string strategy = "evolution";
    std::size_t queries = 150;
    std::size_t seeds = 10;
    std::string search_metric = "val_acc";
    std::string report_metric = "test_acc";
    std::string second_objective = "train_time";
    std::string journal;
    std::uint64_t seed = 0;
    std::size_t workers = 1;
    std::string cost_column;
    std::string fidelity_columns;
    double max_cost = 0;
    bool multi_objective = false;
    std::string anytime;
};

/// --fidelity-columns "1/27:@7,1/9:@22,1/3:@67,1:@200": fidelity (a fraction or a decimal) and
/// column suffix per level. Throws std::invalid_argument naming the option and the entry.
std::vector<xnas::fidelity_level> fidelity_levels(const std::string& text) {
    std::vector<xnas::fidelity_level> out;
    if (text.empty())
        return out;
    for (std::size_t from = 0;;) {
        const std::size_t comma = text.find(',', from);
        const std::string entry =
            text.substr(from, comma == std::string::npos ? comma : comma - from);
        const std::size_t colon = entry.find(':');
        auto refuse = [&] {
            return std::invalid_argument(
                "--fidelity-columns: expected entries FIDELITY:SUFFIX, comma-separated, with a "
                "FIDELITY in (0, 1] as a decimal or a fraction (1/27:@7,1:@200), not \"" +
                entry + "\"");
        };
        if (colon == std::string::npos || colon + 1 == entry.size())
            throw refuse();
        const std::string f = entry.substr(0, colon);
        const std::size_t slash = f.find('/');
        double value = 0;
        try {
            std::size_t used = 0;
            if (slash == std::string::npos) {
                value = std::stod(f, &used);
                if (used != f.size())
                    throw refuse();
            } else {
                const std::string num = f.substr(0, slash), den = f.substr(slash + 1);
                std::size_t u1 = 0, u2 = 0;
                value = std::stod(num, &u1) / std::stod(den, &u2);
                if (u1 != num.size() || u2 != den.size())
                    throw refuse();
            }
        } catch (const std::logic_error&) {
            throw refuse();
        }
        if (!(value > 0 && value <= 1))
            throw refuse();
        out.push_back({value, entry.substr(colon + 1)});
        if (comma == std::string::npos)
            break;
        from = comma + 1;
    }
    return out;
}

/// Forwards ask/tell to a strategy and accumulates the time they take: the overhead a strategy
/// adds to every trial, which a tabular benchmark makes visible (evaluations are lookups).
template <class St>
struct timed {
    St inner;
    double seconds = 0;
    std::size_t calls = 0;

    template <class Space>
    auto ask(const Space& s, xnas::rng& g) {
        const auto t0 = std::chrono::steady_clock::now();
        auto t = inner.ask(s, g);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ++calls;
        return t;
    }
    template <class A>
    void tell(const xnas::trial<A>& t, const xnas::evaluation& e) {
        const auto t0 = std::chrono::steady_clock::now();
        inner.tell(t, e);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
};

struct summary {
    std::vector<double> report;      // per run: report metric of the best-by-search trial
    std::vector<double> search;      // per run: its search metric
    std::vector<double> seconds;     // per run: simulated seconds at its last result
    std::vector<double> hypervolume; // per run, with --multi-objective
    // per run: (simulated seconds, best search metric at the top fidelity so far) at each result
    std::vector<std::vector<std::pair<double, double>>> curves;
    double overhead_seconds = 0; // ask + tell, all runs
    std::size_t trials = 0;
};

using table_eval = decltype(xnas::make_tabular_evaluator(std::string(), xnas::cell_space::nb201()));
using simulated = xnas::simulated_executor<table_eval, xnas::cell_space::architecture>;

/// Follows a run on the simulated clock: the best search metric of any result so far, at any
/// fidelity (as Syne Tune's anytime plots count it), after each result.
struct anytime_curve {
    const simulated* exec;
    std::string metric;
    std::vector<std::pair<double, double>> points{};
    double best = -std::numeric_limits<double>::infinity();
    void on_result(const xnas::scored<xnas::cell_space::architecture>& s) {
        if (s.e.ok() && s.e.value(metric) > best)
            best = s.e.value(metric);
        points.emplace_back(exec->now(), best);
    }
};

/// The reference point of --multi-objective's hypervolume: the worst search metric and the
/// worst (largest) second objective in the table's top-fidelity columns.
std::vector<double> worst_point(const config& c, const std::vector<xnas::fidelity_level>& levels) {
    const auto csv = xnas::data::read_csv(c.table);
    std::string suffix;
    double top = 0;
    for (const auto& l : levels)
        if (l.fidelity > top) {
            top = l.fidelity;
            suffix = l.suffix;
        }
    auto column = [&](const std::string& base) {
        return csv.has_column(base + suffix) ? base + suffix : base;
    };
    const std::string a = column(c.search_metric), b = column(c.second_objective);
    double worst_a = std::numeric_limits<double>::infinity(), worst_b = -worst_a;
    for (std::size_t r = 0; r < csv.rows(); ++r) {
        worst_a = std::min(worst_a, csv.number(r, a));
        worst_b = std::max(worst_b, csv.number(r, b));
    }
    return {worst_a, worst_b};
}

double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v)
        s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

double std_of(const std::vector<double>& v) {
    if (v.size() < 2)
        return 0.0;
    const double m = mean_of(v);
    double s = 0;
    for (double x : v)
        s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size() - 1));
}

summary run_all(const config& c, const xnas::cell_space& space,
                const xnas::experiment::strategy_registry<xnas::cell_space>& registry) {
    xnas::tabular_options topt;
    topt.objectives = {c.search_metric};
    topt.cost_column = c.cost_column;
    topt.fidelities = fidelity_levels(c.fidelity_columns);
    auto eval = xnas::make_tabular_evaluator(c.table, space, topt);
    const xnas::objective primary{c.search_metric, xnas::direction::maximize};
    // Field by field: g++ 12 warns (falsely) that a designated initializer leaves the
    // objectives' strings uninitialised.
    xnas::experiment::strategy_settings settings;
    settings.primary = primary;
    settings.secondary = {c.second_objective, xnas::direction::minimize};
    if (c.multi_objective)
        settings.objectives = {settings.primary, settings.secondary};
    for (const auto& l : topt.fidelities) // the rungs start at the table's lowest level
        if (settings.min_fidelity == 0 || l.fidelity < settings.min_fidelity)
            settings.min_fidelity = l.fidelity;
    const std::vector<xnas::objective> both{settings.primary, settings.secondary};
    const std::vector<double> reference =
        c.multi_objective ? worst_point(c, topt.fidelities) : std::vector<double>{};
    summary out;
    for (std::size_t k = 0; k < c.seeds; ++k) {
        timed<xnas::experiment::any_strategy<xnas::cell_space>> st{
            registry.make(c.strategy, settings)};
        xnas::search_options opt;
        opt.objectives = {primary};
        if (c.strategy == "nsga2" || c.multi_objective)
            opt.objectives.push_back(settings.secondary);
        opt.max_trials = c.queries;
        opt.max_cost = c.max_cost;
        opt.seed = c.seed + k;
        opt.workers = c.workers;
        if (!c.journal.empty()) {
            opt.journal = c.seeds == 1 ? c.journal : c.journal + "." + std::to_string(k);
            opt.fsync = false;
        }
        simulated exec(eval, c.workers);
        anytime_curve curve{&exec, c.search_metric};
        const auto study = xnas::search_with(space, st, exec, opt, curve);
        out.seconds.push_back(exec.now());
        out.curves.push_back(std::move(curve.points));
        if (c.multi_objective) {
            std::vector<std::vector<double>> front;
            for (std::size_t i : study.pareto_front(both))
                front.push_back(xnas::objective_values(study.history[i].e, both));
            out.hypervolume.push_back(xnas::hypervolume(front, both, reference));
        }
        const auto best = study.best_index(primary);
        if (!best)
            throw std::runtime_error("xnas-tabular: run " + std::to_string(k) +
                                     " has no successful trial (is --search-metric a column?)");
        const auto& e = study.history[*best].e;
        const double report = e.value(c.report_metric);
        if (std::isnan(report))
            throw std::runtime_error("xnas-tabular: the table has no column '" + c.report_metric +
                                     "' (--report-metric)");
        out.report.push_back(report);
        out.search.push_back(e.value(c.search_metric));
        out.overhead_seconds += st.seconds;
        out.trials += st.calls;
    }
    return out;
}

/// The --anytime CSV: run, simulated seconds, best search metric so far, one row per result.
void write_anytime(const std::string& path, const summary& s) {
    std::ostringstream csv;
    csv << "run,seconds,best\n";
    for (std::size_t k = 0; k < s.curves.size(); ++k)
        for (const auto& [t, best] : s.curves[k])
            if (std::isfinite(best))
                csv << k << ',' << t << ',' << best << '\n';
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << csv.str();
    if (!out.flush())
        throw xnas::file_error("xnas-tabular: cannot write --anytime " + path);
}

/// Ten points of the mean best-so-far curve over the runs, at 10 %, 20 %, ... of the shortest
/// run's simulated time (so every run is there at each point), as JSON.
std::string anytime_json(const summary& s) {
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
        std::snprintf(number, sizeof number, "%s%.1f", i > 1 ? ", " : "", t);
        seconds += number;
        if (at.empty())
            std::snprintf(number, sizeof number, "%snull", i > 1 ? ", " : "");
        else
            std::snprintf(number, sizeof number, "%s%.4f", i > 1 ? ", " : "", mean_of(at));
        best += number;
    }
    return "{\"seconds\": " + seconds + "], \"mean_best\": " + best + "]}";
}

/// With --multi-objective: ", \"hypervolume\": mean, \"hypervolume_std\": std".
std::string hypervolume_fields(const summary& s) {
    if (s.hypervolume.empty())
        return {};
    char text[96];
    std::snprintf(text, sizeof text, ", \"hypervolume\": %.4f, \"hypervolume_std\": %.4f",
                  mean_of(s.hypervolume), std_of(s.hypervolume));
    return text;
}

} // namespace

int main(int argc, char** argv) {
    config c;
    const auto registry = xnas::experiment::shipped_strategies<xnas::cell_space>();
    CLI::App app{
        "xnas-tabular: benchmark a search strategy on a tabular NAS benchmark.\n\n"
        "Runs --seeds independent searches (seeds --seed, --seed + 1, ...) of --queries queries\n"
        "each (a query is one evaluated trial, repeats included) over the cells of --space,\n"
        "maximising --search-metric looked up in --table. Per run it takes the trial with the\n"
        "best search metric and reads its --report-metric; it prints one JSON line with the\n"
        "mean and standard deviation of that report metric over runs, the mean best search\n"
        "metric, and the strategy's overhead (time inside ask + tell) per trial in\n"
        "microseconds. The table is a CSV with an 'arch' column of NAS-Bench-201 strings\n"
        "(|op~0|+|op~0|op~1|+...) and numeric columns; benchmarks/make_nb201_table.py writes a\n"
        "synthetic one. nsga2 also minimises --second-objective. bananas uses the cells' path\n"
        "encoding. With --cost-column each query takes that many simulated seconds on\n"
        "--workers simulated workers, and the line gives the mean best-so-far against\n"
        "simulated time (anytime); --fidelity-columns lets multi-fidelity strategies read\n"
        "lower-fidelity columns."};
    app.add_option("--table", c.table, "CSV table of results (arch column + metrics)")
        ->required()
        ->check(CLI::ExistingFile);
    app.add_option("--space", c.space,
                   "nb201 (4 nodes, 15,625 cells) or cellN (N nodes with NB201's 5 ops, e.g. "
                   "cell3: 125 cells)")
        ->capture_default_str();
    app.add_option("--strategy", c.strategy, registry.describe(" | "))
        ->check(CLI::IsMember(registry.names()))
        ->capture_default_str();
    // Checked on the text: CLI11 2.1 reads "-3" for an unsigned option as 2^64 - 3.
    namespace ex = xnas::experiment;
    auto in = [](const ex::value_range& r) {
        return CLI::Validator([r](std::string& text) { return ex::text_error(text, r); },
                              ex::describe(r));
    };
    app.add_option("--queries", c.queries, "evaluated trials per run")
        ->check(in(ex::count_from(1)))
        ->capture_default_str();
    app.add_option("--seeds", c.seeds, "independent runs")
        ->check(in(ex::count_from(1)))
        ->capture_default_str();
    app.add_option("--search-metric", c.search_metric, "column the search maximises")
        ->capture_default_str();
    app.add_option("--report-metric", c.report_metric, "column reported for each run's pick")
        ->capture_default_str();
    app.add_option("--second-objective", c.second_objective,
                   "column nsga2 minimises beside the search metric")
        ->capture_default_str();
    app.add_option("--journal", c.journal,
                   "write each run's journal to FILE (FILE.k for run k when --seeds > 1); an "
                   "existing journal is an error");
    app.add_option("--seed", c.seed, "seed of the first run")
        ->check(in(ex::any_seed))
        ->capture_default_str();
    app.add_option("--workers", c.workers,
                   "simulated workers: a query takes --cost-column seconds on a simulated clock "
                   "and the strategy hears each result at the simulated time it finishes (told "
                   "in ask order, as xnas-search does)")
        ->check(in(ex::count_from(1)))
        ->capture_default_str();
    app.add_option("--cost-column", c.cost_column,
                   "column of a query's simulated seconds (per fidelity with "
                   "--fidelity-columns), e.g. train_time; also what --max-cost sums (default: "
                   "queries cost nothing)");
    app.add_option("--fidelity-columns", c.fidelity_columns,
                   "FIDELITY:SUFFIX,...: a query of fidelity f reads the columns <name>SUFFIX of "
                   "the smallest FIDELITY >= f, e.g. 1/27:@7,1/9:@22,1/3:@67,1:@200 for "
                   "val_acc@7 ... val_acc@200; multi-fidelity strategies start at the smallest");
    app.add_option("--max-cost", c.max_cost,
                   "also stop a run once its queries' summed --cost-column reaches this (0: none)")
        ->check(in(ex::real_in(0)))
        ->capture_default_str();
    app.add_flag("--multi-objective", c.multi_objective,
                 "strategies that rank by several objectives (tpe, nsga2, hyperband, asha, bohb) "
                 "maximise --search-metric and minimise --second-objective together; reports "
                 "each run's hypervolume (reference: the table's worst of each)");
    app.add_option("--anytime", c.anytime,
                   "write each run's best search metric so far (any fidelity) after every result "
                   "against simulated seconds to this CSV");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11's own codes (105 for a value out of range) would tell scripts nothing more than
        // the usage error's 2; --help stays 0.
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        fidelity_levels(c.fidelity_columns);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "xnas-tabular: %s\n", e.what());
        return 2;
    }
    // Before the table is read: the nodes are checked as the counts are ("cell-3" would wrap).
    std::size_t nodes = 0;
    if (c.space != "nb201") {
        const std::string digits = c.space.starts_with("cell") ? c.space.substr(4) : "";
        if (!ex::text_error(digits, ex::count_from(2)).empty()) {
            std::fprintf(stderr,
                         "xnas-tabular: --space: expected nb201 or cellN with N a whole number "
                         ">= 2, not %s\n",
                         c.space.c_str());
            return 2;
        }
        nodes = std::stoul(digits);
    }

    try {
        xnas::cell_space space = xnas::cell_space::nb201();
        if (nodes)
            space = xnas::cell_space(nodes, space.ops());
        // The path encoding is what bananas's predictor learns from (White et al. 2021); the
        // other strategies do not encode.
        const summary s =
            run_all(c, space.with_encoding(xnas::cell_space::encoding::path), registry);
        if (!c.anytime.empty())
            write_anytime(c.anytime, s);
        std::printf(
            "{\"strategy\": \"%s\", \"space\": \"%s\", \"queries\": %zu, \"seeds\": %zu, "
            "\"search_metric\": \"%s\", \"report_metric\": \"%s\", \"mean\": %.4f, "
            "\"std\": %.4f, \"mean_best_search\": %.4f, \"overhead_us_per_trial\": %.3f, "
            "\"workers\": %zu, \"mean_simulated_seconds\": %.1f%s, \"anytime\": %s}\n",
            c.strategy.c_str(), c.space.c_str(), c.queries, c.seeds, c.search_metric.c_str(),
            c.report_metric.c_str(), mean_of(s.report), std_of(s.report), mean_of(s.search),
            s.trials ? 1e6 * s.overhead_seconds / static_cast<double>(s.trials) : 0.0, c.workers,
            mean_of(s.seconds), hypervolume_fields(s).c_str(), anytime_json(s).c_str());
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    return 0;
}
