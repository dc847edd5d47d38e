// Selectors as policies of the evolutionary strategies: regularized_evolution chooses parents and
// nsga2 its survivors through any xnas::selector, so swapping the selector changes which parents
// breed; a selector that picks nothing or breaks its contract is handled or named.

#include "loop.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <vector>
#include <xnas/select.hpp>
#include <xnas/strategy/nsga2.hpp>
#include <xnas/strategy/regularized_evolution.hpp>

using xnas_test::toy_cell_space;
using arch = toy_cell_space::architecture;

namespace {

using xnas_test::score;

double score_of(const arch& a) {
    double v = 0;
    for (std::size_t e = 0; e < a.size(); ++e)
        v += static_cast<double>(a[e]) * static_cast<double>(e + 1);
    return v;
}

xnas::evaluation evaluate(const xnas::trial<arch>& t) {
    xnas::evaluation e;
    e.objectives["score"] = score_of(t.architecture);
    e.metrics["params"] = static_cast<double>(t.architecture[0]);
    return e;
}

// Picks the member told last: evolution then always breeds from the newest result.
struct newest {
    std::vector<std::size_t> select(std::span<const xnas::scored<arch>> pop, std::size_t k,
                                    xnas::rng&) {
        ++calls;
        if (pop.empty() || k == 0)
            return {};
        return {pop.size() - 1};
    }
    int calls = 0;
};
static_assert(xnas::selector<newest, arch>);

struct picks_nothing {
    std::vector<std::size_t> select(std::span<const xnas::scored<arch>>, std::size_t,
                                    xnas::rng&) const {
        return {};
    }
};

struct out_of_range {
    std::vector<std::size_t> select(std::span<const xnas::scored<arch>> pop, std::size_t,
                                    xnas::rng&) const {
        return {pop.size()};
    }
};

// Serial asks and tells; returns, per bred ask, its parent's id and the population it was
// chosen from (the ids and scores of the living members, oldest first).
struct bred {
    std::uint64_t parent;
    std::vector<std::pair<std::uint64_t, double>> population;
};

template <class St>
std::vector<bred> breed(St& st, std::size_t trials, std::uint64_t seed) {
    xnas::rng g(seed);
    std::vector<bred> out;
    for (std::size_t i = 0; i < trials; ++i) {
        std::vector<std::pair<std::uint64_t, double>> living;
        for (const auto& m : st.population())
            living.emplace_back(m.t.id, m.e.value("score"));
        const auto t = st.ask(toy_cell_space{}, g);
        if (!t.parents.empty())
            out.push_back({t.parents.front(), std::move(living)});
        st.tell(t, evaluate(t));
    }
    return out;
}

} // namespace

TEST_CASE("regularized evolution's parents come from its selector",
          "[strategy][evolution][selector]") {
    const xnas::regularized_evolution_options options{
        .population_size = 10, .sample_size = 3, .objective = score};

    SECTION("top_k breeds from the best living member every time") {
        xnas::regularized_evolution<toy_cell_space, xnas::top_k> st(options, xnas::top_k{score});
        const auto asks = breed(st, 60, 4);
        REQUIRE(asks.size() == 50);
        for (const auto& a : asks) {
            const auto best =
                std::max_element(a.population.begin(), a.population.end(),
                                 [](const auto& x, const auto& y) { return x.second < y.second; });
            CHECK(a.parent == best->first);
        }
    }
    SECTION("a user's selector: always the newest member") {
        xnas::regularized_evolution<toy_cell_space, newest> st(options);
        const auto asks = breed(st, 60, 4);
        REQUIRE(asks.size() == 50);
        for (const auto& a : asks)
            CHECK(a.parent == a.population.back().first);
        CHECK(st.parent_selector().calls == 50);
    }
    SECTION("the default tournament's parents differ from either") {
        xnas::regularized_evolution<toy_cell_space> tournament(options);
        xnas::regularized_evolution<toy_cell_space, xnas::top_k> greedy(options,
                                                                        xnas::top_k{score});
        xnas::regularized_evolution<toy_cell_space, newest> latest(options);
        const auto t = breed(tournament, 60, 4), b = breed(greedy, 60, 4), n = breed(latest, 60, 4);
        std::size_t differ_b = 0, differ_n = 0;
        for (std::size_t i = 0; i < t.size(); ++i) {
            differ_b += t[i].parent != b[i].parent;
            differ_n += t[i].parent != n[i].parent;
        }
        CHECK(differ_b > 10);
        CHECK(differ_n > 10);
    }
}

TEST_CASE("the default parent selector is the paper's tournament with replacement",
          "[strategy][evolution][selector]") {
    // A tournament as large as the population, with replacement, misses some members: over
    // many asks the parent is not always the best, which a tournament without replacement of
    // the whole population would be.
    xnas::regularized_evolution<toy_cell_space> st(
        {.population_size = 10, .sample_size = 10, .objective = score});
    const auto& sel = st.parent_selector();
    CHECK(sel.with_replacement);
    CHECK(sel.size == 10);
    CHECK(sel.by == score);
    const auto asks = breed(st, 400, 5);
    std::size_t not_best = 0;
    for (const auto& a : asks) {
        double best = -1, parent = -1;
        for (const auto& [id, value] : a.population) {
            best = std::max(best, value);
            if (id == a.parent)
                parent = value;
        }
        REQUIRE(parent >= 0);
        not_best += parent < best;
    }
    CHECK(not_best > 0);
}

TEST_CASE("evolution samples when its selector picks no parent, and names a bad pick",
          "[strategy][evolution][selector]") {
    xnas::regularized_evolution<toy_cell_space, picks_nothing> none(
        {.population_size = 4, .sample_size = 1});
    const auto asks = breed(none, 30, 6);
    CHECK(asks.empty()); // every ask was a random sample, without parents
    xnas::regularized_evolution<toy_cell_space, out_of_range> bad(
        {.population_size = 2, .sample_size = 1});
    xnas::rng g(1);
    for (int i = 0; i < 2; ++i) {
        const auto t = bad.ask(toy_cell_space{}, g);
        bad.tell(t, evaluate(t));
    }
    CHECK_THROWS_WITH(bad.ask(toy_cell_space{}, g),
                      Catch::Matchers::Contains("parent selector picked 2 in a population of 2"));
}

TEST_CASE("nsga2's survivors come from its survival selector", "[strategy][nsga2][selector]") {
    const xnas::nsga2_options options{.population_size = 12,
                                      .objectives = {score, {"params", xnas::direction::minimize}}};
    // A constraint filter around the default: only members with params <= 2 survive.
    auto feasible = xnas::with_constraints({xnas::bound{.metric = "params", .max = 2}},
                                           xnas::pareto{options.objectives});
    xnas::nsga2<toy_cell_space, decltype(feasible)> constrained(options, feasible);
    xnas::nsga2<toy_cell_space> plain(options);
    const auto f = [](const auto& t) { return evaluate(t); };
    xnas_test::run(constrained, toy_cell_space{}, f, 200, 8);
    xnas_test::run(plain, toy_cell_space{}, f, 200, 8);
    REQUIRE(!constrained.population().empty());
    for (const auto& m : constrained.population())
        CHECK(m.result.value("params") <= 2);
    std::size_t infeasible = 0;
    for (const auto& m : plain.population())
        infeasible += m.result.value("params") > 2;
    CHECK(infeasible > 0); // without the filter some survivors break the bound
}

TEST_CASE("nsga2 with a survival selector that draws is reproducible",
          "[strategy][nsga2][selector]") {
    auto make = [] {
        return xnas::nsga2<toy_cell_space, xnas::tournament>(
            {.population_size = 8, .objectives = {score}}, xnas::tournament{3, score});
    };
    auto a = make(), b = make();
    const auto f = [](const auto& t) { return evaluate(t); };
    const auto ra = xnas_test::run(a, toy_cell_space{}, f, 100, 9, 3);
    const auto rb = xnas_test::run(b, toy_cell_space{}, f, 100, 9, 3);
    for (std::size_t i = 0; i < ra.size(); ++i)
        CHECK(ra[i].t == rb[i].t);
    CHECK(a.population().size() == 8);
}
