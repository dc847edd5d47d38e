// A selector whose select takes no generator: regularized_evolution refuses it as its parent
// selector, naming selector.
#include <cstddef>
#include <span>
#include <vector>
#include <xnas/strategy/regularized_evolution.hpp>

struct cells {
    using architecture = int;
    architecture sample(xnas::rng&) const { return 0; }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
};

struct first {
#ifdef XNAS_COMPLETE
    std::vector<std::size_t> select(std::span<const xnas::scored<int>> pop, std::size_t k,
                                    xnas::rng&) const {
#else
    std::vector<std::size_t> select(std::span<const xnas::scored<int>> pop, std::size_t k) const {
#endif
        return pop.empty() || k == 0 ? std::vector<std::size_t>{} : std::vector<std::size_t>{0};
}
}
;

xnas::regularized_evolution<cells, first> search;
