#pragma once
// The decision view of a search space: its architectures as a fixed-length sequence of
// categorical decisions (what tpe, reinforce and bohb model), which of those decisions are ordered,
// and the decisions an architecture embodies by name, with their values as text (what the report's
// decision importance groups trials by). Each space supplies its view, as members or as a
// specialisation of xnas::decision_adapter next to the space; the free functions here read either.
// A user's space needs three members (decisions, from_decisions, to_decisions); ordered flags and
// names have defaults.

#include <concepts>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/concepts.hpp>

namespace xnas {

/// Customisation point: specialise for a space type you cannot change, with static members
/// `decisions(s)`, `from_decisions(s, d)`, `to_decisions(s, a)` of the meaning below, and
/// optionally `ordered(s)` (see ordered_decisions) and `named(s, a)` (see named_decisions).
template <class S>
struct decision_adapter {};

/// A space exposing decisions as members:
///  - `decisions()`: the number of choices of each decision, in order (each >= 1);
///  - `from_decisions(d)`: the architecture for decision values d (d[i] in [0, decisions()[i]));
///    decisions an architecture does not use (a layer slot beyond the chosen depth) are ignored;
///  - `to_decisions(a)`: the decision values of a, with -1 for decisions a does not use.
/// Semantic requirement: from_decisions(to_decisions(a)) == a (unused decisions read as any
/// value).
template <class S>
concept has_decision_members = search_space<S> &&
    requires(const S& s, const typename S::architecture& a, const std::vector<int>& d) {
    { s.decisions() } -> std::convertible_to<std::vector<std::size_t>>;
    { s.from_decisions(d) } -> std::same_as<typename S::architecture>;
    { s.to_decisions(a) } -> std::convertible_to<std::vector<int>>;
};

template <class S>
concept has_decision_adapter = search_space<S> &&
    requires(const S& s, const typename S::architecture& a, const std::vector<int>& d) {
    { decision_adapter<S>::decisions(s) } -> std::convertible_to<std::vector<std::size_t>>;
    { decision_adapter<S>::from_decisions(s, d) } -> std::same_as<typename S::architecture>;
    { decision_adapter<S>::to_decisions(s, a) } -> std::convertible_to<std::vector<int>>;
};

/// A space whose architectures are sequences of categorical decisions (members or adapter).
template <class S>
concept decision_space = has_decision_members<S> || has_decision_adapter<S>;

/// The choice count of each decision of s.
template <decision_space S>
std::vector<std::size_t> decisions(const S& s) {
    if constexpr (has_decision_members<S>)
        return s.decisions();
    else
        return decision_adapter<S>::decisions(s);
}

/// The architecture of s for decision values d.
template <decision_space S>
typename S::architecture from_decisions(const S& s, const std::vector<int>& d) {
    if constexpr (has_decision_members<S>)
        return s.from_decisions(d);
    else
        return decision_adapter<S>::from_decisions(s, d);
}

/// The decision values of a (-1 for decisions a does not use).
template <decision_space S>
std::vector<int> to_decisions(const S& s, const typename S::architecture& a) {
    if constexpr (has_decision_members<S>)
        return s.to_decisions(a);
    else
        return decision_adapter<S>::to_decisions(s, a);
}

/// Optional: a space says which decisions are ordered, with a member `ordered_decisions()` or
/// an adapter's static `ordered(s)`, one flag per decision. Choice k of an ordered decision lies
/// between choices k - 1 and k + 1 (1-4 layers, 8/16/32/64 channels, the bins of a range).
template <class S>
concept has_ordered_members = requires(const S& s) {
    { s.ordered_decisions() } -> std::convertible_to<std::vector<bool>>;
};
template <class S>
concept has_ordered_adapter = requires(const S& s) {
    { decision_adapter<S>::ordered(s) } -> std::convertible_to<std::vector<bool>>;
};

/// Which decisions of s are ordered; all false for a space that does not say. Throws
/// std::logic_error when the space gives a flag count other than its decision count.
template <decision_space S>
std::vector<bool> ordered_decisions(const S& s) {
    const std::size_t n = decisions(s).size();
    std::vector<bool> out;
    if constexpr (has_ordered_members<S>)
        out = s.ordered_decisions();
    else if constexpr (has_ordered_adapter<S>)
        out = decision_adapter<S>::ordered(s);
    else
        out.assign(n, false);
    if (out.size() != n)
        throw std::logic_error("xnas::ordered_decisions: the space flags " +
                               std::to_string(out.size()) +
                               " decisions as ordered or not, but has " + std::to_string(n));
    return out;
}

/// Decision name -> the chosen value as text: "edge 0->1" -> "nor_conv_3x3".
using decision_map = std::map<std::string, std::string>;

/// Optional: a space names the decisions an architecture embodies, with a member
/// `named_decisions(a)` or an adapter's static `named(s, a)`. Names are stable across
/// architectures (a decision a trial does not make is absent, not renamed), and each value's
/// text is what a reader of a report should see: an op's name, a layer count, a learning rate's
/// range. The text may group values the categorical decisions keep apart, or tell apart values
/// they bin together, and a space may leave out decisions that say nothing on their own.
template <class S>
concept has_named_members = search_space<S> &&
    requires(const S& s, const typename S::architecture& a) {
    { s.named_decisions(a) } -> std::convertible_to<decision_map>;
};
template <class S>
concept has_named_adapter = search_space<S> &&
    requires(const S& s, const typename S::architecture& a) {
    { decision_adapter<S>::named(s, a) } -> std::convertible_to<decision_map>;
};

/// A space that names its decisions (members or adapter).
template <class S>
concept has_decision_names = has_named_members<S> || has_named_adapter<S>;

/// A space whose architectures can be read as named decisions: it names them, or it is a
/// decision_space (whose decisions then read "decision <i>" -> "<value>").
template <class S>
concept named_decision_space = has_decision_names<S> || decision_space<S>;

/// The decisions a embodies, by name, with their values as text.
template <named_decision_space S>
decision_map named_decisions(const S& s, const typename S::architecture& a) {
    if constexpr (has_named_members<S>) {
        return s.named_decisions(a);
    } else if constexpr (has_named_adapter<S>) {
        return decision_adapter<S>::named(s, a);
    } else {
        decision_map out;
        const std::vector<int> d = to_decisions(s, a);
        for (std::size_t i = 0; i < d.size(); ++i)
            if (d[i] >= 0)
                out["decision " + std::to_string(i)] = std::to_string(d[i]);
        return out;
    }
}

} // namespace xnas
