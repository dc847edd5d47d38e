#pragma once
// xnas::reevaluate_best: a search's final selection. The k best distinct architectures of a study
// (by a selector: top_k of one objective unless told otherwise) are evaluated once more by a second
// evaluator (typically longer training on more data) and ranked by that evaluation. A search ranks
// by a cheap proxy: among near-equal candidates its order is mostly training noise, and a few
// epochs on a data subset favour networks that learn fast over networks that end best. The winner's
// curse of taking the proxy's maximum shrinks when the last word goes to an evaluation closer to
// the final training.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/study.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/run/search.hpp>
#include <xnas/select/top_k.hpp>

namespace xnas {

/// A trial of a study evaluated once more.
template <class A>
struct reevaluated {
    std::size_t history_index; ///< the trial's position in study::history
    scored<A> result;          ///< the same trial (id, architecture; fidelity 1) and its new result
};

namespace detail {
// The first k positions of `order` (a selector's preference, best first) with distinct
// architectures, after a stable sort that puts higher fidelities first.
template <class A, class Same>
std::vector<std::size_t> distinct_by_fidelity(const study<A>& s, std::vector<std::size_t> order,
                                              std::size_t k, const Same& same) {
    for (std::size_t i : order)
        if (i >= s.history.size())
            throw std::logic_error("xnas::best_distinct: the selector picked " + std::to_string(i) +
                                   " in a history of " + std::to_string(s.history.size()));
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return s.history[a].t.fidelity > s.history[b].t.fidelity;
    });
    std::vector<std::size_t> out;
    for (std::size_t i : order) {
        if (out.size() == k)
            break;
        const A& a = s.history[i].t.architecture;
        if (std::none_of(out.begin(), out.end(),
                         [&](std::size_t j) { return same(s.history[j].t.architecture, a); }))
            out.push_back(i);
    }
    return out;
}
} // namespace detail

/// Positions in `s.history` of k trials chosen by `sel`, in its order of preference (best
/// first), one per distinct architecture (the first of its trials the selector prefers at the
/// highest fidelity it reached): a strategy that asks an architecture twice, or a multi-fidelity
/// one that promotes it, must not fill the k places with copies. The selector orders the whole
/// history (it is asked for history.size() picks); higher fidelities then rank first, as in
/// study::best_index: a lucky score on a ninth of the data must not displace a full evaluation;
/// lower rungs fill the places full evaluations leave. `same(a, b)` says when two architectures
/// count as one; the default is equality. A coarser one widens the selection: with a network and
/// its training hyperparameters in one architecture, comparing only the networks keeps a TPE
/// search's learning-rate variants of its favourite network from filling every place. This
/// form takes selectors that draw nothing (top_k, pareto, a constraint filter around them).
template <class A, class Sel, class Same = std::equal_to<>>
requires deterministic_selector<std::remove_reference_t<Sel>, A> &&
    std::predicate<const Same&, const A&, const A&>
        std::vector<std::size_t> best_distinct(const study<A>& s, Sel&& sel, std::size_t k,
                                               const Same& same = {}) {
    return detail::distinct_by_fidelity(
        s, sel.select(std::span<const scored<A>>(s.history), s.history.size()), k, same);
}

/// The same for a selector that draws (tournament, a user's), from `g`.
template <class A, class Sel, class Same = std::equal_to<>>
requires selector<std::remove_reference_t<Sel>, A> &&
    std::predicate<const Same&, const A&, const A&>
        std::vector<std::size_t> best_distinct(const study<A>& s, Sel&& sel, std::size_t k, rng& g,
                                               const Same& same = {}) {
    return detail::distinct_by_fidelity(
        s, sel.select(std::span<const scored<A>>(s.history), s.history.size(), g), k, same);
}

/// The k best ok trials by `by`: best_distinct with top_k{by}.
template <class A, class Same = std::equal_to<>>
requires std::predicate<const Same&, const A&, const A&> std::vector<std::size_t>
best_distinct(const study<A>& s, const objective& by, std::size_t k, const Same& same = {}) {
    return best_distinct(s, top_k{by}, k, same);
}

/// Evaluates the trials at positions `picked` of `s.history` again with `ev`, `workers` at a
/// time, and returns them ranked by their new value of `by`, best first (ties keep the order of
/// `picked`). Each trial keeps its id, so a seeded evaluator starts it from the same
/// initialisation, and is evaluated at fidelity 1. A re-evaluation that throws, diverges or lacks
/// `by` stays in the list, ranked last, with its reason: the caller decides what a selection
/// without any success means. Throws std::invalid_argument for workers = 0 and
/// std::out_of_range for a position outside the history.
template <class A, class E>
requires evaluator<std::remove_cvref_t<E>, A> std::vector<reevaluated<A>>
reevaluate(const study<A>& s, E&& ev, std::span<const std::size_t> picked, const objective& by,
           std::size_t workers = 1) {
    using Ev = std::remove_cvref_t<E>;
    if (workers == 0)
        throw std::invalid_argument("xnas::reevaluate: workers = 0, expected >= 1");
    for (std::size_t i : picked)
        if (i >= s.history.size())
            throw std::out_of_range("xnas::reevaluate: position " + std::to_string(i) +
                                    " in a history of " + std::to_string(s.history.size()));
    std::vector<reevaluated<A>> out;
    out.reserve(picked.size());
    auto record = [&](scored<A> r) {
        detail::check_objectives(r.t, r.e, {by});
        std::size_t slot = 0;
        while (s.history[picked[slot]].t.id != r.t.id)
            ++slot;
        out.push_back({picked[slot], std::move(r)});
    };
    auto submit_all = [&](auto& executor) {
        for (std::size_t i : picked) {
            trial<A> t = s.history[i].t;
            t.fidelity = 1.0;
            executor.submit(std::move(t));
        }
        for (std::size_t n = 0; n < picked.size(); ++n)
            record(executor.wait_one());
    };
    if (workers == 1 || picked.size() < 2) {
        detail::serial_executor<Ev, A> executor(ev);
        submit_all(executor);
    } else {
        detail::thread_executor<Ev, A> executor(ev, std::min(workers, picked.size()));
        submit_all(executor);
    }
    // Completion order depends on timing; the ranking must not.
    auto search_rank = [&](std::size_t history_index) {
        return std::find(picked.begin(), picked.end(), history_index) - picked.begin();
    };
    std::sort(out.begin(), out.end(), [&](const reevaluated<A>& a, const reevaluated<A>& b) {
        const double va = a.result.e.value(by.name), vb = b.result.e.value(by.name);
        if (better(va, vb, by.dir))
            return true;
        if (better(vb, va, by.dir))
            return false;
        return search_rank(a.history_index) < search_rank(b.history_index);
    });
    return out;
}

/// The final selection: best_distinct(s, candidates, k, same) evaluated again with `ev` and
/// ranked by `by` (see reevaluate). `candidates` is any selector that draws nothing; for one that
/// draws, pass best_distinct(s, candidates, k, g, same) to reevaluate.
template <class A, class E, class Sel, class Same = std::equal_to<>>
requires deterministic_selector<std::remove_reference_t<Sel>, A> &&
    std::predicate<const Same&, const A&, const A&> && evaluator<std::remove_cvref_t<E>, A>
        std::vector<reevaluated<A>>
        reevaluate_best(const study<A>& s, E&& ev, Sel&& candidates, const objective& by,
                        std::size_t k, std::size_t workers = 1, const Same& same = {}) {
    if (workers == 0)
        throw std::invalid_argument("xnas::reevaluate_best: workers = 0, expected >= 1");
    const std::vector<std::size_t> picked = best_distinct(s, candidates, k, same);
    return reevaluate(s, std::forward<E>(ev), std::span<const std::size_t>(picked), by, workers);
}

/// The final selection of the k best distinct trials by `by` (top_k{by} as the candidates):
/// they are evaluated again with `ev`, `workers` at a time, and ranked by their new value of
/// `by`, best first (ties keep the search's order).
template <class A, class E, class Same = std::equal_to<>>
requires std::predicate<const Same&, const A&, const A&> && evaluator<std::remove_cvref_t<E>, A>
    std::vector<reevaluated<A>> reevaluate_best(const study<A>& s, E&& ev, const objective& by,
                                                std::size_t k, std::size_t workers = 1,
                                                const Same& same = {}) {
    return reevaluate_best(s, std::forward<E>(ev), top_k{by}, by, k, workers, same);
}

} // namespace xnas
