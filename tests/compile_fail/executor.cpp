// An executor without wait_one: xnas::search_with refuses it, naming executor.
#include <cstdint>
#include <utility>
#include <vector>
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

struct inline_queue {
    void submit(xnas::trial<int> t) { queued.push_back(std::move(t)); }
#ifdef XNAS_COMPLETE
    xnas::scored<int> wait_one() {
        xnas::scored<int> r{queued.back(), {}};
        queued.pop_back();
        return r;
    }
#endif
    std::vector<xnas::trial<int>> queued;
};

auto run(inline_queue& q) {
    return xnas::search_with(cells{}, draw{}, q, {.max_trials = 1});
}
