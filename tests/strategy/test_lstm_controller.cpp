// lstm_policy: the recurrent REINFORCE controller learns rewarded choices, learns a dependency
// between decisions that a factorised policy cannot express, and beats random search.

#include "loop.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <set>
#include <xnas/strategy/lstm_controller.hpp>
#include <xnas/strategy/random_search.hpp>

using xnas_test::nb201_like;
using xnas_test::toy_cell_space;

TEST_CASE("lstm_policy moves probability to rewarded choices", "[strategy][reinforce][lstm]") {
    xnas::lstm_policy p({.hidden = 16, .learning_rate = 0.02});
    xnas::rng g(1);
    p.reset({3, 4}, g);
    const auto p0 = p.probabilities(0);
    CHECK(p0[2] == Approx(1.0 / 3).margin(0.1));
    for (int i = 0; i < 60; ++i)
        p.update({2, 1}, 1.0, 0.0);
    CHECK(p.probabilities(0)[2] > 0.9);
    int hits = 0;
    for (int i = 0; i < 100; ++i)
        hits += p.sample(g) == std::vector<int>{2, 1};
    CHECK(hits > 80);
}

TEST_CASE("lstm_policy learns a dependency between decisions", "[strategy][reinforce][lstm]") {
    // Reward 1 when the second decision copies the first; an entropy bonus keeps the first
    // decision spread out, so only a controller that conditions on it scores well.
    struct pair_space {
        using architecture = std::array<int, 2>;
        architecture sample(xnas::rng& g) const {
            return {static_cast<int>(g.below(3)), static_cast<int>(g.below(3))};
        }
        architecture mutate(architecture a, xnas::rng& g) const {
            a[g.below(2)] = static_cast<int>(g.below(3));
            return a;
        }
        std::vector<std::size_t> decisions() const { return {3, 3}; }
        architecture from_decisions(const std::vector<int>& d) const { return {d[0], d[1]}; }
        std::vector<int> to_decisions(const architecture& a) const { return {a[0], a[1]}; }
    };
    auto f = [](const xnas::trial<pair_space::architecture>& t) {
        xnas::evaluation e;
        e.objectives["r"] = t.architecture[0] == t.architecture[1] ? 1.0 : 0.0;
        return e;
    };
    auto copy_rate = [&](auto& st) {
        const auto rs = xnas_test::run(st, pair_space{}, f, 1500, 3);
        double late = 0;
        std::set<int> firsts;
        for (std::size_t i = 1300; i < 1500; ++i) {
            late += rs[i].e.value("r");
            firsts.insert(rs[i].t.architecture[0]);
        }
        return std::pair{late / 200, firsts.size()};
    };
    xnas::reinforce<pair_space, xnas::lstm_policy> lstm(
        {.entropy_weight = 0.3, .normalize_advantage = false},
        xnas::lstm_policy({.hidden = 16, .learning_rate = 0.02}));
    xnas::reinforce<pair_space> fact({.entropy_weight = 0.3, .normalize_advantage = false},
                                     xnas::factorised_policy({.learning_rate = 0.02}));
    const auto [rate, firsts] = copy_rate(lstm);
    const auto [fact_rate, fact_firsts] = copy_rate(fact);
    std::printf("copy rate: lstm %.2f over %zu first values, factorised %.2f over %zu\n", rate,
                firsts, fact_rate, fact_firsts);
    CHECK(firsts >= 2);
    CHECK(rate > fact_rate + 0.2);
}

TEST_CASE("reinforce with the LSTM controller beats random search",
          "[strategy][quality][reinforce][lstm]") {
    auto regret = [](auto make) { return xnas_test::mean_nb201_regret(make, 100); };
    const double r_random = regret([] { return xnas::random_search<toy_cell_space>{}; });
    const double r_lstm = regret([] {
        return xnas::reinforce<toy_cell_space, xnas::lstm_policy>(
            {}, xnas::lstm_policy({.hidden = 16}));
    });
    std::printf("reinforce+lstm mean regret %.3f, random %.3f\n", r_lstm, r_random);
    CHECK(r_lstm < 0.7 * r_random);
}
