#pragma once
// xnas::simulated_executor: evaluates each trial at once but returns the results as W workers on
// a simulated clock would, each evaluation taking its cost in simulated seconds (a tabular
// benchmark's training time), after Syne Tune's simulator back-end. search_with on it compares
// strategies anytime, the best result against simulated time, at table-lookup speed.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <queue>
#include <stdexcept>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/run/search.hpp>

namespace xnas {

/// W simulated workers. A submitted trial goes to the worker free soonest (the lowest-numbered
/// on a tie) and starts when that worker is free, but not before the clock; it finishes its
/// evaluation's cost (evaluation::cost, seconds; a negative or non-finite cost counts as 0) later.
/// wait_one returns the running trial that finishes first (the earlier submitted on a tie) and
/// moves the clock to its finish, so a driver's asks happen at the simulated time of the result
/// before them, as they would on real workers. Deterministic: no thread, no wall clock. An
/// evaluator that throws gives a failed evaluation of cost 0, as search does.
template <class E, class A>
class simulated_executor {
  public:
    /// Throws std::invalid_argument for workers = 0.
    simulated_executor(E& ev, std::size_t workers)
        : ev_(ev)
        , free_at_(workers, 0.0) {
        if (workers == 0)
            throw std::invalid_argument("xnas::simulated_executor: workers = 0, expected >= 1");
    }

    void submit(trial<A> t) {
        evaluation e = detail::safe_evaluate(ev_, t);
        const double cost = std::isfinite(e.cost) && e.cost > 0 ? e.cost : 0.0;
        std::size_t w = 0;
        for (std::size_t k = 1; k < free_at_.size(); ++k)
            if (free_at_[k] < free_at_[w])
                w = k;
        const double start = std::max(now_, free_at_[w]);
        free_at_[w] = start + cost;
        running_.push({start + cost, submitted_++, {std::move(t), std::move(e)}});
    }

    scored<A> wait_one() {
        if (running_.empty())
            throw std::logic_error("xnas::simulated_executor: wait_one with no trial running");
        // top() is const: the entry is copied out before pop, as priority_queue allows no move.
        run r = running_.top();
        running_.pop();
        now_ = r.finish;
        return std::move(r.result);
    }

    /// Simulated seconds at the finish of the last result wait_one returned (0 before).
    double now() const { return now_; }
    std::size_t workers() const { return free_at_.size(); }

  private:
    struct run {
        double finish;
        std::uint64_t order; // submission order, breaking ties in finish time
        scored<A> result;
        bool operator>(const run& o) const {
            return finish != o.finish ? finish > o.finish : order > o.order;
        }
    };

    E& ev_;
    std::vector<double> free_at_; // per worker: when its last assigned trial finishes
    double now_ = 0;
    std::uint64_t submitted_ = 0;
    std::priority_queue<run, std::vector<run>, std::greater<run>> running_;
};

} // namespace xnas
