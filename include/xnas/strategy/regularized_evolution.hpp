#pragma once
// xnas::regularized_evolution: aging evolution (Real, Aggarwal, Huang & Le, 2019, "Regularized
// Evolution for Image Classifier Architecture Search", AAAI, arXiv:1802.01548).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <utility>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/strategy/detail/archetype.hpp>
#include <xnas/strategy/detail/common.hpp>

namespace xnas {

/// Options of regularized_evolution.
struct regularized_evolution_options {
    /// P: architectures kept alive; the first P asks (less one per observed result) are random
    /// samples. The paper used P = 100, S = 25 for runs of 20,000 models; 30 / 10 (NASLib's
    /// NAS-Bench setting) suits the budgets of 100-1000 evaluations that tabular benchmarks and
    /// CPU searches afford.
    std::size_t population_size = 30;
    /// S: individuals drawn (with replacement, as in the paper) for each tournament.
    std::size_t sample_size = 10;
    /// Probability that a child comes from crossover of two tournament winners (then mutation)
    /// instead of mutation alone. Used only when the space models crossover_space.
    double crossover_probability = 0.0;
    /// The objective to maximize (or minimize, by its direction); empty name: the evaluation's
    /// only objective.
    xnas::objective objective{};
    /// Fidelity of every asked trial.
    double fidelity = 1.0;
};

/// Regularized (aging) evolution. The population is a queue in order of arrival of tells: a new
/// member pushes out the oldest, not the worst, which the paper shows regularizes against lucky
/// evaluations. Each ask after the first P runs a tournament of S random members and mutates
/// the winner. Asynchronous as in the paper: an ask never waits for tells (while no member has
/// been told, it samples at random); failed evaluations do not join the population. Told results
/// of trials it did not ask join the population too, but only observed ones (observe) also
/// replace initial random asks.
template <search_space Space>
class regularized_evolution {
  public:
    using architecture = typename Space::architecture;

    explicit regularized_evolution(regularized_evolution_options options = {})
        : options_(std::move(options)) {
        if (options_.population_size == 0)
            throw std::invalid_argument(
                "xnas::regularized_evolution: population_size is 0; expected >= 1");
        if (options_.sample_size == 0 || options_.sample_size > options_.population_size)
            throw std::invalid_argument("xnas::regularized_evolution: sample_size is " +
                                        std::to_string(options_.sample_size) +
                                        "; expected in [1, population_size = " +
                                        std::to_string(options_.population_size) + "]");
    }

    trial<architecture> ask(const Space& space, rng& g) {
        trial<architecture> t;
        t.id = next_id_++;
        t.fidelity = options_.fidelity;
        // Observed members fill the initial population as random asks would have.
        if (asked_++ + observed_ < options_.population_size || population_.empty()) {
            t.architecture = space.sample(g);
            return t;
        }
        const member& p1 = tournament(g);
        if constexpr (crossover_space<Space>) {
            if (options_.crossover_probability > 0 && g.bernoulli(options_.crossover_probability)) {
                const member& p2 = tournament(g);
                t.parents = {p1.id, p2.id};
                t.architecture = space.mutate(space.crossover(p1.arch, p2.arch, g), g);
                return t;
            }
        }
        t.parents = {p1.id};
        t.architecture = space.mutate(p1.arch, g);
        return t;
    }

    void tell(const trial<architecture>& t, const evaluation& e) {
        add(t, detail::score_of(e, options_.objective, "xnas::regularized_evolution::tell"));
    }

    /// The result of a trial this strategy did not ask (a warm start's seeds) joins the
    /// population as a told one does, and also takes the place of one of the first P random
    /// asks: after P observed results the first ask already runs a tournament. A failed one
    /// neither joins nor counts.
    void observe(const Space&, const trial<architecture>& t, const evaluation& e) {
        if (add(t, detail::score_of(e, options_.objective, "xnas::regularized_evolution::observe")))
            ++observed_;
    }

    /// Members currently alive, oldest first.
    std::size_t population_size() const { return population_.size(); }
    const regularized_evolution_options& options() const { return options_; }

  private:
    // True when the result joined the population.
    bool add(const trial<architecture>& t, double s) {
        if (std::isnan(s))
            return false;
        population_.push_back({t.id, t.architecture, s});
        if (population_.size() > options_.population_size)
            population_.pop_front(); // the oldest dies
        return true;
    }

    struct member {
        std::uint64_t id;
        architecture arch;
        double score;
    };

    const member& tournament(rng& g) const {
        const member* best = nullptr;
        for (std::size_t i = 0; i < options_.sample_size; ++i) {
            const member& m = population_[g.below(population_.size())];
            if (!best || m.score > best->score)
                best = &m;
        }
        return *best;
    }

    regularized_evolution_options options_;
    std::deque<member> population_;
    std::uint64_t next_id_ = 0;
    std::size_t asked_ = 0, observed_ = 0;
};

static_assert(
    observing_strategy<regularized_evolution<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
