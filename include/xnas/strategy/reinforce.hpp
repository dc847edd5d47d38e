#pragma once
// xnas::reinforce: a policy-gradient controller over a space's categorical decisions (Zoph &
// Le, 2017, "Neural Architecture Search with Reinforcement Learning", ICLR, arXiv:1611.01578;
// REINFORCE of Williams, 1992), with an exponential moving-average baseline and an optional
// entropy bonus. The default policy is factorised (one independent softmax per decision, the
// light option used as the REINFORCE baseline of NAS-Bench-201); strategy/lstm_controller.hpp
// has the paper's recurrent controller.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
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
#include <xnas/strategy/detail/common.hpp>

namespace xnas {

/// A controller policy over categorical decisions, as reinforce uses it:
///  - `reset(sizes, g)`: build for decisions with these choice counts (called once, at the
///    first ask);
///  - `sample(g)`: one value per decision, drawn from the policy;
///  - `update(d, advantage, entropy_weight)`: one gradient-ascent step on
///    advantage * log pi(d) + entropy_weight * H(pi), where d may hold -1 for decisions the
///    architecture does not use (they get no policy-gradient term);
///  - `probabilities(i)`: the current distribution of decision i (for inspection and tests).
/// Deterministic for a given generator state.
template <class P>
concept decision_policy = std::copy_constructible<P> &&
    requires(P& p, const P& cp, const std::vector<std::size_t>& sizes, rng& g,
             const std::vector<int>& d, double x, std::size_t i) {
    {p.reset(sizes, g)};
    { p.sample(g) } -> std::same_as<std::vector<int>>;
    {p.update(d, x, x)};
    { cp.probabilities(i) } -> std::same_as<std::vector<double>>;
};

/// Options of factorised_policy.
struct factorised_policy_options {
    /// Adam step size on the logits (Kingma & Ba, 2015, arXiv:1412.6980).
    double learning_rate = 0.05;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-8;
};

/// One independent softmax per decision, parameterised by logits (all zero at the start: the
/// uniform distribution), trained with Adam. Costs O(total choices) per sample and update.
class factorised_policy {
  public:
    explicit factorised_policy(factorised_policy_options options = {})
        : options_(options) {}

    void reset(const std::vector<std::size_t>& sizes, rng&) {
        offsets_.assign(1, 0);
        for (std::size_t n : sizes) {
            if (n == 0)
                throw std::invalid_argument(
                    "xnas::factorised_policy::reset: a decision has 0 choices; expected >= 1");
            offsets_.push_back(offsets_.back() + n);
        }
        logits_.assign(offsets_.back(), 0.0);
        m_.assign(logits_.size(), 0.0);
        v_.assign(logits_.size(), 0.0);
        grad_.assign(logits_.size(), 0.0);
        steps_ = 0;
    }

    std::vector<int> sample(rng& g) const {
        std::vector<int> d(offsets_.size() - 1);
        std::vector<double> p;
        for (std::size_t i = 0; i + 1 < offsets_.size(); ++i) {
            softmax(i, p);
            d[i] = static_cast<int>(g.categorical(p));
        }
        return d;
    }

    void update(const std::vector<int>& d, double advantage, double entropy_weight) {
        if (d.size() + 1 != offsets_.size())
            throw std::invalid_argument(
                "xnas::factorised_policy::update: " + std::to_string(d.size()) +
                " decisions, expected " + std::to_string(offsets_.size() - 1));
        std::vector<double> p;
        for (std::size_t i = 0; i < d.size(); ++i) {
            softmax(i, p);
            const std::size_t o = offsets_[i];
            double h = 0;
            for (double q : p)
                if (q > 0)
                    h -= q * std::log(q);
            for (std::size_t k = 0; k < p.size(); ++k) {
                double g = 0;
                if (d[i] >= 0) // d log pi / d logit_k = [k == d] - p_k
                    g = advantage * ((static_cast<int>(k) == d[i] ? 1.0 : 0.0) - p[k]);
                if (entropy_weight != 0 && p[k] > 0) // dH / d logit_k = -p_k (log p_k + H)
                    g -= entropy_weight * p[k] * (std::log(p[k]) + h);
                grad_[o + k] = g;
            }
        }
        ++steps_;
        const double c1 = 1 - std::pow(options_.beta1, static_cast<double>(steps_));
        const double c2 = 1 - std::pow(options_.beta2, static_cast<double>(steps_));
        for (std::size_t j = 0; j < logits_.size(); ++j) {
            m_[j] = options_.beta1 * m_[j] + (1 - options_.beta1) * grad_[j];
            v_[j] = options_.beta2 * v_[j] + (1 - options_.beta2) * grad_[j] * grad_[j];
            logits_[j] += options_.learning_rate * (m_[j] / c1) /
                          (std::sqrt(v_[j] / c2) + options_.epsilon); // ascent
        }
    }

    std::vector<double> probabilities(std::size_t i) const {
        if (i + 1 >= offsets_.size())
            throw std::out_of_range("xnas::factorised_policy::probabilities: decision " +
                                    std::to_string(i) + ", expected < " +
                                    std::to_string(offsets_.size() - 1));
        std::vector<double> p;
        softmax(i, p);
        return p;
    }

  private:
    void softmax(std::size_t i, std::vector<double>& p) const {
        const std::size_t o = offsets_[i], n = offsets_[i + 1] - o;
        p.resize(n);
        const double mx = *std::max_element(logits_.begin() + static_cast<std::ptrdiff_t>(o),
                                            logits_.begin() + static_cast<std::ptrdiff_t>(o + n));
        double z = 0;
        for (std::size_t k = 0; k < n; ++k)
            z += p[k] = std::exp(logits_[o + k] - mx);
        for (auto& q : p)
            q /= z;
    }

    factorised_policy_options options_;
    std::vector<std::size_t> offsets_{0};
    std::vector<double> logits_, m_, v_, grad_;
    std::uint64_t steps_ = 0;
};

static_assert(decision_policy<factorised_policy>);

/// Options of reinforce.
struct reinforce_options {
    /// Baseline b <- decay * b + (1 - decay) * reward (Zoph & Le's exponential moving average).
    double baseline_decay = 0.9;
    /// Weight of the entropy bonus in the objective (0: none); keeps the policy exploring.
    double entropy_weight = 0.0;
    /// Divide the advantage by a moving estimate of the reward's standard deviation, so the
    /// step size does not depend on the objective's scale (accuracy in % or in [0, 1]).
    bool normalize_advantage = true;
    /// When the space has contains(a) (chain_space with a constraint), redraw decisions up to
    /// this many times for an architecture it accepts, then fall back to space.sample().
    int max_redraws = 100;
    /// The objective to maximize (or minimize, by its direction); empty name: the evaluation's
    /// only objective.
    xnas::objective objective{};
    /// Fidelity of every asked trial.
    double fidelity = 1.0;
};

/// REINFORCE. Each ask samples decisions from the policy and maps them to an architecture, and
/// remembers them by trial id; each tell takes one policy-gradient step on the trial's
/// decisions with advantage reward - baseline (so tells may come in any order and from any
/// number of outstanding asks, as in the paper's asynchronous controller). Failed evaluations
/// and unknown ids are skipped. No observe: the gradient is on-policy, so a result of
/// decisions the policy did not draw (a warm start's seeds) would bias it.
template <decision_space Space, decision_policy Policy = factorised_policy>
class reinforce {
  public:
    using architecture = typename Space::architecture;

    explicit reinforce(reinforce_options options = {}, Policy policy = Policy())
        : options_(std::move(options))
        , policy_(std::move(policy)) {
        if (!(options_.baseline_decay >= 0 && options_.baseline_decay < 1))
            throw std::invalid_argument("xnas::reinforce: baseline_decay is " +
                                        std::to_string(options_.baseline_decay) +
                                        "; expected in [0, 1)");
    }

    trial<architecture> ask(const Space& space, rng& g) {
        trial<architecture> t;
        t.id = next_id_++;
        t.fidelity = options_.fidelity;
        std::vector<int> d;
        t.architecture = draw(space, g, d);
        pending_.emplace(t.id, std::move(d));
        return t;
    }

    /// An architecture drawn from the policy as ask draws it, not remembered for a tell: for
    /// using the policy without training it (ENAS's shared-weight steps).
    architecture sample(const Space& space, rng& g) {
        std::vector<int> d;
        return draw(space, g, d);
    }

    void tell(const trial<architecture>& t, const evaluation& e) {
        const auto it = pending_.find(t.id);
        if (it == pending_.end())
            return; // not asked here, or told twice
        const std::vector<int> d = std::move(it->second);
        pending_.erase(it);
        const double r = detail::score_of(e, options_.objective, "xnas::reinforce::tell");
        if (std::isnan(r))
            return;
        if (told_ == 0) {
            baseline_ = r;
            variance_ = 0;
        }
        ++told_;
        const double diff = r - baseline_;
        double advantage = diff;
        if (options_.normalize_advantage)
            advantage = variance_ > 0 ? diff / std::sqrt(variance_) : 0.0;
        const double a = options_.baseline_decay;
        baseline_ = a * baseline_ + (1 - a) * r;
        variance_ = told_ == 2 ? diff * diff : a * variance_ + (1 - a) * diff * diff;
        if (advantage != 0 || options_.entropy_weight != 0)
            policy_.update(d, advantage, options_.entropy_weight);
    }

    /// The policy is made for `space` at the first ask; prepare does it beforehand (drawing its
    /// initial weights from `g`, as that ask would), so that a checkpoint can be read into it.
    void prepare(const Space& space, rng& g) {
        if (!ready_) {
            policy_.reset(xnas::decisions(space), g);
            ready_ = true;
        }
    }

    /// What REINFORCE learned besides the policy: the baseline, its variance and the results
    /// told. With the policy's weights it is the state a checkpoint restores.
    struct baseline_state {
        double baseline = 0, variance = 0;
        std::uint64_t told = 0;
    };
    baseline_state baseline_snapshot() const { return {baseline_, variance_, told_}; }
    void restore_baseline(const baseline_state& b) {
        baseline_ = b.baseline;
        variance_ = b.variance;
        told_ = b.told;
    }

    const Policy& policy() const { return policy_; }
    Policy& policy() { return policy_; }
    /// The current moving-average baseline (oriented: larger is better).
    double baseline() const { return baseline_; }
    const reinforce_options& options() const { return options_; }

  private:
    architecture draw(const Space& space, rng& g, std::vector<int>& d) {
        prepare(space, g);
        d = policy_.sample(g);
        architecture a = xnas::from_decisions(space, d);
        if constexpr (has_contains<Space>) {
            for (int i = 0; i < options_.max_redraws && !space.contains(a); ++i) {
                d = policy_.sample(g);
                a = xnas::from_decisions(space, d);
            }
            if (!space.contains(a)) {
                a = space.sample(g);
                d = xnas::to_decisions(space, a);
            }
        }
        return a;
    }

    reinforce_options options_;
    Policy policy_;
    bool ready_ = false;
    std::unordered_map<std::uint64_t, std::vector<int>> pending_; // decisions of asked trials
    double baseline_ = 0, variance_ = 0;
    std::uint64_t told_ = 0, next_id_ = 0;
};

static_assert(strategy<reinforce<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
