// A space without mutate: random_search refuses it, naming search_space.
#include <xnas/strategy/random_search.hpp>

struct cells {
    using architecture = int;
    architecture sample(xnas::rng&) const { return 0; }
#ifdef XNAS_COMPLETE
    architecture mutate(architecture a, xnas::rng&) const {
        return a;
    }
#endif
};

xnas::random_search<cells> search;
