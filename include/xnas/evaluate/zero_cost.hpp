#pragma once
// Zero-cost proxies: scores of an untrained network that correlate with its trained accuracy,
// for pre-screening candidates at the cost of one forward (and backward) pass.
//  - synflow (Tanaka et al., "Pruning neural networks without any data by iteratively conserving
//    synaptic flow", NeurIPS 2020, arXiv:2006.05467; as a NAS proxy: Abdelfattah et al.,
//    "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, arXiv:2101.08134);
//  - NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021,
//    arXiv:2006.04647): log |det K| of the Hamming-similarity kernel of activation codes.
// zero_cost_evaluator wraps either as an evaluator that builds a candidate and scores it
// untrained (evaluate/prescreen.hpp keeps the best of many that way).

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/evaluate/builder.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/merge.hpp>
#include <xnas/nn/network.hpp>

namespace xnas::evaluate {

namespace detail {

/// synflow on `probe` itself, which it overwrites (absolute weights, activations, gradients).
template <class T>
double synflow_in_place(nn::network<T>& probe) {
    for (auto& p : probe.parameters())
        if (!nn::is_running_state(p.name))
            for (auto& v : *p.value)
                v = std::abs(v);
    nn::array<T> x = nn::array<T>::from_shape(nn::with_batch(1, probe.input_shape()));
    std::fill(x.begin(), x.end(), T(1));
    const nn::array<T>& y = probe.forward(x, nn::mode::eval);
    nn::array<T> dy = nn::array<T>::from_shape({y.shape().begin(), y.shape().end()});
    std::fill(dy.begin(), dy.end(), T(1));
    probe.backward(dy);
    double score = 0;
    for (auto& p : probe.parameters()) {
        if (nn::is_running_state(p.name))
            continue;
        for (std::size_t i = 0; i < p.value->size(); ++i)
            score += static_cast<double>(p.value->data()[i]) *
                     static_cast<double>(p.gradient->data()[i]);
    }
    return score;
}

} // namespace detail

/// Synflow score: sum over parameters of |theta| * dR/d|theta|, where R is the sum of the
/// network's outputs for an all-ones input with every parameter replaced by its absolute value
/// (eval mode, so batch norm uses its running statistics). Works on a copy; `net` is unchanged.
/// Larger is better. Complexity: one forward and one backward pass of one sample.
template <class T>
double synflow(const nn::network<T>& net) {
    nn::network<T> probe = net;
    return detail::synflow_in_place(probe);
}

namespace detail {

/// log |det A| of a dense square matrix (row-major, n x n) by LU with partial pivoting;
/// -infinity when singular.
inline double log_abs_det(std::vector<double> a, std::size_t n) {
    double logdet = 0;
    for (std::size_t k = 0; k < n; ++k) {
        std::size_t pivot = k;
        for (std::size_t i = k + 1; i < n; ++i)
            if (std::abs(a[i * n + k]) > std::abs(a[pivot * n + k]))
                pivot = i;
        if (a[pivot * n + k] == 0.0)
            return -std::numeric_limits<double>::infinity();
        if (pivot != k)
            for (std::size_t j = 0; j < n; ++j)
                std::swap(a[k * n + j], a[pivot * n + j]);
        const double d = a[k * n + k];
        logdet += std::log(std::abs(d));
        for (std::size_t i = k + 1; i < n; ++i) {
            const double f = a[i * n + k] / d;
            if (f != 0.0)
                for (std::size_t j = k + 1; j < n; ++j)
                    a[i * n + j] -= f * a[k * n + j];
        }
    }
    return logdet;
}

/// True for the spec types of the element-wise activations nn ships (nn/layers/activation.hpp):
/// the layers whose units NASWOT codes.
inline bool is_elementwise_activation(const std::string& type) {
    return type == "relu" || type == "leaky_relu" || type == "gelu" || type == "tanh" ||
           type == "sigmoid";
}

/// The input node `id`'s layer saw in the last forward: its single input node's activations,
/// or for several inputs their merge recomputed into `scratch` (the network keeps merged
/// inputs private).
template <class T>
const nn::array<T>& layer_input(const nn::network<T>& net, std::size_t id, nn::array<T>& scratch) {
    const auto& in = net.inputs(id);
    if (in.size() == 1)
        return net.activation(in[0]);
    std::vector<const nn::array<T>*> xs;
    xs.reserve(in.size());
    for (std::size_t i : in)
        xs.push_back(&net.activation(i));
    if (net.merge(id) == nn::merge_op::add)
        nn::residual_add<T>::forward(xs, scratch);
    else
        nn::concat<T>::forward(xs, scratch);
    return scratch;
}

/// naswot on `probe` itself, which it runs forward.
template <class T>
double naswot_in_place(nn::network<T>& probe, const nn::array<T>& x) {
    if (x.dimension() == 0 || x.shape()[0] < 2)
        throw std::invalid_argument("xnas::evaluate::naswot: need a batch of at least 2 samples");
    probe.forward(x, nn::mode::train);
    const std::size_t n = x.shape()[0];
    std::vector<double> k(n * n, 0.0);
    std::size_t units = 0;
    nn::array<T> merged;
    std::vector<std::uint64_t> codes;
    for (std::size_t id = 1; id < probe.size(); ++id) {
        if (!is_elementwise_activation(probe.layer(id).spec().type))
            continue;
        const auto& a = layer_input(probe, id, merged);
        const std::size_t per = a.size() / n;
        units += per;
        // Codes packed 64 units to a word, so that a pair's Hamming distance is a popcount of
        // XORs: comparing unit by unit took longer than the forward pass, and packing halved a
        // candidate's time on chain_space::image() networks at 28x28 (202 to 98 ms, N = 64).
        const std::size_t words = (per + 63) / 64;
        codes.assign(n * words, 0);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t u = 0; u < per; ++u)
                if (a.data()[i * per + u] > T(0))
                    codes[i * words + u / 64] |= std::uint64_t{1} << (u % 64);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = i; j < n; ++j) {
                std::size_t hamming = 0;
                for (std::size_t w = 0; w < words; ++w)
                    hamming += static_cast<std::size_t>(
                        std::popcount(codes[i * words + w] ^ codes[j * words + w]));
                k[i * n + j] += static_cast<double>(per - hamming);
            }
    }
    if (units == 0)
        throw std::invalid_argument(
            "xnas::evaluate::naswot: the network has no element-wise activation layer (relu, "
            "leaky_relu, gelu, tanh or sigmoid) whose units could be coded");
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < i; ++j)
            k[i * n + j] = k[j * n + i];
    return log_abs_det(std::move(k), n);
}

} // namespace detail

/// NASWOT score of `net` on the batch `x` (N samples; N of 32 to 128 is typical), run forward
/// in train mode: each sample's binary code holds, for every unit of every element-wise
/// activation layer (relu, leaky_relu, gelu, tanh, sigmoid), whether the unit's pre-activation
/// (the layer's input) is > 0; K[i][j] = (number of units) - Hamming(c_i, c_j); the score is
/// log |det K|. Larger is better; -infinity when K is singular: two samples share a code, or
/// the network has fewer than N - 1 units (K has rank at most units + 1).
/// Mellor et al. code ReLU units by their output, which is > 0 exactly when the input is, so
/// ReLU networks score as in the paper. The pre-activation sign generalises that code to the
/// other activations (the linear piece of leaky ReLU, the side of GELU's, tanh's and sigmoid's
/// bend) where their outputs would not do: a sigmoid output is always > 0, so every unit would
/// look active. Throws std::invalid_argument when the network has no such layer (the proxy is
/// undefined) or the batch has < 2 samples.
template <class T>
double naswot(const nn::network<T>& net, const nn::array<T>& x) {
    nn::network<T> probe = net;
    return detail::naswot_in_place(probe, x);
}

} // namespace xnas::evaluate

namespace xnas {

/// Which zero-cost proxy a zero_cost_evaluator reports.
enum class zero_cost_proxy {
    synflow, ///< data-free: one all-ones forward and backward pass
    naswot   ///< one forward pass of a mini-batch of the data
};

/// "synflow" or "naswot": also the name of the objective the evaluator reports.
inline const char* to_string(zero_cost_proxy p) {
    return p == zero_cost_proxy::synflow ? "synflow" : "naswot";
}

struct zero_cost_options {
    zero_cost_proxy proxy = zero_cost_proxy::naswot;
    /// naswot's mini-batch, drawn once from the data without replacement (at most its size).
    std::size_t batch_size = 64;
    nn::init::scheme init = nn::init::scheme::pytorch_default;
    std::uint64_t seed = 0; ///< seeds the mini-batch and every candidate's initialisation
};

/// Evaluates architectures of type A by a zero-cost proxy of the untrained network `builder`
/// makes of them: never trains, so it costs one forward (and, for synflow, one backward) pass.
/// For pre-screening (xnas::prescreen), not for ranking a search's final candidates: proxies
/// correlate with trained accuracy only loosely.
///
/// Objectives reported: the proxy's score under to_string(options.proxy) (maximise), params and
/// flops (per sample) as train_evaluator names them. Cost: wall-clock seconds. The trial's
/// fidelity is ignored.
///
/// Every candidate is built and initialised (options.init) from xnas::rng(options.seed), in
/// the order train_evaluator uses, and naswot sees the same mini-batch every time (batch()). The
/// trial id is left out, unlike train_evaluator's seeding: then the score is a function of the
/// architecture, so one drawn twice, or scored again in another study, scores the same.
///
/// Failures are evaluations, never exceptions: a builder or layer that throws, or a proxy that
/// throws (naswot on a network without an activation layer) -> failed with the message; a score
/// that is not finite (naswot's -inf for a singular kernel, a synflow overflow) ->
/// failed naming it. Thread-safe: evaluate keeps all state local, the batch is shared read-only.
template <class A, builder<A> B>
class zero_cost_evaluator {
  public:
    static constexpr bool thread_safe = true;

    /// `data` supplies naswot's mini-batch; synflow needs none (it may be null). Throws
    /// std::invalid_argument for naswot without at least 2 samples or with batch_size < 2.
    zero_cost_evaluator(B b, const std::shared_ptr<const data::dataset<float>>& data,
                        zero_cost_options options = {})
        : builder_(std::move(b))
        , options_(options) {
        if (options_.proxy != zero_cost_proxy::naswot)
            return;
        if (!data || data->size() < 2 || options_.batch_size < 2)
            throw std::invalid_argument("xnas::zero_cost_evaluator: naswot needs a batch of at "
                                        "least 2 samples (non-empty data, batch_size >= 2)");
        std::vector<std::size_t> pick(data->size());
        std::iota(pick.begin(), pick.end(), std::size_t{0});
        rng g(options_.seed);
        g.shuffle(pick.begin(), pick.end());
        pick.resize(std::min(options_.batch_size, pick.size()));
        batch_ = data->subset(pick).x;
    }

    const B& builder() const { return builder_; }
    const zero_cost_options& options() const { return options_; }
    /// The objective the score is reported under, for prescreen and search_options.
    xnas::objective objective() const { return {to_string(options_.proxy), direction::maximize}; }
    /// naswot's mini-batch, (N, sample shape...); unused by synflow.
    const nn::array<float>& batch() const { return batch_; }

    evaluation evaluate(const trial<A>& t) const {
        const auto start = std::chrono::steady_clock::now();
        auto elapsed = [&] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        };
        const std::string name = to_string(options_.proxy);
        try {
            rng g(options_.seed);
            nn::network<float> net = builder_.build(t.architecture, g);
            nn::init::apply(net, options_.init, g);
            const std::size_t params = net.parameter_count();
            const std::size_t flops = net.flops();
            // The proxies overwrite the network they score: this one is not needed afterwards.
            const double score = options_.proxy == zero_cost_proxy::synflow
                                     ? evaluate::detail::synflow_in_place(net)
                                     : evaluate::detail::naswot_in_place(net, batch_);
            if (!std::isfinite(score))
                return evaluation::failure(
                    status::failed,
                    name + " score is " + std::to_string(score) +
                        (options_.proxy == zero_cost_proxy::naswot
                             ? ": the kernel of the batch's codes is singular (two samples "
                               "share a code, or the network has fewer units than samples)"
                             : ": the all-ones pass overflowed"),
                    elapsed());
            evaluation e;
            e.objectives[name] = score;
            e.objectives["params"] = static_cast<double>(params);
            e.objectives["flops"] = static_cast<double>(flops);
            e.cost = elapsed();
            return e;
        } catch (const std::exception& ex) {
            return evaluation::failure(status::failed, ex.what(), elapsed());
        }
    }

  private:
    B builder_;
    zero_cost_options options_;
    nn::array<float> batch_;
};

} // namespace xnas
