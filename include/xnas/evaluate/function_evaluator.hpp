#pragma once
// xnas::function_evaluator: turns any callable into an evaluator. The callable takes the
// architecture (or the whole trial, to see its fidelity) and returns a double, a map of named
// objectives, or a full xnas::evaluation.

#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <xnas/core/concepts.hpp>
#include <xnas/core/trial.hpp>

namespace xnas {

struct function_evaluator_options {
    /// Name under which a callable's double result is reported.
    std::string objective = "objective";
    /// Charge the evaluation's wall-clock seconds as its cost (when the callable returns a
    /// double or a map; an evaluation carries its own cost). Off by default: a measured time
    /// makes the study depend on the machine.
    bool timed = false;
};

/// Wraps callable F: `F(const A&)` or `F(const trial<A>&)` returning `double`,
/// `std::map<std::string, double>`, `xnas::named_values` or `xnas::evaluation`. An exception from F
/// becomes a failed evaluation with its message; a non-finite double (or map value) becomes
/// status::diverged. `ThreadSafe` declares F safe to call concurrently (then workers share one
/// evaluator).
template <class F, bool ThreadSafe = false>
class function_evaluator {
  public:
    static constexpr bool thread_safe = ThreadSafe;

    explicit function_evaluator(F f, function_evaluator_options opt = {})
        : f_(std::move(f))
        , opt_(std::move(opt)) {}

    template <class A>
    evaluation evaluate(const trial<A>& t) {
        const auto start = std::chrono::steady_clock::now();
        evaluation e;
        try {
            e = to_evaluation(call(t));
        } catch (const std::exception& ex) {
            e = evaluation::failure(status::failed, ex.what());
        } catch (...) {
            e = evaluation::failure(status::failed, "callable threw an exception of unknown type");
        }
        if (opt_.timed && e.cost == 0)
            e.cost =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return e;
    }

    F& function() { return f_; }
    const function_evaluator_options& options() const { return opt_; }

  private:
    template <class A>
    decltype(auto) call(const trial<A>& t) {
        if constexpr (std::is_invocable_v<F&, const trial<A>&>)
            return f_(t);
        else
            return f_(t.architecture);
    }

    evaluation to_evaluation(evaluation e) const { return e; }

    evaluation to_evaluation(named_values m) const {
        for (const auto& [k, v] : m)
            if (!std::isfinite(v))
                return diverged(k, v);
        evaluation e;
        e.objectives = std::move(m);
        return e;
    }

    template <class R>
    requires std::is_arithmetic_v<std::remove_cvref_t<R>> evaluation to_evaluation(R r)
    const {
        const double v = static_cast<double>(r);
        if (!std::isfinite(v))
            return diverged(opt_.objective, v);
        evaluation e;
        e.objectives[opt_.objective] = v;
        return e;
    }

    static evaluation diverged(const std::string& name, double v) {
        return evaluation::failure(status::diverged, "xnas::function_evaluator: objective '" +
                                                         name + "' is " + std::to_string(v));
    }

    F f_;
    function_evaluator_options opt_;
};

/// A function_evaluator whose callable may be called from several threads at once.
template <class F>
function_evaluator<F, true> make_thread_safe_evaluator(F f, function_evaluator_options opt = {}) {
    return function_evaluator<F, true>(std::move(f), std::move(opt));
}

namespace detail {
struct function_evaluator_archetype {
    double operator()(int) const { return 0; }
};
} // namespace detail
static_assert(evaluator<function_evaluator<detail::function_evaluator_archetype>, int>);
static_assert(!is_thread_safe_evaluator<function_evaluator<detail::function_evaluator_archetype>>);
static_assert(
    is_thread_safe_evaluator<function_evaluator<detail::function_evaluator_archetype, true>>);

} // namespace xnas
