#pragma once
// train::fit and train::evaluate: the mini-batch training loop joining nn::network, a loss, an
// nn::optimizer and data::dataset, with learning-rate schedules, augmentation, callbacks,
// cooperative stopping (deadline, cancel flag) and divergence detection.
//
//     nn::sgd<float> opt({.lr = 0.1, .momentum = 0.9});
//     train::early_stopping stop({.monitor = train::metric::val_loss, .patience = 3});
//     auto h = train::fit(net, nn::softmax_cross_entropy<float>{}, opt, train_set, val_set,
//                         {.epochs = 20, .batch_size = 64, .seed = 1}, stop);
//     auto test = train::evaluate(net, nn::softmax_cross_entropy<float>{}, test_set);
//
// Classification and regression: a data set with class labels trains with a
// train::classification_loss (nn::softmax_cross_entropy) and reports accuracies; a regression
// set (targets (N, K), data::dataset::regression()) trains a network of K outputs with a
// train::regression_loss (nn::mean_squared_error) and reports RMSE and R^2 instead, its
// accuracies NaN (see eval_result, epoch_result). train::default_loss is both kinds at once.
//
//     auto h = train::fit(net, nn::mean_squared_error<float>{}, opt, train_set, val_set, {});
//     auto test = train::evaluate(net, nn::mean_squared_error<float>{}, test_set);
//     // test.loss (MSE), test.rmse, test.r2; h.last().rmse, h.last().val_rmse, .val_r2

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/data/augment.hpp>
#include <xnas/data/batch.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/optim/optimizer.hpp>
#include <xnas/nn/optim/schedule.hpp>
#include <xnas/train/callbacks.hpp>
#include <xnas/train/loss.hpp>
#include <xnas/train/metrics.hpp>
#include <xnas/train/parallel.hpp>

namespace xnas::train {

/// How fit() trains. Designated initializers: `{.epochs = 10, .batch_size = 64, .seed = 1}`.
/// What train::fit needs to continue a training later as if it had not stopped (a
/// multi-fidelity search continues a promoted trial's training this way): the epochs done and
/// the generators and sample order they left. With fit_options::state set, fit starts from it,
/// runs epochs [epochs_done, epochs) and writes back the state after its last complete epoch.
/// The network (weights, batch norm statistics, dropout generators) and the optimizer carry the
/// rest of a training: keep them with it.
struct fit_state {
    std::size_t epochs_done = 0;
    std::optional<rng> shuffle{}, augment{}; ///< empty: drawn from fit_options::seed
    std::vector<std::size_t> order{};        ///< empty: the data set's order
};

struct fit_options {
    std::size_t epochs = 10;
    std::size_t batch_size = 64;
    std::uint64_t seed = 0; ///< shuffling and augmentation; same seed, same weights
    bool shuffle = true;    ///< reshuffle every epoch (false: data set order)
    bool drop_last = false; ///< skip a last batch smaller than batch_size
    /// Learning rate over epochs (fractional per batch: lr(epoch + batch / batches)); without
    /// one the optimizer's own learning rate is left alone.
    std::optional<nn::any_schedule> schedule{};
    /// Random crop / flip / erasing of image batches (N, C, H, W), drawn from a generator split off
    /// the shuffling one, so turning it on does not change the batch order.
    std::optional<data::augment_options> augment{};
    /// With augment: the last this many epochs train on the images as they are. Crops and
    /// flips widen the training distribution; a few plain epochs at the end of an annealed
    /// rate fit the distribution the test set comes from (0: augment every epoch).
    std::size_t plain_last_epochs = 0;
    /// Rescale gradients so their global L2 norm is at most this (0: no clipping); "running_"
    /// state is excluded.
    double clip_grad_norm = 0;
    /// Stop between batches once this much wall time has passed (0: no limit).
    double time_limit_seconds = 0;
    /// Stop between batches at this instant (per-trial deadlines of a search).
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    /// Stop between batches when this becomes true (another thread cancels); may be null.
    const std::atomic<bool>* cancel = nullptr;
    /// Batch size of validation passes.
    std::size_t eval_batch_size = 256;
    /// Threads training each batch (data parallelism). With T > 1 every batch is split into
    /// up to T contiguous shards (each of >= 2 samples), run on T replicas of the network by a
    /// team of T - 1 worker threads plus the caller, their gradients summed into `net` before
    /// one optimizer step (split over the threads too when the optimizer is an
    /// nn::partitioned_optimizer, as the shipped ones are, and clip_grad_norm is 0; the
    /// network's parameters must then change only through the optimizer while fit runs, since
    /// replicas receive the update rather than a copy of `net` at every batch); OpenBLAS runs
    /// single-threaded meanwhile and its thread count is
    /// restored after fit. Batch norm normalises with the whole batch's statistics (see
    /// sync_batch_norm); the replicas' dropout masks come from streams seeded by (seed, epoch,
    /// shard). Same seed and same threads give the same weights; results differ from
    /// threads = 1 by rounding (and by dropout's masks). The loss must be copyable (one copy
    /// per thread). See train/parallel.hpp.
    std::size_t threads = 1;
    /// Continue from, and leave, this state (see fit_state); null: start afresh. Continuing 1
    /// epoch with 2 more gives the weights 3 epochs in one go would, with the same seed,
    /// network, optimizer and options.
    fit_state* state = nullptr;
    /// With threads > 1: batch norm layers share statistics across the shards of a batch
    /// (synchronised batch norm). Off, each shard normalises with its own samples only (a
    /// batch of 32 on two threads becomes two batches of 16 for batch norm), which trains a
    /// different network than one thread does.
    bool sync_batch_norm = true;
};

namespace detail {

/// Throws std::invalid_argument for an empty set or a loss of the other kind than the set's
/// targets, xnas::shape_error when samples do not fit the network or, for a regression set,
/// the network's outputs are not (K) for targets (N, K).
template <class Loss, class T>
void check_inputs(const char* who, const nn::network<T>& net, const data::dataset<T>& ds,
                  const char* which) {
    if (ds.empty())
        throw std::invalid_argument(std::string(who) + ": the " + which + " set is empty");
    if (ds.sample_shape() != net.input_shape())
        throw shape_error(std::string(who) + ": " + which + " samples have shape " +
                          nn::to_string(ds.sample_shape()) + ", the network expects " +
                          nn::to_string(net.input_shape()));
    if (ds.regression()) {
        if constexpr (!regression_loss<Loss, T>)
            throw std::invalid_argument(
                std::string(who) + ": the " + which +
                " set is a regression set (real-valued targets), which needs a "
                "train::regression_loss, loss(y, targets, dy) such as nn::mean_squared_error; "
                "the loss given takes class labels");
        ds.validate();
        const nn::shape expected{ds.target_size()};
        if (net.output_shape() != expected)
            throw shape_error(std::string(who) + ": the network's outputs have shape " +
                              nn::to_string(net.output_shape()) + ", the " + which +
                              " set's targets have " + std::to_string(ds.target_size()) +
                              " values per sample; expected outputs of shape " +
                              nn::to_string(expected));
    } else if constexpr (!classification_loss<Loss, T>) {
        throw std::invalid_argument(
            std::string(who) + ": the " + which +
            " set has class labels, which need a train::classification_loss, loss(y, labels, dy) "
            "such as nn::softmax_cross_entropy; the loss given takes regression targets");
    }
}

/// Copies batch b into x and the labels or, for a regression set, the targets; returns them.
template <class T>
batch_targets<T> copy_batch(const data::batcher<T>& batches, std::size_t b, bool regression,
                            nn::array<T>& x, std::vector<std::int32_t>& labels,
                            nn::array<T>& targets) {
    if (regression) {
        batches.copy(b, x, targets);
        return {.values = &targets};
    }
    batches.copy(b, x, labels);
    return {.labels = labels};
}

template <class T>
double batch_accuracy(const nn::array<T>& y, std::span<const std::int32_t> labels) {
    if (y.dimension() != 2)
        return std::numeric_limits<double>::quiet_NaN();
    return nn::accuracy(y, labels);
}

template <class T>
void clip_gradients(std::span<const nn::parameter<T>> params, double max_norm) {
    double sq = 0;
    for (const auto& p : params)
        if (!nn::detail::is_running_state(p))
            for (std::size_t i = 0; i < p.gradient->size(); ++i) {
                const double g = static_cast<double>(p.gradient->data()[i]);
                sq += g * g;
            }
    const double norm = std::sqrt(sq);
    if (!(norm > max_norm)) // also skips NaN: the next loss reports divergence
        return;
    const T scale = static_cast<T>(max_norm / norm);
    for (const auto& p : params)
        if (!nn::detail::is_running_state(p))
            for (std::size_t i = 0; i < p.gradient->size(); ++i)
                p.gradient->data()[i] *= scale;
}

// evaluate's default observer.
struct ignore_outputs {
    template <class T>
    void operator()(const nn::array<T>&, std::span<const std::int32_t>) const {}
};

} // namespace detail

/// Mean loss of `net` on `ds` in eval mode, in batches of `batch_size`, with the accuracy for a
/// set with class labels (outputs of another shape than (N, C) give accuracy NaN) or RMSE and
/// R^2 over all target values for a regression set (see eval_result, rmse, r_squared). The
/// loss must be of the set's kind (classification_loss or regression_loss). Throws
/// std::invalid_argument for an empty set, batch size 0 or a loss of the other kind,
/// xnas::shape_error when samples do not fit the network or its outputs are not (K) for
/// targets (N, K), and what the loss throws (xnas::numerical_error for a non-finite loss).
/// `observe(outputs, labels)` sees each batch's outputs and class labels in order (labels empty
/// for a regression set), for what the means cannot give (temperature_scaled_nll, say).
template <class T, class Loss, class Observer = detail::ignore_outputs>
requires loss_function<std::remove_cvref_t<Loss>, T>
    eval_result evaluate(nn::network<T>& net, Loss&& loss, const data::dataset<T>& ds,
                         std::size_t batch_size = 256, Observer&& observe = {}) {
    detail::check_inputs<std::remove_cvref_t<Loss>>("xnas::train::evaluate", net, ds, "evaluation");
    data::batcher<T> batches(ds, batch_size, {.shuffle = false});
    const bool regression = ds.regression();
    nn::array<T> x, targets;
    std::vector<std::int32_t> labels;
    running_mean l, acc;
    double squared_error = 0;
    for (std::size_t b = 0; b < batches.batch_count(); ++b) {
        const detail::batch_targets<T> t =
            detail::copy_batch(batches, b, regression, x, labels, targets);
        const nn::array<T>& out = net.forward(x, nn::mode::eval);
        const double v = detail::apply_loss(loss, out, t, nullptr);
        if (!std::isfinite(v))
            throw numerical_error("xnas::train::evaluate: loss is " + std::to_string(v) +
                                  " on batch " + std::to_string(b) + ", expected a finite value");
        l.add(v, t.size());
        observe(out, t.labels);
        if (regression)
            squared_error += detail::squared_error_sum(out, targets);
        else
            acc.add(detail::batch_accuracy(out, t.labels), t.size());
    }
    eval_result r{l.value(), acc.value(), l.count()};
    if (regression) {
        r.rmse = std::sqrt(squared_error / static_cast<double>(ds.targets.size()));
        r.r2 = detail::r_squared_of(squared_error, detail::total_sum_of_squares(ds.targets));
    }
    return r;
}

/// Trains `net` on `train` with `loss` and `opt` (any nn::optimizer, its state kept across
/// calls), evaluating on `validation` after every epoch when it is not null, and calling the
/// hooks of `callbacks` (see callbacks.hpp). The loss must be of the training set's kind: a
/// classification_loss for class labels, a regression_loss for a regression set (whose network
/// has K outputs for targets (N, K); the epochs then report rmse, val_rmse and val_r2 and leave
/// the accuracies NaN). The validation set must be of the same kind. Parameters are updated in
/// place; initialise them before (nn::init). Deterministic: the same network, seed and options
/// (threads included) give the same weights; fit_options::threads > 1 trains each batch
/// data-parallel (see parallel.hpp), callbacks still run in the calling thread. Stop requests (a
/// hook returning true, the deadline, the time limit, the cancel flag) are honoured between
/// batches; the history says which one ended the run. Throws xnas::numerical_error naming the epoch
/// and batch when the loss is not finite (a diverged candidate), xnas::shape_error when the data do
/// not fit the network, std::invalid_argument for bad options or a loss of the other kind than the
/// data's targets.
template <class T, class Loss, class Opt, class... Callbacks>
requires loss_function<std::remove_cvref_t<Loss>, T> && nn::optimizer<Opt> &&
    std::same_as<typename Opt::value_type, T> &&
    (callback<std::remove_cvref_t<Callbacks>>&&...)history
    fit(nn::network<T>& net, Loss&& loss, Opt& opt, const data::dataset<T>& train,
        const data::dataset<T>* validation, const fit_options& o, Callbacks&&... callbacks) {
    constexpr const char* who = "xnas::train::fit";
    using clock = std::chrono::steady_clock;
    using loss_type = std::remove_cvref_t<Loss>;
    detail::check_inputs<loss_type>(who, net, train, "training");
    if (validation) {
        detail::check_inputs<loss_type>(who, net, *validation, "validation");
        if (validation->regression() != train.regression())
            throw std::invalid_argument(
                std::string(who) + ": the training set " +
                (train.regression() ? "is a regression set" : "has class labels") +
                ", the validation set " +
                (validation->regression() ? "is a regression set" : "has class labels") +
                "; expected both of one kind");
    }
    if (o.batch_size == 0)
        throw std::invalid_argument(std::string(who) + ": batch_size is 0, expected > 0");
    if (o.threads == 0)
        throw std::invalid_argument(std::string(who) + ": threads is 0, expected >= 1");
    if (!(o.clip_grad_norm >= 0))
        throw std::invalid_argument(std::string(who) + ": clip_grad_norm is " +
                                    std::to_string(o.clip_grad_norm) + ", expected >= 0");

    const auto start = clock::now();
    auto deadline = o.deadline;
    if (o.time_limit_seconds > 0) {
        const auto limit = start + std::chrono::duration_cast<clock::duration>(
                                       std::chrono::duration<double>(o.time_limit_seconds));
        deadline = std::min(deadline, limit);
    }
    rng shuffle_rng(o.seed);
    rng augment_rng = shuffle_rng.split();
    data::batcher<T> batches(train, o.batch_size, {.shuffle = o.shuffle, .drop_last = o.drop_last});
    if (o.state) {
        if (o.state->shuffle && o.state->augment) {
            shuffle_rng = *o.state->shuffle;
            augment_rng = *o.state->augment;
        }
        if (!o.state->order.empty())
            batches.set_order(o.state->order);
    }
    const std::size_t first_epoch = o.state ? o.state->epochs_done : 0;
    const std::size_t count = batches.batch_count();
    if (count == 0)
        throw std::invalid_argument(
            std::string(who) + ": no batch of " + std::to_string(o.batch_size) +
            " samples in a training set of " + std::to_string(train.size()) + " with drop_last");
    // Frozen nodes (network::freeze) are left out: the optimizer never sees them.
    const auto params = net.trainable_parameters();
    const std::span<const nn::parameter<T>> param_span(params);
    const bool regression = train.regression();
    nn::array<T> x, dy, targets;
    std::vector<std::int32_t> labels;
    history h;

    std::optional<detail::single_threaded_blas> blas_guard;
    std::optional<detail::data_parallel<T, loss_type>> parallel;
    if (o.threads > 1) {
        if constexpr (std::copy_constructible<loss_type>) {
            blas_guard.emplace();
            parallel.emplace(net, loss, o.threads, o.seed, o.sync_batch_norm);
        } else {
            throw std::invalid_argument(std::string(who) + ": threads is " +
                                        std::to_string(o.threads) +
                                        ", but the loss is not copyable (threads > 1 needs one "
                                        "copy per thread)");
        }
    }

    auto stop_requested = [&]() -> std::optional<stop_reason> {
        if (o.cancel && o.cancel->load(std::memory_order_relaxed))
            return stop_reason::cancelled;
        if (deadline != clock::time_point::max() && clock::now() >= deadline)
            return stop_reason::deadline;
        return std::nullopt;
    };

    bool stop = false;
    for (std::size_t e = first_epoch; e < o.epochs && !stop; ++e) {
        (detail::epoch_begin(callbacks, e), ...);
        const auto epoch_start = clock::now();
        batches.new_epoch(shuffle_rng);
        if (parallel)
            parallel->new_epoch(e);
        running_mean epoch_loss, epoch_acc;
        double epoch_squared_error = 0; // regression: over the epoch's target values
        std::size_t epoch_values = 0;
        epoch_result r;
        r.epoch = e;
        r.lr = opt.learning_rate();
        for (std::size_t b = 0; b < count; ++b) {
            if (auto why = stop_requested()) {
                h.stop = *why;
                r.complete = false;
                stop = true;
                break;
            }
            if (o.schedule)
                opt.set_learning_rate(nn::lr_at(*o.schedule, e, b, count));
            const detail::batch_targets<T> ts =
                detail::copy_batch(batches, b, regression, x, labels, targets);
            if (o.augment && e + o.plain_last_epochs < o.epochs)
                data::augment(x, *o.augment, augment_rng);
            const std::size_t samples = ts.size();
            batch_result br;
            br.epoch = e;
            br.batch = b;
            br.batch_count = count;
            br.samples = samples;
            br.lr = opt.learning_rate();
            double v;
            double squared_error = 0;
            bool stepped = false; // the optimizer step ran inside the data-parallel step
            if (parallel) {
                detail::shard_totals t;
                if constexpr (nn::partitioned_optimizer<Opt>) {
                    if (o.clip_grad_norm == 0) {
                        t = parallel->step_and_update(x, ts, who, e, b, opt, param_span);
                        stepped = true;
                    }
                }
                if (!stepped)
                    t = parallel->step(x, ts, who, e, b);
                v = t.loss;
                br.accuracy = t.accuracy;
                squared_error = t.squared_error;
            } else {
                const nn::array<T>& out = net.forward(x, nn::mode::train);
                try {
                    v = detail::apply_loss(loss, out, ts, &dy);
                } catch (const numerical_error& ex) {
                    throw numerical_error(std::string(who) + ": diverged at epoch " +
                                          std::to_string(e) + ", batch " + std::to_string(b) +
                                          ": " + ex.what());
                }
                if (!std::isfinite(v))
                    throw numerical_error(std::string(who) + ": diverged at epoch " +
                                          std::to_string(e) + ", batch " + std::to_string(b) +
                                          ": loss is " + std::to_string(v));
                if (regression)
                    squared_error = detail::squared_error_sum(out, targets);
                else
                    br.accuracy = detail::batch_accuracy(out, ts.labels);
                net.backward(dy);
            }
            br.loss = v;
            if (regression) {
                br.accuracy = std::numeric_limits<double>::quiet_NaN();
                br.rmse = std::sqrt(squared_error / static_cast<double>(targets.size()));
                epoch_squared_error += squared_error;
                epoch_values += targets.size();
            } else {
                epoch_acc.add(br.accuracy, samples);
            }
            if (!stepped) {
                if (o.clip_grad_norm > 0)
                    detail::clip_gradients(param_span, o.clip_grad_norm);
                opt.step(param_span);
            }
            epoch_loss.add(v, samples);
            r.images += samples;
            r.lr = br.lr;
            // every callback hears about the batch, even after one has asked to stop
            bool asked = false;
            ((asked = detail::batch_end(callbacks, br) || asked), ...);
            if (asked) {
                h.stop = stop_reason::callback;
                stop = true;
                r.complete = b + 1 == count;
                break;
            }
        }
        const double train_seconds =
            std::chrono::duration<double>(clock::now() - epoch_start).count();
        r.loss = epoch_loss.value();
        r.accuracy = epoch_acc.value();
        if (epoch_values > 0)
            r.rmse = std::sqrt(epoch_squared_error / static_cast<double>(epoch_values));
        r.images_per_second =
            train_seconds > 0 ? static_cast<double>(r.images) / train_seconds : 0.0;
        if (validation && r.complete) {
            const eval_result v = evaluate(net, loss, *validation, o.eval_batch_size);
            r.val_loss = v.loss;
            r.val_accuracy = v.accuracy;
            r.val_rmse = v.rmse;
            r.val_r2 = v.r2;
        }
        r.seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
        h.images += r.images;
        if (r.complete || r.images > 0) // a stop before the epoch's first batch leaves no trace
            h.epochs.push_back(r);
        if (r.complete && o.state) {
            o.state->epochs_done = e + 1;
            o.state->shuffle = shuffle_rng;
            o.state->augment = augment_rng;
            o.state->order = batches.order();
        }
        if (r.complete) {
            bool asked = false;
            ((asked = detail::epoch_end(callbacks, r) || asked), ...);
            if (asked && !stop) {
                h.stop = stop_reason::callback;
                stop = true;
            }
        }
    }
    h.seconds = std::chrono::duration<double>(clock::now() - start).count();
    (detail::fit_end(callbacks, h), ...);
    return h;
}

/// fit() without a validation set.
template <class T, class Loss, class Opt, class... Callbacks>
requires loss_function<std::remove_cvref_t<Loss>, T> && nn::optimizer<Opt> &&
    std::same_as<typename Opt::value_type, T> &&
    (callback<std::remove_cvref_t<Callbacks>>&&...)history
    fit(nn::network<T>& net, Loss&& loss, Opt& opt, const data::dataset<T>& train,
        const fit_options& o, Callbacks&&... callbacks) {
    return fit(net, std::forward<Loss>(loss), opt, train,
               static_cast<const data::dataset<T>*>(nullptr), o,
               std::forward<Callbacks>(callbacks)...);
}

/// fit() with a validation set evaluated after every epoch (val_loss and val_accuracy, or for a
/// regression set val_loss, val_rmse and val_r2).
template <class T, class Loss, class Opt, class... Callbacks>
requires loss_function<std::remove_cvref_t<Loss>, T> && nn::optimizer<Opt> &&
    std::same_as<typename Opt::value_type, T> &&
    (callback<std::remove_cvref_t<Callbacks>>&&...)history
    fit(nn::network<T>& net, Loss&& loss, Opt& opt, const data::dataset<T>& train,
        const data::dataset<T>& validation, const fit_options& o, Callbacks&&... callbacks) {
    return fit(net, std::forward<Loss>(loss), opt, train, &validation, o,
               std::forward<Callbacks>(callbacks)...);
}

} // namespace xnas::train
