#pragma once
// xnas::top_k: the k best trials by one objective.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/trial.hpp>

namespace xnas {

/// Selects the k best trials by `by` (an empty name: the evaluation's only objective), best
/// first; failed trials and trials without the objective are never selected (so fewer than k may
/// come back). Ties keep population order. Draws nothing. O(n log n).
struct top_k {
    objective by;

    template <class A>
    std::vector<std::size_t> select(std::span<const scored<A>> pop, std::size_t k) const {
        std::vector<double> value(pop.size());
        std::vector<std::size_t> idx;
        for (std::size_t i = 0; i < pop.size(); ++i) {
            value[i] = objective_value(pop[i].e, by, "xnas::top_k::select");
            if (!std::isnan(value[i]))
                idx.push_back(i);
        }
        std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
            return better(value[a], value[b], by.dir);
        });
        if (idx.size() > k)
            idx.resize(k);
        return idx;
    }

    template <class A>
    std::vector<std::size_t> select(std::span<const scored<A>> pop, std::size_t k, rng&) const {
        return select(pop, k);
    }
};

static_assert(deterministic_selector<top_k, int>);

} // namespace xnas
