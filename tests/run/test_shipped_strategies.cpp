// The driver with the shipped strategies: resume from a journal reproduces the uninterrupted
// study for real strategies over a param_space with floats and conditionals.

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <unistd.h>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/run/search.hpp>
#include <xnas/space/param_space.hpp>
#include <xnas/strategy/random_search.hpp>
#include <xnas/strategy/regularized_evolution.hpp>

namespace {

xnas::param_space hp_space() {
    xnas::param_space s;
    s.add_log_float("lr", 1e-5, 1.0)
        .add_categorical("opt", {"sgd", "adam", "rmsprop"})
        .add_float("momentum", 0.0, 0.99, xnas::when("opt", {"sgd"}))
        .add_int("layers", 1, 8)
        .add_categorical("act", {"relu", "tanh"});
    return s;
}

double loss(const xnas::param_space::architecture& a) {
    double l = std::abs(std::log10(xnas::param_get<double>(a, "lr")) + 2.0);
    l += std::abs(static_cast<double>(xnas::param_get<std::int64_t>(a, "layers")) - 4) * 0.3;
    if (xnas::param_get<std::string>(a, "opt") == "sgd")
        l += 1 - xnas::param_get<double>(a, "momentum");
    else
        l += 0.5;
    return l;
}

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
