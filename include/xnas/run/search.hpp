#pragma once
// xnas::search: the search driver. Asks the strategy for trials, has them evaluated by a serial
// or thread-pool executor (search_with: by any executor), journals every ask and result, tells
// the strategy, and returns the study. Budgets: trials, wall-clock seconds, summed cost; a strategy
// that schedules by the share spent is told it before each ask (set_progress). Resumes from a
// journal by replay.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/study.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/run/journal.hpp>

namespace xnas {

/// Settings of one search. A budget of 0 means "no limit"; at least one must be set.
/// Example: `search_options{.objectives = {{"acc", direction::maximize}}, .max_trials = 100}`.
struct search_options {
    /// Objectives trials are ranked by; the first is the primary one (study::best()). Every ok
    /// evaluation must report each of them (in objectives or metrics), or it is recorded failed.
    std::vector<objective> objectives{};
    std::size_t max_trials = 0; ///< trials asked in total (a resumed run counts journaled ones)
    /// Wall-clock seconds of the search, checked before each ask. A resumed run counts the time
    /// its journal records (study::resumed_seconds), not the time between the crash and resume.
    double max_seconds = 0;
    double max_cost = 0;    ///< summed evaluation cost (e.g. a table's training seconds)
    std::uint64_t seed = 0; ///< seeds the generator the strategy draws from
    /// Evaluations in flight. 1: serial, in the calling thread. W > 1: a pool of W threads; the
    /// evaluator is copied per worker unless is_thread_safe_evaluator says it is thread-safe.
    /// The strategy is only ever called from the calling thread.
    std::size_t workers = 1;
    /// Tell the strategy each result as soon as it arrives (completion order). Then with
    /// workers > 1 what is asked next depends on which evaluation happened to finish first, so
    /// two runs of the same seed differ. Off (the default): results are told in the order their
    /// trials were asked, and the trial in position j is asked right after the result in
    /// position j - lookahead is told, so the same seed and options give the same trials,
    /// journal and result whatever the evaluations' timing.
    bool asynchronous = false;
    /// Without `asynchronous`: trials asked ahead of the oldest result not yet told; 0 means
    /// `workers`. The result depends on the lookahead, not on the workers: a search gives the
    /// same result on 1 worker as on any number up to its lookahead. Workers idle while the
    /// window is full and its oldest trial is still running, so a lookahead above the workers
    /// keeps them busier, at the cost of strategies deciding on older results.
    std::size_t lookahead = 0;
    /// The trials asked ahead of the oldest result not yet told, in ask order: the lookahead,
    /// or the workers when it is 0.
    std::size_t window() const { return lookahead ? lookahead : workers; }
    /// Journal path; empty: no journal (needs a serializable_space). Without `asynchronous`, a
    /// result that arrives before its turn to be told goes at once to a second file beside it,
    /// `ahead_journal_path(journal)`, so a crash loses no finished evaluation: a resume tells it
    /// in its turn instead of running the trial again. The journal itself only ever holds
    /// results in the order they were told, whatever the timing; the second file is removed
    /// when the search ends.
    std::string journal{};
    /// With a journal: replay it first (if it exists), then continue. Without resume an existing
    /// non-empty journal is an error, never silently overwritten.
    bool resume = false;
    bool fsync = true; ///< fsync the journal after every record (crash-safe); false for speed
};

/// Where a search journaling to `journal` keeps the results that finished ahead of their turn
/// (search_options::journal).
inline std::string ahead_journal_path(const std::string& journal) {
    return journal + ".ahead";
}

namespace detail {

/// Evaluates and turns any exception into a failed evaluation: the search goes on.
template <class E, class A>
evaluation safe_evaluate(E& ev, const trial<A>& t) {
    try {
        return ev.evaluate(t);
    } catch (const std::exception& ex) {
        return evaluation::failure(status::failed, ex.what());
    } catch (...) {
        return evaluation::failure(status::failed, "evaluator threw an exception of unknown type");
    }
}

/// Evaluates each submitted trial when its result is awaited, in the calling thread.
template <class E, class A>
class serial_executor {
  public:
    explicit serial_executor(E& ev)
        : ev_(ev) {}
    void submit(trial<A> t) { queue_.push_back(std::move(t)); }
    void release(std::span<const std::uint64_t> ids) {
        if constexpr (releasing_evaluator<E>)
            ev_.release(ids);
    }
    scored<A> wait_one() {
        scored<A> s{std::move(queue_.front()), {}};
        queue_.pop_front();
        s.e = safe_evaluate(ev_, s.t);
        return s;
    }

  private:
    E& ev_;
    std::deque<trial<A>> queue_;
};

/// A pool of worker threads; results come back in completion order.
template <class E, class A>
class thread_executor {
  public:
    thread_executor(E& ev, std::size_t workers) {
        if constexpr (!is_thread_safe_evaluator<E>) {
            if constexpr (std::is_copy_constructible_v<E>) {
                copies_.reserve(workers);
                for (std::size_t w = 0; w < workers; ++w)
                    copies_.push_back(ev);
            } else
                throw std::invalid_argument(
                    "xnas::search: workers > 1 needs an evaluator that is thread-safe "
                    "(static constexpr bool thread_safe = true) or copyable");
        }
        threads_.reserve(workers);
        for (std::size_t w = 0; w < workers; ++w) {
            E* mine = nullptr;
            if constexpr (is_thread_safe_evaluator<E>)
                mine = shared_ = &ev;
            else
                mine = &copies_[w];
            threads_.emplace_back([this, mine] { run(*mine); });
        }
    }
    thread_executor(const thread_executor&) = delete;
    thread_executor& operator=(const thread_executor&) = delete;
    ~thread_executor() {
        {
            std::lock_guard lock(m_);
            quit_ = true;
        }
        task_cv_.notify_all();
        for (auto& th : threads_)
            th.join();
    }

    void submit(trial<A> t) {
        {
            std::lock_guard lock(m_);
            tasks_.push_back(std::move(t));
        }
        task_cv_.notify_one();
    }

    /// Tells the evaluator (each worker's copy) that trials `ids` are retired.
    void release(std::span<const std::uint64_t> ids) {
        if constexpr (releasing_evaluator<E>) {
            if constexpr (is_thread_safe_evaluator<E>)
                shared_->release(ids);
            else
                for (E& copy : copies_)
                    copy.release(ids);
        }
    }

    scored<A> wait_one() {
        std::unique_lock lock(m_);
        done_cv_.wait(lock, [this] { return !done_.empty(); });
        scored<A> s = std::move(done_.front());
        done_.pop_front();
        return s;
    }

  private:
    void run(E& ev) {
        for (;;) {
            trial<A> t;
            {
                std::unique_lock lock(m_);
                task_cv_.wait(lock, [this] { return quit_ || !tasks_.empty(); });
                if (quit_)
                    return;
                t = std::move(tasks_.front());
                tasks_.pop_front();
            }
            evaluation e = safe_evaluate(ev, t);
            {
                std::lock_guard lock(m_);
                done_.push_back({std::move(t), std::move(e)});
            }
            done_cv_.notify_one();
        }
    }

    std::vector<E> copies_;
    E* shared_ = nullptr; // the evaluator itself when it is thread-safe
    std::vector<std::thread> threads_;
    std::mutex m_;
    std::condition_variable task_cv_, done_cv_;
    std::deque<trial<A>> tasks_;
    std::deque<scored<A>> done_;
    bool quit_ = false;
};

/// Either executor search chooses between, behind one type, so that the search loop
/// (search_with) is compiled once per search call instead of once per executor. It costs an
/// indirect call per trial, nothing beside an evaluation.
template <class A>
class executor_ref {
  public:
    template <class X>
    explicit executor_ref(X& exec)
        : exec_(&exec)
        , submit_([](void* x, trial<A> t) { static_cast<X*>(x)->submit(std::move(t)); })
        , release_(
              [](void* x, std::span<const std::uint64_t> ids) { static_cast<X*>(x)->release(ids); })
        , wait_one_([](void* x) { return static_cast<X*>(x)->wait_one(); }) {}

    void submit(trial<A> t) { submit_(exec_, std::move(t)); }
    void release(std::span<const std::uint64_t> ids) { release_(exec_, ids); }
    scored<A> wait_one() { return wait_one_(exec_); }

  private:
    void* exec_;
    void (*submit_)(void*, trial<A>);
    void (*release_)(void*, std::span<const std::uint64_t>);
    scored<A> (*wait_one_)(void*);
};

// Callback hooks: every one optional, detected; a hook returning true asks to stop.
template <class R>
bool stop_value(R&& r) {
    if constexpr (std::is_convertible_v<R, bool>)
        return static_cast<bool>(r);
    else
        return false;
}

template <class Cb, class A>
bool hook_on_start(Cb& cb, const study<A>& s) {
    if constexpr (requires { cb.on_start(s); }) {
        if constexpr (std::is_void_v<decltype(cb.on_start(s))>)
            cb.on_start(s);
        else
            return stop_value(cb.on_start(s));
    }
    return false;
}

template <class Cb, class A>
bool hook_on_ask(Cb& cb, const trial<A>& t) {
    if constexpr (requires { cb.on_ask(t); }) {
        if constexpr (std::is_void_v<decltype(cb.on_ask(t))>)
            cb.on_ask(t);
        else
            return stop_value(cb.on_ask(t));
    }
    return false;
}

template <class Cb, class A>
bool hook_on_result(Cb& cb, const scored<A>& r, const study<A>& s) {
    if constexpr (requires { cb.on_result(r, s); }) {
        if constexpr (std::is_void_v<decltype(cb.on_result(r, s))>)
            cb.on_result(r, s);
        else
            return stop_value(cb.on_result(r, s));
    } else if constexpr (requires { cb.on_result(r); }) {
        if constexpr (std::is_void_v<decltype(cb.on_result(r))>)
            cb.on_result(r);
        else
            return stop_value(cb.on_result(r));
    }
    return false;
}

template <class Cb>
void hook_on_warning(Cb& cb, const std::string& w) {
    if constexpr (requires { cb.on_warning(w); })
        cb.on_warning(w);
}

template <class Cb, class A>
void hook_on_end(Cb& cb, const study<A>& s) {
    if constexpr (requires { cb.on_end(s); })
        cb.on_end(s);
}

/// An ok evaluation missing a study objective, or with a non-finite one, is not ok.
template <class A>
void check_objectives(const trial<A>& t, evaluation& e, const std::vector<objective>& objs) {
    if (!e.ok())
        return;
    for (const auto& o : objs) {
        const bool present = e.objectives.count(o.name) || e.metrics.count(o.name);
        if (!present) {
            std::string have;
            for (const auto& [k, v] : e.objectives) {
                have += have.empty() ? "" : ", ";
                have += k;
            }
            for (const auto& [k, v] : e.metrics) {
                have += have.empty() ? "" : ", ";
                have += k;
            }
            e.state = status::failed;
            e.message = "xnas::search: evaluation of trial " + std::to_string(t.id) +
                        " lacks objective '" + o.name +
                        "' (it reported: " + (have.empty() ? "nothing" : have) + ")";
            return;
        }
        if (!std::isfinite(e.value(o.name))) {
            e.state = status::diverged;
            e.message = "xnas::search: trial " + std::to_string(t.id) + " objective '" + o.name +
                        "' is not finite";
            return;
        }
    }
}

inline void validate(const search_options& opt) {
    if (opt.objectives.empty())
        throw std::invalid_argument("xnas::search: search_options::objectives is empty; name at "
                                    "least one objective, e.g. {{\"acc\", direction::maximize}}");
    if (opt.max_trials == 0 && !(opt.max_seconds > 0) && !(opt.max_cost > 0))
        throw std::invalid_argument("xnas::search: no budget; set search_options::max_trials, "
                                    "max_seconds or max_cost");
    if (opt.max_seconds < 0 || opt.max_cost < 0 || std::isnan(opt.max_seconds) ||
        std::isnan(opt.max_cost))
        throw std::invalid_argument("xnas::search: max_seconds and max_cost must be >= 0");
    if (opt.workers == 0)
        throw std::invalid_argument("xnas::search: workers = 0, expected >= 1");
    if (opt.resume && opt.journal.empty())
        throw std::invalid_argument("xnas::search: resume = true needs search_options::journal");
}

/// Strategies that schedule by the share of the budget spent (tpe's cost cooling, an annealing
/// temperature) take it through set_progress(double), called before every ask.
template <class St>
concept takes_progress = requires(St& st) {
    st.set_progress(0.5);
};

/// Calls read(record, where) for every record of `j`, read from `path` (`where`: "path:line");
/// a json::type_error or std::invalid_argument out of it becomes an xnas::parse_error naming the
/// file and line.
template <class Read>
void read_records(const journal_contents& j, const std::string& path, Read&& read) {
    for (const auto& rec : j.records) {
        const std::string where = path + ":" + std::to_string(rec.line);
        try {
            read(rec.data, where);
        } catch (const json::type_error& ex) {
            throw parse_error("xnas::search: journal " + where +
                              ": malformed record: " + ex.what());
        } catch (const std::invalid_argument& ex) {
            if (dynamic_cast<const parse_error*>(&ex))
                throw;
            throw parse_error("xnas::search: journal " + where + ": " + ex.what());
        }
    }
}

/// Search state shared by the replay and the live loop.
template <class Space, class St, class A>
struct search_run {
    const Space& space;
    St& strategy;
    const search_options& opt;
    study<A>& out;
    rng g;
    std::size_t asked = 0;
    double cost = 0;
    std::vector<trial<A>> pending{};                      // asked, not yet told (replay only)
    std::map<std::uint64_t, evaluation> finished_ahead{}; // of pending trials (replay only)

    /// Reads the results of pending trials that finished ahead of their turn before a crash
    /// (search_options::journal); a torn last line is ignored, results of trials told since
    /// are skipped.
    void read_ahead(const std::string& path) {
        read_records(read_journal(path), path, [&](const json::value& d, const std::string& where) {
            if (d.at("event").get<std::string>() != "result")
                throw parse_error("xnas::search: journal " + where + ": expected a result record");
            const auto id = d.at("id").get<std::uint64_t>();
            for (const auto& t : pending)
                if (t.id == id)
                    finished_ahead.insert_or_assign(id, journal_evaluation(d));
        });
    }

    /// Re-drives the strategy through a journal: re-asks (verifying each architecture) and
    /// re-tells recorded results, restoring its state and the generator's.
    void replay(const journal_contents& j) {
        read_records(j, opt.journal, [&](const json::value& d, const std::string& where) {
            const std::string event = d.at("event").get<std::string>();
            if (event == "start") {
                const auto seed = d.at("seed").get<std::uint64_t>();
                if (seed != opt.seed)
                    throw file_error("xnas::search: journal " + where + ": written with seed " +
                                     std::to_string(seed) + ", options.seed is " +
                                     std::to_string(opt.seed) + "; resume needs the same seed");
                std::vector<objective> objs;
                for (const auto& o : d.at("objectives"))
                    objs.push_back({o.at("name").get<std::string>(),
                                    parse_direction(o.at("direction").get<std::string>())});
                if (objs != opt.objectives)
                    throw file_error("xnas::search: journal " + where +
                                     ": written with other objectives than options.objectives");
            } else if (event == "ask") {
                if constexpr (takes_progress<St>)
                    strategy.set_progress(d.get_or("progress", 0.0));
                trial<A> t = strategy.ask(space, g);
                ++asked;
                const std::string text = space.to_string(t.architecture);
                const auto id = d.at("id").get<std::uint64_t>();
                const auto arch = d.at("architecture").get<std::string>();
                const double fid = d.at("fidelity").get<double>();
                const auto parents = d.get_or("parents", std::vector<std::uint64_t>{});
                if (id != t.id || arch != text || !(fid == t.fidelity) || parents != t.parents)
                    throw file_error("xnas::search: journal " + where + ": replay asked trial " +
                                     std::to_string(t.id) + " '" + text + "' (fidelity " +
                                     std::to_string(t.fidelity) +
                                     ") but the journal recorded trial " + std::to_string(id) +
                                     " '" + arch + "' (fidelity " + std::to_string(fid) +
                                     "); resume needs the same space, strategy, seed and options");
                pending.push_back(std::move(t));
            } else if (event == "result") {
                const auto id = d.at("id").get<std::uint64_t>();
                auto it = pending.begin();
                while (it != pending.end() && it->id != id)
                    ++it;
                if (it == pending.end())
                    throw parse_error("xnas::search: journal " + where + ": result for trial " +
                                      std::to_string(id) + " which was not asked before");
                scored<A> s{std::move(*it), journal_evaluation(d)};
                pending.erase(it);
                strategy.tell(s.t, s.e);
                cost += s.e.cost;
                out.resumed_seconds = std::max(out.resumed_seconds, d.get_or("elapsed", 0.0));
                out.history.push_back(std::move(s));
            } else {
                throw parse_error("xnas::search: journal " + where + ": unknown event '" + event +
                                  "', expected start, ask or result");
            }
        });
    }
};

} // namespace detail

/// xnas::search with the trials evaluated by `exec`: the way to a user's own executor (a process
/// pool, a cluster queue), to MPI ranks (<xnas/parallel/mpi.hpp>) and to simulated workers
/// (simulated_executor.hpp). It submits up to opt.workers trials at a time, or in ask order (not
/// asynchronous) up to the lookahead, which may be more than the executor runs at once: it queues
/// them. Everything else (journal, resume, budgets, callbacks) is search's.
template <class Space, class St, class X, class... Callbacks>
requires search_space<Space> && strategy<std::remove_cvref_t<St>, Space> &&
    executor<X, typename Space::architecture>
        study<typename Space::architecture> search_with(const Space& space, St&& strategy, X& exec,
                                                        const search_options& opt,
                                                        Callbacks&&... callbacks) {
    using A = typename Space::architecture;
    using Stt = std::remove_cvref_t<St>;
    detail::validate(opt);

    study<A> out;
    out.objectives = opt.objectives;
    detail::search_run<Space, Stt, A> run{space, strategy, opt, out, rng(opt.seed)};
    const auto started = std::chrono::steady_clock::now();

    std::optional<journal_writer> journal, ahead;
    const std::string ahead_path = ahead_journal_path(opt.journal);
    if (!opt.journal.empty()) {
        if constexpr (serializable_space<Space>) {
            namespace fs = std::filesystem;
            std::error_code ec;
            const bool exists = fs::exists(opt.journal, ec);
            const bool non_empty = exists && fs::file_size(opt.journal, ec) > 0;
            if (non_empty && !opt.resume)
                throw file_error("xnas::search: journal '" + opt.journal +
                                 "' exists; set search_options::resume = true to continue it, "
                                 "or remove it to start afresh");
            if (non_empty) {
                const journal_contents j = read_journal(opt.journal);
                for (const auto& w : j.warnings) {
                    out.warnings.push_back(w);
                    (detail::hook_on_warning(callbacks, w), ...);
                }
                run.replay(j);
                // What the replayed trials retired was never kept by this process's evaluator.
                if constexpr (retiring_strategy<Stt>)
                    run.strategy.take_retired();
                if (fs::exists(ahead_path, ec))
                    run.read_ahead(ahead_path);
                journal.emplace(opt.journal, opt.fsync, j.valid_bytes, j.missing_newline);
            } else {
                // Results a removed journal's run finished ahead belong to that run.
                fs::remove(ahead_path, ec);
                journal.emplace(opt.journal, opt.fsync);
            }
            journal->append(journal_start_record(opt.seed, opt.objectives));
        } else {
            throw std::invalid_argument("xnas::search: search_options::journal is set but the "
                                        "space has no to_string/parse (serializable_space)");
        }
    }

    // A trial budget says how long the history will grow: room for it up front spares the
    // copies of a doubling vector and the freed buffers they leave in the heap. Pages of the
    // reservation are only made resident as records fill them, so a generous cap costs address
    // space alone.
    if (opt.max_trials > 0)
        out.history.reserve(std::min<std::size_t>(opt.max_trials, std::size_t{1} << 16));

    bool stop = false;
    auto request_stop = [&](stop_reason r) {
        if (out.stopped_by == stop_reason::none)
            out.stopped_by = r;
        stop = true;
    };
    // Every callback sees every event, so no short-circuit between them.
    bool asked_stop = false;
    ((asked_stop = detail::hook_on_start(callbacks, std::as_const(out)) || asked_stop), ...);
    if (asked_stop)
        request_stop(stop_reason::callback);

    auto elapsed = [&] {
        return out.resumed_seconds +
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    auto may_ask = [&] {
        if (stop)
            return false;
        if (opt.max_trials > 0 && run.asked >= opt.max_trials)
            request_stop(stop_reason::max_trials);
        else if (opt.max_cost > 0 && run.cost >= opt.max_cost)
            request_stop(stop_reason::max_cost);
        else if (opt.max_seconds > 0 && elapsed() >= opt.max_seconds)
            request_stop(stop_reason::max_seconds);
        return !stop;
    };

    // The largest share spent of the budgets set: trials asked, summed cost, seconds.
    auto progress = [&] {
        double p = 0;
        if (opt.max_trials > 0)
            p = static_cast<double>(run.asked) / static_cast<double>(opt.max_trials);
        if (opt.max_cost > 0)
            p = std::max(p, run.cost / opt.max_cost);
        if (opt.max_seconds > 0)
            p = std::max(p, elapsed() / opt.max_seconds);
        return std::min(p, 1.0);
    };

    {
        std::size_t in_flight = 0;
        const bool ordered = !opt.asynchronous;
        const std::size_t window = opt.window();
        std::deque<std::uint64_t> untold; // ordered: ids asked and not yet told, in ask order
        std::unordered_map<std::uint64_t, scored<A>> arrived; // ordered: results awaiting turn
        auto ask_one = [&] {
            std::optional<double> given;
            if constexpr (detail::takes_progress<Stt>) {
                given = progress();
                run.strategy.set_progress(*given);
            }
            trial<A> t = run.strategy.ask(space, run.g);
            ++run.asked;
            if constexpr (serializable_space<Space>)
                if (journal)
                    journal->append(journal_ask_record(t, space.to_string(t.architecture), given));
            bool cb_stop = false;
            ((cb_stop = detail::hook_on_ask(callbacks, std::as_const(t)) || cb_stop), ...);
            if (cb_stop)
                request_stop(stop_reason::callback);
            if (ordered)
                untold.push_back(t.id);
            exec.submit(std::move(t));
            ++in_flight;
        };
        auto fill = [&] {
            if (ordered)
                while (untold.size() < window && may_ask())
                    ask_one();
            else
                while (in_flight < opt.workers && may_ask())
                    ask_one();
        };
        auto tell_one = [&](scored<A> s) {
            detail::check_objectives(s.t, s.e, opt.objectives);
            if (journal)
                journal->append(journal_result_record(s.t.id, s.e, elapsed()));
            run.strategy.tell(std::as_const(s.t), std::as_const(s.e));
            if constexpr (retiring_strategy<Stt>) {
                const std::vector<std::uint64_t> retired = run.strategy.take_retired();
                if constexpr (requires { exec.release(std::span<const std::uint64_t>(retired)); })
                    if (!retired.empty())
                        exec.release(std::span<const std::uint64_t>(retired));
            }
            run.cost += s.e.cost;
            out.history.push_back(std::move(s));
            bool cb_stop = false;
            ((cb_stop = detail::hook_on_result(callbacks, std::as_const(out.history.back()),
                                               std::as_const(out)) ||
                        cb_stop),
             ...);
            if (cb_stop)
                request_stop(stop_reason::callback);
        };
        // Every result whose turn has come is told, and the window refilled after each one, so
        // each ask follows the same tells however the results arrived.
        auto tell_in_turn = [&] {
            while (!untold.empty()) {
                const auto it = arrived.find(untold.front());
                if (it == arrived.end())
                    break;
                scored<A> next = std::move(it->second);
                arrived.erase(it);
                untold.pop_front();
                tell_one(std::move(next));
                fill();
            }
        };
        // Trials asked before a crash run first, as they would have; those that had finished
        // ahead of their turn are told in it.
        for (auto& t : run.pending) {
            const auto done = run.finished_ahead.find(t.id);
            if (ordered)
                untold.push_back(t.id);
            if (done == run.finished_ahead.end()) {
                exec.submit(std::move(t));
                ++in_flight;
            } else if (ordered) {
                arrived.insert_or_assign(t.id, scored<A>{std::move(t), std::move(done->second)});
            } else {
                tell_one(scored<A>{std::move(t), std::move(done->second)});
            }
        }
        run.pending.clear();
        run.finished_ahead.clear();
        tell_in_turn();
        for (;;) {
            fill();
            if (in_flight == 0)
                break;
            scored<A> s = exec.wait_one();
            --in_flight;
            if (!ordered) {
                tell_one(std::move(s));
                continue;
            }
            const std::uint64_t id = s.t.id;
            if (journal && untold.front() != id) {
                if (!ahead)
                    ahead.emplace(ahead_path, opt.fsync);
                ahead->append(journal_result_record(id, s.e, elapsed()));
            }
            arrived.insert_or_assign(id, std::move(s));
            tell_in_turn();
        }
    }
    if (journal) {
        ahead.reset();
        std::error_code ec;
        std::filesystem::remove(ahead_path, ec);
    }
    (detail::hook_on_end(callbacks, std::as_const(out)), ...);
    return out;
}

/// Runs a search: asks `strategy` for trials over `space`, evaluates them with `eval`, tells the
/// results back, until a budget in `opt` is spent or a callback asks to stop. It is search_with
/// on the executor opt.workers names: the calling thread (1) or a pool of that many threads.
///
/// Callbacks are any objects; each hook is optional and a hook returning true asks to stop:
///   on_start(const study<A>&), on_ask(const trial<A>&),
///   on_result(const scored<A>&, const study<A>&) or on_result(const scored<A>&),
///   on_warning(const std::string&) (e.g. a torn journal line), on_end(const study<A>&).
/// In-flight trials are finished and recorded after a stop. Results replayed from a journal
/// are not reported to on_ask / on_result (they are in the study's history on_start receives).
/// A strategy with set_progress(double) is given, before each ask, the largest share spent of
/// the budgets set (trials, cost, seconds; 0 to 1). The ask's journal record keeps it and a
/// resume replays it, so a schedule that follows the clock still resumes exactly.
///
/// An evaluator that throws is recorded as status::failed with the exception's message; an ok
/// evaluation lacking an objective of `opt` is recorded failed, a non-finite one diverged.
///
/// Throws std::invalid_argument for bad options; xnas::file_error / xnas::parse_error naming the
/// file and line for an unusable journal (a resume that does not replay to the same asks).
template <class Space, class St, class E, class... Callbacks>
requires search_space<Space> && strategy<std::remove_cvref_t<St>, Space> &&
    evaluator < std::remove_cvref_t<E>,
typename Space::architecture >
    study<typename Space::architecture> search(const Space& space, St&& strategy, E&& eval,
                                               const search_options& opt,
                                               Callbacks&&... callbacks) {
    using A = typename Space::architecture;
    using Ev = std::remove_cvref_t<E>;
    detail::validate(opt);
    if (opt.workers <= 1) {
        detail::serial_executor<Ev, A> serial(eval);
        detail::executor_ref<A> exec(serial);
        return search_with(space, std::forward<St>(strategy), exec, opt,
                           std::forward<Callbacks>(callbacks)...);
    }
    detail::thread_executor<Ev, A> threads(eval, opt.workers);
    detail::executor_ref<A> exec(threads);
    return search_with(space, std::forward<St>(strategy), exec, opt,
                       std::forward<Callbacks>(callbacks)...);
}

} // namespace xnas
