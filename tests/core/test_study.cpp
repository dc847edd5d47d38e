#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <xnas/core.hpp>

namespace {

struct archetype_space {
    using architecture = int;
    int sample(xnas::rng&) const { return 0; }
    int mutate(int a, xnas::rng&) const { return a + 1; }
};
struct no_mutate_space {
    using architecture = int;
    int sample(xnas::rng&) const { return 0; }
};
struct archetype_strategy {
    xnas::trial<int> ask(const archetype_space&, xnas::rng&) { return {}; }
    void tell(const xnas::trial<int>&, const xnas::evaluation&) {}
};
struct no_tell_strategy {
    xnas::trial<int> ask(const archetype_space&, xnas::rng&) { return {}; }
};
struct archetype_evaluator {
    xnas::evaluation evaluate(const xnas::trial<int>&) { return {}; }
};
struct safe_evaluator {
    static constexpr bool thread_safe = true;
    xnas::evaluation evaluate(const xnas::trial<int>&) { return {}; }
};
struct wrong_return_evaluator {
    double evaluate(const xnas::trial<int>&) { return 0; }
};

xnas::scored<int> make(std::uint64_t id, double acc, double params) {
    xnas::scored<int> s;
    s.t.id = id;
    s.e.objectives["acc"] = acc;
    s.e.metrics["params"] = params;
    return s;
}

} // namespace

TEST_CASE("concepts accept the archetypes and reject what is missing", "[core][concepts]") {
    STATIC_REQUIRE(xnas::search_space<archetype_space>);
    STATIC_REQUIRE_FALSE(xnas::search_space<no_mutate_space>);
    STATIC_REQUIRE(xnas::strategy<archetype_strategy, archetype_space>);
    STATIC_REQUIRE_FALSE(xnas::strategy<no_tell_strategy, archetype_space>);
    STATIC_REQUIRE(xnas::evaluator<archetype_evaluator, int>);
    STATIC_REQUIRE_FALSE(xnas::evaluator<wrong_return_evaluator, int>);
    STATIC_REQUIRE_FALSE(xnas::is_thread_safe_evaluator<archetype_evaluator>);
    STATIC_REQUIRE(xnas::is_thread_safe_evaluator<safe_evaluator>);
    STATIC_REQUIRE_FALSE(xnas::serializable_space<archetype_space>);
}

TEST_CASE("status and direction print and parse", "[core][trial]") {
    for (auto s :
         {xnas::status::ok, xnas::status::failed, xnas::status::diverged, xnas::status::timed_out})
        CHECK(xnas::parse_status(xnas::to_string(s)) == s);
    CHECK_THROWS_WITH(xnas::parse_status("exploded"), Catch::Matchers::Contains("'exploded'"));
    CHECK(xnas::parse_direction("minimize") == xnas::direction::minimize);
    CHECK(xnas::parse_direction(xnas::to_string(xnas::direction::maximize)) ==
          xnas::direction::maximize);
    CHECK_THROWS_AS(xnas::parse_direction("up"), std::invalid_argument);
}

TEST_CASE("dominance treats failed values as worst", "[core][study]") {
    const std::vector<xnas::objective> objs{{"acc", xnas::direction::maximize},
                                            {"params", xnas::direction::minimize}};
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> a{0.9, 10}, b{0.8, 10}, c{0.95, 20}, d{nan, 1};
    CHECK(xnas::dominates(a, b, objs));
    CHECK_FALSE(xnas::dominates(b, a, objs));
    CHECK_FALSE(xnas::dominates(a, c, objs));
    CHECK_FALSE(xnas::dominates(c, a, objs));
    CHECK_FALSE(xnas::dominates(a, a, objs));
    CHECK_FALSE(xnas::dominates(d, a, objs));
    const std::vector<double> short_v{1};
    CHECK_THROWS_WITH(xnas::dominates(short_v, a, objs), Catch::Matchers::Contains("expected 2"));
}

TEST_CASE("study: best by objective, Pareto front, total cost", "[core][study]") {
    xnas::study<int> s;
    s.objectives = {{"acc", xnas::direction::maximize}, {"params", xnas::direction::minimize}};
    CHECK_THROWS_AS(s.best(), std::out_of_range);
    s.history = {make(0, 0.7, 100), make(1, 0.9, 400), make(2, 0.8, 50), make(3, 0.9, 500),
                 make(4, 0.6, 60)};
    s.history.push_back({{5, 0, 1.0, {}}, xnas::evaluation::failure(xnas::status::failed, "x", 2)});
    s.history[0].e.cost = 1.5;
    CHECK(s.best().t.id == 1); // tie with 3 goes to the earlier
    CHECK(s.best("params").t.id == 2);
    CHECK(s.best({"acc", xnas::direction::minimize}).t.id == 4);
    CHECK(s.total_cost() == 3.5);
    CHECK(s.pareto_front() == std::vector<std::size_t>{1, 2});
    const std::vector<xnas::objective> acc_only{{"acc", xnas::direction::maximize}};
    CHECK(s.pareto_front(acc_only) == std::vector<std::size_t>{1, 3});
    CHECK_THROWS_WITH(s.best("latency"), Catch::Matchers::Contains("'latency'") &&
                                             Catch::Matchers::Contains("acc, params"));
}

TEST_CASE("study: a multi-fidelity search's best is its best at the highest fidelity",
          "[core][study]") {
    xnas::study<int> s;
    s.objectives = {{"acc", xnas::direction::maximize}};
    // A noisy rung on a ninth of the data can outscore every full evaluation.
    s.history = {make(0, 0.95, 1), make(1, 0.70, 1), make(2, 0.80, 1)};
    s.history[0].t.fidelity = 1.0 / 9;
    s.history[1].t.fidelity = 1.0 / 3;
    s.history[2].t.fidelity = 1.0 / 3;
    CHECK(s.best().t.id == 2); // no full evaluation yet: the best at 1/3
    s.history.push_back(make(3, 0.75, 1));
    s.history.push_back(make(4, 0.85, 1));
    s.history.push_back({{5, 0, 1.0, {}}, xnas::evaluation::failure(xnas::status::failed, "x")});
    CHECK(s.best().t.id == 4);
    CHECK(s.best({"acc", xnas::direction::minimize}).t.id == 3);
    // The 1/9 trial would dominate on accuracy alone; the front is the full evaluations'.
    const std::vector<xnas::objective> acc_only{{"acc", xnas::direction::maximize}};
    CHECK(s.pareto_front(acc_only) == std::vector<std::size_t>{4});
}
