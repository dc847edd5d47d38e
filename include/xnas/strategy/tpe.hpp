#pragma once
// xnas::tpe: the Tree-structured Parzen Estimator (Bergstra et al., 2011, "Algorithms for
// Hyper-Parameter Optimization", NeurIPS; the default sampler of Optuna and Hyperopt) over a
// space's categorical decisions. Each decision gets two smoothed histograms, one of the best
// trials and one of the rest; a new trial takes, per decision, the value among a few drawn from
// the first histogram that maximises good(x) / bad(x). Multivariate TPE (Optuna's
// multivariate=True; Falkner et al., 2018, BOHB) models decisions jointly instead: each group is a
// mixture of product kernels centred on its trials, so decisions that only pay together (a
// learning rate and its optimizer, channels and the pooling that makes them affordable) are
// proposed together. Ordered decisions (ordered_decisions: depths, numeric ladders, binned
// ranges) get Parzen kernels over their scale in the univariate histograms, so a good depth or
// learning rate also lends weight to its neighbours, as Optuna's suggest_int and suggest_float do.
// In both modes a group's older trials weigh less once it has more than 25 (Optuna's
// default_weights), so the bad group follows where the search has moved and a value dropped
// early is tried again (in the univariate histograms failures keep their full weight).
// Cost-aware proposals (tpe_options::cost_exponent, univariate only) weigh each choice's
// predicted effect on log(cost), so a search under a time budget completes more trials; with
// cost cooling the weight falls to 0 as the budget is spent (set_progress).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <optional>
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

/// Options of tpe (Optuna 3's names and defaults where they exist).
struct tpe_options {
    /// Trials drawn from space.sample() before the estimator is used (n_startup_trials).
    std::size_t startup_trials = 10;
    /// Values drawn from the good histogram per decision, of which the best ratio wins
    /// (n_ei_candidates).
    std::size_t candidates = 24;
    /// Share of the told trials in the good group, capped at max_good (Optuna's default gamma:
    /// min(ceil(0.1 n), 25)).
    double gamma = 0.1;
    std::size_t max_good = 25;
    /// Pseudo-count spread evenly over a decision's choices in both histograms, so no choice
    /// ever has probability 0.
    double prior_weight = 1.0;
    /// Redraws for an architecture the space accepts (spaces with contains(a)) and that was not
    /// asked before, each with half the candidates of the one before; after that the space's
    /// own sample() is used.
    int max_redraws = 100;
    /// The objective to maximize (or minimize, by its direction); empty name: the evaluation's
    /// only objective.
    xnas::objective objective{};
    /// Several objectives (after Ozaki et al., 2020, "Multiobjective Tree-Structured Parzen
    /// Estimator"): the good group is the top of the told trials ranked by non-dominated front,
    /// then crowding distance. When set, `objective` is not read.
    std::vector<xnas::objective> objectives{};
    /// Fidelity of every asked trial.
    double fidelity = 1.0;
    /// Model the decisions jointly (Optuna's multivariate=True): each group is a mixture with
    /// one product kernel per trial (keeping the trial's value with probability
    /// 1 / (1 + k w / (n + 1)) for a decision of k choices, w = prior_weight, n = the group's
    /// size, else a uniform draw) plus a uniform prior component; older trials weigh less once
    /// a group has more than 25 (Optuna's default_weights). A decision a trial does not use is
    /// uniform in its kernel, and a candidate is scored on the decisions it uses, so
    /// conditional decisions need no grouping.
    bool multivariate = false;
    /// In the univariate histograms, an ordered decision's trial adds a Gaussian kernel over the
    /// decision's choices instead of a single count (see tpe's add_kernels); false: every decision
    /// is categorical. The multivariate model treats every decision as categorical.
    bool smooth_ordered = true;
    /// Cost-aware proposals (after Snoek et al., 2012, "expected improvement per second"): a
    /// candidate's log good / bad ratio is lowered by cost_exponent times its predicted
    /// log(cost), so that of two about equally promising values the cheaper one is proposed and a
    /// search under a time budget completes more trials. The prediction is a ridge regression of
    /// the told trials' log(cost) on their decisions (one effect per choice, see fit_cost_model).
    /// 0: cost is ignored (Optuna's TPE). 1 is EI per second's weighting. Univariate only.
    double cost_exponent = 0.0;
    /// What the cost is: the name of an objective or metric of the evaluation (e.g. "flops",
    /// which does not depend on the machine, so the same seed still gives the same search), or
    /// empty for evaluation::cost (measured seconds for train_evaluator). Trials without a
    /// positive finite cost are left out of the fit.
    std::string cost{};
    /// Cost cooling (after Lee et al., 2020, "Cost-aware Bayesian optimization"): the exponent
    /// falls linearly from cost_exponent to 0 as the search spends its budget (set_progress,
    /// which xnas::search calls before each ask). Early trials favour cheap candidates and teach
    /// the model the space; late ones are chosen for accuracy alone, so the search's end is not
    /// held to the cheap networks a fixed exponent keeps proposing.
    bool cost_cooling = false;
};

template <decision_space Space>
class bohb;

/// TPE over a decision_space's decisions (categorical, or ordered with kernels), modelled
/// independently (Optuna's default, multivariate = false) or jointly (tpe_options::multivariate). A
/// decision an architecture does not use (a layer slot beyond its depth) is left out of that
/// decision's histograms, which is how the tree structure enters. Failed evaluations (a broken
/// candidate, a budget exceeded) count as the worst trials: they join the bad group, steering away
/// from what fails, as Optuna does with pruned trials. Asks may run ahead of tells (parallel
/// workers); pending trials are not modelled. tell ignores ids it did not issue (its model keeps
/// the decisions it computed at ask time); results of other trials, such as a warm start's seeds,
/// join the model through observe (Optuna's add_trial). Overhead per ask: O(told trials x
/// decisions) plus O(candidates x decisions), and for ordered decisions O(told trials x choices)
/// each.
template <decision_space Space>
class tpe {
  public:
    using architecture = typename Space::architecture;

    /// Throws std::invalid_argument naming the field for gamma outside (0, 1], a negative or
    /// zero prior weight, or zero candidates or max_good.
    explicit tpe(tpe_options options = {})
        : options_(std::move(options)) {
        require(options_.gamma > 0 && options_.gamma <= 1, "gamma", options_.gamma, "in (0, 1]");
        require(options_.prior_weight > 0, "prior_weight", options_.prior_weight, "> 0");
        require(options_.candidates > 0, "candidates", 0.0, ">= 1");
        require(options_.max_good > 0, "max_good", 0.0, ">= 1");
        require(options_.cost_exponent >= 0 && std::isfinite(options_.cost_exponent),
                "cost_exponent", options_.cost_exponent, ">= 0");
        // Tried and refused: on the generated cell problems whose best op is the most expensive,
        // the joint model's regret within a cost budget rose from 2.1 to 4.0 (20 seeds) while
        // the univariate model's fell. Its candidates are whole architectures drawn near good
        // trials, whose density ratios are close, so the cost decides among them.
        if (options_.multivariate && options_.cost_exponent > 0)
            throw std::invalid_argument(
                "xnas::tpe: cost_exponent is " + std::to_string(options_.cost_exponent) +
                ", expected 0 with multivariate (the univariate model only)");
    }

    trial<architecture> ask(const Space& space, rng& g) {
        trial<architecture> t;
        t.id = next_id_++;
        t.fidelity = options_.fidelity;
        t.architecture = propose_new(space, g, seen_);
        pending_.emplace(t.id, xnas::to_decisions(space, t.architecture));
        return t;
    }

    /// Records the trial's decisions and score; unknown or repeated ids are ignored.
    void tell(const trial<architecture>& t, const evaluation& e) {
        const auto it = pending_.find(t.id);
        if (it == pending_.end())
            return;
        record(std::move(it->second), scores(e, "xnas::tpe::tell"), cost_of(e));
        pending_.erase(it);
    }

    /// Records the result of a trial this strategy did not ask (a warm start's seeds, another
    /// study's trials) exactly as tell records its own: it joins the model (and counts towards
    /// startup_trials, as Optuna counts added trials), a failure counts as the worst, and its
    /// architecture is not proposed again. t.fidelity is not read, as tell does not.
    void observe(const Space& space, const trial<architecture>& t, const evaluation& e) {
        seen_.insert(space, t.architecture);
        record(xnas::to_decisions(space, t.architecture), scores(e, "xnas::tpe::observe"),
               cost_of(e));
    }

    /// The share of the search's budget spent, 0 to 1 (NaN counts as 0); xnas::search sets it
    /// before each ask and journals it, so a resumed search re-asks with the same values. Only
    /// cost_cooling reads it.
    void set_progress(double p) { progress_ = p > 0 ? std::min(p, 1.0) : 0.0; }
    /// The cost exponent the next ask uses: cost_exponent, cooled by the progress.
    double current_cost_exponent() const {
        return options_.cost_cooling ? options_.cost_exponent * (1 - progress_)
                                     : options_.cost_exponent;
    }

    /// Trials told so far (failed ones included).
    std::size_t observations() const { return told_.size(); }
    /// The good group's share of decision i's choices as the last ask saw it (for inspection
    /// and tests); empty before the estimator was first used.
    std::vector<double> good_distribution(std::size_t i) const {
        return distribution(good_, i, "good_distribution");
    }
    /// The same for the bad group (the rest of the told trials).
    std::vector<double> bad_distribution(std::size_t i) const {
        return distribution(bad_, i, "bad_distribution");
    }
    /// The cost model's effect of each choice of decision i on log(cost), as the last ask
    /// fitted it (for inspection and tests); empty before, or with cost_exponent 0.
    std::vector<double> cost_effects(std::size_t i) const {
        return distribution(cost_effects_, i, "cost_effects");
    }
    const tpe_options& options() const { return options_; }

  private:
    // bohb keeps one estimator per fidelity and feeds it trials it did not ask.
    template <decision_space>
    friend class bohb;

    // The estimator's proposal (a space.sample() draw until startup_trials are told) that is
    // not in `seen`; it is added there.
    architecture propose_new(const Space& space, rng& g, detail::arch_set<Space>& seen) {
        if (sizes_.empty()) {
            sizes_ = xnas::decisions(space);
            ordered_ = xnas::ordered_decisions(space);
        }
        const bool model = told_.size() >= options_.startup_trials && !told_.empty();
        if (model)
            fit_histograms();
        architecture a{};
        bool found = false;
        for (int i = 0; i <= options_.max_redraws && !found; ++i) {
            // With categorical decisions the best ratio is nearly always the same value, so a
            // repeat is likely; each redraw halves the candidates until the proposal is a
            // plain draw from the good histograms (exploring near the good trials rather than
            // falling back to the whole space).
            const std::size_t candidates =
                i < 64 ? std::max<std::size_t>(1, options_.candidates >> i) : 1;
            if (!model)
                a = space.sample(g);
            else if (options_.multivariate)
                a = propose_jointly(space, g, candidates);
            else
                a = xnas::from_decisions(space, propose(g, candidates));
            found = accepted(space, a) && !seen.contains(space, a);
        }
        if (!found)
            a = space.sample(g);
        seen.insert(space, a);
        return a;
    }

    // A failed evaluation (NaN score) counts as the worst.
    void record(std::vector<int> decisions, double score, double cost = 0.0) {
        record(std::move(decisions), std::vector<double>{score}, cost);
    }
    // One oriented score per ranking objective; with several, trials are ranked by pareto_order
    // (a NaN anywhere: failed, ranked last).
    void record(std::vector<int> decisions, std::vector<double> scores, double cost = 0.0) {
        const bool failed =
            std::any_of(scores.begin(), scores.end(), [](double v) { return std::isnan(v); });
        const double score = failed ? -std::numeric_limits<double>::infinity() : scores[0];
        if (scores.size() == 1)
            scores.clear(); // one objective: `score` ranks
        told_.push_back({std::move(decisions), score, cost, std::move(scores)});
    }

    std::vector<double> scores(const evaluation& e, const char* who) const {
        return detail::scores_of(
            e, detail::ranking_objectives(options_.objectives, options_.objective), who);
    }

    // The evaluation's cost as options_.cost names it; 0 (left out of the fit) when absent.
    double cost_of(const evaluation& e) const {
        const double c = options_.cost.empty() ? e.cost : e.value(options_.cost);
        return std::isfinite(c) && c > 0 ? c : 0.0;
    }

    struct observation {
        std::vector<int> decisions; // -1: unused by this trial
        double score;               // -inf for failures
        double cost;                // 0: unknown
        std::vector<double> scores; // with several objectives, one per objective (else empty)
    };

    std::vector<double> distribution(const std::vector<std::vector<double>>& group, std::size_t i,
                                     const char* name) const {
        if (group.empty())
            return {};
        if (i >= sizes_.size())
            throw std::out_of_range("xnas::tpe::" + std::string(name) + ": decision " +
                                    std::to_string(i) + ", expected < " +
                                    std::to_string(sizes_.size()));
        return group[i];
    }

    static void require(bool ok, const char* field, double value, const char* expected) {
        if (!ok)
            throw std::invalid_argument("xnas::tpe: " + std::string(field) + " is " +
                                        std::to_string(value) + ", expected " + expected);
    }

    static bool accepted(const Space& space, const architecture& a) {
        if constexpr (has_contains<Space>)
            return space.contains(a);
        else
            return true;
    }

    // One group's trials (indices into told_, in tell order) with their mixture weights: the
    // age weights and the uniform prior, as logs of their shares. Fitted once per ask, read
    // by every candidate's density.
    struct kernel_mixture {
        std::vector<std::size_t> rows;
        std::vector<double> log_weights;
        double log_prior_weight = 0;

        void fit(std::vector<std::size_t> group, double prior_weight) {
            rows = std::move(group);
            std::sort(rows.begin(), rows.end());
            const auto weights = age_weights(rows.size());
            double total = prior_weight;
            for (double w : weights)
                total += w;
            log_weights.resize(weights.size());
            for (std::size_t c = 0; c < weights.size(); ++c)
                log_weights[c] = std::log(weights[c] / total);
            log_prior_weight = std::log(prior_weight / total);
        }
    };

    // The choice told trial k made for decision i; nothing when the trial does not use it.
    std::optional<std::size_t> choice_of(std::size_t k, std::size_t i) const {
        const auto& d = told_[k].decisions;
        if (i < d.size() && d[i] >= 0 && static_cast<std::size_t>(d[i]) < sizes_[i])
            return static_cast<std::size_t>(d[i]);
        return std::nullopt;
    }

    // Splits the told trials into the good group (the best ceil(gamma n), at most max_good;
    // ties broken by tell order, so results do not depend on the sort) and the rest, and
    // builds both groups' normalised histograms per decision.
    void fit_histograms() {
        const std::size_t n = told_.size();
        std::vector<std::size_t> order(n);
        for (std::size_t k = 0; k < n; ++k)
            order[k] = k;
        if (!told_.empty() && !told_[0].scores.empty()) {
            std::vector<std::vector<double>> rows;
            rows.reserve(n);
            for (const auto& o : told_)
                rows.push_back(o.scores);
            order = detail::pareto_order(rows);
        } else {
            std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
                return told_[a].score > told_[b].score;
            });
        }
        const auto by_gamma =
            static_cast<std::size_t>(std::ceil(options_.gamma * static_cast<double>(n)));
        const std::size_t n_good = std::clamp<std::size_t>(by_gamma, 1, options_.max_good);
        good_.assign(sizes_.size(), {});
        bad_.assign(sizes_.size(), {});
        for (std::size_t i = 0; i < sizes_.size(); ++i) {
            const double prior = options_.prior_weight / static_cast<double>(sizes_[i]);
            good_[i].assign(sizes_[i], prior);
            bad_[i].assign(sizes_[i], prior);
        }
        // rows[g][i]: the tell indices, oldest first, of group g's trials that use decision i.
        // Within a group, older trials weigh less once it has more than 25 (Optuna's
        // default_weights, which Optuna applies to both groups); in practice that is the bad
        // group. Its early trials fade, so it describes what the search has been proposing
        // lately: when TPE has settled on one value of a decision (SGD, say), that value fills
        // the recent bad trials while the other values' early results fade, and their ratio
        // rises until they are tried again. Without it, a value dropped early keeps its early
        // record for the whole search, and one lucky start can settle a decision for hundreds
        // of trials.
        std::vector<char> in_good(n, 0);
        for (std::size_t r = 0; r < n_good; ++r)
            in_good[order[r]] = 1;
        std::vector<std::vector<std::vector<std::size_t>>> rows(
            2, std::vector<std::vector<std::size_t>>(sizes_.size()));
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t i = 0; i < sizes_.size(); ++i)
                if (choice_of(k, i))
                    rows[in_good[k] ? 0 : 1][i].push_back(k);
        for (std::size_t i = 0; i < sizes_.size(); ++i)
            for (std::size_t group = 0; group < 2; ++group) {
                const auto& members = rows[group][i];
                std::vector<int> choices(members.size());
                auto weights = age_weights(members.size());
                for (std::size_t j = 0; j < members.size(); ++j) {
                    choices[j] = told_[members[j]].decisions[i];
                    // A failure (over a budget, a crash) is a property of the architecture, not
                    // a noisy measurement: its evidence does not go stale, so it never fades.
                    if (std::isinf(told_[members[j]].score))
                        weights[j] = 1.0;
                }
                auto& hist = group == 0 ? good_[i] : bad_[i];
                if (options_.smooth_ordered && ordered_[i])
                    add_kernels(hist, choices, weights);
                else
                    for (std::size_t j = 0; j < choices.size(); ++j)
                        hist[static_cast<std::size_t>(choices[j])] += weights[j];
            }
        good_mix_.fit(std::vector<std::size_t>(order.begin(),
                                               order.begin() + static_cast<std::ptrdiff_t>(n_good)),
                      options_.prior_weight);
        bad_mix_.fit(std::vector<std::size_t>(order.begin() + static_cast<std::ptrdiff_t>(n_good),
                                              order.end()),
                     options_.prior_weight);
        for (auto* groups : {&good_, &bad_})
            for (auto& h : *groups) {
                double total = 0;
                for (double w : h)
                    total += w;
                for (double& w : h)
                    w /= total;
            }
        if (options_.cost_exponent > 0)
            fit_cost_model();
    }

    // Fits log(cost) = b + sum over used decisions i of effect[i][x_i] to the told trials with a
    // known cost, by least squares with a ridge penalty of one pseudo-trial per choice on the
    // effects (a choice seen once keeps half its apparent effect; one never seen predicts b).
    // Each decision's indicators are orthogonal, so block coordinate descent solves its effects
    // exactly given the rest, and b is the mean of what they leave; sweeps repeat until the
    // largest change is below 1e-6 (log units).
    // Additive in log(cost) fits what drives a network's training time: FLOPs multiply a stage's
    // channels, kernel area and resolution. O(sweeps x trials x decisions).
    void fit_cost_model() {
        cost_effects_.assign(sizes_.size(), {});
        for (std::size_t i = 0; i < sizes_.size(); ++i)
            cost_effects_[i].assign(sizes_[i], 0.0);
        std::vector<std::size_t> rows;
        for (std::size_t k = 0; k < told_.size(); ++k)
            if (told_[k].cost > 0)
                rows.push_back(k);
        if (rows.size() < 2)
            return;
        std::vector<double> y(rows.size()), fitted(rows.size(), 0.0);
        for (std::size_t r = 0; r < rows.size(); ++r)
            y[r] = std::log(told_[rows[r]].cost);
        constexpr double ridge = 1.0;
        // uses[i]: (row, choice) of each costed trial that uses decision i. It and the counts
        // (plus the ridge's pseudo-trial) stay fixed across the sweeps.
        std::vector<std::vector<std::pair<std::size_t, std::size_t>>> uses(sizes_.size());
        std::vector<std::vector<double>> counts(sizes_.size());
        for (std::size_t i = 0; i < sizes_.size(); ++i) {
            counts[i].assign(sizes_[i], ridge);
            for (std::size_t r = 0; r < rows.size(); ++r)
                if (const auto c = choice_of(rows[r], i)) {
                    uses[i].emplace_back(r, *c);
                    counts[i][*c] += 1;
                }
        }
        double intercept = 0; // not penalised: the mean of what the effects leave
        for (int sweep = 0; sweep < 100; ++sweep) {
            double residual = 0;
            for (std::size_t r = 0; r < rows.size(); ++r)
                residual += y[r] - fitted[r];
            residual /= static_cast<double>(rows.size());
            double change = std::abs(residual - intercept);
            intercept = residual;
            for (std::size_t i = 0; i < sizes_.size(); ++i) {
                auto& effect = cost_effects_[i];
                std::vector<double> sums(sizes_[i], 0.0);
                for (const auto& [r, c] : uses[i])
                    sums[c] += y[r] - intercept - (fitted[r] - effect[c]);
                std::vector<double> step(sizes_[i]);
                for (std::size_t c = 0; c < sizes_[i]; ++c) {
                    step[c] = sums[c] / counts[i][c] - effect[c];
                    change = std::max(change, std::abs(step[c]));
                    effect[c] += step[c];
                }
                for (const auto& [r, c] : uses[i])
                    fitted[r] += step[c];
            }
            if (change < 1e-6)
                break;
        }
    }

    // Adds a kernel of weight weights[j] for each choice values[j] of an ordered decision to
    // `hist`: a Gaussian over the choice scale [-0.5, k - 0.5], cut to it, integrated over each
    // choice's unit interval. The bandwidth is Optuna's univariate rule (after Bergstra et al.):
    // sort the values together with the scale's centre, take the wider gap to a neighbour (the
    // extremes look inward only), and clip to [k / min(100, m + 2), k] for m values. The centre
    // stands in for Optuna's Gaussian prior, whose mass the histogram's uniform prior carries. So
    // a cluster of equal values stays sharp, while the good value nearest the centre spreads as
    // far as the centre: a good group full of one-layer networks still lends two layers weight.
    static void add_kernels(std::vector<double>& hist, const std::vector<int>& values,
                            const std::vector<double>& weights) {
        const auto k = static_cast<double>(hist.size());
        const std::size_t m = values.size();
        const double centre = (k - 1) / 2;
        // (position, weight); the centre has weight 0: a neighbour only, not a kernel.
        std::vector<std::pair<double, double>> points;
        for (std::size_t j = 0; j < m; ++j)
            points.emplace_back(values[j], weights[j]);
        points.emplace_back(centre, 0.0);
        std::stable_sort(points.begin(), points.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        const double min_sigma = k / std::min(100.0, static_cast<double>(m) + 2.0);
        for (std::size_t j = 0; j < points.size(); ++j) {
            // Named copies, not a structured binding: clang 14 cannot capture one in cdf.
            const double mu = points[j].first, weight = points[j].second;
            if (weight <= 0)
                continue;
            const double left = j > 0 ? mu - points[j - 1].first : 0.0;
            const double right = j + 1 < points.size() ? points[j + 1].first - mu : 0.0;
            const double sigma = std::clamp(std::max(left, right), min_sigma, k);
            const auto cdf = [&](double x) {
                return 0.5 * std::erfc((mu - x) / (sigma * std::numbers::sqrt2));
            };
            const double share = weight / (cdf(k - 0.5) - cdf(-0.5));
            for (std::size_t c = 0; c < hist.size(); ++c) {
                const auto at = static_cast<double>(c);
                hist[c] += (cdf(at + 0.5) - cdf(at - 0.5)) * share;
            }
        }
    }

    std::vector<int> propose(rng& g, std::size_t candidates) const {
        const double exponent = current_cost_exponent();
        std::vector<int> d(sizes_.size());
        for (std::size_t i = 0; i < sizes_.size(); ++i) {
            double best = -std::numeric_limits<double>::infinity();
            for (std::size_t c = 0; c < candidates; ++c) {
                const std::size_t k = g.categorical(good_[i]);
                double ratio = std::log(good_[i][k]) - std::log(bad_[i][k]);
                if (!cost_effects_.empty())
                    ratio -= exponent * cost_effects_[i][k];
                if (ratio > best) {
                    best = ratio;
                    d[i] = static_cast<int>(k);
                }
            }
        }
        return d;
    }

    // Optuna's default_weights: equal weights up to 25 trials, beyond that the 25 most recent
    // weigh 1 and older ones ramp linearly from 1/n up to 1, so early random trials fade.
    static std::vector<double> age_weights(std::size_t n) {
        std::vector<double> w(n, 1.0);
        if (n >= 25) {
            const std::size_t ramp = n - 25;
            for (std::size_t k = 0; k < ramp; ++k)
                w[k] = ramp == 1 ? 1.0 / static_cast<double>(n)
                                 : 1.0 / static_cast<double>(n) +
                                       (1.0 - 1.0 / static_cast<double>(n)) *
                                           static_cast<double>(k) / static_cast<double>(ramp - 1);
        }
        return w;
    }

    // The log-density under a group's mixture of product kernels, over the decisions that x
    // uses (x[i] >= 0): the other decisions integrate out of every kernel.
    double log_density(const kernel_mixture& mix, const std::vector<int>& x) const {
        const std::size_t n = mix.rows.size();
        const double spread = options_.prior_weight / static_cast<double>(n + 1);
        std::vector<double> terms;
        terms.reserve(n + 1);
        double uniform = 0; // the prior component, also a trial's unused decisions
        for (std::size_t i = 0; i < sizes_.size(); ++i)
            if (x[i] >= 0)
                uniform -= std::log(static_cast<double>(sizes_[i]));
        terms.push_back(mix.log_prior_weight + uniform);
        for (std::size_t c = 0; c < n; ++c) {
            const auto& d = told_[mix.rows[c]].decisions;
            double lp = mix.log_weights[c];
            for (std::size_t i = 0; i < sizes_.size(); ++i) {
                if (x[i] < 0)
                    continue;
                const auto k = static_cast<double>(sizes_[i]);
                if (i >= d.size() || d[i] < 0)
                    lp -= std::log(k);
                else
                    lp += std::log(((d[i] == x[i] ? 1.0 : 0.0) + spread) / (1.0 + k * spread));
            }
            terms.push_back(lp);
        }
        const double top = *std::max_element(terms.begin(), terms.end());
        double sum = 0;
        for (double t : terms)
            sum += std::exp(t - top);
        return top + std::log(sum);
    }

    // Draws candidates from the good mixture (pick a component, then every decision from its
    // kernel) and returns the architecture of the one with the highest good / bad density ratio.
    architecture propose_jointly(const Space& space, rng& g, std::size_t candidates) const {
        const std::size_t n = good_mix_.rows.size();
        const double spread = options_.prior_weight / static_cast<double>(n + 1);
        auto component = age_weights(n);
        component.push_back(options_.prior_weight);
        std::optional<architecture> best_architecture;
        double best = -std::numeric_limits<double>::infinity();
        for (std::size_t c = 0; c < candidates; ++c) {
            const std::size_t pick = g.categorical(component);
            const std::vector<int>* centre =
                pick < n ? &told_[good_mix_.rows[pick]].decisions : nullptr;
            std::vector<int> d(sizes_.size());
            for (std::size_t i = 0; i < sizes_.size(); ++i) {
                const auto k = static_cast<double>(sizes_[i]);
                const bool keep = centre && i < centre->size() && (*centre)[i] >= 0 &&
                                  g.uniform() < 1.0 / (1.0 + k * spread);
                d[i] = keep ? (*centre)[i] : static_cast<int>(g.below(sizes_[i]));
            }
            architecture a = xnas::from_decisions(space, d);
            const auto used = xnas::to_decisions(space, a);
            const double ratio = log_density(good_mix_, used) - log_density(bad_mix_, used);
            if (!best_architecture || ratio > best) {
                best = ratio;
                best_architecture = std::move(a);
            }
        }
        return std::move(*best_architecture);
    }

    tpe_options options_;
    std::vector<std::size_t> sizes_;
    std::vector<bool> ordered_;
    std::vector<observation> told_;
    std::unordered_map<std::uint64_t, std::vector<int>> pending_;
    std::vector<std::vector<double>> good_, bad_, cost_effects_;
    double progress_ = 0; // set_progress
    kernel_mixture good_mix_, bad_mix_;
    detail::arch_set<Space> seen_;
    std::uint64_t next_id_ = 0;
};

static_assert(observing_strategy<tpe<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
