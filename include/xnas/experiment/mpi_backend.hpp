#pragma once
// The main job's trials on MPI ranks (opt-in, as <xnas/parallel/mpi.hpp>; link MPI::MPI_CXX):
// under `mpiexec -n N` rank 0 searches and writes the results folder while ranks 1 .. N-1 train
// the candidates it sends them. Started without mpiexec (one rank), the job runs on threads.
//
//     xnas::mpi::session mpi(argc, argv);
//     xnas::experiment::run_main_job(options, std::cerr, xnas::experiment::mpi_backend{});

#include <cstdlib>
#include <mpi.h>
#include <optional>
#include <xnas/core/study.hpp>
#include <xnas/parallel/mpi.hpp>
#include <xnas/run/search.hpp>

namespace xnas::experiment {

/// A backend of run_main_job on MPI_COMM_WORLD (see local_backend in main_job.hpp).
struct mpi_backend {
    int rank() const {
        int r = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
        return r;
    }
    int ranks() const {
        int n = 1;
        MPI_Comm_size(MPI_COMM_WORLD, &n);
        return n;
    }
    /// mpi::search on two or more ranks (std::nullopt on the worker ranks), xnas::search on one.
    template <class Space, class St, class E, class... Callbacks>
    std::optional<study<typename Space::architecture>>
    search(const Space& space, St& strategy, E& evaluator, const search_options& opt,
           Callbacks&... callbacks) const {
        if (ranks() > 1)
            return mpi::search(space, strategy, evaluator, opt, callbacks...);
        return xnas::search(space, strategy, evaluator, opt, callbacks...);
    }
    /// Ends every rank: a rank that failed alone would leave the others waiting for it (for
    /// trials, or in MPI_Finalize).
    [[noreturn]] void abort(int code) const {
        MPI_Abort(MPI_COMM_WORLD, code);
        std::abort();
    }
};

} // namespace xnas::experiment
