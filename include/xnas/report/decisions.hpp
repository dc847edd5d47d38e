#pragma once
// The architectural decisions an architecture embodies, as name -> value text, for decision
// importance: "edge 0->1" = "nor_conv_3x3" for a cell; "conv layers" = "2", "conv 1.k" = "5"
// for a chain; both parts for a product space. Each space supplies the names and texts in its
// decision view (xnas::named_decisions, <xnas/space/decisions.hpp>); a user's space names its
// own with a member named_decisions(a), or is read as "decision <i>" -> "<value>".

#include <xnas/space/decisions.hpp>

namespace xnas::report {

using decision_map = xnas::decision_map;

/// The decisions `a` embodies, by name, with their values as text: xnas::named_decisions.
template <named_decision_space S>
decision_map decisions(const S& s, const typename S::architecture& a) {
    return named_decisions(s, a);
}

} // namespace xnas::report
