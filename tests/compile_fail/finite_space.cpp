// A space whose size is a member variable, not cardinality(), does not model finite_space.
#include <xnas/core/concepts.hpp>

struct cells {
    using architecture = int;
    architecture sample(xnas::rng&) const { return 0; }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
#ifdef XNAS_COMPLETE
    double cardinality() const {
        return 4;
    }
#else
    double cardinality = 4;
#endif
};

static_assert(xnas::finite_space<cells>);
