#pragma once
// Area umbrella: the application floor, what the xnas-search tool does as library calls: the
// main job (run_main_job) and its steps, the strategy registry by name, warm start, the final
// selection's time reserve, the run record and resume checks, the retrain, the results folder
// and progress output, and xnas-tabular's benchmark runs (run_tabular). The MPI backend is
// opt-in: <xnas/experiment/mpi_backend.hpp>.

#include <xnas/experiment/data.hpp>
#include <xnas/experiment/files.hpp>
#include <xnas/experiment/final_selection.hpp>
#include <xnas/experiment/main_job.hpp>
#include <xnas/experiment/one_shot.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/progress.hpp>
#include <xnas/experiment/results.hpp>
#include <xnas/experiment/retrain.hpp>
#include <xnas/experiment/run_record.hpp>
#include <xnas/experiment/spaces.hpp>
#include <xnas/experiment/strategy_registry.hpp>
#include <xnas/experiment/tabular.hpp>
#include <xnas/experiment/warm_start.hpp>
