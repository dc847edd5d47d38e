// successive_halving, hyperband, asha and bohb: bracket shapes and fidelities, re-asks with
// parents, the same winner as full-fidelity search at a fraction of the summed fidelity, a better
// result than random search for the same summed fidelity, and bohb's models: hyperband trial for
// trial without them, better than hyperband with them, steering away from failures; with several
// objectives, promotions from the first front and a larger hypervolume than random search.

#include "loop.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>
#include <xnas/select/pareto.hpp>
#include <xnas/strategy/asha.hpp>
#include <xnas/strategy/bohb.hpp>
#include <xnas/strategy/hyperband.hpp>
#include <xnas/strategy/random_search.hpp>
#include <xnas/strategy/successive_halving.hpp>

using xnas_test::toy_cell_space;
using arch = toy_cell_space::architecture;

namespace {

std::size_t index_of(const arch& a) {
    std::size_t k = 0;
    for (std::size_t e = 6; e-- > 0;)
        k = k * 5 + a[e];
    return k;
}

// A fidelity-dependent noisy objective that preserves the ranking of architectures at every
// fidelity: true values are distinct multiples of 0.01, the low-fidelity bias is the same for
// all, and the noise stays below half the smallest scaled gap.
struct ranked_problem {
    std::vector<double> truth;
    explicit ranked_problem(std::uint64_t seed)
        : truth(15625) {
        std::iota(truth.begin(), truth.end(), 0.0);
        xnas::rng g(seed);
        g.shuffle(truth.begin(), truth.end());
        for (auto& t : truth)
            t *= 0.01;
    }
    double true_value(const arch& a) const { return truth[index_of(a)]; }
    xnas::evaluation evaluate(const xnas::trial<arch>& t) const {
        xnas::rng noise(index_of(t.architecture) * 1000003ULL +
                        static_cast<std::uint64_t>(t.fidelity * 1e6));
        xnas::evaluation e;
        e.objectives["score"] = true_value(t.architecture) * (0.5 + 0.5 * t.fidelity) -
                                5.0 * (1.0 - t.fidelity) +
                                0.002 * (1.0 - t.fidelity) * noise.uniform(-1, 1);
        e.cost = t.fidelity;
        return e;
    }
};

template <class St>
std::vector<xnas_test::record<arch>> run_serial(St& st, const ranked_problem& p, std::size_t n,
                                                std::uint64_t seed) {
    return xnas_test::run(
        st, toy_cell_space{}, [&](const auto& t) { return p.evaluate(t); }, n, seed);
}

} // namespace

TEST_CASE("hyperband runs the paper's brackets for eta = 3, r_min = 1/27",
          "[strategy][hyperband]") {
    xnas::hyperband<toy_cell_space> hb;
    ranked_problem p(1);
    // One cycle: s=3: 27,9,3,1; s=2: 12,4,1; s=1: 6,2; s=0: 4 -> 69 trials.
    const auto rs = run_serial(hb, p, 69, 5);
    std::map<double, int> per_fidelity;
    for (const auto& r : rs)
        ++per_fidelity[std::round(r.t.fidelity * 27) / 27];
    CHECK(per_fidelity[1.0 / 27] == 27);
    CHECK(per_fidelity[std::round(27.0 / 9) / 27] == 9 + 12);
    CHECK(per_fidelity[std::round(27.0 / 3) / 27] == 3 + 4 + 6);
    CHECK(per_fidelity[1.0] == 1 + 1 + 2 + 4);
    CHECK(hb.completed_brackets() == 4);
}

TEST_CASE("promoted trials re-ask the same architecture with new ids and parents",
          "[strategy][hyperband][successive_halving][asha]") {
    ranked_problem p(2);
    auto check = [](const std::vector<xnas_test::record<arch>>& rs) {
        std::map<std::uint64_t, const xnas_test::record<arch>*> by_id;
        std::size_t promoted = 0;
        for (const auto& r : rs) {
            REQUIRE(by_id.emplace(r.t.id, &r).second); // ids unique
            if (!r.t.parents.empty()) {
                ++promoted;
                REQUIRE(r.t.parents.size() == 1);
                const auto it = by_id.find(r.t.parents[0]);
                REQUIRE(it != by_id.end());
                CHECK(it->second->t.architecture == r.t.architecture);
                CHECK(r.t.fidelity == Approx(it->second->t.fidelity * 3));
            }
        }
        CHECK(promoted > 0);
    };
    xnas::successive_halving<toy_cell_space> sh;
    check(run_serial(sh, p, 100, 3));
    xnas::hyperband<toy_cell_space> hb;
    check(run_serial(hb, p, 100, 3));
    xnas::asha<toy_cell_space> as;
    check(xnas_test::run(
        as, toy_cell_space{}, [&](const auto& t) { return p.evaluate(t); }, 200, 3, 8));
}

TEST_CASE("bracket strategies retire every trial their rungs did not promote, once decided",
          "[strategy][hyperband][successive_halving][bohb]") {
    ranked_problem p(4);
    // Serial asks and tells: after each tell, what was retired so far is disjoint from what
    // was promoted, and never promoted later; after whole brackets every trial is one or the
    // other.
    auto check = [&](auto st, std::size_t trials, std::size_t first_rung, std::size_t kept) {
        xnas::rng g(9);
        std::set<std::uint64_t> asked, parents, retired;
        std::size_t retired_after_first_rung = 0;
        for (std::size_t i = 0; i < trials; ++i) {
            const auto t = st.ask(toy_cell_space{}, g);
            asked.insert(t.id);
            for (const auto q : t.parents) {
                CHECK(retired.count(q) == 0);
                parents.insert(q);
            }
            st.tell(t, p.evaluate(t));
            for (const auto id : st.take_retired()) {
                CHECK(asked.count(id) == 1);
                CHECK(parents.count(id) == 0);
                CHECK(retired.insert(id).second); // once
            }
            if (i + 1 == first_rung)
                retired_after_first_rung = retired.size();
        }
        CHECK(retired_after_first_rung == first_rung - kept);
        std::set<std::uint64_t> either = retired;
        either.insert(parents.begin(), parents.end());
        CHECK(either == asked);
    };
    // Hyperband's cycle for eta = 3, r_min = 1/27: 69 trials; its first rung 27, keeping 9.
    check(xnas::hyperband<toy_cell_space>{}, 69, 27, 9);
    check(xnas::bohb<toy_cell_space>{}, 69, 27, 9);
    check(xnas::successive_halving<toy_cell_space>({.min_fidelity = 1.0 / 9}), 13, 9, 3);
}

TEST_CASE("successive halving keeps the best third at each rung",
          "[strategy][successive_halving]") {
    xnas::successive_halving<toy_cell_space> sh({.min_fidelity = 1.0 / 9});
    ranked_problem p(3);
    const auto rs = run_serial(sh, p, 13, 4); // 9 + 3 + 1
    std::vector<double> first;
    for (std::size_t i = 0; i < 9; ++i) {
        CHECK(rs[i].t.fidelity == Approx(1.0 / 9));
        first.push_back(p.true_value(rs[i].t.architecture));
    }
    std::sort(first.rbegin(), first.rend());
    std::multiset<double> second;
    for (std::size_t i = 9; i < 12; ++i) {
        CHECK(rs[i].t.fidelity == Approx(1.0 / 3));
        second.insert(p.true_value(rs[i].t.architecture));
    }
    CHECK(second == std::multiset<double>(first.begin(), first.begin() + 3));
    CHECK(rs[12].t.fidelity == Approx(1.0));
    CHECK(p.true_value(rs[12].t.architecture) == first[0]);
}

TEST_CASE("hyperband finds full-fidelity search's winner at a fraction of the fidelity",
          "[strategy][hyperband]") {
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        ranked_problem p(100 + seed);
        xnas::hyperband<toy_cell_space> hb;
        const auto rs = run_serial(hb, p, 69, seed); // one full cycle of brackets
        double hb_fidelity = 0, hb_best = -1e300;
        std::size_t fresh = 0;
        arch winner{};
        for (const auto& r : rs) {
            hb_fidelity += r.t.fidelity;
            fresh += r.t.parents.empty();
            if (r.t.fidelity == 1.0 && r.e.value("score") > hb_best) {
                hb_best = r.e.value("score");
                winner = r.t.architecture;
            }
        }
        // Random search at full fidelity with the same seed draws the same candidates.
        xnas::random_search<toy_cell_space> rnd;
        const auto full = run_serial(rnd, p, fresh, seed);
        double full_fidelity = 0, full_best = -1e300;
        arch full_winner{};
        for (const auto& r : full) {
            full_fidelity += r.t.fidelity;
            if (r.e.value("score") > full_best) {
                full_best = r.e.value("score");
                full_winner = r.t.architecture;
            }
        }
        CHECK(fresh == 49);
        CHECK(winner == full_winner);
        CHECK(hb_fidelity < 0.35 * full_fidelity);
    }
}

namespace {

// Mean regret over 20 generated NB201-like problems (known optima) of the best full-fidelity
// architecture found for `budget` full evaluations' worth of summed fidelity. The low fidelities
// see the problem through a biased, noisy lens; `parallel` asks run ahead of their tells.
template <class Make>
double same_fidelity_regret(Make make, std::size_t parallel, double budget) {
    double total = 0;
    for (std::uint64_t s = 0; s < 20; ++s) {
        const xnas_test::nb201_like problem(1000 + s);
        auto st = make();
        xnas::rng g(77 + s);
        double spent = 0, best = -1e300;
        std::vector<xnas::trial<arch>> pending;
        while (spent < budget) {
            while (pending.size() < parallel)
                pending.push_back(st.ask(toy_cell_space{}, g));
            const std::size_t k = g.below(pending.size());
            const auto t = pending[k];
            pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(k));
            xnas::rng noise(t.id * 7919 + s);
            xnas::evaluation e;
            const double truth = problem(t.architecture);
            e.objectives["score"] =
                truth - 3 * (1 - t.fidelity) + (1 - t.fidelity) * noise.normal();
            spent += t.fidelity;
            if (t.fidelity == 1.0)
                best = std::max(best, truth);
            st.tell(t, e);
        }
        total += problem.optimum - best;
    }
    return total / 20;
}

} // namespace

TEST_CASE("multi-fidelity strategies beat random search for the same summed fidelity",
          "[strategy][quality][hyperband][asha][successive_halving]") {
    // The same problem class as the single-fidelity quality tests; budget: 30 full-fidelity
    // evaluations' worth.
    constexpr double budget = 30;
    const double r_random =
        same_fidelity_regret([] { return xnas::random_search<toy_cell_space>{}; }, 1, budget);
    const double r_sh =
        same_fidelity_regret([] { return xnas::successive_halving<toy_cell_space>{}; }, 1, budget);
    const double r_hb =
        same_fidelity_regret([] { return xnas::hyperband<toy_cell_space>{}; }, 1, budget);
    const double r_asha =
        same_fidelity_regret([] { return xnas::asha<toy_cell_space>{}; }, 4, budget);
    std::printf("same summed fidelity: random %.3f sh %.3f hyperband %.3f asha(4 workers) %.3f\n",
                r_random, r_sh, r_hb, r_asha);
    CHECK(r_sh < 0.8 * r_random);
    CHECK(r_hb < 0.8 * r_random);
    CHECK(r_asha < 0.8 * r_random);
}

TEST_CASE("bohb without its models is hyperband, trial for trial", "[strategy][bohb]") {
    ranked_problem p(6);
    xnas::hyperband<toy_cell_space> hb({.min_fidelity = 1.0 / 9});
    xnas::bohb<toy_cell_space> plain({.min_fidelity = 1.0 / 9, .random_fraction = 1});
    const auto a = run_serial(hb, p, 80, 9);
    const auto b = run_serial(plain, p, 80, 9);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        CAPTURE(i);
        CHECK(a[i].t.id == b[i].t.id);
        CHECK(a[i].t.architecture == b[i].t.architecture);
        CHECK(a[i].t.fidelity == b[i].t.fidelity);
        CHECK(a[i].t.parents == b[i].t.parents);
    }
    CHECK(plain.model_proposals() == 0);
    CHECK(plain.completed_brackets() == hb.completed_brackets());
}

TEST_CASE("bohb beats hyperband for the same summed fidelity", "[strategy][quality][bohb]") {
    // Long enough for the models to matter: 100 full evaluations' worth, several cycles.
    constexpr double budget = 100;
    const double r_hb =
        same_fidelity_regret([] { return xnas::hyperband<toy_cell_space>{}; }, 1, budget);
    const double r_bohb =
        same_fidelity_regret([] { return xnas::bohb<toy_cell_space>{}; }, 1, budget);
    const double r_bohb4 =
        same_fidelity_regret([] { return xnas::bohb<toy_cell_space>{}; }, 4, budget);
    std::printf("summed fidelity %.0f: hyperband %.3f bohb %.3f bohb(4 workers) %.3f\n", budget,
                r_hb, r_bohb, r_bohb4);
    CHECK(r_bohb < 0.6 * r_hb);
    CHECK(r_bohb4 < 0.6 * r_hb);
}

TEST_CASE("bohb's proposals come from the highest fidelity with enough results",
          "[strategy][bohb]") {
    ranked_problem p(7);
    xnas::bohb<toy_cell_space> st({.min_fidelity = 1.0 / 9, .random_fraction = 0});
    // The first bracket's 9 rung-0 trials are uniform draws; once they are told, the 1/9
    // model (10 results needed by default) is still short, so the next bracket's too.
    auto rs = run_serial(st, p, 13, 11);
    CHECK(st.model_proposals() == 0);
    rs = run_serial(st, p, 150, 12);
    CHECK(st.model_proposals() > 0);
    // After enough full-fidelity results the full-fidelity model proposes.
    CHECK(st.model_fidelity() == 1.0);
    std::set<arch> fresh;
    for (const auto& r : rs)
        if (r.t.parents.empty())
            CHECK(fresh.insert(r.t.architecture).second); // never proposes an asked one again
}

TEST_CASE("bohb passes the budget share to the models it creates later", "[strategy][bohb]") {
    // Cost cooling at the budget's end weighs cost by 0: bohb then asks what cost-blind bohb
    // asks, although its models are created after set_progress. Uncooled, it asks otherwise.
    ranked_problem p(8);
    auto costed = [&](const xnas::trial<arch>& t) {
        auto e = p.evaluate(t);
        e.cost = t.fidelity * (1.0 + 4.0 * t.architecture[0] + t.architecture[2]);
        return e;
    };
    auto make = [](double exponent, bool cooling) {
        xnas::bohb_options o;
        o.min_fidelity = 1.0 / 9;
        o.random_fraction = 0;
        o.model.cost_exponent = exponent;
        o.model.cost_cooling = cooling;
        return xnas::bohb<toy_cell_space>(std::move(o));
    };
    auto cooled = make(2, true), blind = make(0, false), uncooled = make(2, false);
    cooled.set_progress(1.0);
    const auto a = xnas_test::run(cooled, toy_cell_space{}, costed, 150, 21);
    const auto b = xnas_test::run(blind, toy_cell_space{}, costed, 150, 21);
    const auto c = xnas_test::run(uncooled, toy_cell_space{}, costed, 150, 21);
    REQUIRE(cooled.model_proposals() > 0);
    REQUIRE(a.size() == b.size());
    bool uncooled_differs = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        CAPTURE(i);
        REQUIRE(a[i].t.architecture == b[i].t.architecture);
        uncooled_differs = uncooled_differs || c[i].t.architecture != b[i].t.architecture;
    }
    CHECK(uncooled_differs);
}

TEST_CASE("bohb steers away from architectures that fail", "[strategy][bohb]") {
    // Op 4 on any edge fails; a uniform draw avoids it with probability (4/5)^6 = 0.26.
    std::size_t failing = 0, late_fresh = 0;
    for (std::uint64_t seed = 1; seed <= 32; ++seed) {
        xnas::bohb<toy_cell_space> st({.min_fidelity = 1.0 / 9});
        const auto rs = xnas_test::run(
            st, toy_cell_space{},
            [](const xnas::trial<arch>& t) {
                xnas::evaluation e;
                double v = 0;
                for (auto op : t.architecture) {
                    if (op == 4)
                        return xnas::evaluation::failure(xnas::status::failed, "over budget", 0);
                    v += op == 2;
                }
                e.objectives["score"] = v * t.fidelity;
                return e;
            },
            200, seed);
        for (std::size_t i = 100; i < rs.size(); ++i)
            if (rs[i].t.parents.empty()) {
                ++late_fresh;
                failing += !rs[i].e.ok();
            }
    }
    REQUIRE(late_fresh > 600);
    // A third of new draws stay uniform (0.74 of those fail), so the share cannot fall below
    // about 0.25. Over these 32 seeds it is 0.47; were failures scored like any other op instead,
    // the model would still drift from op 4 towards op 2, to 0.57. Four seeds were too few to
    // tell: their share moved by 0.05 with the seed set.
    const double share = static_cast<double>(failing) / static_cast<double>(late_fresh);
    std::printf("bohb: share of late fresh draws that fail %.3f (uniform 0.74)\n", share);
    CHECK(share < 0.52);
}

TEST_CASE("multi-fidelity options are validated", "[strategy][hyperband][bohb]") {
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(xnas::hyperband<toy_cell_space>({.eta = 1}), Contains("eta is 1"));
    CHECK_THROWS_WITH(xnas::asha<toy_cell_space>({.min_fidelity = 0}),
                      Contains("expected 0 < min_fidelity"));
    CHECK_THROWS_AS(xnas::successive_halving<toy_cell_space>({.max_fidelity = 2}),
                    std::invalid_argument);
    CHECK_THROWS_WITH(xnas::bohb<toy_cell_space>({.random_fraction = 1.5}),
                      Contains("random_fraction is 1.5"));
    CHECK_THROWS_WITH(xnas::bohb<toy_cell_space>({.model = {.gamma = 0}}), Contains("gamma"));
    CHECK_THROWS_WITH(xnas::bohb<toy_cell_space>({.eta = 1}), Contains("xnas::bohb: eta is 1"));
}

namespace {

const std::vector<xnas::objective> two_objectives{{"a", xnas::direction::maximize},
                                                  {"b", xnas::direction::minimize}};

// Two conflicting objectives per architecture, "a" from one shuffled ranking and "b" from
// another, that do not depend on the fidelity.
struct two_objective_problem {
    ranked_problem first, second;
    explicit two_objective_problem(std::uint64_t seed)
        : first(seed)
        , second(seed + 1000) {}
    xnas::evaluation evaluate(const xnas::trial<arch>& t) const {
        xnas::evaluation e;
        e.objectives["a"] = first.true_value(t.architecture);
        e.objectives["b"] = second.true_value(t.architecture);
        e.cost = t.fidelity;
        return e;
    }
};

bool dominated_within(const xnas::evaluation& e, const std::vector<xnas::evaluation>& all) {
    const std::vector<double> v{e.value("a"), e.value("b")};
    for (const auto& o : all)
        if (xnas::dominates(std::vector<double>{o.value("a"), o.value("b")}, v, two_objectives))
            return true;
    return false;
}

} // namespace

TEST_CASE("with several objectives a rung promotes its first front, extremes first",
          "[strategy][successive_halving][multi_objective]") {
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
        CAPTURE(seed);
        const two_objective_problem p(seed);
        xnas::successive_halving<toy_cell_space> sh(
            {.min_fidelity = 1.0 / 9, .objectives = two_objectives});
        xnas::rng g(seed);
        std::vector<xnas::evaluation> rung0;
        std::vector<xnas::trial<arch>> trials;
        for (int i = 0; i < 9; ++i) {
            trials.push_back(sh.ask(toy_cell_space{}, g));
            rung0.push_back(p.evaluate(trials.back()));
        }
        for (int i = 0; i < 9; ++i)
            sh.tell(trials[i], rung0[i]);
        std::size_t front = 0, best_a = 0, best_b = 0;
        for (std::size_t i = 0; i < 9; ++i) {
            front += dominated_within(rung0[i], rung0) ? 0 : 1;
            best_a = rung0[i].value("a") > rung0[best_a].value("a") ? i : best_a;
            best_b = rung0[i].value("b") < rung0[best_b].value("b") ? i : best_b;
        }
        std::set<std::uint64_t> promoted;
        for (int i = 0; i < 3; ++i) {
            const auto t = sh.ask(toy_cell_space{}, g);
            CHECK(t.fidelity == Approx(1.0 / 3));
            REQUIRE(t.parents.size() == 1);
            promoted.insert(t.parents[0]);
        }
        std::size_t promoted_in_front = 0;
        for (auto id : promoted)
            promoted_in_front += dominated_within(rung0[id], rung0) ? 0 : 1;
        CHECK(promoted_in_front == std::min<std::size_t>(front, 3));
        CHECK(promoted.count(trials[best_a].id) == 1); // the extremes have infinite crowding
        CHECK(promoted.count(trials[best_b].id) == 1);
    }
}

TEST_CASE("asha with several objectives promotes a result of the first front",
          "[strategy][asha][multi_objective]") {
    xnas::asha<toy_cell_space> a({.min_fidelity = 1.0 / 9, .objectives = two_objectives});
    xnas::rng g(1);
    std::vector<xnas::trial<arch>> ts;
    for (int i = 0; i < 3; ++i)
        ts.push_back(a.ask(toy_cell_space{}, g));
    auto told = [](double va, double vb) {
        xnas::evaluation e;
        e.objectives["a"] = va;
        e.objectives["b"] = vb;
        return e;
    };
    // Trial 1 dominates trial 0 (more a, less b); trial 2 has the most a but the most b too.
    // The front is trials 1 and 2, both extremes (infinite crowding), so the tie goes to the
    // result ranked earlier, trial 1; by "a" alone trial 2 would be promoted.
    a.tell(ts[0], told(1.0, 5.0));
    a.tell(ts[1], told(2.0, 1.0));
    a.tell(ts[2], told(3.0, 9.0));
    const auto promoted = a.ask(toy_cell_space{}, g);
    REQUIRE(promoted.parents.size() == 1);
    CHECK(promoted.parents[0] == ts[1].id);
    CHECK(promoted.fidelity == Approx(1.0 / 3));
}

namespace {

// Mean hypervolume, over 20 generated problems with two objectives (two NB201-like scores,
// the second minimised), of the full-fidelity results found for `budget` full evaluations'
// worth of summed fidelity. Low fidelities see both objectives through a biased, noisy lens;
// `parallel` asks run ahead of their tells. The reference point is each problem's worst.
template <class Make>
double same_fidelity_hypervolume(Make make, std::size_t parallel, double budget) {
    double total = 0;
    for (std::uint64_t s = 0; s < 20; ++s) {
        const xnas_test::nb201_like first(2000 + s), second(3000 + s);
        auto st = make();
        xnas::rng g(55 + s);
        double spent = 0;
        std::vector<xnas::trial<arch>> pending;
        std::vector<std::vector<double>> found;
        while (spent < budget) {
            while (pending.size() < parallel)
                pending.push_back(st.ask(toy_cell_space{}, g));
            const std::size_t k = g.below(pending.size());
            const auto t = pending[k];
            pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(k));
            xnas::rng noise(t.id * 7919 + s);
            const double a = first(t.architecture), b = -second(t.architecture);
            xnas::evaluation e;
            e.objectives["a"] = a - 3 * (1 - t.fidelity) + (1 - t.fidelity) * noise.normal();
            e.objectives["b"] = b + 3 * (1 - t.fidelity) + (1 - t.fidelity) * noise.normal();
            spent += t.fidelity;
            if (t.fidelity == 1.0)
                found.push_back({a, b});
            st.tell(t, e);
        }
        total += xnas::hypervolume(found, two_objectives, xnas_test::worst_point(first, second));
    }
    return total / 20;
}

} // namespace

TEST_CASE("multi-objective multi-fidelity beats random search's hypervolume for the same "
          "summed fidelity",
          "[strategy][quality][multi_objective][hyperband][asha][bohb]") {
    constexpr double budget = 30;
    const double random =
        same_fidelity_hypervolume([] { return xnas::random_search<toy_cell_space>{}; }, 1, budget);
    const double hb = same_fidelity_hypervolume(
        [] { return xnas::hyperband<toy_cell_space>({.objectives = two_objectives}); }, 1, budget);
    const double asha = same_fidelity_hypervolume(
        [] { return xnas::asha<toy_cell_space>({.objectives = two_objectives}); }, 4, budget);
    const double bohb = same_fidelity_hypervolume(
        [] { return xnas::bohb<toy_cell_space>({.objectives = two_objectives}); }, 1, budget);
    std::printf("hypervolume for the same summed fidelity: random %.3f hyperband %.3f "
                "asha(4 workers) %.3f bohb %.3f\n",
                random, hb, asha, bohb);
    CHECK(hb > 1.05 * random);
    CHECK(asha > 1.05 * random);
    CHECK(bohb > 1.05 * random);
}
