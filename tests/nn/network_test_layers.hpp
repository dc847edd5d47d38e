#pragma once
// Small layers defined by the tests, as a user would write them: they model nn::layer without
// inheriting from anything. Used by the network, serialization and trainer tests.

#include <cmath>
#include <string>
#include <xnas/core/error.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::test {

/// y = tanh(x), any shape; no parameters; describes itself as "test_tanh".
template <class T>
struct tanh_layer {
    using value_type = T;
    void forward(const nn::array<T>& x, nn::array<T>& y, nn::mode) {
        nn::ensure_shape(y, {x.shape().begin(), x.shape().end()});
        for (std::size_t i = 0; i < x.size(); ++i)
            y.data()[i] = std::tanh(x.data()[i]);
    }
    void backward(const nn::array<T>& x, const nn::array<T>& y, const nn::array<T>& dy,
                  nn::array<T>* dx) {
        if (!dx)
            return;
        nn::ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        for (std::size_t i = 0; i < x.size(); ++i)
            dx->data()[i] = dy.data()[i] * (T(1) - y.data()[i] * y.data()[i]);
    }
    std::vector<nn::parameter<T>> parameters() { return {}; }
    nn::shape output_shape(const nn::shape& in) const { return in; }
    std::size_t parameter_count() const { return 0; }
    std::size_t flops(const nn::shape& in) const { return nn::volume(in); }
    nn::layer_spec spec() const { return {"test_tanh", {}}; }
};

/// y = alpha * x with one learnable scalar alpha; deliberately has no spec() (a user layer that
/// does not describe itself).
template <class T>
struct scale_layer {
    using value_type = T;
    nn::array<T> alpha = nn::array<T>({1}, T(1)), dalpha = nn::array<T>({1}, T(0));
    void forward(const nn::array<T>& x, nn::array<T>& y, nn::mode) {
        nn::ensure_shape(y, {x.shape().begin(), x.shape().end()});
        for (std::size_t i = 0; i < x.size(); ++i)
            y.data()[i] = alpha(0) * x.data()[i];
    }
    void backward(const nn::array<T>& x, const nn::array<T>&, const nn::array<T>& dy,
                  nn::array<T>* dx) {
        T s = 0;
        for (std::size_t i = 0; i < x.size(); ++i)
            s += dy.data()[i] * x.data()[i];
        dalpha(0) = s;
        if (dx) {
            nn::ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
            for (std::size_t i = 0; i < x.size(); ++i)
                dx->data()[i] = alpha(0) * dy.data()[i];
        }
    }
    std::vector<nn::parameter<T>> parameters() { return {{"alpha", &alpha, &dalpha}}; }
    nn::shape output_shape(const nn::shape& in) const { return in; }
    std::size_t parameter_count() const { return 1; }
    std::size_t flops(const nn::shape& in) const { return nn::volume(in); }
};

/// Accepts only rank-3 (C, H, W) samples: to provoke shape errors.
template <class T>
struct image_only_layer : tanh_layer<T> {
    nn::shape output_shape(const nn::shape& in) const {
        if (in.size() != 3)
            throw shape_error("image_only_layer: input has shape " + nn::to_string(in) +
                              ", layer expects (C, H, W)");
        return in;
    }
    nn::layer_spec spec() const { return {"image_only", {}}; }
};

} // namespace xnas::test
