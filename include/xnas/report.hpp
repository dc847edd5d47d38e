#pragma once
// Area umbrella: what a search learned, for people: decision importance and the HTML report.

#include <xnas/report/decisions.hpp>
#include <xnas/report/html_report.hpp>
#include <xnas/report/importance.hpp>
#include <xnas/report/rank_correlation.hpp>
