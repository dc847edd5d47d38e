// NSGA-II: non-dominated sorting and crowding distance on hand-made points, and recovery of a
// known Pareto front (two conflicting objectives on a small discrete space, front found by
// enumeration).

#include "loop.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <xnas/select/pareto.hpp>
#include <xnas/strategy/nsga2.hpp>

using xnas_test::toy_cell_space;
using arch = toy_cell_space::architecture;

namespace {
const std::vector<xnas::objective> max2{{"a"}, {"b"}};
} // namespace

TEST_CASE("non-dominated fronts and crowding distance as nsga2 uses them",
          "[strategy][nsga2][pareto]") {
    // Maximize both: (3,1) (2,2) (1,3) are the front; (1,1) is dominated by all three;
    // (0,0) by everything.
    const std::vector<std::vector<double>> pts{{1, 1}, {3, 1}, {0, 0}, {2, 2}, {1, 3}};
    const auto fronts = xnas::non_dominated_sort(pts, max2);
    REQUIRE(fronts.size() == 3);
    CHECK(std::set<std::size_t>(fronts[0].begin(), fronts[0].end()) ==
          std::set<std::size_t>{1, 3, 4});
    CHECK(fronts[1] == std::vector<std::size_t>{0});
    CHECK(fronts[2] == std::vector<std::size_t>{2});
    const auto d = xnas::crowding_distance(pts, std::vector<std::size_t>{1, 3, 4});
    CHECK(std::isinf(d[0]));
    CHECK(std::isinf(d[2]));
    CHECK(d[1] == Approx(2.0)); // (3-1)/(3-1) on each objective
    CHECK(xnas::dominates(std::vector<double>{2, 2}, std::vector<double>{2, 1}, max2));
    CHECK_FALSE(xnas::dominates(std::vector<double>{2, 2}, std::vector<double>{2, 2}, max2));
}

namespace {

// Two conflicting objectives on the toy cell space: "accuracy" rewards heavy ops (conv3x3 most),
// "params" (minimized) counts their cost; a per-edge weight makes the trade-off non-trivial.
struct accuracy_and_params {
    double acc_gain[5] = {0.0, 1.0, 2.5, 4.0, 0.5};
    double cost[5] = {0.0, 0.0, 1.0, 3.0, 0.2};
    double weight[6] = {1.0, 1.3, 0.7, 1.1, 0.9, 1.6};
    std::pair<double, double> operator()(const arch& a) const {
        double acc = 0, params = 0;
        for (std::size_t e = 0; e < 6; ++e) {
            acc += weight[e] * acc_gain[a[e]];
            params += cost[a[e]] * (1.0 + 0.1 * static_cast<double>(e));
        }
        return {acc, params};
    }
};

} // namespace

TEST_CASE("nsga2 recovers a known Pareto front", "[strategy][nsga2]") {
    const accuracy_and_params f;
    // The true front by enumeration, as a set of (acc, params) points.
    std::vector<std::vector<double>> all;
    for (std::size_t i = 0; i < 15625; ++i) {
        arch a{};
        std::size_t k = i;
        for (auto& x : a) {
            x = static_cast<std::uint8_t>(k % 5);
            k /= 5;
        }
        const auto [acc, params] = f(a);
        all.push_back({acc, -params});
    }
    // Two objectives: a sweep by the first (descending) keeps each point whose second beats
    // every point before it; O(n log n) where a full non-dominated sort would be O(n^2).
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
        return a[0] != b[0] ? a[0] > b[0] : a[1] > b[1];
    });
    std::set<std::pair<double, double>> true_front;
    double best_second = -1e300;
    for (const auto& p : all)
        if (p[1] > best_second) {
            true_front.insert({p[0], p[1]});
            best_second = p[1];
        }
    INFO("true front size " << true_front.size());

    double recovered_share = 0, precision = 0;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        xnas::nsga2<toy_cell_space> st({.population_size = 64,
                                        .objectives = {{"accuracy", xnas::direction::maximize},
                                                       {"params", xnas::direction::minimize}}});
        const auto rs = xnas_test::run(
            st, toy_cell_space{},
            [&](const auto& t) {
                xnas::evaluation e;
                const auto [acc, params] = f(t.architecture);
                e.objectives["accuracy"] = acc;
                e.objectives["params"] = params;
                return e;
            },
            2000, seed, seed % 2 ? 8 : 1);
        std::set<std::pair<double, double>> found;
        for (const auto& m : st.population())
            if (m.rank == 0)
                found.insert({m.scores[0], m.scores[1]});
        std::size_t hit = 0;
        for (const auto& p : found)
            hit += true_front.count(p);
        precision += static_cast<double>(hit) / static_cast<double>(found.size());
        recovered_share += static_cast<double>(hit) / static_cast<double>(true_front.size());
    }
    recovered_share /= 20;
    precision /= 20;
    std::printf("nsga2: true front %zu points, mean share recovered %.3f, precision %.3f\n",
                true_front.size(), recovered_share, precision);
    CHECK(recovered_share > 0.95);
    CHECK(precision > 0.95); // the population's first front is (almost) all truly optimal
}

TEST_CASE("nsga2 validates its options", "[strategy][nsga2]") {
    CHECK_THROWS_WITH(xnas::nsga2<toy_cell_space>({}),
                      Catch::Matchers::Contains("objectives is empty"));
    CHECK_THROWS_WITH(xnas::nsga2<toy_cell_space>({.population_size = 1, .objectives = {{"a"}}}),
                      Catch::Matchers::Contains("population_size is 1"));
}
