#pragma once
// Area umbrella: the search driver, its journal and study export.

#include <xnas/run/export.hpp>
#include <xnas/run/journal.hpp>
#include <xnas/run/search.hpp>
