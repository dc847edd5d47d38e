#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>
#include <xnas/evaluate/function_evaluator.hpp>

TEST_CASE("function_evaluator wraps callables of several shapes", "[evaluate][function]") {
    xnas::trial<int> t{3, 7, 0.5, {}};
    SECTION("architecture -> double, named objective") {
        xnas::function_evaluator ev([](int a) { return a * 2.0; }, {.objective = "acc"});
        const auto e = ev.evaluate(t);
        CHECK(e.ok());
        CHECK(e.value("acc") == 14.0);
        CHECK(e.cost == 0.0);
    }
    SECTION("trial -> map sees the fidelity") {
        xnas::function_evaluator ev([](const xnas::trial<int>& tr) {
            return std::map<std::string, double>{{"acc", tr.fidelity}, {"params", tr.architecture}};
        });
        const auto e = ev.evaluate(t);
        CHECK(e.value("acc") == 0.5);
        CHECK(e.value("params") == 7.0);
    }
    SECTION("architecture -> named_values are the objectives") {
        xnas::function_evaluator ev([](int a) {
            return xnas::named_values{{"acc", 0.25 * a}, {"params", 3.0}};
        });
        const auto e = ev.evaluate(t);
        CHECK(e.ok());
        CHECK(e.objectives == xnas::named_values{{"params", 3.0}, {"acc", 1.75}});
    }
    SECTION("architecture -> evaluation passes through") {
        xnas::function_evaluator ev([](int) {
            xnas::evaluation e;
            e.objectives["x"] = 1;
            e.cost = 4;
            return e;
        });
        CHECK(ev.evaluate(t).cost == 4.0);
    }
    SECTION("an exception becomes a failed evaluation") {
        xnas::function_evaluator ev([](int) -> double { throw std::runtime_error("no memory"); });
        const auto e = ev.evaluate(t);
        CHECK(e.state == xnas::status::failed);
        CHECK(e.message == "no memory");
    }
    SECTION("a non-finite result is diverged, never returned as a value") {
        xnas::function_evaluator ev([](int) { return std::nan(""); }, {.objective = "loss"});
        const auto e = ev.evaluate(t);
        CHECK(e.state == xnas::status::diverged);
        CHECK_THAT(e.message, Catch::Matchers::Contains("'loss'"));
        xnas::function_evaluator ev2([](int) {
            return std::map<std::string, double>{{"a", 1.0}, {"b", INFINITY}};
        });
        CHECK(ev2.evaluate(t).state == xnas::status::diverged);
        xnas::function_evaluator ev3([](int) { return xnas::named_values{{"c", -INFINITY}}; });
        CHECK_THAT(ev3.evaluate(t).message, Catch::Matchers::Contains("'c'"));
    }
    SECTION("timed evaluations charge wall-clock seconds") {
        xnas::function_evaluator ev(
            [](int a) {
                volatile double s = 0;
                for (int i = 0; i < 100000; ++i)
                    s = s + a * i;
                return static_cast<double>(s);
            },
            {.timed = true});
        CHECK(ev.evaluate(t).cost > 0.0);
    }
    STATIC_REQUIRE(xnas::evaluator<xnas::function_evaluator<int (*)(int)>, int>);
    STATIC_REQUIRE_FALSE(xnas::is_thread_safe_evaluator<xnas::function_evaluator<int (*)(int)>>);
    auto safe = xnas::make_thread_safe_evaluator([](int a) { return a; });
    STATIC_REQUIRE(xnas::is_thread_safe_evaluator<decltype(safe)>);
    CHECK(safe.evaluate(t).value("objective") == 7.0);
}
