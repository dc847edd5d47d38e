// Warm start: the seeds are asked first as trials 0 .. k-1, the inner strategy's trials are
// shifted past them, a strategy that observes learns the seeds' results as its own (evolution
// breeds from them), one that cannot is told them; best_from_journal reads a real journal's best
// distinct architectures and names the line of one that is not of the space.

#include "run/fixtures.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/experiment/strategy_registry.hpp>
#include <xnas/experiment/warm_start.hpp>
#include <xnas/run/search.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/strategy/random_search.hpp>
#include <xnas/strategy/regularized_evolution.hpp>

using xnas::cell_space;
using namespace xnas::experiment;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t top = ~std::uint64_t(0);

/// Records what the warm start passes on, around a real random search.
struct recording_random {
    xnas::random_search<test::digit_space> inner{};
    std::vector<std::uint64_t> told{};
    std::vector<xnas::trial<std::vector<int>>> asked{};
    xnas::trial<std::vector<int>> ask(const test::digit_space& s, xnas::rng& g) {
        asked.push_back(inner.ask(s, g));
        return asked.back();
    }
    void tell(const xnas::trial<std::vector<int>>& t, const xnas::evaluation& e) {
        told.push_back(t.id);
        inner.tell(t, e);
    }
};

xnas::evaluation accuracy_of(double v) {
    xnas::evaluation e;
    e.objectives["val_accuracy"] = v;
    return e;
}

fs::path empty_dir(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("xnas-test-warm-" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

} // namespace

TEST_CASE("seeds are asked first; the inner strategy's ids are shifted past them",
          "[experiment][warm_start]") {
    const test::digit_space space;
    const std::vector<std::vector<int>> seeds{{1, 2, 3}, {4, 5, 6}};
    auto st = warm_started<test::digit_space>(recording_random{}, seeds);
    xnas::rng g(5);
    const auto t0 = st.ask(space, g), t1 = st.ask(space, g), t2 = st.ask(space, g);
    CHECK(t0.id == 0);
    CHECK(t0.architecture == seeds[0]);
    CHECK(t1.id == 1);
    CHECK(t1.architecture == seeds[1]);
    CHECK(t2.id == 2);
    REQUIRE(st.inner().asked.size() == 1);
    CHECK(st.inner().asked[0].id == 0); // the inner strategy's first trial, shifted by 2
    CHECK(t2.architecture == st.inner().asked[0].architecture);
    // Random search cannot observe: it is told the seeds, by ids from the top of the range, and
    // its own trial by its own id.
    st.tell(t1, accuracy_of(0.5));
    st.tell(t2, accuracy_of(0.6));
    st.tell(t0, accuracy_of(0.4));
    CHECK(st.inner().told == std::vector<std::uint64_t>{top - 1, 0, top});
}

TEST_CASE("an observing inner strategy breeds from the seeds; parents map to seed ids",
          "[experiment][warm_start]") {
    const auto space = cell_space::nb201();
    xnas::rng g(2);
    std::vector<cell_space::architecture> seeds;
    for (int i = 0; i < 3; ++i)
        seeds.push_back(space.sample(g));
    // Population 3: full once the three seeds are observed, so the next ask is a mutation.
    // Through any_strategy, as a registry makes them.
    any_strategy<cell_space> evolution = xnas::regularized_evolution<cell_space>(
        {.population_size = 3, .sample_size = 2, .objective = {"val_accuracy"}});
    auto st = warm_started<cell_space>(std::move(evolution), seeds);
    for (int i = 0; i < 3; ++i) {
        const auto t = st.ask(space, g);
        CHECK(t.id == static_cast<std::uint64_t>(i));
        st.tell(t, accuracy_of(0.1 * i));
    }
    const auto child = st.ask(space, g);
    CHECK(child.id == 3);
    REQUIRE(child.parents.size() == 1);
    CHECK(child.parents[0] < 3); // a seed's own id, not the inner strategy's
    // Told instead of observed (random search cannot observe), a strategy's asks have no parent.
    auto random = warm_started<cell_space>(
        any_strategy<cell_space>(xnas::random_search<cell_space>()), seeds);
    for (int i = 0; i < 3; ++i)
        random.tell(random.ask(space, g), accuracy_of(0.1 * i));
    CHECK(random.ask(space, g).parents.empty());
}

TEST_CASE("a warm-started search journals the seeds first and resumes to the same trials",
          "[experiment][warm_start]") {
    const fs::path dir = empty_dir("search");
    const test::digit_space space;
    auto loss = [](const std::vector<int>& a) {
        xnas::evaluation e;
        e.objectives["val_accuracy"] = a[0] + 0.1 * a[1];
        return e;
    };
    xnas::function_evaluator<decltype(loss)> ev(loss);
    const std::vector<std::vector<int>> seeds{{9, 9, 9}, {8, 0, 0}};
    xnas::search_options opt{.objectives = {{"val_accuracy", xnas::direction::maximize}},
                             .max_trials = 6,
                             .seed = 4,
                             .journal = (dir / "journal.jsonl").string(),
                             .fsync = false};
    const auto s =
        xnas::search(space,
                     warm_started<test::digit_space>(xnas::regularized_evolution<test::digit_space>(
                                                         {.population_size = 2, .sample_size = 2}),
                                                     seeds),
                     ev, opt);
    REQUIRE(s.history.size() == 6);
    CHECK(s.history[0].t.architecture == seeds[0]);
    CHECK(s.history[1].t.architecture == seeds[1]);
    // Evolution's population is the two seeds: every later trial is a mutation of one.
    for (std::size_t i = 2; i < 6; ++i) {
        REQUIRE(s.history[i].t.parents.size() == 1);
        CHECK(s.history[i].t.parents[0] < s.history[i].t.id);
    }
    // best_from_journal reads that journal: the seeds scored 9.9 and 8.0 and lead.
    const auto best = best_from_journal(space, "digit", opt.journal, 2);
    REQUIRE(best.size() == 2);
    CHECK(best[0] == seeds[0]);
    // Resuming replays the warm-started asks exactly.
    opt.max_trials = 7;
    opt.resume = true;
    const auto resumed =
        xnas::search(space,
                     warm_started<test::digit_space>(xnas::regularized_evolution<test::digit_space>(
                                                         {.population_size = 2, .sample_size = 2}),
                                                     seeds),
                     ev, opt);
    CHECK(resumed.history.size() == 7);
    fs::remove_all(dir);
}

TEST_CASE("best_from_journal takes the best distinct architectures and names a foreign line",
          "[experiment][warm_start]") {
    const fs::path dir = empty_dir("journal");
    const std::string path = (dir / "journal.jsonl").string();
    {
        std::ofstream j(path);
        j << R"({"event":"start","format":"xnas-journal","version":1,"seed":0,"objectives":[]})"
          << '\n'
          << R"({"event":"ask","id":0,"architecture":"1-1-1","fidelity":1.0,"parents":[]})" << '\n'
          << R"({"event":"ask","id":1,"architecture":"2-2-2","fidelity":1.0,"parents":[]})" << '\n'
          << R"({"event":"result","id":0,"status":"ok","message":"","objectives":{"val_accuracy":0.7},"metrics":{},"cost":1})"
          << '\n'
          << R"({"event":"result","id":1,"status":"failed","message":"x","objectives":{},"metrics":{},"cost":1})"
          << '\n'
          << R"({"event":"ask","id":2,"architecture":"1-1-1","fidelity":1.0,"parents":[]})" << '\n'
          << R"({"event":"result","id":2,"status":"ok","message":"","objectives":{"val_accuracy":0.9},"metrics":{},"cost":1})"
          << '\n'
          << R"({"event":"ask","id":3,"architecture":"3-3-3","fidelity":1.0,"parents":[]})" << '\n'
          << R"({"event":"result","id":3,"status":"ok","message":"","objectives":{"val_accuracy":0.8},"metrics":{},"cost":1})"
          << '\n';
    }
    const test::digit_space space;
    const auto best = best_from_journal(space, "digit", path, 5);
    // 1-1-1 twice (0.9 and 0.7) counts once; the failed 2-2-2 is left out.
    CHECK(best == std::vector<std::vector<int>>{{1, 1, 1}, {3, 3, 3}});
    CHECK(best_from_journal(space, "digit", path, 1) == std::vector<std::vector<int>>{{1, 1, 1}});
    // A cell space cannot parse digits: the error names the journal's line and the space.
    CHECK_THROWS_WITH(best_from_journal(cell_space::nb201(), "cell", path, 2),
                      Contains(path + ":6: the journal's architectures are not of the --space "
                                      "cell space"));
    fs::remove_all(dir);
}

TEST_CASE("best_from_journal names the line of a malformed record", "[experiment][warm_start]") {
    const fs::path dir = empty_dir("malformed");
    const std::string path = (dir / "journal.jsonl").string();
    const test::digit_space space;
    auto write = [&](const std::string& line) {
        std::ofstream j(path, std::ios::trunc);
        j << R"({"event":"ask","id":0,"architecture":"1-1-1","fidelity":1.0,"parents":[]})" << '\n'
          << line << '\n';
    };
    // A field missing or of the wrong type: json::type_error alone names neither file nor line.
    write(R"({"event":"ask","id":1})");
    CHECK_THROWS_AS(best_from_journal(space, "digit", path, 1), xnas::parse_error);
    CHECK_THROWS_WITH(best_from_journal(space, "digit", path, 1),
                      Contains("--warm-start " + path + ":2: malformed record") &&
                          Contains("architecture"));
    write(R"({"event":"result","id":"x","status":"ok","objectives":{"val_accuracy":0.5}})");
    CHECK_THROWS_WITH(best_from_journal(space, "digit", path, 1),
                      Contains(path + ":2: malformed record"));
    // A result of a trial never asked was std::out_of_range from a map lookup.
    write(R"({"event":"result","id":7,"status":"ok","objectives":{"val_accuracy":0.5}})");
    CHECK_THROWS_AS(best_from_journal(space, "digit", path, 1), xnas::parse_error);
    CHECK_THROWS_WITH(best_from_journal(space, "digit", path, 1),
                      Contains(path + ":2: result for trial 7 which was not asked before"));
    fs::remove_all(dir);
}
