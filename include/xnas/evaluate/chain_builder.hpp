#pragma once
// chain_builder: turns a chain_space architecture into a network, for images (conv stages then
// dense layers) and sequences (recurrent layers then dense layers), with a dense classifier head.

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/evaluate/builder.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/batch_norm.hpp>
#include <xnas/nn/layers/conv2d.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/dropout.hpp>
#include <xnas/nn/layers/flatten.hpp>
#include <xnas/nn/layers/gru.hpp>
#include <xnas/nn/layers/identity.hpp>
#include <xnas/nn/layers/lstm.hpp>
#include <xnas/nn/layers/pooling.hpp>
#include <xnas/space/chain_space.hpp>

namespace xnas {

/// The activation layer called `name` (relu, gelu, tanh, sigmoid, leaky_relu, identity).
/// Throws std::invalid_argument naming an unknown one.
inline nn::any_layer<float> make_activation(const std::string& name) {
    if (name == "relu")
        return nn::relu<float>();
    if (name == "gelu")
        return nn::gelu<float>();
    if (name == "tanh")
        return nn::tanh<float>();
    if (name == "sigmoid")
        return nn::sigmoid<float>();
    if (name == "leaky_relu")
        return nn::leaky_relu<float>();
    if (name == "identity" || name == "none")
        return nn::identity<float>();
    throw std::invalid_argument("xnas::make_activation: unknown activation \"" + name +
                                "\" (known: relu, gelu, tanh, sigmoid, leaky_relu, identity)");
}

/// Options of chain_builder.
struct chain_builder_options {
    nn::shape input{1, 28, 28}; ///< per-sample input: (C, H, W) for images, (T, F) for sequences
    std::size_t classes = 10;
};

/// Builds networks from chain_space architectures. Ops it knows (the chain_space presets):
///  - conv(k, c, act, bn, pool): conv k x k, "same" padding, stride 1 (no bias when bn=1), then
///    batch norm if bn, the activation, and 2x2 pooling (max or avg) when pool is not none and
///    the feature map is at least 2x2;
///  - dense(w, act, drop): flatten if needed, dense, activation, dropout when drop > 0;
///  - lstm(h) / gru(h): over (T, F) inputs; every recurrent layer but the last of a run returns
///    the whole sequence, the last returns its final state.
/// A layer's `skip=i` adds layer i's output to this layer's output when their shapes are equal
/// (the residual is dropped where shapes do not allow it, e.g. after pooling or a width change).
/// The head flattens and maps to `classes` logits. Users add ops through `custom_ops`: a function
/// that appends the op's layers to the network after node `from` and returns the last node id.
class chain_builder {
  public:
    using custom_op =
        std::function<std::size_t(nn::network<float>&, std::size_t from, const chain_space&,
                                  const chain_space::layer&, rng&)>;

    explicit chain_builder(chain_space space, chain_builder_options options = {},
                           std::map<std::string, custom_op> custom_ops = {})
        : space_(std::move(space))
        , options_(std::move(options))
        , custom_(std::move(custom_ops)) {}

    const chain_space& space() const { return space_; }
    const chain_builder_options& options() const { return options_; }

    nn::network<float> build(const chain_space::architecture& a, rng& g) const {
        nn::network<float> net(options_.input);
        std::size_t node = 0;
        std::vector<std::size_t> out_node; // network node of each chain layer's output
        for (std::size_t i = 0; i < a.layers.size(); ++i) {
            const auto& l = a.layers[i];
            const std::string& op = space_.op_name(l);
            if (auto it = custom_.find(op); it != custom_.end()) {
                node = it->second(net, node, space_, l, g);
            } else if (op == "conv") {
                node = add_conv(net, node, l);
            } else if (op == "dense") {
                node = add_dense(net, node, l, g);
            } else if (op == "lstm" || op == "gru") {
                const bool next_recurrent =
                    i + 1 < a.layers.size() && (space_.op_name(a.layers[i + 1]) == "lstm" ||
                                                space_.op_name(a.layers[i + 1]) == "gru");
                node = add_recurrent(net, node, l, op, next_recurrent);
            } else {
                throw std::invalid_argument("xnas::chain_builder::build: no builder for op \"" +
                                            op + "\" (layer " + std::to_string(i) +
                                            "); pass it in custom_ops");
            }
            if (l.skip && *l.skip < out_node.size() &&
                net.node_shape(out_node[*l.skip]) == net.node_shape(node))
                node = net.add(nn::identity<float>(), {node, out_node[*l.skip]}, nn::merge_op::add);
            out_node.push_back(node);
        }
        if (net.node_shape(node).size() > 1)
            node = net.add(nn::flatten<float>());
        net.add(nn::dense<float>(nn::volume(net.node_shape(node)), options_.classes));
        return net;
    }

  private:
    long integer(const chain_space::layer& l, const char* name) const {
        return std::strtol(space_.value(l, name).c_str(), nullptr, 10);
    }

    std::size_t add_conv(nn::network<float>& net, std::size_t node,
                         const chain_space::layer& l) const {
        const nn::shape in = net.node_shape(node);
        if (in.size() != 3)
            throw shape_error("xnas::chain_builder: conv needs (C, H, W) input, got " +
                              nn::to_string(in));
        const auto k = static_cast<std::size_t>(integer(l, "k"));
        const auto c = static_cast<std::size_t>(integer(l, "c"));
        const bool bn = space_.has(l, "bn") && space_.value(l, "bn") == "1";
        node = net.add(nn::conv2d<float>({.in_channels = in[0],
                                          .out_channels = c,
                                          .kernel_h = k,
                                          .kernel_w = k,
                                          .padding_h = k / 2,
                                          .padding_w = k / 2,
                                          .bias = !bn}));
        if (bn)
            node = net.add(nn::batch_norm<float>(c));
        node = net.add(make_activation(space_.has(l, "act") ? space_.value(l, "act") : "relu"));
        const std::string pool = space_.has(l, "pool") ? space_.value(l, "pool") : "none";
        const nn::shape s = net.node_shape(node);
        if (pool != "none" && s[1] >= 2 && s[2] >= 2) {
            if (pool == "max")
                node = net.add(nn::max_pool2d<float>(2));
            else if (pool == "avg")
                node = net.add(nn::avg_pool2d<float>(2));
            else
                throw std::invalid_argument("xnas::chain_builder: unknown pool \"" + pool + "\"");
        }
        return node;
    }

    std::size_t add_dense(nn::network<float>& net, std::size_t node, const chain_space::layer& l,
                          rng& g) const {
        if (net.node_shape(node).size() > 1)
            node = net.add(nn::flatten<float>());
        const auto w = static_cast<std::size_t>(integer(l, "w"));
        node = net.add(nn::dense<float>(nn::volume(net.node_shape(node)), w));
        node = net.add(make_activation(space_.has(l, "act") ? space_.value(l, "act") : "relu"));
        const double drop = space_.has(l, "drop") ? space_.real_value(l, "drop") : 0.0;
        if (drop > 0)
            node = net.add(nn::dropout<float>(drop, g()));
        return node;
    }

    std::size_t add_recurrent(nn::network<float>& net, std::size_t node,
                              const chain_space::layer& l, const std::string& op,
                              bool sequences) const {
        const nn::shape in = net.node_shape(node);
        if (in.size() != 2)
            throw shape_error("xnas::chain_builder: " + op + " needs (T, F) input, got " +
                              nn::to_string(in));
        const auto h = static_cast<std::size_t>(integer(l, "h"));
        if (op == "lstm")
            return net.add(nn::lstm<float>(in[1], h, sequences));
        return net.add(nn::gru<float>(in[1], h, sequences));
    }

    chain_space space_;
    chain_builder_options options_;
    std::map<std::string, custom_op> custom_;
};

static_assert(builder<chain_builder, chain_space::architecture>);

} // namespace xnas
