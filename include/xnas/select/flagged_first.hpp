#pragma once
// xnas::flagged_first: trials a method flagged (a metric it set to nonzero) before the ones
// another selector picks, e.g. the cell DARTS derives, which the final selection retrains
// whatever its shared-weight score.

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/select/detail/subset.hpp>

namespace xnas {

/// Selects the succeeded trials whose metric `flag` is set and nonzero first, in population
/// order, then fills the k places with `inner`'s picks among the others. Draws only what `inner`
/// draws.
template <class Inner>
struct flagged_first {
    std::string flag;
    Inner inner;

    bool flagged(const evaluation& e) const {
        const double v = e.value(flag);
        return e.ok() && !std::isnan(v) && v != 0;
    }

    template <class A>
    requires deterministic_selector<const Inner, A> std::vector<std::size_t>
    select(std::span<const scored<A>> pop, std::size_t k)
    const {
        return combined(pop, k, [&](std::span<const scored<A>> rest, std::size_t n) {
            return inner.select(rest, n);
        });
    }

    template <class A>
    requires selector<const Inner, A> std::vector<std::size_t>
    select(std::span<const scored<A>> pop, std::size_t k, rng& g)
    const {
        return combined(pop, k, [&](std::span<const scored<A>> rest, std::size_t n) {
            return inner.select(rest, n, g);
        });
    }

  private:
    template <class A, class Choose>
    std::vector<std::size_t> combined(std::span<const scored<A>> pop, std::size_t k,
                                      Choose choose) const {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < pop.size() && out.size() < k; ++i)
            if (flagged(pop[i].e))
                out.push_back(i);
        if (out.size() < k) {
            const std::size_t left = k - out.size();
            for (std::size_t i : detail::select_among(
                     pop, [this](const evaluation& e) { return !flagged(e); },
                     [&](std::span<const scored<A>> rest) { return choose(rest, left); }))
                out.push_back(i);
        }
        return out;
    }
};

/// `first_flagged("derived", top_k{{"val_accuracy"}})`.
template <class Inner>
flagged_first<Inner> first_flagged(std::string flag, Inner inner) {
    return {std::move(flag), std::move(inner)};
}

} // namespace xnas
