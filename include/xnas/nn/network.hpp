#pragma once
// nn::network, a trainable network built at run time from an architecture value: a DAG of
// layers (a sequential stack being the simple case) whose nodes with several inputs merge them
// by residual add or concat first. Keeps every node's activations for backward and reuses its
// buffers across batches.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/layer.hpp>
#include <xnas/nn/layers/merge.hpp>
#include <xnas/nn/tensor.hpp>

namespace xnas::nn {

/// A directed acyclic graph of layers over batches of samples of one input shape.
///
/// Node 0 is the network input; every add() appends a node whose inputs are earlier nodes, so
/// node ids are a topological order. The last node added is the output. A node with several
/// inputs first merges them (merge_op::add: element-wise sum of equal shapes; merge_op::concat:
/// along dim 1, the channel / feature axis), then feeds the merged tensor to its layer.
///
/// Usage:
/// ```
/// nn::network<float> net({784});
/// auto a = net.add(nn::dense<float>(784, 64));       // node 1, input node 0
/// auto b = net.add(nn::dense<float>(64, 64));        // node 2, input node 1
/// net.add(nn::dense<float>(128, 10), {a, b}, nn::merge_op::concat);  // node 3
/// const auto& y = net.forward(x, nn::mode::train);   // (N, 10)
/// net.backward(dy);                                  // fills every parameter gradient
/// ```
/// A network also models nn::layer, so it can be nested as one layer of another network.
template <class T = float>
class network {
  public:
    using value_type = T;
    /// Id of the input node.
    static constexpr std::size_t input_node = 0;

    /// An empty network (its output is its input) taking samples of `input_shape` (batch axis
    /// excluded, e.g. {784} or {1, 28, 28}).
    explicit network(shape input_shape) {
        node in;
        in.out_shape = std::move(input_shape);
        nodes_.push_back(std::move(in));
    }

    /// Appends `l` fed by the last node (sequential stack); returns the new node's id.
    /// Throws xnas::shape_error naming the node, the layer type and the shapes when the layer
    /// does not accept the previous node's output.
    std::size_t add(any_layer<T> l) { return add(std::move(l), {nodes_.size() - 1}); }

    /// Appends `l` fed by `inputs` (earlier node ids, 0 = network input); several inputs are
    /// merged with `m` first. Returns the new node's id. Throws std::out_of_range for an id that
    /// is not an earlier node, std::invalid_argument for no inputs, xnas::shape_error naming the
    /// node, the layer type and the shapes when the merge or the layer rejects the shapes.
    std::size_t add(any_layer<T> l, std::vector<std::size_t> inputs, merge_op m = merge_op::add) {
        const std::size_t id = nodes_.size();
        const std::string where =
            "xnas::nn::network::add: node " + std::to_string(id) + " (" + l.spec().type + ")";
        if (inputs.empty())
            throw std::invalid_argument(where + ": no inputs");
        std::vector<shape> in_shapes;
        for (std::size_t i : inputs) {
            if (i >= id)
                throw std::out_of_range(where + ": input node " + std::to_string(i) +
                                        " does not exist yet (nodes 0.." + std::to_string(id - 1) +
                                        ")");
            in_shapes.push_back(nodes_[i].out_shape);
        }
        node nd;
        if (inputs.size() == 1) {
            nd.in_shape = in_shapes[0];
        } else {
            try {
                nd.in_shape = merge_output_shape(m, in_shapes);
            } catch (const shape_error& e) {
                throw shape_error(where + ": cannot " + to_string(m) + " inputs " +
                                  list(inputs, in_shapes) + ": " + e.what());
            }
        }
        try {
            nd.out_shape = l.output_shape(nd.in_shape);
        } catch (const shape_error& e) {
            throw shape_error(where + " rejects input shape " + to_string(nd.in_shape) + " from " +
                              list(inputs, in_shapes) + ": " + e.what());
        }
        nd.op.emplace(std::move(l));
        nd.inputs = std::move(inputs);
        nd.merge = m;
        for (std::size_t i : nd.inputs)
            ++nodes_[i].consumers;
        nodes_.push_back(std::move(nd));
        ptrs_.reserve(nodes_.back().inputs.size());
        forwarded_ = false;
        return id;
    }

    /// Runs the batch x of shape (N, input_shape...) through every node and returns the output
    /// node's activations (valid until the next forward). Keeps every node's activations for
    /// backward; buffers are reused, so batches of one size allocate nothing after the first.
    /// Throws xnas::shape_error when x does not have the input shape.
    const array<T>& forward(const array<T>& x, mode m) {
        const shape& in = nodes_[0].out_shape;
        if (x.dimension() != in.size() + 1 ||
            !std::equal(in.begin(), in.end(), x.shape().begin() + 1))
            throw shape_error("xnas::nn::network::forward: input has shape " +
                              to_string(shape(x.shape().begin(), x.shape().end())) +
                              ", network expects (N, " + to_string(in).substr(1));
        const std::size_t n = x.shape()[0];
        ensure_shape(nodes_[0].y, {x.shape().begin(), x.shape().end()});
        std::copy(x.data(), x.data() + x.size(), nodes_[0].y.data());
        for (std::size_t j = 1; j < nodes_.size(); ++j) {
            node& nd = nodes_[j];
            nd.op->forward(input_of(nd), nd.y, m);
            if (nd.y.dimension() == 0 || nd.y.shape()[0] != n ||
                nd.y.size() != n * volume(nd.out_shape))
                throw shape_error("xnas::nn::network::forward: node " + std::to_string(j) + " (" +
                                  nd.op->spec().type + ") produced " + std::to_string(nd.y.size()) +
                                  " values, expected (" + std::to_string(n) + ", " +
                                  to_string(nd.out_shape).substr(1));
        }
        forwarded_ = true;
        return nodes_.back().y;
    }

    /// Back-propagates dy = dL/d(output) (shape of the last forward's output) and overwrites
    /// every parameter gradient. Gradients reaching a node from several consumers are summed.
    /// When dx is given it receives dL/dx for the network input; otherwise the layers fed by the
    /// input alone get dx = nullptr and skip that work. Throws std::logic_error without a
    /// preceding forward, xnas::shape_error for a dy of the wrong shape.
    void backward(const array<T>& dy, array<T>* dx = nullptr) {
        if (!forwarded_)
            throw std::logic_error("xnas::nn::network::backward: called without a forward since "
                                   "the network last changed");
        const array<T>& out = nodes_.back().y;
        if (dy.shape() != out.shape())
            throw shape_error("xnas::nn::network::backward: dy has shape " +
                              to_string(shape(dy.shape().begin(), dy.shape().end())) +
                              ", the output has " +
                              to_string(shape(out.shape().begin(), out.shape().end())));
        for (auto& nd : nodes_)
            nd.has_grad = false;
        const std::size_t last = nodes_.size() - 1;
        nodes_[last].has_grad = true;
        // A node needs dL/dy only when it or a node upstream of it has trainable parameters (or
        // it is the input and dx is asked for): the first dense layer of an MLP then skips its dx
        // GEMM, about a third of the backward work, and parameter-free layers before it skip
        // backward.
        needs_grad_.assign(nodes_.size(), 0);
        needs_grad_[input_node] = dx != nullptr;
        for (std::size_t j = 1; j <= last; ++j) {
            bool upstream = !nodes_[j].frozen && nodes_[j].op->parameter_count() > 0;
            for (std::size_t i : nodes_[j].inputs)
                upstream = upstream || needs_grad_[i];
            needs_grad_[j] = upstream;
        }
        auto wants = [&](std::size_t i) { return needs_grad_[i] != 0; };

        for (std::size_t j = last; j >= 1; --j) {
            node& nd = nodes_[j];
            if (!nd.has_grad) { // an unused branch: nothing flows in, so its gradients are zero
                for (auto& p : nd.op->parameters())
                    std::fill(p.gradient->begin(), p.gradient->end(), T(0));
                continue;
            }
            if (!needs_grad_[j])
                continue;
            const array<T>& g = j == last ? dy : nd.dy;
            bool want_dx = false;
            for (std::size_t i : nd.inputs)
                want_dx = want_dx || wants(i);
            array<T>* target = nullptr;
            const bool direct = nd.inputs.size() == 1 && nodes_[nd.inputs[0]].consumers == 1;
            if (want_dx)
                target = direct ? &nodes_[nd.inputs[0]].dy : &nd.dmerged;
            nd.op->backward(input_of(nd), nd.y, g, target);
            if (!want_dx)
                continue;
            if (direct) {
                nodes_[nd.inputs[0]].has_grad = true;
                continue;
            }
            std::size_t offset = 0; // dim-1 offset of the current input inside a concat
            for (std::size_t k = 0; k < nd.inputs.size(); ++k) {
                node& src = nodes_[nd.inputs[k]];
                if (wants(nd.inputs[k])) {
                    if (nd.inputs.size() == 1 || nd.merge == merge_op::add)
                        residual_add<T>::backward(nd.dmerged, k, src.dy, src.has_grad);
                    else
                        concat<T>::backward(nd.dmerged, offset, src.out_shape, src.dy,
                                            src.has_grad);
                    src.has_grad = true;
                }
                if (!src.out_shape.empty())
                    offset += src.out_shape[0];
            }
        }
        if (dx) {
            node& in = nodes_[0];
            ensure_shape(*dx, {in.y.shape().begin(), in.y.shape().end()});
            if (in.has_grad && last > 0)
                std::copy(in.dy.data(), in.dy.data() + in.dy.size(), dx->data());
            else if (last == 0)
                std::copy(dy.data(), dy.data() + dy.size(), dx->data());
            else
                std::fill(dx->begin(), dx->end(), T(0));
        }
    }

    /// Every parameter, node by node in id order, each layer's in its own order; names are
    /// prefixed by the node id ("3.weight"), which serialization relies on. The views stay
    /// valid while the network is alive and no node is added (moving the network keeps them).
    std::vector<parameter<T>> parameters() { return parameters_of(true); }

    /// Freezes (frozen = true) or thaws node `id`: trainable_parameters() leaves a frozen node's
    /// parameters out, so train::fit's optimizer never changes them, and backward skips their
    /// gradients unless a trainable node upstream needs the gradient to pass through. A frozen
    /// layer still runs as in training (dropout draws masks, batch norm's running statistics
    /// move), as a PyTorch module with requires_grad off does. Freezing is a training setting:
    /// copies keep it, serialization does not. Throws std::out_of_range for a non-layer id.
    void freeze(std::size_t id, bool frozen = true) { checked(id, "freeze").frozen = frozen; }
    bool frozen(std::size_t id) const { return checked(id, "frozen").frozen; }

    /// parameters() without those of frozen nodes: what an optimizer should update.
    std::vector<parameter<T>> trainable_parameters() { return parameters_of(false); }

    /// Learnable scalars over all layers.
    std::size_t parameter_count() const {
        std::size_t n = 0;
        for (std::size_t j = 1; j < nodes_.size(); ++j)
            n += nodes_[j].op->parameter_count();
        return n;
    }

    /// Forward operations per sample (a multiply-add is 2), layers and merges.
    std::size_t flops() const {
        std::size_t n = 0;
        for (std::size_t j = 1; j < nodes_.size(); ++j) {
            const node& nd = nodes_[j];
            n += nd.op->flops(nd.in_shape);
            if (nd.inputs.size() > 1) {
                std::vector<shape> in;
                for (std::size_t i : nd.inputs)
                    in.push_back(nodes_[i].out_shape);
                n += merge_flops(nd.merge, in);
            }
        }
        return n;
    }

    /// Per-sample shape of the input and of the output (the last node).
    const shape& input_shape() const { return nodes_[0].out_shape; }
    const shape& output_shape() const { return nodes_.back().out_shape; }

    /// Number of nodes, the input node included (so layers are nodes 1 .. size() - 1).
    std::size_t size() const { return nodes_.size(); }
    /// Number of layers (size() - 1).
    std::size_t layer_count() const { return nodes_.size() - 1; }

    /// The layer of node `id` (1 .. size() - 1); throws std::out_of_range otherwise.
    any_layer<T>& layer(std::size_t id) { return *checked(id, "layer").op; }
    const any_layer<T>& layer(std::size_t id) const { return *checked(id, "layer").op; }
    /// Input node ids of node `id`.
    const std::vector<std::size_t>& inputs(std::size_t id) const {
        return checked(id, "inputs").inputs;
    }
    /// How node `id` merges several inputs.
    merge_op merge(std::size_t id) const { return checked(id, "merge").merge; }
    /// Per-sample output shape of node `id` (node 0: the input shape).
    const shape& node_shape(std::size_t id) const {
        if (id >= nodes_.size())
            throw std::out_of_range("xnas::nn::network::node_shape: no node " + std::to_string(id));
        return nodes_[id].out_shape;
    }
    /// Activations of node `id` from the last forward.
    const array<T>& activation(std::size_t id) const {
        if (id >= nodes_.size())
            throw std::out_of_range("xnas::nn::network::activation: no node " + std::to_string(id));
        return nodes_[id].y;
    }

    // nn::layer model, so a network can be one layer of another.
    void forward(const array<T>& x, array<T>& y, mode m) {
        const array<T>& out = forward(x, m);
        ensure_shape(y, {out.shape().begin(), out.shape().end()});
        std::copy(out.data(), out.data() + out.size(), y.data());
    }
    void backward(const array<T>&, const array<T>&, const array<T>& dy, array<T>* dx) {
        backward(dy, dx);
    }
    shape output_shape(const shape& in) const {
        if (in != input_shape())
            throw shape_error("xnas::nn::network: input has shape " + to_string(in) +
                              ", network expects " + to_string(input_shape()));
        return output_shape();
    }
    std::size_t flops(const shape&) const { return flops(); }

  private:
    struct node {
        std::optional<any_layer<T>> op; // empty for the input node
        std::vector<std::size_t> inputs;
        merge_op merge = merge_op::add;
        shape in_shape, out_shape; // per sample: after the merge, after the layer
        std::size_t consumers = 0;
        bool has_grad = false;
        bool frozen = false;      // see freeze
        array<T> y, dy;           // activations and dL/dy
        array<T> merged, dmerged; // merged input and its gradient (several inputs or consumers)
    };

    std::vector<parameter<T>> parameters_of(bool with_frozen) {
        std::vector<parameter<T>> all;
        for (std::size_t j = 1; j < nodes_.size(); ++j) {
            if (nodes_[j].frozen && !with_frozen)
                continue;
            for (auto& p : nodes_[j].op->parameters()) {
                p.name = std::to_string(j) + "." + p.name;
                all.push_back(std::move(p));
            }
        }
        return all;
    }

    const array<T>& input_of(node& nd) {
        if (nd.inputs.size() == 1)
            return nodes_[nd.inputs[0]].y;
        ptrs_.clear();
        for (std::size_t i : nd.inputs)
            ptrs_.push_back(&nodes_[i].y);
        if (nd.merge == merge_op::add)
            residual_add<T>::forward(ptrs_, nd.merged);
        else
            concat<T>::forward(ptrs_, nd.merged);
        return nd.merged;
    }

    const node& checked(std::size_t id, const char* what) const {
        if (id == 0 || id >= nodes_.size())
            throw std::out_of_range(std::string("xnas::nn::network::") + what + ": no layer node " +
                                    std::to_string(id) + " (layers are nodes 1.." +
                                    std::to_string(nodes_.size() - 1) + ")");
        return nodes_[id];
    }
    node& checked(std::size_t id, const char* what) {
        return const_cast<node&>(std::as_const(*this).checked(id, what));
    }

    static std::string list(const std::vector<std::size_t>& ids, const std::vector<shape>& shapes) {
        std::string s = ids.size() == 1 ? "node " : "nodes ";
        for (std::size_t k = 0; k < ids.size(); ++k)
            s += (k ? ", " : "") + std::to_string(ids[k]) + " " + to_string(shapes[k]);
        return s;
    }

    std::vector<node> nodes_;
    std::vector<const array<T>*> ptrs_; // scratch for merges, reserved at add()
    std::vector<char> needs_grad_;      // per node, recomputed by each backward
    bool forwarded_ = false;
};

static_assert(layer<network<float>>);

} // namespace xnas::nn
