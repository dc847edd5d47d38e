// xnas-tabular: runs a search strategy against a tabular benchmark (a CSV of precomputed
// results, NAS-Bench-201 style) many times and reports the mean and standard deviation of the
// chosen architectures' report metric, plus the strategy's own overhead per trial, and how
// the best result grows against simulated time on simulated workers (anytime performance).
// A front-end of xnas::experiment::run_tabular.
//
//   /usr/bin/python3 benchmarks/make_nb201_table.py --out nb201.csv
//   xnas-tabular --table nb201.csv --space nb201 --strategy evolution --queries 150 --seeds 50
//
// Run with --help for every option.

#include "cli_range.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/strategy_registry.hpp>
#include <xnas/experiment/tabular.hpp>
#include <xnas/space/cell_space.hpp>

int main(int argc, char** argv) {
    xnas::experiment::tabular_benchmark c;
    std::string table, space_name = "nb201", fidelity_columns, anytime;
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
    app.add_option("--table", table, "CSV table of results (arch column + metrics)")
        ->required()
        ->check(CLI::ExistingFile);
    app.add_option("--space", space_name,
                   "nb201 (4 nodes, 15,625 cells) or cellN (N nodes with NB201's 5 ops, e.g. "
                   "cell3: 125 cells)")
        ->capture_default_str();
    app.add_option("--strategy", c.strategy, registry.describe(" | "))
        ->check(CLI::IsMember(registry.names()))
        ->capture_default_str();
    namespace ex = xnas::experiment;
    using xnas_cli::in_range;
    app.add_option("--queries", c.queries, "evaluated trials per run")
        ->check(in_range(ex::count_from(1)))
        ->capture_default_str();
    app.add_option("--seeds", c.seeds, "independent runs")
        ->check(in_range(ex::count_from(1)))
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
        ->check(in_range(ex::any_seed))
        ->capture_default_str();
    app.add_option("--workers", c.workers,
                   "simulated workers: a query takes --cost-column seconds on a simulated clock "
                   "and the strategy hears each result at the simulated time it finishes (told "
                   "in ask order, as xnas-search does)")
        ->check(in_range(ex::count_from(1)))
        ->capture_default_str();
    app.add_option("--cost-column", c.cost_column,
                   "column of a query's simulated seconds (per fidelity with "
                   "--fidelity-columns), e.g. train_time; also what --max-cost sums (default: "
                   "queries cost nothing)");
    app.add_option("--fidelity-columns", fidelity_columns,
                   "FIDELITY:SUFFIX,...: a query of fidelity f reads the columns <name>SUFFIX of "
                   "the smallest FIDELITY >= f, e.g. 1/27:@7,1/9:@22,1/3:@67,1:@200 for "
                   "val_acc@7 ... val_acc@200; multi-fidelity strategies start at the smallest");
    app.add_option("--max-cost", c.max_cost,
                   "also stop a run once its queries' summed --cost-column reaches this (0: none)")
        ->check(in_range(ex::real_in(0)))
        ->capture_default_str();
    app.add_flag("--multi-objective", c.multi_objective,
                 "strategies that rank by several objectives (tpe, nsga2, hyperband, asha, bohb) "
                 "maximise --search-metric and minimise --second-objective together; reports "
                 "each run's hypervolume (reference: the table's worst of each)");
    app.add_option("--anytime", anytime,
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
        c.fidelities = ex::parse_fidelity_levels(fidelity_columns, "--fidelity-columns");
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "xnas-tabular: %s\n", e.what());
        return 2;
    }
    c.table = table;
    // Before the table is read: the nodes are checked as the counts are ("cell-3" would wrap).
    std::size_t nodes = 0;
    if (space_name != "nb201") {
        const std::string digits = space_name.starts_with("cell") ? space_name.substr(4) : "";
        if (!ex::text_error(digits, ex::count_from(2)).empty()) {
            std::fprintf(stderr,
                         "xnas-tabular: --space: expected nb201 or cellN with N a whole number "
                         ">= 2, not %s\n",
                         space_name.c_str());
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
        const auto s =
            ex::run_tabular(c, space.with_encoding(xnas::cell_space::encoding::path), registry);
        if (!anytime.empty())
            ex::write_anytime_csv(anytime, s);
        std::printf("%s\n", ex::tabular_json(c, space_name, s).c_str());
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    return 0;
}
