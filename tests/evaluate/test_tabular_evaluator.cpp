#include "run/fixtures.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <xnas/evaluate/tabular_evaluator.hpp>
#include <xnas/run/search.hpp>

using Catch::Matchers::Contains;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
    const auto p = (std::filesystem::temp_directory_path() /
                    ("xnas_test_tab_" + name + "_" + std::to_string(::getpid()) + ".csv"))
                       .string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
}

xnas::trial<std::string> trial_of(const std::string& a, double fidelity = 1.0) {
    return {0, a, fidelity, {}};
}

} // namespace

TEST_CASE("tabular_evaluator looks results up and charges the cost column", "[evaluate][tabular]") {
    const auto path = write_temp("basic", "arch,acc,params,time\n"
                                          "a,0.5,100,12.5\n"
                                          "\"b,c\",0.75,200,30\n");
    xnas::tabular_evaluator ev(path, {}, {.objectives = {"acc"}, .cost_column = "time"});
    CHECK(ev.size() == 2);
    const auto e = ev.evaluate(trial_of("b,c"));
    CHECK(e.ok());
    CHECK(e.objectives == std::map<std::string, double>{{"acc", 0.75}});
    CHECK(e.metrics == std::map<std::string, double>{{"params", 200}, {"time", 30}});
    CHECK(e.cost == 30);
    CHECK_THROWS_WITH(ev.evaluate(trial_of("zzz")), Contains("\"zzz\"") && Contains(path));

    xnas::tabular_evaluator all(path);
    CHECK(all.evaluate(trial_of("a")).objectives.size() == 3);
    CHECK(all.evaluate(trial_of("a")).cost == 0);
    std::filesystem::remove(path);
}

TEST_CASE("tabular_evaluator maps fidelity to suffixed columns", "[evaluate][tabular]") {
    const auto path = write_temp("fid", "arch,acc@12,acc@200,time@12,time@200,params\n"
                                        "x,0.4,0.9,10,160,7\n");
    xnas::tabular_evaluator ev(path, {},
                               {.objectives = {"acc"},
                                .cost_column = "time",
                                .fidelities = {{1.0, "@200"}, {12.0 / 200, "@12"}}});
    const auto low = ev.evaluate(trial_of("x", 12.0 / 200));
    CHECK(low.objectives.at("acc") == 0.4);
    CHECK(low.cost == 10);
    CHECK(low.metrics.at("params") == 7);
    const auto mid = ev.evaluate(trial_of("x", 0.5)); // rounds up to the next level
    CHECK(mid.objectives.at("acc") == 0.9);
    CHECK(mid.cost == 160);
    CHECK_THROWS_WITH(ev.evaluate(trial_of("x", 2.0)), Contains("fidelity 2"));
    std::filesystem::remove(path);
}

TEST_CASE("tabular_evaluator drives a search with simulated cost", "[evaluate][tabular]") {
    const test::digit_space space{2, 3};
    std::string csv = "arch,acc,seconds\n";
    for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b)
            csv += space.to_string({a, b}) + "," + std::to_string(a + b) + ",10\n";
    const auto path = write_temp("drive", csv);
    auto ev = xnas::make_tabular_evaluator(path, space, {.cost_column = "seconds"});
    test::random_strategy st;
    const auto s = xnas::search(
        space, st, ev,
        {.objectives = {{"acc", xnas::direction::maximize}}, .max_cost = 300, .seed = 2});
    CHECK(s.history.size() == 30);
    CHECK(s.total_cost() == 300);
    CHECK(s.best().t.architecture == std::vector<int>{2, 2});
    std::filesystem::remove(path);
}

TEST_CASE("tabular_evaluator errors name file, line and column", "[evaluate][tabular]") {
    SECTION("missing architecture column") {
        const auto p = write_temp("noarch", "name,acc\na,1\n");
        CHECK_THROWS_WITH(xnas::tabular_evaluator(p),
                          Contains(p) && Contains("line 1") && Contains("\"arch\""));
        std::filesystem::remove(p);
    }
    SECTION("missing objective or cost column") {
        const auto p = write_temp("noobj", "arch,acc\na,1\n");
        CHECK_THROWS_WITH(xnas::tabular_evaluator(p, {}, {.objectives = {"loss"}}),
                          Contains(p) && Contains("line 1") && Contains("\"loss\""));
        CHECK_THROWS_WITH(xnas::tabular_evaluator(p, {}, {.cost_column = "time"}),
                          Contains("\"time\"") && Contains("cost_column"));
        std::filesystem::remove(p);
    }
    SECTION("non-numeric cell") {
        const auto p = write_temp("nonnum", "arch,acc,params\na,1,2\nb,0.5,lots\n");
        CHECK_THROWS_WITH(xnas::tabular_evaluator(p), Contains(p) && Contains("line 3") &&
                                                          Contains("column 3") && Contains("lots"));
        std::filesystem::remove(p);
    }
    SECTION("duplicate row") {
        const auto p = write_temp("dup", "arch,acc\na,1\nb,2\na,3\n");
        CHECK_THROWS_WITH(xnas::tabular_evaluator(p), Contains(p) && Contains("line 4") &&
                                                          Contains("column 1") &&
                                                          Contains("first at line 2"));
        std::filesystem::remove(p);
    }
    SECTION("unreadable file") {
        CHECK_THROWS_AS(xnas::tabular_evaluator("/nonexistent/table.csv"), xnas::file_error);
    }
}

TEST_CASE("tabular_evaluator with a user key function", "[evaluate][tabular]") {
    const auto path = write_temp("key", "arch,acc\n3x4,0.25\n");
    auto key = [](const std::pair<int, int>& a) {
        return std::to_string(a.first) + "x" + std::to_string(a.second);
    };
    xnas::tabular_evaluator ev(path, key);
    const xnas::trial<std::pair<int, int>> t{0, {3, 4}, 1.0, {}};
    CHECK(ev.evaluate(t).value("acc") == 0.25);
    std::filesystem::remove(path);
}
