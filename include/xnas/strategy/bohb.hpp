#pragma once
// xnas::bohb: hyperband whose brackets draw their new architectures from TPE models instead of
// uniformly (Falkner, Klein & Hutter, 2018, "BOHB: Robust and Efficient Hyperparameter
// Optimization at Scale", ICML, arXiv:1807.01774). Each fidelity has its own model; a new
// architecture comes from the model of the highest fidelity that has seen enough trials, so the
// cheap rungs steer the search early and the full-fidelity results take over once there are
// enough of them.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/space/decisions.hpp>
#include <xnas/strategy/detail/archetype.hpp>
#include <xnas/strategy/detail/brackets.hpp>
#include <xnas/strategy/detail/common.hpp>
#include <xnas/strategy/tpe.hpp>

namespace xnas {

/// Options of bohb: hyperband's brackets, the share of new architectures drawn uniformly, and
/// the TPE models' options.
struct bohb_options {
    double min_fidelity = 1.0 / 27;
    double max_fidelity = 1.0;
    /// Keep 1/eta of each rung, multiply the fidelity by eta.
    double eta = 3;
    /// Share of new architectures drawn by space.sample() even when a model exists, so that
    /// a model that settled early cannot shut out the rest of the space (the paper's rho).
    double random_fraction = 1.0 / 3;
    /// The per-fidelity TPE models. startup_trials is the number of results a fidelity needs
    /// before its model proposes (the paper's N_min); objective, objectives and fidelity are
    /// ignored (the models rank by bohb's own).
    tpe_options model{};
    /// The objective to maximize (or minimize, by its direction); empty name: the evaluation's
    /// only objective.
    xnas::objective objective{};
    /// Several objectives: each rung promotes by non-dominated front, then crowding distance
    /// (after Schmucker et al., 2021, "Multi-objective Asynchronous Successive Halving").
    /// When set, `objective` is not read.
    std::vector<xnas::objective> objectives{};
};

/// BOHB over a decision space. The brackets, promotions and trial ids are hyperband's (the
/// same bracket_scheduler): with random_fraction = 1 it is hyperband. Every result, promoted
/// re-evaluations included, is told to the model of its fidelity; failures count as the worst.
/// A model redraws proposals that were asked before, as tpe does. Asynchronous like hyperband:
/// pending trials are not modelled. Results of trials it did not ask join a model through observe.
template <decision_space Space>
class bohb {
  public:
    using architecture = typename Space::architecture;

    /// Throws std::invalid_argument naming the field for random_fraction outside [0, 1], and
    /// hyperband's and tpe's errors for their options.
    explicit bohb(bohb_options options = {})
        : options_(std::move(options))
        , scheduler_(detail::hyperband_cycle(options_.min_fidelity, options_.max_fidelity,
                                             options_.eta, "xnas::bohb"),
                     options_.max_fidelity, options_.eta,
                     detail::ranking_objectives(options_.objectives, options_.objective),
                     "xnas::bohb") {
        if (!(options_.random_fraction >= 0 && options_.random_fraction <= 1))
            throw std::invalid_argument("xnas::bohb: random_fraction is " +
                                        std::to_string(options_.random_fraction) +
                                        ", expected in [0, 1]");
        tpe<Space> check(options_.model); // validates the model options now, not at first use
    }

    trial<architecture> ask(const Space& space, rng& g) {
        auto t = scheduler_.ask(space, g, [this](const Space& s, rng& gg) { return fresh(s, gg); });
        pending_.emplace(t.id, xnas::to_decisions(space, t.architecture));
        return t;
    }

    /// Tells the brackets and the model of the trial's fidelity; unknown or repeated ids are
    /// ignored.
    void tell(const trial<architecture>& t, const evaluation& e) {
        const auto it = pending_.find(t.id);
        if (it == pending_.end())
            return;
        scheduler_.tell(t, e);
        auto& model = model_at(t.fidelity);
        model.record(std::move(it->second), scores(e, "xnas::bohb::tell"), model.cost_of(e));
        pending_.erase(it);
    }

    /// Tells the model of the rung nearest t.fidelity (on a log scale; fidelities outside the
    /// brackets' range go to the lowest or highest rung) the result of a trial this strategy did
    /// not ask, as tell would: so a warm start's full-fidelity seeds steer the top model, whose
    /// proposals take over once it has startup_trials results. Brackets never see it: their
    /// promotions rank only the architectures they started. Its architecture is not proposed
    /// by a model again.
    void observe(const Space& space, const trial<architecture>& t, const evaluation& e) {
        seen_.insert(space, t.architecture);
        auto& model = model_at(nearest_rung(t.fidelity));
        model.record(xnas::to_decisions(space, t.architecture), scores(e, "xnas::bohb::observe"),
                     model.cost_of(e));
    }

    /// The share of the search's budget spent, handed to the model that proposes next (see
    /// tpe::set_progress; only tpe_options::cost_cooling reads it).
    void set_progress(double p) { progress_ = p; }

    std::size_t completed_brackets() const { return scheduler_.completed_brackets(); }
    /// Trials it will not promote any more, since the last call (see retiring_strategy).
    std::vector<std::uint64_t> take_retired() { return scheduler_.take_retired(); }
    /// New architectures drawn from a model so far (the rest were uniform draws).
    std::size_t model_proposals() const { return model_proposals_; }
    /// The fidelity whose model proposed last; 0 before any model proposed.
    double model_fidelity() const { return model_fidelity_; }
    const bohb_options& options() const { return options_; }

  private:
    std::vector<double> scores(const evaluation& e, const char* who) const {
        return detail::scores_of(
            e, detail::ranking_objectives(options_.objectives, options_.objective), who);
    }

    // The rung fidelity (computed as the brackets compute it, so the model keys match) nearest
    // f in log(f): a result lands in the model of the rung whose results it is most like.
    double nearest_rung(double f) const {
        const std::size_t s_max = detail::max_halvings(options_.min_fidelity, options_.max_fidelity,
                                                       options_.eta, "xnas::bohb");
        double best = options_.max_fidelity;
        double distance = std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k <= s_max; ++k) {
            const double rung =
                options_.max_fidelity * std::pow(options_.eta, -static_cast<double>(k));
            const double d = f > 0 ? std::abs(std::log(f / rung)) : static_cast<double>(s_max - k);
            if (d < distance) {
                distance = d;
                best = rung;
            }
        }
        return best;
    }

    tpe<Space>& model_at(double fidelity) {
        auto it = models_.find(fidelity);
        if (it == models_.end())
            it = models_.emplace(fidelity, tpe<Space>(options_.model)).first;
        return it->second;
    }

    architecture fresh(const Space& space, rng& g) {
        // No draw at the ends, so that random_fraction = 1 repeats hyperband trial for trial.
        const double rho = options_.random_fraction;
        const bool uniform = rho >= 1 || (rho > 0 && g.uniform() < rho);
        tpe<Space>* chosen = nullptr;
        if (!uniform)
            for (auto it = models_.rbegin(); it != models_.rend() && !chosen; ++it)
                if (it->second.observations() >= options_.model.startup_trials &&
                    it->second.observations() > 0) {
                    chosen = &it->second;
                    model_fidelity_ = it->first;
                }
        if (!chosen) {
            architecture a = space.sample(g);
            seen_.insert(space, a);
            return a;
        }
        ++model_proposals_;
        chosen->set_progress(progress_);
        return chosen->propose_new(space, g, seen_);
    }

    bohb_options options_;
    detail::bracket_scheduler<Space> scheduler_;
    std::map<double, tpe<Space>> models_; // by fidelity, lowest first
    std::unordered_map<std::uint64_t, std::vector<int>> pending_;
    detail::arch_set<Space> seen_;
    std::size_t model_proposals_ = 0;
    double progress_ = 0;
    double model_fidelity_ = 0;
};

static_assert(observing_strategy<bohb<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
