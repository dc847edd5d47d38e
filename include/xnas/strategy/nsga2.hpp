#pragma once
// xnas::nsga2: multi-objective evolution by non-dominated sorting and crowding distance (Deb,
// Pratap, Agarwal & Meyarivan, 2002, "A fast and elitist multiobjective genetic algorithm:
// NSGA-II", IEEE Transactions on Evolutionary Computation 6(2):182-197).

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/select/pareto.hpp>
#include <xnas/strategy/detail/archetype.hpp>
#include <xnas/strategy/detail/common.hpp>

namespace xnas {

/// Options of nsga2.
struct nsga2_options {
    /// N: parents kept after each environmental selection; the first N asks (less one per
    /// observed result) are random.
    std::size_t population_size = 50;
    /// The objectives, each with its direction (at least one; usually two or three).
    std::vector<objective> objectives{};
    /// Probability that a child comes from crossover of two parents (then mutation) instead of
    /// mutation alone. Used only when the space models crossover_space.
    double crossover_probability = 0.9;
    /// Redraw a child up to this many times when its architecture was already asked, so the
    /// population does not fill with copies on small spaces (0: allow repeats).
    int max_redraws = 10;
    /// Fidelity of every asked trial.
    double fidelity = 1.0;
};

/// NSGA-II in a steady, asynchronous form: each ask breeds one child from the current parents
/// (binary tournament by rank, then crowding distance; crossover when the space has it; then
/// mutation); each successful tell adds the child to an offspring pool, and once the pool holds
/// N children, parents and offspring are merged, duplicates dropped, and `Survival` picks the N
/// new parents, as in the paper's generation step. The default, xnas::pareto over
/// options.objectives, keeps the best N by (front, crowding distance); any xnas::selector drops
/// in (a constraint filter around pareto, a user's). It sees the merged pool, parents first, each
/// member with its trial (id, architecture, options.fidelity) and the evaluation it was told.
/// Survival runs in tell, which has no generator: a selector that draws gets the strategy's own
/// (seeded with a constant, so the same tells give the same parents). Before the first
/// selection, or when survival keeps no one, asks are random samples. Evaluations missing an
/// objective or failed are dropped. Told results of trials it did not ask join the offspring
/// too; observed ones (observe) also replace initial random asks.
template <search_space Space, class Survival = pareto>
requires selector<Survival, typename Space::architecture>
class nsga2 {
  public:
    using architecture = typename Space::architecture;

    /// One member of the population: its trial id, architecture, oriented scores (larger is
    /// better, in the order of options.objectives), front index (0 = non-dominated) and
    /// crowding distance in the merged pool it survived from, and the evaluation it was told.
    struct member {
        std::uint64_t id;
        architecture arch;
        std::vector<double> scores;
        std::size_t rank = 0;
        double crowding = 0;
        evaluation result{};
    };

    /// Survival by xnas::pareto over options.objectives (Survival = pareto), or by a
    /// default-constructed Survival.
    explicit nsga2(nsga2_options options) requires std::default_initializable<Survival>
        : nsga2(options, default_survival(options)) {}

    nsga2(nsga2_options options, Survival survival)
        : options_(std::move(options))
        , survival_(std::move(survival)) {
        if (options_.objectives.empty())
            throw std::invalid_argument(
                "xnas::nsga2: options.objectives is empty; expected at least one objective");
        if (options_.population_size < 2)
            throw std::invalid_argument("xnas::nsga2: population_size is " +
                                        std::to_string(options_.population_size) +
                                        "; expected >= 2");
    }

    trial<architecture> ask(const Space& space, rng& g) {
        trial<architecture> t;
        t.id = next_id_++;
        t.fidelity = options_.fidelity;
        // Observed results stand in for initial random samples.
        if (asked_++ + observed_ < options_.population_size || parents_.empty()) {
            t.architecture = space.sample(g);
            for (int i = 0; i < options_.max_redraws && seen_.contains(space, t.architecture); ++i)
                t.architecture = space.sample(g);
        } else {
            for (int i = 0; i <= options_.max_redraws; ++i) {
                breed(space, g, t);
                if (!seen_.contains(space, t.architecture))
                    break;
            }
        }
        seen_.insert(space, t.architecture);
        return t;
    }

    void tell(const trial<architecture>& t, const evaluation& e) { add(t, e, "xnas::nsga2::tell"); }

    /// The result of a trial this strategy did not ask (a warm start's seeds) joins the offspring
    /// pool as a told one does, replaces one of the first N random asks, and is not asked again:
    /// after N observed results the first ask already breeds. A failed one is dropped.
    void observe(const Space& space, const trial<architecture>& t, const evaluation& e) {
        seen_.insert(space, t.architecture);
        if (add(t, e, "xnas::nsga2::observe"))
            ++observed_;
    }

    /// The current parents (empty before the first selection), with rank and crowding.
    const std::vector<member>& population() const { return parents_; }
    const nsga2_options& options() const { return options_; }

  private:
    // True when the result joined the offspring pool.
    bool add(const trial<architecture>& t, const evaluation& e, const char* who) {
        if (!e.ok())
            return false;
        member m{t.id, t.architecture, {}, 0, 0, e};
        m.scores.reserve(options_.objectives.size());
        for (const auto& o : options_.objectives) {
            if (o.name.empty())
                throw std::invalid_argument(std::string(who) +
                                            ": an objective in options has an empty name; "
                                            "expected the evaluation's key");
            const double s = detail::score_of(e, o, who);
            if (std::isnan(s))
                return false;
            m.scores.push_back(s);
        }
        offspring_.push_back(std::move(m));
        if (offspring_.size() >= options_.population_size)
            select();
        return true;
    }

    void breed(const Space& space, rng& g, trial<architecture>& t) const {
        const member& p1 = binary_tournament(g);
        if constexpr (crossover_space<Space>) {
            if (options_.crossover_probability > 0 && g.bernoulli(options_.crossover_probability)) {
                const member& p2 = binary_tournament(g);
                t.parents = {p1.id, p2.id};
                t.architecture = space.mutate(space.crossover(p1.arch, p2.arch, g), g);
                return;
            }
        }
        t.parents = {p1.id};
        t.architecture = space.mutate(p1.arch, g);
    }

    // Crowded-comparison operator of the paper: lower front wins, then larger crowding.
    const member& binary_tournament(rng& g) const {
        const member& a = parents_[g.below(parents_.size())];
        const member& b = parents_[g.below(parents_.size())];
        if (a.rank != b.rank)
            return a.rank < b.rank ? a : b;
        return b.crowding > a.crowding ? b : a;
    }

    static Survival default_survival(const nsga2_options& o) {
        if constexpr (std::same_as<Survival, pareto>)
            return pareto{o.objectives};
        else
            return Survival{};
    }

    void select() {
        std::vector<member> pool = std::move(parents_);
        for (auto& m : offspring_) {
            bool duplicate = false;
            for (const auto& p : pool)
                if (p.arch == m.arch) {
                    duplicate = true;
                    break;
                }
            if (!duplicate)
                pool.push_back(std::move(m));
        }
        offspring_.clear();
        rank_and_crowd(pool);
        std::vector<scored<architecture>> candidates;
        candidates.reserve(pool.size());
        for (const auto& m : pool)
            candidates.push_back({{m.id, m.arch, options_.fidelity, {}}, m.result});
        const std::span<const scored<architecture>> view(candidates);
        std::vector<std::size_t> kept;
        if constexpr (deterministic_selector<Survival, architecture>)
            kept = survival_.select(view, options_.population_size);
        else
            kept = survival_.select(view, options_.population_size, survival_rng_);
        if (kept.size() > options_.population_size)
            throw std::logic_error("xnas::nsga2: the survival selector kept " +
                                   std::to_string(kept.size()) + " members, expected at most " +
                                   std::to_string(options_.population_size));
        std::vector<member> next;
        next.reserve(kept.size());
        std::vector<bool> taken(pool.size(), false);
        for (std::size_t i : kept) {
            if (i >= pool.size() || taken[i])
                throw std::logic_error("xnas::nsga2: the survival selector picked " +
                                       std::to_string(i) + (i < pool.size() ? " twice" : "") +
                                       " in a pool of " + std::to_string(pool.size()));
            taken[i] = true;
            next.push_back(std::move(pool[i]));
        }
        parents_ = std::move(next);
    }

    // Each member's front and crowding distance in the pool: what the crowded comparison of the
    // parents' binary tournament reads (the paper measures them on the merged population, so a
    // parent from the cut front keeps the distance that let it survive).
    void rank_and_crowd(std::vector<member>& pool) const {
        std::vector<std::vector<double>> points;
        points.reserve(pool.size());
        for (const auto& m : pool)
            points.push_back(m.scores);
        // Scores are oriented (larger is better), so every objective is maximized here.
        const std::vector<objective> maximize(options_.objectives.size(),
                                              objective{"", direction::maximize});
        const auto fronts = non_dominated_sort(points, maximize);
        for (std::size_t f = 0; f < fronts.size(); ++f) {
            const auto crowd = crowding_distance(points, fronts[f]);
            for (std::size_t i = 0; i < fronts[f].size(); ++i) {
                pool[fronts[f][i]].rank = f;
                pool[fronts[f][i]].crowding = crowd[i];
            }
        }
    }

    nsga2_options options_;
    Survival survival_;
    rng survival_rng_{0x5EEDu}; // for survival selectors that draw; tell has no generator
    std::vector<member> parents_, offspring_;
    detail::arch_set<Space> seen_;
    std::uint64_t next_id_ = 0;
    std::size_t asked_ = 0, observed_ = 0;
};

static_assert(observing_strategy<nsga2<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
