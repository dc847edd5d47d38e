// reinforce and decision_space: adapters round-trip for the shipped spaces and flag their ordered
// decisions, the factorised policy's gradient moves probability to rewarded choices, and
// REINFORCE beats random search.

#include "loop.hpp"
#include "param_problem.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <xnas/evaluate/training_params.hpp>
#include <xnas/space/cell_space.hpp>
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
    CHECK(sizes == std::vector<std::size_t>{2, 64, 4, 64, 64});
    CHECK(xnas::ordered_decisions(s) == std::vector<bool>{false, true, true, true, true});
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

TEST_CASE("ordered decisions: depths and numeric ladders, not ops, text or skips",
          "[strategy][decisions]") {
    // chain_space::image(): conv depth 1-4, then per conv slot: op, k, c, act, bn, pool (and a
    // skip after the first slot); dense depth 0-2, then per dense slot: op, w, act, drop.
    const auto chain = xnas::chain_space::image();
    const std::vector<bool> conv_slot{false, true, true, false, false, false};
    const std::vector<bool> dense_slot{false, true, false, true};
    std::vector<bool> expected{true};
    for (int p = 0; p < 4; ++p) {
        expected.insert(expected.end(), conv_slot.begin(), conv_slot.end());
        if (p > 0)
            expected.push_back(false);
    }
    expected.push_back(true);
    for (int p = 0; p < 2; ++p)
        expected.insert(expected.end(), dense_slot.begin(), dense_slot.end());
    CHECK(xnas::ordered_decisions(chain) == expected);
    CHECK(xnas::decisions(chain).size() == expected.size());

    // A product concatenates; cell_space says nothing, so none of its edges is ordered.
    const auto product = xnas::image_search_space();
    auto with_params = expected;
    for (bool o : {false, true, false}) // optimizer, log lr, batch size
        with_params.push_back(o);
    CHECK(xnas::ordered_decisions(product) == with_params);
    CHECK(xnas::ordered_decisions(xnas::cell_space::nb201()) == std::vector<bool>(6, false));

    // Text and falling values are not a scale.
    using choice = xnas::chain_space::choice;
    CHECK(choice::reals("drop", {0.0, 0.2, 0.5}).ordered);
    CHECK_FALSE(choice::ints("k", {5, 3}).ordered);
    CHECK_FALSE(choice::of("act", {"relu", "gelu"}).ordered);
    CHECK_FALSE(choice::flag("bn").ordered);
}

namespace {
// A user space of two binary decisions that flags only one of them.
struct misflagged_space {
    using architecture = std::array<int, 2>;
    architecture sample(xnas::rng&) const { return {}; }
    architecture mutate(const architecture& a, xnas::rng&) const { return a; }
    std::vector<std::size_t> decisions() const { return {2, 2}; }
    architecture from_decisions(const std::vector<int>& d) const { return {d[0], d[1]}; }
    std::vector<int> to_decisions(const architecture& a) const { return {a[0], a[1]}; }
    std::vector<bool> ordered_decisions() const { return {true}; }
};
} // namespace

TEST_CASE("ordered_decisions refuses a flag count that is not the decision count",
          "[strategy][decisions]") {
    CHECK_THROWS_WITH(xnas::ordered_decisions(misflagged_space{}),
                      Catch::Matchers::Contains("flags 1 decisions") &&
                          Catch::Matchers::Contains("has 2"));
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
