// Every single-objective strategy beats random search on a generated NB201-like problem with a
// known optimum: mean regret over 20 seeds at a fixed budget, with a margin.

#include "loop.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <xnas/strategy/asha.hpp>
#include <xnas/strategy/hyperband.hpp>
#include <xnas/strategy/local_search.hpp>
#include <xnas/strategy/random_search.hpp>
#include <xnas/strategy/regularized_evolution.hpp>

using xnas_test::nb201_like;
using xnas_test::toy_cell_space;

namespace {

constexpr std::size_t budget = 100;
constexpr std::uint64_t seeds = 20;

// Mean regret (optimum minus best found at full fidelity) over `seeds` problems and runs.
template <class Make>
double mean_final_regret(Make make, std::size_t parallel = 1) {
    double total = 0;
    for (std::uint64_t s = 0; s < seeds; ++s) {
        const nb201_like problem(1000 + s);
        auto st = make();
        const auto rs = xnas_test::run(
            st, toy_cell_space{}, [&](const auto& t) { return problem.evaluate(t); }, budget,
            77 + s, parallel);
        total += problem.optimum - xnas_test::best_of(rs, "score", 1.0);
    }
    return total / static_cast<double>(seeds);
}

double random_regret() {
    static const double r = mean_final_regret([] { return xnas::random_search<toy_cell_space>{}; });
    return r;
}

} // namespace

TEST_CASE("random search regret is far from zero on the generated problem", "[strategy][quality]") {
    const double r = random_regret();
    std::printf("random_search mean regret %.3f\n", r);
    CHECK(r > 1.0);
}

TEST_CASE("regularized evolution beats random search", "[strategy][quality][evolution]") {
    const double r = mean_final_regret([] {
        return xnas::regularized_evolution<toy_cell_space>(
            {.population_size = 20, .sample_size = 5});
    });
    std::printf("regularized_evolution mean regret %.3f\n", r);
    CHECK(r < 0.6 * random_regret());
}

TEST_CASE("regularized evolution with crossover beats random search",
          "[strategy][quality][evolution]") {
    const double r = mean_final_regret([] {
        return xnas::regularized_evolution<toy_cell_space>(
            {.population_size = 20, .sample_size = 5, .crossover_probability = 0.5});
    });
    std::printf("regularized_evolution+crossover mean regret %.3f\n", r);
    CHECK(r < 0.6 * random_regret());
}

TEST_CASE("local search beats random search", "[strategy][quality][local]") {
    const double r = mean_final_regret([] { return xnas::local_search<toy_cell_space>{}; });
    std::printf("local_search mean regret %.3f\n", r);
    CHECK(r < 0.6 * random_regret());
    const double rf = mean_final_regret(
        [] { return xnas::local_search<toy_cell_space>({.first_improvement = true}); });
    std::printf("local_search first-improvement mean regret %.3f\n", rf);
    CHECK(rf < 0.6 * random_regret());
}

TEST_CASE("asynchronous evolution and local search still beat random search",
          "[strategy][quality][async]") {
    const double re = mean_final_regret(
        [] {
            return xnas::regularized_evolution<toy_cell_space>(
                {.population_size = 20, .sample_size = 5});
        },
        8);
    const double rl = mean_final_regret([] { return xnas::local_search<toy_cell_space>{}; }, 8);
    std::printf("async(8) evolution %.3f local %.3f\n", re, rl);
    CHECK(re < 0.7 * random_regret());
    CHECK(rl < 0.7 * random_regret());
}
