#pragma once
// Area umbrella: selectors (top-k, tournament, Pareto / NSGA-II, constraint filters).

#include <xnas/select/constraint.hpp>
#include <xnas/select/flagged_first.hpp>
#include <xnas/select/pareto.hpp>
#include <xnas/select/top_k.hpp>
#include <xnas/select/tournament.hpp>
