#pragma once
// Metrics the trainer reports: a sample-weighted running mean (epoch loss and accuracy over
// batches of unequal size), a confusion matrix, and the result types of fit and evaluate.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>
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

/// What evaluate() measured on a data set (eval mode).
struct eval_result {
    double loss = std::numeric_limits<double>::quiet_NaN();     ///< mean over samples
    double accuracy = std::numeric_limits<double>::quiet_NaN(); ///< NaN if outputs are not (N, C)
    std::size_t samples = 0;
};

/// One mini-batch of fit(), as on_batch_end sees it.
struct batch_result {
    std::size_t epoch = 0;       ///< 0-based
    std::size_t batch = 0;       ///< 0-based within the epoch
    std::size_t batch_count = 0; ///< batches per epoch
    std::size_t samples = 0;
    double loss = 0;                                            ///< batch mean
    double accuracy = std::numeric_limits<double>::quiet_NaN(); ///< NaN if outputs are not (N, C)
    double lr = 0; ///< learning rate of this batch's step
};

/// One epoch of fit(): training loss and accuracy are sample-weighted means over the epoch's
/// batches in train mode (as Keras reports them); validation metrics come from evaluate().
struct epoch_result {
    std::size_t epoch = 0; ///< 0-based
    double loss = std::numeric_limits<double>::quiet_NaN();
    double accuracy = std::numeric_limits<double>::quiet_NaN();
    double val_loss = std::numeric_limits<double>::quiet_NaN(); ///< NaN without validation set
    double val_accuracy = std::numeric_limits<double>::quiet_NaN();
    double lr = 0;                ///< learning rate of the epoch's last step
    std::size_t images = 0;       ///< samples trained on
    double seconds = 0;           ///< wall time, validation included
    double images_per_second = 0; ///< training samples / training seconds
    bool complete = true;         ///< false for an epoch cut short by a stop request
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
