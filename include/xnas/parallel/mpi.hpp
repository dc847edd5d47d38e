#pragma once
// xnas::mpi: trials evaluated on MPI ranks. Rank 0 of a communicator runs the search (strategy,
// journal, resume, budgets, callbacks: all of xnas::search_with); every other rank evaluates the
// trials it is sent with its own evaluator and answers with the evaluation. Opt-in:
// <xnas/xnas.hpp> leaves this header out; include it and link MPI (CMake: find_package(MPI),
// target_link_libraries(... MPI::MPI_CXX)), then start the program with mpiexec.
//
//   int main(int argc, char** argv) {
//       xnas::mpi::session mpi(argc, argv);
//       ... space, strategy, evaluator: built the same way on every rank ...
//       auto s = xnas::mpi::search(space, strategy, evaluator, options);
//       if (s) ... rank 0: the study; other ranks: std::nullopt
//   }

#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mpi.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/json.hpp>
#include <xnas/core/study.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/run/journal.hpp>
#include <xnas/run/search.hpp>

namespace xnas::mpi {

/// MPI for the lifetime of a main(): MPI_Init_thread in the constructor, MPI_Finalize in the
/// destructor; when MPI was initialised before, it leaves both to whoever did. Only the thread
/// that made it calls MPI (MPI_THREAD_FUNNELED): an evaluator's own threads (BLAS, data-parallel
/// training) never do.
class session {
  public:
    session(int& argc, char**& argv) {
        int initialised = 0;
        MPI_Initialized(&initialised);
        if (!initialised) {
            int provided = 0;
            if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
                throw std::runtime_error("xnas::mpi::session: MPI_Init_thread failed");
            owns_ = true;
        }
    }
    session(const session&) = delete;
    session& operator=(const session&) = delete;
    ~session() {
        int finalised = 0;
        MPI_Finalized(&finalised);
        if (owns_ && !finalised)
            MPI_Finalize();
    }

    int rank(MPI_Comm comm = MPI_COMM_WORLD) const {
        int r = 0;
        MPI_Comm_rank(comm, &r);
        return r;
    }
    int size(MPI_Comm comm = MPI_COMM_WORLD) const {
        int n = 0;
        MPI_Comm_size(comm, &n);
        return n;
    }

  private:
    bool owns_ = false;
};

/// Where and how the ranks talk.
struct options {
    MPI_Comm comm = MPI_COMM_WORLD;
    /// How long a rank with nothing to do sleeps between looks for a message. Blocking receives
    /// spin a core in Open MPI, and rank 0 waits for results most of the time: on a machine with
    /// as many cores as workers, that spinning would take a core from a training candidate.
    std::chrono::microseconds poll{200};
};

namespace detail {

enum tag : int { task_tag = 1, result_tag = 2, stop_tag = 3 };

inline void check(int rc, const char* call) {
    if (rc != MPI_SUCCESS)
        throw std::runtime_error(std::string("xnas::mpi: ") + call + " failed with MPI error " +
                                 std::to_string(rc));
}

inline void send_text(const std::string& text, int to, int tag, MPI_Comm comm) {
    if (text.size() > static_cast<std::size_t>(INT_MAX))
        throw std::length_error("xnas::mpi: a message of " + std::to_string(text.size()) +
                                " bytes is over MPI's int count");
    check(MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, to, tag, comm),
          "MPI_Send");
}

/// Waits for a message from `from` with `tag` (MPI_ANY_SOURCE / MPI_ANY_TAG allowed), sleeping
/// between looks, and receives it.
inline std::pair<MPI_Status, std::string> receive_text(int from, int tag, const options& o) {
    MPI_Status st{};
    for (;;) {
        int arrived = 0;
        check(MPI_Iprobe(from, tag, o.comm, &arrived, &st), "MPI_Iprobe");
        if (arrived)
            break;
        std::this_thread::sleep_for(o.poll);
    }
    int n = 0;
    check(MPI_Get_count(&st, MPI_CHAR, &n), "MPI_Get_count");
    std::string text(static_cast<std::size_t>(n), '\0');
    check(MPI_Recv(text.data(), n, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, o.comm, MPI_STATUS_IGNORE),
          "MPI_Recv");
    return {st, std::move(text)};
}

/// Rank 0's side: keeps one trial in flight per worker rank; the journal's ask and result records
/// are the wire format, so a trial crosses as its architecture string (serializable_space).
template <class Space>
class rank_executor {
    using A = typename Space::architecture;

  public:
    rank_executor(const Space& space, const options& o, int ranks)
        : space_(space)
        , o_(o) {
        for (int w = 1; w < ranks; ++w)
            idle_.push_back(w);
        ranks_ = ranks;
    }
    rank_executor(const rank_executor&) = delete;
    rank_executor& operator=(const rank_executor&) = delete;
    /// Workers leave their loop however the search ended, so no rank is left waiting for a task
    /// that never comes. After an exception trials may still be running: their results are
    /// received and dropped here, or the next search on this communicator would take them for
    /// its own.
    ~rank_executor() {
        for (int w = 1; w < ranks_; ++w)
            MPI_Send(nullptr, 0, MPI_CHAR, w, stop_tag, o_.comm);
        try {
            for (const auto& [w, t] : running_)
                receive_text(w, result_tag, o_);
        } catch (...) { // a destructor must not throw; MPI's own error handler has spoken
        }
    }

    void submit(trial<A> t) {
        if (idle_.empty()) {
            waiting_.push_back(std::move(t));
            return;
        }
        const int w = idle_.front();
        idle_.pop_front();
        dispatch(w, std::move(t));
    }

    scored<A> wait_one() {
        if (running_.empty())
            throw std::logic_error("xnas::mpi: wait_one with no trial on any rank");
        auto [st, text] = receive_text(MPI_ANY_SOURCE, result_tag, o_);
        const int w = st.MPI_SOURCE;
        auto it = running_.find(w);
        if (it == running_.end())
            throw std::runtime_error("xnas::mpi: rank " + std::to_string(w) +
                                     " sent a result but was given no trial");
        // The rank has answered: it is no longer running a trial, even if the answer is bad
        // (the destructor would otherwise wait for a second answer that never comes).
        scored<A> s{std::move(it->second), {}};
        running_.erase(it);
        const json::value r = json::value::parse(text);
        if (r.at("id").get<std::uint64_t>() != s.t.id)
            throw std::runtime_error("xnas::mpi: rank " + std::to_string(w) +
                                     " answered for trial " + r.at("id").dump() +
                                     " but was given trial " + std::to_string(s.t.id));
        s.e = journal_evaluation(r);
        if (waiting_.empty()) {
            idle_.push_back(w);
        } else {
            dispatch(w, std::move(waiting_.front()));
            waiting_.pop_front();
        }
        return s;
    }

  private:
    void dispatch(int w, trial<A> t) {
        send_text(journal_ask_record(t, space_.to_string(t.architecture)).dump(), w, task_tag,
                  o_.comm);
        running_.emplace(w, std::move(t));
    }

    const Space& space_;
    options o_;
    int ranks_ = 0;
    std::deque<int> idle_;
    std::deque<trial<A>> waiting_;
    std::map<int, trial<A>> running_;
};

/// A worker rank's loop: evaluate each trial rank 0 sends, until it says stop.
template <class Space, class E>
void serve(const Space& space, E& eval, const options& o) {
    using A = typename Space::architecture;
    int rank = 0;
    MPI_Comm_rank(o.comm, &rank);
    for (;;) {
        auto [st, text] = receive_text(0, MPI_ANY_TAG, o);
        if (st.MPI_TAG == stop_tag)
            return;
        std::uint64_t id = 0;
        evaluation e;
        try {
            const json::value d = json::value::parse(text);
            id = d.at("id").get<std::uint64_t>();
            trial<A> t;
            t.id = id;
            t.architecture = space.parse(d.at("architecture").get<std::string>());
            t.fidelity = d.at("fidelity").get<double>();
            t.parents = d.get_or("parents", std::vector<std::uint64_t>{});
            e = xnas::detail::safe_evaluate(eval, t);
        } catch (const std::exception& ex) {
            e = evaluation::failure(status::failed, "xnas::mpi: rank " + std::to_string(rank) +
                                                        " could not read its trial: " + ex.what());
        }
        // Non-finite values cross as null and come back NaN; the search records them diverged
        // either way.
        send_text(journal_result_record(id, e, 0.0).dump(), 0, result_tag, o.comm);
    }
}

} // namespace detail

/// xnas::search over the ranks of `o.comm`, called by every rank with a space, strategy and
/// evaluator built the same way. Rank 0 searches (only its strategy and its journal are used)
/// and returns the study; every other rank evaluates trials (only its evaluator is used) and
/// returns std::nullopt once rank 0 is done. One trial is in flight per worker rank, so
/// opt.workers is replaced by the number of ranks - 1. With one worker rank the study is the
/// serial search's, trial for trial; with more, results arrive in completion order as on threads.
///
/// A candidate that throws on its rank is a failed evaluation, as in xnas::search. A rank that
/// dies takes the job down (MPI's default): the journal on rank 0 keeps every result recorded,
/// and opt.resume continues from it. Throws std::invalid_argument on every rank when the
/// communicator has fewer than 2 ranks.
template <class Space, class St, class E, class... Callbacks>
requires serializable_space<Space> && strategy<std::remove_cvref_t<St>, Space> &&
    evaluator < std::remove_cvref_t<E>,
typename Space::architecture > std::optional<study<typename Space::architecture>>
                               search(const options& o, const Space& space, St&& strategy, E&& eval,
                                      const search_options& opt, Callbacks&&... callbacks) {
    int rank = 0, ranks = 0;
    detail::check(MPI_Comm_rank(o.comm, &rank), "MPI_Comm_rank");
    detail::check(MPI_Comm_size(o.comm, &ranks), "MPI_Comm_size");
    if (ranks < 2)
        throw std::invalid_argument(
            "xnas::mpi::search: the communicator has 1 rank; rank 0 searches and the others "
            "evaluate, so it needs at least 2 (e.g. mpiexec -n 3 for two workers)");
    if (rank != 0) {
        detail::serve(space, eval, o);
        return std::nullopt;
    }
    search_options mine = opt;
    mine.workers = static_cast<std::size_t>(ranks - 1);
    detail::rank_executor<Space> exec(space, o, ranks);
    return search_with(space, std::forward<St>(strategy), exec, mine,
                       std::forward<Callbacks>(callbacks)...);
}

/// mpi::search on MPI_COMM_WORLD.
template <class Space, class St, class E, class... Callbacks>
requires serializable_space<Space> && strategy<std::remove_cvref_t<St>, Space> &&
    evaluator < std::remove_cvref_t<E>,
typename Space::architecture >
    std::optional<study<typename Space::architecture>> search(const Space& space, St&& strategy,
                                                              E&& eval, const search_options& opt,
                                                              Callbacks&&... callbacks) {
    return mpi::search(options{}, space, std::forward<St>(strategy), std::forward<E>(eval), opt,
                       std::forward<Callbacks>(callbacks)...);
}

} // namespace xnas::mpi
