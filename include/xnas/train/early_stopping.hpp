#pragma once
// train::early_stopping, a fit() callback that stops training when a monitored metric has not
// improved for `patience` epochs (Prechelt, 1998, "Early stopping - but when?"), and
// train::restore_best, one that puts back the weights of the epoch where that metric was best
// (Keras's restore_best_weights): early stopping alone ends with the last, worse, weights.

#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/nn/network.hpp>
#include <xnas/train/callbacks.hpp>
#include <xnas/train/metrics.hpp>

namespace xnas::train {

/// The per-epoch metric a callback watches: the losses of either kind of data set, the
/// accuracies of a classification set, the RMSEs and R^2 of a regression set (see
/// epoch_result).
enum class metric { loss, accuracy, val_loss, val_accuracy, rmse, val_rmse, val_r2 };

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
    case metric::rmse:
        return "rmse";
    case metric::val_rmse:
        return "val_rmse";
    case metric::val_r2:
        return "val_r2";
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
    case metric::rmse:
        return e.rmse;
    case metric::val_rmse:
        return e.val_rmse;
    case metric::val_r2:
        return e.val_r2;
    }
    return std::numeric_limits<double>::quiet_NaN();
}

/// Accuracies and R^2 are maximised, losses and RMSEs minimised.
inline bool maximizes(metric m) {
    return m == metric::accuracy || m == metric::val_accuracy || m == metric::val_r2;
}

/// Whether `m` is a validation metric (NaN without a validation set).
inline bool validation_metric(metric m) {
    return m == metric::val_loss || m == metric::val_accuracy || m == metric::val_rmse ||
           m == metric::val_r2;
}

namespace detail {

/// value_of(e, m), or std::invalid_argument naming `who` when it is NaN: a validation metric
/// without a validation set, an accuracy of a regression set or an RMSE or R^2 of a
/// classification set.
inline double monitored(const epoch_result& e, metric m, const char* who) {
    const double v = value_of(e, m);
    if (std::isnan(v)) {
        const bool regression = !std::isnan(e.rmse);
        const bool regression_metric =
            m == metric::rmse || m == metric::val_rmse || m == metric::val_r2;
        const bool classification_metric = m == metric::accuracy || m == metric::val_accuracy;
        std::string why;
        if (regression && classification_metric)
            why = "; accuracy is defined for class labels only, monitor a loss, rmse, val_rmse or "
                  "val_r2 on a regression set";
        else if (!regression && regression_metric)
            why = "; rmse and r2 are defined for regression sets only, monitor a loss or an "
                  "accuracy on a set with class labels";
        else if (validation_metric(m))
            why = "; pass a validation set to fit";
        throw std::invalid_argument(std::string("xnas::train::") + who + ": metric " +
                                    to_string(m) + " is NaN at epoch " + std::to_string(e.epoch) +
                                    why);
    }
    return v;
}

} // namespace detail

struct early_stopping_options {
    /// losses and RMSEs are minimised, accuracies and R^2 maximised
    metric monitor = metric::val_loss;
    std::size_t patience = 5; ///< epochs without improvement before stopping
    double min_delta = 0.0;   ///< an improvement must exceed this
};

/// Stops fit() after `patience` consecutive epochs in which the monitored metric did not
/// improve on the best seen by more than min_delta. Throws std::invalid_argument from
/// on_epoch_end when the metric is NaN (a validation metric without a validation set).
class early_stopping {
  public:
    explicit early_stopping(early_stopping_options o = {})
        : o_(o) {}

    bool on_epoch_end(const epoch_result& e) {
        const double v = detail::monitored(e, o_.monitor, "early_stopping");
        const bool improved =
            !seen_ || (maximizes(o_.monitor) ? v > best_ + o_.min_delta : v < best_ - o_.min_delta);
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

/// Keeps an in-memory copy of `net`'s parameters (batch norm's running statistics included) from
/// the complete epoch with the best `monitor` value, and copies them back into `net` when fit()
/// returns, whatever its stop reason (not when it throws). Ties keep the earlier epoch. Pass it to
/// the same fit() as `net`; it must outlive that call. Throws like early_stopping when the metric
/// is NaN.
template <class T>
class restore_best {
  public:
    explicit restore_best(nn::network<T>& net, metric monitor = metric::val_loss)
        : net_(&net)
        , monitor_(monitor) {}

    void on_epoch_end(const epoch_result& e) {
        if (!e.complete)
            return; // a cut-short epoch's metrics describe part of the data
        const double v = detail::monitored(e, monitor_, "restore_best");
        if (seen_ && !(maximizes(monitor_) ? v > best_ : v < best_))
            return;
        best_ = v;
        best_epoch_ = e.epoch;
        seen_ = true;
        const auto params = net_->parameters();
        saved_.resize(params.size());
        for (std::size_t k = 0; k < params.size(); ++k)
            saved_[k] = *params[k].value;
    }

    void on_fit_end(const history&) {
        if (!seen_)
            return;
        const auto params = net_->parameters();
        for (std::size_t k = 0; k < params.size(); ++k)
            *params[k].value = saved_[k];
        restored_ = true;
    }

    /// Best value seen (NaN before the first complete epoch) and its 0-based epoch.
    double best() const { return seen_ ? best_ : std::numeric_limits<double>::quiet_NaN(); }
    std::size_t best_epoch() const { return best_epoch_; }
    /// Whether fit() has returned with the best epoch's weights put back.
    bool restored() const { return restored_; }

  private:
    nn::network<T>* net_;
    metric monitor_;
    std::vector<nn::array<T>> saved_;
    double best_ = 0;
    bool seen_ = false, restored_ = false;
    std::size_t best_epoch_ = 0;
};

static_assert(callback<restore_best<float>>);

} // namespace xnas::train
