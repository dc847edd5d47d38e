#pragma once
// nn::identity, y = x: a placeholder op (NAS-Bench-201's "skip_connect" on an edge).

#include <algorithm>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

/// Copies its input. spec(): type "identity", no attributes.
template <class T = float>
class identity {
  public:
    using value_type = T;

    void forward(const array<T>& x, array<T>& y, mode) {
        ensure_shape(y, {x.shape().begin(), x.shape().end()});
        std::copy(x.data(), x.data() + x.size(), y.data());
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        if (!dx)
            return;
        if (dy.size() != x.size())
            throw shape_error("xnas::nn::identity::backward: dy has " + std::to_string(dy.size()) +
                              " elements, expected " + std::to_string(x.size()));
        ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        std::copy(dy.data(), dy.data() + dy.size(), dx->data());
    }

    std::vector<parameter<T>> parameters() { return {}; }
    shape output_shape(const shape& in) const { return in; }
    std::size_t parameter_count() const { return 0; }
    std::size_t flops(const shape&) const { return 0; }
    layer_spec spec() const { return {"identity", {}}; }
};

static_assert(describable_layer<identity<float>>);

} // namespace xnas::nn
