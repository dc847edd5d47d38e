#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <xnas/core/rng.hpp>
#include <xnas/report.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

TEST_CASE("main effects find the decision that drives the objective", "[report][importance]") {
    for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
        rng g(seed);
        std::vector<report::decision_row> rows;
        const char* ops[] = {"conv3", "conv5", "pool"};
        const double effect[] = {0.9, 0.8, 0.5};
        for (int i = 0; i < 400; ++i) {
            report::decision_row r;
            const auto op = g.below(3), noise = g.below(4);
            r.decisions["op"] = ops[op];
            r.decisions["width"] = std::to_string(noise);
            r.value = effect[op] + 0.01 * g.normal();
            rows.push_back(r);
        }
        const auto imp = report::main_effects(rows);
        REQUIRE(imp.size() == 2);
        CHECK(imp[0].decision == "op");
        CHECK(imp[0].share > 0.95);
        CHECK(imp[1].share < 0.05); // chance imbalance of op across width groups, n = 400
        CHECK(imp[0].mean_by_value.front().first == "conv3");
    }
}

TEST_CASE("main effects of an additive objective split its variance", "[report][importance]") {
    // y = a + 2b with a, b independent and balanced in {0,1}: shares 1/5 and 4/5 exactly.
    std::vector<report::decision_row> rows;
    for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b)
            for (int rep = 0; rep < 3; ++rep)
                rows.push_back({{{"a", std::to_string(a)}, {"b", std::to_string(b)}}, a + 2.0 * b});
    const auto imp = report::main_effects(rows);
    CHECK(imp[0].decision == "b");
    CHECK(imp[0].share == Approx(0.8));
    CHECK(imp[1].share == Approx(0.2));
    // n = 12 trials, k = 2 values: adjusted = 1 - (1 - share) * 11 / 10.
    CHECK(imp[0].adjusted_share == Approx(0.78));
    CHECK(imp[1].adjusted_share == Approx(0.12));
}

TEST_CASE("the chance adjustment removes what few trials per value explain by luck",
          "[report][importance]") {
    // 10 trials, a decision with 5 values unrelated to the objective: raw eta^2 is large by
    // chance, the adjusted share is near zero.
    rng g(17);
    double raw = 0;
    int removed = 0;
    for (int rep = 0; rep < 200; ++rep) {
        std::vector<report::decision_row> rows;
        for (int i = 0; i < 10; ++i)
            rows.push_back({{{"noise", std::to_string(i % 5)}}, g.normal()});
        const auto imp = report::main_effects(rows);
        raw += imp[0].share / 200;
        removed += imp[0].adjusted_share == 0.0;
    }
    CHECK(raw > 0.3);     // (k - 1) / (n - 1) = 4 / 9 expected under no effect
    CHECK(removed > 100); // unbiased before clipping at 0: most null draws vanish entirely
}

TEST_CASE("main effects count an absent decision as its own value and need two rows",
          "[report][importance]") {
    std::vector<report::decision_row> rows{{{{"pool", "max"}}, 1.0}, {{}, 0.0}, {{}, 0.0}};
    const auto imp = report::main_effects(rows);
    CHECK(imp[0].share == Approx(1.0));
    CHECK(imp[0].mean_by_value.back().first == "(absent)");
    CHECK_THROWS_WITH(report::main_effects({{{}, 1.0}}), Contains("at least 2"));
}

TEST_CASE("main effects leave out a decision that never varied", "[report][importance]") {
    std::vector<report::decision_row> rows;
    for (int i = 0; i < 12; ++i)
        rows.push_back({{{"depth", std::to_string(i % 3)}, {"skip", "0"}}, double(i % 3)});
    const auto imp = report::main_effects(rows);
    REQUIRE(imp.size() == 1);
    CHECK(imp[0].decision == "depth");
}

TEST_CASE("chart ticks are round numbers inside the range", "[report][html]") {
    using report::detail::nice_ticks;
    auto near = [](const std::vector<double>& got, const std::vector<double>& want) {
        REQUIRE(got.size() == want.size());
        for (std::size_t i = 0; i < got.size(); ++i)
            CHECK(got[i] == Approx(want[i]));
    };
    // An accuracy axis padded around a diverged trial, a trial-count axis, a parameter axis.
    near(nice_ticks(0.06081, 0.9377, false), {0.2, 0.4, 0.6, 0.8});
    near(nice_ticks(0.8412, 0.9021, false), {0.86, 0.88, 0.9});
    near(nice_ticks(0, 378.4, false), {0, 100, 200, 300});
    near(nice_ticks(2092, 124800, true), {5000, 10000, 20000, 50000, 100000});
    near(nice_ticks(50, 50000, true), {100, 1000, 10000});
    // A log axis narrower than one 1-2-5 step gets linear round ticks, not just its ends.
    near(nice_ticks(24281.7, 38143.2, true), {25000, 30000, 35000});
    // Degenerate ranges keep their ends.
    near(nice_ticks(1, 1, false), {1, 1});
}

TEST_CASE("the HTML report draws the three charts and the Pareto front", "[report][html]") {
    report::report_data data;
    data.summary = {{"best", "conv<3>"}};
    // Pareto front (max value, min size): (10, 0.5), (100, 0.8), (1000, 0.9). Dominated: (200,
    // 0.7).
    data.trials = {{1, 1.0, 0.5, 10, true, "a<b"},
                   {2, 2.0, 0.8, 100, true, "b"},
                   {3, 3.0, 0.7, 200, true, "c"},
                   {4, 4.0, 0.9, 1000, true, "d"},
                   {5, 5.0, std::nan(""), 50, false, "broken"}};
    data.importance =
        report::main_effects({{{{"op", "x"}}, 1.0}, {{{"op", "y"}}, 0.0}, {{{"op", "x"}}, 1.0}});
    const std::string html = report::render_html(data);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    std::size_t svgs = 0, front = 0;
    for (auto p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1))
        ++svgs;
    for (auto p = html.find("r='4' fill='#c33'"); p != std::string::npos;
         p = html.find("r='4' fill='#c33'", p + 1))
        ++front;
    CHECK(svgs == 4);
    CHECK(front == 3);
    CHECK_THAT(html, Contains("a&lt;b") && Contains("conv&lt;3&gt;") && Contains("1 failed"));
    CHECK_THAT(html, !Contains("a<b"));

    const auto path = std::filesystem::temp_directory_path() / "xnas_test_report.html";
    report::write_html(data, path.string());
    std::ifstream in(path);
    std::stringstream back;
    back << in.rdbuf();
    CHECK(back.str() == html);
    std::filesystem::remove(path);
    CHECK_THROWS_AS(report::write_html(data, "/nonexistent-dir/x/report.html"), file_error);
}

#include <xnas/report/decisions.hpp>
#include <xnas/space.hpp>

namespace {

/// How often `what` occurs in `html`.
std::size_t occurrences(const std::string& html, const std::string& what) {
    std::size_t n = 0;
    for (auto p = html.find(what); p != std::string::npos; p = html.find(what, p + 1))
        ++n;
    return n;
}

} // namespace

TEST_CASE("the HTML report leaves low-fidelity trials out of the staircase and the front",
          "[report][html]") {
    report::report_data data;
    // A 1/9-fidelity trial that would top both charts: (5 parameters, 0.95).
    data.trials = {{1, 1.0, 0.95, 5, true, "rung", 1.0 / 9},
                   {2, 2.0, 0.5, 10, true, "a"},
                   {3, 3.0, 0.8, 100, true, "b"}};
    const std::string html = report::render_html(data);
    CHECK(occurrences(html, "r='4' fill='#c33'") == 2);             // front: a and b only
    CHECK(occurrences(html, "fill='none' stroke='#9ab'") == 3);     // hollow in all three charts
    CHECK(occurrences(html, "rung : 0.95 at fidelity 0.111") == 2); // the two staircase charts
    data.trials[0].fidelity = 1.0;
    const std::string all_full = report::render_html(data);
    CHECK(occurrences(all_full, "r='4' fill='#c33'") == 1); // the rung now dominates a and b
    CHECK(occurrences(all_full, "fill='none' stroke='#9ab'") == 0);
}

TEST_CASE("decisions name every choice of cell, chain, param and product architectures",
          "[report][decisions]") {
    const auto nb = cell_space::nb201();
    const auto cd = report::decisions(nb, nb.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|"
                                                   "avg_pool_3x3~0|none~1|nor_conv_1x1~2|"));
    CHECK(cd.size() == 6);
    CHECK(cd.at("edge 0->1") == "nor_conv_3x3");
    CHECK(cd.at("edge 2->3") == "nor_conv_1x1");

    const auto chain = chain_space::image();
    const auto ch = report::decisions(
        chain, chain.parse("conv(k=5,c=16,act=relu,bn=1,pool=max)|conv(k=3,c=16,act=gelu,bn=0,"
                           "pool=none,skip=0)+"));
    CHECK(ch.at("conv layers") == "2");
    CHECK(ch.at("dense layers") == "0");
    CHECK(ch.at("conv 1.k") == "5");
    CHECK(ch.at("conv 2.act") == "gelu");
    CHECK(ch.at("conv 2.skip") == "1");

    param_space p;
    p.add_categorical("opt", {"sgd", "adam"}).add_log_float("lr", 1e-4, 1.0);
    const auto pd = report::decisions(p, p.parse("opt=adam;lr=0.004"));
    CHECK(pd.at("opt") == "adam");
    CHECK(pd.at("lr") == "3e-03..1e-02"); // half-decade bin, not the raw value
    const auto both = report::decisions(
        product_space<cell_space, param_space>(nb, p),
        {nb.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), p.parse("opt=sgd;lr=0.2")});
    CHECK(both.size() == 8);
    CHECK(both.at("lr") == "1e-01..3e-01");
}

TEST_CASE("a minimised objective's report and importance put the lowest value first",
          "[report][html]") {
    // RMSE against size: (10, 0.5) and (100, 0.2) are the front, (50, 0.9) is dominated by the
    // first; maximised instead, (50, 0.9) would join the front and (100, 0.2) would not.
    report::report_data data;
    data.value_name = "validation RMSE";
    data.minimize = true;
    data.trials = {
        {1, 1.0, 0.5, 10, true, "a"}, {2, 2.0, 0.9, 50, true, "b"}, {3, 3.0, 0.2, 100, true, "c"}};
    const std::string html = report::render_html(data);
    CHECK(occurrences(html, "r='4' fill='#c33'") == 2);
    CHECK(occurrences(html, "fill='#c33'><title>a : 0.5, 10</title>") == 1);
    CHECK(occurrences(html, "fill='#c33'><title>c : 0.2, 100</title>") == 1);
    // The staircase steps down at trial 3 only: one H..V segment after the start.
    const auto first_path = html.find("<path d='M");
    REQUIRE(first_path != std::string::npos);
    const std::string path = html.substr(first_path, html.find('\'', first_path + 9) - first_path);
    CHECK(occurrences(path, " V") == 1);

    std::vector<report::decision_row> rows;
    for (int rep = 0; rep < 4; ++rep) {
        rows.push_back({{{"op", "wide"}}, 0.3 + 0.01 * rep});
        rows.push_back({{{"op", "narrow"}}, 0.8 + 0.01 * rep});
    }
    CHECK(report::main_effects(rows, true)[0].mean_by_value.front().first == "wide");
    CHECK(report::main_effects(rows)[0].mean_by_value.front().first == "narrow");
}
