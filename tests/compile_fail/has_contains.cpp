// A space whose membership test has another name does not model has_contains (tpe and
// reinforce would not check their proposals against it).
#include <xnas/core/concepts.hpp>

struct cells {
    using architecture = int;
    architecture sample(xnas::rng&) const { return 0; }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
#ifdef XNAS_COMPLETE
    bool contains(architecture a) const {
        return a >= 0;
    }
#else
    bool has(architecture a) const {
        return a >= 0;
    }
#endif
};

static_assert(xnas::has_contains<cells>);
