#pragma once
// xnas::regularized_evolution: aging evolution (Real, Aggarwal, Huang & Le, 2019, "Regularized
// Evolution for Image Classifier Architecture Search", AAAI, arXiv:1802.01548).

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/select/tournament.hpp>
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
    /// S: individuals drawn (with replacement, as in the paper) for each tournament of the default
    /// parent selector.
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
/// evaluations. After the first P asks, `Selector` picks a parent among the living members (oldest
/// first, each with the trial and evaluation it was told) and the ask mutates it. The default is
/// the paper's tournament: S members drawn with replacement, the best by options.objective wins.
/// Any xnas::selector drops in (a user's, top_k, tournament without replacement, a constraint
/// filter); a selector that picks no parent makes that ask a random sample. Asynchronous as in the
/// paper: an ask never waits for tells (while no member has been told, it samples at random);
/// failed evaluations and evaluations lacking the objective do not join the population. Told
/// results of trials it did not ask join the population too, but only observed ones (observe)
/// also replace initial random asks.
template <search_space Space, class Selector = tournament>
requires selector<Selector, typename Space::architecture>
class regularized_evolution {
  public:
    using architecture = typename Space::architecture;

    /// Parents from the paper's tournament (Selector = tournament: S = options.sample_size drawn
    /// with replacement, by options.objective), or from a default-constructed Selector.
    explicit regularized_evolution(
        regularized_evolution_options options = {}) requires std::default_initializable<Selector>
        : regularized_evolution(options, default_selector(options)) {}

    /// Parents from `parents`; options.sample_size is then not read (but still checked).
    regularized_evolution(regularized_evolution_options options, Selector parents)
        : options_(std::move(options))
        , selector_(std::move(parents)) {
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
        const auto p1 = asked_++ + observed_ < options_.population_size || population_.empty()
                            ? std::nullopt
                            : parent(g);
        if (!p1) {
            t.architecture = space.sample(g);
            return t;
        }
        const auto& first = population_[*p1].t;
        if constexpr (crossover_space<Space>) {
            if (options_.crossover_probability > 0 && g.bernoulli(options_.crossover_probability)) {
                if (const auto p2 = parent(g)) {
                    const auto& second = population_[*p2].t;
                    t.parents = {first.id, second.id};
                    t.architecture = space.mutate(
                        space.crossover(first.architecture, second.architecture, g), g);
                    return t;
                }
            }
        }
        t.parents = {first.id};
        t.architecture = space.mutate(first.architecture, g);
        return t;
    }

    void tell(const trial<architecture>& t, const evaluation& e) {
        add(t, e, "xnas::regularized_evolution::tell");
    }

    /// The result of a trial this strategy did not ask (a warm start's seeds) joins the
    /// population as a told one does, and also takes the place of one of the first P random
    /// asks: after P observed results the first ask already breeds from a parent. A failed one
    /// neither joins nor counts.
    void observe(const Space&, const trial<architecture>& t, const evaluation& e) {
        if (add(t, e, "xnas::regularized_evolution::observe"))
            ++observed_;
    }

    /// Members currently alive, oldest first.
    std::size_t population_size() const { return population_.size(); }
    /// The living members with the trials and evaluations they were told, oldest first: what the
    /// selector chooses parents from.
    std::span<const scored<architecture>> population() const { return population_; }
    const regularized_evolution_options& options() const { return options_; }
    const Selector& parent_selector() const { return selector_; }

  private:
    static Selector default_selector(const regularized_evolution_options& o) {
        if constexpr (std::same_as<Selector, tournament>)
            return tournament{.size = o.sample_size, .by = o.objective, .with_replacement = true};
        else
            return Selector{};
    }

    // True when the result joined the population.
    bool add(const trial<architecture>& t, const evaluation& e, const char* who) {
        if (std::isnan(detail::score_of(e, options_.objective, who)))
            return false;
        population_.push_back({t, e});
        if (population_.size() > options_.population_size)
            population_.erase(population_.begin()); // the oldest dies
        return true;
    }

    // The selector's parent: a position in population_, or nothing when it picks none.
    std::optional<std::size_t> parent(rng& g) {
        const auto picked =
            selector_.select(std::span<const scored<architecture>>(population_), 1, g);
        if (picked.empty())
            return std::nullopt;
        if (picked.front() >= population_.size())
            throw std::logic_error("xnas::regularized_evolution::ask: the parent selector picked " +
                                   std::to_string(picked.front()) + " in a population of " +
                                   std::to_string(population_.size()));
        return picked.front();
    }

    regularized_evolution_options options_;
    Selector selector_;
    std::vector<scored<architecture>> population_;
    std::uint64_t next_id_ = 0;
    std::size_t asked_ = 0, observed_ = 0;
};

static_assert(
    observing_strategy<regularized_evolution<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
