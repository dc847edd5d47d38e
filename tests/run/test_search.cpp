#include "run/fixtures.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/run/search.hpp>
#include <xnas/run/simulated_executor.hpp>
#include <xnas/space/param_space.hpp>

using test::digit_space;
using test::random_strategy;
using test::tiny_evolution;

static_assert(xnas::strategy<random_strategy, digit_space>);
static_assert(xnas::strategy<tiny_evolution, digit_space>);

namespace {

using test::score_max;

auto score_eval() {
    return xnas::function_evaluator([](const std::vector<int>& a) { return test::score(a); },
                                    {.objective = "score"});
}

template <class A>
void require_same(const xnas::study<A>& a, const xnas::study<A>& b) {
    REQUIRE(a.history.size() == b.history.size());
    for (std::size_t i = 0; i < a.history.size(); ++i) {
        CHECK(a.history[i].t == b.history[i].t);
        CHECK(a.history[i].e == b.history[i].e);
    }
}

} // namespace

TEST_CASE("random search finds the optimum of a small space over several seeds", "[run][search]") {
    const digit_space space{2, 5}; // 25 architectures, optimum 4-4 (closest to 7)
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        random_strategy st;
        const auto s = xnas::search(space, st, score_eval(),
                                    {.objectives = score_max, .max_trials = 150, .seed = seed});
        CHECK(s.history.size() == 150);
        CHECK(s.best().t.architecture == std::vector<int>{4, 4});
        CHECK(s.best().e.value("score") == -18.0);
        CHECK(s.stopped_by == xnas::stop_reason::max_trials);
    }
}

TEST_CASE("a trial budget's history is allocated once, up to its cap", "[run][search]") {
    const digit_space space{2, 5};
    for (const std::size_t trials : {std::size_t{1}, std::size_t{150}}) {
        random_strategy st;
        const auto s =
            xnas::search(space, st, score_eval(), {.objectives = score_max, .max_trials = trials});
        CHECK(s.history.size() == trials);
        CHECK(s.history.capacity() == trials);
    }
    // A budget in seconds or cost says nothing of the length: no reservation.
    random_strategy st;
    std::size_t told = 0;
    struct stop_after {
        std::size_t* told;
        bool on_result(const xnas::scored<std::vector<int>>&,
                       const xnas::study<std::vector<int>>&) {
            return ++*told == 3;
        }
    };
    const auto s = xnas::search(space, st, score_eval(),
                                {.objectives = score_max, .max_seconds = 3600}, stop_after{&told});
    CHECK(s.history.size() == 3);
    CHECK(s.history.capacity() < 1000);
}

TEST_CASE("evolution through the driver reaches the optimum", "[run][search]") {
    const digit_space space{3, 10};
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        tiny_evolution st{.population = 20};
        const auto s = xnas::search(space, st, score_eval(),
                                    {.objectives = score_max, .max_trials = 400, .seed = seed});
        CHECK(s.best().e.value("score") == 0.0);
        CHECK(st.told == 400);
    }
}

TEST_CASE("budget by summed cost", "[run][search]") {
    const digit_space space;
    random_strategy st;
    auto ev = xnas::function_evaluator([](const std::vector<int>& a) {
        xnas::evaluation e;
        e.objectives["score"] = test::score(a);
        e.cost = 1.5;
        return e;
    });
    const auto s =
        xnas::search(space, st, ev, {.objectives = score_max, .max_cost = 10.0, .seed = 3});
    CHECK(s.history.size() == 7); // 6 * 1.5 = 9 < 10, 7 * 1.5 = 10.5
    CHECK(s.total_cost() == 10.5);
    CHECK(s.stopped_by == xnas::stop_reason::max_cost);
}

TEST_CASE("budget by wall-clock seconds stops before the next ask", "[run][search]") {
    // No timing assertion: a budget far below the setup time must stop before any trial.
    const digit_space space;
    random_strategy st;
    const auto s =
        xnas::search(space, st, score_eval(), {.objectives = score_max, .max_seconds = 1e-12});
    CHECK(s.history.empty());
    CHECK(s.stopped_by == xnas::stop_reason::max_seconds);
}

struct throwing_every_third {
    int calls = 0;
    template <class A>
    xnas::evaluation evaluate(const xnas::trial<A>& t) {
        if (++calls % 3 == 0)
            throw std::runtime_error("out of memory on trial " + std::to_string(t.id));
        xnas::evaluation e;
        e.objectives["score"] = test::score(t.architecture);
        return e;
    }
};

TEST_CASE("an evaluator that throws is recorded as failed and the search goes on",
          "[run][search]") {
    const digit_space space;
    random_strategy st;
    throwing_every_third ev;
    const auto s = xnas::search(space, st, ev, {.objectives = score_max, .max_trials = 9});
    REQUIRE(s.history.size() == 9);
    CHECK(ev.calls == 9);
    for (std::size_t i = 0; i < 9; ++i) {
        const auto& r = s.history[i];
        if (i % 3 == 2) {
            CHECK(r.e.state == xnas::status::failed);
            CHECK(r.e.message == "out of memory on trial " + std::to_string(r.t.id));
            CHECK(std::isnan(r.e.value("score")));
        } else {
            CHECK(r.e.ok());
        }
    }
    CHECK(s.best().e.ok());
}

TEST_CASE("missing or non-finite objectives are not ok", "[run][search]") {
    const digit_space space;
    random_strategy st;
    int n = 0;
    auto ev = xnas::function_evaluator([&n](const std::vector<int>&) {
        std::map<std::string, double> m;
        if (n++ % 2 == 0)
            m["other"] = 1.0;
        else
            m["score"] = 2.0;
        return m;
    });
    const auto s = xnas::search(space, st, ev, {.objectives = score_max, .max_trials = 4});
    CHECK(s.history[0].e.state == xnas::status::failed);
    CHECK_THAT(s.history[0].e.message, Catch::Matchers::Contains("lacks objective 'score'") &&
                                           Catch::Matchers::Contains("other"));
    CHECK(s.history[1].e.ok());

    auto nan_ev = xnas::function_evaluator([](const std::vector<int>&) { return std::nan(""); },
                                           {.objective = "score"});
    random_strategy st2;
    const auto s2 = xnas::search(space, st2, nan_ev, {.objectives = score_max, .max_trials = 2});
    CHECK(s2.history[0].e.state == xnas::status::diverged);
    CHECK_THROWS_AS(s2.best(), std::out_of_range);
}

TEST_CASE("same seed, same study; another seed, another study", "[run][search]") {
    const digit_space space;
    auto run = [&](std::uint64_t seed) {
        tiny_evolution st;
        return xnas::search(space, st, score_eval(),
                            {.objectives = score_max, .max_trials = 40, .seed = seed});
    };
    const auto a = run(11), b = run(11), c = run(12);
    require_same(a, b);
    bool differs = false;
    for (std::size_t i = 0; i < a.history.size(); ++i)
        differs = differs || a.history[i].t.architecture != c.history[i].t.architecture;
    CHECK(differs);
}

struct counting_callbacks {
    int asks = 0, results = 0, starts = 0, ends = 0;
    int stop_after = 5;
    void on_start(const xnas::study<std::vector<int>>&) { ++starts; }
    void on_ask(const xnas::trial<std::vector<int>>&) { ++asks; }
    bool on_result(const xnas::scored<std::vector<int>>&, const xnas::study<std::vector<int>>& s) {
        ++results;
        return static_cast<int>(s.history.size()) >= stop_after;
    }
    void on_end(const xnas::study<std::vector<int>>&) { ++ends; }
};

struct no_hooks {};

TEST_CASE("callbacks: optional hooks, true stops the search, every callback sees events",
          "[run][search]") {
    const digit_space space;
    random_strategy st;
    counting_callbacks cb;
    counting_callbacks other{.stop_after = 1000};
    no_hooks none;
    const auto s = xnas::search(space, st, score_eval(),
                                {.objectives = score_max, .max_trials = 100}, cb, none, other);
    CHECK(s.history.size() == 5);
    CHECK(s.stopped_by == xnas::stop_reason::callback);
    CHECK(cb.asks == 5);
    CHECK(cb.results == 5);
    CHECK(cb.starts == 1);
    CHECK(cb.ends == 1);
    CHECK(other.results == 5);
}

TEST_CASE("bad options are rejected with a message", "[run][search]") {
    const digit_space space;
    random_strategy st;
    CHECK_THROWS_WITH(xnas::search(space, st, score_eval(), {.max_trials = 3}),
                      Catch::Matchers::Contains("objectives is empty"));
    CHECK_THROWS_WITH(xnas::search(space, st, score_eval(), {.objectives = score_max}),
                      Catch::Matchers::Contains("no budget"));
    CHECK_THROWS_WITH(xnas::search(space, st, score_eval(),
                                   {.objectives = score_max, .max_trials = 3, .workers = 0}),
                      Catch::Matchers::Contains("workers = 0"));
}

TEST_CASE("thread executor: W workers evaluate every asked trial exactly once", "[run][search]") {
    const digit_space space;
    random_strategy st;
    const auto s = xnas::search(space, st, score_eval(),
                                {.objectives = score_max, .max_trials = 40, .workers = 3});
    REQUIRE(s.history.size() == 40);
    std::vector<int> seen(40, 0);
    for (const auto& r : s.history) {
        REQUIRE(r.t.id < 40);
        ++seen[r.t.id];
        CHECK(r.e.value("score") == test::score(r.t.architecture));
    }
    for (int c : seen)
        CHECK(c == 1);

    auto shared = xnas::make_thread_safe_evaluator(
        [](const std::vector<int>& a) { return test::score(a); }, {.objective = "score"});
    random_strategy st2;
    const auto s2 =
        xnas::search(space, st2, shared, {.objectives = score_max, .max_trials = 20, .workers = 2});
    CHECK(s2.history.size() == 20);
}

TEST_CASE("one worker through the thread pool matches the serial executor", "[run][search]") {
    // workers = 1 is the serial executor; 1 in-flight trial makes any pool deterministic too,
    // and this checks the serial path's ask/tell interleaving against a hand-run loop.
    const digit_space space;
    tiny_evolution st;
    const auto s = xnas::search(space, st, score_eval(),
                                {.objectives = score_max, .max_trials = 30, .seed = 5});
    tiny_evolution hand;
    xnas::rng g(5);
    for (std::size_t i = 0; i < 30; ++i) {
        auto t = hand.ask(space, g);
        xnas::evaluation e;
        e.objectives["score"] = test::score(t.architecture);
        REQUIRE(s.history[i].t == t);
        hand.tell(t, e);
    }
}

TEST_CASE("random search over a param_space finds the optimum over several seeds",
          "[run][search][param]") {
    xnas::param_space space;
    space.add_categorical("act", {"relu", "tanh", "gelu"})
        .add_int("layers", 1, 9, 2)
        .add_categorical("opt", {"sgd", "adam"})
        .add_int("momentum_steps", 0, 3, xnas::when("opt", {"sgd"}));
    REQUIRE(space.cardinality() == 3 * 5 * (4 + 1));
    // best: gelu, 5 layers, sgd with 2 momentum steps
    auto f = [](const xnas::param_space::architecture& a) {
        double s = xnas::param_get<std::string>(a, "act") == "gelu" ? 1 : 0;
        s -= std::abs(static_cast<double>(xnas::param_get<std::int64_t>(a, "layers")) - 5);
        if (a.count("momentum_steps"))
            s += 1 -
                 std::abs(static_cast<double>(xnas::param_get<std::int64_t>(a, "momentum_steps")) -
                          2);
        return s;
    };
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        random_strategy st;
        const auto s = xnas::search(space, st, xnas::function_evaluator(f, {.objective = "score"}),
                                    {.objectives = score_max, .max_trials = 800, .seed = seed});
        CHECK(space.to_string(s.best().t.architecture) ==
              "act=gelu;layers=5;opt=sgd;momentum_steps=2");
    }
}

struct move_only_evaluator {
    move_only_evaluator() = default;
    move_only_evaluator(const move_only_evaluator&) = delete;
    move_only_evaluator(move_only_evaluator&&) = default;
    xnas::evaluation evaluate(const xnas::trial<std::vector<int>>&) { return {}; }
};

TEST_CASE("workers > 1 with an evaluator neither thread-safe nor copyable is refused",
          "[run][search]") {
    random_strategy st;
    move_only_evaluator ev;
    CHECK_THROWS_WITH(xnas::search(digit_space{}, st, ev,
                                   {.objectives = score_max, .max_trials = 2, .workers = 2}),
                      Catch::Matchers::Contains("thread-safe") &&
                          Catch::Matchers::Contains("copyable"));
}

namespace {

/// Trial k costs costs[k] simulated seconds; its score is its id.
struct costed_eval {
    std::vector<double> costs;
    xnas::evaluation evaluate(const xnas::trial<std::vector<int>>& t) const {
        xnas::evaluation e;
        e.objectives["score"] = static_cast<double>(t.id);
        e.cost = costs.at(t.id);
        return e;
    }
};

/// (trial id, simulated finish) of every result, in the order the strategy is told them.
struct finish_log {
    const xnas::simulated_executor<costed_eval, std::vector<int>>* exec = nullptr;
    std::vector<std::pair<std::uint64_t, double>> told{};
    void on_result(const xnas::scored<std::vector<int>>& s) {
        told.emplace_back(s.t.id, exec->now());
    }
};

} // namespace

TEST_CASE("simulated workers: a hand-worked schedule", "[run][search][simulated]") {
    // Two workers; trials cost 3, 1, 2, 5, 1 seconds. In completion order: t0 on worker 0 over
    // [0, 3], t1 on worker 1 over [0, 1]; t1's result at 1 asks t2, on worker 1 over [1, 3]; t0
    // and t2 both end at 3, t0 submitted first; t0's result asks t3 on worker 0 (both free at
    // 3: the lower index) over [3, 8]; t2's asks t4 on worker 1 over [3, 4].
    const digit_space space;
    costed_eval ev{{3, 1, 2, 5, 1}};
    {
        xnas::simulated_executor<costed_eval, std::vector<int>> exec(ev, 2);
        finish_log log{&exec};
        random_strategy st;
        xnas::search_with(
            space, st, exec,
            {.objectives = score_max, .max_trials = 5, .workers = 2, .asynchronous = true}, log);
        using r = std::pair<std::uint64_t, double>;
        CHECK(log.told == std::vector<r>{{1, 1.0}, {0, 3.0}, {2, 3.0}, {4, 4.0}, {3, 8.0}});
    }
    {
        // Told in ask order: t1 waits for t0; t2 is asked at 3 (worker 1 idle from 1 to 3) over
        // [3, 5], t3 on worker 0 over [3, 8]; t4, asked when t2 is told at 5, runs [5, 6] and
        // waits for t3. The strategy hears each result at the clock of the result that freed it.
        xnas::simulated_executor<costed_eval, std::vector<int>> exec(ev, 2);
        finish_log log{&exec};
        random_strategy st;
        xnas::search_with(space, st, exec, {.objectives = score_max, .max_trials = 5, .workers = 2},
                          log);
        using r = std::pair<std::uint64_t, double>;
        CHECK(log.told == std::vector<r>{{0, 3.0}, {1, 3.0}, {2, 5.0}, {3, 8.0}, {4, 8.0}});
    }
    CHECK_THROWS_WITH((xnas::simulated_executor<costed_eval, std::vector<int>>(ev, 0)),
                      Catch::Matchers::Contains("workers = 0"));
}
