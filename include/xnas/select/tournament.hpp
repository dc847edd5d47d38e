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

/// Tournament selection (Goldberg & Deb, 1991): each of the k picks draws `size` candidates
/// uniformly from the not-yet-picked valid trials and keeps the best by `by` (an empty name: the
/// evaluation's only objective; ties go to the earlier drawn). Failed trials are never picked,
/// and returned indices are distinct: a winner leaves the pool. Without replacement (the default)
/// a tournament's candidates are distinct, so when fewer than `size` remain it is among all of
/// them; with replacement a candidate may be drawn twice, as regularized evolution's tournament
/// of S members does (Real et al., 2019). O(n + k * size), plus O(k n) to remove the winners.
struct tournament {
    std::size_t size = 2;
    objective by;
    bool with_replacement = false;

    template <class A>
    std::vector<std::size_t> select(std::span<const scored<A>> pop, std::size_t k, rng& g) const {
        if (size == 0)
            throw std::invalid_argument("xnas::tournament::select: size = 0, expected >= 1");
        std::vector<std::size_t> pool;
        std::vector<double> value(pop.size());
        for (std::size_t i = 0; i < pop.size(); ++i) {
            value[i] = objective_value(pop[i].e, by, "xnas::tournament::select");
            if (!std::isnan(value[i]))
                pool.push_back(i);
        }
        std::vector<std::size_t> out;
        while (out.size() < k && !pool.empty()) {
            std::size_t winner = 0; // a position in pool
            if (with_replacement) {
                winner = g.below(pool.size());
                for (std::size_t j = 1; j < size; ++j) {
                    const std::size_t c = g.below(pool.size());
                    if (better(value[pool[c]], value[pool[winner]], by.dir))
                        winner = c;
                }
            } else {
                // Partial Fisher-Yates: the first m slots of pool become the tournament.
                const std::size_t m = size < pool.size() ? size : pool.size();
                for (std::size_t j = 0; j < m; ++j) {
                    const std::size_t r = j + g.below(pool.size() - j);
                    std::swap(pool[j], pool[r]);
                    if (j > 0 && better(value[pool[j]], value[pool[winner]], by.dir))
                        winner = j;
                }
            }
            out.push_back(pool[winner]);
            pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(winner));
        }
        return out;
    }
};

static_assert(selector<tournament, int>);

} // namespace xnas
