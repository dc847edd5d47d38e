#pragma once
// Umbrella header: every public part of xnas except opt-in back-ends (xnas/parallel/mpi.hpp) and
// the application floor (xnas/experiment.hpp: the main job of xnas-search as library calls),
// which a program that composes its own search does not need and which would add about a fifth
// to this header's compile time. Each area has its own umbrella, so a translation unit can
// include less.

#include <xnas/core.hpp>
#include <xnas/data.hpp>
#include <xnas/evaluate.hpp>
#include <xnas/nn.hpp>
#include <xnas/oneshot.hpp>
#include <xnas/report.hpp>
#include <xnas/run.hpp>
#include <xnas/select.hpp>
#include <xnas/space.hpp>
#include <xnas/strategy.hpp>
#include <xnas/train.hpp>
#include <xnas/version.hpp>
