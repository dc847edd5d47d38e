#pragma once
// Retraining a search's winner: a fresh network of the architecture trained on the whole
// training set with the final-* recipe of the options (epochs, cosine schedule, augmentation,
// weight decay, label smoothing), data-parallel on every core the search used.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <xnas/core/rng.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/experiment/data.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/progress.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/optim/schedule.hpp>
#include <xnas/train/metrics.hpp>
#include <xnas/train/trainer.hpp>

namespace xnas::experiment {

/// Epochs of the retrain: o.final_epochs, or max(o.epochs, 2) when 0.
inline std::size_t retrain_epochs(const options& o) {
    return o.final_epochs ? o.final_epochs : std::max<std::size_t>(o.epochs, 2);
}

/// Samples the retrain trains on: the first o.final_limit of d's whole training set (0: all).
inline std::size_t retrain_samples(const options& o, const prepared_data& d) {
    const std::size_t all = d.full_train ? d.full_train->size() : 0;
    return o.final_limit && o.final_limit < all ? o.final_limit : all;
}

/// The searched recipe with the retrain's regularisers: o.final_weight_decay and
/// o.final_label_smoothing when set. Short trials do not overfit, so the search cannot tell
/// their worth. Adam's L2 is divided by its adaptive scale and barely regularises (Loshchilov &
/// Hutter 2019), so Adam retrains as AdamW, with the decay decoupled.
inline training_recipe retrain_recipe(const options& o, training_recipe searched) {
    if (o.final_weight_decay > 0) {
        searched.weight_decay = o.final_weight_decay;
        if (searched.optimizer == "adam")
            searched.optimizer = "adamw";
    }
    if (o.final_label_smoothing > 0)
        searched.label_smoothing = o.final_label_smoothing;
    return searched;
}

/// The fit options of the retrain on `threads` threads (data-parallel), seeded with `seed`:
/// cosine annealing to 0 over the retrain unless o.final_constant_lr (the usual final-training
/// recipe of DARTS and NAS-Bench-201: it settles into a minimum a constant rate keeps bouncing
/// around), crops and flips (o.final_augment) and random erasing (o.final_erase) when the samples
/// are `images`, the last o.final_plain_epochs epochs plain; over `epochs` epochs (0:
/// retrain_epochs(o)), the cosine reaching 0 after `annealed_epochs` of them when that is in
/// (0, epochs) (a time limit's deadline then ends the last epoch; plan_retrain).
inline train::fit_options retrain_fit_options(const options& o, const training_recipe& recipe,
                                              const data::normalization& stats, bool images,
                                              std::size_t threads, std::uint64_t seed,
                                              std::size_t epochs = 0, double annealed_epochs = 0) {
    if (!epochs)
        epochs = retrain_epochs(o);
    train::fit_options fit{.epochs = epochs, .seed = seed, .threads = threads};
    if (!o.final_constant_lr) {
        const nn::cosine_schedule cosine{.base_lr = recipe.lr, .period = epochs};
        if (annealed_epochs > 0 && annealed_epochs < static_cast<double>(epochs))
            fit.schedule = nn::rescaled_schedule<nn::cosine_schedule>{
                cosine, static_cast<double>(epochs) / annealed_epochs};
        else
            fit.schedule = cosine;
    }
    if ((o.final_augment || o.final_erase > 0) && images)
        fit.augment = augmentation(o.final_augment, o.final_erase, stats);
    fit.plain_last_epochs = o.final_plain_epochs;
    return fit;
}

/// The most of `planned` epochs, at least one, that fit in `seconds_left` at `epoch_seconds`
/// each with `tail_seconds` kept for what follows them; all of them when epoch_seconds is not
/// a positive time.
inline std::size_t epochs_within(double seconds_left, double epoch_seconds, double tail_seconds,
                                 std::size_t planned) {
    if (!(epoch_seconds > 0))
        return planned;
    const double fitting = std::floor((seconds_left - tail_seconds) / epoch_seconds);
    if (!(fitting >= 1)) // NaN too: a winner is always retrained
        return 1;
    return fitting >= static_cast<double>(planned) ? planned : static_cast<std::size_t>(fitting);
}

/// A retrain's epochs under a time limit, and the seconds after which it stops regardless.
struct retrain_plan {
    std::size_t epochs = 0; ///< epochs started: annealed_epochs rounded up
    /// Epochs the learning rate anneals over: every planned one when they fit, else the
    /// fraction of them that fits (at least 1), the deadline ending the last one part-way.
    double annealed_epochs = 0;
    double seconds_per_epoch = 0; ///< as planned: timed, raised by the headroom
    /// Training stops between batches after this long (0: no deadline, as when not even the
    /// one epoch always trained fits).
    double deadline_seconds = 0;
};

/// Plans a retrain of `planned` epochs in `seconds_left`, keeping `tail_seconds` for what follows
/// it, at `timed_epoch_seconds` an epoch raised by the fraction `headroom`. When fewer than the
/// planned epochs fit, the plan anneals over the fraction that does (4.7 of 6: five epochs
/// started, the rate at 0 after 4.7 of them), so the retrain uses the time it has rather than
/// the whole epochs that fit in it; the deadline is what is left before the tail. Throws
/// std::invalid_argument when headroom is negative or not a number.
inline retrain_plan plan_retrain(double seconds_left, double timed_epoch_seconds,
                                 double tail_seconds, std::size_t planned, double headroom) {
    if (!(headroom >= 0))
        throw std::invalid_argument("xnas::experiment::plan_retrain: headroom is " +
                                    std::to_string(headroom) + ", expected >= 0");
    retrain_plan p;
    p.seconds_per_epoch = timed_epoch_seconds * (1 + headroom);
    p.epochs = epochs_within(seconds_left, p.seconds_per_epoch, tail_seconds, planned);
    p.annealed_epochs = static_cast<double>(p.epochs);
    const double until_tail = seconds_left - tail_seconds;
    if (!(p.seconds_per_epoch > 0) || !(until_tail >= p.seconds_per_epoch))
        return p; // untimed, or the one epoch always trained runs whole
    p.deadline_seconds = until_tail;
    const double fitting = until_tail / p.seconds_per_epoch;
    if (fitting < static_cast<double>(planned)) {
        p.annealed_epochs = fitting;
        p.epochs = static_cast<std::size_t>(std::ceil(fitting));
    }
    return p;
}

/// Seconds a training sample of `net` takes under `recipe` and `fit` (its threads,
/// augmentation, batch size), timed on a copy of `net` trained for about `probe_seconds` on
/// `samples` and thrown away, so the network itself is untouched. Augmented samples cost more
/// than plain ones, so the timing augments whenever `fit` does. 0 when no batch was trained.
inline double seconds_per_sample(const nn::network<float>& net, const data::dataset<float>& samples,
                                 const training_recipe& recipe, train::fit_options fit,
                                 double probe_seconds) {
    nn::network<float> copy = net;
    fit.epochs = 1;
    fit.plain_last_epochs = 0;
    fit.time_limit_seconds = probe_seconds;
    const train::history h = train_network(copy, samples, recipe, std::move(fit));
    return h.images ? h.seconds / static_cast<double>(h.images) : 0.0;
}

/// What a retrain must fit in under a whole run's time limit (options::time_limit).
struct retrain_budget {
    /// Seconds left of the run when the retrain starts (infinity: no limit).
    double seconds_left = std::numeric_limits<double>::infinity();
    /// Samples scored once the retrain ends (the test set), whose time the limit must leave.
    std::size_t scored_after = 0;
    /// How much slower than timed the epochs are planned to run. The timing is a few seconds of
    /// batches; whole epochs run at 0.93-1.07 times its speed on a machine whose other core is
    /// busy. A cut plan ends at its deadline, so epochs slower than planned stop the cosine
    /// short of 0 (at 0.3 % of the rate for epochs 7 % slower with this headroom), and faster
    /// ones train their last batches at 0.
    double headroom = 0.03;
};

/// A retrained network with how it was trained.
struct retrained {
    nn::network<float> net;
    train::history history;
    training_recipe recipe;
    train::fit_options fit;
    std::size_t plain_epochs = 0; ///< epochs trained on images as they are
};

/// Retrains `architecture` from scratch: built by `builder` and initialised (PyTorch's default)
/// from a generator seeded o.seed + 1, trained on the first o.final_limit images of `train` (0:
/// all) with retrain_recipe(o, searched) and retrain_fit_options on `threads` threads (`images`:
/// whether the samples are images, which augmentation applies to). Under a time limit
/// (`budget`'s seconds_left finite) it trains as much of its epochs as fits in what is left
/// (plan_retrain), an epoch's seconds timed first on a throw-away copy of the network
/// (seconds_per_sample) and raised by budget.headroom, the learning rate annealing over what
/// fits, a fraction of an epoch included; training stops between batches at the deadline.
/// Logs the recipe, then progress (retrain_progress; a bar with the time left when `log` is a
/// terminal).
/// Throws what training throws (xnas::numerical_error for a diverged loss).
template <class Builder, class A>
retrained retrain(const options& o, const Builder& builder, const A& architecture,
                  const training_recipe& searched, const data::dataset<float>& train,
                  const data::normalization& stats, bool images, std::size_t threads,
                  std::ostream& log, const retrain_budget& budget = {}) {
    const auto start = std::chrono::steady_clock::now();
    rng g(o.seed + 1);
    retrained r{builder.build(architecture, g), {}, retrain_recipe(o, searched), {}, 0};
    nn::init::apply(r.net, nn::init::scheme::pytorch_default, g);
    const std::uint64_t fit_seed = g();
    r.fit = retrain_fit_options(o, r.recipe, stats, images, threads, fit_seed);
    const data::dataset<float>* samples = &train;
    data::dataset<float> first;
    if (o.final_limit && o.final_limit < train.size()) {
        first = train.first(o.final_limit);
        samples = &first;
    }
    if (std::isfinite(budget.seconds_left)) {
        // A couple of seconds of batches time an epoch; the plan's headroom covers a machine
        // that is slower once the whole epochs run.
        const double per_sample = seconds_per_sample(r.net, *samples, r.recipe, r.fit, 2.0);
        // Scoring a sample is a forward pass, about a third of a training step; half a step
        // leaves room for writing the results after it.
        const double tail_seconds = 0.5 * per_sample * static_cast<double>(budget.scored_after);
        const double left =
            budget.seconds_left -
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const std::size_t planned = r.fit.epochs;
        const retrain_plan plan =
            plan_retrain(left, per_sample * static_cast<double>(samples->size()), tail_seconds,
                         planned, budget.headroom);
        char line[256];
        std::snprintf(line, sizeof line,
                      "--time-limit: %.3g of the retrain's %zu epochs fit in the %.0f s left (an "
                      "epoch takes about %.1f s)\n",
                      plan.annealed_epochs, planned, std::max(left, 0.0), plan.seconds_per_epoch);
        log << line;
        // As planned from the start when everything fits; else over what does.
        r.fit = retrain_fit_options(o, r.recipe, stats, images, threads, fit_seed, plan.epochs,
                                    plan.annealed_epochs);
        // The headroom is an estimate; the deadline makes the limit a limit, and ends a plan
        // cut to a fraction of an epoch.
        r.fit.time_limit_seconds = plan.deadline_seconds;
    }
    const std::size_t epochs = r.fit.epochs;
    r.plain_epochs = r.fit.augment ? std::min(o.final_plain_epochs, epochs) : epochs;
    char line[512];
    std::snprintf(line, sizeof line,
                  "retraining the best architecture on %zu samples for %zu epoch%s on %zu "
                  "thread%s (%s, %s learning rate%s%s%s, weight decay %g, label smoothing "
                  "%g)...\n",
                  samples->size(), epochs, epochs == 1 ? "" : "s", r.fit.threads,
                  r.fit.threads == 1 ? "" : "s", r.recipe.optimizer.c_str(),
                  o.final_constant_lr ? "constant" : "cosine-annealed",
                  o.final_augment && r.fit.augment ? ", crop and flip" : "",
                  o.final_erase > 0 && r.fit.augment ? ", random erasing" : "",
                  r.fit.augment && o.final_plain_epochs
                      ? (", the last " + std::to_string(o.final_plain_epochs) + " plain").c_str()
                      : "",
                  r.recipe.weight_decay, r.recipe.label_smoothing);
    log << line;
    log.flush();
    retrain_progress progress{.epochs = epochs, .out = &log, .tty = is_terminal(log)};
    r.history = train_network(r.net, *samples, r.recipe, r.fit, progress);
    if (r.history.stop == train::stop_reason::deadline) {
        std::snprintf(line, sizeof line,
                      "--time-limit: the retrain stopped at its deadline, %.3g epochs in\n",
                      static_cast<double>(r.history.images) / static_cast<double>(samples->size()));
        log << line;
    }
    return r;
}

} // namespace xnas::experiment
