// A space without neighbours: local_search refuses it, naming neighbourhood_space.
#include <vector>
#include <xnas/strategy/local_search.hpp>

struct cells {
    using architecture = int;
    architecture sample(xnas::rng&) const { return 0; }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
#ifdef XNAS_COMPLETE
    std::vector<architecture> neighbours(architecture a) const {
        return {a + 1};
    }
#endif
};

xnas::local_search<cells> search;
