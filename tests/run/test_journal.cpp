#include "run/fixtures.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/run/journal.hpp>
#include <xnas/run/search.hpp>
#include <xnas/space/param_space.hpp>

using test::digit_space;
using test::tiny_evolution;

namespace {

using test::score_max;

std::string temp_path(const std::string& name) {
    auto p = std::filesystem::temp_directory_path() /
             ("xnas_test_" + name + "_" + std::to_string(::getpid()) + ".jsonl");
    std::filesystem::remove(p);
    return p.string();
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void spit(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        out.push_back(l);
    return out;
}

// Fails on some trials so failed results go through the journal too.
auto eval() {
    return xnas::function_evaluator([](const std::vector<int>& a) -> xnas::evaluation {
        if (a[0] == 0)
            throw std::runtime_error("digit 0 crashes \"training\"");
        xnas::evaluation e;
        e.objectives["score"] = test::score(a) + 0.1; // not exactly representable in binary
        e.metrics["digits"] = static_cast<double>(a[0] * 100 + a[1] * 10 + a[2]);
        e.cost = 0.25;
        return e;
    });
}

xnas::study<std::vector<int>> run(std::size_t trials, const std::string& journal, bool resume,
                                  std::uint64_t seed = 7) {
    tiny_evolution st;
    return xnas::search(digit_space{}, st, eval(),
                        {.objectives = score_max,
                         .max_trials = trials,
                         .seed = seed,
                         .journal = journal,
                         .resume = resume});
}

void require_same(const xnas::study<std::vector<int>>& a, const xnas::study<std::vector<int>>& b) {
    REQUIRE(a.history.size() == b.history.size());
    for (std::size_t i = 0; i < a.history.size(); ++i) {
        INFO("trial " << i);
        CHECK(a.history[i].t == b.history[i].t);
        CHECK(a.history[i].e == b.history[i].e);
    }
}

} // namespace

TEST_CASE("journal: one JSON line per ask and result", "[run][journal]") {
    const auto path = temp_path("lines");
    const auto s = run(5, path, false);
    const auto lines = lines_of(slurp(path));
    REQUIRE(lines.size() == 1 + 2 * 5);
    CHECK_THAT(lines[0], Catch::Matchers::Contains("\"event\":\"start\""));
    CHECK_THAT(lines[1], Catch::Matchers::Contains("\"event\":\"ask\""));
    CHECK_THAT(lines[1], Catch::Matchers::Contains(
                             "\"architecture\":\"" +
                             digit_space{}.to_string(s.history[0].t.architecture) + "\""));
    CHECK_THAT(lines[2], Catch::Matchers::Contains("\"event\":\"result\""));
    const auto j = xnas::read_journal(path);
    CHECK(j.records.size() == 11);
    CHECK(j.warnings.empty());
    CHECK(j.records[3].line == 4);
    std::filesystem::remove(path);
}

TEST_CASE("journal: kill and resume gives the uninterrupted study", "[run][journal]") {
    const auto full = run(25, "", false);
    bool some_failed = false;
    for (const auto& r : full.history)
        some_failed = some_failed || !r.e.ok();
    CHECK(some_failed); // the journal carries failures too

    SECTION("stopped after N results") {
        const auto path = temp_path("resume");
        run(10, path, false);
        const auto resumed = run(25, path, true);
        require_same(resumed, full);
        // and the journal now replays to the same study again
        const auto again = run(25, path, true);
        require_same(again, full);
        std::filesystem::remove(path);
    }
    SECTION("crashed between an ask and its result") {
        const auto path = temp_path("midtrial");
        run(10, path, false);
        auto lines = lines_of(slurp(path));
        lines.pop_back(); // the last result never got written
        std::string text;
        for (const auto& l : lines)
            text += l + "\n";
        spit(path, text);
        const auto resumed = run(25, path, true);
        require_same(resumed, full);
        std::filesystem::remove(path);
    }
    SECTION("torn last line is ignored with a warning") {
        const auto path = temp_path("torn");
        run(10, path, false);
        const auto text = slurp(path);
        spit(path, text + "{\"event\":\"ask\",\"id\":10,\"archi");
        struct warn_cb {
            std::vector<std::string> seen;
            void on_warning(const std::string& w) { seen.push_back(w); }
        } cb;
        tiny_evolution st;
        const auto resumed = xnas::search(
            digit_space{}, st, eval(),
            {.objectives = score_max, .max_trials = 25, .seed = 7, .journal = path, .resume = true},
            cb);
        require_same(resumed, full);
        REQUIRE(cb.seen.size() == 1);
        CHECK_THAT(cb.seen[0],
                   Catch::Matchers::Contains(path + ":22") && Catch::Matchers::Contains("torn"));
        CHECK(resumed.warnings == cb.seen);
        // The torn bytes were cut, so the journal is clean afterwards.
        const auto j = xnas::read_journal(path);
        CHECK(j.warnings.empty());
        std::filesystem::remove(path);
    }
}

TEST_CASE("journal: a strategy's budget share is given before each ask and replayed",
          "[run][journal]") {
    // A strategy whose proposal follows the budget share it is given (as a cooling schedule
    // does): first digit = share x 10. A resume with a larger trial budget gives new asks other
    // shares, so the replay must re-ask with the recorded ones.
    struct scheduled {
        std::uint64_t next = 0;
        double share = -1;
        std::vector<double> given{};
        void set_progress(double p) {
            share = p;
            given.push_back(p);
        }
        xnas::trial<std::vector<int>> ask(const digit_space& s, xnas::rng& g) {
            auto a = s.sample(g);
            a[0] = static_cast<int>(share * 10);
            return {next++, a, 1.0, {}};
        }
        void tell(const xnas::trial<std::vector<int>>&, const xnas::evaluation&) {}
    };
    static_assert(xnas::detail::takes_progress<scheduled>);
    const auto path = temp_path("progress");
    auto run_scheduled = [&](scheduled& st, std::size_t trials, bool resume) {
        return xnas::search(digit_space{}, st, eval(),
                            {.objectives = score_max,
                             .max_trials = trials,
                             .seed = 3,
                             .journal = path,
                             .resume = resume});
    };
    scheduled first;
    const auto a = run_scheduled(first, 5, false);
    CHECK(first.given == std::vector<double>{0.0, 0.2, 0.4, 0.6, 0.8});
    REQUIRE(a.history.size() == 5);
    CHECK(a.history[3].t.architecture[0] == 6);
    const auto lines = lines_of(slurp(path));
    CHECK_THAT(lines[1], Catch::Matchers::Contains("\"progress\":0"));
    CHECK_THAT(lines[3], Catch::Matchers::Contains("\"progress\":0.2"));

    scheduled resumed;
    const auto b = run_scheduled(resumed, 10, true);
    REQUIRE(b.history.size() == 10);
    // Replayed: the recorded shares; new asks: shares of the 10-trial budget.
    CHECK(resumed.given == std::vector<double>{0.0, 0.2, 0.4, 0.6, 0.8, 0.5, 0.6, 0.7, 0.8, 0.9});
    for (std::size_t i = 0; i < 5; ++i)
        CHECK(b.history[i].t == a.history[i].t);
    CHECK(b.history[5].t.architecture[0] == 5);
    std::filesystem::remove(path);
}

TEST_CASE("journal: a complete last record without its newline is kept", "[run][journal]") {
    const auto full = run(12, "", false);
    const auto path = temp_path("nonl");
    run(6, path, false);
    auto text = slurp(path);
    REQUIRE(text.back() == '\n');
    text.pop_back();
    spit(path, text);
    const auto resumed = run(12, path, true);
    CHECK(resumed.warnings.empty());
    require_same(resumed, full);
    CHECK(xnas::read_journal(path).records.size() == 1 + 12 * 2 + 1); // two start records
    std::filesystem::remove(path);
}

TEST_CASE("journal: a resumed run's wall-clock budget counts the journal's seconds",
          "[run][journal]") {
    // Each trial sleeps, so ten trials take at least 0.3 s: more than the 0.15 s budget below.
    auto slow = [] {
        return xnas::function_evaluator([](const std::vector<int>& a) {
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            return test::score(a);
        });
    };
    auto resume = [&](const std::string& path, xnas::search_options o) {
        tiny_evolution st;
        o.objectives = score_max;
        o.seed = 7;
        o.journal = path;
        o.resume = true;
        return xnas::search(digit_space{}, st, slow(), o);
    };
    const auto path = temp_path("elapsed");
    {
        tiny_evolution st;
        xnas::search(digit_space{}, st, slow(),
                     {.objectives = score_max, .max_trials = 10, .seed = 7, .journal = path});
    }
    double last = 0;
    for (const auto& r : xnas::read_journal(path).records)
        if (r.data.at("event").get<std::string>() == "result") {
            const double e = r.data.at("elapsed").get<double>();
            CHECK(e >= last);
            last = e;
        }
    CHECK(last >= 0.3);

    SECTION("a budget the journal already spent asks nothing more") {
        const auto s = resume(path, {.max_seconds = 0.15});
        CHECK(s.resumed_seconds == last);
        CHECK(s.history.size() == 10);
        CHECK(s.stopped_by == xnas::stop_reason::max_seconds);
    }
    SECTION("a budget left over continues") {
        const auto s = resume(path, {.max_trials = 12, .max_seconds = 1e6});
        CHECK(s.history.size() == 12);
        CHECK(s.stopped_by == xnas::stop_reason::max_trials);
    }
    SECTION("a journal without elapsed fields starts the clock at zero") {
        std::string text;
        for (auto l : lines_of(slurp(path))) {
            const auto at = l.find(",\"elapsed\":");
            if (at != std::string::npos)
                l = l.substr(0, at) + "}";
            text += l + "\n";
        }
        spit(path, text);
        const auto s = resume(path, {.max_seconds = 0.15});
        CHECK(s.resumed_seconds == 0);
        CHECK(s.history.size() > 10);
    }
    std::filesystem::remove(path);
}

TEST_CASE("journal: invalid UTF-8 in a failure message does not stop the search",
          "[run][journal]") {
    const auto path = temp_path("utf8");
    test::random_strategy st;
    auto ev = xnas::function_evaluator(
        [](const std::vector<int>&) -> double { throw std::runtime_error("bad \xff byte"); });
    const auto s = xnas::search(digit_space{}, st, ev,
                                {.objectives = score_max, .max_trials = 2, .journal = path});
    CHECK(s.history.size() == 2);
    const auto j = xnas::read_journal(path);
    CHECK(j.records.size() == 5);
    std::filesystem::remove(path);
}

TEST_CASE("journal: damage is reported by file and line", "[run][journal]") {
    const auto path = temp_path("corrupt");
    run(6, path, false);
    const auto good = lines_of(slurp(path));

    SECTION("a corrupt middle line throws naming the line") {
        auto lines = good;
        lines[3] = "{\"event\":\"result\",\"id\":1,\"sta";
        std::string text;
        for (const auto& l : lines)
            text += l + "\n";
        spit(path, text);
        CHECK_THROWS_AS(xnas::read_journal(path), xnas::parse_error);
        CHECK_THROWS_WITH(run(10, path, true), Catch::Matchers::Contains(path + ":4") &&
                                                   Catch::Matchers::Contains("corrupt"));
    }
    SECTION("a record with a missing field names the line") {
        auto lines = good;
        lines[4] = "{\"event\":\"result\",\"id\":1}";
        std::string text;
        for (const auto& l : lines)
            text += l + "\n";
        spit(path, text);
        CHECK_THROWS_WITH(run(10, path, true), Catch::Matchers::Contains(path + ":5"));
    }
    SECTION("another seed does not replay") {
        CHECK_THROWS_WITH(run(10, path, true, 8), Catch::Matchers::Contains(path + ":1") &&
                                                      Catch::Matchers::Contains("seed"));
    }
    SECTION("an ask that does not match names the line") {
        auto lines = good;
        const auto pos = lines[3].find("\"architecture\":\"");
        REQUIRE(pos != std::string::npos);
        lines[3][pos + 16] = lines[3][pos + 16] == '1' ? '2' : '1';
        std::string text;
        for (const auto& l : lines)
            text += l + "\n";
        spit(path, text);
        CHECK_THROWS_WITH(run(10, path, true), Catch::Matchers::Contains(path + ":4") &&
                                                   Catch::Matchers::Contains("replay asked"));
    }
    SECTION("an existing journal is never overwritten without resume") {
        CHECK_THROWS_AS(run(10, path, false), xnas::file_error);
        CHECK(lines_of(slurp(path)) == good);
    }
    std::filesystem::remove(path);
}

TEST_CASE("journal: a space without to_string cannot be journaled", "[run][journal]") {
    struct plain_space {
        using architecture = int;
        int sample(xnas::rng& g) const { return static_cast<int>(g.below(5)); }
        int mutate(int a, xnas::rng&) const { return a + 1; }
    };
    test::random_strategy st;
    auto ev = xnas::function_evaluator([](int a) { return double(a); }, {.objective = "score"});
    CHECK_THROWS_WITH(xnas::search(plain_space{}, st, ev,
                                   {.objectives = score_max, .max_trials = 2, .journal = "x"}),
                      Catch::Matchers::Contains("serializable_space"));
}

TEST_CASE("journal: param_space architectures with floats resume exactly", "[run][journal]") {
    xnas::param_space space;
    space.add_log_float("lr", 1e-5, 1.0)
        .add_float("dropout", 0.0, 0.7)
        .add_categorical("opt", {"sgd", "adam"})
        .add_float("momentum", 0.0, 0.99, xnas::when("opt", {"sgd"}));
    auto f = xnas::function_evaluator(
        [](const xnas::param_space::architecture& a) {
            return -std::abs(std::log10(xnas::param_get<double>(a, "lr")) + 2.5) -
                   xnas::param_get<double>(a, "dropout") / 3;
        },
        {.objective = "score"});
    auto go = [&](std::size_t n, const std::string& path, bool resume) {
        test::random_strategy st;
        return xnas::search(space, st, f,
                            {.objectives = score_max,
                             .max_trials = n,
                             .seed = 99,
                             .journal = path,
                             .resume = resume});
    };
    const auto full = go(12, "", false);
    const auto path = temp_path("param");
    go(5, path, false);
    const auto resumed = go(12, path, true);
    REQUIRE(resumed.history.size() == 12);
    for (std::size_t i = 0; i < 12; ++i) {
        CHECK(resumed.history[i].t == full.history[i].t);
        CHECK(resumed.history[i].e == full.history[i].e);
    }
    std::filesystem::remove(path);
}

TEST_CASE("journal: a parallel run replays in its recorded interleaving", "[run][journal]") {
    // With 3 workers, asks run ahead of tells; the journal keeps the interleaving, so the
    // evolution (whose asks depend on earlier tells) replays exactly.
    const auto path = temp_path("parallel");
    tiny_evolution st;
    const auto par = xnas::search(
        digit_space{}, st, eval(),
        {.objectives = score_max, .max_trials = 15, .seed = 4, .workers = 3, .journal = path});
    REQUIRE(par.history.size() == 15);
    const auto resumed = run(22, path, true, 4);
    REQUIRE(resumed.history.size() == 22);
    for (std::size_t i = 0; i < 15; ++i) {
        CHECK(resumed.history[i].t == par.history[i].t);
        CHECK(resumed.history[i].e == par.history[i].e);
    }
    std::filesystem::remove(path);
}

TEST_CASE("journal: parallel workers give the same journal whatever the evaluations' timing",
          "[run][journal]") {
    // Evolution decides on what it was told, so any change in the order of tells shows in the
    // asks. Each evaluation sleeps 0-3 ms, drawn from a source the search does not seed, so the
    // results arrive in another order at every run.
    auto jittered = [](bool jitter) {
        return xnas::make_thread_safe_evaluator(
            [jitter](const std::vector<int>& a) -> xnas::evaluation {
                if (jitter) {
                    thread_local std::mt19937 delay(std::random_device{}());
                    std::this_thread::sleep_for(std::chrono::microseconds(delay() % 3000));
                }
                xnas::evaluation e;
                e.objectives["score"] = test::score(a);
                return e;
            },
            {});
    };
    // Each record without its clock reading ("elapsed").
    auto records = [](const std::string& path) {
        std::vector<std::string> out;
        for (const auto& line : lines_of(slurp(path))) {
            auto r = xnas::json::value::parse(line);
            if (r.at("event").get<std::string>() == "result")
                r["elapsed"] = 0.0;
            out.push_back(r.dump());
        }
        return out;
    };
    const digit_space space;
    auto run = [&](std::size_t workers, std::size_t lookahead, bool jitter,
                   const std::string& name) {
        const std::string path = temp_path(name);
        tiny_evolution st;
        const auto s = xnas::search(space, st, jittered(jitter),
                                    {.objectives = score_max,
                                     .max_trials = 40,
                                     .seed = 8,
                                     .workers = workers,
                                     .lookahead = lookahead,
                                     .journal = path,
                                     .fsync = false});
        REQUIRE(s.history.size() == 40);
        auto r = records(path);
        std::filesystem::remove(path);
        return r;
    };
    const auto first = run(2, 0, true, "ordered_a");
    REQUIRE(first.size() == 41 + 40); // start, then 40 asks and 40 results
    CHECK(run(2, 0, true, "ordered_b") == first);
    // The result depends on the lookahead, not on the workers.
    CHECK(run(1, 2, false, "ordered_c") == first);
    const auto wide = run(3, 3, true, "ordered_d");
    CHECK(run(3, 3, true, "ordered_e") == wide);
    CHECK(run(1, 3, false, "ordered_f") == wide);
}

namespace {

// Stands for a killed process: thrown out of the search, which writes nothing more.
struct simulated_kill {};

// Evaluates on the calling thread but hands back the newest of the submitted trials first, so
// with a window of 3 results arrive ahead of their turn; after `kill_after` results it throws as
// a process killed there would stop. Records every trial it evaluated.
struct newest_first_executor {
    std::vector<std::uint64_t>* evaluated;
    std::size_t kill_after = SIZE_MAX;
    std::vector<xnas::trial<std::vector<int>>> queued{};
    std::size_t handed = 0;
    decltype(eval()) evaluator = eval();

    void submit(xnas::trial<std::vector<int>> t) { queued.push_back(std::move(t)); }
    xnas::scored<std::vector<int>> wait_one() {
        if (handed == kill_after)
            throw simulated_kill{};
        auto t = std::move(queued.back());
        queued.pop_back();
        ++handed;
        evaluated->push_back(t.id);
        auto e = evaluator.evaluate(t);
        return {std::move(t), std::move(e)};
    }
};

} // namespace

TEST_CASE("journal: results that finished ahead of their turn survive a crash and are not run "
          "again",
          "[run][journal]") {
    const digit_space space;
    auto run_with = [&](newest_first_executor& exec, const std::string& path, bool resume) {
        tiny_evolution st;
        return xnas::search_with(space, st, exec,
                                 {.objectives = score_max,
                                  .max_trials = 20,
                                  .seed = 3,
                                  .lookahead = 3,
                                  .journal = path,
                                  .resume = resume,
                                  .fsync = false});
    };
    std::vector<std::uint64_t> all;
    newest_first_executor whole{&all};
    const auto full = run_with(whole, "", false);
    REQUIRE(full.history.size() == 20);

    for (std::size_t kill_after : {4u, 9u, 13u}) {
        INFO("killed after " << kill_after << " results");
        const auto path = temp_path("ahead");
        const auto ahead = xnas::ahead_journal_path(path);
        std::vector<std::uint64_t> before, after;
        newest_first_executor killed{&before, kill_after};
        CHECK_THROWS_AS(run_with(killed, path, false), simulated_kill);
        // The newest-first order leaves results waiting for older trials at every kill.
        REQUIRE(std::filesystem::exists(ahead));
        CHECK_FALSE(xnas::read_journal(ahead).records.empty());

        newest_first_executor resumed_exec{&after};
        const auto resumed = run_with(resumed_exec, path, true);
        require_same(resumed, full);
        // No trial evaluated before the kill ran again.
        for (auto id : after)
            CHECK(std::find(before.begin(), before.end(), id) == before.end());
        CHECK(before.size() + after.size() == all.size());
        CHECK_FALSE(std::filesystem::exists(ahead)); // removed once the search ended
        std::filesystem::remove(path);
    }

    // A fresh run does not take results from a stale file of an earlier one.
    const auto path = temp_path("stale");
    std::vector<std::uint64_t> first, second;
    newest_first_executor killed{&first, 9};
    CHECK_THROWS_AS(run_with(killed, path, false), simulated_kill);
    std::filesystem::remove(path);
    newest_first_executor fresh{&second};
    require_same(run_with(fresh, path, false), full);
    CHECK(second.size() == all.size());
    std::filesystem::remove(path);
}
