#pragma once
// xnas::tournament: k winners of tournaments among random trials, by one objective.

#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>

namespace xnas {

/// Tournament selection (Goldberg & Deb, 1991): each of the k picks draws `size` distinct
/// candidates uniformly from the not-yet-picked valid trials and keeps the best by `by` (ties go
/// to the earlier drawn). Failed trials are never picked. Returned indices are distinct, so when
/// fewer than `size` candidates remain the tournament is among all of them. O(k * size).
struct tournament {
    std::size_t size = 2;
    objective by;

    template <class A>
    std::vector<std::size_t> select(std::span<const scored<A>> pop, std::size_t k, rng& g) const {
        if (size == 0)
            throw std::invalid_argument("xnas::tournament::select: size = 0, expected >= 1");
        std::vector<std::size_t> pool;
        for (std::size_t i = 0; i < pop.size(); ++i)
            if (!std::isnan(pop[i].e.value(by.name)))
                pool.push_back(i);
        std::vector<std::size_t> out;
        while (out.size() < k && !pool.empty()) {
            // Partial Fisher-Yates: the first m slots of pool become the tournament.
            const std::size_t m = size < pool.size() ? size : pool.size();
            std::size_t winner = 0;
            for (std::size_t j = 0; j < m; ++j) {
                const std::size_t r = j + g.below(pool.size() - j);
                std::swap(pool[j], pool[r]);
                if (j > 0 && better(pop[pool[j]].e.value(by.name),
                                    pop[pool[winner]].e.value(by.name), by.dir))
                    winner = j;
            }
            out.push_back(pool[winner]);
            pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(winner));
        }
        return out;
    }
};

static_assert(selector<tournament, int>);

} // namespace xnas
