#pragma once
// Area umbrella: evaluators (function, tabular, ...).

#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/evaluate/tabular_evaluator.hpp>
