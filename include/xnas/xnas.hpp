#pragma once
// Umbrella header: every public part of xnas except opt-in back-ends (xnas/parallel/mpi.hpp).
// Each area has its own umbrella, so a translation unit can include less.

#include <xnas/core.hpp>
#include <xnas/data.hpp>
#include <xnas/evaluate.hpp>
#include <xnas/nn.hpp>
#include <xnas/report.hpp>
#include <xnas/run.hpp>
#include <xnas/select.hpp>
#include <xnas/space.hpp>
#include <xnas/strategy.hpp>
#include <xnas/train.hpp>
#include <xnas/version.hpp>
