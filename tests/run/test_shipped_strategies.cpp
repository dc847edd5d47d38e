// The driver with the shipped strategies: resume from a journal reproduces the uninterrupted
// study for real strategies over a param_space with floats and conditionals.

#include "run/fixtures.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <unistd.h>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/run/search.hpp>
#include <xnas/strategy/random_search.hpp>
#include <xnas/strategy/regularized_evolution.hpp>

namespace {

using test::hp_space;
using test::loss;

const std::vector<xnas::objective> loss_min{{"loss", xnas::direction::minimize}};

template <class Strategy>
xnas::study<xnas::param_space::architecture> go(Strategy st, std::size_t n,
                                                const std::string& journal, bool resume) {
    auto ev = xnas::function_evaluator(loss, {.objective = "loss"});
    return xnas::search(hp_space(), st, ev,
                        {.objectives = loss_min,
                         .max_trials = n,
                         .seed = 2024,
                         .journal = journal,
                         .resume = resume});
}

template <class Strategy>
void check_resume(const Strategy& proto, const std::string& name) {
    const auto path = (std::filesystem::temp_directory_path() /
                       ("xnas_test_shipped_" + name + "_" + std::to_string(::getpid()) + ".jsonl"))
                          .string();
    std::filesystem::remove(path);
    const auto full = go(proto, 60, "", false);
    go(proto, 25, path, false);
    const auto resumed = go(proto, 60, path, true);
    REQUIRE(resumed.history.size() == 60);
    for (std::size_t i = 0; i < 60; ++i) {
        INFO(name << " trial " << i);
        CHECK(resumed.history[i].t == full.history[i].t);
        CHECK(resumed.history[i].e == full.history[i].e);
    }
    std::filesystem::remove(path);
}

} // namespace

TEST_CASE("resume with the shipped strategies matches the uninterrupted run", "[run][journal]") {
    using space_t = xnas::param_space;
    check_resume(xnas::random_search<space_t>(), "random");
    check_resume(xnas::regularized_evolution<space_t>(
                     {.population_size = 10, .sample_size = 3, .objective = loss_min[0]}),
                 "evolution");
}

TEST_CASE("regularized evolution through the driver improves on random search", "[run][search]") {
    using space_t = xnas::param_space;
    double evo = 0, rnd = 0;
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        auto ev = xnas::function_evaluator(loss, {.objective = "loss"});
        xnas::regularized_evolution<space_t> st(
            {.population_size = 20, .sample_size = 5, .objective = loss_min[0]});
        xnas::random_search<space_t> rs;
        const xnas::search_options opt{.objectives = loss_min, .max_trials = 300, .seed = seed};
        evo += xnas::search(hp_space(), st, ev, opt).best().e.value("loss");
        rnd += xnas::search(hp_space(), rs, ev, opt).best().e.value("loss");
    }
    CHECK(evo < rnd);
}
