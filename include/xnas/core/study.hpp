#pragma once
// A study: what a search returns. The history of scored trials in completion order, the
// objectives they were ranked by, and queries over them (best trial, Pareto front).

#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/trial.hpp>

namespace xnas {

/// True when value vector `a` Pareto-dominates `b` under directions `objs`: no worse on every
/// objective and strictly better on at least one. A NaN (failed or missing) value is worse than
/// any number, so a trial with NaNs never dominates one without.
inline bool dominates(std::span<const double> a, std::span<const double> b,
                      std::span<const objective> objs) {
    if (a.size() != objs.size() || b.size() != objs.size())
        throw std::invalid_argument("xnas::dominates: value vectors have " +
                                    std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                                    " entries, expected " + std::to_string(objs.size()) +
                                    " (one per objective)");
    bool strictly = false;
    for (std::size_t i = 0; i < objs.size(); ++i) {
        if (better(b[i], a[i], objs[i].dir))
            return false;
        if (better(a[i], b[i], objs[i].dir))
            strictly = true;
    }
    return strictly;
}

/// The objective values of an evaluation in the order of `objs` (NaN where missing or failed).
inline std::vector<double> objective_values(const evaluation& e, std::span<const objective> objs) {
    std::vector<double> v;
    v.reserve(objs.size());
    for (const auto& o : objs)
        v.push_back(e.value(o.name));
    return v;
}

/// Why a search stopped.
enum class stop_reason {
    none,        ///< still running (or never started)
    max_trials,  ///< options.max_trials reached
    max_seconds, ///< wall-clock budget reached
    max_cost,    ///< summed evaluation cost reached
    callback,    ///< a callback hook returned true
};

inline const char* to_string(stop_reason r) {
    switch (r) {
    case stop_reason::none:
        return "none";
    case stop_reason::max_trials:
        return "max_trials";
    case stop_reason::max_seconds:
        return "max_seconds";
    case stop_reason::max_cost:
        return "max_cost";
    case stop_reason::callback:
        return "callback";
    }
    return "unknown";
}

/// The record of one search over architectures of type A.
template <class A>
struct study {
    /// The objectives trials are ranked by; the first is the primary one (`best()`).
    std::vector<objective> objectives{};
    /// Every evaluated trial, in completion order (the order results were told).
    std::vector<scored<A>> history{};
    /// Non-fatal problems met on the way (e.g. a torn last journal line that was ignored).
    std::vector<std::string> warnings{};
    stop_reason stopped_by = stop_reason::none;
    /// Wall-clock seconds the search had run before this run resumed it from a journal (0 for a
    /// fresh search): search_options::max_seconds counts them, so a killed run resumed with the
    /// same budget finishes on time instead of starting the clock again.
    double resumed_seconds = 0;

    /// Summed cost of all evaluations (the unit the evaluator charges: seconds, simulated time).
    double total_cost() const {
        double c = 0;
        for (const auto& s : history)
            c += s.e.cost;
        return c;
    }

    /// Index into history of the best successful trial by `o` among those at the highest
    /// fidelity that has a value for `o` (every trial, in a single-fidelity search): a score
    /// from a few images or epochs is not comparable with a full one, so a multi-fidelity
    /// search's winner is its best full evaluation. Ties go to the earliest. Empty when no
    /// trial has a value for `o`.
    std::optional<std::size_t> best_index(const objective& o) const {
        std::optional<std::size_t> best;
        for (std::size_t i = 0; i < history.size(); ++i) {
            const double v = history[i].e.value(o.name);
            if (std::isnan(v))
                continue;
            const double f = history[i].t.fidelity;
            if (!best || f > history[*best].t.fidelity ||
                (f == history[*best].t.fidelity &&
                 better(v, history[*best].e.value(o.name), o.dir)))
                best = i;
        }
        return best;
    }

    /// Best trial by objective `o`. Throws std::out_of_range when no trial succeeded.
    const scored<A>& best(const objective& o) const {
        const auto i = best_index(o);
        if (!i)
            throw std::out_of_range("xnas::study::best: no successful trial has objective '" +
                                    o.name + "' (" + std::to_string(history.size()) +
                                    " trials in history)");
        return history[*i];
    }

    /// Best trial by the study objective named `name` (its direction comes from `objectives`).
    const scored<A>& best(const std::string& name) const { return best(find_objective(name)); }

    /// Best trial by the primary (first) objective.
    const scored<A>& best() const {
        if (objectives.empty())
            throw std::out_of_range("xnas::study::best: the study has no objectives");
        return best(objectives.front());
    }

    /// Indices into history of the successful trials no other trial dominates on `objs`
    /// (all study objectives by default), in history order, among those at the highest fidelity
    /// with every objective (as best_index). O(n^2 m).
    std::vector<std::size_t> pareto_front(std::span<const objective> objs) const {
        std::vector<std::vector<double>> vals;
        std::vector<std::size_t> idx;
        double top = -std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < history.size(); ++i) {
            auto v = objective_values(history[i].e, objs);
            bool complete = true;
            for (double x : v)
                complete = complete && !std::isnan(x);
            if (!complete || history[i].t.fidelity < top)
                continue;
            if (history[i].t.fidelity > top) { // everything below this fidelity drops out
                top = history[i].t.fidelity;
                vals.clear();
                idx.clear();
            }
            vals.push_back(std::move(v));
            idx.push_back(i);
        }
        std::vector<std::size_t> front;
        for (std::size_t i = 0; i < vals.size(); ++i) {
            bool dominated = false;
            for (std::size_t j = 0; j < vals.size() && !dominated; ++j)
                dominated = j != i && dominates(vals[j], vals[i], objs);
            if (!dominated)
                front.push_back(idx[i]);
        }
        return front;
    }

    std::vector<std::size_t> pareto_front() const { return pareto_front(objectives); }

    /// The study objective named `name`; throws std::invalid_argument listing the known ones.
    const objective& find_objective(const std::string& name) const {
        for (const auto& o : objectives)
            if (o.name == name)
                return o;
        std::string known;
        for (const auto& o : objectives) {
            known += known.empty() ? "" : ", ";
            known += o.name;
        }
        throw std::invalid_argument("xnas::study: no objective named '" + name +
                                    "'; the study has: " + known);
    }
};

} // namespace xnas
