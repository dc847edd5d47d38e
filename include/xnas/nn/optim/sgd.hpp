#pragma once
// nn::sgd, stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay,
// with PyTorch's torch.optim.SGD update rule exactly.

#include <cstddef>
#include <span>
#include <vector>
#include <xnas/nn/detail/simd_kernels.hpp>
#include <xnas/nn/optim/optimizer.hpp>

namespace xnas::nn {

/// Options of nn::sgd (PyTorch's names and defaults, except lr which PyTorch requires).
struct sgd_options {
    double lr = 0.01;        ///< learning rate, >= 0
    double momentum = 0;     ///< mu, >= 0; 0 disables the momentum buffer
    double dampening = 0;    ///< scales the gradient added to the buffer after the first step
    double weight_decay = 0; ///< L2 coefficient added to the gradient (wd * p), >= 0
    bool nesterov = false;   ///< Nesterov momentum (Sutskever et al., 2013); needs momentum > 0
};

/// SGD as in PyTorch: with g the gradient,
///     d = g + wd * p
///     b = d                          (first step)
///     b = mu * b + (1 - dampening) * d (later steps)
///     d = nesterov ? d + mu * b : b   (when mu > 0)
///     p = p - lr * d
/// One fused contiguous loop per parameter (dispatched on the CPU for float), no temporaries; the
/// momentum buffers (one per parameter, keyed by position) are allocated at the first step.
/// Parameters named running_* are skipped.
template <class T = float>
class sgd {
  public:
    using value_type = T;

    /// Throws std::invalid_argument naming the field when an option is out of range
    /// (negative lr, momentum or weight decay; Nesterov without momentum or with dampening).
    explicit sgd(sgd_options options = {})
        : options_(options) {
        constexpr const char* who = "xnas::nn::sgd";
        detail::require_option(options.lr >= 0, who, "lr", options.lr, ">= 0");
        detail::require_option(options.momentum >= 0, who, "momentum", options.momentum, ">= 0");
        detail::require_option(options.weight_decay >= 0, who, "weight_decay", options.weight_decay,
                               ">= 0");
        if (options.nesterov) {
            detail::require_option(options.momentum > 0, who, "momentum (with nesterov)",
                                   options.momentum, "> 0");
            detail::require_option(options.dampening == 0, who, "dampening (with nesterov)",
                                   options.dampening, "0");
        }
    }

    /// One update of every parameter from its stored gradient. Throws xnas::shape_error when
    /// a gradient's size differs from its parameter's, or the list differs from the first
    /// step's (count or sizes).
    void step(std::span<const parameter<T>> params) {
        begin_step(params);
        step_part(params, 0, 1);
    }

    /// The serial part of a step (see nn::partitioned_optimizer): the checks of step(), the
    /// momentum buffers' allocation on the first step and the step count.
    void begin_step(std::span<const parameter<T>> params) {
        constexpr const char* who = "xnas::nn::sgd";
        if (options_.momentum == 0)
            detail::check_gradients(who, params);
        else
            detail::check_state(who, params, buffers_);
        first_ = steps_ == 0;
        ++steps_;
    }

    /// Updates part `part` of `parts` of every parameter's elements, after begin_step(params);
    /// distinct parts may run concurrently.
    void step_part(std::span<const parameter<T>> params, std::size_t part, std::size_t parts) {
        const detail::sgd_coefficients<T> c{.lr = static_cast<T>(options_.lr),
                                            .wd = static_cast<T>(options_.weight_decay),
                                            .mu = static_cast<T>(options_.momentum),
                                            .keep = static_cast<T>(1 - options_.dampening),
                                            .momentum = options_.momentum != 0,
                                            .first = first_,
                                            .nesterov = options_.nesterov};
        for (std::size_t k = 0; k < params.size(); ++k) {
            if (detail::is_running_state(params[k]))
                continue;
            const auto [lo, hi] = detail::part_of(params[k].value->size(), part, parts);
            T* b = c.momentum ? buffers_[k].data() + lo : nullptr;
            detail::sgd_update(params[k].value->data() + lo, params[k].gradient->data() + lo, b,
                               hi - lo, c);
        }
    }

    /// Forgets the momentum buffers and the step count (the next step is a first step).
    void reset() {
        buffers_.clear();
        steps_ = 0;
    }

    double learning_rate() const { return options_.lr; }
    /// Throws std::invalid_argument when lr is negative or NaN.
    void set_learning_rate(double lr) {
        detail::require_option(lr >= 0, "xnas::nn::sgd::set_learning_rate", "lr", lr, ">= 0");
        options_.lr = lr;
    }
    const sgd_options& options() const { return options_; }
    /// Steps taken since construction or reset().
    std::size_t steps() const { return steps_; }

  private:
    sgd_options options_;
    std::vector<std::vector<T>> buffers_;
    std::size_t steps_ = 0;
    bool first_ = false; // the step begin_step started is the first since construction or reset
};

static_assert(partitioned_optimizer<sgd<float>>);
static_assert(partitioned_optimizer<sgd<double>>);

} // namespace xnas::nn
