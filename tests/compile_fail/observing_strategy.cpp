// A strategy whose observe takes no space does not model observing_strategy (a warm start would
// tell it its seeds instead).
#include <xnas/core/concepts.hpp>

struct cells {
    using architecture = int;
    architecture sample(xnas::rng&) const { return 0; }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
};

struct draw {
    xnas::trial<int> ask(const cells& s, xnas::rng& g) { return {0, s.sample(g)}; }
    void tell(const xnas::trial<int>&, const xnas::evaluation&) {}
#ifdef XNAS_COMPLETE
    void observe(const cells&, const xnas::trial<int>&, const xnas::evaluation&) {}
#else
    void observe(const xnas::trial<int>&, const xnas::evaluation&) {}
#endif
};

static_assert(xnas::observing_strategy<draw, cells>);
