#pragma once
// Constraint filters: keep only trials whose metrics lie within bounds (e.g. params <= 1e6),
// then let another selector choose among them.

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/select/detail/subset.hpp>

namespace xnas {

/// A bound on one objective or metric: feasible when min <= value <= max. A missing value (or a
/// failed trial) is infeasible.
struct bound {
    std::string metric;
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();

    bool feasible(const evaluation& e) const {
        const double v = e.value(metric);
        return !std::isnan(v) && v >= min && v <= max;
    }
};

/// Filters a population to the trials meeting every bound, then lets `inner` select among them;
/// indices come back in terms of the original population. Copies the feasible trials (the inner
/// selector needs them contiguous). Composes: the inner selector may be another filter.
template <class Inner>
struct constraint_filter {
    std::vector<bound> bounds;
    Inner inner;

    bool feasible(const evaluation& e) const {
        for (const auto& b : bounds)
            if (!b.feasible(e))
                return false;
        return true;
    }

    template <class A>
    std::vector<std::size_t> select(std::span<const scored<A>> pop, std::size_t k, rng& g) {
        return filtered(pop,
                        [&](std::span<const scored<A>> kept) { return inner.select(kept, k, g); });
    }
    template <class A>
    requires selector<const Inner, A> std::vector<std::size_t>
    select(std::span<const scored<A>> pop, std::size_t k, rng& g)
    const {
        return filtered(pop,
                        [&](std::span<const scored<A>> kept) { return inner.select(kept, k, g); });
    }

    /// Without a generator when the inner selector draws nothing.
    template <class A>
    requires deterministic_selector<Inner, A> std::vector<std::size_t>
    select(std::span<const scored<A>> pop, std::size_t k) {
        return filtered(pop,
                        [&](std::span<const scored<A>> kept) { return inner.select(kept, k); });
    }
    template <class A>
    requires deterministic_selector<const Inner, A> std::vector<std::size_t>
    select(std::span<const scored<A>> pop, std::size_t k)
    const {
        return filtered(pop,
                        [&](std::span<const scored<A>> kept) { return inner.select(kept, k); });
    }

  private:
    template <class A, class Choose>
    std::vector<std::size_t> filtered(std::span<const scored<A>> pop, Choose choose) const {
        return detail::select_among(
            pop, [this](const evaluation& e) { return feasible(e); }, choose);
    }
};

/// `with_constraints({bound{.metric = "params", .max = 1e6}}, top_k{{"acc"}})`.
template <class Inner>
constraint_filter<Inner> with_constraints(std::vector<bound> bounds, Inner inner) {
    return {std::move(bounds), std::move(inner)};
}

namespace detail {
struct selector_archetype {
    template <class A>
    std::vector<std::size_t> select(std::span<const scored<A>>, std::size_t, rng&) {
        return {};
    }
};
} // namespace detail
static_assert(selector<constraint_filter<detail::selector_archetype>, int>);

} // namespace xnas
