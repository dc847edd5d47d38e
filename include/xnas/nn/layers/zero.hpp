#pragma once
// nn::zero, y = 0 with the input's shape: NAS-Bench-201's "none" op, which cuts an edge of a
// cell while keeping the cell's sums well-formed.

#include <algorithm>
#include <vector>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

/// Outputs zeros shaped like its input; its input gradient is zero too.
/// spec(): type "zero", no attributes.
template <class T = float>
class zero {
  public:
    using value_type = T;

    void forward(const array<T>& x, array<T>& y, mode) {
        ensure_shape(y, {x.shape().begin(), x.shape().end()});
        std::fill(y.data(), y.data() + y.size(), T(0));
    }

    void backward(const array<T>& x, const array<T>&, const array<T>&, array<T>* dx) {
        if (!dx)
            return;
        ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        std::fill(dx->data(), dx->data() + dx->size(), T(0));
    }

    std::vector<parameter<T>> parameters() { return {}; }
    shape output_shape(const shape& in) const { return in; }
    std::size_t parameter_count() const { return 0; }
    std::size_t flops(const shape&) const { return 0; }
    layer_spec spec() const { return {"zero", {}}; }
};

static_assert(describable_layer<zero<float>>);

} // namespace xnas::nn
