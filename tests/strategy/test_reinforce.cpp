// reinforce and decision_space: adapters round-trip for the shipped spaces, the factorised
// policy's gradient moves probability to rewarded choices, and REINFORCE beats random search.

#include "loop.hpp"
#include "param_problem.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <xnas/space/param_space.hpp>
#include <xnas/strategy/decision_space.hpp>
#include <xnas/strategy/random_search.hpp>
#include <xnas/strategy/reinforce.hpp>

using xnas_test::nb201_like;
using xnas_test::toy_cell_space;

TEST_CASE("cell_space decisions round-trip", "[strategy][reinforce][decisions]") {
    const auto s = xnas::cell_space::nb201();
    CHECK(xnas::decisions(s) == std::vector<std::size_t>(6, 5));
    xnas::rng g(1);
    for (int i = 0; i < 50; ++i) {
        const auto a = s.sample(g);
        CHECK(xnas::from_decisions(s, xnas::to_decisions(s, a)) == a);
    }
    CHECK_THROWS_WITH(xnas::from_decisions(s, {1, 2}), Catch::Matchers::Contains("expected 6"));
}

TEST_CASE("chain_space decisions round-trip and stay in the space",
          "[strategy][reinforce][decisions]") {
    for (const auto& s : {xnas::chain_space::image(), xnas::chain_space::sequence()}) {
        const auto sizes = xnas::decisions(s);
        xnas::rng g(2);
        for (int i = 0; i < 100; ++i) {
            const auto a = s.sample(g);
            const auto d = xnas::to_decisions(s, a);
            REQUIRE(d.size() == sizes.size());
            for (std::size_t k = 0; k < d.size(); ++k)
                CHECK(d[k] < static_cast<int>(sizes[k]));
            CHECK(xnas::from_decisions(s, d) == a);
            // Arbitrary decision values decode to an architecture of the space.
            std::vector<int> r(sizes.size());
            for (std::size_t k = 0; k < r.size(); ++k)
                r[k] = static_cast<int>(g.below(sizes[k]));
            CHECK(s.contains(xnas::from_decisions(s, r)));
        }
    }
}

TEST_CASE("product_space decisions concatenate", "[strategy][reinforce][decisions]") {
    const xnas::product_space<xnas::cell_space, xnas::cell_space> s(
        xnas::cell_space::nb201(), xnas::cell_space(3, {"a", "b"}));
    CHECK(xnas::decisions(s).size() == 6 + 3);
    xnas::rng g(3);
    const auto a = s.sample(g);
    CHECK(xnas::from_decisions(s, xnas::to_decisions(s, a)) == a);
}

TEST_CASE("factorised policy: gradient steps favour rewarded choices", "[strategy][reinforce]") {
    xnas::factorised_policy p({.learning_rate = 0.1});
    xnas::rng g(4);
    p.reset({3, 2}, g);
    CHECK(p.probabilities(0)[1] == Approx(1.0 / 3));
    for (int i = 0; i < 20; ++i)
        p.update({1, -1}, 1.0, 0.0);
    CHECK(p.probabilities(0)[1] > 0.9);
    CHECK(p.probabilities(1)[0] == Approx(0.5)); // unused decision: untouched
    // The entropy bonus alone pulls back towards uniform.
    for (int i = 0; i < 200; ++i)
        p.update({-1, -1}, 0.0, 1.0);
    CHECK(p.probabilities(0)[1] < 0.6);
}

TEST_CASE("reinforce beats random search", "[strategy][quality][reinforce]") {
    auto regret = [](auto make) { return xnas_test::mean_nb201_regret(make, 100); };
    const double r_random = regret([] { return xnas::random_search<toy_cell_space>{}; });
    const double r_rl = regret([] { return xnas::reinforce<toy_cell_space>{}; });
    const double r_rl_entropy =
        regret([] { return xnas::reinforce<toy_cell_space>({.entropy_weight = 0.01}); });
    std::printf("reinforce mean regret %.3f (entropy %.3f), random %.3f\n", r_rl, r_rl_entropy,
                r_random);
    CHECK(r_rl < 0.7 * r_random);
    CHECK(r_rl_entropy < 0.7 * r_random);
}

TEST_CASE("reinforce honours the ask/tell contract", "[strategy][reinforce][contract]") {
    xnas::reinforce<toy_cell_space> a, b;
    const nb201_like problem(5);
    auto f = [&](const auto& t) { return problem.evaluate(t); };
    const auto ra = xnas_test::run(a, toy_cell_space{}, f, 120, 9, 7);
    const auto rb = xnas_test::run(b, toy_cell_space{}, f, 120, 9, 7);
    std::set<std::uint64_t> ids;
    bool same = true;
    for (std::size_t i = 0; i < ra.size(); ++i) {
        ids.insert(ra[i].t.id);
        same = same && ra[i].t.architecture == rb[i].t.architecture && ra[i].t.id == rb[i].t.id;
    }
    CHECK(ids.size() == ra.size());
    CHECK(same);
    CHECK_THROWS_WITH(xnas::reinforce<toy_cell_space>({.baseline_decay = 1.0}),
                      Catch::Matchers::Contains("baseline_decay is 1"));
}

TEST_CASE("param_space decisions: exact for categorical and small ints, binned reals",
          "[strategy][reinforce][decisions]") {
    const auto s = xnas::param_space{}
                       .add_categorical("opt", {"sgd", "adam"})
                       .add_float("momentum", 0, 0.99, xnas::when("opt", {"sgd"}))
                       .add_int("layers", 1, 4)
                       .add_int("width", 8, 1024, 8)
                       .add_log_float("lr", 1e-4, 1e-1);
    const auto sizes = xnas::decisions(s);
    CHECK(sizes == std::vector<std::size_t>{2, 16, 4, 16, 16});
    xnas::rng g(7);
    for (int i = 0; i < 100; ++i) {
        const auto a = s.sample(g);
        const auto d = xnas::to_decisions(s, a);
        CHECK((d[1] == -1) == (std::get<std::string>(a.at("opt")) == "adam"));
        const auto b = xnas::from_decisions(s, d);
        CHECK(b.at("opt") == a.at("opt"));
        CHECK(b.at("layers") == a.at("layers"));
        CHECK(xnas::to_decisions(s, b) == d); // bins are stable
        CHECK(s.contains(b));
        std::vector<int> r(sizes.size());
        for (std::size_t k = 0; k < r.size(); ++k)
            r[k] = static_cast<int>(g.below(sizes[k]));
        CHECK(s.contains(xnas::from_decisions(s, r)));
    }
}

TEST_CASE("reinforce tunes a param_space", "[strategy][reinforce]") {
    const auto s = xnas::param_space{}
                       .add_categorical("opt", {"sgd", "adam", "rmsprop"})
                       .add_int("layers", 1, 8)
                       .add_log_float("lr", 1e-4, 1e-1);
    // Best: adam, 5 layers, lr near 3e-3.
    xnas::reinforce<xnas::param_space> rl({.entropy_weight = 0.001});
    const auto rs = xnas_test::run(rl, s, xnas_test::tuning_score, 300, 5);
    const auto p = rl.policy().probabilities(0);
    CHECK(p[1] > 0.8); // adam
    double late = 0;
    for (std::size_t i = 250; i < 300; ++i)
        late += rs[i].e.value("score");
    double early = 0;
    for (std::size_t i = 0; i < 50; ++i)
        early += rs[i].e.value("score");
    CHECK(late > early + 20); // the policy moved towards good settings
}
