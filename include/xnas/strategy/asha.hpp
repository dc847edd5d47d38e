#pragma once
// xnas::asha: asynchronous successive halving (Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur,
// Hardt, Recht & Talwalkar, 2020, "A System for Massively Parallel Hyperparameter Tuning",
// MLSys, arXiv:1810.05934).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/strategy/detail/archetype.hpp>
#include <xnas/strategy/detail/brackets.hpp>
#include <xnas/strategy/detail/common.hpp>

namespace xnas {

/// Options of asha.
struct asha_options {
    /// Rung k runs at max_fidelity * eta^(k - K), K = floor(log_eta(max / min)).
    double min_fidelity = 1.0 / 27;
    double max_fidelity = 1.0;
    /// A trial is promoted when it is in the top 1/eta of its rung's results so far.
    double eta = 3;
    /// The objective to maximize (or minimize, by its direction); empty name: the evaluation's
    /// only objective.
    xnas::objective objective{};
    /// Several objectives (MO-ASHA, Schmucker et al., 2021): a rung ranks its results by
    /// non-dominated front, then by crowding distance, and promotes from the top of that order.
    /// When set, `objective` is not read.
    std::vector<xnas::objective> objectives{};
};

/// ASHA (Algorithm 2 of the paper). Each ask looks for a promotable trial, from the highest
/// rung below the top down: a trial in the top floor(|rung| / eta) of its rung's told results
/// and not yet promoted is re-asked one rung up (new id, fidelity * eta, parents = {its id});
/// when none is promotable, a new random architecture starts at the lowest rung. Never waits
/// for tells, so it suits many parallel workers; tells in any order. No observe (tells of trials
/// it did not ask are ignored): a rung ranks only the trials it ran.
template <search_space Space>
class asha {
  public:
    using architecture = typename Space::architecture;

    explicit asha(asha_options options = {})
        : options_(std::move(options)) {
        const std::size_t k = detail::max_halvings(options_.min_fidelity, options_.max_fidelity,
                                                   options_.eta, "xnas::asha");
        rungs_.resize(k + 1);
        for (std::size_t i = 0; i <= k; ++i)
            rungs_[i].fidelity =
                options_.max_fidelity *
                std::pow(options_.eta, static_cast<double>(i) - static_cast<double>(k));
    }

    trial<architecture> ask(const Space& space, rng& g) {
        trial<architecture> t;
        t.id = next_id_++;
        for (std::size_t r = rungs_.size() - 1; r-- > 0;) {
            rung& ru = rungs_[r];
            const std::size_t top = static_cast<std::size_t>(
                static_cast<double>(ru.results.size()) / options_.eta + 1e-9);
            if (top == 0)
                continue;
            // results are kept sorted best first, so the candidates are the first `top`.
            for (std::size_t i = 0; i < top; ++i) {
                if (ru.results[i].promoted)
                    continue;
                ru.results[i].promoted = true;
                t.architecture = ru.results[i].arch;
                t.parents = {ru.results[i].id};
                t.fidelity = rungs_[r + 1].fidelity;
                pending_.emplace(t.id, r + 1);
                return t;
            }
        }
        t.architecture = space.sample(g);
        t.fidelity = rungs_[0].fidelity;
        pending_.emplace(t.id, 0);
        return t;
    }

    void tell(const trial<architecture>& t, const evaluation& e) {
        const auto it = pending_.find(t.id);
        if (it == pending_.end())
            return;
        const std::size_t r = it->second;
        pending_.erase(it);
        auto& res = rungs_[r].results;
        if (!options_.objectives.empty()) {
            auto scores = detail::scores_of(e, options_.objectives, "xnas::asha::tell");
            if (std::any_of(scores.begin(), scores.end(), [](double v) { return std::isnan(v); }))
                return;
            res.push_back(result{t.id, t.architecture, scores[0], false, std::move(scores)});
            // The order among results already there may change as new ones arrive, which is
            // what a front does.
            detail::sort_by_pareto(res);
            return;
        }
        const double s = detail::score_of(e, options_.objective, "xnas::asha::tell");
        if (std::isnan(s))
            return;
        // Sorted insert after equal scores, so earlier results win ties.
        const auto pos = std::upper_bound(res.begin(), res.end(), s,
                                          [](double v, const result& x) { return v > x.score; });
        res.insert(pos, result{t.id, t.architecture, s, false, {}});
    }

    /// Fidelity of rung k (0 = lowest).
    double rung_fidelity(std::size_t k) const { return rungs_.at(k).fidelity; }
    std::size_t rung_count() const { return rungs_.size(); }
    /// Told results at rung k.
    std::size_t rung_size(std::size_t k) const { return rungs_.at(k).results.size(); }
    const asha_options& options() const { return options_; }

  private:
    struct result {
        std::uint64_t id;
        architecture arch;
        double score;
        bool promoted;
        std::vector<double> scores; // one per objective, with several objectives
    };

    struct rung {
        double fidelity = 1;
        std::vector<result> results; // best first
    };

    asha_options options_;
    std::vector<rung> rungs_;
    std::unordered_map<std::uint64_t, std::size_t> pending_;
    std::uint64_t next_id_ = 0;
};

static_assert(strategy<asha<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
