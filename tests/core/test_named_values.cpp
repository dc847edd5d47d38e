#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>
#include <xnas/core.hpp>

// named_values must behave as the std::map<std::string, double> it replaces in evaluations:
// checked operation by operation against a std::map driven with the same random operations.
TEST_CASE("named_values agrees with std::map under random inserts, updates, erases and lookups") {
    for (unsigned seed = 0; seed < 5; ++seed) {
        std::mt19937 g(seed);
        const std::vector<std::string> names = {"a",
                                                "val_accuracy",
                                                "b",
                                                "params",
                                                "z",
                                                "latency_ms",
                                                "",
                                                "flops",
                                                "a long name beyond the small-string buffer"};
        std::map<std::string, double> expected;
        xnas::named_values got;
        for (int step = 0; step < 400; ++step) {
            const std::string& n = names[g() % names.size()];
            const double v = static_cast<double>(g() % 1000) / 7.0;
            switch (g() % 5) {
            case 0:
                expected[n] = v;
                got[n] = v;
                break;
            case 1:
                REQUIRE(got.emplace(n, v).second == expected.emplace(n, v).second);
                break;
            case 2:
                REQUIRE(got.erase(n) == expected.erase(n));
                break;
            case 3:
                expected.insert_or_assign(n, v);
                got.insert_or_assign(n, v);
                break;
            default:
                REQUIRE(got.count(n) == expected.count(n));
                if (expected.count(n))
                    REQUIRE(got.at(n) == expected.at(n));
            }
            REQUIRE(got.size() == expected.size());
            REQUIRE(std::map<std::string, double>(got) == expected);
            REQUIRE(xnas::named_values(expected) == got);
        }
    }
}

TEST_CASE("named_values iterates in name order and finds by any string type") {
    xnas::named_values v{{"params", 3.0}, {"accuracy", 0.9}, {"latency", 2.0}};
    std::vector<std::string> order;
    for (const auto& [name, value] : v)
        order.push_back(name);
    CHECK(order == std::vector<std::string>{"accuracy", "latency", "params"});
    CHECK(v.find("latency")->second == 2.0);
    CHECK(v.find(std::string("params"))->second == 3.0);
    CHECK(v.find(std::string_view("missing")) == v.end());
    CHECK(v.contains("accuracy"));
    // A repeated name keeps its first value, as std::map's range constructor does.
    CHECK(xnas::named_values{{"x", 1.0}, {"x", 2.0}}.at("x") == 1.0);
}

TEST_CASE("named_values::at names the missing value and the ones there are") {
    const xnas::named_values v{{"accuracy", 0.9}, {"params", 3.0}};
    CHECK_THROWS_WITH(v.at("latency"),
                      Catch::Contains("'latency'") && Catch::Contains("accuracy, params"));
    CHECK_THROWS_WITH(xnas::named_values{}.at("x"), Catch::Contains("none"));
}

TEST_CASE("named_values round-trips through JSON, the last of a repeated key winning") {
    const xnas::named_values v{{"b", 2.5}, {"a", -1.0}};
    const auto text = xnas::json::value(v).dump();
    CHECK(text == R"({"a":-1.0,"b":2.5})");
    CHECK(xnas::json::value::parse(text).get<xnas::named_values>() == v);
    CHECK(xnas::json::value::parse(R"({"x":1,"x":2})").get<xnas::named_values>().at("x") == 2.0);
    CHECK(
        xnas::json::value::parse(R"({"x":1,"x":2})").get<std::map<std::string, double>>().at("x") ==
        2.0);
}
