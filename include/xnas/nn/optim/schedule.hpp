#pragma once
// Learning-rate schedules: constant, step decay, cosine annealing, and linear warm-up in front
// of any of them; the nn::schedule concept and nn::any_schedule to hold one chosen at run time.
//
// A schedule is a pure function of the training position t: lr(t) for t = 0, 1, 2, ... in
// whatever unit the caller advances (epochs or batches). t may be fractional, so a per-batch
// trainer can anneal smoothly over epochs: lr(epoch + batch / batches_per_epoch) (see lr_at).
// Typical use, once per epoch:
//
//     auto s = nn::with_warmup(5, nn::cosine_schedule{.base_lr = 0.1, .period = 95});
//     for (std::size_t e = 0; e < 100; ++e) { opt.set_learning_rate(s.lr(e)); train_epoch(); }

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <functional>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>

namespace xnas::nn {

/// A learning-rate schedule.
///
/// Semantic requirements:
///  1. lr(t) is a pure function of t >= 0 (no state: calling it twice, or out of order, gives
///     the same value), finite and >= 0.
///  2. Invalid hyper-parameters throw std::invalid_argument naming the field from lr().
template <class S>
concept schedule = std::copy_constructible<S> && requires(const S& s, double t) {
    { s.lr(t) } -> std::convertible_to<double>;
};

/// lr(t) = base_lr.
struct constant_schedule {
    double base_lr = 0.01;
    double lr(double) const { return base_lr; }
};

/// Step decay (PyTorch's StepLR): lr(t) = base_lr * gamma^floor(t / step_size).
struct step_schedule {
    double base_lr = 0.1;
    std::size_t step_size = 30; ///< t between decays, > 0
    double gamma = 0.1;         ///< factor per decay
    /// Throws std::invalid_argument when step_size is 0.
    double lr(double t) const {
        if (step_size == 0)
            throw std::invalid_argument(
                "xnas::nn::step_schedule::lr: step_size is 0, expected > 0");
        return base_lr * std::pow(gamma, std::floor(t / static_cast<double>(step_size)));
    }
};

/// Cosine annealing without restarts (Loshchilov & Hutter, 2016, arXiv:1608.03983; PyTorch's
/// CosineAnnealingLR closed form): lr(t) = min_lr + (base_lr - min_lr) (1 + cos(pi t / period)) / 2
/// for t <= period, and min_lr after (it stays at the minimum rather than rising again).
struct cosine_schedule {
    double base_lr = 0.1;
    std::size_t period = 100; ///< t at which min_lr is reached, > 0
    double min_lr = 0;
    /// Throws std::invalid_argument when period is 0.
    double lr(double t) const {
        if (period == 0)
            throw std::invalid_argument("xnas::nn::cosine_schedule::lr: period is 0, expected > 0");
        const double x = std::min(std::max(t, 0.0), static_cast<double>(period));
        return min_lr + (base_lr - min_lr) *
                            (1 + std::cos(std::numbers::pi * x / static_cast<double>(period))) / 2;
    }
};

/// Linear warm-up (Goyal et al., 2017, arXiv:1706.02677) in front of schedule `after`:
/// for t < warmup_steps, lr(t) = after.lr(0) * (start_factor + (1 - start_factor) t /
/// warmup_steps); from warmup_steps on, lr(t) = after.lr(t - warmup_steps), so `after` starts at
/// its own t = 0 (a cosine's period counts the steps after warm-up). warmup_steps = 0 is `after`
/// itself.
template <schedule S>
struct warmup_schedule {
    S after;
    std::size_t warmup_steps = 0;
    double start_factor = 1.0 / 3; ///< fraction of the target at t = 0 (PyTorch LinearLR's default)
    double lr(double t) const {
        const auto w = static_cast<double>(warmup_steps);
        if (t >= w)
            return after.lr(t - w);
        const double ramp = start_factor + (1 - start_factor) * std::max(t, 0.0) / w;
        return after.lr(0) * ramp;
    }
};

/// warmup_schedule{after, steps, start_factor} without spelling S (aggregate deduction is not
/// available in every supported compiler).
template <schedule S>
warmup_schedule<S> with_warmup(std::size_t steps, S after, double start_factor = 1.0 / 3) {
    return warmup_schedule<S>{std::move(after), steps, start_factor};
}

/// Schedule `inner` on a clock `rate` times as fast: lr(t) = inner.lr(rate * t). It fits a
/// schedule planned over whole steps into a fractional length: a cosine over 5 epochs at rate
/// 5 / 4.6 reaches its minimum 4.6 epochs in (budgeted training, Li et al. 2020,
/// arXiv:1905.04753: anneal over the budget there is, not the one planned).
template <schedule S>
struct rescaled_schedule {
    S inner;
    double rate = 1; ///< > 0
    /// Throws std::invalid_argument when rate is not a positive number.
    double lr(double t) const {
        if (!(rate > 0))
            throw std::invalid_argument("xnas::nn::rescaled_schedule::lr: rate is " +
                                        std::to_string(rate) + ", expected > 0");
        return inner.lr(rate * t);
    }
};

/// The learning rate at batch `batch` of epoch `epoch` for a schedule counted in epochs:
/// s.lr(epoch + batch / batches_per_epoch). Throws std::invalid_argument when
/// batches_per_epoch is 0.
template <schedule S>
double lr_at(const S& s, std::size_t epoch, std::size_t batch, std::size_t batches_per_epoch) {
    if (batches_per_epoch == 0)
        throw std::invalid_argument("xnas::nn::lr_at: batches_per_epoch is 0, expected > 0");
    return s.lr(static_cast<double>(epoch) +
                static_cast<double>(batch) / static_cast<double>(batches_per_epoch));
}

/// Any schedule, chosen at run time (a trainer's options hold one). Copies share nothing.
class any_schedule {
  public:
    template <class S>
    requires(!std::same_as<S, any_schedule> && schedule<S>) any_schedule(
        S s) // NOLINT(google-explicit-constructor): implicit by design, like std::function
        : f_([s = std::move(s)](double t) { return static_cast<double>(s.lr(t)); }) {}
    double lr(double t) const { return f_(t); }

  private:
    std::function<double(double)> f_;
};

static_assert(schedule<constant_schedule>);
static_assert(schedule<warmup_schedule<cosine_schedule>>);
static_assert(schedule<any_schedule>);

} // namespace xnas::nn
