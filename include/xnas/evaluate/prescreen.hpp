#pragma once
// xnas::prescreen: scores many sampled architectures with a cheap evaluator (a zero-cost proxy,
// zero_cost_evaluator) and keeps the best few distinct ones, so that expensive training is
// spent only on candidates the proxy does not rule out.

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/strategy/detail/common.hpp>

namespace xnas {

/// Draws `n` architectures from `space` (space.sample(g), n times), evaluates each distinct one
/// once with `ev` as trial {id = its draw index, fidelity 1}, and returns the `k` best by `by`,
/// best first; ties keep the draw order. Failed evaluations and ones without `by` are left out,
/// so fewer than k come back when fewer than k distinct architectures score. Serial: one
/// evaluation after another in the calling thread. Deterministic given g's state and a
/// deterministic evaluator.
///
/// To start a search from the picks, train them with the search's evaluator and hand each
/// result to the strategy's observe (observing_strategy: tpe, evolution, bananas, nsga2, local
/// search, bohb), as xnas-search --prescreen does; or keep the best trained one, as the NASWOT
/// paper's own search does (sample N, score untrained, train the best).
template <search_space S, class E>
requires evaluator<E, typename S::architecture> std::vector<scored<typename S::architecture>>
prescreen(const S& space, E& ev, std::size_t n, std::size_t k, rng& g, const objective& by) {
    using A = typename S::architecture;
    std::vector<scored<A>> ok;
    detail::arch_set<S> seen;
    for (std::size_t i = 0; i < n; ++i) {
        A a = space.sample(g);
        if (!seen.insert(space, a))
            continue;
        trial<A> t{i, std::move(a)};
        evaluation e = ev.evaluate(t);
        if (!std::isnan(e.value(by.name)))
            ok.push_back({std::move(t), std::move(e)});
    }
    std::stable_sort(ok.begin(), ok.end(), [&](const scored<A>& a, const scored<A>& b) {
        return better(a.e.value(by.name), b.e.value(by.name), by.dir);
    });
    if (ok.size() > k)
        ok.erase(ok.begin() + static_cast<std::ptrdiff_t>(k), ok.end());
    return ok;
}

/// prescreen by the objective the evaluator names (zero_cost_evaluator::objective()).
template <search_space S, class E>
requires evaluator<E, typename S::architecture> && requires(const E& e) {
    { e.objective() } -> std::convertible_to<objective>;
}
std::vector<scored<typename S::architecture>> prescreen(const S& space, E& ev, std::size_t n,
                                                        std::size_t k, rng& g) {
    return prescreen(space, ev, n, k, g, objective(ev.objective()));
}

} // namespace xnas
