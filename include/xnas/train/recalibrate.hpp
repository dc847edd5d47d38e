#pragma once
// train::recalibrate_batch_norm: re-estimates a network's batch-norm running statistics from a
// few batches. A network whose weights come from a weight-sharing supernet inherits statistics
// gathered over many paths, which fit none of them; scoring it needs its own (Guo et al. 2020,
// SPOS, section 3.3).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>
#include <xnas/data/batch.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/nn/layers/batch_norm.hpp>
#include <xnas/nn/network.hpp>

namespace xnas::train {

/// Resets the running mean and variance of every batch_norm layer of `net` (its own nodes, not
/// layers nested inside them) and re-estimates them as the plain average over the first
/// `batches` batches of `ds` (data-set order, `batch_size` samples each; fewer when `ds` is
/// smaller) of each batch's statistics, run forward in train mode: PyTorch's momentum=None. The
/// momentum each layer had is restored after. Weights do not change; dropout layers, if any,
/// draw masks as in training. Returns the batches used. Throws std::invalid_argument for
/// batch_size or batches 0 or an empty set.
template <class T>
std::size_t recalibrate_batch_norm(nn::network<T>& net, const data::dataset<T>& ds,
                                   std::size_t batch_size, std::size_t batches) {
    if (batch_size == 0 || batches == 0 || ds.size() == 0)
        throw std::invalid_argument(
            "xnas::train::recalibrate_batch_norm: batch_size and batches must be positive and "
            "the data set non-empty");
    std::vector<nn::batch_norm<T>*> norms;
    std::vector<double> momenta;
    for (std::size_t id = 1; id < net.size(); ++id)
        if (auto* bn = net.layer(id).template target<nn::batch_norm<T>>()) {
            norms.push_back(bn);
            momenta.push_back(bn->options().momentum);
            bn->running_mean().fill(T(0));
            bn->running_var().fill(T(1));
        }
    if (norms.empty())
        return 0;
    data::batcher<T> batcher(ds, batch_size, {.shuffle = false});
    nn::array<T> x, targets;
    std::vector<std::int32_t> labels;
    const std::size_t used = std::min(batches, batcher.batch_count());
    for (std::size_t b = 0; b < used; ++b) {
        for (auto* bn : norms)
            bn->set_momentum(1.0 / static_cast<double>(b + 1));
        if (ds.regression())
            batcher.copy(b, x, targets);
        else
            batcher.copy(b, x, labels);
        (void)net.forward(x, nn::mode::train);
    }
    for (std::size_t k = 0; k < norms.size(); ++k)
        norms[k]->set_momentum(momenta[k]);
    return used;
}

} // namespace xnas::train
