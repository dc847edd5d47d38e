#pragma once
// cell_builder: turns a cell_space architecture (a DAG cell with one op per edge) into a
// network that stacks the cell, in the layout of NAS-Bench-201 (Dong & Yang, ICLR 2020,
// arXiv:2001.00326) scaled down for 28x28 grey images: stem, stages of cells separated by
// stride-2 reductions, global average pooling, dense classifier.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/evaluate/builder.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/batch_norm.hpp>
#include <xnas/nn/layers/conv2d.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/identity.hpp>
#include <xnas/nn/layers/pooling.hpp>
#include <xnas/nn/layers/zero.hpp>
#include <xnas/space/cell_space.hpp>

namespace xnas {

struct cell_builder_options {
    nn::shape input{1, 28, 28}; ///< (C, H, W)
    std::size_t classes = 10;
    std::size_t channels = 8; ///< channels of the first stage; doubled at each reduction
    std::size_t stages = 3;   ///< 28x28 -> 14x14 -> 7x7
    std::size_t cells_per_stage = 1;
};

/// Builds networks from cell_space architectures. Built-in edge ops (NAS-Bench-201's):
/// none (no edge), skip_connect (identity), nor_conv_1x1 and nor_conv_3x3 (ReLU, conv, batch
/// norm), avg_pool_3x3 (stride 1, padding 1). Node j of a cell sums its incoming edges; a node
/// with no incoming edge is zero. The stem is conv3x3 + batch norm; each reduction is ReLU,
/// conv3x3 stride 2 doubling the channels, batch norm. Users add edge ops with `custom_ops`: a
/// function returning the shape-preserving layers of the op for a given channel count.
class cell_builder {
  public:
    using edge_op = std::function<std::vector<nn::any_layer<float>>(std::size_t channels)>;

    explicit cell_builder(cell_space space, cell_builder_options options = {},
                          std::map<std::string, edge_op> custom_ops = {})
        : space_(std::move(space))
        , options_(std::move(options))
        , ops_(default_ops()) {
        if (options_.input.size() != 3)
            throw shape_error("xnas::cell_builder: input must be (C, H, W), got " +
                              nn::to_string(options_.input));
        if (options_.stages == 0 || options_.channels == 0)
            throw std::invalid_argument("xnas::cell_builder: stages and channels must be positive");
        for (auto& [name, op] : custom_ops)
            ops_[name] = std::move(op);
        for (const auto& name : space_.ops())
            if (name != "none" && !ops_.count(name))
                throw std::invalid_argument("xnas::cell_builder: no layers for op \"" + name +
                                            "\"; pass it in custom_ops");
    }

    const cell_space& space() const { return space_; }
    const cell_builder_options& options() const { return options_; }

    nn::network<float> build(const cell_space::architecture& a, rng&) const {
        return build_with([&](nn::network<float>& net, std::size_t from, std::size_t edge,
                              std::size_t channels) -> std::optional<std::size_t> {
            const auto [i, j] = space_.edge(edge);
            const std::string& name = space_.op(a, i, j); // checks a against the space
            if (name == "none")
                return std::nullopt;
            for (auto& l : op_layers(name, channels))
                from = net.add(std::move(l), {from});
            return from;
        });
    }

    /// The layers of edge op `name` at `channels` channels (empty for "none"). Throws
    /// std::invalid_argument for an op the builder has no layers for.
    std::vector<nn::any_layer<float>> op_layers(const std::string& name,
                                                std::size_t channels) const {
        if (name == "none")
            return {};
        const auto it = ops_.find(name);
        if (it == ops_.end())
            throw std::invalid_argument("xnas::cell_builder: no layers for op \"" + name + "\"");
        return it->second(channels);
    }

    /// The network around the cells (stem, reductions, head) with each cell's edges added by
    /// `add_edge(net, from, edge, channels)`: it appends the layers of edge number `edge` fed by
    /// node `from` and returns the node holding the edge's output, or std::nullopt for an absent
    /// edge. build() adds an architecture's ops; a supernet adds the edges that hold every op.
    template <class AddEdge>
    nn::network<float> build_with(AddEdge&& add_edge) const {
        nn::network<float> net(options_.input);
        std::size_t c = options_.channels;
        std::size_t node = net.add(conv(options_.input[0], c, 3, 1));
        node = net.add(nn::batch_norm<float>(c));
        for (std::size_t s = 0; s < options_.stages; ++s) {
            if (s > 0) {
                node = net.add(nn::relu<float>());
                node = net.add(conv(c, 2 * c, 3, 2));
                c *= 2;
                node = net.add(nn::batch_norm<float>(c));
            }
            for (std::size_t k = 0; k < options_.cells_per_stage; ++k)
                node = add_cell(net, node, c, add_edge);
        }
        node = net.add(nn::relu<float>());
        node = net.add(nn::global_avg_pool<float>());
        net.add(nn::dense<float>(c, options_.classes));
        return net;
    }

  private:
    static nn::conv2d<float> conv(std::size_t in, std::size_t out, std::size_t k,
                                  std::size_t stride) {
        return nn::conv2d<float>({.in_channels = in,
                                  .out_channels = out,
                                  .kernel_h = k,
                                  .kernel_w = k,
                                  .stride_h = stride,
                                  .stride_w = stride,
                                  .padding_h = k / 2,
                                  .padding_w = k / 2,
                                  .bias = false});
    }

    static std::map<std::string, edge_op> default_ops() {
        auto nor_conv = [](std::size_t k) {
            return [k](std::size_t c) {
                return std::vector<nn::any_layer<float>>{nn::relu<float>(), conv(c, c, k, 1),
                                                         nn::batch_norm<float>(c)};
            };
        };
        return {
            {"skip_connect",
             [](std::size_t) { return std::vector<nn::any_layer<float>>{nn::identity<float>()}; }},
            {"nor_conv_1x1", nor_conv(1)},
            {"nor_conv_3x3", nor_conv(3)},
            {"avg_pool_3x3", [](std::size_t) {
                 return std::vector<nn::any_layer<float>>{
                     nn::avg_pool2d<float>(nn::pool2d_options{3, 3, 1, 1, 1, 1}, false)};
             }}};
    }

    template <class AddEdge>
    std::size_t add_cell(nn::network<float>& net, std::size_t input, std::size_t channels,
                         AddEdge& add_edge) const {
        std::vector<std::size_t> cell_node{input};
        for (std::size_t j = 1; j < space_.nodes(); ++j) {
            std::vector<std::size_t> incoming;
            for (std::size_t i = 0; i < j; ++i)
                if (const std::optional<std::size_t> out =
                        add_edge(net, cell_node[i], space_.edge_index(i, j), channels))
                    incoming.push_back(*out);
            if (incoming.empty())
                cell_node.push_back(net.add(nn::zero<float>(), {input}));
            else if (incoming.size() == 1)
                cell_node.push_back(incoming.front());
            else
                cell_node.push_back(net.add(nn::identity<float>(), incoming, nn::merge_op::add));
        }
        return cell_node.back();
    }

    cell_space space_;
    cell_builder_options options_;
    std::map<std::string, edge_op> ops_;
};

static_assert(builder<cell_builder, cell_space::architecture>);

} // namespace xnas
