// xnas::mpi::search on real MPI ranks: ctest starts this program under mpiexec with 3 ranks, and
// every rank runs every test case in the same order (each case is collective). Rank 0 checks;
// the other ranks evaluate. Cases that need one worker use a communicator of ranks 0 and 1.

#define CATCH_CONFIG_RUNNER
#include "run/fixtures.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/parallel/mpi.hpp>
#include <xnas/run/search.hpp>
#include <xnas/space/param_space.hpp>
#include <xnas/strategy/hyperband.hpp>
#include <xnas/strategy/random_search.hpp>
#include <xnas/strategy/regularized_evolution.hpp>
#include <xnas/strategy/tpe.hpp>

namespace {

using test::hp_space;
using test::loss;

int world_rank() {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int world_size() {
    int n = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

/// Ranks 0 and 1 as a communicator of their own (MPI_COMM_NULL on the others). Collective.
MPI_Comm first_two() {
    MPI_Comm c = MPI_COMM_NULL;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank() < 2 ? 0 : MPI_UNDEFINED, world_rank(), &c);
    return c;
}

const std::vector<xnas::objective> score_max{{"score", xnas::direction::maximize}};
const std::vector<xnas::objective> loss_min{{"loss", xnas::direction::minimize}};

/// The score, and which rank computed it (a metric, so it never decides anything).
auto ranked_score_eval() {
    return xnas::function_evaluator([](const std::vector<int>& a) {
        xnas::evaluation e;
        e.objectives["score"] = test::score(a);
        e.metrics["rank"] = world_rank();
        return e;
    });
}

// CHECK, never REQUIRE, before a collective call: a rank leaving a test case early would leave
// the others waiting (ctest's timeout would end it, but with no useful message).
template <class A>
void check_same(const xnas::study<A>& a, const xnas::study<A>& b) {
    CHECK(a.history.size() == b.history.size());
    if (a.history.size() != b.history.size())
        return;
    for (std::size_t i = 0; i < a.history.size(); ++i) {
        INFO("trial " << i);
        CHECK(a.history[i].t == b.history[i].t);
        CHECK(a.history[i].e == b.history[i].e);
    }
}

std::string temp_journal(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            ("xnas_test_mpi_" + name + "_" + std::to_string(::getpid()) + ".jsonl"))
        .string();
}

} // namespace

TEST_CASE("mpi: one worker rank gives the serial study, trial for trial", "[mpi]") {
    MPI_Comm two = first_two();
    if (two == MPI_COMM_NULL)
        return;
    const xnas::mpi::options on_two{.comm = two};
    const test::digit_space space{3, 10};
    auto ev = xnas::function_evaluator([](const std::vector<int>& a) { return test::score(a); },
                                       {.objective = "score"});
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        const xnas::search_options opt{.objectives = score_max, .max_trials = 400, .seed = seed};
        const auto distributed =
            xnas::mpi::search(on_two, space, test::tiny_evolution{.population = 20}, ev, opt);
        if (world_rank() != 0) {
            CHECK_FALSE(distributed);
            continue;
        }
        CHECK(distributed);
        if (!distributed)
            continue;
        const auto serial = xnas::search(space, test::tiny_evolution{.population = 20}, ev, opt);
        check_same(*distributed, serial);
        CHECK(distributed->best().e.value("score") == 0.0); // the optimum 7-7-7
    }
    // A shipped, model-based strategy over floats and conditionals: architectures cross as
    // strings, so this also checks that they round-trip exactly.
    auto ev_loss = xnas::function_evaluator(loss, {.objective = "loss"});
    const xnas::search_options opt{.objectives = loss_min, .max_trials = 40, .seed = 7};
    const auto distributed = xnas::mpi::search(
        on_two, hp_space(), xnas::tpe<xnas::param_space>({.objective = loss_min[0]}), ev_loss, opt);
    if (world_rank() == 0) {
        const auto serial = xnas::search(
            hp_space(), xnas::tpe<xnas::param_space>({.objective = loss_min[0]}), ev_loss, opt);
        check_same(*distributed, serial);
    }
    MPI_Comm_free(&two);
}

TEST_CASE("mpi: two worker ranks evaluate every trial once and share the work", "[mpi]") {
    REQUIRE(world_size() == 3);
    const test::digit_space space{2, 5}; // 25 architectures, optimum 4-4 (closest to 7)
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        const xnas::search_options opt{.objectives = score_max, .max_trials = 150, .seed = seed};
        const auto s = xnas::mpi::search(space, test::random_strategy{}, ranked_score_eval(), opt);
        if (world_rank() != 0) {
            CHECK_FALSE(s);
            continue;
        }
        CHECK((s && s->history.size() == 150));
        if (!s || s->history.size() != 150)
            continue;
        // Random search asks the same trials whatever order results come back in: the set of
        // (trial, score) pairs must be the serial study's.
        const auto serial = xnas::search(space, test::random_strategy{}, ranked_score_eval(), opt);
        std::set<std::pair<std::uint64_t, std::string>> got, want;
        std::set<double> ranks;
        for (const auto& r : s->history) {
            got.insert({r.t.id, space.to_string(r.t.architecture) + " " +
                                    std::to_string(r.e.value("score"))});
            ranks.insert(r.e.metrics.at("rank"));
        }
        for (const auto& r : serial.history)
            want.insert({r.t.id, space.to_string(r.t.architecture) + " " +
                                     std::to_string(r.e.value("score"))});
        CHECK(got == want);
        CHECK(ranks == std::set<double>{1.0, 2.0}); // both workers, never rank 0
        CHECK(s->best().t.architecture == std::vector<int>{4, 4});
    }
}

namespace {

// Remembers the trials it evaluated on its rank, as an evaluator keeping checkpoints does:
// "continued" says whether a promotion's parent was among them, "released" how many the
// strategy's retirements have dropped so far on this rank.
struct checkpoint_keeping_eval {
    std::set<std::uint64_t> held;
    std::size_t released = 0;
    xnas::evaluation evaluate(const xnas::trial<std::vector<int>>& t) {
        xnas::evaluation e;
        e.objectives["score"] = test::score(t.architecture);
        bool continued = false;
        for (auto p : t.parents)
            continued = continued || held.count(p) > 0;
        e.metrics["continued"] = continued;
        e.metrics["released"] = static_cast<double>(released);
        held.insert(t.id);
        return e;
    }
    void release(std::span<const std::uint64_t> ids) {
        for (auto id : ids)
            released += held.erase(id);
    }
};

} // namespace

TEST_CASE("mpi: a promotion runs on the rank holding its parent, and retired trials are released "
          "there",
          "[mpi]") {
    REQUIRE(world_size() == 3);
    const test::digit_space space{3, 10};
    const xnas::search_options opt{
        .objectives = score_max, .max_trials = 120, .seed = 4, .lookahead = 4};
    auto strategy = [] {
        return xnas::hyperband<test::digit_space>(
            {.min_fidelity = 1.0 / 9, .objective = score_max[0]});
    };
    checkpoint_keeping_eval on_rank;
    const auto s = xnas::mpi::search(space, strategy(), on_rank, opt);
    if (world_rank() != 0)
        return;
    CHECK((s && s->history.size() == 120));
    if (!s)
        return;
    std::size_t promotions = 0, continued = 0;
    double released = 0;
    for (const auto& r : s->history) {
        promotions += !r.t.parents.empty();
        continued += r.e.metrics.at("continued") > 0;
        released = std::max(released, r.e.metrics.at("released"));
    }
    // Every promotion runs where its parent ran (sent to whichever rank is free, about half
    // would on two ranks), and the ranks dropped what the strategy retired.
    CHECK(promotions > 0);
    CHECK(continued == promotions);
    CHECK(released > 0);
    // Where a trial runs changes nothing the search sees.
    checkpoint_keeping_eval serial_eval;
    const auto serial = xnas::search(space, strategy(), serial_eval, opt);
    CHECK(serial.history.size() == s->history.size());
    for (std::size_t i = 0; i < std::min(serial.history.size(), s->history.size()); ++i) {
        CHECK(serial.history[i].t == s->history[i].t);
        CHECK(serial.history[i].e.objectives == s->history[i].e.objectives);
    }
}

TEST_CASE("mpi: a candidate that throws on its rank is a failed evaluation", "[mpi]") {
    const test::digit_space space{2, 5}; // optimum 4-4, as long as 4-x does not throw
    auto ev = xnas::function_evaluator(
        [](const std::vector<int>& a) {
            if (a[0] == 3)
                throw std::runtime_error("candidate " + std::to_string(a[0]) + "-" +
                                         std::to_string(a[1]) + " broke");
            return test::score(a);
        },
        {.objective = "score"});
    const auto s = xnas::mpi::search(space, test::random_strategy{}, ev,
                                     {.objectives = score_max, .max_trials = 150, .seed = 5});
    if (world_rank() != 0)
        return;
    REQUIRE(s->history.size() == 150);
    std::size_t failed = 0;
    for (const auto& r : s->history) {
        if (r.t.architecture[0] == 3) {
            ++failed;
            CHECK(r.e.state == xnas::status::failed);
            CHECK(r.e.message.find("broke") != std::string::npos);
        } else {
            CHECK(r.e.ok());
        }
    }
    CHECK(failed > 0);
    CHECK(s->best().t.architecture == std::vector<int>{4, 4});
}

TEST_CASE("mpi: an exception on rank 0 ends the search on every rank, the next starts clean",
          "[mpi]") {
    const test::digit_space space{2, 5};
    struct throw_after {
        std::size_t n;
        void on_result(const xnas::scored<std::vector<int>>&,
                       const xnas::study<std::vector<int>>& s) {
            if (s.history.size() == n)
                throw std::runtime_error("callback gave up");
        }
    };
    const xnas::search_options opt{.objectives = score_max, .max_trials = 40, .seed = 3};
    // Two workers: when the callback throws, the other worker is still evaluating, and its result
    // must not reach the next search.
    if (world_rank() == 0)
        CHECK_THROWS_WITH(xnas::mpi::search(space, test::random_strategy{}, ranked_score_eval(),
                                            opt, throw_after{5}),
                          "callback gave up");
    else
        CHECK_FALSE(xnas::mpi::search(space, test::random_strategy{}, ranked_score_eval(), opt,
                                      throw_after{5}));
    const auto s = xnas::mpi::search(space, test::random_strategy{}, ranked_score_eval(), opt);
    if (world_rank() != 0)
        return;
    const auto serial = xnas::search(space, test::random_strategy{}, ranked_score_eval(), opt);
    REQUIRE(s->history.size() == serial.history.size());
    std::set<std::pair<std::uint64_t, double>> got, want;
    for (const auto& r : s->history)
        got.insert({r.t.id, r.e.value("score")});
    for (const auto& r : serial.history)
        want.insert({r.t.id, r.e.value("score")});
    CHECK(got == want);
}

TEST_CASE("mpi: a journaled run resumes to the uninterrupted study", "[mpi]") {
    MPI_Comm two = first_two();
    if (two == MPI_COMM_NULL)
        return;
    const xnas::mpi::options on_two{.comm = two};
    // Only rank 0 writes; the name is rank 0's (the other rank's options are not used).
    const std::string path = temp_journal("resume");
    if (world_rank() == 0)
        std::filesystem::remove(path);
    auto ev = xnas::function_evaluator(loss, {.objective = "loss"});
    auto evolution = [] {
        return xnas::regularized_evolution<xnas::param_space>(
            {.population_size = 10, .sample_size = 3, .objective = loss_min[0]});
    };
    auto opt = [&](std::size_t n, bool resume) {
        return xnas::search_options{
            .objectives = loss_min, .max_trials = n, .seed = 11, .journal = path, .resume = resume};
    };
    xnas::mpi::search(on_two, hp_space(), evolution(), ev, opt(25, false));
    const auto resumed = xnas::mpi::search(on_two, hp_space(), evolution(), ev, opt(60, true));
    if (world_rank() == 0) {
        const auto whole = xnas::search(hp_space(), evolution(), ev,
                                        {.objectives = loss_min, .max_trials = 60, .seed = 11});
        check_same(*resumed, whole);
        std::filesystem::remove(path);
    }
    MPI_Comm_free(&two);
}

TEST_CASE("mpi: worker ranks give the same journal whatever the evaluations' timing", "[mpi]") {
    REQUIRE(world_size() == 3);
    // Evolution decides on what it was told; each evaluation sleeps 0-3 ms drawn from a source
    // the search does not seed, so results reach rank 0 in another order at every run.
    const test::digit_space space{3, 10};
    auto jittered = xnas::function_evaluator(
        [](const std::vector<int>& a) {
            thread_local std::mt19937 delay(std::random_device{}());
            std::this_thread::sleep_for(std::chrono::microseconds(delay() % 3000));
            return test::score(a);
        },
        {.objective = "score"});
    auto records = [](const std::string& path) {
        std::vector<std::string> out;
        std::ifstream in(path);
        for (std::string line; std::getline(in, line);) {
            auto r = xnas::json::value::parse(line);
            if (r.at("event").get<std::string>() == "result")
                r["elapsed"] = 0.0; // the clock reading is the one field timing may change
            out.push_back(r.dump());
        }
        return out;
    };
    std::vector<std::vector<std::string>> journals;
    for (int run = 0; run < 2; ++run) {
        const std::string path = temp_journal("ordered_" + std::to_string(run));
        if (world_rank() == 0)
            std::filesystem::remove(path);
        const xnas::search_options opt{
            .objectives = score_max, .max_trials = 60, .seed = 4, .journal = path, .fsync = false};
        const auto s = xnas::mpi::search(space, test::tiny_evolution{}, jittered, opt);
        if (world_rank() == 0) {
            journals.push_back(records(path));
            std::filesystem::remove(path);
        }
    }
    if (world_rank() != 0)
        return;
    CHECK(journals[0].size() == 121); // start, 60 asks, 60 results
    CHECK(journals[1] == journals[0]);
    // Two worker ranks ask two ahead: the study of one serial worker with a lookahead of two.
    const std::string path = temp_journal("ordered_serial");
    std::filesystem::remove(path);
    auto ev = xnas::function_evaluator([](const std::vector<int>& a) { return test::score(a); },
                                       {.objective = "score"});
    xnas::search(space, test::tiny_evolution{}, ev,
                 {.objectives = score_max,
                  .max_trials = 60,
                  .seed = 4,
                  .lookahead = 2,
                  .journal = path,
                  .fsync = false});
    CHECK(records(path) == journals[0]);
    std::filesystem::remove(path);
}

TEST_CASE("mpi: a communicator of one rank is refused on that rank", "[mpi]") {
    const test::digit_space space{2, 5};
    auto ev = xnas::function_evaluator([](const std::vector<int>& a) { return test::score(a); },
                                       {.objective = "score"});
    CHECK_THROWS_WITH(xnas::mpi::search(xnas::mpi::options{.comm = MPI_COMM_SELF}, space,
                                        test::random_strategy{}, ev,
                                        {.objectives = score_max, .max_trials = 5}),
                      Catch::Contains("at least 2"));
}

TEST_CASE("mpi: a rank's process is found gone once it has ended, and only on its host", "[mpi]") {
    using xnas::mpi::detail::rank_gone;
    const auto me = xnas::mpi::detail::this_process();
    CHECK(rank_gone(me) == std::optional<bool>(false));
    auto elsewhere = me;
    std::snprintf(elsewhere.host, sizeof elsewhere.host, "%s", "another-host");
    CHECK(rank_gone(elsewhere) == std::nullopt);
    // A process that has ended and been reaped, as mpiexec reaps a rank that died.
    pid_t child = 0;
    char name[] = "true";
    char* const argv[] = {name, nullptr};
    REQUIRE(::posix_spawnp(&child, "true", nullptr, nullptr, argv, environ) == 0);
    REQUIRE(::waitpid(child, nullptr, 0) == child);
    auto ended = me;
    ended.pid = child;
    CHECK(rank_gone(ended) == std::optional<bool>(true));
}

int main(int argc, char** argv) {
    xnas::mpi::session mpi(argc, argv);
    // Only rank 0's report is read; the others print theirs only when something failed there.
    Catch::Session session;
    const int rc = session.run(argc, argv);
    return rc;
}
