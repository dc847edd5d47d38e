#include "run/fixtures.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <stdexcept>
#include <tuple>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/run/final_selection.hpp>
#include <xnas/run/search.hpp>
#include <xnas/select/constraint.hpp>
#include <xnas/select/pareto.hpp>
#include <xnas/select/tournament.hpp>

namespace {

using arch = std::vector<int>;
const xnas::objective proxy_max{"proxy", xnas::direction::maximize};

xnas::scored<arch> scored_trial(std::uint64_t id, arch a, double proxy, double fidelity = 1.0) {
    xnas::evaluation e;
    e.objectives["proxy"] = proxy;
    return {{id, std::move(a), fidelity, {}}, std::move(e)};
}

/// A study whose proxy ranks 3-3 first, then 2-2 (asked twice), 1-1 (at low fidelity), a failed
/// 9-9 and 0-0; the truth (what the re-evaluation sees) ranks 1-1 first, then 2-2, 0-0 and 3-3.
xnas::study<arch> noisy_study() {
    xnas::study<arch> s;
    s.objectives = {proxy_max};
    s.history.push_back(scored_trial(0, {0, 0}, 0.10));
    s.history.push_back(scored_trial(1, {2, 2}, 0.70));
    s.history.push_back(scored_trial(2, {3, 3}, 0.90));
    s.history.push_back(
        {{3, {9, 9}, 1.0, {}}, xnas::evaluation::failure(xnas::status::failed, "out of memory")});
    s.history.push_back(scored_trial(4, {2, 2}, 0.80));
    s.history.push_back(scored_trial(5, {1, 1}, 0.60, 0.25));
    return s;
}

const std::map<arch, double> truth{{{0, 0}, 0.2}, {{1, 1}, 0.9}, {{2, 2}, 0.5}, {{3, 3}, 0.1}};

/// Reports the truth, and the fidelity it was asked at, under the proxy's name.
xnas::evaluation true_score(const xnas::trial<arch>& t) {
    xnas::evaluation e;
    e.objectives["proxy"] = truth.at(t.architecture);
    e.metrics["asked_fidelity"] = t.fidelity;
    return e;
}

std::vector<std::uint64_t> ids(const std::vector<xnas::reevaluated<arch>>& r) {
    std::vector<std::uint64_t> out;
    for (const auto& x : r)
        out.push_back(x.result.t.id);
    return out;
}

} // namespace

TEST_CASE("best_distinct: the k best ok trials, one per architecture", "[run][selection]") {
    const auto s = noisy_study();
    // 2-2's better trial (id 4) stands for it; the failed 9-9 is never picked; 1-1's score on a
    // quarter of the data ranks after every full evaluation, even 0-0's worse one.
    CHECK(xnas::best_distinct(s, proxy_max, 3) == std::vector<std::size_t>{2, 4, 0});
    CHECK(xnas::best_distinct(s, proxy_max, 1) == std::vector<std::size_t>{2});
    CHECK(xnas::best_distinct(s, proxy_max, 10) == std::vector<std::size_t>{2, 4, 0, 5});
    CHECK(xnas::best_distinct(s, proxy_max, 0).empty());
    const xnas::objective proxy_min{"proxy", xnas::direction::minimize};
    CHECK(xnas::best_distinct(s, proxy_min, 2) == std::vector<std::size_t>{0, 1});
    const xnas::objective absent{"loss", xnas::direction::minimize};
    CHECK(xnas::best_distinct(s, absent, 3).empty());
}

TEST_CASE("best_distinct and reevaluate_best with a coarser notion of one architecture",
          "[run][selection]") {
    // {network, learning rate}: the proxy's top three are network 3 at three learning rates.
    xnas::study<arch> s;
    s.objectives = {proxy_max};
    for (auto [id, a, proxy] :
         std::vector<std::tuple<std::uint64_t, arch, double>>{{0, {1, 0}, 0.50},
                                                              {1, {3, 0}, 0.90},
                                                              {2, {3, 1}, 0.95},
                                                              {3, {2, 0}, 0.70},
                                                              {4, {3, 2}, 0.85},
                                                              {5, {2, 1}, 0.60}})
        s.history.push_back(scored_trial(id, a, proxy));
    auto same_network = [](const arch& a, const arch& b) { return a[0] == b[0]; };
    CHECK(xnas::best_distinct(s, proxy_max, 3) == std::vector<std::size_t>{2, 1, 4});
    // Each network's best trial stands for it: 3-1, then 2-0, then 1-0.
    CHECK(xnas::best_distinct(s, proxy_max, 3, same_network) == std::vector<std::size_t>{2, 3, 0});
    CHECK(xnas::best_distinct(s, proxy_max, 10, same_network) == std::vector<std::size_t>{2, 3, 0});
    // The re-evaluation sees network 1 best; its trial keeps its learning rate.
    xnas::function_evaluator ev([](const xnas::trial<arch>& t) {
        xnas::evaluation e;
        e.objectives["proxy"] = t.architecture[0] == 1 ? 0.99 : 0.5 - 0.1 * t.architecture[0];
        return e;
    });
    for (std::size_t workers : {1, 2}) {
        const auto r = xnas::reevaluate_best(s, ev, proxy_max, 3, workers, same_network);
        REQUIRE(r.size() == 3);
        CHECK(ids(r) == std::vector<std::uint64_t>{0, 3, 2});
        CHECK(r[0].result.t.architecture == arch{1, 0});
    }
}

TEST_CASE("reevaluate_best ranks the proxy's best by the second evaluation", "[run][selection]") {
    const auto s = noisy_study();
    xnas::function_evaluator ev(true_score);
    const auto r = xnas::reevaluate_best(s, ev, proxy_max, 4);
    REQUIRE(r.size() == 4);
    CHECK(ids(r) ==
          std::vector<std::uint64_t>{5, 4, 0, 2}); // 1-1, 2-2, 0-0, 3-3: the truth's order
    CHECK(r[0].history_index == 5);
    CHECK(r[0].result.t.architecture == arch{1, 1});
    CHECK(r[0].result.e.value("proxy") == 0.9);
    // The low-fidelity trial is re-evaluated at full fidelity; the study is left as it was.
    for (const auto& x : r)
        CHECK(x.result.e.value("asked_fidelity") == 1.0);
    CHECK(s.history[5].t.fidelity == 0.25);

    SECTION("two workers: the same ranking and results") {
        auto shared = xnas::make_thread_safe_evaluator(true_score);
        const auto r2 = xnas::reevaluate_best(s, shared, proxy_max, 4, 2);
        REQUIRE(r2.size() == r.size());
        for (std::size_t i = 0; i < r.size(); ++i) {
            CHECK(r2[i].history_index == r[i].history_index);
            CHECK(r2[i].result.t == r[i].result.t);
            CHECK(r2[i].result.e == r[i].result.e);
        }
    }
    SECTION("zero workers is an error") {
        CHECK_THROWS_AS(xnas::reevaluate_best(s, ev, proxy_max, 3, 0), std::invalid_argument);
    }
}

TEST_CASE("reevaluate_best keeps failed re-evaluations last, with their reason",
          "[run][selection]") {
    const auto s = noisy_study();
    xnas::function_evaluator ev([](const xnas::trial<arch>& t) {
        if (t.architecture == arch{1, 1})
            throw std::runtime_error("candidate 1-1 ran out of memory");
        if (t.architecture == arch{2, 2}) { // ok, but without the objective
            xnas::evaluation e;
            e.objectives["other"] = 1;
            return e;
        }
        return true_score(t);
    });
    for (std::size_t workers : {1, 2}) {
        const auto r = xnas::reevaluate_best(s, ev, proxy_max, 4, workers);
        REQUIRE(r.size() == 4);
        CHECK(r[0].result.t.id == 0); // the successes by their new score: 0-0, then 3-3
        CHECK(r[0].result.e.ok());
        CHECK(r[1].result.t.id == 2);
        // The failures in the search's order: 2-2 (id 4) before 1-1 (id 5).
        CHECK(r[2].result.t.id == 4);
        CHECK(r[2].result.e.state == xnas::status::failed);
        CHECK(r[2].result.e.message.find("lacks objective 'proxy'") != std::string::npos);
        CHECK(r[3].result.t.id == 5);
        CHECK(r[3].result.e.state == xnas::status::failed);
        CHECK(r[3].result.e.message == "candidate 1-1 ran out of memory");
    }
}

TEST_CASE("a search's winner changes when the final selection overrules a noisy proxy",
          "[run][selection]") {
    // The proxy adds a deterministic per-architecture bias to the true score (closeness to 7),
    // large enough to reorder the top; the re-evaluation sees the truth. Over several seeds the
    // re-evaluated winner is never worse than the proxy's and is the true optimum among the k.
    const test::digit_space space{2, 5};
    auto bias = [](const arch& a) { return static_cast<double>((a[0] * 7 + a[1] * 3) % 5); };
    auto proxy = xnas::function_evaluator(
        [&](const arch& a) { return test::score(a) + 4 * bias(a); }, {.objective = "score"});
    auto true_eval = xnas::function_evaluator([](const arch& a) { return test::score(a); },
                                              {.objective = "score"});
    const xnas::objective score_max{"score", xnas::direction::maximize};
    bool overruled = false;
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        test::random_strategy st;
        const auto s = xnas::search(space, st, proxy,
                                    {.objectives = {score_max}, .max_trials = 60, .seed = seed});
        const auto r = xnas::reevaluate_best(s, true_eval, score_max, 5);
        REQUIRE(r.size() == 5);
        const double proxy_winner_truth = test::score(s.best().t.architecture);
        double best_truth_among_k = -1e300;
        for (const auto& x : r)
            best_truth_among_k = std::max(best_truth_among_k, test::score(x.result.t.architecture));
        CHECK(r[0].result.e.value("score") == best_truth_among_k);
        CHECK(r[0].result.e.value("score") >= proxy_winner_truth);
        overruled = overruled || r[0].result.t.architecture != s.best().t.architecture;
    }
    CHECK(overruled);
}

TEST_CASE("the final selection takes any selector for its candidates", "[run][selection]") {
    auto s = noisy_study();
    for (std::size_t i = 0; i < s.history.size(); ++i)
        s.history[i].e.metrics["params"] = static_cast<double>(10 * i);
    // Without a generator: top_k is the objective form, a constraint filter narrows it.
    CHECK(xnas::best_distinct(s, xnas::top_k{proxy_max}, 3) ==
          xnas::best_distinct(s, proxy_max, 3));
    const auto small = xnas::with_constraints({xnas::bound{.metric = "params", .max = 35}},
                                              xnas::top_k{proxy_max});
    CHECK(xnas::best_distinct(s, small, 3) == std::vector<std::size_t>{2, 1, 0});
    // A selector's order is its preference: pareto over proxy and params puts the front first.
    const xnas::pareto front{{proxy_max, {"params", xnas::direction::minimize}}};
    CHECK(xnas::best_distinct(s, front, 2) == std::vector<std::size_t>{0, 1});
    // A selector that draws takes the caller's generator: the same seed, the same picks.
    const xnas::tournament draw{2, proxy_max};
    xnas::rng g1(5), g2(5);
    const auto a = xnas::best_distinct(s, draw, 3, g1);
    CHECK(a == xnas::best_distinct(s, draw, 3, g2));
    CHECK(a.size() == 3);

    xnas::function_evaluator ev(true_score);
    const auto r = xnas::reevaluate_best(s, ev, small, proxy_max, 3);
    CHECK(ids(r) == std::vector<std::uint64_t>{1, 0, 2}); // 2-2, 0-0, 3-3: the truth's order
    const auto from_draw = xnas::reevaluate(s, ev, std::span<const std::size_t>(a), proxy_max);
    REQUIRE(from_draw.size() == 3);
    CHECK_THROWS_AS(xnas::reevaluate(s, ev, std::vector<std::size_t>{6}, proxy_max),
                    std::out_of_range);
}
