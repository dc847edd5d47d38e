#pragma once
// Area umbrella: evaluators (function, tabular, ...).

#include <xnas/evaluate/function_evaluator.hpp>
