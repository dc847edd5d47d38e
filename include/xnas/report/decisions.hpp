#pragma once
// The architectural decisions an architecture embodies, as name -> value text, for decision
// importance: "edge 0->1" = "nor_conv_3x3" for a cell; "conv layers" = "2", "conv 1.k" = "5"
// for a chain; both parts for a product space. Users of their own space add an overload of
// xnas::report::decisions (found by argument-dependent lookup on their space type).

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <xnas/space/cell_space.hpp>
#include <xnas/space/chain_space.hpp>
#include <xnas/space/param_space.hpp>
#include <xnas/space/product_space.hpp>

namespace xnas::report {

using decision_map = std::map<std::string, std::string>;

/// One decision per edge: "edge i->j" -> op name.
inline decision_map decisions(const cell_space& s, const cell_space::architecture& a) {
    decision_map d;
    for (std::size_t e = 0; e < s.edges(); ++e) {
        const auto [i, j] = s.edge(e);
        d["edge " + std::to_string(i) + "->" + std::to_string(j)] = s.op(a, i, j);
    }
    return d;
}

/// Per stage its depth ("<stage> layers"), and per layer its op and choices
/// ("<stage> <k>.<choice>", k counted from 1 within the stage) and whether it has a skip.
inline decision_map decisions(const chain_space& s, const chain_space::architecture& a) {
    decision_map d;
    std::vector<std::size_t> count(s.stages().size(), 0);
    for (const auto& l : a.layers) {
        const auto& stage = s.stages()[l.stage];
        const std::string prefix = stage.name + " " + std::to_string(++count[l.stage]);
        if (stage.ops.size() > 1)
            d[prefix + ".op"] = s.op_name(l);
        for (const auto& c : s.op_of(l).choices)
            d[prefix + "." + c.name] = s.value(l, c.name);
        if (stage.skip)
            d[prefix + ".skip"] = l.skip ? "1" : "0";
    }
    for (std::size_t k = 0; k < count.size(); ++k)
        d[s.stages()[k].name + " layers"] = std::to_string(count[k]);
    return d;
}

/// One decision per active parameter. A real value is binned into half-decades ("3e-3..1e-2"):
/// left continuous, every trial would be a group of its own and the parameter would seem to
/// explain all the variance.
inline decision_map decisions(const param_space&, const param_space::architecture& a) {
    decision_map d;
    for (const auto& [name, value] : a) {
        if (const auto* x = std::get_if<double>(&value); x && *x != 0.0 && std::isfinite(*x)) {
            const double lo = std::floor(2.0 * std::log10(std::abs(*x))) / 2.0;
            char bin[64];
            std::snprintf(bin, sizeof bin, "%s%.0e..%.0e", *x < 0 ? "-" : "", std::pow(10.0, lo),
                          std::pow(10.0, lo + 0.5));
            d[name] = bin;
        } else {
            d[name] = xnas::to_string(value);
        }
    }
    return d;
}

/// Both parts' decisions (names are expected not to clash; a clash keeps the first part's).
template <class A, class B>
decision_map decisions(const product_space<A, B>& s,
                       const typename product_space<A, B>::architecture& a) {
    decision_map d = decisions(s.first(), a.first);
    d.merge(decisions(s.second(), a.second));
    return d;
}

} // namespace xnas::report
