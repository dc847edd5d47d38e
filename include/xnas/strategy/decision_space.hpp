#pragma once
// Kept for existing includes: the decision view of a space (xnas::decision_space, decisions,
// from_decisions, to_decisions, ordered_decisions, named_decisions) is in
// <xnas/space/decisions.hpp>, and each shipped space supplies its own view in its header.

#include <xnas/space/decisions.hpp>
