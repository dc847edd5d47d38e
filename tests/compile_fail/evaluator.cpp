// An evaluator whose evaluate returns a bare score: xnas::search refuses it, naming evaluator.
#include <cstdint>
#include <xnas/run/search.hpp>

struct cells {
    using architecture = int;
    architecture sample(xnas::rng& g) const { return static_cast<int>(g.below(4)); }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
};

struct draw {
    xnas::trial<int> ask(const cells& s, xnas::rng& g) { return {next++, s.sample(g)}; }
    void tell(const xnas::trial<int>&, const xnas::evaluation&) {}
    std::uint64_t next = 0;
};

struct score {
#ifdef XNAS_COMPLETE
    xnas::evaluation evaluate(const xnas::trial<int>&) {
        return {};
    }
#else
    double evaluate(const xnas::trial<int>& t) {
        return t.architecture;
    }
#endif
};

auto run() {
    return xnas::search(cells{}, draw{}, score{}, {.max_trials = 1});
}
