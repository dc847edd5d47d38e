#pragma once
// Area umbrella: the search driver, its journal, study export and the final selection.

#include <xnas/run/export.hpp>
#include <xnas/run/final_selection.hpp>
#include <xnas/run/journal.hpp>
#include <xnas/run/search.hpp>
