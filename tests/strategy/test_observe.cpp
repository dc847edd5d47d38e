// observe: strategies learning from trials they did not ask (a warm start's seeds). tpe records an
// observed trial exactly as it records a told one (so its next asks match a tpe that asked and was
// told the same trials), and seeded with the optimum's neighbours it reaches the optimum of
// generated NAS-Bench-201-like problems in fewer trials; regularized evolution, nsga2, bananas and
// local search start from observed seeds at once instead of after random asks; bohb's model of
// the observed trials' rung proposes; failures count as tell counts them; the same seed and the
// same observed trials give the same asks; strategies without a model of results have no observe.

#include "loop.hpp"
#include "param_problem.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <utility>
#include <vector>
#include <xnas/space/param_space.hpp>
#include <xnas/strategy.hpp>

using xnas_test::nb201_like;
using xnas_test::toy_cell_space;
using arch = toy_cell_space::architecture;

namespace {

using xnas_test::score;

std::size_t edits(const arch& a, const arch& b) {
    std::size_t n = 0;
    for (std::size_t e = 0; e < a.size(); ++e)
        n += a[e] != b[e];
    return n;
}

// The problem's score, and a second objective for nsga2.
xnas::evaluation evaluate(const nb201_like& p, const xnas::trial<arch>& t) {
    auto e = p.evaluate(t);
    e.objectives["params"] = static_cast<double>(t.architecture[0] + t.architecture[3]);
    return e;
}

// Ids far from any a strategy issues, as a warm start gives its seeds.
constexpr std::uint64_t seed_id = 1'000'000;

// Five architectures one edit from the problem's optimum, with their results.
std::vector<xnas_test::record<arch>> optimum_neighbours(const nb201_like& p) {
    std::vector<xnas_test::record<arch>> out;
    for (std::size_t e = 0; e < 5; ++e) {
        xnas::trial<arch> t;
        t.id = seed_id + e;
        t.architecture = p.argmax;
        t.architecture[e] = static_cast<std::uint8_t>((p.argmax[e] + 1 + e % 4) % 5);
        out.push_back({t, p.evaluate(t)});
    }
    return out;
}

// n random architectures with their results on p.
std::vector<xnas_test::record<arch>> random_seeds(const nb201_like& p, std::size_t n,
                                                  std::uint64_t seed) {
    xnas::rng g(seed);
    std::vector<xnas_test::record<arch>> out;
    for (std::size_t i = 0; i < n; ++i) {
        xnas::trial<arch> t;
        t.id = seed_id + i;
        t.architecture = toy_cell_space{}.sample(g);
        out.push_back({t, evaluate(p, t)});
    }
    return out;
}

// Serial asks, each told, until the optimum is asked: the number of asks, or cap + 1.
template <class St>
std::size_t asks_to_optimum(St& st, const nb201_like& p, std::uint64_t seed, std::size_t cap) {
    xnas::rng g(seed);
    for (std::size_t n = 1; n <= cap; ++n) {
        const auto t = st.ask(toy_cell_space{}, g);
        st.tell(t, p.evaluate(t));
        if (t.architecture == p.argmax)
            return n;
    }
    return cap + 1;
}

// Mean asks to the optimum over 10 generated problems, with and without first observing the
// optimum's neighbours.
template <class Make>
std::pair<double, double> mean_asks_to_optimum(Make make, std::size_t cap) {
    double with = 0, without = 0;
    for (std::uint64_t s = 0; s < 10; ++s) {
        const nb201_like p(500 + s);
        auto seeded = make();
        for (const auto& r : optimum_neighbours(p))
            seeded.observe(toy_cell_space{}, r.t, r.e);
        with += static_cast<double>(asks_to_optimum(seeded, p, 40 + s, cap));
        auto plain = make();
        without += static_cast<double>(asks_to_optimum(plain, p, 40 + s, cap));
    }
    return {with / 10, without / 10};
}

// Regret (the optimum less the best score asked; seeds do not count) of `asks` serial asks, mean
// over 10 generated problems, with and without first observing the optimum's neighbours.
template <class Make>
std::pair<double, double> mean_regret(Make make, std::size_t asks) {
    const auto regret = [&](auto& st, const nb201_like& p, std::uint64_t seed) {
        xnas::rng g(seed);
        double best = -1e300;
        for (std::size_t n = 0; n < asks; ++n) {
            const auto t = st.ask(toy_cell_space{}, g);
            st.tell(t, p.evaluate(t));
            best = std::max(best, p(t.architecture));
        }
        return p.optimum - best;
    };
    double with = 0, without = 0;
    for (std::uint64_t s = 0; s < 10; ++s) {
        const nb201_like p(500 + s);
        auto seeded = make();
        for (const auto& r : optimum_neighbours(p))
            seeded.observe(toy_cell_space{}, r.t, r.e);
        with += regret(seeded, p, 40 + s);
        auto plain = make();
        without += regret(plain, p, 40 + s);
    }
    return {with / 10, without / 10};
}

// The trials of `asks` serial asks after observing `seeds` (each ask told its result on p).
template <class St>
std::vector<xnas::trial<arch>> asks_after(St st, const std::vector<xnas_test::record<arch>>& seeds,
                                          const nb201_like& p, std::size_t asks,
                                          std::uint64_t seed) {
    for (const auto& r : seeds)
        st.observe(toy_cell_space{}, r.t, r.e);
    xnas::rng g(seed);
    std::vector<xnas::trial<arch>> out;
    for (std::size_t i = 0; i < asks; ++i) {
        out.push_back(st.ask(toy_cell_space{}, g));
        st.tell(out.back(), evaluate(p, out.back()));
    }
    return out;
}

// Named fields, not designated initializers: g++ 12 warns (-Wmaybe-uninitialized) about the
// temporary's nested strings.
xnas::bohb<toy_cell_space> bohb_without_random(std::size_t startup_trials) {
    xnas::bohb_options o;
    o.random_fraction = 0;
    o.model.startup_trials = startup_trials;
    o.objective = score;
    return xnas::bohb<toy_cell_space>(std::move(o));
}

// Same seed and same observed trials: the same asks; and observing changes them.
template <class Make>
void check_observe_deterministic(Make make) {
    const nb201_like p(21);
    const auto seeds = random_seeds(p, 12, 8);
    const auto a = asks_after(make(), seeds, p, 40, 5);
    const auto b = asks_after(make(), seeds, p, 40, 5);
    CHECK(a == b);
    CHECK(a != asks_after(make(), {}, p, 40, 5));
}

} // namespace

TEST_CASE("strategies with a model of results observe, the others do not", "[strategy][observe]") {
    using S = toy_cell_space;
    STATIC_REQUIRE(xnas::observing_strategy<xnas::tpe<S>, S>);
    STATIC_REQUIRE(xnas::observing_strategy<xnas::bohb<S>, S>);
    STATIC_REQUIRE(xnas::observing_strategy<xnas::regularized_evolution<S>, S>);
    STATIC_REQUIRE(xnas::observing_strategy<xnas::bananas<S>, S>);
    STATIC_REQUIRE(xnas::observing_strategy<xnas::local_search<S>, S>);
    STATIC_REQUIRE(xnas::observing_strategy<xnas::nsga2<S>, S>);
    STATIC_REQUIRE(xnas::observing_strategy<xnas::tpe<xnas::param_space>, xnas::param_space>);
    STATIC_REQUIRE(!xnas::observing_strategy<xnas::random_search<S>, S>);
    STATIC_REQUIRE(!xnas::observing_strategy<xnas::reinforce<S>, S>);
    STATIC_REQUIRE(!xnas::observing_strategy<xnas::hyperband<S>, S>);
    STATIC_REQUIRE(!xnas::observing_strategy<xnas::successive_halving<S>, S>);
    STATIC_REQUIRE(!xnas::observing_strategy<xnas::asha<S>, S>);
}

TEST_CASE("tpe models observed trials exactly as told ones", "[strategy][observe][tpe]") {
    // A tpe that asked and was told 30 trials (every 7th failing) and one that observed the same
    // 30 must hold the same model: from the same generator state they ask the same architectures.
    const bool multivariate = GENERATE(false, true);
    CAPTURE(multivariate);
    const nb201_like p(9);
    const auto f = [&](const xnas::trial<arch>& t) {
        return t.id % 7 == 3 ? xnas::evaluation::failure(xnas::status::failed, "injected")
                             : p.evaluate(t);
    };
    xnas::tpe<toy_cell_space> told({.multivariate = multivariate});
    const auto history = xnas_test::run(told, toy_cell_space{}, f, 30, 4);
    xnas::tpe<toy_cell_space> observed({.multivariate = multivariate});
    for (const auto& r : history)
        observed.observe(toy_cell_space{}, r.t, r.e);
    CHECK(observed.observations() == told.observations());
    xnas::rng g1(77), g2(77);
    for (int i = 0; i < 20; ++i) {
        const auto a = told.ask(toy_cell_space{}, g1);
        const auto b = observed.ask(toy_cell_space{}, g2);
        REQUIRE(a.architecture == b.architecture);
        for (std::size_t d = 0; d < toy_cell_space::edges; ++d)
            CHECK(told.good_distribution(d) == observed.good_distribution(d));
        told.tell(a, p.evaluate(a));
        observed.tell(b, p.evaluate(b));
    }
}

TEST_CASE("tpe models observed trials of a conditional param_space as told ones",
          "[strategy][observe][tpe]") {
    const bool multivariate = GENERATE(false, true);
    CAPTURE(multivariate);
    const auto s = xnas_test::tuning_space();
    xnas::tpe<xnas::param_space> told({.multivariate = multivariate});
    const auto history = xnas_test::run(told, s, xnas_test::tuning_score, 25, 6);
    xnas::tpe<xnas::param_space> observed({.multivariate = multivariate});
    for (const auto& r : history)
        observed.observe(s, r.t, r.e);
    xnas::rng g1(5), g2(5);
    for (int i = 0; i < 10; ++i) {
        const auto a = told.ask(s, g1);
        const auto b = observed.ask(s, g2);
        REQUIRE(s.to_string(a.architecture) == s.to_string(b.architecture));
        told.tell(a, xnas_test::tuning_score(a));
        observed.tell(b, xnas_test::tuning_score(b));
    }
}

TEST_CASE("tpe's groups after observing reflect the observed trials", "[strategy][observe][tpe]") {
    // 20 observed: the 2 best (gamma 0.1) use op 3 on edge 0; 8 use op 4 there and failed; the
    // rest use ops 0-2. Failures count as the worst, as when told.
    xnas::tpe<toy_cell_space> st;
    xnas::rng g(3);
    for (std::uint64_t i = 0; i < 20; ++i) {
        xnas::trial<arch> t;
        t.id = seed_id + i;
        t.architecture = toy_cell_space{}.sample(g);
        xnas::evaluation e;
        if (i < 2) {
            t.architecture[0] = 3;
            e.objectives["score"] = 10;
        } else if (i < 10) {
            t.architecture[0] = 4;
            e = xnas::evaluation::failure(xnas::status::failed, "over budget");
        } else {
            t.architecture[0] = static_cast<std::uint8_t>(i % 3);
            e.objectives["score"] = 1;
        }
        st.observe(toy_cell_space{}, t, e);
    }
    CHECK(st.observations() == 20);
    CHECK(st.good_distribution(0).empty()); // the model is fitted at the next ask
    const auto t = st.ask(toy_cell_space{}, g);
    const auto good = st.good_distribution(0), bad = st.bad_distribution(0);
    REQUIRE(good.size() == 5);
    REQUIRE(bad.size() == 5);
    CHECK(std::max_element(good.begin(), good.end()) - good.begin() == 3);
    CHECK(good[3] > 0.6);
    CHECK(std::max_element(bad.begin(), bad.end()) - bad.begin() == 4);
    CHECK(bad[4] > 0.4);
    CHECK(t.architecture[0] == 3);
}

TEST_CASE("tpe seeded with the optimum's neighbours reaches it in fewer trials",
          "[strategy][observe][tpe][quality]") {
    const auto [with, without] =
        mean_asks_to_optimum([] { return xnas::tpe<toy_cell_space>(); }, 400);
    std::printf("tpe: mean asks to the optimum %.1f after observing 5 of its neighbours, %.1f "
                "without (10 problems, cap 400)\n",
                with, without);
    CHECK(with < 0.5 * without);
    CHECK(with < 30);
    for (const bool multivariate : {false, true}) {
        const auto [r_with, r_without] = mean_regret(
            [&] { return xnas::tpe<toy_cell_space>({.multivariate = multivariate}); }, 30);
        std::printf("tpe%s: mean regret of 30 asks %.2f after observing 5 of the optimum's "
                    "neighbours, %.2f without (10 problems)\n",
                    multivariate ? " (multivariate)" : "", r_with, r_without);
        // The joint model gains less: with one good trial among five near-equal ones (gamma
        // 0.1), the bad group's kernels sit around the optimum too.
        CHECK(r_with < (multivariate ? 0.8 : 0.3) * r_without);
    }
}

TEST_CASE("observing strategies are deterministic", "[strategy][observe][contract]") {
    check_observe_deterministic([] { return xnas::tpe<toy_cell_space>({.objective = score}); });
    check_observe_deterministic(
        [] { return xnas::tpe<toy_cell_space>({.objective = score, .multivariate = true}); });
    check_observe_deterministic([] { return bohb_without_random(5); });
    check_observe_deterministic([] {
        return xnas::regularized_evolution<toy_cell_space>(
            {.population_size = 10, .sample_size = 3, .objective = score});
    });
    check_observe_deterministic(
        [] { return xnas::bananas<toy_cell_space>({.epochs = 10, .objective = score}); });
    check_observe_deterministic(
        [] { return xnas::local_search<toy_cell_space>({.objective = score}); });
    check_observe_deterministic([] {
        return xnas::nsga2<toy_cell_space>(
            {.population_size = 10,
             .objectives = {{"score"}, {"params", xnas::direction::minimize}}});
    });
}

TEST_CASE("regularized evolution observing population_size seeds starts with tournaments",
          "[strategy][observe][evolution]") {
    const nb201_like p(13);
    const xnas::regularized_evolution_options options{
        .population_size = 10, .sample_size = 3, .objective = score};
    // Random asks (no parents) before the first tournament, after observing `seeds`; every later
    // ask must be one mutation of a member, observed or its own.
    const auto random_asks = [&](const std::vector<xnas_test::record<arch>>& seeds) {
        xnas::regularized_evolution<toy_cell_space> st(options);
        std::map<std::uint64_t, arch> members;
        for (const auto& r : seeds) {
            st.observe(toy_cell_space{}, r.t, r.e);
            members[r.t.id] = r.t.architecture;
        }
        std::size_t random = 0;
        xnas::rng g(17);
        for (int i = 0; i < 30; ++i) {
            const auto t = st.ask(toy_cell_space{}, g);
            if (t.parents.empty()) {
                CHECK(random == static_cast<std::size_t>(i)); // only before the first tournament
                ++random;
            } else {
                REQUIRE(t.parents.size() == 1);
                REQUIRE(members.count(t.parents[0]) == 1);
                CHECK(edits(t.architecture, members[t.parents[0]]) == 1);
            }
            members[t.id] = t.architecture;
            st.tell(t, p.evaluate(t));
        }
        return random;
    };
    CHECK(random_asks({}) == 10);
    CHECK(random_asks(random_seeds(p, 4, 1)) == 6);
    CHECK(random_asks(random_seeds(p, 10, 1)) == 0);
    CHECK(random_asks(random_seeds(p, 25, 1)) == 0);

    // The first ask's parent is an observed seed, in a population of exactly the seeds.
    xnas::regularized_evolution<toy_cell_space> st(options);
    for (const auto& r : random_seeds(p, 10, 2))
        st.observe(toy_cell_space{}, r.t, r.e);
    CHECK(st.population_size() == 10);
    xnas::rng g(3);
    const auto first = st.ask(toy_cell_space{}, g);
    REQUIRE(first.parents.size() == 1);
    CHECK(first.parents[0] >= seed_id);
    CHECK(first.parents[0] < seed_id + 10);
}

TEST_CASE("regularized evolution drops an observed failure as tell does",
          "[strategy][observe][evolution]") {
    xnas::regularized_evolution<toy_cell_space> st(
        {.population_size = 4, .sample_size = 2, .objective = score});
    xnas::rng g(2);
    for (std::uint64_t i = 0; i < 4; ++i) {
        xnas::trial<arch> t;
        t.id = seed_id + i;
        t.architecture = toy_cell_space{}.sample(g);
        st.observe(toy_cell_space{}, t,
                   xnas::evaluation::failure(xnas::status::timed_out, "over budget"));
    }
    CHECK(st.population_size() == 0);
    for (int i = 0; i < 4; ++i) { // the failures took no random ask's place
        const auto t = st.ask(toy_cell_space{}, g);
        CHECK(t.parents.empty());
        xnas::evaluation e;
        e.objectives["score"] = i;
        st.tell(t, e);
    }
    CHECK_FALSE(st.ask(toy_cell_space{}, g).parents.empty());
}

TEST_CASE("regularized evolution and local search seeded with the optimum's neighbours reach it "
          "sooner",
          "[strategy][observe][quality]") {
    // Evolution's seeds age out after P children, so it is judged on the regret of its first
    // asks, not on the exact optimum.
    const auto [evo_with, evo_without] = mean_regret(
        [] {
            return xnas::regularized_evolution<toy_cell_space>(
                {.population_size = 10, .sample_size = 3, .objective = score});
        },
        30);
    std::printf("regularized evolution: mean regret of 30 asks %.2f after observing 5 of the "
                "optimum's neighbours, %.2f without (10 problems)\n",
                evo_with, evo_without);
    CHECK(evo_with < 0.7 * evo_without);
    // Five seeds leave five random samples, then the climb starts at the best seed, one edit
    // from the optimum: its 24 neighbours include the optimum.
    const auto [local_with, local_without] = mean_asks_to_optimum(
        [] { return xnas::local_search<toy_cell_space>({.objective = score}); }, 1000);
    std::printf("local search: mean asks to the optimum %.1f after observing 5 of its "
                "neighbours, %.1f without (10 problems, cap 1000)\n",
                local_with, local_without);
    CHECK(local_with <= 5 + 24);
    CHECK(local_with < 0.5 * local_without);
}

TEST_CASE("local search climbs from the best observed seed", "[strategy][observe][local]") {
    const nb201_like p(31);
    const auto seeds = optimum_neighbours(p);
    const auto best =
        std::max_element(seeds.begin(), seeds.end(), [](const auto& a, const auto& b) {
            return a.e.value("score") < b.e.value("score");
        });
    // The seeds are all the initial samples: the climb starts at once.
    xnas::local_search<toy_cell_space> st({.initial_samples = 5, .objective = score});
    for (const auto& r : seeds)
        st.observe(toy_cell_space{}, r.t, r.e);
    xnas::rng g(4);
    std::set<arch> asked;
    for (int i = 0; i < 24; ++i) {
        const auto t = st.ask(toy_cell_space{}, g);
        REQUIRE(t.parents == std::vector<std::uint64_t>{best->t.id});
        CHECK(edits(t.architecture, best->t.architecture) == 1);
        CHECK(asked.insert(t.architecture).second);
        for (const auto& r : seeds) // observed architectures are not asked again
            CHECK(t.architecture != r.t.architecture);
        st.tell(t, p.evaluate(t));
    }
    CHECK(asked.count(p.argmax) == 1);
}

TEST_CASE("bohb's model of the observed trials' rung proposes", "[strategy][observe][bohb]") {
    const nb201_like p(41);
    const double fidelity = GENERATE(1.0, 0.5, 0.01);
    CAPTURE(fidelity);
    auto st = bohb_without_random(10);
    xnas::rng g(6);
    st.ask(toy_cell_space{}, g);
    CHECK(st.model_proposals() == 0); // no model has startup_trials results yet
    for (auto r : random_seeds(p, 10, 3)) {
        r.t.fidelity = fidelity;
        st.observe(toy_cell_space{}, r.t, r.e);
    }
    st.ask(toy_cell_space{}, g);
    CHECK(st.model_proposals() == 1);
    // 0.5 is nearest the rung at 1/3 (log scale), 0.01 below the lowest rung, 1/27.
    const double rung = fidelity == 1.0 ? 1.0 : fidelity == 0.5 ? 1.0 / 3 : 1.0 / 27;
    CHECK(st.model_fidelity() == Approx(rung));
}

TEST_CASE("bananas and nsga2 start from observed seeds", "[strategy][observe]") {
    const nb201_like p(51);
    const auto seeds = random_seeds(p, 10, 4);
    const auto is_seed = [](std::uint64_t id) { return id >= seed_id && id < seed_id + 10; };
    {
        xnas::bananas<toy_cell_space> st({.initial_samples = 10, .epochs = 10, .objective = score});
        for (const auto& r : seeds)
            st.observe(toy_cell_space{}, r.t, r.e);
        xnas::rng g(7);
        const auto t = st.ask(toy_cell_space{}, g);
        CHECK(st.trainings() == 1);
        REQUIRE(t.parents.size() == 1);
        CHECK(is_seed(t.parents[0]));
    }
    {
        xnas::bananas<toy_cell_space> st({.initial_samples = 10, .epochs = 10, .objective = score});
        for (const auto& r : seeds) // failures are dropped and replace no random sample
            st.observe(toy_cell_space{}, r.t,
                       xnas::evaluation::failure(xnas::status::failed, "injected"));
        xnas::rng g(7);
        CHECK(st.ask(toy_cell_space{}, g).parents.empty());
        CHECK(st.trainings() == 0);
    }
    {
        xnas::nsga2<toy_cell_space> st(
            {.population_size = 10,
             .objectives = {{"score"}, {"params", xnas::direction::minimize}}});
        for (const auto& r : seeds)
            st.observe(toy_cell_space{}, r.t, r.e);
        CHECK(st.population().size() == 10);
        xnas::rng g(8);
        const auto t = st.ask(toy_cell_space{}, g);
        REQUIRE_FALSE(t.parents.empty());
        for (auto id : t.parents)
            CHECK(is_seed(id));
    }
}
