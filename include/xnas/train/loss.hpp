#pragma once
// The two kinds of loss train::fit and train::evaluate take, one per kind of data set: a
// classification loss over integer class labels (nn::softmax_cross_entropy) and a regression
// loss over real-valued targets (N, K) (nn::mean_squared_error); and train::default_loss, the
// shipped loss for either kind.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/tensor.hpp>

namespace xnas::train {

/// A loss over network outputs and integer class labels: returns the batch mean and, when the
/// gradient pointer is not null, writes d(mean)/d(outputs) there (nn::softmax_cross_entropy).
/// Trains and evaluates data sets with labels.
template <class L, class T>
concept classification_loss = requires(L& l, const nn::array<T>& y,
                                       std::span<const std::int32_t> labels, nn::array<T>* dy) {
    { l(y, labels, dy) } -> std::convertible_to<double>;
};

/// A loss over network outputs (N, K) and real-valued targets of the same shape: returns the
/// batch mean and, when the gradient pointer is not null, writes d(mean)/d(outputs) there
/// (nn::mean_squared_error). Trains and evaluates regression sets (data::dataset::regression()).
/// With fit_options::threads > 1 the loss must be a mean over samples, as for classification.
template <class L, class T>
concept regression_loss = requires(L& l, const nn::array<T>& y, const nn::array<T>& targets,
                                   nn::array<T>* dy) {
    { l(y, targets, dy) } -> std::convertible_to<double>;
};

/// What fit and evaluate accept: a loss of either kind (or both, as default_loss). Which one a
/// data set needs is decided at run time by the set; a loss of the other kind is an error.
template <class L, class T>
concept loss_function = classification_loss<L, T> || regression_loss<L, T>;

/// The shipped loss for either kind of data set: softmax cross-entropy with `label_smoothing`
/// on class labels, mean squared error on regression targets. It is both a
/// classification_loss and a regression_loss, so fit and evaluate pick by the data set.
template <class T = float>
struct default_loss {
    using value_type = T;

    /// Of the cross-entropy's targets, in [0, 1). Class labels only: a regression call with a
    /// value other than 0 throws std::invalid_argument (there are no classes to smooth).
    double label_smoothing = 0;

    double operator()(const nn::array<T>& y, std::span<const std::int32_t> labels,
                      nn::array<T>* dy = nullptr) const {
        return nn::softmax_cross_entropy<T>{.label_smoothing = label_smoothing}(y, labels, dy);
    }

    double operator()(const nn::array<T>& y, const nn::array<T>& targets,
                      nn::array<T>* dy = nullptr) const {
        if (label_smoothing != 0)
            throw std::invalid_argument("xnas::train::default_loss: label_smoothing is " +
                                        std::to_string(label_smoothing) +
                                        " on regression targets, expected 0 (label smoothing "
                                        "applies to class labels only)");
        return nn::mean_squared_error<T>{}(y, targets, dy);
    }
};

static_assert(classification_loss<nn::softmax_cross_entropy<float>, float>);
static_assert(!regression_loss<nn::softmax_cross_entropy<float>, float>);
static_assert(regression_loss<nn::mean_squared_error<float>, float>);
static_assert(!classification_loss<nn::mean_squared_error<float>, float>);
static_assert(classification_loss<default_loss<float>, float> &&
              regression_loss<default_loss<float>, float>);

namespace detail {

/// The targets of one batch: its class labels, or with `values` not null its rows of real
/// values (N, K) (a regression set).
template <class T>
struct batch_targets {
    std::span<const std::int32_t> labels{};
    const nn::array<T>* values = nullptr;

    bool regression() const { return values != nullptr; }
    std::size_t size() const { return values ? values->shape()[0] : labels.size(); }
};

/// loss(y, targets, dy) with the batch's kind of targets. Only the calls the loss supports are
/// compiled; fit and evaluate check the kind before the first batch, so the throw is a logic
/// error.
template <class T, class Loss>
double apply_loss(Loss& loss, const nn::array<T>& y, const batch_targets<T>& t,
                  std::type_identity_t<nn::array<T>>* dy) {
    using L = std::remove_cvref_t<Loss>;
    if (t.values) {
        if constexpr (regression_loss<L, T>)
            return loss(y, *t.values, dy);
    } else {
        if constexpr (classification_loss<L, T>)
            return loss(y, t.labels, dy);
    }
    throw std::logic_error("xnas::train: a loss of the wrong kind reached a batch");
}

} // namespace detail

} // namespace xnas::train
