#pragma once
// Metrics the trainer reports: a sample-weighted running mean (epoch loss and accuracy over
// batches of unequal size), a confusion matrix, the regression metrics rmse and r_squared, the
// temperature-scaled cross-entropy, and the result types of fit and evaluate.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/tensor.hpp>

namespace xnas::train {

/// Mean of values each standing for `weight` samples (a batch's mean loss and its size).
class running_mean {
  public:
    void add(double value, std::size_t weight = 1) {
        sum_ += value * static_cast<double>(weight);
        weight_ += weight;
    }
    /// The weighted mean, NaN before anything was added.
    double value() const {
        return weight_ ? sum_ / static_cast<double>(weight_)
                       : std::numeric_limits<double>::quiet_NaN();
    }
    std::size_t count() const { return weight_; }
    void reset() { *this = running_mean{}; }

  private:
    double sum_ = 0;
    std::size_t weight_ = 0;
};

/// Counts of (true class, predicted class) pairs; predictions are the arg-max of logits
/// (first on ties, as nn::accuracy).
class confusion_matrix {
  public:
    explicit confusion_matrix(std::size_t classes)
        : c_(classes)
        , counts_(classes * classes, 0) {}

    /// Adds a batch of logits (N, classes) with its labels. Throws xnas::shape_error or
    /// std::out_of_range naming the bad shape or label.
    template <class T>
    void add(const nn::array<T>& logits, std::span<const std::int32_t> labels) {
        const std::size_t n = labels.size();
        if (logits.dimension() != 2 || logits.shape()[0] != n || logits.shape()[1] != c_)
            throw std::invalid_argument(
                "xnas::train::confusion_matrix::add: logits have shape " +
                nn::to_string({logits.shape().begin(), logits.shape().end()}) + ", expected (" +
                std::to_string(n) + ", " + std::to_string(c_) + ")");
        for (std::size_t i = 0; i < n; ++i) {
            if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= c_)
                throw std::out_of_range("xnas::train::confusion_matrix::add: label " +
                                        std::to_string(labels[i]) + " of row " + std::to_string(i) +
                                        " is outside [0, " + std::to_string(c_) + ")");
            const T* z = logits.data() + i * c_;
            std::size_t best = 0;
            for (std::size_t j = 1; j < c_; ++j)
                if (z[j] > z[best])
                    best = j;
            ++counts_[static_cast<std::size_t>(labels[i]) * c_ + best];
        }
    }

    /// Samples of class `truth` predicted as `predicted`.
    std::size_t operator()(std::size_t truth, std::size_t predicted) const {
        return counts_.at(truth * c_ + predicted);
    }
    std::size_t classes() const { return c_; }
    std::size_t total() const {
        std::size_t t = 0;
        for (auto v : counts_)
            t += v;
        return t;
    }
    /// Fraction on the diagonal; NaN when empty.
    double accuracy() const {
        std::size_t d = 0;
        for (std::size_t k = 0; k < c_; ++k)
            d += counts_[k * c_ + k];
        const std::size_t t = total();
        return t ? static_cast<double>(d) / static_cast<double>(t)
                 : std::numeric_limits<double>::quiet_NaN();
    }
    /// Recall of class k (correct / samples of class k); NaN when the class has no samples.
    double recall(std::size_t k) const {
        std::size_t row = 0;
        for (std::size_t j = 0; j < c_; ++j)
            row += counts_.at(k * c_ + j);
        return row ? static_cast<double>(counts_[k * c_ + k]) / static_cast<double>(row)
                   : std::numeric_limits<double>::quiet_NaN();
    }

  private:
    std::size_t c_;
    std::vector<std::size_t> counts_;
};

namespace detail {

/// Rows N of predictions and targets of one shape (N, ...), N >= 1 and at least one value, or
/// xnas::shape_error naming `who`.
template <class T>
std::size_t regression_rows(const nn::array<T>& pred, const nn::array<T>& targets,
                            const char* who) {
    const nn::shape ps(pred.shape().begin(), pred.shape().end());
    const nn::shape ts(targets.shape().begin(), targets.shape().end());
    if (ps != ts)
        throw shape_error(std::string(who) + ": predictions have shape " + nn::to_string(ps) +
                          ", targets have " + nn::to_string(ts) + ", expected equal shapes");
    if (ts.empty() || targets.size() == 0)
        throw shape_error(std::string(who) + ": targets of shape " + nn::to_string(ts) +
                          ", expected (N, K) with at least one value");
    return ts[0];
}

/// Sum over all elements of (pred - targets)^2, accumulated in double. Sizes must agree.
template <class T>
double squared_error_sum(const nn::array<T>& pred, const nn::array<T>& targets) {
    const T* a = pred.data();
    const T* b = targets.data();
    double s = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        s += d * d;
    }
    return s;
}

/// Total sum of squares of targets seen as N rows of K values: sum over k and i of
/// (t_ik - mean_k)^2, each column about its own mean. A constant column adds exactly 0 (its
/// mean, computed in double, need not equal its value to the last bit).
template <class T>
double total_sum_of_squares(const nn::array<T>& targets) {
    const std::size_t n = targets.dimension() ? targets.shape()[0] : 0;
    if (n == 0)
        return 0;
    const std::size_t k = targets.size() / n;
    const T* t = targets.data();
    std::vector<double> mean(k, 0.0);
    std::vector<char> constant(k, 1);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < k; ++j) {
            mean[j] += static_cast<double>(t[i * k + j]);
            constant[j] = constant[j] && t[i * k + j] == t[j];
        }
    double ss = 0;
    for (std::size_t j = 0; j < k; ++j) {
        if (constant[j])
            continue;
        const double m = mean[j] / static_cast<double>(n);
        for (std::size_t i = 0; i < n; ++i) {
            const double d = static_cast<double>(t[i * k + j]) - m;
            ss += d * d;
        }
    }
    return ss;
}

/// 1 - ss_res / ss_tot; when ss_tot is 0 (every target column constant), 1 for perfect
/// predictions (ss_res 0) and 0 otherwise (scikit-learn's convention).
inline double r_squared_of(double ss_res, double ss_tot) {
    if (ss_tot == 0)
        return ss_res == 0 ? 1.0 : 0.0;
    return 1.0 - ss_res / ss_tot;
}

} // namespace detail

/// Root mean squared error over all values of predictions and targets of one shape (N, K):
/// sqrt(sum (y - t)^2 / (N K)). Throws xnas::shape_error when the shapes differ or are empty.
template <class T>
double rmse(const nn::array<T>& pred, const nn::array<T>& targets) {
    detail::regression_rows(pred, targets, "xnas::train::rmse");
    return std::sqrt(detail::squared_error_sum(pred, targets) /
                     static_cast<double>(targets.size()));
}

/// Coefficient of determination R^2 = 1 - SS_res / SS_tot over all values of predictions and
/// targets of one shape (N, K): SS_res = sum (y - t)^2, SS_tot = sum over every column k of
/// (t_ik - mean_k)^2 (for K > 1 the pooled, variance-weighted R^2 of scikit-learn's
/// multioutput="variance_weighted"). 1 is a perfect fit, 0 predicting each column's mean,
/// negative worse than that. When SS_tot is 0 (constant targets) it is 1 for a perfect fit and 0
/// otherwise. Throws xnas::shape_error when the shapes differ or are empty.
template <class T>
double r_squared(const nn::array<T>& pred, const nn::array<T>& targets) {
    detail::regression_rows(pred, targets, "xnas::train::r_squared");
    return detail::r_squared_of(detail::squared_error_sum(pred, targets),
                                detail::total_sum_of_squares(targets));
}

/// Mean softmax cross-entropy of `logits` (row-major, labels.size() rows of `classes` values)
/// against `labels` after temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural
/// Networks", arXiv:1706.04599): the logits divided by the temperature in [1/20, 20] that
/// minimises it: how well a network separates the classes, apart from its overall over- or
/// under-confidence, which the plain cross-entropy also charges and accuracy cannot see at all
/// (benchmarks/one_shot_ranking compares rankings of shared-weight paths by the three). The loss
/// is convex in the inverse temperature, so a golden-section search over its logarithm finds the
/// minimum (to 1e-7 of the log). Throws std::invalid_argument for no rows, classes < 2, a size
/// that does not match or a label out of range.
inline double temperature_scaled_nll(std::span<const float> logits,
                                     std::span<const std::int32_t> labels, std::size_t classes) {
    const std::size_t n = labels.size();
    if (n == 0 || classes < 2 || logits.size() != n * classes)
        throw std::invalid_argument(
            "xnas::train::temperature_scaled_nll: " + std::to_string(logits.size()) +
            " logits for " + std::to_string(n) + " labels of " + std::to_string(classes) +
            " classes");
    for (std::size_t i = 0; i < n; ++i)
        if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= classes)
            throw std::invalid_argument("xnas::train::temperature_scaled_nll: label " +
                                        std::to_string(labels[i]) + " at row " + std::to_string(i) +
                                        ", expected in [0, " + std::to_string(classes) + ")");
    // Each row's largest logit, the shift that keeps exp from overflowing at any temperature.
    std::vector<double> top(n);
    for (std::size_t i = 0; i < n; ++i) {
        const float* z = logits.data() + i * classes;
        top[i] = *std::max_element(z, z + classes);
    }
    auto nll = [&](double log_beta) {
        const double beta = std::exp(log_beta);
        double total = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const float* z = logits.data() + i * classes;
            double sum = 0;
            for (std::size_t j = 0; j < classes; ++j)
                sum += std::exp(beta * (static_cast<double>(z[j]) - top[i]));
            total += std::log(sum) - beta * (static_cast<double>(z[labels[i]]) - top[i]);
        }
        return total / static_cast<double>(n);
    };
    const double golden = (std::sqrt(5.0) - 1) / 2;
    double lo = std::log(1.0 / 20), hi = std::log(20.0);
    double a = hi - golden * (hi - lo), b = lo + golden * (hi - lo);
    double fa = nll(a), fb = nll(b);
    while (hi - lo > 1e-7) {
        if (fa <= fb) {
            hi = b;
            b = a;
            fb = fa;
            a = hi - golden * (hi - lo);
            fa = nll(a);
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + golden * (hi - lo);
            fb = nll(b);
        }
    }
    return std::min(fa, fb);
}

/// What evaluate() measured on a data set (eval mode). A classification set fills loss and
/// accuracy; a regression set fills loss, rmse and r2 and leaves accuracy NaN (it is meaningful
/// for class labels only).
struct eval_result {
    double loss = std::numeric_limits<double>::quiet_NaN(); ///< mean over samples
    /// Classification: share of arg-max predictions equal to the label; NaN if outputs are not
    /// (N, C), and for a regression set.
    double accuracy = std::numeric_limits<double>::quiet_NaN();
    std::size_t samples = 0;
    /// Regression: root mean squared error over all target values (see rmse); NaN for a
    /// classification set.
    double rmse = std::numeric_limits<double>::quiet_NaN();
    /// Regression: coefficient of determination over all target values (see r_squared); NaN for
    /// a classification set.
    double r2 = std::numeric_limits<double>::quiet_NaN();
};

/// One mini-batch of fit(), as on_batch_end sees it.
struct batch_result {
    std::size_t epoch = 0;       ///< 0-based
    std::size_t batch = 0;       ///< 0-based within the epoch
    std::size_t batch_count = 0; ///< batches per epoch
    std::size_t samples = 0;
    double loss = 0; ///< batch mean
    /// Classification: NaN if outputs are not (N, C); NaN for a regression set.
    double accuracy = std::numeric_limits<double>::quiet_NaN();
    double lr = 0; ///< learning rate of this batch's step
    /// Regression: the batch's root mean squared error (train mode); NaN for classification.
    double rmse = std::numeric_limits<double>::quiet_NaN();
};

/// One epoch of fit(): training loss and accuracy are sample-weighted means over the epoch's
/// batches in train mode (as Keras reports them); validation metrics come from evaluate().
/// A classification set fills the accuracies and leaves the rmse and r2 fields NaN; a
/// regression set the other way round: rmse is over all the epoch's target values
/// (sqrt(summed squared errors / values)), val_rmse and val_r2 come from evaluate().
struct epoch_result {
    std::size_t epoch = 0; ///< 0-based
    double loss = std::numeric_limits<double>::quiet_NaN();
    double accuracy = std::numeric_limits<double>::quiet_NaN();     ///< NaN for regression
    double val_loss = std::numeric_limits<double>::quiet_NaN();     ///< NaN without validation set
    double val_accuracy = std::numeric_limits<double>::quiet_NaN(); ///< NaN for regression
    double lr = 0;                ///< learning rate of the epoch's last step
    std::size_t images = 0;       ///< samples trained on
    double seconds = 0;           ///< wall time, validation included
    double images_per_second = 0; ///< training samples / training seconds
    bool complete = true;         ///< false for an epoch cut short by a stop request
    double rmse = std::numeric_limits<double>::quiet_NaN();     ///< regression only (train mode)
    double val_rmse = std::numeric_limits<double>::quiet_NaN(); ///< regression with validation
    double val_r2 = std::numeric_limits<double>::quiet_NaN();   ///< regression with validation
};

/// Why fit() returned.
enum class stop_reason { completed, callback, deadline, cancelled };

inline const char* to_string(stop_reason r) {
    switch (r) {
    case stop_reason::completed:
        return "completed";
    case stop_reason::callback:
        return "callback";
    case stop_reason::deadline:
        return "deadline";
    case stop_reason::cancelled:
        return "cancelled";
    }
    return "unknown";
}

/// Everything fit() did: one entry per epoch started (the last may be incomplete).
struct history {
    std::vector<epoch_result> epochs;
    stop_reason stop = stop_reason::completed;
    std::size_t images = 0; ///< samples trained on, over all epochs
    double seconds = 0;

    /// The last complete epoch; throws std::logic_error when there is none.
    const epoch_result& last() const {
        for (auto it = epochs.rbegin(); it != epochs.rend(); ++it)
            if (it->complete)
                return *it;
        throw std::logic_error("xnas::train::history::last: no epoch completed");
    }
};

} // namespace xnas::train
