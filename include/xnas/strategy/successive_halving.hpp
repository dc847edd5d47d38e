#pragma once
// xnas::successive_halving: evaluate many architectures cheaply, re-evaluate the best 1/eta at
// eta times the fidelity, repeat up to full fidelity (Jamieson & Talwalkar, 2016, "Non-
// stochastic Best Arm Identification and Hyperparameter Optimization", arXiv:1502.07943; the
// bracket form of Li et al., 2018, arXiv:1603.06560).

#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/strategy/detail/archetype.hpp>
#include <xnas/strategy/detail/brackets.hpp>
#include <xnas/strategy/detail/common.hpp>

namespace xnas {

/// Options of successive_halving.
struct successive_halving_options {
    /// Fidelity of the first rung is the largest max_fidelity / eta^k that is >= min_fidelity.
    double min_fidelity = 1.0 / 27;
    double max_fidelity = 1.0;
    /// Keep 1/eta of each rung, multiply the fidelity by eta.
    double eta = 3;
    /// Architectures at the first rung of each bracket; 0: eta^k (one survives to the top).
    std::size_t n = 0;
    /// The objective to maximize (or minimize, by its direction); empty name: the evaluation's
    /// only objective.
    xnas::objective objective{};
    /// Several objectives: each rung promotes by non-dominated front, then crowding distance
    /// (after Schmucker et al., 2021, "Multi-objective Asynchronous Successive Halving").
    /// When set, `objective` is not read.
    std::vector<xnas::objective> objectives{};
};

/// Successive halving, repeated: bracket after bracket of n architectures. Each re-evaluation
/// of a promoted architecture is a new trial (new id, higher fidelity, parents = {its trial at
/// the previous rung}). Asynchronous: while a rung waits for tells, asks start the next bracket,
/// so workers never idle; a rung is promoted once all of its trials are told (failed ones are
/// never promoted). No observe (tells of trials it did not ask are ignored): a bracket ranks
/// only the architectures it started.
template <search_space Space>
class successive_halving {
  public:
    using architecture = typename Space::architecture;

    explicit successive_halving(successive_halving_options options = {})
        : options_(std::move(options))
        , scheduler_(make_cycle(options_), options_.max_fidelity, options_.eta,
                     detail::ranking_objectives(options_.objectives, options_.objective),
                     "xnas::successive_halving") {}

    trial<architecture> ask(const Space& space, rng& g) { return scheduler_.ask(space, g); }
    void tell(const trial<architecture>& t, const evaluation& e) { scheduler_.tell(t, e); }

    std::size_t completed_brackets() const { return scheduler_.completed_brackets(); }
    /// Trials it will not promote any more, since the last call (see retiring_strategy).
    std::vector<std::uint64_t> take_retired() { return scheduler_.take_retired(); }
    const successive_halving_options& options() const { return options_; }

  private:
    static std::vector<detail::bracket_shape> make_cycle(const successive_halving_options& o) {
        const std::size_t k =
            detail::max_halvings(o.min_fidelity, o.max_fidelity, o.eta, "xnas::successive_halving");
        const std::size_t n =
            o.n ? o.n
                : static_cast<std::size_t>(std::llround(std::pow(o.eta, static_cast<double>(k))));
        return {{n, k + 1}};
    }

    successive_halving_options options_;
    detail::bracket_scheduler<Space> scheduler_;
};

static_assert(strategy<successive_halving<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
