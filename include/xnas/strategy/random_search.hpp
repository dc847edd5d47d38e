#pragma once
// xnas::random_search: architectures drawn independently from the space's sample(). The
// baseline every other strategy must beat (Li & Talwalkar, 2019, "Random Search and
// Reproducibility for Neural Architecture Search", arXiv:1902.07638).

#include <cstdint>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/strategy/detail/archetype.hpp>
#include <xnas/strategy/detail/common.hpp>

namespace xnas {

/// Options of random_search.
struct random_search_options {
    /// Fidelity of every asked trial (share of the full training budget, in (0, 1]).
    double fidelity = 1.0;
    /// When true, ask never repeats an architecture it already asked, as long as a fresh one
    /// turns up in `max_redraws` draws (then it gives up and repeats, so ask never blocks).
    bool unique = false;
    int max_redraws = 100;
};

/// Random search: each ask draws space.sample(g); tell does nothing (the driver keeps the best).
/// Works on any search_space; asks may run ahead of tells without limit. Overhead per trial:
/// one sample() call (plus a set lookup with .unique). No observe: it learns from no result.
template <search_space Space>
class random_search {
  public:
    using architecture = typename Space::architecture;

    explicit random_search(random_search_options options = {})
        : options_(options) {}

    trial<architecture> ask(const Space& space, rng& g) {
        trial<architecture> t;
        t.id = next_id_++;
        t.fidelity = options_.fidelity;
        t.architecture = space.sample(g);
        if (options_.unique) {
            for (int i = 0; i < options_.max_redraws && seen_.contains(space, t.architecture); ++i)
                t.architecture = space.sample(g);
            seen_.insert(space, t.architecture);
        }
        return t;
    }

    void tell(const trial<architecture>&, const evaluation&) {}

    const random_search_options& options() const { return options_; }

  private:
    random_search_options options_;
    std::uint64_t next_id_ = 0;
    detail::arch_set<Space> seen_;
};

static_assert(strategy<random_search<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
