// Every strategy under the real driver (xnas::search): a run interrupted and resumed from its
// journal asks exactly the trials of an uninterrupted run (the strategies are deterministic
// functions of their asks and tells), and a thread-pool run with tells in completion order
// finishes with unique ids.

#include "loop.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/run/search.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/strategy.hpp>

namespace {

using space_t = xnas::cell_space;

auto make_eval() {
    return xnas::make_thread_safe_evaluator([](const xnas::trial<space_t::architecture>& t) {
        const double w[5] = {-3, 0, 1, 2, -1};
        double v = 0;
        for (std::size_t e = 0; e < t.architecture.ops.size(); ++e)
            v += w[t.architecture.ops[e]] * (1.0 + 0.1 * static_cast<double>(e));
        return std::map<std::string, double>{{"score", v * (0.5 + 0.5 * t.fidelity)},
                                             {"size", t.architecture.ops[0]}};
    });
}

xnas::search_options options(std::size_t trials) {
    xnas::search_options o;
    o.objectives = {{"score", xnas::direction::maximize}, {"size", xnas::direction::minimize}};
    o.max_trials = trials;
    o.seed = 3;
    o.fsync = false;
    return o;
}

template <class Make>
void check_resume(const std::string& name, Make make) {
    INFO(name);
    const auto space = space_t::nb201().with_encoding(space_t::encoding::path);
    const auto full = xnas::search(space, make(), make_eval(), options(60));
    REQUIRE(full.history.size() == 60);

    const auto path =
        std::filesystem::temp_directory_path() / ("xnas_test_strategy_driver_" + name + ".jsonl");
    std::filesystem::remove(path);
    auto first = options(25);
    first.journal = path.string();
    xnas::search(space, make(), make_eval(), first);
    auto second = options(60);
    second.journal = path.string();
    second.resume = true;
    const auto resumed = xnas::search(space, make(), make_eval(), second);
    std::filesystem::remove(path);
    REQUIRE(resumed.history.size() == 60);
    bool same = true;
    for (std::size_t i = 0; i < 60; ++i)
        same = same && resumed.history[i].t == full.history[i].t;
    CHECK(same);

    auto pooled = options(60);
    pooled.workers = 3;
    const auto par = xnas::search(space, make(), make_eval(), pooled);
    std::set<std::uint64_t> ids;
    for (const auto& s : par.history)
        ids.insert(s.t.id);
    CHECK(ids.size() == 60);
}

using xnas_test::score;

} // namespace

TEST_CASE("strategies resume from a journal and run on a thread pool", "[strategy][driver]") {
    check_resume("random", [] { return xnas::random_search<space_t>{}; });
    check_resume("evolution", [] {
        return xnas::regularized_evolution<space_t>({.population_size = 10,
                                                     .sample_size = 3,
                                                     .crossover_probability = 0.3,
                                                     .objective = score});
    });
    check_resume("local", [] { return xnas::local_search<space_t>({.objective = score}); });
    check_resume("reinforce", [] { return xnas::reinforce<space_t>({.objective = score}); });
    check_resume("reinforce_lstm", [] {
        return xnas::reinforce<space_t, xnas::lstm_policy>({.objective = score},
                                                           xnas::lstm_policy({.hidden = 8}));
    });
    check_resume("nsga2", [] {
        return xnas::nsga2<space_t>(
            {.population_size = 12, .objectives = {score, {"size", xnas::direction::minimize}}});
    });
    check_resume("successive_halving",
                 [] { return xnas::successive_halving<space_t>({.objective = score}); });
    check_resume("hyperband", [] { return xnas::hyperband<space_t>({.objective = score}); });
    check_resume("asha", [] { return xnas::asha<space_t>({.objective = score}); });
    check_resume("bananas", [] {
        return xnas::bananas<space_t>({.initial_samples = 10,
                                       .retrain_every = 10,
                                       .ensemble = 2,
                                       .epochs = 5,
                                       .objective = score});
    });
}
