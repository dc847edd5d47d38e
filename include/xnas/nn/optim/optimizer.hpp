#pragma once
// The optimizer concept of the training core, and the checks every shipped optimizer shares
// (parameter/gradient shapes, state keyed by parameter position).

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

/// An optimizer updates parameters in place from the gradients already stored beside them.
///
/// Semantic requirements the compiler cannot check:
///  1. step(params) applies exactly one update to every parameter, reading *p.gradient and
///     writing *p.value; it never changes a gradient.
///  2. State (momentum, moments) is keyed by the parameter's position in `params`: call step
///     with the same list, in the same order, every time. reset() forgets the state.
///  3. set_learning_rate(lr) takes effect at the next step (schedules call it each step or
///     epoch); learning_rate() returns the value the next step uses.
///  4. Deterministic: same parameters, gradients and state give the same update.
///  5. Parameters whose name starts with "running_" (batch-norm statistics) are state, not
///     learnables: step leaves them untouched (no weight decay on them either).
template <class O>
concept optimizer = requires {
    typename O::value_type;
}
&&requires(O& o, const O& co, std::span<const parameter<typename O::value_type>> params,
           double lr) {
    {o.step(params)};
    {o.reset()};
    { co.learning_rate() } -> std::convertible_to<double>;
    {o.set_learning_rate(lr)};
};

/// An optimizer whose step can be split over threads: begin_step(params) does the serial part
/// (checks, state allocation, the step count and per-step constants), then step_part(params,
/// part, parts) for every part in [0, parts) updates elements [size * part / parts, size *
/// (part + 1) / parts) of every parameter. train::fit's data parallelism uses it so that each
/// thread updates its share of the parameters.
///
/// Semantic requirements besides optimizer's:
///  1. step(params) is begin_step(params) followed by step_part(params, 0, 1).
///  2. step_part calls for distinct parts of one step may run concurrently; they touch only
///     their own elements of values, gradients and state.
///  3. An element's update does not depend on the partition (same parts or not, same result).
template <class O>
concept partitioned_optimizer = optimizer<O> &&
    requires(O& o, std::span<const parameter<typename O::value_type>> params, std::size_t part,
             std::size_t parts) {
    {o.begin_step(params)};
    {o.step_part(params, part, parts)};
};

namespace detail {

/// Elements [begin, end) of a parameter of n elements that part `part` of `parts` updates.
struct element_range {
    std::size_t begin, end;
};
inline element_range part_of(std::size_t n, std::size_t part, std::size_t parts) {
    return {n * part / parts, n * (part + 1) / parts};
}

/// True for non-learnable state exposed as a parameter (batch norm's running_mean/var).
template <class T>
bool is_running_state(const parameter<T>& p) {
    return nn::is_running_state(p.name);
}

/// Throws std::invalid_argument "<who>: <field> is <value>, expected <what>" unless ok.
inline void require_option(bool ok, const char* who, const char* field, double value,
                           const char* what) {
    if (!ok)
        throw std::invalid_argument(std::string(who) + ": " + field + " is " +
                                    std::to_string(value) + ", expected " + what);
}

/// Throws unless every gradient has as many elements as its parameter.
template <class T>
void check_gradients(const char* who, std::span<const parameter<T>> params) {
    for (std::size_t k = 0; k < params.size(); ++k) {
        const auto& p = params[k];
        if (p.gradient->size() != p.value->size())
            throw shape_error(std::string(who) + "::step: parameter " + std::to_string(k) + " (" +
                              p.name + ") has " + std::to_string(p.value->size()) +
                              " elements but its gradient has " +
                              std::to_string(p.gradient->size()));
    }
}

/// Sizes per-parameter state buffers on the first step, and afterwards checks that the
/// parameter list still matches them (same count, same sizes), naming the first mismatch.
template <class T>
void check_state(const char* who, std::span<const parameter<T>> params,
                 std::vector<std::vector<T>>& state) {
    if (state.empty()) {
        state.resize(params.size());
        for (std::size_t k = 0; k < params.size(); ++k)
            state[k].assign(params[k].value->size(), T(0));
    }
    if (state.size() != params.size())
        throw shape_error(std::string(who) + "::step: got " + std::to_string(params.size()) +
                          " parameters, optimizer state holds " + std::to_string(state.size()) +
                          " (a different network? call reset())");
    check_gradients(who, params);
    for (std::size_t k = 0; k < params.size(); ++k) {
        const auto& p = params[k];
        if (p.value->size() != state[k].size())
            throw shape_error(
                std::string(who) + "::step: parameter " + std::to_string(k) + " (" + p.name +
                ") has " + std::to_string(p.value->size()) + " elements, optimizer state holds " +
                std::to_string(state[k].size()) + " (a different network? call reset())");
    }
}

} // namespace detail

} // namespace xnas::nn
