// Tabular benchmark runs: the fidelity-level parser and its errors, the timing strategy
// wrapper, run_tabular on generated tables of the 125 cells of a 3-node NB201-style space with
// a planted optimum (evolution finds it; picks read the report metric; the same seed gives the
// same runs), the anytime curves on simulated workers, multi-objective hypervolume, journals,
// and the JSON line and CSV written from a summary.

#include "comma_locale.hpp"
#include "read_text.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
#include <xnas/core/json.hpp>
#include <xnas/experiment/strategy_registry.hpp>
#include <xnas/experiment/tabular.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/strategy/random_search.hpp>

using namespace xnas::experiment;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

xnas::cell_space tabular_space() {
    return {3, xnas::cell_space::nb201().ops()};
}

/// The planted validation accuracy of a cell: additive over its edges, best with op 3
/// (nor_conv_3x3) on every edge.
double tabular_planted(const xnas::cell_space::architecture& a) {
    static const double gain[5] = {0.00, 0.02, 0.05, 0.09, 0.03};
    double v = 0.6;
    for (std::size_t e = 0; e < a.ops.size(); ++e)
        v += gain[a.ops[e]] * (1.0 + 0.2 * static_cast<double>(e));
    return v;
}

/// Every cell of tabular_space(): val_acc, test_acc = val_acc + 0.01 and train_time; with
/// `fidelities`, val_acc@1 (a blurred val_acc) and @3, train_time@1 and @3 instead.
fs::path tabular_table(const std::string& name, bool fidelities) {
    const fs::path path = fs::temp_directory_path() / ("xnas-test-tabular-" + name + ".csv");
    const xnas::cell_space space = tabular_space();
    std::ofstream out(path, std::ios::trunc);
    out << (fidelities ? "arch,val_acc@1,val_acc@3,train_time@1,train_time@3,test_acc\n"
                       : "arch,val_acc,test_acc,train_time\n");
    xnas::cell_space::architecture a;
    a.ops.resize(space.edges());
    for (std::size_t code = 0; code < 125; ++code) {
        for (std::size_t e = 0, rest = code; e < a.ops.size(); ++e, rest /= 5)
            a.ops[e] = static_cast<std::uint8_t>(rest % 5);
        const double v = tabular_planted(a);
        const double time = 10.0 + static_cast<double>(a.ops[0] + 2 * a.ops[1] + 3 * a.ops[2]);
        out << space.to_string(a) << ',';
        if (fidelities)
            out << std::round(v * 50) / 50 << ',' << v << ',' << time / 3 << ',' << time << ','
                << v + 0.01 << '\n';
        else
            out << v << ',' << v + 0.01 << ',' << time << '\n';
    }
    return path;
}

double tabular_optimum() {
    return tabular_planted({{3, 3, 3}});
}

tabular_benchmark tabular_runs(const fs::path& table, const std::string& strategy) {
    tabular_benchmark b;
    b.table = table;
    b.strategy = strategy;
    b.queries = 60;
    b.seeds = 3;
    b.seed = 11;
    return b;
}

} // namespace

TEST_CASE("parse_fidelity_levels reads fractions and decimals and names a bad entry",
          "[experiment][tabular]") {
    const auto levels = parse_fidelity_levels("1/27:@7,0.5:@22,1:@200", "--fidelity-columns");
    REQUIRE(levels.size() == 3);
    CHECK(levels[0].fidelity == Approx(1.0 / 27));
    CHECK(levels[0].suffix == "@7");
    CHECK(levels[1].fidelity == 0.5);
    CHECK(levels[2].fidelity == 1.0);
    CHECK(levels[2].suffix == "@200");
    CHECK(parse_fidelity_levels("", "--fidelity-columns").empty());
    for (const std::string bad :
         {"0:@7", "2:@7", "x:@7", "1/0:@7", "@7", "1:", "1x:@7", "1/2x:@7", "1:@7,", "nan:@7"}) {
        INFO(bad);
        CHECK_THROWS_WITH(parse_fidelity_levels(bad, "--levels"),
                          StartsWith("--levels: expected entries FIDELITY:SUFFIX"));
    }
    CHECK_THROWS_WITH(parse_fidelity_levels("1/3:@1,2:@3", "--levels"), Contains("not \"2:@3\""));

    xnas_test::comma_locale de; // std::stod read "0.5" as 0 and stopped at the point
    const auto in_de = parse_fidelity_levels("1/27:@7,0.5:@22", "--fidelity-columns");
    REQUIRE(in_de.size() == 2);
    CHECK(in_de[1].fidelity == 0.5);
    CHECK_THROWS(parse_fidelity_levels("0,5:@22", "--levels"));
}

TEST_CASE("timed_strategy counts asks and changes nothing the strategy does",
          "[experiment][tabular]") {
    const xnas::cell_space space = tabular_space();
    using random_t = xnas::random_search<xnas::cell_space>;
    timed_strategy<random_t> timed{random_t{}};
    random_t plain;
    xnas::rng g1(5), g2(5);
    for (int i = 0; i < 20; ++i) {
        const auto a = timed.ask(space, g1);
        const auto b = plain.ask(space, g2);
        CHECK(a.architecture == b.architecture);
        CHECK(a.id == b.id);
        timed.tell(a, {});
    }
    CHECK(timed.asks == 20);
    CHECK(timed.seconds >= 0);
    CHECK(timed.seconds < 1);
}

TEST_CASE("run_tabular's evolution finds a planted optimum and reports its picks",
          "[experiment][tabular]") {
    const auto registry = shipped_strategies<xnas::cell_space>();
    const tabular_benchmark b = tabular_runs(tabular_table("plain", false), "evolution");
    const tabular_summary s = run_tabular(b, tabular_space(), registry);
    REQUIRE(s.search.size() == 3);
    REQUIRE(s.report.size() == 3);
    for (std::size_t k = 0; k < 3; ++k) {
        INFO("run " << k);
        CHECK(s.search[k] == Approx(tabular_optimum()));
        CHECK(s.report[k] == Approx(s.search[k] + 0.01)); // the pick's test_acc
    }
    CHECK(s.trials == 3 * 60);
    CHECK(s.overhead_seconds > 0);
    CHECK(s.hypervolume.empty());
    // Random search on 60 of 125 cells misses the optimum in some run, and every run is its own.
    const tabular_summary r =
        run_tabular(tabular_runs(b.table, "random"), tabular_space(), registry);
    CHECK(mean_of(r.search) < tabular_optimum() - 1e-9);
    CHECK((r.search[0] != r.search[1] || r.search[1] != r.search[2]));
    // Same seed, same runs.
    const tabular_summary again = run_tabular(b, tabular_space(), registry);
    CHECK(again.search == s.search);
    CHECK(again.report == s.report);
    CHECK(again.curves == s.curves);
}

TEST_CASE("run_tabular follows simulated workers' time and measures multi-objective fronts",
          "[experiment][tabular]") {
    const auto registry = shipped_strategies<xnas::cell_space>();
    tabular_benchmark b = tabular_runs(tabular_table("fidelities", true), "hyperband");
    b.queries = 40;
    b.seeds = 2;
    b.workers = 2;
    b.cost_column = "train_time";
    b.fidelities = parse_fidelity_levels("1/3:@1,1:@3", "--fidelity-columns");
    b.multi_objective = true;
    const fs::path journal = fs::temp_directory_path() / "xnas-test-tabular-journal.jsonl";
    for (const char* k : {".0", ".1"})
        fs::remove(journal.string() + k);
    b.journal = journal.string();
    const tabular_summary s = run_tabular(b, tabular_space(), registry);
    REQUIRE(s.curves.size() == 2);
    for (std::size_t k = 0; k < 2; ++k) {
        INFO("run " << k);
        const auto& c = s.curves[k];
        REQUIRE(c.size() == 40);
        for (std::size_t i = 1; i < c.size(); ++i) {
            CHECK(c[i].first >= c[i - 1].first);   // the simulated clock never goes back
            CHECK(c[i].second >= c[i - 1].second); // nor does the best so far
        }
        CHECK(s.seconds[k] == c.back().first);
        CHECK(s.seconds[k] > 0);
        CHECK(fs::exists(journal.string() + "." + std::to_string(k)));
    }
    // The reference point is the table's worst val_acc@3 (0.6) and train_time@3 (34): every
    // front's hypervolume is within the box from there to the best of each at any fidelity
    // (the optimum; a third of 10 at fidelity 1/3).
    REQUIRE(s.hypervolume.size() == 2);
    for (double h : s.hypervolume) {
        CHECK(h > 0);
        CHECK(h <= (tabular_optimum() - 0.6) * (34 - 10.0 / 3) + 1e-9);
    }

    const std::string line = tabular_json(b, "cell3", s);
    CHECK_THAT(line, StartsWith("{\"strategy\": \"hyperband\", \"space\": \"cell3\", \"queries\": "
                                "40, \"seeds\": 2, \"search_metric\": \"val_acc\", "
                                "\"report_metric\": \"test_acc\", \"mean\": "));
    CHECK_THAT(line, Contains("\"workers\": 2, \"mean_simulated_seconds\": "));
    CHECK_THAT(line, Contains(", \"hypervolume\": "));
    const xnas::json::value parsed = xnas::json::value::parse(line);
    CHECK(parsed.at("mean").get<double>() == Approx(mean_of(s.report)).margin(1e-4));
    CHECK(parsed.at("anytime").at("seconds").size() == 10);
    CHECK(parsed.at("anytime").at("mean_best").size() == 10);

    const fs::path csv = fs::temp_directory_path() / "xnas-test-tabular-anytime.csv";
    write_anytime_csv(csv, s);
    const std::string text = xnas_test::read_text(csv);
    CHECK_THAT(text, StartsWith("run,seconds,best\n0,"));
    CHECK(std::count(text.begin(), text.end(), '\n') == 1 + 80); // no failure: every row
}

TEST_CASE("run_tabular names a report metric the table lacks", "[experiment][tabular]") {
    tabular_benchmark b = tabular_runs(tabular_table("report", false), "random");
    b.report_metric = "test_accuracy";
    CHECK_THROWS_WITH(run_tabular(b, tabular_space(), shipped_strategies<xnas::cell_space>()),
                      Contains("has no column 'test_accuracy' (the report metric)"));
}

TEST_CASE("mean_of and sample_std summarise runs", "[experiment][tabular]") {
    CHECK(mean_of({}) == 0);
    CHECK(sample_std({3.0}) == 0);
    CHECK(mean_of({1, 2, 3, 6}) == 3);
    CHECK(sample_std({1, 2, 3, 6}) == Approx(std::sqrt(14.0 / 3)));
}
