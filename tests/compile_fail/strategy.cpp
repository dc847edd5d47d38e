// A strategy without tell: xnas::search refuses it, naming strategy.
#include <cstdint>
#include <xnas/run/search.hpp>

struct cells {
    using architecture = int;
    architecture sample(xnas::rng& g) const { return static_cast<int>(g.below(4)); }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
};

struct draw {
    xnas::trial<int> ask(const cells& s, xnas::rng& g) { return {next++, s.sample(g)}; }
#ifdef XNAS_COMPLETE
    void tell(const xnas::trial<int>&, const xnas::evaluation&) {}
#endif
    std::uint64_t next = 0;
};

struct constant {
    xnas::evaluation evaluate(const xnas::trial<int>&) { return {}; }
};

auto run() {
    return xnas::search(cells{}, draw{}, constant{}, {.max_trials = 1});
}
