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

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <mpi.h>
#include <optional>
#include <signal.h>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/json.hpp>
#include <xnas/core/study.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/parallel/checkpoint_affinity.hpp>
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

enum tag : int { task_tag = 1, result_tag = 2, stop_tag = 3, release_tag = 4 };

/// Set by SIGTERM while an end_signal_guard lives.
inline volatile std::sig_atomic_t end_signal = 0;
inline void on_end_signal(int) {
    end_signal = 1;
}

/// Thrown by receive_text once SIGTERM came: the job is being ended.
struct job_ended : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// While a search runs, SIGTERM sets end_signal instead of ending the process. When a rank dies,
/// mpiexec's error manager sends every other rank SIGTERM and a second later SIGKILL
/// (odls_base_sigkill_timeout): in that second rank 0 finds which rank is gone and which trial
/// it had, and says so, where it would otherwise die without a word; the worker ranks outlive
/// the SIGTERM too, so that the rank found gone is the one that died.
class end_signal_guard {
  public:
    end_signal_guard() {
        end_signal = 0;
        struct sigaction on_term {};
        on_term.sa_handler = &on_end_signal;
        sigemptyset(&on_term.sa_mask);
        installed_ = ::sigaction(SIGTERM, &on_term, &previous_) == 0;
    }
    end_signal_guard(const end_signal_guard&) = delete;
    end_signal_guard& operator=(const end_signal_guard&) = delete;
    ~end_signal_guard() {
        if (installed_)
            ::sigaction(SIGTERM, &previous_, nullptr);
    }

  private:
    struct sigaction previous_ {};
    bool installed_ = false;
};

/// Where a rank runs, to tell later whether it is still there.
struct rank_identity {
    long pid = 0;
    char host[64] = {};
};

inline rank_identity this_process() {
    rank_identity me;
    me.pid = static_cast<long>(::getpid());
    ::gethostname(me.host, sizeof me.host - 1);
    return me;
}

/// Whether the rank `id` names has ended (a zombie has): known only on the same host.
inline std::optional<bool> rank_gone(const rank_identity& id) {
    if (std::strncmp(this_process().host, id.host, sizeof id.host) != 0)
        return std::nullopt;
    if (::kill(static_cast<pid_t>(id.pid), 0) != 0 && errno == ESRCH)
        return true;
    std::ifstream stat("/proc/" + std::to_string(id.pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto name_end = line.rfind(')');
    return name_end != std::string::npos && name_end + 2 < line.size() &&
           (line[name_end + 2] == 'Z' || line[name_end + 2] == 'X');
}

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
        if (end_signal)
            throw job_ended("xnas::mpi: the job is being ended (SIGTERM)");
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
    /// `ranks`: the communicator's ranks, as rank_identity (where each runs), rank 0 first.
    rank_executor(const Space& space, const options& o, std::vector<rank_identity> ranks)
        : space_(space)
        , o_(o)
        , ranks_(static_cast<int>(ranks.size()))
        , where_(std::move(ranks)) {
        for (int w = 1; w < ranks_; ++w)
            idle_.push_back(w);
    }
    rank_executor(const rank_executor&) = delete;
    rank_executor& operator=(const rank_executor&) = delete;
    /// Workers leave their loop however the search ended, so no rank is left waiting for a task
    /// that never comes. After an exception trials may still be running: their results are
    /// received and dropped here, or the next search on this communicator would take them for
    /// its own.
    ~rank_executor() {
        if (end_signal) // the job is ending: a rank that died would never answer
            return;
        for (int w = 1; w < ranks_; ++w)
            MPI_Send(nullptr, 0, MPI_CHAR, w, stop_tag, o_.comm);
        try {
            for (const auto& [w, t] : running_)
                receive_text(w, result_tag, o_);
        } catch (...) { // a destructor must not throw; MPI's own error handler has spoken
        }
    }

    /// A promoted trial (one parent, of the same architecture) goes to the rank that trained its
    /// parent, and waits for it while it is busy, since only there can its evaluator continue the
    /// parent's checkpoint, and continued or not must not depend on timing (checkpoint_affinity).
    /// Other trials go to any free rank.
    void submit(trial<A> t) {
        const std::optional<int> holder = affinity_.holder(t, architecture_key(t));
        const auto free = holder ? std::find(idle_.begin(), idle_.end(), *holder) : idle_.begin();
        if (free == idle_.end()) {
            waiting_.push_back(std::move(t));
            return;
        }
        const int w = *free;
        idle_.erase(free);
        dispatch(w, std::move(t));
    }

    /// Tells each rank which of the trials it evaluated the strategy has retired, so that a
    /// releasing_evaluator there drops what it keeps for them. Messages from rank 0 to a rank
    /// arrive in order, so a rank busy with a trial reads them before its next task.
    void release(std::span<const std::uint64_t> ids) {
        for (const auto& [w, held] : affinity_.forget(ids))
            send_text(json::value(held).dump(), w, release_tag, o_.comm);
    }

    scored<A> wait_one() {
        if (running_.empty())
            throw std::logic_error("xnas::mpi: wait_one with no trial on any rank");
        MPI_Status st{};
        std::string text;
        try {
            std::tie(st, text) = receive_text(MPI_ANY_SOURCE, result_tag, o_);
        } catch (const job_ended&) {
            throw job_ended(ending_message());
        }
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
        if (const auto k = affinity_.pick_trial(
                w, waiting_, [this](const trial<A>& t) { return architecture_key(t); })) {
            const auto at = waiting_.begin() + static_cast<std::ptrdiff_t>(*k);
            trial<A> next = std::move(*at);
            waiting_.erase(at);
            dispatch(w, std::move(next));
        } else {
            idle_.push_back(w);
        }
        return s;
    }

  private:
    /// Which rank is gone and what it was training, else the trials in flight.
    std::string ending_message() const {
        std::string gone, running;
        for (int w = 1; w < ranks_; ++w) {
            const auto it = running_.find(w);
            const std::string rank = "rank " + std::to_string(w) + " (pid " +
                                     std::to_string(where_[w].pid) + " on " + where_[w].host + ")";
            const std::string work =
                it == running_.end() ? std::string("between trials")
                                     : "while training trial " + std::to_string(it->second.id) +
                                           " (" + space_.to_string(it->second.architecture) + ")";
            if (rank_gone(where_[w]).value_or(false))
                gone += (gone.empty() ? "" : "; ") + rank + " died " + work;
            else if (it != running_.end())
                running += (running.empty() ? "" : ", ") + std::string("rank ") +
                           std::to_string(w) + " trial " + std::to_string(it->second.id);
        }
        const std::string end =
            "; the journal keeps every result recorded, and a resume trains the unfinished "
            "trials again";
        if (!gone.empty())
            return "xnas::mpi: " + gone + "; the job is ending" +
                   (running.empty() ? "" : " (in flight: " + running + ")") + end;
        return "xnas::mpi: the job is being ended (SIGTERM), in flight: " +
               (running.empty() ? std::string("nothing") : running) + end;
    }

    std::uint64_t architecture_key(const trial<A>& t) const {
        return std::hash<std::string>{}(space_.to_string(t.architecture));
    }

    void dispatch(int w, trial<A> t) {
        const std::string architecture = space_.to_string(t.architecture);
        send_text(journal_ask_record(t, architecture).dump(), w, task_tag, o_.comm);
        affinity_.ran(t.id, w, std::hash<std::string>{}(architecture));
        running_.emplace(w, std::move(t));
    }

    const Space& space_;
    options o_;
    int ranks_ = 0;
    std::vector<rank_identity> where_;
    std::deque<int> idle_;
    std::deque<trial<A>> waiting_;
    std::map<int, trial<A>> running_;
    xnas::detail::checkpoint_affinity affinity_;
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
        if (st.MPI_TAG == release_tag) {
            if constexpr (releasing_evaluator<E>) {
                const auto ids = json::value::parse(text).get<std::vector<std::uint64_t>>();
                eval.release(std::span<const std::uint64_t>(ids));
            }
            continue;
        }
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
/// dies takes the job down (MPI's default): mpiexec sends the other ranks SIGTERM, and rank 0
/// throws a std::runtime_error naming the rank that is gone (on its host) and the trial it was
/// training, so a program can say so in the second before mpiexec's SIGKILL. The journal on
/// rank 0 keeps every result recorded, and opt.resume continues from it. While it runs, SIGTERM
/// on any rank ends the search at the rank's next message instead of ending the process. Throws
/// std::invalid_argument on every rank when the communicator has fewer than 2 ranks.
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
    const detail::end_signal_guard on_term;
    const detail::rank_identity me = detail::this_process();
    std::vector<detail::rank_identity> where(rank == 0 ? static_cast<std::size_t>(ranks) : 0);
    detail::check(
        MPI_Gather(&me, sizeof me, MPI_BYTE, where.data(), sizeof me, MPI_BYTE, 0, o.comm),
        "MPI_Gather");
    if (rank != 0) {
        detail::serve(space, eval, o);
        return std::nullopt;
    }
    search_options mine = opt;
    mine.workers = static_cast<std::size_t>(ranks - 1);
    detail::rank_executor<Space> exec(space, o, std::move(where));
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
