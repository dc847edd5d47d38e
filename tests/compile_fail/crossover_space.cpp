// A space whose crossover takes no generator does not model crossover_space (evolution would
// then never recombine it); a static_assert says so, naming the concept.
#include <xnas/core/concepts.hpp>

struct cells {
    using architecture = int;
    architecture sample(xnas::rng&) const { return 0; }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
#ifdef XNAS_COMPLETE
    architecture crossover(architecture a, architecture, xnas::rng&) const {
        return a;
    }
#else
    architecture crossover(architecture a, architecture) const {
        return a;
    }
#endif
};

static_assert(xnas::crossover_space<cells>);
