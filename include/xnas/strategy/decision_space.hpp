#pragma once
// xnas::decision_space: a space whose architectures are a fixed-length sequence of categorical
// decisions, the view a policy-gradient controller (REINFORCE) needs. A user's space models it
// with three members; the shipped cell_space, chain_space and product_space get adapters here
// (xnas::decision_adapter specialisations), so the spaces themselves stay untouched.
// param_space gets one decision per parameter (real ranges cut into bins). A space may also say
// which decisions are ordered (a depth, a channel ladder, a binned learning rate), so that a
// model such as tpe can let a good value lend weight to its neighbours.

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/space/chain_space.hpp>
#include <xnas/space/param_space.hpp>
#include <xnas/space/product_space.hpp>

namespace xnas {

/// Customisation point: specialise for a space type you cannot change, with static members
/// `decisions(s)`, `from_decisions(s, d)`, `to_decisions(s, a)` of the meaning below, and
/// optionally `ordered(s)` (see ordered_decisions).
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

/// cell_space: one decision per edge, over the op list.
template <>
struct decision_adapter<cell_space> {
    static std::vector<std::size_t> decisions(const cell_space& s) {
        return std::vector<std::size_t>(s.edges(), s.ops().size());
    }
    static cell_space::architecture from_decisions(const cell_space& s, const std::vector<int>& d) {
        if (d.size() != s.edges())
            throw std::invalid_argument(
                "xnas::from_decisions(cell_space): " + std::to_string(d.size()) +
                " decisions, expected " + std::to_string(s.edges()));
        cell_space::architecture a;
        a.ops.reserve(d.size());
        for (int v : d)
            a.ops.push_back(static_cast<std::uint8_t>(v));
        return a;
    }
    static std::vector<int> to_decisions(const cell_space&, const cell_space::architecture& a) {
        return std::vector<int>(a.ops.begin(), a.ops.end());
    }
};

/// chain_space: per stage, its depth (max - min + 1 choices), then per layer slot up to the
/// stage's max depth: the op, a value for every choice of every op of the stage (only the chosen
/// op's are used), and in a stage with skips, for slots after the first, the skip (0: none,
/// i + 1: from the stage's i-th layer). A constraint set by with_constraint is not applied:
/// check space.contains(a) (reinforce does). Depths and the choices marked `ordered` (numeric
/// ladders) are ordered decisions; ops, text choices and skips are not.
template <>
struct decision_adapter<chain_space> {
    // Calls visit(choices, ordered) for each decision, in the order documented above; decisions()
    // and ordered() both read it, so their slots cannot drift apart.
    template <class Visit>
    static void each_decision(const chain_space& s, Visit visit) {
        for (const auto& st : s.stages()) {
            visit(st.max_layers - st.min_layers + 1, true);
            for (std::size_t p = 0; p < st.max_layers; ++p) {
                visit(st.ops.size(), false);
                for (const auto& o : st.ops)
                    for (const auto& c : o.choices)
                        visit(c.values.size(), c.ordered);
                if (st.skip && p > 0)
                    visit(p + 1, false);
            }
        }
    }

    static std::vector<std::size_t> decisions(const chain_space& s) {
        std::vector<std::size_t> out;
        each_decision(s, [&](std::size_t choices, bool) { out.push_back(choices); });
        return out;
    }

    static std::vector<bool> ordered(const chain_space& s) {
        std::vector<bool> out;
        each_decision(s, [&](std::size_t, bool is_ordered) { out.push_back(is_ordered); });
        return out;
    }

    static chain_space::architecture from_decisions(const chain_space& s,
                                                    const std::vector<int>& d) {
        chain_space::architecture a;
        std::size_t at = 0;
        auto next = [&]() -> std::size_t {
            if (at >= d.size())
                throw std::invalid_argument("xnas::from_decisions(chain_space): " +
                                            std::to_string(d.size()) + " decisions, expected more");
            const int v = d[at++];
            return v < 0 ? 0 : static_cast<std::size_t>(v);
        };
        for (std::size_t si = 0; si < s.stages().size(); ++si) {
            const auto& st = s.stages()[si];
            const std::size_t depth = st.min_layers + next();
            const std::size_t begin = a.layers.size();
            for (std::size_t p = 0; p < st.max_layers; ++p) {
                chain_space::layer l;
                l.stage = si;
                l.op = next();
                for (std::size_t n = 0; n < st.ops.size(); ++n)
                    for (std::size_t k = 0; k < st.ops[n].choices.size(); ++k) {
                        const std::size_t v = next();
                        if (n == l.op)
                            l.values.push_back(v);
                    }
                if (st.skip && p > 0) {
                    const std::size_t v = next();
                    if (v > 0)
                        l.skip = begin + v - 1;
                }
                if (p < depth)
                    a.layers.push_back(std::move(l));
            }
        }
        return a;
    }

    static std::vector<int> to_decisions(const chain_space& s, const chain_space::architecture& a) {
        std::vector<int> out;
        std::size_t j = 0;
        for (std::size_t si = 0; si < s.stages().size(); ++si) {
            const auto& st = s.stages()[si];
            const std::size_t begin = j;
            while (j < a.layers.size() && a.layers[j].stage == si)
                ++j;
            const std::size_t depth = j - begin;
            out.push_back(static_cast<int>(depth - st.min_layers));
            for (std::size_t p = 0; p < st.max_layers; ++p) {
                const chain_space::layer* l = p < depth ? &a.layers[begin + p] : nullptr;
                out.push_back(l ? static_cast<int>(l->op) : -1);
                for (std::size_t n = 0; n < st.ops.size(); ++n)
                    for (std::size_t k = 0; k < st.ops[n].choices.size(); ++k)
                        out.push_back(l && n == l->op ? static_cast<int>(l->values[k]) : -1);
                if (st.skip && p > 0)
                    out.push_back(!l ? -1 : l->skip ? static_cast<int>(*l->skip - begin + 1) : 0);
            }
        }
        return out;
    }
};

/// param_space: one decision per parameter in declaration order: a categorical's choices; an
/// integer's values when there are at most 64 of them, else 64 bins of the range; a real or
/// log-real range cut into 64 bins (of the log range for log-real) whose centre is the value.
/// An inactive conditional parameter reads -1. The round trip is exact for categorical and
/// small integer parameters, and up to the bin for the others. Constraints are not applied:
/// reinforce checks contains(a). Every parameter but a categorical one is an ordered decision.
template <>
struct decision_adapter<param_space> {
    static constexpr std::size_t bins = 64, max_exact_ints = 64;

    static std::size_t count(const param_def& p) {
        switch (p.kind) {
        case param_kind::categorical:
            return p.choices.size();
        case param_kind::integer: {
            const auto n = static_cast<std::size_t>((p.ihi - p.ilo) / p.step + 1);
            return n <= max_exact_ints ? n : bins;
        }
        default:
            return p.hi > p.lo ? bins : 1;
        }
    }

    static std::vector<std::size_t> decisions(const param_space& s) {
        std::vector<std::size_t> out;
        for (const auto& p : s.parameters())
            out.push_back(count(p));
        return out;
    }

    static std::vector<bool> ordered(const param_space& s) {
        std::vector<bool> out;
        for (const auto& p : s.parameters())
            out.push_back(p.kind != param_kind::categorical);
        return out;
    }

    static param_space::architecture from_decisions(const param_space& s,
                                                    const std::vector<int>& d) {
        const auto& ps = s.parameters();
        if (d.size() != ps.size())
            throw std::invalid_argument(
                "xnas::from_decisions(param_space): " + std::to_string(d.size()) +
                " decisions, expected " + std::to_string(ps.size()));
        param_space::architecture a;
        for (std::size_t i = 0; i < ps.size(); ++i) {
            const param_def& p = ps[i];
            if (p.condition) {
                const auto it = a.find(p.condition->parent);
                if (it == a.end() ||
                    std::find(p.condition->values.begin(), p.condition->values.end(), it->second) ==
                        p.condition->values.end())
                    continue;
            }
            const std::size_t k = d[i] < 0 ? 0 : static_cast<std::size_t>(d[i]);
            const std::size_t n = count(p);
            switch (p.kind) {
            case param_kind::categorical:
                a[p.name] = p.choices[std::min(k, n - 1)];
                break;
            case param_kind::integer: {
                const std::int64_t values = (p.ihi - p.ilo) / p.step + 1;
                std::int64_t j = static_cast<std::int64_t>(k);
                if (n != static_cast<std::size_t>(values)) // binned: centre of bin k
                    j = static_cast<std::int64_t>((static_cast<double>(k) + 0.5) *
                                                  static_cast<double>(values) /
                                                  static_cast<double>(n));
                a[p.name] = p.ilo + std::clamp<std::int64_t>(j, 0, values - 1) * p.step;
                break;
            }
            default: {
                const double u = (static_cast<double>(k) + 0.5) / static_cast<double>(n);
                double v = p.kind == param_kind::log_real
                               ? std::exp(std::log(p.lo) + u * (std::log(p.hi) - std::log(p.lo)))
                               : p.lo + u * (p.hi - p.lo);
                a[p.name] = std::clamp(v, p.lo, p.hi);
            }
            }
        }
        return a;
    }

    static std::vector<int> to_decisions(const param_space& s, const param_space::architecture& a) {
        std::vector<int> out;
        for (const auto& p : s.parameters()) {
            const auto it = a.find(p.name);
            if (it == a.end()) {
                out.push_back(-1);
                continue;
            }
            const std::size_t n = count(p);
            std::size_t k = 0;
            switch (p.kind) {
            case param_kind::categorical:
                k = static_cast<std::size_t>(std::find(p.choices.begin(), p.choices.end(),
                                                       std::get<std::string>(it->second)) -
                                             p.choices.begin());
                break;
            case param_kind::integer: {
                const std::int64_t values = (p.ihi - p.ilo) / p.step + 1;
                const std::int64_t j = (std::get<std::int64_t>(it->second) - p.ilo) / p.step;
                k = n == static_cast<std::size_t>(values)
                        ? static_cast<std::size_t>(j)
                        : static_cast<std::size_t>(static_cast<double>(j) * static_cast<double>(n) /
                                                   static_cast<double>(values));
                break;
            }
            default: {
                const double v = std::get<double>(it->second);
                double u = 0;
                if (p.hi > p.lo)
                    u = p.kind == param_kind::log_real
                            ? (std::log(v) - std::log(p.lo)) / (std::log(p.hi) - std::log(p.lo))
                            : (v - p.lo) / (p.hi - p.lo);
                k = static_cast<std::size_t>(std::max(0.0, u * static_cast<double>(n)));
            }
            }
            out.push_back(static_cast<int>(std::min(k, n - 1)));
        }
        return out;
    }
};

/// product_space: the first factor's decisions, then the second's.
template <decision_space A, decision_space B>
struct decision_adapter<product_space<A, B>> {
    using space = product_space<A, B>;
    static std::vector<std::size_t> decisions(const space& s) {
        auto out = xnas::decisions(s.first());
        const auto tail = xnas::decisions(s.second());
        out.insert(out.end(), tail.begin(), tail.end());
        return out;
    }
    static std::vector<bool> ordered(const space& s) {
        auto out = xnas::ordered_decisions(s.first());
        const auto tail = xnas::ordered_decisions(s.second());
        out.insert(out.end(), tail.begin(), tail.end());
        return out;
    }
    static typename space::architecture from_decisions(const space& s, const std::vector<int>& d) {
        const std::size_t n = xnas::decisions(s.first()).size();
        if (d.size() < n)
            throw std::invalid_argument("xnas::from_decisions(product_space): " +
                                        std::to_string(d.size()) + " decisions, expected more");
        return {
            xnas::from_decisions(
                s.first(), std::vector<int>(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n))),
            xnas::from_decisions(
                s.second(), std::vector<int>(d.begin() + static_cast<std::ptrdiff_t>(n), d.end()))};
    }
    static std::vector<int> to_decisions(const space& s, const typename space::architecture& a) {
        auto out = xnas::to_decisions(s.first(), a.first);
        const auto tail = xnas::to_decisions(s.second(), a.second);
        out.insert(out.end(), tail.begin(), tail.end());
        return out;
    }
};

static_assert(decision_space<cell_space>);
static_assert(decision_space<chain_space>);
static_assert(decision_space<param_space>);
static_assert(decision_space<product_space<cell_space, chain_space>>);

} // namespace xnas
