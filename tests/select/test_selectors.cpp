#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <set>
#include <xnas/select.hpp>

namespace {

using xnas::direction;
using pop_t = std::vector<xnas::scored<int>>;

// Population of trials with id i and the given objective values for "a" and "b".
pop_t make_pop(const std::vector<std::pair<double, double>>& ab) {
    pop_t pop;
    for (std::size_t i = 0; i < ab.size(); ++i) {
        xnas::scored<int> s;
        s.t.id = i;
        s.t.architecture = static_cast<int>(i);
        s.e.objectives["a"] = ab[i].first;
        s.e.objectives["b"] = ab[i].second;
        pop.push_back(s);
    }
    return pop;
}

std::vector<std::size_t> select(auto& sel, const pop_t& pop, std::size_t k,
                                std::uint64_t seed = 1) {
    xnas::rng g(seed);
    return sel.select(std::span<const xnas::scored<int>>(pop), k, g);
}

const std::vector<xnas::objective> both_min{{"a", direction::minimize}, {"b", direction::minimize}};

} // namespace

TEST_CASE("non-dominated sort of a known set", "[select][pareto]") {
    const std::vector<std::vector<double>> v{{1, 5}, {2, 3}, {3, 4}, {4, 1}, {2, 2}, {5, 5}};
    const auto fronts = xnas::non_dominated_sort(v, both_min);
    REQUIRE(fronts.size() == 4);
    CHECK(fronts[0] == std::vector<std::size_t>{0, 3, 4});
    CHECK(fronts[1] == std::vector<std::size_t>{1});
    CHECK(fronts[2] == std::vector<std::size_t>{2});
    CHECK(fronts[3] == std::vector<std::size_t>{5});

    // Maximizing both turns the order around: (5,5) alone dominates everything.
    const std::vector<xnas::objective> both_max{{"a", direction::maximize},
                                                {"b", direction::maximize}};
    CHECK(xnas::non_dominated_sort(v, both_max)[0] == std::vector<std::size_t>{5});
}

TEST_CASE("crowding distance on a hand example", "[select][pareto]") {
    // Sorted by a: 1,2,3,6 (range 5); by b: 1,3,4,6 (range 5).
    // Row 1: (3-1)/5 + (6-3)/5 = 1.0; row 2: (6-2)/5 + (4-1)/5 = 1.4; ends are infinite.
    const std::vector<std::vector<double>> v{{1, 6}, {2, 4}, {3, 3}, {6, 1}};
    const std::vector<std::size_t> front{0, 1, 2, 3};
    const auto d = xnas::crowding_distance(v, front);
    const double inf = std::numeric_limits<double>::infinity();
    CHECK(d[0] == inf);
    CHECK(d[3] == inf);
    CHECK(d[1] == Approx(1.0));
    CHECK(d[2] == Approx(1.4));

    // An objective on which everyone is equal contributes nothing.
    const std::vector<std::vector<double>> flat{{1, 7}, {2, 7}, {4, 7}};
    const std::vector<std::size_t> f3{0, 1, 2};
    const auto d3 = xnas::crowding_distance(flat, f3);
    CHECK(d3[1] == Approx(1.0));
}

TEST_CASE("pareto selector: fronts in order, the cut front by crowding", "[select][pareto]") {
    xnas::pareto sel{both_min};
    const auto pop = make_pop({{1, 5}, {2, 3}, {3, 4}, {4, 1}, {2, 2}, {5, 5}});
    CHECK(select(sel, pop, 4) == std::vector<std::size_t>{0, 3, 4, 1});
    CHECK(select(sel, pop, 100).size() == 6);

    const auto front = make_pop({{1, 6}, {2, 4}, {3, 3}, {6, 1}});
    CHECK(select(sel, front, 2) == std::vector<std::size_t>{0, 3});
    CHECK(select(sel, front, 3) == std::vector<std::size_t>{0, 3, 2});

    auto with_failure = pop;
    with_failure[4].e = xnas::evaluation::failure(xnas::status::failed, "boom");
    const auto chosen = select(sel, with_failure, 6);
    CHECK(chosen.size() == 5);
    CHECK(std::find(chosen.begin(), chosen.end(), 4u) == chosen.end());

    // The study's Pareto front agrees with front 0.
    xnas::study<int> s;
    s.objectives = both_min;
    s.history = pop;
    CHECK(s.pareto_front() == std::vector<std::size_t>{0, 3, 4});
}

TEST_CASE("hypervolume of known fronts", "[select][pareto]") {
    const std::vector<xnas::objective> max2{{"a", xnas::direction::maximize},
                                            {"b", xnas::direction::maximize}};
    const std::vector<double> origin{0, 0};
    // A staircase: widths 1, 1, 1 at heights 3, 2, 1.
    std::vector<std::vector<double>> front{{1, 3}, {2, 2}, {3, 1}};
    CHECK(xnas::hypervolume(front, max2, origin) == Approx(6.0));
    front.push_back({1, 1});            // dominated: adds nothing
    front.push_back({-1, 5});           // worse than the reference in a: adds nothing
    front.push_back({std::nan(""), 9}); // failed: adds nothing
    CHECK(xnas::hypervolume(front, max2, origin) == Approx(6.0));
    // Against (1, 1) only (2, 2) is strictly better in both: a unit box.
    CHECK(xnas::hypervolume(front, max2, std::vector<double>{1, 1}) == Approx(1.0));
    // Minimised objectives: the same staircase mirrored.
    const std::vector<xnas::objective> min2{{"a", xnas::direction::minimize},
                                            {"b", xnas::direction::minimize}};
    CHECK(xnas::hypervolume({{-1, -3}, {-2, -2}, {-3, -1}}, min2, origin) == Approx(6.0));
    // Three objectives: two unit-overlapping boxes, 2 + 2 - 1.
    const std::vector<xnas::objective> max3{{"a"}, {"b"}, {"c"}};
    CHECK(xnas::hypervolume({{2, 1, 1}, {1, 2, 1}}, max3, std::vector<double>{0, 0, 0}) ==
          Approx(3.0));
    CHECK(xnas::hypervolume({}, max3, std::vector<double>{0, 0, 0}) == 0.0);
    CHECK_THROWS_WITH(xnas::hypervolume({{1, 2}}, max3, std::vector<double>{0, 0, 0}),
                      Catch::Matchers::Contains("a point has 2 values, expected 3"));
}

TEST_CASE("top_k by one objective", "[select][top_k]") {
    auto pop = make_pop({{3, 0}, {1, 0}, {4, 0}, {1, 0}, {5, 0}});
    xnas::top_k best_a{{"a", direction::maximize}};
    CHECK(select(best_a, pop, 3) == std::vector<std::size_t>{4, 2, 0});
    xnas::top_k least_a{{"a", direction::minimize}};
    CHECK(select(least_a, pop, 2) == std::vector<std::size_t>{1, 3}); // tie: population order
    pop[4].e = xnas::evaluation::failure(xnas::status::diverged, "nan loss");
    CHECK(select(best_a, pop, 2) == std::vector<std::size_t>{2, 0});
    CHECK(select(best_a, pop, 10).size() == 4);
}

TEST_CASE("tournament selection", "[select][tournament]") {
    const auto pop = make_pop({{3, 0}, {1, 0}, {4, 0}, {1.5, 0}, {5, 0}, {2, 0}});
    SECTION("a tournament of everyone picks in rank order") {
        xnas::tournament sel{6, {"a", direction::maximize}};
        CHECK(select(sel, pop, 3) == std::vector<std::size_t>{4, 2, 0});
    }
    SECTION("picks are distinct, valid and deterministic per seed") {
        xnas::tournament sel{2, {"a", direction::maximize}};
        for (std::uint64_t seed = 1; seed < 20; ++seed) {
            const auto a = select(sel, pop, 4, seed);
            CHECK(a == select(sel, pop, 4, seed));
            REQUIRE(a.size() == 4);
            CHECK(std::set<std::size_t>(a.begin(), a.end()).size() == 4);
            for (auto i : a)
                CHECK(i < pop.size());
            // two distinct candidates: the first winner is never the unique worst
            CHECK(a[0] != 1);
        }
    }
    SECTION("selection pressure: size 3 picks the best more often than size 1") {
        xnas::tournament strong{3, {"a", direction::maximize}};
        xnas::tournament none{1, {"a", direction::maximize}};
        int strong_best = 0, none_best = 0;
        for (std::uint64_t seed = 1; seed <= 200; ++seed) {
            strong_best += select(strong, pop, 1, seed)[0] == 4;
            none_best += select(none, pop, 1, seed)[0] == 4;
        }
        CHECK(strong_best > 2 * none_best);
    }
    SECTION("size 0 is an error") {
        xnas::tournament bad{0, {"a", direction::maximize}};
        CHECK_THROWS_WITH(select(bad, pop, 1), Catch::Matchers::Contains("size = 0"));
    }
}

TEST_CASE("constraint filter composes with another selector", "[select][constraint]") {
    auto pop = make_pop({{3, 0}, {1, 0}, {4, 0}, {1, 0}, {5, 0}});
    const std::vector<double> params{10, 20, 300, 40, 500};
    for (std::size_t i = 0; i < pop.size(); ++i)
        pop[i].e.metrics["params"] = params[i];
    auto sel = xnas::with_constraints({xnas::bound{.metric = "params", .max = 100}},
                                      xnas::top_k{{"a", direction::maximize}});
    CHECK(select(sel, pop, 2) == std::vector<std::size_t>{0, 1});
    // nested: also params >= 15
    auto nested = xnas::with_constraints({xnas::bound{.metric = "params", .min = 15}}, sel);
    CHECK(select(nested, pop, 2) == std::vector<std::size_t>{1, 3});
    // a missing metric is infeasible
    auto missing = xnas::with_constraints({xnas::bound{.metric = "flops", .max = 1e9}},
                                          xnas::top_k{{"a", direction::maximize}});
    CHECK(select(missing, pop, 2).empty());
    STATIC_REQUIRE(xnas::selector<decltype(nested), int>);
}

TEST_CASE("tournament with replacement: the draws regularized evolution makes",
          "[select][tournament]") {
    const auto pop = make_pop({{3, 0}, {1, 0}, {4, 0}, {1.5, 0}, {5, 0}, {2, 0}});
    xnas::tournament sel{4, {"a", direction::maximize}, true};
    for (std::uint64_t seed = 1; seed < 30; ++seed) {
        // One pick is the best of `size` uniform draws of a population index.
        xnas::rng g(seed);
        std::size_t expected = g.below(pop.size());
        for (int j = 1; j < 4; ++j) {
            const auto c = g.below(pop.size());
            if (pop[c].e.value("a") > pop[expected].e.value("a"))
                expected = c;
        }
        CHECK(select(sel, pop, 1, seed) == std::vector<std::size_t>{expected});
        // Several picks stay distinct.
        const auto four = select(sel, pop, 4, seed);
        CHECK(std::set<std::size_t>(four.begin(), four.end()).size() == 4);
    }
    // A tournament larger than the population is allowed, and may still miss the best.
    xnas::tournament big{8, {"a", direction::maximize}, true};
    int missed = 0;
    for (std::uint64_t seed = 1; seed <= 100; ++seed)
        missed += select(big, pop, 1, seed)[0] != 4;
    CHECK(missed > 0);
}

TEST_CASE("an unnamed objective is the evaluation's only one", "[select][top_k][tournament]") {
    pop_t pop;
    for (double a : {2.0, 5.0, 1.0}) {
        xnas::scored<int> s;
        s.e.objectives["acc"] = a;
        pop.push_back(s);
    }
    xnas::top_k best{{}};
    CHECK(select(best, pop, 2) == std::vector<std::size_t>{1, 0});
    xnas::tournament all{3, {}};
    CHECK(select(all, pop, 1) == std::vector<std::size_t>{1});
    pop[0].e.objectives["loss"] = 0.1;
    CHECK_THROWS_WITH(select(best, pop, 2), Catch::Matchers::Contains("xnas::top_k::select") &&
                                                Catch::Matchers::Contains("(acc, loss)"));
}

TEST_CASE("pareto does not depend on how an objective is oriented", "[select][pareto]") {
    // One front with two equal points at one end. Which of the two a stable sort puts at the
    // boundary (infinite distance) depends on the sort's direction, so on raw values minimizing b
    // and maximizing -b would keep different members.
    const auto pop = make_pop({{1, 1}, {1, 1}, {3, 3}, {5, 5}});
    auto negated = pop;
    for (auto& s : negated)
        s.e.objectives["b"] = -s.e.objectives["b"];
    const xnas::pareto min_b{{{"a", direction::maximize}, {"b", direction::minimize}}};
    const xnas::pareto max_neg_b{{{"a", direction::maximize}, {"b", direction::maximize}}};
    CHECK(min_b.select(std::span<const xnas::scored<int>>(pop), 3) ==
          std::vector<std::size_t>{0, 1, 3});
    for (std::size_t k = 1; k <= 4; ++k)
        CHECK(min_b.select(std::span<const xnas::scored<int>>(pop), k) ==
              max_neg_b.select(std::span<const xnas::scored<int>>(negated), k));
}

TEST_CASE("selectors that draw nothing also select without a generator", "[select]") {
    STATIC_REQUIRE(xnas::deterministic_selector<xnas::top_k, int>);
    STATIC_REQUIRE(xnas::deterministic_selector<xnas::pareto, int>);
    STATIC_REQUIRE(xnas::deterministic_selector<xnas::constraint_filter<xnas::top_k>, int>);
    STATIC_REQUIRE_FALSE(xnas::deterministic_selector<xnas::tournament, int>);
    STATIC_REQUIRE_FALSE(
        xnas::deterministic_selector<xnas::constraint_filter<xnas::tournament>, int>);
    const auto pop = make_pop({{3, 0}, {1, 0}, {4, 0}});
    auto sel = xnas::with_constraints({xnas::bound{.metric = "a", .max = 3.5}},
                                      xnas::top_k{{"a", direction::maximize}});
    CHECK(sel.select(std::span<const xnas::scored<int>>(pop), 2) == select(sel, pop, 2));
}

TEST_CASE("flagged trials come first, whatever their score, then the inner selector's picks",
          "[select][flagged_first]") {
    auto pop = make_pop({{0.9, 0}, {0.1, 0}, {0.8, 0}, {0.2, 0}, {0.7, 0}});
    pop[1].e.metrics["derived"] = 1; // the worst by "a", flagged
    pop[3].e.metrics["derived"] = 0; // set but zero: not flagged
    const auto sel = xnas::first_flagged("derived", xnas::top_k{{"a", direction::maximize}});
    const std::span<const xnas::scored<int>> all(pop);
    CHECK(sel.select(all, 3) == std::vector<std::size_t>{1, 0, 2});
    CHECK(sel.select(all, 1) == std::vector<std::size_t>{1});
    CHECK(sel.select(all, 9) == std::vector<std::size_t>{1, 0, 2, 4, 3});
    // a failed trial is never picked, flagged or not
    pop[1].e = xnas::evaluation::failure(xnas::status::failed, "diverged");
    pop[1].e.metrics["derived"] = 1;
    CHECK(sel.select(std::span<const xnas::scored<int>>(pop), 2) == std::vector<std::size_t>{0, 2});
    // with a selector that draws, through the generator
    const auto drawn =
        xnas::first_flagged("derived", xnas::tournament{2, {"a", direction::maximize}});
    pop[4].e.metrics["derived"] = 1;
    CHECK(select(drawn, pop, 2, 7).front() == 4);
}
