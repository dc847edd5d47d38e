#pragma once
// Umbrella header: every public part of xnas except opt-in back-ends (xnas/parallel/mpi.hpp).
// Each area has its own umbrella, so a translation unit can include less.

#include <xnas/version.hpp>
#include <xnas/core.hpp>
#include <xnas/nn.hpp>
#include <xnas/data.hpp>
#include <xnas/train.hpp>
#include <xnas/report.hpp>
#include <xnas/space.hpp>
#include <xnas/strategy.hpp>
#include <xnas/select.hpp>
#include <xnas/evaluate.hpp>
#include <xnas/run.hpp>
