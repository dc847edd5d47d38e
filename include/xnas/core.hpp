#pragma once
// Area umbrella: concepts, trials and evaluations (with their named values), the random generator,
// error types, JSON, files written atomically and durably.

#include <xnas/core/concepts.hpp>
#include <xnas/core/durable_file.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/json.hpp>
#include <xnas/core/named_values.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/study.hpp>
#include <xnas/core/trial.hpp>
