#pragma once
// Area umbrella: evaluators (function, tabular, training, zero-cost proxies) and pre-screening.

#include <xnas/evaluate/builder.hpp>
#include <xnas/evaluate/cell_builder.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/evaluate/prescreen.hpp>
#include <xnas/evaluate/tabular_evaluator.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/evaluate/training_params.hpp>
#include <xnas/evaluate/zero_cost.hpp>
