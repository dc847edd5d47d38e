#pragma once
// nn::init, weight initialisers: He (Kaiming) and Xavier (Glorot) uniform/normal, PyTorch's
// default per layer type, and init::apply, which initialises every parameter of a layer (or of
// every layer of a network) by its name, shape and layer type. All draws go through an explicit
// xnas::rng: same seed, same weights.

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/nn/layer.hpp>
#include <xnas/nn/network.hpp>

namespace xnas::nn::init {

/// How init::apply initialises weights (parameters of rank >= 2) and biases.
enum class scheme {
    /// PyTorch's layer defaults: weights kaiming_uniform(a = sqrt(5)), i.e.
    /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the
    /// weight's fan_in; recurrent layers (lstm, gru) U(-1/sqrt(H), 1/sqrt(H)) everywhere.
    pytorch_default,
    he_uniform,     ///< weights he_uniform (ReLU gain), biases 0
    he_normal,      ///< weights he_normal (ReLU gain), biases 0
    xavier_uniform, ///< weights xavier_uniform (gain 1), biases 0
    xavier_normal,  ///< weights xavier_normal (gain 1), biases 0
};

/// "pytorch_default", "he_uniform", ... (the enumerator's name).
inline std::string to_string(scheme s) {
    switch (s) {
    case scheme::pytorch_default:
        return "pytorch_default";
    case scheme::he_uniform:
        return "he_uniform";
    case scheme::he_normal:
        return "he_normal";
    case scheme::xavier_uniform:
        return "xavier_uniform";
    case scheme::xavier_normal:
        return "xavier_normal";
    }
    return "unknown";
}

/// The scheme named by to_string; throws xnas::parse_error naming the text and the choices.
inline scheme parse_scheme(std::string_view text) {
    for (auto s : {scheme::pytorch_default, scheme::he_uniform, scheme::he_normal,
                   scheme::xavier_uniform, scheme::xavier_normal})
        if (text == to_string(s))
            return s;
    throw parse_error("xnas::nn::init::parse_scheme: unknown scheme \"" + std::string(text) +
                      "\", expected pytorch_default, he_uniform, he_normal, xavier_uniform or "
                      "xavier_normal");
}

/// Fan-in and fan-out of a weight of full shape (out, in, k...) by PyTorch's rule:
/// fan_in = in * prod(k...), fan_out = out * prod(k...).
struct fans {
    std::size_t in = 0;
    std::size_t out = 0;
};

/// Throws xnas::shape_error when the shape has rank < 2 (a bias has no fan).
inline fans fans_of(const std::vector<std::size_t>& full_shape) {
    if (full_shape.size() < 2)
        throw shape_error("xnas::nn::init::fans_of: weight has shape " + nn::to_string(full_shape) +
                          ", expected rank >= 2 (out, in, ...)");
    std::size_t receptive = 1;
    for (std::size_t i = 2; i < full_shape.size(); ++i)
        receptive *= full_shape[i];
    return {full_shape[1] * receptive, full_shape[0] * receptive};
}

template <class T>
fans fans_of(const array<T>& w) {
    return fans_of(std::vector<std::size_t>(w.shape().begin(), w.shape().end()));
}

/// Every element from U(lo, hi).
template <class T>
void uniform(array<T>& a, rng& g, double lo, double hi) {
    for (auto& v : a)
        v = static_cast<T>(g.uniform(lo, hi));
}

/// Every element from N(mean, stddev^2).
template <class T>
void normal(array<T>& a, rng& g, double mean, double stddev) {
    for (auto& v : a)
        v = static_cast<T>(g.normal(mean, stddev));
}

/// Every element set to `value`.
template <class T>
void constant(array<T>& a, double value) {
    for (auto& v : a)
        v = static_cast<T>(value);
}

/// He et al. (2015, arXiv:1502.01852) uniform: U(-b, b), b = gain * sqrt(3 / fan_in) with
/// gain = sqrt(2 / (1 + a^2)) (a: negative slope of the leaky ReLU that follows; 0 for ReLU).
/// PyTorch's kaiming_uniform_(mode="fan_in"). Throws xnas::shape_error for rank < 2.
template <class T>
void he_uniform(array<T>& w, rng& g, double a = 0) {
    const double gain = std::sqrt(2.0 / (1 + a * a));
    const double bound = gain * std::sqrt(3.0 / static_cast<double>(fans_of(w).in));
    uniform(w, g, -bound, bound);
}

/// He et al. (2015) normal: N(0, (gain / sqrt(fan_in))^2), gain as in he_uniform.
template <class T>
void he_normal(array<T>& w, rng& g, double a = 0) {
    const double gain = std::sqrt(2.0 / (1 + a * a));
    normal(w, g, 0.0, gain / std::sqrt(static_cast<double>(fans_of(w).in)));
}

/// Glorot & Bengio (2010) uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).
template <class T>
void xavier_uniform(array<T>& w, rng& g, double gain = 1) {
    const auto f = fans_of(w);
    const double bound = gain * std::sqrt(6.0 / static_cast<double>(f.in + f.out));
    uniform(w, g, -bound, bound);
}

/// Glorot & Bengio (2010) normal: N(0, gain^2 * 2 / (fan_in + fan_out)).
template <class T>
void xavier_normal(array<T>& w, rng& g, double gain = 1) {
    const auto f = fans_of(w);
    normal(w, g, 0.0, gain * std::sqrt(2.0 / static_cast<double>(f.in + f.out)));
}

namespace detail {

inline bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

inline bool is_recurrent(std::string_view type) {
    return type == "lstm" || type == "gru";
}

inline bool is_normalisation(std::string_view type) {
    return type.find("norm") != std::string_view::npos;
}

} // namespace detail

/// Initialises the parameters of one layer of type `layer_type` (its spec().type) by `s`:
///  - names starting with "running_" (batch-norm statistics) are left untouched;
///  - normalisation layers (type containing "norm", e.g. batch_norm): weight/gamma = 1,
///    bias/beta = 0 (other layers' parameters named gamma or beta follow the rules below);
///  - recurrent layers (lstm, gru): with pytorch_default every parameter U(-1/sqrt(H),
///    1/sqrt(H)), H the hidden size (second dimension of weight_hh); otherwise weights by the
///    scheme and biases 0;
///  - other parameters of rank >= 2 are weights, initialised by the scheme with fans from
///    their shape; parameters named bias* get U(-1/sqrt(fan_in), 1/sqrt(fan_in)) under
///    pytorch_default (fan_in of the layer's first weight; 0 if it has none), 0 otherwise;
///  - any other parameter of rank < 2 is left untouched.
/// Parameters are drawn in order, elements in row-major order: deterministic per generator.
template <class T>
void apply_to(std::span<const parameter<T>> params, std::string_view layer_type, scheme s, rng& g) {
    if (detail::is_recurrent(layer_type) && s == scheme::pytorch_default) {
        std::size_t hidden = 0;
        for (const auto& p : params)
            if (detail::starts_with(p.name, "weight_hh") && p.value->dimension() == 2)
                hidden = p.value->shape()[1];
        if (hidden == 0)
            throw shape_error("xnas::nn::init::apply_to: " + std::string(layer_type) +
                              " layer has no rank-2 parameter weight_hh to take H from");
        const double bound = 1.0 / std::sqrt(static_cast<double>(hidden));
        for (const auto& p : params)
            if (!detail::starts_with(p.name, "running_"))
                uniform(*p.value, g, -bound, bound);
        return;
    }
    const bool norm = detail::is_normalisation(layer_type);
    std::size_t layer_fan_in = 0;
    for (const auto& p : params)
        if (p.value->dimension() >= 2 && p.value->size() > 0 && !norm) {
            layer_fan_in = fans_of(*p.value).in;
            break;
        }
    for (const auto& p : params) {
        array<T>& v = *p.value;
        if (detail::starts_with(p.name, "running_") || v.size() == 0)
            continue;
        // gamma/beta are batch-norm names only: a user layer's own "beta" (Swish's slope, say)
        // is not a normalisation shift and must not be zeroed.
        if (norm && (p.name == "gamma" || p.name == "weight")) {
            constant(v, 1.0);
        } else if (norm && (p.name == "beta" || p.name == "bias")) {
            constant(v, 0.0);
        } else if (v.dimension() >= 2) {
            switch (s) {
            case scheme::pytorch_default:
                he_uniform(v, g, std::sqrt(5.0));
                break;
            case scheme::he_uniform:
                he_uniform(v, g);
                break;
            case scheme::he_normal:
                he_normal(v, g);
                break;
            case scheme::xavier_uniform:
                xavier_uniform(v, g);
                break;
            case scheme::xavier_normal:
                xavier_normal(v, g);
                break;
            }
        } else if (detail::starts_with(p.name, "bias")) {
            if (s == scheme::pytorch_default && layer_fan_in > 0) {
                const double bound = 1.0 / std::sqrt(static_cast<double>(layer_fan_in));
                uniform(v, g, -bound, bound);
            } else {
                constant(v, 0.0);
            }
        }
    }
}

/// Initialises every parameter of `layer` (any nn::layer, or an any_layer) by apply_to, with
/// the layer's spec().type when it describes itself ("custom" otherwise).
template <class L>
requires layer<L>
void apply(L& l, scheme s, rng& g) {
    std::string type = "custom";
    if constexpr (requires { l.spec(); })
        type = l.spec().type;
    const auto params = l.parameters();
    apply_to<typename L::value_type>(params, type, s, g);
}

/// Initialises every layer of `net` by apply, in node order (1 .. size() - 1; node 0 is the
/// input): the draws are those of applying it to each layer in turn with the same generator.
template <class T>
void apply(network<T>& net, scheme s, rng& g) {
    for (std::size_t id = 1; id < net.size(); ++id)
        apply(net.layer(id), s, g);
}

} // namespace xnas::nn::init
