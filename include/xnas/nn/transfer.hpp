#pragma once
// Transfer learning on a network: a new classifier head for another task's classes, and freezing
// what was learned before (network::freeze) so that only the new parts train.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <xnas/core/rng.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/network.hpp>

namespace xnas::nn {

/// A copy of `base` whose last node (its classifier, a dense layer) is replaced by a fresh dense
/// layer with `classes` outputs, initialised from `g` as init::scheme::pytorch_default does;
/// every other node keeps its id, inputs, merge, weights and frozen state. Throws
/// std::invalid_argument when the network has no layer, its last layer is not dense, or
/// `classes` is 0.
template <class T>
network<T> replace_head(const network<T>& base, std::size_t classes, rng& g) {
    if (classes == 0)
        throw std::invalid_argument("xnas::nn::replace_head: classes is 0");
    if (base.size() < 2)
        throw std::invalid_argument("xnas::nn::replace_head: the network has no layer");
    const std::size_t head = base.size() - 1;
    if (!base.layer(head).template target<dense<T>>())
        throw std::invalid_argument("xnas::nn::replace_head: the last layer (node " +
                                    std::to_string(head) + ", " + base.layer(head).spec().type +
                                    ") is not dense");
    network<T> net(base.input_shape());
    for (std::size_t id = 1; id < head; ++id) { // in order, so node ids stay the same
        net.add(base.layer(id), base.inputs(id), base.merge(id));
        net.freeze(id, base.frozen(id));
    }
    const std::size_t features = volume(net.node_shape(base.inputs(head)[0]));
    dense<T> fresh(features, classes);
    init::apply(fresh, init::scheme::pytorch_default, g);
    net.add(std::move(fresh), base.inputs(head), base.merge(head));
    return net;
}

/// Freezes every layer but the last (the head): fine-tuning then trains the head alone on the
/// features the rest learned before.
template <class T>
void freeze_all_but_head(network<T>& net) {
    for (std::size_t id = 1; id + 1 < net.size(); ++id)
        net.freeze(id);
}

/// Thaws every layer.
template <class T>
void unfreeze_all(network<T>& net) {
    for (std::size_t id = 1; id < net.size(); ++id)
        net.freeze(id, false);
}

} // namespace xnas::nn
