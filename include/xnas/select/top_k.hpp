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

/// Selects the k best trials by `by`; failed trials and trials without the objective are never
/// selected (so fewer than k may come back). Ties keep population order. O(n log n).
struct top_k {
    objective by;

    template <class A>
    std::vector<std::size_t> select(std::span<const scored<A>> pop, std::size_t k, rng&) const {
        std::vector<std::size_t> idx;
        for (std::size_t i = 0; i < pop.size(); ++i)
            if (!std::isnan(pop[i].e.value(by.name)))
                idx.push_back(i);
        std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
            return better(pop[a].e.value(by.name), pop[b].e.value(by.name), by.dir);
        });
        if (idx.size() > k)
            idx.resize(k);
        return idx;
    }
};

static_assert(selector<top_k, int>);

} // namespace xnas
