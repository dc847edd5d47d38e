#pragma once
// Progress of a main job for a person watching: search_progress, an xnas::search callback, and
// retrain_progress, a training callback. On a terminal each redraws a bar in place, with the time
// left; written to a file or pipe, each prints one line per trial or epoch, so a log stays
// readable.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <ostream>
#include <string>
#include <unistd.h>
#include <xnas/core/study.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/train/metrics.hpp>

namespace xnas::experiment {

/// Whether `os` is std::cerr or std::cout (or std::clog) writing to a terminal.
inline bool is_terminal(const std::ostream& os) {
    if (&os == &std::cerr || &os == &std::clog)
        return isatty(STDERR_FILENO) != 0;
    if (&os == &std::cout)
        return isatty(STDOUT_FILENO) != 0;
    return false;
}

/// A duration for people: "42 s", "6 min 05 s", "2 h 03 min".
inline std::string format_duration(double seconds) {
    const auto s = static_cast<long long>(std::llround(std::max(seconds, 0.0)));
    char text[48];
    if (s < 60)
        std::snprintf(text, sizeof text, "%lld s", s);
    else if (s < 3600)
        std::snprintf(text, sizeof text, "%lld min %02lld s", s / 60, s % 60);
    else
        std::snprintf(text, sizeof text, "%lld h %02lld min", s / 3600, (s % 3600) / 60);
    return text;
}

/// Seconds left when `done` of `total` equal steps took `elapsed` seconds (0 when nothing or
/// everything is done).
inline double eta_seconds(std::size_t done, std::size_t total, double elapsed) {
    if (done == 0 || done >= total)
        return 0;
    return elapsed / static_cast<double>(done) * static_cast<double>(total - done);
}

/// A bar of `width` characters, `done` of `total` filled.
inline std::string progress_bar(std::size_t done, std::size_t total, std::size_t width = 24) {
    const std::size_t filled = total ? width * std::min(done, total) / total : 0;
    return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

/// The number of failed trials in a study.
template <class A>
std::size_t failed_trials(const study<A>& s) {
    return static_cast<std::size_t>(
        std::count_if(s.history.begin(), s.history.end(), [](const auto& r) { return !r.e.ok(); }));
}

/// A search callback: after each result, trials done (of `total`), seconds elapsed and left,
/// the best value of `by` so far and the failures. Trials, failures and seconds come from the
/// study, so a resumed search counts on from its journal. The time left under a trial budget
/// comes from the trials this process ran since the search began (on_start), so neither a
/// one-shot search's supernet training nor a journal's replay counts as trial time. It also
/// records when each trial finished (finished_at), for the report's time axis.
struct search_progress {
    std::size_t total = 0;     ///< trials of the budget (0: a time budget)
    double budget_seconds = 0; ///< the time budget, for the time left without a trial budget
    objective by{"val_accuracy", direction::maximize};
    std::ostream* out = &std::cerr;
    bool tty = is_terminal(std::cerr); ///< redraw a bar in place (else one line per trial)
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::map<std::uint64_t, double> finished_at{}; ///< trial id -> seconds into the search

    template <class A>
    void on_start(const study<A>& s) {
        search_start = std::chrono::steady_clock::now();
        done_at_start = s.history.size();
    }

    template <class A>
    void on_result(const scored<A>& r, const study<A>& s) {
        const double now =
            s.resumed_seconds +
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        finished_at[r.t.id] = now;
        const std::size_t done = s.history.size(), failed = failed_trials(s);
        // The study's own best (at the highest fidelity evaluated): O(trials) per result.
        const auto best_index = s.best_index(by);
        // Until a trial succeeds there is no best: 0.0000 would read as a trained network at 0.
        char best[32] = "-";
        if (best_index)
            std::snprintf(best, sizeof best, "%.4f", s.history[*best_index].e.value(by.name));
        double eta = 0;
        if (total) {
            const std::size_t run = done - std::min(done, done_at_start);
            const double spent =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - search_start)
                    .count();
            if (run)
                eta = spent / static_cast<double>(run) *
                      static_cast<double>(total - std::min(done, total));
        } else if (budget_seconds > 0)
            eta = std::max(0.0, budget_seconds - now);
        char line[256];
        std::snprintf(line, sizeof line,
                      "trial %zu%s%s  elapsed %.0fs  eta %.0fs  best %s %s  failed %zu", done,
                      total ? "/" : "", total ? std::to_string(total).c_str() : "", now, eta,
                      short_name(by).c_str(), best, failed);
        if (tty)
            *out << '\r' << progress_bar(done, total) << ' ' << line;
        else
            *out << line << "  " << to_string(r.e.state) << (r.e.ok() ? "" : ": ")
                 << r.e.message.substr(0, 120) << '\n';
        out->flush();
    }
    template <class A>
    void on_end(const study<A>&) {
        if (tty)
            *out << '\n';
    }
    void on_warning(const std::string& w) { *out << "\nwarning: " << w << '\n'; }

    // Set by on_start (public only so that the struct stays an aggregate).
    std::chrono::steady_clock::time_point search_start = start;
    std::size_t done_at_start = 0;
};

/// A training callback for the long retrain of a winner, where a silent stretch of minutes
/// reads as a hang. On a terminal: a bar over all the retrain's batches with the loss and the
/// time left, redrawn at most every redraw_seconds, and a line per finished epoch above it.
/// Elsewhere: the epoch lines only, each with the time left.
struct retrain_progress {
    std::size_t epochs = 0; ///< of the whole retrain
    std::ostream* out = &std::cerr;
    bool tty = is_terminal(std::cerr);
    double redraw_seconds = 0.25;

    void on_epoch_begin(std::size_t) {
        if (!started) {
            started = true;
            start = std::chrono::steady_clock::now();
        }
    }
    void on_batch_end(const train::batch_result& b) {
        if (!tty)
            return;
        const auto now = std::chrono::steady_clock::now();
        const bool last = b.batch + 1 == b.batch_count;
        if (drawn && !last &&
            std::chrono::duration<double>(now - last_draw).count() < redraw_seconds)
            return;
        last_draw = now;
        drawn = true;
        const std::size_t done = b.epoch * b.batch_count + b.batch + 1;
        const std::size_t total = epochs * b.batch_count;
        const double seconds = std::chrono::duration<double>(now - start).count();
        char line[160];
        std::snprintf(line, sizeof line, " epoch %zu/%zu  batch %zu/%zu  loss %.4f", b.epoch + 1,
                      epochs, b.batch + 1, b.batch_count, b.loss);
        *out << "\rretrain " << progress_bar(done, total) << line << "  elapsed "
             << format_duration(seconds) << "  eta "
             << format_duration(eta_seconds(done, total, seconds)) << "\033[K";
        out->flush();
    }
    void on_epoch_end(const train::epoch_result& e) {
        elapsed += e.seconds;
        char line[160];
        std::snprintf(line, sizeof line, "retrain epoch %zu/%zu  loss %.4f  train acc %.4f  %.0f s",
                      e.epoch + 1, epochs, e.loss, e.accuracy, elapsed);
        *out << (tty ? "\r\033[K" : "") << line << "  eta "
             << format_duration(eta_seconds(e.epoch + 1, epochs, elapsed)) << '\n';
        out->flush();
    }
    void on_fit_end(const train::history&) {
        if (tty && drawn)
            *out << "\r\033[K";
        out->flush();
    }

    double elapsed = 0; ///< seconds of the finished epochs
    bool started = false, drawn = false;
    std::chrono::steady_clock::time_point start{}, last_draw{};
};

} // namespace xnas::experiment
