#pragma once
// Internals shared by the shipped strategies: reading one objective (or several) from an
// evaluation as "larger is better" scores, ranking results by several objectives, and a set of
// architectures that picks the fastest lookup the architecture type allows.

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/select/pareto.hpp>

namespace xnas::detail {

/// The value of objective `o` in `e`, oriented so that larger is better (negated when `o` is
/// minimized); NaN when the evaluation failed or lacks the value. An empty objective name means
/// "the evaluation's only objective"; with several objectives that is ambiguous and throws.
inline double score_of(const evaluation& e, const objective& o, const char* who) {
    if (!e.ok())
        return std::numeric_limits<double>::quiet_NaN();
    double v;
    if (o.name.empty()) {
        if (e.objectives.size() == 1) {
            v = e.objectives.begin()->second;
        } else if (e.objectives.empty()) {
            return std::numeric_limits<double>::quiet_NaN();
        } else {
            std::string names;
            for (const auto& [k, _] : e.objectives)
                names += (names.empty() ? "" : ", ") + k;
            throw std::invalid_argument(std::string(who) +
                                        ": options name no objective and the evaluation has " +
                                        std::to_string(e.objectives.size()) + " (" + names +
                                        "); expected one, or set .objective = {\"name\"}");
        }
    } else {
        v = e.value(o.name);
    }
    if (std::isnan(v))
        return v;
    return o.dir == direction::maximize ? v : -v;
}

/// score_of for each objective of `objs`, in order.
inline std::vector<double> scores_of(const evaluation& e, std::span<const objective> objs,
                                     const char* who) {
    std::vector<double> v;
    v.reserve(objs.size());
    for (const auto& o : objs)
        v.push_back(score_of(e, o, who));
    return v;
}

/// Positions of `rows` (one vector of oriented scores per result, larger is better, NaN worst)
/// best first, as NSGA-II ranks a population: by non-dominated front, then by larger crowding
/// distance within a front, then by position (earlier first). Rows with a NaN (failed
/// evaluations) come last, in position order.
inline std::vector<std::size_t> pareto_order(const std::vector<std::vector<double>>& rows) {
    std::vector<std::size_t> valid, failed;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const bool nan =
            std::any_of(rows[i].begin(), rows[i].end(), [](double v) { return std::isnan(v); });
        (nan ? failed : valid).push_back(i);
    }
    std::vector<std::size_t> order;
    order.reserve(rows.size());
    if (!valid.empty()) {
        std::vector<std::vector<double>> values;
        values.reserve(valid.size());
        for (std::size_t i : valid)
            values.push_back(rows[i]);
        const std::vector<objective> maximize(values[0].size(), objective{"", direction::maximize});
        for (const auto& front : non_dominated_sort(values, maximize)) {
            const std::vector<double> crowding = crowding_distance(values, front);
            std::vector<std::size_t> by(front.size());
            for (std::size_t k = 0; k < by.size(); ++k)
                by[k] = k;
            std::stable_sort(by.begin(), by.end(), [&](std::size_t a, std::size_t b) {
                return crowding[a] > crowding[b];
            });
            for (std::size_t k : by)
                order.push_back(valid[front[k]]);
        }
    }
    order.insert(order.end(), failed.begin(), failed.end());
    return order;
}

/// Reorders `results` (each with `scores`, its oriented scores) best first by pareto_order.
template <class Result>
void sort_by_pareto(std::vector<Result>& results) {
    std::vector<std::vector<double>> rows;
    rows.reserve(results.size());
    for (const auto& r : results)
        rows.push_back(r.scores);
    std::vector<Result> sorted;
    sorted.reserve(results.size());
    for (std::size_t i : pareto_order(rows))
        sorted.push_back(std::move(results[i]));
    results = std::move(sorted);
}

/// The objectives a strategy ranks by: `several` when it names any, else `{one}`.
inline std::vector<objective> ranking_objectives(const std::vector<objective>& several,
                                                 const objective& one) {
    return several.empty() ? std::vector<objective>{one} : several;
}

/// In-place Fisher-Yates shuffle drawing from g. Unlike rng::shuffle it finds swap by ADL at
/// instantiation, so it works for element types (std::array) whose swap overload was declared
/// after <xnas/core/rng.hpp>.
template <class RandomIt>
void shuffle(RandomIt first, RandomIt last, rng& g) {
    const auto n = last - first;
    for (auto i = n - 1; i > 0; --i) {
        const auto j = static_cast<decltype(i)>(g.below(static_cast<std::uint64_t>(i) + 1));
        using std::swap;
        swap(first[i], first[j]);
    }
}

/// NaN-aware "a is a better score than b" for oriented scores (NaN is worst).
inline bool score_better(double a, double b) {
    return better(a, b, direction::maximize);
}

template <class A>
concept hashable = requires(const A& a) {
    { std::hash<A>{}(a) } -> std::convertible_to<std::size_t>;
};

template <class S>
concept indexable_space = requires(const S& s, const typename S::architecture& a) {
    { s.index(a) } -> std::convertible_to<std::uint64_t>;
    { s.cardinality() } -> std::convertible_to<double>;
};

template <class S>
concept printable_space = requires(const S& s, const typename S::architecture& a) {
    { s.to_string(a) } -> std::convertible_to<std::string>;
};

/// A set of architectures of space S, keyed by the cheapest exact key available: the
/// architecture itself when std::hash<A> exists or A is totally ordered, else the space's
/// index(a) (when the space has fewer than 2^63 cells), else its to_string(a), else a linear
/// list (any std::regular architecture works, only slower).
template <class S>
class arch_set {
  public:
    using A = typename S::architecture;

    /// True when a was not in the set.
    bool insert(const S& s, const A& a) {
        if constexpr (hashable<A>) {
            return hashed_.insert(a).second;
        } else if constexpr (std::totally_ordered<A>) {
            return ordered_.insert(a).second;
        } else if constexpr (indexable_space<S>) {
            if (use_index(s))
                return indices_.insert(static_cast<std::uint64_t>(s.index(a))).second;
            return insert_fallback(s, a);
        } else {
            return insert_fallback(s, a);
        }
    }
    bool contains(const S& s, const A& a) const {
        if constexpr (hashable<A>)
            return hashed_.count(a) != 0;
        else if constexpr (std::totally_ordered<A>)
            return ordered_.count(a) != 0;
        else if constexpr (indexable_space<S>)
            return use_index(s) ? indices_.count(static_cast<std::uint64_t>(s.index(a))) != 0
                                : contains_fallback(s, a);
        else
            return contains_fallback(s, a);
    }
    std::size_t size() const {
        return hashed_.size() + ordered_.size() + indices_.size() + strings_.size() + list_.size();
    }
    void clear() {
        hashed_.clear();
        ordered_.clear();
        indices_.clear();
        strings_.clear();
        list_.clear();
    }

  private:
    static bool use_index(const S& s) {
        if constexpr (indexable_space<S>)
            return static_cast<double>(s.cardinality()) < 9.2e18;
        else
            return false;
    }
    bool insert_fallback(const S& s, const A& a) {
        if constexpr (printable_space<S>) {
            return strings_.insert(std::string(s.to_string(a))).second;
        } else {
            if (contains_fallback(s, a))
                return false;
            list_.push_back(a);
            return true;
        }
    }
    bool contains_fallback(const S& s, const A& a) const {
        if constexpr (printable_space<S>)
            return strings_.count(std::string(s.to_string(a))) != 0;
        else
            return std::find(list_.begin(), list_.end(), a) != list_.end();
    }

    struct no_hash {
        std::size_t operator()(const A&) const { return 0; }
    };
    using hasher = std::conditional_t<hashable<A>, std::hash<A>, no_hash>;
    std::unordered_set<A, hasher> hashed_;
    std::set<A, std::conditional_t<std::totally_ordered<A>, std::less<A>, std::less<>>> ordered_;
    std::unordered_set<std::uint64_t> indices_;
    std::unordered_set<std::string> strings_;
    std::vector<A> list_;
};

} // namespace xnas::detail
