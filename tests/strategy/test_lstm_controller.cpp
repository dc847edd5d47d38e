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

TEST_CASE("a controller restored from its weights and baseline continues as the original",
          "[strategy][reinforce][lstm]") {
    const toy_cell_space space;
    using A = toy_cell_space::architecture;
    auto reward = [](const A& a) {
        double r = 0;
        for (auto op : a)
            r += op == 2 ? 0.2 : 0.0;
        return r;
    };
    auto train = [&](auto& c, xnas::rng& g, int steps) {
        std::vector<A> asked;
        for (int i = 0; i < steps; ++i) {
            auto t = c.ask(space, g);
            xnas::evaluation e;
            e.objectives["r"] = reward(t.architecture);
            c.tell(t, e);
            asked.push_back(t.architecture);
        }
        return asked;
    };
    using controller = xnas::reinforce<toy_cell_space, xnas::lstm_policy>;
    controller original({.objective = {"r"}}, xnas::lstm_policy({.hidden = 8}));
    xnas::rng g(3);
    train(original, g, 30);

    // A copy made from the checkpointed state only: weights and baseline, a fresh optimizer.
    controller restored({.objective = {"r"}}, xnas::lstm_policy({.hidden = 8}));
    xnas::rng other(99);
    restored.prepare(space, other);
    auto from = original.policy().parameters(), to = restored.policy().parameters();
    REQUIRE(from.size() == to.size());
    for (std::size_t k = 0; k < from.size(); ++k)
        *to[k].value = *from[k].value;
    restored.restore_baseline(original.baseline_snapshot());
    original.policy().restart_optimizer();

    xnas::rng g1(5), g2(5);
    const auto a = train(original, g1, 20), b = train(restored, g2, 20);
    CHECK(a == b);
    // sample draws as ask does, and leaves nothing to tell
    xnas::rng s1(8), s2(8);
    CHECK(original.sample(space, s1) == original.ask(space, s2).architecture);

    // without the baseline the continuation differs: the test can tell
    controller no_baseline({.objective = {"r"}}, xnas::lstm_policy({.hidden = 8}));
    no_baseline.prepare(space, other);
    auto nb = no_baseline.policy().parameters();
    for (std::size_t k = 0; k < from.size(); ++k)
        *nb[k].value = *to[k].value;
    restored.policy().restart_optimizer();
    xnas::rng g3(6), g4(6);
    const auto c = train(restored, g3, 20), d = train(no_baseline, g4, 20);
    CHECK(c != d);
}
