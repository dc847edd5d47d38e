#pragma once
// Losses of the training core: softmax cross-entropy over integer class labels (fused
// log-softmax), mean squared error, and the classification accuracy helper.
//
// Every loss is a small stateless function object templated on the element type T:
//
//     nn::softmax_cross_entropy<float> ce;
//     nn::array<float> dlogits;
//     double loss = ce(logits, labels, &dlogits); // mean over the batch; dlogits = dloss/dlogits
//     double acc = nn::accuracy(logits, labels);  // fraction in [0, 1]
//
// The returned value is the mean over the batch (PyTorch's reduction="mean"); the gradient
// written is the gradient of that mean, so it can be fed straight into the network's backward.
// Passing nullptr for the gradient computes the value only (evaluation).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <xnas/core/error.hpp>
#include <xnas/nn/tensor.hpp>

namespace xnas::nn {

namespace detail {

/// (N, C) of a rank-2 logits batch whose N matches the label count, or a shape_error naming
/// the caller.
template <class T>
std::size_t classes_of(const array<T>& logits, std::size_t labels, const char* who) {
    if (logits.dimension() != 2)
        throw shape_error(std::string(who) + ": logits must have shape (N, C), got rank " +
                          std::to_string(logits.dimension()));
    if (logits.shape()[0] != labels)
        throw shape_error(std::string(who) + ": logits have " + std::to_string(logits.shape()[0]) +
                          " rows, labels have " + std::to_string(labels) + " entries");
    if (logits.shape()[1] == 0)
        throw shape_error(std::string(who) + ": logits have 0 classes, expected at least 1");
    return logits.shape()[1];
}

inline void check_label(std::int32_t label, std::size_t index, std::size_t classes,
                        const char* who) {
    if (label < 0 || static_cast<std::size_t>(label) >= classes)
        throw std::out_of_range(std::string(who) + ": label at index " + std::to_string(index) +
                                " is " + std::to_string(label) + ", expected 0 <= label < " +
                                std::to_string(classes));
}

} // namespace detail

/// Softmax cross-entropy on logits of shape (N, C) with integer labels in [0, C):
/// loss = mean_n( logsumexp(z_n) - sum_j t_nj z_nj ), gradient (softmax(z_n) - t_n) / N, where
/// the target t_n is the one-hot label, or with label_smoothing = e (PyTorch's semantics,
/// Szegedy et al. 2016) (1 - e) onehot_n + e / C: the model is never asked for probability 1,
/// which keeps its logits from growing without bound on a training set it already fits.
///
/// The log-softmax is fused and shifted by each row's maximum, so huge logits (1e4, 1e30 in
/// double) neither overflow nor lose the loss. Row sums accumulate in double for float inputs.
/// Cost O(N C), one pass for the value and one for the gradient.
template <class T = float>
struct softmax_cross_entropy {
    using value_type = T;

    /// Share of the target spread evenly over all classes, in [0, 1); 0 is plain cross-entropy.
    double label_smoothing = 0;

    /// Mean loss over the batch. When `dlogits` is not null it is resized to logits' shape and
    /// receives d(mean loss)/d(logits).
    /// Throws xnas::shape_error when logits are not (labels.size(), C) with C >= 1,
    /// std::out_of_range naming the index and value of a label outside [0, C), and
    /// xnas::numerical_error when the loss is not finite (NaN or infinite logits), and
    /// std::invalid_argument when label_smoothing is outside [0, 1).
    double operator()(const array<T>& logits, std::span<const std::int32_t> labels,
                      array<T>* dlogits = nullptr) const {
        constexpr const char* who = "xnas::nn::softmax_cross_entropy";
        if (!(label_smoothing >= 0 && label_smoothing < 1))
            throw std::invalid_argument(std::string(who) + ": label_smoothing is " +
                                        std::to_string(label_smoothing) +
                                        ", expected a value in [0, 1)");
        const std::size_t n = labels.size();
        const std::size_t c = detail::classes_of(logits, n, who);
        for (std::size_t i = 0; i < n; ++i)
            detail::check_label(labels[i], i, c, who);
        if (n == 0)
            throw shape_error(std::string(who) + ": empty batch (0 labels), expected at least 1");
        if (dlogits)
            ensure_shape(*dlogits, {n, c});
        const double inv_n = 1.0 / static_cast<double>(n);
        // Target t_j = smooth_share + (j == label ? label_extra : 0).
        const double smooth_share = label_smoothing / static_cast<double>(c);
        const double label_extra = 1 - label_smoothing;
        double total = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const T* z = logits.data() + i * c;
            T m = z[0];
            for (std::size_t j = 1; j < c; ++j)
                m = z[j] > m ? z[j] : m;
            double sum = 0;
            double shifted_sum = 0;
            for (std::size_t j = 0; j < c; ++j) {
                const double shifted = static_cast<double>(z[j]) - static_cast<double>(m);
                sum += std::exp(shifted);
                shifted_sum += shifted;
            }
            const double log_sum = std::log(sum);
            const auto label = static_cast<std::size_t>(labels[i]);
            const double label_shifted = static_cast<double>(z[label]) - static_cast<double>(m);
            // The targets sum to 1, so the shift m cancels: sum_j t_j (logsumexp - z_j).
            total += label_smoothing == 0
                         ? log_sum - label_shifted
                         : log_sum - label_extra * label_shifted - smooth_share * shifted_sum;
            if (dlogits) {
                T* d = dlogits->data() + i * c;
                const double scale = inv_n / sum;
                for (std::size_t j = 0; j < c; ++j)
                    d[j] = static_cast<T>(
                        std::exp(static_cast<double>(z[j]) - static_cast<double>(m)) * scale -
                        smooth_share * inv_n);
                d[label] -= static_cast<T>(label_extra * inv_n);
            }
        }
        const double loss = total * inv_n;
        if (!std::isfinite(loss))
            throw numerical_error(std::string(who) + ": loss is " + std::to_string(loss) +
                                  ", expected a finite value (the logits contain NaN or inf)");
        return loss;
    }
};

/// Mean squared error over all elements (PyTorch's MSELoss, reduction="mean"):
/// loss = sum((y - t)^2) / y.size(), gradient 2 (y - t) / y.size().
template <class T = float>
struct mean_squared_error {
    using value_type = T;

    /// Mean loss. When `dy` is not null it is resized to y's shape and receives d(loss)/dy.
    /// Throws xnas::shape_error when y and targets differ in shape or are empty, and
    /// xnas::numerical_error when the loss is not finite.
    double operator()(const array<T>& y, const array<T>& targets, array<T>* dy = nullptr) const {
        constexpr const char* who = "xnas::nn::mean_squared_error";
        const shape ys(y.shape().begin(), y.shape().end());
        const shape ts(targets.shape().begin(), targets.shape().end());
        if (ys != ts)
            throw shape_error(std::string(who) + ": predictions have shape " + to_string(ys) +
                              ", targets have " + to_string(ts) + ", expected equal shapes");
        const std::size_t n = y.size();
        if (n == 0)
            throw shape_error(std::string(who) +
                              ": empty predictions, expected at least 1 element");
        if (dy)
            ensure_shape(*dy, ys);
        const double inv_n = 1.0 / static_cast<double>(n);
        const T* a = y.data();
        const T* b = targets.data();
        double total = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double diff = static_cast<double>(a[i]) - static_cast<double>(b[i]);
            total += diff * diff;
        }
        if (dy) {
            const T scale = static_cast<T>(2 * inv_n);
            T* d = dy->data();
            for (std::size_t i = 0; i < n; ++i)
                d[i] = scale * (a[i] - b[i]);
        }
        const double loss = total * inv_n;
        if (!std::isfinite(loss))
            throw numerical_error(
                std::string(who) + ": loss is " + std::to_string(loss) +
                ", expected a finite value (predictions or targets hold NaN or inf)");
        return loss;
    }
};

/// Fraction of rows of logits (N, C) whose arg-max (first on ties) equals the label; in [0, 1].
/// Throws like softmax_cross_entropy on bad shapes or labels; an empty batch gives 0.
template <class T>
double accuracy(const array<T>& logits, std::span<const std::int32_t> labels) {
    constexpr const char* who = "xnas::nn::accuracy";
    const std::size_t n = labels.size();
    const std::size_t c = detail::classes_of(logits, n, who);
    std::size_t correct = 0;
    for (std::size_t i = 0; i < n; ++i) {
        detail::check_label(labels[i], i, c, who);
        const T* z = logits.data() + i * c;
        std::size_t best = 0;
        for (std::size_t j = 1; j < c; ++j)
            if (z[j] > z[best])
                best = j;
        correct += best == static_cast<std::size_t>(labels[i]) ? 1 : 0;
    }
    return n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
}

} // namespace xnas::nn
