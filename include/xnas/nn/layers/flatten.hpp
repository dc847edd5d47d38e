#pragma once
// nn::flatten, (N, d1, d2, ...) -> (N, d1 * d2 * ...): the bridge from convolutional feature
// maps to dense layers. Row-major order, so it is a copy of the buffer.

#include <algorithm>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

/// Flattens every sample to one feature vector. spec(): type "flatten", no attributes.
template <class T = float>
class flatten {
  public:
    using value_type = T;

    void forward(const array<T>& x, array<T>& y, mode) {
        if (x.dimension() < 1)
            throw shape_error(
                "xnas::nn::flatten::forward: input has rank 0, layer expects (N, ...)");
        const std::size_t n = x.shape()[0];
        ensure_shape(y, {n, n ? x.size() / n : volume({x.shape().begin() + 1, x.shape().end()})});
        std::copy(x.data(), x.data() + x.size(), y.data());
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        if (!dx)
            return;
        if (dy.size() != x.size())
            throw shape_error("xnas::nn::flatten::backward: dy has " + std::to_string(dy.size()) +
                              " elements, expected " + std::to_string(x.size()));
        ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        std::copy(dy.data(), dy.data() + dy.size(), dx->data());
    }

    std::vector<parameter<T>> parameters() { return {}; }
    shape output_shape(const shape& in) const { return {volume(in)}; }
    std::size_t parameter_count() const { return 0; }
    std::size_t flops(const shape&) const { return 0; }
    layer_spec spec() const { return {"flatten", {}}; }
};

static_assert(describable_layer<flatten<float>>);

} // namespace xnas::nn
