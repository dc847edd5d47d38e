#pragma once
// train::fine_tune: transfers a trained network to a new task, a classification or a regression
// one. The head is replaced when its width differs from the new task's class count (or target
// width K for a regression set) (nn::replace_head), then the new head trains
// alone on the frozen trunk for head_epochs and, unless the trunk stays frozen, the whole
// network for epochs more (the usual recipe: a fresh head first, so its random gradients do not
// wreck the features; Yosinski et al. 2014, Kornblith et al. 2019).

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/nn/transfer.hpp>
#include <xnas/train/loss.hpp>
#include <xnas/train/metrics.hpp>
#include <xnas/train/trainer.hpp>

namespace xnas::train {

struct fine_tune_options {
    /// Outputs of the new task's head; 0: the training set's num_classes, or its target width K
    /// for a regression set. A head with another number of outputs is replaced by a fresh dense
    /// layer.
    std::size_t classes = 0;
    bool new_head = false;       ///< replace the head even when the output counts agree
    std::size_t head_epochs = 1; ///< epochs of the head alone, on the frozen trunk, first
    std::size_t epochs = 2;      ///< then epochs of the whole network (0: the head only)
    nn::sgd_options sgd{.lr = 0.01, .momentum = 0.9}; ///< the optimizer of both phases
    std::size_t batch_size = 64;
    std::uint64_t seed = 0;  ///< the new head's initialisation, shuffling
    std::size_t threads = 1; ///< data-parallel threads (fit_options::threads)
};

/// Fine-tunes `net` on `train` (and reports on `validation` after each epoch when given) in
/// place, as fine_tune_options describes; layers the caller froze stay frozen in both phases.
/// Trains with train::default_loss: softmax cross-entropy on class labels, mean squared error
/// on a regression set. Returns both phases' epochs in one history. Throws
/// std::invalid_argument for no epochs at all or a head that cannot be replaced (see
/// nn::replace_head), and what train::fit throws.
template <class T>
history fine_tune(nn::network<T>& net, const data::dataset<T>& train,
                  const data::dataset<T>* validation, const fine_tune_options& o) {
    if (o.head_epochs + o.epochs == 0)
        throw std::invalid_argument("xnas::train::fine_tune: head_epochs and epochs are both 0");
    const std::size_t classes =
        o.classes ? o.classes : (train.regression() ? train.target_size() : train.num_classes);
    const nn::shape out = net.size() > 1 ? net.node_shape(net.size() - 1) : nn::shape{};
    if (o.new_head || out.size() != 1 || out[0] != classes) {
        rng g(o.seed);
        net = nn::replace_head(net, classes, g);
    }
    std::vector<char> frozen_before(net.size(), 0);
    for (std::size_t id = 1; id < net.size(); ++id)
        frozen_before[id] = net.frozen(id);

    history all;
    auto phase = [&](std::size_t epochs, std::uint64_t seed) {
        nn::sgd<T> opt(o.sgd);
        const history h =
            fit(net, default_loss<T>(), opt, train, validation,
                {.epochs = epochs, .batch_size = o.batch_size, .seed = seed, .threads = o.threads});
        all.epochs.insert(all.epochs.end(), h.epochs.begin(), h.epochs.end());
        all.images += h.images;
        all.seconds += h.seconds;
        all.stop = h.stop;
    };
    if (o.head_epochs > 0) {
        nn::freeze_all_but_head(net);
        phase(o.head_epochs, o.seed);
        for (std::size_t id = 1; id < net.size(); ++id)
            net.freeze(id, frozen_before[id] != 0);
    }
    if (o.epochs > 0)
        phase(o.epochs, o.seed + 1);
    return all;
}

/// fine_tune without a validation set.
template <class T>
history fine_tune(nn::network<T>& net, const data::dataset<T>& train, const fine_tune_options& o) {
    return fine_tune(net, train, static_cast<const data::dataset<T>*>(nullptr), o);
}

} // namespace xnas::train
