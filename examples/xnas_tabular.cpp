// xnas-tabular: runs a search strategy against a tabular benchmark (a CSV of precomputed
// results, NAS-Bench-201 style) many times and reports the mean and standard deviation of the
// chosen architectures' report metric, plus the strategy's own overhead per trial.
//
//   /usr/bin/python3 benchmarks/make_nb201_table.py --out nb201.csv
//   xnas-tabular --table nb201.csv --space nb201 --strategy evolution --queries 150 --seeds 50
//
// Run with --help for every option.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>
#include <xnas/evaluate/tabular_evaluator.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/strategy_registry.hpp>
#include <xnas/run/search.hpp>
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
};

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
    std::vector<double> report;  // per run: report metric of the best-by-search trial
    std::vector<double> search;  // per run: its search metric
    double overhead_seconds = 0; // ask + tell, all runs
    std::size_t trials = 0;
};

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
    auto eval = xnas::make_tabular_evaluator(c.table, space, topt);
    const xnas::objective primary{c.search_metric, xnas::direction::maximize};
    // Field by field: g++ 12 warns (falsely) that a designated initializer leaves the
    // objectives' strings uninitialised.
    xnas::experiment::strategy_settings settings;
    settings.primary = primary;
    settings.secondary = {c.second_objective, xnas::direction::minimize};
    summary out;
    for (std::size_t k = 0; k < c.seeds; ++k) {
        timed<xnas::experiment::any_strategy<xnas::cell_space>> st{
            registry.make(c.strategy, settings)};
        xnas::search_options opt;
        opt.objectives = {primary};
        if (c.strategy == "nsga2")
            opt.objectives.push_back(settings.secondary);
        opt.max_trials = c.queries;
        opt.seed = c.seed + k;
        if (!c.journal.empty()) {
            opt.journal = c.seeds == 1 ? c.journal : c.journal + "." + std::to_string(k);
            opt.fsync = false;
        }
        const auto study = xnas::search(space, st, eval, opt);
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
        "encoding."};
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
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11's own codes (105 for a value out of range) would tell scripts nothing more than
        // the usage error's 2; --help stays 0.
        return app.exit(e) == 0 ? 0 : 2;
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
        std::printf("{\"strategy\": \"%s\", \"space\": \"%s\", \"queries\": %zu, \"seeds\": %zu, "
                    "\"search_metric\": \"%s\", \"report_metric\": \"%s\", \"mean\": %.4f, "
                    "\"std\": %.4f, \"mean_best_search\": %.4f, \"overhead_us_per_trial\": %.3f}\n",
                    c.strategy.c_str(), c.space.c_str(), c.queries, c.seeds,
                    c.search_metric.c_str(), c.report_metric.c_str(), mean_of(s.report),
                    std_of(s.report), mean_of(s.search),
                    s.trials ? 1e6 * s.overhead_seconds / static_cast<double>(s.trials) : 0.0);
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    return 0;
}
