#pragma once
// Retraining a search's winner: a fresh network of the architecture trained on the whole
// training set with the final-* recipe of the options (epochs, cosine schedule, augmentation,
// weight decay, label smoothing), data-parallel on every core the search used.

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <ostream>
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
/// are `images`, the last o.final_plain_epochs epochs plain.
inline train::fit_options retrain_fit_options(const options& o, const training_recipe& recipe,
                                              const data::normalization& stats, bool images,
                                              std::size_t threads, std::uint64_t seed) {
    const std::size_t epochs = retrain_epochs(o);
    train::fit_options fit{.epochs = epochs, .seed = seed, .threads = threads};
    if (!o.final_constant_lr)
        fit.schedule = nn::cosine_schedule{.base_lr = recipe.lr, .period = epochs};
    if ((o.final_augment || o.final_erase > 0) && images)
        fit.augment = augmentation(o.final_augment, o.final_erase, stats);
    fit.plain_last_epochs = o.final_plain_epochs;
    return fit;
}

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
/// whether the samples are images, which augmentation applies to). Logs the
/// recipe, then progress (retrain_progress; a bar with the time left when `log` is a terminal).
/// Throws what training throws (xnas::numerical_error for a diverged loss).
template <class Builder, class A>
retrained retrain(const options& o, const Builder& builder, const A& architecture,
                  const training_recipe& searched, const data::dataset<float>& train,
                  const data::normalization& stats, bool images, std::size_t threads,
                  std::ostream& log) {
    rng g(o.seed + 1);
    retrained r{builder.build(architecture, g), {}, retrain_recipe(o, searched), {}, 0};
    nn::init::apply(r.net, nn::init::scheme::pytorch_default, g);
    r.fit = retrain_fit_options(o, r.recipe, stats, images, threads, g());
    const data::dataset<float>* samples = &train;
    data::dataset<float> first;
    if (o.final_limit && o.final_limit < train.size()) {
        first = train.first(o.final_limit);
        samples = &first;
    }
    const std::size_t epochs = r.fit.epochs;
    r.plain_epochs = r.fit.augment ? std::min(o.final_plain_epochs, epochs) : epochs;
    char line[512];
    std::snprintf(line, sizeof line,
                  "retraining the best architecture on %zu samples for %zu epochs on %zu "
                  "threads (%s, %s learning rate%s%s%s, weight decay %g, label smoothing "
                  "%g)...\n",
                  samples->size(), epochs, r.fit.threads, r.recipe.optimizer.c_str(),
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
    return r;
}

} // namespace xnas::experiment
