#pragma once
// xnas::cell_supernet: the weight-sharing supernet of a cell_space (NAS-Bench-201 style): the
// network cell_builder builds, with every edge holding all of its ops at once (an nn::mixed_op).
// A single path runs one op per edge (SPOS, random weight sharing, ENAS); the mixture runs them
// all, weighted by per-edge softmax logits shared by every cell (DARTS).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/evaluate/cell_builder.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/mixed_op.hpp>
#include <xnas/oneshot/supernet.hpp>
#include <xnas/space/cell_space.hpp>

namespace xnas {

/// The supernet of the networks cell_builder(space, options, custom_ops) builds.
///
/// Every edge of every cell is one nn::mixed_op holding each op of the space as its own layers
/// (none: the zero op). The weights are those of `extract(a)` for any a: the stem, reductions and
/// head are shared by all paths, an edge op's layers by every architecture that puts that op on
/// that edge of that cell. Initialised as cell_builder's networks are (nn::init::apply, node by
/// node, an edge's ops in the space's order) from `seed`.
///
/// A user op (custom_ops) shares weights when it is a fixed structure: building it twice gives
/// layers of the same types with the same parameter names and shapes. One whose layers change
/// from call to call cannot hold weights for a path to inherit and is refused at construction.
class cell_supernet {
  public:
    using architecture = cell_space::architecture;

    /// Throws what cell_builder throws, and std::invalid_argument naming a user op that cannot
    /// share weights.
    explicit cell_supernet(cell_space space, cell_builder_options options = {},
                           std::map<std::string, cell_builder::edge_op> custom_ops = {},
                           std::uint64_t seed = 0,
                           nn::init::scheme init = nn::init::scheme::pytorch_default)
        : builder_(std::move(space), std::move(options), std::move(custom_ops))
        , net_(nn::shape{1}) {
        const cell_space& s = builder_.space();
        for (const auto& name : s.ops())
            check_shareable(name);
        rng g(seed);
        net_ = builder_.build_with([&](nn::network<float>& net, std::size_t from, std::size_t,
                                       std::size_t channels) -> std::optional<std::size_t> {
            const nn::shape in = net.node_shape(from);
            std::vector<std::optional<nn::network<float>>> candidates;
            for (const auto& name : s.ops()) {
                if (name == "none") {
                    candidates.emplace_back();
                    continue;
                }
                nn::network<float> op(in);
                for (auto& l : builder_.op_layers(name, channels))
                    op.add(std::move(l));
                candidates.emplace_back(std::move(op));
            }
            const std::size_t id = net.add(nn::mixed_op<float>(in, std::move(candidates)), {from});
            edge_nodes_.push_back(id);
            return id;
        });
        for (std::size_t id = 1; id < net_.size(); ++id) {
            if (auto* m = mixed(id))
                for (std::size_t k = 0; k < m->size(); ++k) {
                    if (auto* op = m->candidate(k))
                        nn::init::apply(*op, init, g);
                }
            else
                nn::init::apply(net_.layer(id), init, g);
        }
        alpha_ = nn::array<float>::from_shape({s.edges(), s.ops().size()});
        alpha_.fill(0.0f);
        dalpha_ = alpha_;
    }

    const cell_space& space() const { return builder_.space(); }
    const cell_builder& builder() const { return builder_; }
    nn::network<float>& network() { return net_; }

    /// Single-path mode through a's ops. Throws what cell_space throws for an architecture of
    /// another space.
    void activate(const architecture& a) {
        const cell_space& s = space();
        for (std::size_t e = 0; e < s.edges(); ++e) {
            const auto [i, j] = s.edge(e);
            s.op(a, i, j); // checks a against the space
        }
        for (std::size_t k = 0; k < edge_nodes_.size(); ++k)
            mixed(edge_nodes_[k])->choose(a.ops[k % s.edges()]);
    }

    /// cell_builder's network of `a` with the weights and batch-norm statistics a inherits.
    nn::network<float> extract(const architecture& a) {
        activate(a);
        rng unused(0); // building draws nothing
        nn::network<float> out = builder_.build(a, unused);
        std::vector<nn::parameter<float>> from;
        for (std::size_t id = 1; id < net_.size(); ++id) {
            auto params = mixed(id) ? mixed(id)->active_parameters() : net_.layer(id).parameters();
            from.insert(from.end(), params.begin(), params.end());
        }
        const auto to = out.parameters();
        if (to.size() != from.size())
            throw std::logic_error("xnas::cell_supernet::extract: the path has " +
                                   std::to_string(from.size()) + " parameters, its network " +
                                   std::to_string(to.size()));
        for (std::size_t k = 0; k < to.size(); ++k) {
            if (to[k].value->shape() != from[k].value->shape())
                throw std::logic_error("xnas::cell_supernet::extract: parameter " + to[k].name +
                                       " differs in shape from the supernet's " + from[k].name);
            std::copy(from[k].value->begin(), from[k].value->end(), to[k].value->begin());
        }
        return out;
    }

    /// The weights of every op of edge `edge` (edge order of the space) in every cell: what
    /// the paths through that edge do not share. Throws std::out_of_range unless edge < edges().
    std::vector<nn::parameter<float>> edge_parameters(std::size_t edge) {
        if (edge >= space().edges())
            throw std::out_of_range("xnas::cell_supernet::edge_parameters: edge " +
                                    std::to_string(edge) + " of " +
                                    std::to_string(space().edges()));
        std::vector<nn::parameter<float>> out;
        for (std::size_t k = edge; k < edge_nodes_.size(); k += space().edges()) {
            auto params = mixed(edge_nodes_[k])->parameters();
            out.insert(out.end(), params.begin(), params.end());
        }
        return out;
    }

    // ---- the continuous relaxation (DARTS) ----------------------------------------------------

    /// The architecture logits, one row per edge and one column per op (space order), shared by
    /// every cell; gradient from gather_alpha_gradient(). Not among network().parameters().
    nn::parameter<float> alpha() { return {"alpha", &alpha_, &dalpha_}; }

    /// Mixture mode: every edge mixes its ops by softmax of its row of alpha(). Call again after
    /// alpha() changes (an optimizer step on it).
    void mix() {
        const std::size_t ops = space().ops().size();
        for (std::size_t k = 0; k < edge_nodes_.size(); ++k) {
            const std::size_t e = k % space().edges();
            mixed(edge_nodes_[k])->mix({alpha_.data() + e * ops, ops});
        }
    }

    /// Sums every cell's dL/dalpha of the last backward (in mixture mode) into alpha()'s
    /// gradient, overwriting it.
    void gather_alpha_gradient() {
        const std::size_t ops = space().ops().size();
        dalpha_.fill(0.0f);
        for (std::size_t k = 0; k < edge_nodes_.size(); ++k) {
            const std::size_t e = k % space().edges();
            const auto& g = mixed(edge_nodes_[k])->alpha_gradient();
            for (std::size_t o = 0; o < ops; ++o)
                dalpha_.data()[e * ops + o] += g.data()[o];
        }
    }

  private:
    nn::mixed_op<float>* mixed(std::size_t id) {
        return net_.layer(id).target<nn::mixed_op<float>>();
    }

    void check_shareable(const std::string& name) const {
        if (name == "none")
            return;
        auto a = builder_.op_layers(name, 4);
        auto b = builder_.op_layers(name, 4);
        auto describe = [](std::vector<nn::any_layer<float>>& layers) {
            std::vector<std::pair<std::string, std::vector<std::size_t>>> d;
            for (auto& l : layers) {
                d.emplace_back(l.spec().type, std::vector<std::size_t>{});
                for (const auto& p : l.parameters()) {
                    d.emplace_back(p.name, std::vector<std::size_t>(p.value->shape().begin(),
                                                                    p.value->shape().end()));
                }
            }
            return d;
        };
        if (describe(a) != describe(b))
            throw std::invalid_argument(
                "xnas::cell_supernet: op \"" + name +
                "\" cannot share weights: building it twice gave layers of different types or "
                "parameter shapes, so no path could inherit its weights");
    }

    cell_builder builder_;
    nn::network<float> net_;
    std::vector<std::size_t> edge_nodes_; // cell by cell, each cell's edges in edge order
    nn::array<float> alpha_, dalpha_;
};

static_assert(supernet<cell_supernet>);

} // namespace xnas
