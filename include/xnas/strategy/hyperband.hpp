#pragma once
// xnas::hyperband: successive halving brackets that trade the number of architectures against
// their starting fidelity (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, 2018, "Hyperband: A
// Novel Bandit-Based Approach to Hyperparameter Optimization", JMLR 18, arXiv:1603.06560).

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

/// Options of hyperband. R of the paper is max_fidelity; r_min = min_fidelity.
struct hyperband_options {
    double min_fidelity = 1.0 / 27;
    double max_fidelity = 1.0;
    /// Keep 1/eta of each rung, multiply the fidelity by eta.
    double eta = 3;
    /// The objective to maximize (or minimize, by its direction); empty name: the evaluation's
    /// only objective.
    xnas::objective objective{};
    /// Several objectives: each rung promotes by non-dominated front, then crowding distance
    /// (after Schmucker et al., 2021, "Multi-objective Asynchronous Successive Halving").
    /// When set, `objective` is not read.
    std::vector<xnas::objective> objectives{};
};

/// Hyperband. With s_max = floor(log_eta(max/min)), bracket s = s_max, ..., 0 starts
/// n = ceil((s_max + 1) / (s + 1) * eta^s) architectures at fidelity max * eta^-s and runs
/// successive halving on them; the brackets cycle for as long as the driver asks. Re-evaluations
/// are new trials (new id, parents = {the previous rung's trial}). Asynchronous: while a rung
/// waits for tells, asks start the next bracket. No observe (tells of trials it did not ask are
/// ignored): a bracket ranks only the architectures it started; bohb models results.
template <search_space Space>
class hyperband {
  public:
    using architecture = typename Space::architecture;

    explicit hyperband(hyperband_options options = {})
        : options_(std::move(options))
        , scheduler_(detail::hyperband_cycle(options_.min_fidelity, options_.max_fidelity,
                                             options_.eta, "xnas::hyperband"),
                     options_.max_fidelity, options_.eta,
                     detail::ranking_objectives(options_.objectives, options_.objective),
                     "xnas::hyperband") {}

    trial<architecture> ask(const Space& space, rng& g) { return scheduler_.ask(space, g); }
    void tell(const trial<architecture>& t, const evaluation& e) { scheduler_.tell(t, e); }

    std::size_t completed_brackets() const { return scheduler_.completed_brackets(); }
    /// Trials it will not promote any more, since the last call (see retiring_strategy).
    std::vector<std::uint64_t> take_retired() { return scheduler_.take_retired(); }
    const hyperband_options& options() const { return options_; }

  private:
    hyperband_options options_;
    detail::bracket_scheduler<Space> scheduler_;
};

static_assert(strategy<hyperband<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
