#pragma once
// xnas::nsga2: multi-objective evolution by non-dominated sorting and crowding distance (Deb,
// Pratap, Agarwal & Meyarivan, 2002, "A fast and elitist multiobjective genetic algorithm:
// NSGA-II", IEEE Transactions on Evolutionary Computation 6(2):182-197).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
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
/// N children, parents and offspring are merged, duplicates dropped, and the best N by
/// (front, crowding distance) become the new parents, as in the paper's generation step.
/// Before the first selection, asks are random samples. Evaluations missing an objective or
/// failed are dropped. Told results of trials it did not ask join the offspring too; observed
/// ones (observe) also replace initial random asks.
template <search_space Space>
class nsga2 {
  public:
    using architecture = typename Space::architecture;

    /// One member of the population: its trial id, architecture, oriented scores (larger is
    /// better, in the order of options.objectives), front index (0 = non-dominated) and
    /// crowding distance.
    struct member {
        std::uint64_t id;
        architecture arch;
        std::vector<double> scores;
        std::size_t rank = 0;
        double crowding = 0;
    };

    explicit nsga2(nsga2_options options)
        : options_(std::move(options)) {
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
        member m{t.id, t.architecture, {}, 0, 0};
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
        std::vector<std::vector<double>> points;
        points.reserve(pool.size());
        for (const auto& m : pool)
            points.push_back(m.scores);
        // Scores are oriented (larger is better), so every objective is maximized here.
        const std::vector<objective> maximize(options_.objectives.size(),
                                              objective{"", direction::maximize});
        const auto fronts = non_dominated_sort(points, maximize);
        std::vector<member> next;
        next.reserve(options_.population_size);
        for (std::size_t f = 0; f < fronts.size() && next.size() < options_.population_size; ++f) {
            const auto crowd = crowding_distance(points, fronts[f]);
            std::vector<std::size_t> order(fronts[f].size());
            std::iota(order.begin(), order.end(), std::size_t{0});
            if (next.size() + order.size() > options_.population_size)
                std::stable_sort(order.begin(), order.end(),
                                 [&](std::size_t a, std::size_t b) { return crowd[a] > crowd[b]; });
            for (std::size_t i : order) {
                if (next.size() == options_.population_size)
                    break;
                member& m = pool[fronts[f][i]];
                m.rank = f;
                m.crowding = crowd[i];
                next.push_back(std::move(m));
            }
        }
        parents_ = std::move(next);
    }

    nsga2_options options_;
    std::vector<member> parents_, offspring_;
    detail::arch_set<Space> seen_;
    std::uint64_t next_id_ = 0;
    std::size_t asked_ = 0, observed_ = 0;
};

static_assert(observing_strategy<nsga2<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
