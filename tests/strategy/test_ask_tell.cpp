// The ask/tell contract for every shipped strategy: several asks before any tell, tells out of
// order, unique ids, failed evaluations tolerated, and the same seed giving the same trials.

#include "loop.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <xnas/strategy.hpp>

using xnas_test::nb201_like;
using xnas_test::toy_cell_space;
using arch = toy_cell_space::architecture;

namespace {

// Evaluations: every 7th trial fails; others score on the generated problem, with a second
// objective so multi-objective strategies can run on the same function.
std::vector<xnas_test::record<arch>> drive(auto& st, std::size_t n, std::uint64_t seed,
                                           std::size_t parallel) {
    const nb201_like problem(seed);
    return xnas_test::run(
        st, toy_cell_space{},
        [&](const xnas::trial<arch>& t) {
            if (t.id % 7 == 3)
                return xnas::evaluation::failure(xnas::status::failed, "injected failure");
            auto e = problem.evaluate(t);
            e.objectives["params"] = static_cast<double>(t.architecture[0] + t.architecture[3]);
            return e;
        },
        n, seed, parallel);
}

template <class Make>
void check_contract(Make make) {
    for (std::size_t parallel : {1, 5, 16}) {
        auto a = make();
        const auto ra = drive(a, 150, 11, parallel);
        REQUIRE(ra.size() == 150);
        std::set<std::uint64_t> ids;
        for (const auto& r : ra) {
            CHECK(r.t.fidelity > 0);
            CHECK(r.t.fidelity <= 1);
            ids.insert(r.t.id);
        }
        CHECK(ids.size() == ra.size());
        auto b = make();
        const auto rb = drive(b, 150, 11, parallel);
        bool same = true;
        for (std::size_t i = 0; i < ra.size(); ++i)
            same = same && ra[i].t.id == rb[i].t.id &&
                   ra[i].t.architecture == rb[i].t.architecture &&
                   ra[i].t.fidelity == rb[i].t.fidelity && ra[i].t.parents == rb[i].t.parents;
        CHECK(same);
        auto c = make();
        const auto rc = drive(c, 150, 12, parallel);
        bool differs = false;
        for (std::size_t i = 0; i < ra.size(); ++i)
            differs = differs || !(ra[i].t.architecture == rc[i].t.architecture);
        CHECK(differs);
    }
}

using xnas_test::score;

} // namespace

TEST_CASE("random_search honours the ask/tell contract", "[strategy][contract]") {
    check_contract([] { return xnas::random_search<toy_cell_space>{}; });
    check_contract([] { return xnas::random_search<toy_cell_space>({.unique = true}); });
}

TEST_CASE("random_search with unique never repeats while fresh cells exist",
          "[strategy][contract]") {
    xnas::random_search<toy_cell_space> st({.unique = true});
    xnas::rng g(3);
    std::set<arch> seen;
    for (int i = 0; i < 2000; ++i)
        CHECK(seen.insert(st.ask(toy_cell_space{}, g).architecture).second);
}

TEST_CASE("regularized_evolution honours the ask/tell contract", "[strategy][contract]") {
    check_contract([] {
        return xnas::regularized_evolution<toy_cell_space>({.population_size = 20,
                                                            .sample_size = 5,
                                                            .crossover_probability = 0.3,
                                                            .objective = score});
    });
    CHECK_THROWS_WITH(xnas::regularized_evolution<toy_cell_space>({.sample_size = 0}),
                      Catch::Matchers::Contains("sample_size is 0"));
}

TEST_CASE("local_search honours the ask/tell contract", "[strategy][contract]") {
    check_contract([] { return xnas::local_search<toy_cell_space>({.objective = score}); });
    check_contract([] {
        return xnas::local_search<toy_cell_space>({.first_improvement = true, .objective = score});
    });
}

TEST_CASE("nsga2 honours the ask/tell contract", "[strategy][contract]") {
    check_contract([] {
        return xnas::nsga2<toy_cell_space>(
            {.population_size = 16,
             .objectives = {{"score"}, {"params", xnas::direction::minimize}}});
    });
}

TEST_CASE("multi-fidelity strategies honour the ask/tell contract", "[strategy][contract]") {
    check_contract([] { return xnas::successive_halving<toy_cell_space>({.objective = score}); });
    check_contract([] { return xnas::hyperband<toy_cell_space>({.objective = score}); });
    check_contract([] { return xnas::asha<toy_cell_space>({.objective = score}); });
}

TEST_CASE("an ambiguous objective is an error naming the candidates", "[strategy][contract]") {
    xnas::regularized_evolution<toy_cell_space> st;
    xnas::rng g(1);
    const auto t = st.ask(toy_cell_space{}, g);
    xnas::evaluation e;
    e.objectives["a"] = 1;
    e.objectives["b"] = 2;
    CHECK_THROWS_WITH(st.tell(t, e), Catch::Matchers::Contains("(a, b)"));
}
