#pragma once
// xnas::bananas: predictor-guided search with an ensemble of neural predictors (White, Neiswanger
// & Savani, 2021, "BANANAS: Bayesian Optimization with Neural Architectures for Neural
// Architecture Search", AAAI, arXiv:1910.11858).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/strategy/detail/archetype.hpp>
#include <xnas/strategy/detail/common.hpp>
#include <xnas/strategy/detail/mlp_ensemble.hpp>

namespace xnas {

/// How bananas ranks candidates from the ensemble's mean m and standard deviation s.
enum class acquisition {
    /// Independent Thompson sampling (the paper's choice): one draw from N(m, s^2) per candidate.
    its,
    /// Upper confidence bound m + kappa * s.
    ucb,
};

/// Options of bananas.
struct bananas_options {
    /// Random architectures evaluated before the predictor is first trained.
    std::size_t initial_samples = 10;
    /// Retrain the ensemble once this many new results arrived since the last training (the
    /// paper picks k = 10 architectures per round; 1 retrains for every ask that sees news).
    std::size_t retrain_every = 10;
    /// Candidates generated per round by mutating the best evaluated architectures.
    std::size_t candidates = 100;
    /// Parents of the candidates: the best this many evaluated architectures.
    std::size_t parents = 10;
    /// Each candidate is 1..max_mutations mutations away from its parent.
    std::size_t max_mutations = 1;
    xnas::acquisition acquisition = xnas::acquisition::its;
    /// Exploration weight of ucb.
    double kappa = 1.0;
    /// The predictor: ensemble size, hidden widths (ReLU), epochs, mini-batch, Adam step.
    std::size_t ensemble = 5;
    std::vector<std::size_t> hidden{32, 32};
    std::size_t epochs = 100;
    std::size_t batch_size = 32;
    double learning_rate = 0.01;
    /// The objective to maximize (or minimize, by its direction); empty name: the evaluation's
    /// only objective.
    xnas::objective objective{};
    /// Fidelity of every asked trial.
    double fidelity = 1.0;
};

/// BANANAS. After `initial_samples` random architectures, it trains an ensemble of MLPs on the
/// space's encoding (for cell_space use the path encoding, cell_space::with_encoding) of every
/// evaluated architecture, generates candidates by mutating the best ones, and asks the
/// candidate with the best acquisition value; candidates never repeat an asked architecture.
/// Asynchronous: asks that run ahead of tells take the next best candidates of the current
/// round (with ITS each ask redraws), and the ensemble retrains once `retrain_every` new
/// results arrived. Results of trials it did not ask (a warm start's seeds) that it is told join
/// the training data; observed ones (observe) also count as initial samples. Cost per round:
/// ensemble * epochs * ceil(n / batch_size) small GEMM steps.
template <encodable_space Space>
class bananas {
  public:
    using architecture = typename Space::architecture;

    explicit bananas(bananas_options options = {})
        : options_(std::move(options))
        , ensemble_({.members = options_.ensemble,
                     .hidden = options_.hidden,
                     .epochs = options_.epochs,
                     .batch_size = options_.batch_size,
                     .learning_rate = options_.learning_rate}) {
        if (options_.ensemble == 0 || options_.candidates == 0 || options_.parents == 0)
            throw std::invalid_argument(
                "xnas::bananas: ensemble, candidates and parents must be >= 1; got " +
                std::to_string(options_.ensemble) + ", " + std::to_string(options_.candidates) +
                ", " + std::to_string(options_.parents));
    }

    trial<architecture> ask(const Space& space, rng& g) {
        trial<architecture> t;
        t.id = next_id_++;
        t.fidelity = options_.fidelity;
        // Observed results stand in for initial random samples: they teach the predictor as much.
        if (asked_++ + observed_ < options_.initial_samples || data_.empty()) {
            t.architecture = fresh_sample(space, g);
        } else {
            if (!ensemble_.fitted() || news_ >= std::max<std::size_t>(options_.retrain_every, 1))
                new_round(space, g);
            if (pool_.empty())
                refill(space, g);
            if (pool_.empty()) {
                t.architecture = fresh_sample(space, g);
            } else {
                const std::size_t k = pick(g);
                t.architecture = std::move(pool_[k].arch);
                t.parents = {pool_[k].parent};
                pool_.erase(pool_.begin() + static_cast<std::ptrdiff_t>(k));
            }
        }
        seen_.insert(space, t.architecture);
        return t;
    }

    void tell(const trial<architecture>& t, const evaluation& e) {
        add(t, detail::score_of(e, options_.objective, "xnas::bananas::tell"));
    }

    /// The result of a trial this strategy did not ask (a warm start's seeds) joins the
    /// predictor's training data and the candidates' parents as a told one does, replaces one of
    /// the initial random samples, and is not asked again. A failed one is dropped, as by tell.
    void observe(const Space& space, const trial<architecture>& t, const evaluation& e) {
        seen_.insert(space, t.architecture);
        if (add(t, detail::score_of(e, options_.objective, "xnas::bananas::observe")))
            ++observed_;
    }

    /// Rounds of ensemble training so far.
    std::size_t trainings() const { return trainings_; }
    const bananas_options& options() const { return options_; }

  private:
    // True when the result joined the training data.
    bool add(const trial<architecture>& t, double s) {
        if (std::isnan(s))
            return false;
        const auto pos = std::upper_bound(data_.begin(), data_.end(), s,
                                          [](double v, const point& p) { return v > p.score; });
        data_.insert(pos, point{t.id, t.architecture, s, {}});
        ++news_;
        return true;
    }

    struct point {
        std::uint64_t id;
        architecture arch;
        double score;
        std::vector<double> code; // encoding, computed at the first training that sees it
    };
    struct candidate {
        architecture arch;
        std::uint64_t parent;
        double mean, stddev;
    };

    architecture fresh_sample(const Space& space, rng& g) const {
        architecture a = space.sample(g);
        for (int i = 0; i < 20 && seen_.contains(space, a); ++i)
            a = space.sample(g);
        return a;
    }

    void new_round(const Space& space, rng& g) {
        std::vector<std::vector<double>> x;
        std::vector<double> y;
        x.reserve(data_.size());
        for (auto& p : data_) {
            if (p.code.empty())
                p.code = space.encode(p.arch);
            x.push_back(p.code);
            y.push_back(p.score);
        }
        ensemble_.fit(x, y, g);
        ++trainings_;
        news_ = 0;
        pool_.clear();
        refill(space, g);
    }

    // Candidates: mutations of the best `parents` evaluated architectures, none asked before.
    void refill(const Space& space, rng& g) {
        const std::size_t parents = std::min(options_.parents, data_.size());
        detail::arch_set<Space> in_pool;
        for (const auto& c : pool_)
            in_pool.insert(space, c.arch);
        for (std::size_t tries = 0;
             tries < 4 * options_.candidates && pool_.size() < options_.candidates; ++tries) {
            const point& p = data_[g.below(parents)];
            architecture a = space.mutate(p.arch, g);
            const std::size_t extra =
                options_.max_mutations > 1 ? g.below(options_.max_mutations) : 0;
            for (std::size_t m = 0; m < extra; ++m)
                a = space.mutate(a, g);
            if (seen_.contains(space, a) || !in_pool.insert(space, a))
                continue;
            pool_.push_back({std::move(a), p.id, 0.0, 0.0});
        }
        std::vector<std::vector<double>> x;
        x.reserve(pool_.size());
        for (const auto& c : pool_)
            x.push_back(space.encode(c.arch));
        std::vector<double> mean, stddev;
        ensemble_.predict(x, mean, stddev);
        for (std::size_t i = 0; i < pool_.size(); ++i) {
            pool_[i].mean = mean[i];
            pool_[i].stddev = stddev[i];
        }
    }

    std::size_t pick(rng& g) const {
        std::size_t best = 0;
        double best_value = -std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < pool_.size(); ++i) {
            const auto& c = pool_[i];
            const double v = options_.acquisition == xnas::acquisition::its
                                 ? c.mean + c.stddev * g.normal()
                                 : c.mean + options_.kappa * c.stddev;
            if (v > best_value) {
                best_value = v;
                best = i;
            }
        }
        return best;
    }

    bananas_options options_;
    detail::mlp_ensemble ensemble_;
    std::vector<point> data_; // best first
    std::vector<candidate> pool_;
    detail::arch_set<Space> seen_;
    std::size_t asked_ = 0, observed_ = 0, news_ = 0, trainings_ = 0;
    std::uint64_t next_id_ = 0;
};

static_assert(observing_strategy<bananas<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
