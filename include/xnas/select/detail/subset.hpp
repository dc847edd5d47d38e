#pragma once
// Internals shared by the selectors that compose another: letting the inner selector choose
// among part of a population, its picks mapped back to the whole population's positions.

#include <cstddef>
#include <span>
#include <vector>
#include <xnas/core/trial.hpp>

namespace xnas::detail {

/// `choose(kept)` over the trials of `pop` whose evaluation satisfies `keep`, copied
/// contiguously (a selector takes a span); the positions it returns, which index `kept`, come
/// back as positions in `pop`.
template <class A, class Keep, class Choose>
std::vector<std::size_t> select_among(std::span<const scored<A>> pop, Keep keep, Choose choose) {
    std::vector<scored<A>> kept;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < pop.size(); ++i)
        if (keep(pop[i].e)) {
            kept.push_back(pop[i]);
            where.push_back(i);
        }
    auto chosen = choose(std::span<const scored<A>>(kept));
    for (auto& c : chosen)
        c = where[c];
    return chosen;
}

} // namespace xnas::detail
