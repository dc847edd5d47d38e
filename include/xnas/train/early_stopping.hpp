#pragma once
// train::early_stopping, a fit() callback that stops training when a monitored metric has not
// improved for `patience` epochs (Prechelt, 1998, "Early stopping - but when?").

#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <xnas/train/callbacks.hpp>
#include <xnas/train/metrics.hpp>

namespace xnas::train {

/// The per-epoch metric a callback watches.
enum class metric { loss, accuracy, val_loss, val_accuracy };

inline const char* to_string(metric m) {
    switch (m) {
    case metric::loss:
        return "loss";
    case metric::accuracy:
        return "accuracy";
    case metric::val_loss:
        return "val_loss";
    case metric::val_accuracy:
        return "val_accuracy";
    }
    return "unknown";
}

/// The value of `m` in an epoch result.
inline double value_of(const epoch_result& e, metric m) {
    switch (m) {
    case metric::loss:
        return e.loss;
    case metric::accuracy:
        return e.accuracy;
    case metric::val_loss:
        return e.val_loss;
    case metric::val_accuracy:
        return e.val_accuracy;
    }
    return std::numeric_limits<double>::quiet_NaN();
}

struct early_stopping_options {
    metric monitor = metric::val_loss; ///< losses are minimised, accuracies maximised
    std::size_t patience = 5;          ///< epochs without improvement before stopping
    double min_delta = 0.0;            ///< an improvement must exceed this
};

/// Stops fit() after `patience` consecutive epochs in which the monitored metric did not
/// improve on the best seen by more than min_delta. Throws std::invalid_argument from
/// on_epoch_end when the metric is NaN (a validation metric without a validation set).
class early_stopping {
  public:
    explicit early_stopping(early_stopping_options o = {})
        : o_(o) {}

    bool on_epoch_end(const epoch_result& e) {
        const double v = value_of(e, o_.monitor);
        if (std::isnan(v))
            throw std::invalid_argument(
                std::string("xnas::train::early_stopping: metric ") + to_string(o_.monitor) +
                " is NaN at epoch " + std::to_string(e.epoch) +
                (o_.monitor == metric::val_loss || o_.monitor == metric::val_accuracy
                     ? "; pass a validation set to fit"
                     : ""));
        const bool maximize = o_.monitor == metric::accuracy || o_.monitor == metric::val_accuracy;
        const bool improved =
            !seen_ || (maximize ? v > best_ + o_.min_delta : v < best_ - o_.min_delta);
        if (improved) {
            best_ = v;
            best_epoch_ = e.epoch;
            seen_ = true;
            waited_ = 0;
            return false;
        }
        if (++waited_ >= o_.patience) {
            stopped_ = true;
            stopped_epoch_ = e.epoch;
            return true;
        }
        return false;
    }

    /// Best value seen (NaN before the first epoch) and its 0-based epoch.
    double best() const { return seen_ ? best_ : std::numeric_limits<double>::quiet_NaN(); }
    std::size_t best_epoch() const { return best_epoch_; }
    /// Whether it asked to stop, and at which 0-based epoch.
    bool stopped() const { return stopped_; }
    std::size_t stopped_epoch() const { return stopped_epoch_; }
    const early_stopping_options& options() const { return o_; }

  private:
    early_stopping_options o_;
    double best_ = 0;
    bool seen_ = false, stopped_ = false;
    std::size_t best_epoch_ = 0, stopped_epoch_ = 0, waited_ = 0;
};

static_assert(callback<early_stopping>);

} // namespace xnas::train
