#pragma once
// nn::make_layer: rebuilds a built-in layer from its layer_spec (what serialization stores and
// architecture builders may produce), with an optional user factory for the user's own types.

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/layer.hpp>
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
#include <xnas/nn/layers/zero.hpp>

namespace xnas::nn {

/// A user's factory for layer types make_layer does not know (or wants overridden): returns the
/// layer for a spec it recognises, std::nullopt otherwise.
template <class T>
using layer_factory = std::function<std::optional<any_layer<T>>(const layer_spec&)>;

/// The layer types make_layer builds, in alphabetical order.
inline const std::vector<std::string>& known_layer_types() {
    static const std::vector<std::string> types{
        "avg_pool2d",      "batch_norm", "conv2d",   "dense",      "dropout", "flatten",    "gelu",
        "global_avg_pool", "gru",        "identity", "leaky_relu", "lstm",    "max_pool2d", "relu",
        "sigmoid",         "tanh",       "zero"};
    return types;
}

namespace detail {

/// Reads the attributes of one spec with messages naming the layer type and the attribute.
class spec_reader {
  public:
    explicit spec_reader(const layer_spec& s)
        : s_(s) {}

    std::size_t size(const std::string& key) const {
        const std::string& v = text(key);
        if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
            throw bad(key, v, "a non-negative integer");
        errno = 0;
        const unsigned long long n = std::strtoull(v.c_str(), nullptr, 10);
        if (errno == ERANGE)
            throw bad(key, v, "a non-negative integer that fits in 64 bits");
        return static_cast<std::size_t>(n);
    }
    std::size_t size(const std::string& key, std::size_t fallback) const {
        return has(key) ? size(key) : fallback;
    }
    std::uint64_t u64(const std::string& key, std::uint64_t fallback) const {
        return has(key) ? static_cast<std::uint64_t>(size(key)) : fallback;
    }
    double real(const std::string& key, double fallback) const {
        if (!has(key))
            return fallback;
        // from_chars: strtod reads with the C locale's decimal separator (spec_real).
        const std::string& v = text(key);
        double d = 0;
        const auto r = std::from_chars(v.data(), v.data() + v.size(), d);
        if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size())
            throw bad(key, v, "a number");
        return d;
    }
    bool flag(const std::string& key, bool fallback) const {
        if (!has(key))
            return fallback;
        const std::string& v = text(key);
        if (v == "1" || v == "true")
            return true;
        if (v == "0" || v == "false")
            return false;
        throw bad(key, v, "\"1\" or \"0\"");
    }
    std::string string(const std::string& key, const std::string& fallback) const {
        return has(key) ? text(key) : fallback;
    }

  private:
    bool has(const std::string& key) const { return s_.attributes.count(key) != 0; }
    const std::string& text(const std::string& key) const {
        auto it = s_.attributes.find(key);
        if (it == s_.attributes.end())
            throw parse_error("xnas::nn::make_layer: " + s_.type + " needs attribute '" + key +
                              "', which is missing");
        return it->second;
    }
    parse_error bad(const std::string& key, const std::string& v, const char* expected) const {
        return parse_error("xnas::nn::make_layer: " + s_.type + " attribute '" + key + "' = '" + v +
                           "', expected " + expected);
    }
    const layer_spec& s_;
};

} // namespace detail

/// Builds the built-in layer `s` describes (s.type one of known_layer_types(), attributes as the
/// layer's spec() writes them). Parameters start as the layer's constructor leaves them.
/// Throws xnas::parse_error naming the type and listing the known ones for an unknown type,
/// or naming the attribute for a missing or malformed one; the layer's own constructor
/// validates values (std::invalid_argument).
template <class T = float>
any_layer<T> make_layer(const layer_spec& s) {
    const detail::spec_reader a(s);
    const std::string& t = s.type;
    if (t == "dense")
        return dense<T>(a.size("in"), a.size("out"), a.flag("bias", true));
    if (t == "conv2d") {
        conv2d_options o;
        o.in_channels = a.size("in_channels");
        o.out_channels = a.size("out_channels");
        o.kernel_h = a.size("kernel_h", o.kernel_h);
        o.kernel_w = a.size("kernel_w", o.kernel_w);
        o.stride_h = a.size("stride_h", o.stride_h);
        o.stride_w = a.size("stride_w", o.stride_w);
        o.padding_h = a.size("padding_h", o.padding_h);
        o.padding_w = a.size("padding_w", o.padding_w);
        o.groups = a.size("groups", o.groups);
        o.bias = a.flag("bias", o.bias);
        return conv2d<T>(o);
    }
    if (t == "max_pool2d" || t == "avg_pool2d") {
        pool2d_options o;
        o.kernel_h = a.size("kernel_h", o.kernel_h);
        o.kernel_w = a.size("kernel_w", o.kernel_w);
        o.stride_h = a.size("stride_h", o.stride_h);
        o.stride_w = a.size("stride_w", o.stride_w);
        o.padding_h = a.size("padding_h", o.padding_h);
        o.padding_w = a.size("padding_w", o.padding_w);
        if (t == "max_pool2d")
            return max_pool2d<T>(o);
        return avg_pool2d<T>(o, a.flag("count_include_pad", true));
    }
    if (t == "global_avg_pool")
        return global_avg_pool<T>();
    if (t == "batch_norm")
        return batch_norm<T>(
            batch_norm_options{a.size("features"), a.real("eps", 1e-5), a.real("momentum", 0.1)});
    if (t == "relu")
        return relu<T>();
    if (t == "leaky_relu")
        return leaky_relu<T>(static_cast<T>(a.real("slope", 0.01)));
    if (t == "gelu") {
        if (a.string("approximate", "none") != "none")
            throw parse_error("xnas::nn::make_layer: gelu attribute 'approximate' = '" +
                              a.string("approximate", "") + "', expected 'none'");
        return gelu<T>();
    }
    if (t == "tanh")
        return nn::tanh<T>();
    if (t == "sigmoid")
        return sigmoid<T>();
    if (t == "dropout")
        return dropout<T>(a.real("p", 0.5), a.u64("seed", 0));
    if (t == "lstm")
        return lstm<T>(a.size("input_size"), a.size("hidden_size"),
                       a.flag("return_sequences", true));
    if (t == "gru")
        return gru<T>(a.size("input_size"), a.size("hidden_size"),
                      a.flag("return_sequences", true));
    if (t == "flatten")
        return flatten<T>();
    if (t == "identity")
        return identity<T>();
    if (t == "zero")
        return zero<T>();
    std::string known;
    for (const auto& k : known_layer_types())
        known += (known.empty() ? "" : ", ") + k;
    throw parse_error("xnas::nn::make_layer: unknown layer type '" + t +
                      "'; known types: " + known + " (pass a layer_factory for your own types)");
}

/// As make_layer(s), but asks `custom` first; a custom factory returning std::nullopt falls
/// back to the built-in types.
template <class T = float>
any_layer<T> make_layer(const layer_spec& s, const layer_factory<T>& custom) {
    if (custom)
        if (auto l = custom(s))
            return std::move(*l);
    return make_layer<T>(s);
}

} // namespace xnas::nn
