#pragma once
// nn::adam (Kingma & Ba, 2014, arXiv:1412.6980) and nn::adamw (decoupled weight decay,
// Loshchilov & Hutter, 2017, arXiv:1711.05101), with torch.optim.Adam / AdamW's update rules.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>
#include <xnas/nn/detail/simd_kernels.hpp>
#include <xnas/nn/optim/optimizer.hpp>

namespace xnas::nn {

/// Options of nn::adam (PyTorch's defaults). weight_decay is L2: added to the gradient.
struct adam_options {
    double lr = 1e-3;        ///< learning rate, >= 0
    double beta1 = 0.9;      ///< first-moment decay, in [0, 1)
    double beta2 = 0.999;    ///< second-moment decay, in [0, 1)
    double eps = 1e-8;       ///< added to the bias-corrected sqrt(v), >= 0
    double weight_decay = 0; ///< L2 coefficient, >= 0
    bool amsgrad = false;    ///< use the running maximum of v (Reddi et al., 2018)
};

/// Options of nn::adamw (PyTorch's defaults). weight_decay is decoupled: p *= 1 - lr * wd.
struct adamw_options {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 1e-2;
    bool amsgrad = false;
};

namespace detail {

/// Adam's state and update; Decoupled selects AdamW's weight decay. With t the step (from 1):
///     g = g + wd * p                 (Adam)      p = p * (1 - lr * wd)   (AdamW)
///     m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,  vmax = max(vmax, v) (amsgrad)
///     p = p - lr / (1 - b1^t) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps)
template <class T, class Options, bool Decoupled>
class adam_base {
  public:
    using value_type = T;

    /// Throws std::invalid_argument naming the field when an option is out of range.
    explicit adam_base(Options options = {})
        : options_(options) {
        const char* who = name();
        require_option(options.lr >= 0, who, "lr", options.lr, ">= 0");
        require_option(options.beta1 >= 0 && options.beta1 < 1, who, "beta1", options.beta1,
                       "in [0, 1)");
        require_option(options.beta2 >= 0 && options.beta2 < 1, who, "beta2", options.beta2,
                       "in [0, 1)");
        require_option(options.eps >= 0, who, "eps", options.eps, ">= 0");
        require_option(options.weight_decay >= 0, who, "weight_decay", options.weight_decay,
                       ">= 0");
    }

    /// One update of every parameter from its stored gradient. Throws xnas::shape_error when
    /// a gradient's size differs from its parameter's, or the list differs from the first
    /// step's (count or sizes).
    void step(std::span<const parameter<T>> params) {
        begin_step(params);
        step_part(params, 0, 1);
    }

    /// The serial part of a step (see nn::partitioned_optimizer): the checks of step(), the
    /// moments' allocation on the first step, the step count and the bias corrections.
    void begin_step(std::span<const parameter<T>> params) {
        check_state(name(), params, m_);
        check_state(name(), params, v_);
        if (options_.amsgrad)
            check_state(name(), params, vmax_);
        ++steps_;
        const double t = static_cast<double>(steps_);
        c_.b1 = static_cast<T>(options_.beta1);
        c_.b2 = static_cast<T>(options_.beta2);
        c_.one_b1 = static_cast<T>(1 - options_.beta1);
        c_.one_b2 = static_cast<T>(1 - options_.beta2);
        c_.step_size = static_cast<T>(options_.lr / (1 - std::pow(options_.beta1, t)));
        c_.inv_bc2_sqrt = static_cast<T>(1 / std::sqrt(1 - std::pow(options_.beta2, t)));
        c_.eps = static_cast<T>(options_.eps);
        c_.wd = static_cast<T>(options_.weight_decay);
        c_.shrink = static_cast<T>(1 - options_.lr * options_.weight_decay);
    }

    /// Updates part `part` of `parts` of every parameter's elements, after begin_step(params);
    /// distinct parts may run concurrently.
    void step_part(std::span<const parameter<T>> params, std::size_t part, std::size_t parts) {
        for (std::size_t k = 0; k < params.size(); ++k) {
            if (is_running_state(params[k]))
                continue;
            const auto [lo, hi] = part_of(m_[k].size(), part, parts);
            T* w = params[k].value->data() + lo;
            const T* g = params[k].gradient->data() + lo;
            // one fused SIMD pass (std::sqrt's errno handling keeps compilers from
            // vectorising the plain loop: about 3x slower)
            if (options_.amsgrad)
                adam_update<true, Decoupled>(w, g, m_[k].data() + lo, v_[k].data() + lo,
                                             vmax_[k].data() + lo, hi - lo, c_);
            else
                adam_update<false, Decoupled>(w, g, m_[k].data() + lo, v_[k].data() + lo,
                                              static_cast<T*>(nullptr), hi - lo, c_);
        }
    }

    /// Forgets the moments and the step count.
    void reset() {
        m_.clear();
        v_.clear();
        vmax_.clear();
        steps_ = 0;
    }

    double learning_rate() const { return options_.lr; }
    /// Throws std::invalid_argument when lr is negative or NaN.
    void set_learning_rate(double lr) {
        require_option(lr >= 0, name(), "lr", lr, ">= 0");
        options_.lr = lr;
    }
    const Options& options() const { return options_; }
    /// Steps taken since construction or reset() (the t of the bias correction).
    std::size_t steps() const { return steps_; }

  private:
    static const char* name() { return Decoupled ? "xnas::nn::adamw" : "xnas::nn::adam"; }

    Options options_;
    std::vector<std::vector<T>> m_, v_, vmax_;
    adam_coefficients<T> c_{};
    std::size_t steps_ = 0;
};

} // namespace detail

/// Adam with L2 weight decay added to the gradient (torch.optim.Adam). See detail::adam_base
/// for the update. State: two (three with amsgrad) buffers per parameter, keyed by position.
template <class T = float>
class adam : public detail::adam_base<T, adam_options, false> {
  public:
    using detail::adam_base<T, adam_options, false>::adam_base;
};

/// AdamW: Adam with decoupled weight decay p *= 1 - lr * wd before the Adam step
/// (torch.optim.AdamW).
template <class T = float>
class adamw : public detail::adam_base<T, adamw_options, true> {
  public:
    using detail::adam_base<T, adamw_options, true>::adam_base;
};

static_assert(partitioned_optimizer<adam<float>>);
static_assert(partitioned_optimizer<adamw<double>>);

} // namespace xnas::nn
