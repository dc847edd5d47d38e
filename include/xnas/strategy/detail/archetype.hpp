#pragma once
// A minimal space modelling every space refinement, only for the static_asserts that check each
// shipped strategy against the concepts it promises (never used at run time).

#include <array>
#include <cstddef>
#include <vector>
#include <xnas/core/rng.hpp>

namespace xnas::detail {

struct archetype_space {
    using architecture = std::array<int, 2>;
    architecture sample(rng&) const { return {}; }
    architecture mutate(const architecture& a, rng&) const { return a; }
    std::vector<architecture> neighbours(const architecture&) const { return {}; }
    std::vector<double> encode(const architecture&) const { return {0.0, 0.0}; }
    std::size_t encoding_size() const { return 2; }
    architecture crossover(const architecture& a, const architecture&, rng&) const { return a; }
    std::vector<std::size_t> decisions() const { return {2, 2}; }
    architecture from_decisions(const std::vector<int>& d) const { return {d[0], d[1]}; }
    std::vector<int> to_decisions(const architecture& a) const { return {a[0], a[1]}; }
};

} // namespace xnas::detail
