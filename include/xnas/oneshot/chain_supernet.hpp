#pragma once
// xnas::chain_supernet, a Once-for-All style weight-sharing supernet (Cai et al., 2020,
// arXiv:1908.09791) over a chain_space of conv and dense layers: every layer position holds the
// weights of its largest choice, and an architecture runs on slices of them (the centre of the
// largest kernel, the first channels, the first rows and columns of a dense weight).

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/oneshot/supernet.hpp>
#include <xnas/space/chain_space.hpp>

namespace xnas {

class chain_supernet;

namespace detail {

/// The only layer of chain_supernet's network: it owns the shared weights (its parameters()) and
/// runs the active path as the network chain_builder builds for it, whose weights are copied
/// from their slices before every forward and whose gradients are scattered back after every
/// backward. Running the builder's own layers on contiguous copies keeps the tuned conv and
/// GEMM kernels and makes the supernet compute exactly what the extracted network computes;
/// the copies cost far less than the convolutions over a batch. Shapes inside vary with the
/// path, which an nn::network's nodes cannot (their shapes are fixed when added), hence one
/// node from the input to the logits.
///
/// Data-parallel training (train::fit with threads > 1) runs a copy of the path in every
/// replica, and the path's layers see the shards as the builder's network would: batch norms
/// share their statistics, and a wide dense layer computes the whole batch with the other
/// shards' copies, leaving its whole gradient in the first shard's copy (nn::dense) and the
/// others' untouched. Backward therefore zeroes the path's gradients first (a replica, a copy
/// of the supernet, may hold those of an earlier step): the shards' scattered gradients then
/// add up to the batch's.
class chain_supernet_layer {
  public:
    using value_type = float;

    chain_supernet_layer(nn::shape input, std::size_t classes)
        : input_(std::move(input))
        , classes_(classes) {}

    void forward(const nn::array<float>& x, nn::array<float>& y, nn::mode m) {
        path& p = active("forward");
        auto params = p.net.parameters();
        for (std::size_t k = 0; k < params.size(); ++k)
            gather(tensors_[p.slices[k].tensor].value, *params[k].value, p.slices[k]);
        const nn::array<float>& out = p.net.forward(x, m);
        nn::ensure_shape(y, {out.shape().begin(), out.shape().end()});
        std::copy(out.data(), out.data() + out.size(), y.data());
        if (m == nn::mode::train) // the batch norms moved their running statistics
            for (std::size_t k = 0; k < params.size(); ++k)
                if (p.slices[k].running)
                    scatter(tensors_[p.slices[k].tensor].value, *params[k].value, p.slices[k]);
    }

    void backward(const nn::array<float>&, const nn::array<float>&, const nn::array<float>& dy,
                  nn::array<float>* dx) {
        path& p = active("backward");
        auto params = p.net.parameters();
        for (const auto& q : params) // see the class comment on data parallelism
            std::fill(q.gradient->begin(), q.gradient->end(), 0.0f);
        p.net.backward(dy, dx);
        // Off the path the gradient is zero: clear what the last backward wrote, then scatter.
        for (auto& t : tensors_)
            if (t.dirty) {
                std::fill(t.gradient.begin(), t.gradient.end(), 0.0f);
                t.dirty = false;
            }
        for (std::size_t k = 0; k < params.size(); ++k)
            if (!p.slices[k].running) {
                tensor& t = tensors_[p.slices[k].tensor];
                scatter(t.gradient, *params[k].gradient, p.slices[k]);
                t.dirty = true;
            }
    }

    std::vector<nn::parameter<float>> parameters() {
        std::vector<nn::parameter<float>> all;
        all.reserve(tensors_.size());
        for (auto& t : tensors_)
            all.push_back({t.name, &t.value, &t.gradient});
        return all;
    }
    nn::shape output_shape(const nn::shape& in) const {
        if (in != input_)
            throw shape_error("xnas::chain_supernet: input has shape " + nn::to_string(in) +
                              ", the supernet expects " + nn::to_string(input_));
        return {classes_};
    }
    std::size_t parameter_count() const {
        std::size_t n = 0;
        for (const auto& t : tensors_)
            n += nn::is_running_state(t.name) ? 0 : t.value.size();
        return n;
    }
    /// The active path's (0 before the first activate).
    std::size_t flops(const nn::shape&) const { return active_ ? active_->net.flops() : 0; }

  private:
    friend class xnas::chain_supernet;

    struct tensor {
        std::string name;
        nn::array<float> value, gradient;
        bool dirty = false; ///< the gradient may hold non-zeros from the last backward
    };
    /// Where a parameter of a path's network lies: the block of a shared tensor at `offset`
    /// (per axis) of the parameter's own shape.
    struct slice {
        std::size_t tensor = 0;
        std::array<std::size_t, 4> offset{};
        bool running = false; ///< batch-norm statistics: copied back after a train forward
    };
    struct path {
        chain_space::architecture architecture;
        nn::network<float> net;
        std::vector<slice> slices; ///< one per net.parameters(), in order
    };

    path& active(const char* fn) {
        if (!active_)
            throw std::logic_error(std::string("xnas::chain_supernet::network: ") + fn +
                                   " before any activate: no path to run");
        return *active_;
    }

    std::size_t add(std::string name, const std::vector<std::size_t>& shape, float fill) {
        tensors_.push_back(
            {std::move(name), nn::array<float>(shape, fill), nn::array<float>(shape, 0.0f), false});
        index_[tensors_.back().name] = tensors_.size() - 1;
        return tensors_.size() - 1;
    }

    /// Calls copy(big offset, small offset, count) for every row of the block of `big` at
    /// s.offset with `small`'s shape (ranks equal, at most 4).
    template <class Copy>
    static void rows(const nn::array<float>& big, const nn::array<float>& small, const slice& s,
                     Copy copy) {
        const std::size_t r = small.dimension();
        std::array<std::size_t, 4> n{1, 1, 1, 1}, N{1, 1, 1, 1}, o{};
        for (std::size_t d = 0; d < r; ++d) {
            n[4 - r + d] = small.shape()[d];
            N[4 - r + d] = big.shape()[d];
            o[4 - r + d] = s.offset[d];
        }
        for (std::size_t a = 0; a < n[0]; ++a)
            for (std::size_t b = 0; b < n[1]; ++b)
                for (std::size_t c = 0; c < n[2]; ++c)
                    copy((((a + o[0]) * N[1] + b + o[1]) * N[2] + c + o[2]) * N[3] + o[3],
                         ((a * n[1] + b) * n[2] + c) * n[3], n[3]);
    }
    static void gather(const nn::array<float>& big, nn::array<float>& small, const slice& s) {
        rows(big, small, s, [&](std::size_t i, std::size_t j, std::size_t n) {
            std::copy(big.data() + i, big.data() + i + n, small.data() + j);
        });
    }
    static void scatter(nn::array<float>& big, const nn::array<float>& small, const slice& s) {
        rows(big, small, s, [&](std::size_t i, std::size_t j, std::size_t n) {
            std::copy(small.data() + j, small.data() + j + n, big.data() + i);
        });
    }

    nn::shape input_;
    std::size_t classes_;
    std::vector<tensor> tensors_;
    std::map<std::string, std::size_t> index_;
    std::optional<path> active_;
};

} // namespace detail

/// A weight-sharing supernet over a chain_space whose ops are conv and dense (chain_builder's),
/// modelling xnas::supernet: activate(a) routes network() through a's path, extract(a) returns
/// the network chain_builder(space, options).build(a, g) builds, holding a's shared weights.
///
/// Weights, per layer position (stage s, position p < max_layers) and op, at their largest:
///  - conv: "stage<s>.layer<p>.conv.weight" (C_max, C_in_max, K_max, K_max) and ".bias"; a path
///    of k x k kernels and c channels uses the centre k x k of the first c output and first
///    C_in input channels (C_in: what the previous layer outputs), so every kernel size of the
///    op must differ from the largest by an even number. With bn=1 choosable, ".bn.weight",
///    ".bn.bias", ".bn.running_mean" and ".bn.running_var" (C_max), sliced to the first c;
///  - dense, and the classifier "head": one weight per input its position can receive,
///    ".in_<H>x<W>.weight" (W_max, C_max H W) for a flattened (C, H, W) map and ".in_flat.weight"
///    for flat features, and ".bias" (W_max); a path reads the first rows and the first
///    C H W (or F) columns. The flattened map's columns are channel-major, so its first C H W
///    columns are exactly its first C channels; but one weight cannot serve two map sizes,
///    whence one per size the pooling choices before the position can leave.
/// Activations, pooling, dropout and skips hold no weights. A position that can follow both
/// the network input and a layer slices the input's channels as the layer's first ones.
///
/// Weights are initialised as train_evaluator initialises built networks (PyTorch's defaults,
/// fans those of the largest weight), from `seed`. Batch-norm running statistics are shared as
/// the weights are, so they mix the statistics of every path trained: recalibrate them on an
/// extracted network before trusting eval-mode outputs. Dropout layers of a path are seeded
/// alike in network() and extract(a). Memory is the sum of the largest choices: with
/// chain_space::image() on 28 x 28 images, the first dense position alone holds
/// 256 x 64 x (28 x 28 + 14 x 14 + 7 x 7 + 3 x 3 + 1) weights (about 17 M).
/// An optimizer's weight decay still shrinks weights off the path, whose gradient is zero.
class chain_supernet {
  public:
    using architecture = chain_space::architecture;

    /// Throws std::invalid_argument naming an op other than conv and dense (the chain supernet
    /// slices only conv and dense weights), a conv without k or c or a dense without w, a
    /// non-positive size, or kernel sizes that are not centre crops of the largest.
    explicit chain_supernet(chain_space space, chain_builder_options options = {},
                            std::uint64_t seed = 0)
        : builder_(std::move(space), std::move(options))
        , net_(builder_.options().input) {
        detail::chain_supernet_layer layer(builder_.options().input, builder_.options().classes);
        rng g(seed);
        declare(layer, g);
        dropout_seed_ = g();
        net_.add(std::move(layer));
    }

    const chain_space& space() const { return builder_.space(); }
    const chain_builder_options& options() const { return builder_.options(); }

    /// Routes network() through a's path. Throws std::invalid_argument for an architecture
    /// outside the space (or one its builder cannot build, e.g. a conv after a dense layer).
    void activate(const architecture& a) {
        auto& l = layer();
        if (l.active_ && l.active_->architecture == a)
            return; // keep its buffers and dropout streams
        check(a, "activate");
        rng g(dropout_seed_);
        nn::network<float> net = builder_.build(a, g);
        auto slices = bind(net, a);
        l.active_.emplace(detail::chain_supernet_layer::path{a, std::move(net), std::move(slices)});
    }

    /// The supernet's network: one layer from the input to the logits whose parameters() are
    /// every shared weight (running statistics named "...running_*"); forward and backward need
    /// a path activated first (std::logic_error otherwise).
    nn::network<float>& network() { return net_; }
    const nn::network<float>& network() const { return net_; }

    /// a's network as chain_builder builds it, holding copies of its slices. Throws as activate.
    nn::network<float> extract(const architecture& a) const {
        check(a, "extract");
        rng g(dropout_seed_);
        nn::network<float> net = builder_.build(a, g);
        const auto slices = bind(net, a);
        const layer_type& l = layer();
        auto params = net.parameters();
        for (std::size_t k = 0; k < params.size(); ++k)
            l.gather(l.tensors_[slices[k].tensor].value, *params[k].value, slices[k]);
        return net;
    }

  private:
    using layer_type = detail::chain_supernet_layer;

    // One output a layer position may produce: c maps of h x w, or c flat features (h = 0).
    struct feature {
        std::size_t c = 0, h = 0, w = 0;
        auto operator<=>(const feature&) const = default;
    };
    using features = std::set<feature>;

    layer_type& layer() { return *net_.layer(1).target<layer_type>(); }
    const layer_type& layer() const { return *net_.layer(1).target<layer_type>(); }

    static std::string key(std::size_t h, std::size_t w) {
        return h ? "in_" + std::to_string(h) + "x" + std::to_string(w) : "in_flat";
    }

    // The values of choice `name` of op `o` as sizes; `fallback` when the op lacks it (empty:
    // the choice is required).
    static std::vector<std::string> values(const chain_space::op& o, const std::string& name,
                                           std::vector<std::string> fallback = {}) {
        for (const auto& c : o.choices)
            if (c.name == name)
                return c.values;
        if (fallback.empty())
            throw std::invalid_argument("xnas::chain_supernet: op \"" + o.name +
                                        "\" has no choice '" + name +
                                        "', which chain_builder reads");
        return fallback;
    }
    static std::vector<std::size_t> sizes(const chain_space::op& o, const std::string& name) {
        std::vector<std::size_t> out;
        for (const auto& v : values(o, name)) {
            const long x = std::strtol(v.c_str(), nullptr, 10); // as chain_builder reads them
            if (x <= 0)
                throw std::invalid_argument("xnas::chain_supernet: " + o.name + "." + name + " = " +
                                            v + " is not a positive size");
            out.push_back(static_cast<std::size_t>(x));
        }
        return out;
    }

    // Walks the positions stage by stage, tracking the outputs each can receive, and declares
    // (and initialises, in this order) the largest weights of every position's ops.
    void declare(layer_type& l, rng& g) const {
        const nn::shape& in = builder_.options().input;
        features before{in.size() == 3 ? feature{in[0], in[1], in[2]} : feature{nn::volume(in)}};
        for (std::size_t s = 0; s < space().stages().size(); ++s) {
            const auto& st = space().stages()[s];
            for (const auto& o : st.ops)
                if (o.name != "conv" && o.name != "dense")
                    throw std::invalid_argument(
                        "xnas::chain_supernet: op \"" + o.name + "\" of stage '" + st.name +
                        "' cannot share weights: the chain supernet slices only conv and dense "
                        "weights");
            features after = st.min_layers == 0 ? before : features{};
            features inputs = before;
            for (std::size_t p = 0; p < st.max_layers; ++p) {
                features outputs;
                for (const auto& o : st.ops) {
                    const std::string prefix =
                        "stage" + std::to_string(s) + ".layer" + std::to_string(p) + "." + o.name;
                    if (o.name == "conv") {
                        declare_conv(l, prefix, o, inputs, outputs, g);
                    } else {
                        const auto w = sizes(o, "w");
                        declare_dense(l, prefix, *std::max_element(w.begin(), w.end()), inputs, g);
                        for (std::size_t x : w)
                            outputs.insert(feature{x});
                    }
                }
                if (p + 1 >= st.min_layers)
                    after.insert(outputs.begin(), outputs.end());
                inputs = std::move(outputs);
            }
            before = std::move(after);
        }
        declare_dense(l, "head", builder_.options().classes, before, g);
    }

    void declare_conv(layer_type& l, const std::string& prefix, const chain_space::op& o,
                      const features& inputs, features& outputs, rng& g) const {
        const auto ks = sizes(o, "k"), cs = sizes(o, "c");
        const std::size_t kmax = *std::max_element(ks.begin(), ks.end());
        const std::size_t cmax = *std::max_element(cs.begin(), cs.end());
        for (std::size_t k : ks)
            if ((kmax - k) % 2)
                throw std::invalid_argument(
                    "xnas::chain_supernet: conv kernel k=" + std::to_string(k) +
                    " is not a centre crop of k=" + std::to_string(kmax) +
                    " (kernel sizes must differ by an even number)");
        const auto bn = values(o, "bn", {"0"});
        const auto pools = values(o, "pool", {"none"});
        std::size_t cin = 0;
        for (const feature& f : inputs) {
            if (f.h == 0)
                continue; // a conv cannot follow flat features: the builder refuses the path
            cin = std::max(cin, f.c);
            for (std::size_t k : ks) {
                // "same" padding k / 2, then 2 x 2 pooling where the map is at least 2 x 2
                const std::size_t h = f.h + 2 * (k / 2) - k + 1, w = f.w + 2 * (k / 2) - k + 1;
                for (const auto& pool : pools)
                    for (std::size_t c : cs)
                        outputs.insert(pool != "none" && h >= 2 && w >= 2
                                           ? feature{c, (h - 2) / 2 + 1, (w - 2) / 2 + 1}
                                           : feature{c, h, w});
            }
        }
        if (cin == 0)
            return;
        const std::size_t w = l.add(prefix + ".weight", {cmax, cin, kmax, kmax}, 0.0f);
        const std::size_t b = l.add(prefix + ".bias", {cmax}, 0.0f);
        initialise(l, {w, b}, "conv2d", g);
        if (std::find(bn.begin(), bn.end(), "1") != bn.end()) {
            l.add(prefix + ".bn.weight", {cmax}, 1.0f);
            l.add(prefix + ".bn.bias", {cmax}, 0.0f);
            l.add(prefix + ".bn.running_mean", {cmax}, 0.0f);
            l.add(prefix + ".bn.running_var", {cmax}, 1.0f);
        }
    }

    void declare_dense(layer_type& l, const std::string& prefix, std::size_t width,
                       const features& inputs, rng& g) const {
        std::map<std::string, std::size_t> widest; // per input key, its largest input
        for (const feature& f : inputs) {
            std::size_t& n = widest[key(f.h, f.w)];
            n = std::max(n, f.h ? f.c * f.h * f.w : f.c);
        }
        if (widest.empty())
            return;
        std::vector<std::size_t> ids;
        for (const auto& [k, n] : widest)
            ids.push_back(l.add(prefix + "." + k + ".weight", {width, n}, 0.0f));
        ids.push_back(l.add(prefix + ".bias", {width}, 0.0f));
        initialise(l, ids, "dense", g);
    }

    // nn::init's PyTorch defaults on the tensors `ids`, as nn::init::apply draws a built layer's.
    static void initialise(layer_type& l, const std::vector<std::size_t>& ids, const char* type,
                           rng& g) {
        std::vector<nn::parameter<float>> params;
        for (std::size_t id : ids) {
            auto& t = l.tensors_[id];
            const bool bias = t.name.ends_with(".bias");
            params.push_back({bias ? "bias" : "weight", &t.value, &t.gradient});
        }
        nn::init::apply_to<float>(params, type, nn::init::scheme::pytorch_default, g);
    }

    void check(const architecture& a, const char* fn) const {
        if (space().contains(a))
            return;
        // The space says what is wrong through the errors of its own members.
        std::string why = "it fails the space's constraint";
        try {
            (void)space().neighbours(a);
        } catch (const std::invalid_argument& e) {
            why = e.what();
        }
        throw std::invalid_argument(std::string("xnas::chain_supernet::") + fn +
                                    ": not an architecture of the supernet's space: " + why);
    }

    // The slice of every parameter of `net` (built by the builder for `a`), in parameters()
    // order: the builder adds, per chain layer, conv2d [batch_norm] or dense, then the head.
    std::vector<layer_type::slice> bind(nn::network<float>& net, const architecture& a) const {
        std::vector<std::string> owners;
        std::size_t begin = 0;
        for (std::size_t i = 0; i < a.layers.size(); ++i) {
            const auto& cl = a.layers[i];
            if (i == 0 || cl.stage != a.layers[i - 1].stage)
                begin = i;
            const std::string& op = space().op_name(cl);
            owners.push_back("stage" + std::to_string(cl.stage) + ".layer" +
                             std::to_string(i - begin) + "." + op);
            if (op == "conv" && space().has(cl, "bn") && space().value(cl, "bn") == "1")
                owners.push_back(owners.back() + ".bn");
        }
        owners.push_back("head");
        const layer_type& l = layer();
        std::vector<layer_type::slice> slices;
        std::size_t next = 0;
        for (std::size_t j = 1; j < net.size(); ++j) {
            auto params = net.layer(j).parameters();
            if (params.empty())
                continue;
            if (next == owners.size())
                throw std::logic_error("xnas::chain_supernet: the builder's network has more "
                                       "weighted layers than the architecture's layers explain");
            const std::string& owner = owners[next++];
            std::string in;
            if (net.layer(j).target<nn::dense<float>>()) {
                std::size_t src = net.inputs(j)[0];
                if (src != 0 && net.layer(src).target<nn::flatten<float>>())
                    src = net.inputs(src)[0];
                const nn::shape& s = net.node_shape(src);
                in = "." + (s.size() == 3 ? key(s[1], s[2]) : key(0, 0));
            }
            for (const auto& p : params) {
                const std::string name = owner + (p.name == "weight" ? in : "") + "." + p.name;
                const nn::shape need(p.value->shape().begin(), p.value->shape().end());
                const auto it = l.index_.find(name);
                const nn::array<float>* held =
                    it == l.index_.end() ? nullptr : &l.tensors_[it->second].value;
                layer_type::slice s{
                    it == l.index_.end() ? 0 : it->second, {}, p.name.starts_with("running_")};
                bool fits = held && held->dimension() == need.size() && need.size() <= 4;
                for (std::size_t d = 0; fits && d < need.size(); ++d) {
                    const std::size_t big = held->shape()[d];
                    fits = need[d] <= big && (d < 2 || (big - need[d]) % 2 == 0);
                    s.offset[d] = d < 2 || !fits ? 0 : (big - need[d]) / 2; // kernels: centred
                }
                if (!fits)
                    throw std::invalid_argument(
                        "xnas::chain_supernet: the path needs " + name + " of shape " +
                        nn::to_string(need) + ", which the supernet does not hold" +
                        (held
                             ? " (it holds " +
                                   nn::to_string({held->shape().begin(), held->shape().end()}) + ")"
                             : ""));
                slices.push_back(s);
            }
        }
        if (next != owners.size())
            throw std::logic_error("xnas::chain_supernet: the builder's network has fewer "
                                   "weighted layers than the architecture's layers need");
        return slices;
    }

    chain_builder builder_;
    nn::network<float> net_;
    std::uint64_t dropout_seed_ = 0;
};

static_assert(supernet<chain_supernet>);

} // namespace xnas
