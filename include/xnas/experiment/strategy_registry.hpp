#pragma once
// Choosing a strategy by name at run time: any_strategy, a value-semantic type-erased strategy
// (a copy is a new strategy in the same state, never a second handle on the first), and
// strategy_registry, names with the factories that make them from a few common settings.
// shipped_strategies<Space>() lists every shipped strategy the space supports; a user adds their
// own with strategy_registry::add. One instantiation of the search loop serves every name, which
// keeps a tool that offers them all quick to compile.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/strategy.hpp>

namespace xnas::experiment {

/// Any strategy over Space behind one type. Copying clones the wrapped strategy: the copy asks
/// and learns on its own, and the original's next ask is what it would have been without the
/// copy. A moved-from any_strategy may only be assigned to or destroyed.
///
/// It always offers set_progress (ignored by strategies without one), so xnas::search records
/// the budget share in every ask of the journal whatever the strategy, and observe (a trial
/// the strategy did not ask: observed when the strategy models observing_strategy, told
/// otherwise; observes() says which).
template <search_space Space>
class any_strategy {
  public:
    using architecture = typename Space::architecture;

    /// Wraps a copy of `st`.
    template <class St>
    requires(!std::same_as<std::remove_cvref_t<St>, any_strategy>) &&
        strategy<std::remove_cvref_t<St>,
                 Space>&& std::copy_constructible<std::remove_cvref_t<St>> any_strategy(St&& st)
        : self_(std::make_unique<model<std::remove_cvref_t<St>>>(std::forward<St>(st))) {}

    any_strategy(const any_strategy& other)
        : self_(other.self_->clone()) {}
    any_strategy(any_strategy&&) noexcept = default;
    any_strategy& operator=(const any_strategy& other) {
        if (this != &other)
            self_ = other.self_->clone();
        return *this;
    }
    any_strategy& operator=(any_strategy&&) noexcept = default;
    ~any_strategy() = default;

    trial<architecture> ask(const Space& space, rng& g) { return self_->ask(space, g); }
    void tell(const trial<architecture>& t, const evaluation& e) { self_->tell(t, e); }
    /// The share of the budget spent (0 to 1), for strategies that schedule by it.
    void set_progress(double share) { self_->set_progress(share); }
    /// Learns from a trial it did not ask (a warm start's seed): observes it when the wrapped
    /// strategy can, tells it otherwise.
    void observe(const Space& space, const trial<architecture>& t, const evaluation& e) {
        self_->observe(space, t, e);
    }
    /// Whether the wrapped strategy models observing_strategy.
    bool observes() const { return self_->observes(); }
    /// The wrapped strategy's retired trials (see retiring_strategy); none when it retires none.
    std::vector<std::uint64_t> take_retired() { return self_->take_retired(); }
    /// The wrapped strategy when it is an St, else nullptr (as std::function::target).
    template <class St>
    const St* target() const {
        const auto* m = dynamic_cast<const model<St>*>(self_.get());
        return m ? &m->st : nullptr;
    }

  private:
    struct interface {
        virtual ~interface() = default;
        virtual std::unique_ptr<interface> clone() const = 0;
        virtual trial<architecture> ask(const Space&, rng&) = 0;
        virtual void tell(const trial<architecture>&, const evaluation&) = 0;
        virtual void set_progress(double) = 0;
        virtual void observe(const Space&, const trial<architecture>&, const evaluation&) = 0;
        virtual bool observes() const = 0;
        virtual std::vector<std::uint64_t> take_retired() = 0;
    };
    template <class St>
    struct model final : interface {
        explicit model(St s)
            : st(std::move(s)) {}
        std::unique_ptr<interface> clone() const override { return std::make_unique<model>(st); }
        trial<architecture> ask(const Space& space, rng& g) override { return st.ask(space, g); }
        void tell(const trial<architecture>& t, const evaluation& e) override { st.tell(t, e); }
        void set_progress(double share) override {
            if constexpr (requires { st.set_progress(share); })
                st.set_progress(share);
        }
        void observe(const Space& space, const trial<architecture>& t,
                     const evaluation& e) override {
            if constexpr (observing_strategy<St, Space>)
                st.observe(space, t, e);
            else
                st.tell(t, e);
        }
        bool observes() const override { return observing_strategy<St, Space>; }
        std::vector<std::uint64_t> take_retired() override {
            if constexpr (retiring_strategy<St>)
                return st.take_retired();
            else
                return {};
        }
        St st;
    };
    std::unique_ptr<interface> self_;
};

/// What the registry's factories build a strategy from: the objectives and the budget a search
/// will run with. A 0 leaves the strategy's own default.
struct strategy_settings {
    objective primary{"val_accuracy", direction::maximize}; ///< what every strategy optimises
    objective secondary{"params", direction::minimize};     ///< nsga2's second objective
    /// Trials the search is expected to run: sizes evolution's and nsga2's populations
    /// (budget / 4 within [4, 50]) and bananas's random start (min(10, budget / 3 + 1)), so a
    /// short search is not all random start (0: each strategy's defaults).
    std::size_t budget = 0;
    double min_fidelity = 0;    ///< hyperband, asha, bohb: lowest rung (0: their default, 1/27)
    double cost_exponent = 0;   ///< tpe, bohb: weight of the predicted cost (tpe_options)
    std::string cost = "flops"; ///< tpe, bohb: the result entry their cost model predicts
    bool cost_cooling = false;  ///< tpe, tpe-multivariate, bohb (tpe_options)
    /// Several objectives for the strategies that rank by several: hyperband, asha and bohb
    /// promote (and bohb's and tpe's models rank) by non-dominated front, then crowding distance;
    /// nsga2 takes them in place of primary and secondary. Empty: primary alone (and nsga2's
    /// secondary). Other strategies read primary only.
    std::vector<objective> objectives{};
};

/// Names mapped to factories of strategies over Space, in the order they were added. A copy
/// is independent of the original (the factories hold no state).
template <search_space Space>
class strategy_registry {
  public:
    using factory = std::function<any_strategy<Space>(const strategy_settings&)>;
    struct entry {
        std::string name;
        std::string note; ///< shown after the name by describe(); may be empty
        factory make;
    };

    /// Adds a strategy under `name`. Throws std::invalid_argument for an empty or taken name or
    /// an empty factory.
    strategy_registry& add(std::string name, std::string note, factory make) {
        if (name.empty() || contains(name) || !make)
            throw std::invalid_argument("xnas::experiment::strategy_registry::add: " +
                                        (name.empty()     ? std::string("empty name")
                                         : contains(name) ? "\"" + name + "\" is taken"
                                                          : "\"" + name + "\" has no factory"));
        entries_.push_back({std::move(name), std::move(note), std::move(make)});
        return *this;
    }

    bool contains(std::string_view name) const { return find(name) != nullptr; }
    const entry* find(std::string_view name) const {
        const auto it = std::find_if(entries_.begin(), entries_.end(),
                                     [&](const entry& e) { return e.name == name; });
        return it == entries_.end() ? nullptr : &*it;
    }
    const std::vector<entry>& entries() const { return entries_; }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : entries_)
            out.push_back(e.name);
        return out;
    }
    /// The names joined by `separator`, each followed by its note in parentheses: for --help.
    std::string describe(std::string_view separator = ", ") const {
        std::string out;
        for (const auto& e : entries_) {
            if (!out.empty())
                out += separator;
            out += e.name;
            if (!e.note.empty())
                out += " (" + e.note + ")";
        }
        return out;
    }

    /// A new strategy `name` made with `settings`. Throws std::invalid_argument naming the
    /// unknown name and listing the known ones.
    any_strategy<Space> make(std::string_view name, const strategy_settings& settings = {}) const {
        const entry* e = find(name);
        if (!e) {
            std::string known;
            for (const auto& n : entries_)
                known += (known.empty() ? "" : ", ") + n.name;
            throw std::invalid_argument("unknown strategy \"" + std::string(name) +
                                        "\" (known for this space: " + known + ")");
        }
        return e->make(settings);
    }

  private:
    std::vector<entry> entries_;
};

/// Every shipped strategy that supports Space, in this order: random, evolution, local
/// (neighbourhood_space), reinforce, tpe, tpe-multivariate (decision_space), bananas
/// (encodable_space), nsga2, hyperband, asha, bohb (decision_space). Each optimises
/// settings.primary (nsga2 also settings.secondary); tpe, nsga2, hyperband, asha and bohb
/// settings.objectives when it names several.
template <search_space Space>
strategy_registry<Space> shipped_strategies() {
    using S = any_strategy<Space>;
    using settings = strategy_settings;
    auto population = [](const settings& s) {
        return std::clamp<std::size_t>(s.budget / 4, 4, 50);
    };
    auto several = [](const settings& s) {
        return s.objectives.size() > 1 ? s.objectives : std::vector<objective>{};
    };
    strategy_registry<Space> r;
    r.add("random", "", [](const settings&) { return S(random_search<Space>()); });
    r.add("evolution", "", [population](const settings& s) {
        regularized_evolution_options o{.objective = s.primary};
        if (s.budget) {
            o.population_size = population(s);
            o.sample_size = std::max<std::size_t>(2, o.population_size / 3);
        }
        return S(regularized_evolution<Space>(o));
    });
    if constexpr (neighbourhood_space<Space>)
        r.add("local", "",
              [](const settings& s) { return S(local_search<Space>({.objective = s.primary})); });
    if constexpr (decision_space<Space>) {
        r.add("reinforce", "",
              [](const settings& s) { return S(reinforce<Space>({.objective = s.primary})); });
        r.add("tpe", "", [several](const settings& s) {
            return S(tpe<Space>({.objective = s.primary,
                                 .objectives = several(s),
                                 .cost_exponent = s.cost_exponent,
                                 .cost = s.cost,
                                 .cost_cooling = s.cost_cooling}));
        });
        r.add("tpe-multivariate", "decisions modelled jointly", [several](const settings& s) {
            return S(tpe<Space>({.objective = s.primary,
                                 .objectives = several(s),
                                 .multivariate = true,
                                 .cost = s.cost,
                                 .cost_cooling = s.cost_cooling}));
        });
    }
    if constexpr (encodable_space<Space>)
        r.add("bananas", "", [](const settings& s) {
            bananas_options o{.objective = s.primary};
            if (s.budget)
                o.initial_samples = std::min<std::size_t>(10, s.budget / 3 + 1);
            return S(bananas<Space>(std::move(o)));
        });
    r.add("nsga2", "", [population](const settings& s) {
        nsga2_options o{.objectives = s.objectives.size() > 1
                                          ? s.objectives
                                          : std::vector<objective>{s.primary, s.secondary}};
        if (s.budget)
            o.population_size = population(s);
        return S(nsga2<Space>(std::move(o)));
    });
    r.add("hyperband", "", [several](const settings& s) {
        hyperband_options o{.objective = s.primary, .objectives = several(s)};
        if (s.min_fidelity > 0)
            o.min_fidelity = s.min_fidelity;
        return S(hyperband<Space>(o));
    });
    r.add("asha", "", [several](const settings& s) {
        asha_options o{.objective = s.primary, .objectives = several(s)};
        if (s.min_fidelity > 0)
            o.min_fidelity = s.min_fidelity;
        return S(asha<Space>(o));
    });
    if constexpr (decision_space<Space>)
        r.add("bohb", "hyperband with TPE proposals", [several](const settings& s) {
            // Field by field: g++ 12 warns (falsely) that a designated initializer leaves the
            // nested model options' strings uninitialised.
            bohb_options o;
            if (s.min_fidelity > 0)
                o.min_fidelity = s.min_fidelity;
            o.objective = s.primary;
            o.objectives = several(s);
            o.model.cost_exponent = s.cost_exponent;
            o.model.cost = s.cost;
            o.model.cost_cooling = s.cost_cooling;
            return S(bohb<Space>(std::move(o)));
        });
    return r;
}

} // namespace xnas::experiment
