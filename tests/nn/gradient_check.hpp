#pragma once
// Finite-difference gradient checks shared by the layer and loss tests: a layer's input and
// parameter gradients against central differences of L = sum(y * r) for a fixed random r.

#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::test {

/// Fill with uniform values in [lo, hi).
template <class T>
void fill_uniform(nn::array<T>& a, rng& g, double lo = -1.0, double hi = 1.0) {
    for (auto& v : a)
        v = static_cast<T>(g.uniform(lo, hi));
}

/// A double array of `shape` filled with uniform values in [lo, hi).
inline nn::array<double> uniform_array(std::vector<std::size_t> shape, rng& g, double lo = -1.0,
                                       double hi = 1.0) {
    nn::array<double> a = nn::array<double>::from_shape(shape);
    fill_uniform(a, g, lo, hi);
    return a;
}

/// Max relative error between analytic and numeric gradients, with a floor on the denominator
/// so that tiny gradients compare absolutely.
inline double relative_error(double analytic, double numeric) {
    return std::abs(analytic - numeric) / std::max(1e-3, std::abs(analytic) + std::abs(numeric));
}

/// Checks dL/dx and dL/dparams of `layer` at input x (double precision recommended).
/// `tolerance` bounds the relative error of every element.
template <class L>
void check_layer_gradients(L& layer, nn::array<typename L::value_type> x, rng& g,
                           double tolerance = 1e-5, double eps = 1e-6, nn::mode m = nn::mode::train,
                           bool check_input = true) {
    using T = typename L::value_type;
    nn::array<T> y;
    layer.forward(x, y, m);
    nn::array<T> r = y;
    fill_uniform(r, g);
    auto loss = [&](const nn::array<T>& in) {
        L copy = layer; // forward may update state (batch-norm running stats); keep `layer` clean
        nn::array<T> out;
        copy.forward(in, out, m);
        double s = 0;
        for (std::size_t i = 0; i < out.size(); ++i)
            s += static_cast<double>(out.data()[i]) * static_cast<double>(r.data()[i]);
        return s;
    };
    nn::array<T> dx;
    L probe = layer;
    nn::array<T> y2;
    probe.forward(x, y2, m);
    probe.backward(x, y2, r, check_input ? &dx : nullptr);

    if (check_input) {
        REQUIRE(dx.shape() == x.shape());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const T saved = x.data()[i];
            x.data()[i] = saved + static_cast<T>(eps);
            const double up = loss(x);
            x.data()[i] = saved - static_cast<T>(eps);
            const double down = loss(x);
            x.data()[i] = saved;
            const double numeric = (up - down) / (2 * eps);
            INFO("input element " << i << ": analytic " << dx.data()[i] << ", numeric " << numeric);
            CHECK(relative_error(dx.data()[i], numeric) < tolerance);
        }
    }
    auto probe_params = probe.parameters();
    auto params = layer.parameters();
    REQUIRE(probe_params.size() == params.size());
    for (std::size_t p = 0; p < params.size(); ++p) {
        // running_* parameters are state (batch-norm statistics) whose gradient is zero by
        // contract, although eval-mode outputs depend on them
        if (params[p].name.rfind("running_", 0) == 0)
            continue;
        auto& value = *params[p].value;
        const auto& grad = *probe_params[p].gradient;
        REQUIRE(grad.shape() == value.shape());
        for (std::size_t i = 0; i < value.size(); ++i) {
            const T saved = value.data()[i];
            value.data()[i] = saved + static_cast<T>(eps);
            const double up = loss(x);
            value.data()[i] = saved - static_cast<T>(eps);
            const double down = loss(x);
            value.data()[i] = saved;
            const double numeric = (up - down) / (2 * eps);
            INFO("parameter " << params[p].name << " element " << i << ": analytic "
                              << grad.data()[i] << ", numeric " << numeric);
            CHECK(relative_error(grad.data()[i], numeric) < tolerance);
        }
    }
}

} // namespace xnas::test
