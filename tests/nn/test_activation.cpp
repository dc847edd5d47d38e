#include "gradient_check.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/layers/activation.hpp>

using namespace xnas;

namespace {

// Inputs kept away from relu's kink at 0, where finite differences straddle two slopes.
nn::array<double> away_from_zero(std::vector<std::size_t> s, rng& g) {
    nn::array<double> a = nn::array<double>::from_shape(s);
    for (auto& v : a) {
        const double m = g.uniform(0.05, 2.0);
        v = g.bernoulli(0.5) ? m : -m;
    }
    return a;
}

template <class L>
std::vector<float> apply(L layer, std::vector<float> in) {
    nn::array<float> x = nn::array<float>::from_shape({1, in.size()}), y;
    std::copy(in.begin(), in.end(), x.begin());
    layer.forward(x, y, nn::mode::eval);
    return {y.begin(), y.end()};
}

} // namespace

TEST_CASE("activations compute their functions", "[nn][activation]") {
    const std::vector<float> in{-2.f, -0.5f, 0.f, 0.5f, 3.f};
    const auto r = apply(nn::relu<float>{}, in);
    CHECK(r == std::vector<float>{0.f, 0.f, 0.f, 0.5f, 3.f});
    const auto l = apply(nn::leaky_relu<float>(0.1f), in);
    CHECK(l[0] == Approx(-0.2f));
    CHECK(l[1] == Approx(-0.05f));
    CHECK(l[4] == 3.f);
    const auto ge = apply(nn::gelu<float>{}, in);
    // exact GELU values (x * Phi(x)), e.g. PyTorch's nn.GELU()
    CHECK(ge[0] == Approx(-0.0455003).epsilon(1e-5));
    CHECK(ge[1] == Approx(-0.1542687).epsilon(1e-5));
    CHECK(ge[2] == 0.f);
    CHECK(ge[3] == Approx(0.3457313).epsilon(1e-5));
    CHECK(ge[4] == Approx(2.9959502).epsilon(1e-5));
    const auto t = apply(nn::tanh<float>{}, in);
    CHECK(t[0] == Approx(std::tanh(-2.0)));
    CHECK(t[4] == Approx(std::tanh(3.0)));
    const auto s = apply(nn::sigmoid<float>{}, {-100.f, -1.f, 0.f, 1.f, 100.f});
    CHECK(s[0] >= 0.f);
    CHECK(s[0] < 1e-30f);
    CHECK(s[1] == Approx(1 / (1 + std::exp(1.0))));
    CHECK(s[2] == 0.5f);
    CHECK(s[3] == Approx(1 / (1 + std::exp(-1.0))));
    CHECK(s[4] == 1.f);
}

TEST_CASE("activation gradients match finite differences", "[nn][activation]") {
    rng g(31);
    const std::vector<std::size_t> shapes[] = {{3, 4}, {2, 2, 3, 3}};
    for (const auto& s : shapes) {
        nn::relu<double> r;
        test::check_layer_gradients(r, away_from_zero(s, g), g);
        nn::leaky_relu<double> l(0.2);
        test::check_layer_gradients(l, away_from_zero(s, g), g);
        nn::gelu<double> ge;
        test::check_layer_gradients(ge, away_from_zero(s, g), g);
        nn::tanh<double> t;
        test::check_layer_gradients(t, away_from_zero(s, g), g);
        nn::sigmoid<double> sg;
        test::check_layer_gradients(sg, away_from_zero(s, g), g);
    }
}

TEST_CASE("activations keep shapes, have no parameters, describe themselves", "[nn][activation]") {
    nn::relu<float> r;
    CHECK(r.output_shape({16, 5, 5}) == nn::shape{16, 5, 5});
    CHECK(r.parameter_count() == 0);
    CHECK(r.parameters().empty());
    CHECK(r.flops({10}) == 10);
    CHECK(r.spec().type == "relu");
    CHECK(nn::leaky_relu<float>(0.25f).spec().attributes.at("slope") == "0.25");
    CHECK(nn::gelu<float>{}.spec().attributes.at("approximate") == "none");
    CHECK(nn::tanh<float>{}.spec().type == "tanh");
    CHECK(nn::sigmoid<float>{}.spec().type == "sigmoid");
    nn::any_layer<float> any = nn::leaky_relu<float>(0.5f);
    CHECK(any.spec().type == "leaky_relu");
    CHECK(any.target<nn::leaky_relu<float>>()->slope() == 0.5f);
}

TEST_CASE("activation backward rejects mismatched dy", "[nn][activation]") {
    nn::relu<float> r;
    nn::array<float> x = nn::array<float>::from_shape({2, 3}), y, dx;
    r.forward(x, y, nn::mode::train);
    nn::array<float> dy = nn::array<float>::from_shape({2, 4});
    CHECK_THROWS_AS(r.backward(x, y, dy, &dx), shape_error);
    CHECK_THROWS_WITH(r.backward(x, y, dy, &dx), Catch::Matchers::Contains("relu::backward") &&
                                                     Catch::Matchers::Contains("8"));
}

TEST_CASE("float GELU's vectorised exp and normal CDF match libm", "[nn][activation]") {
    double worst_exp = 0;
    for (double m = 0; m <= 87; m += 0.001) {
        const float mf = static_cast<float>(m); // compare at the float argument itself
        const double want = std::exp(-static_cast<double>(mf));
        const double got = nn::detail::fast_exp_negative(mf);
        worst_exp = std::max(worst_exp, std::abs(got - want) / want);
    }
    CHECK(worst_exp < 5e-7);
    // out of range: clamped, never garbage
    CHECK(nn::detail::fast_exp_negative(1e30f) == Approx(std::exp(-87.0)).epsilon(1e-5));
    CHECK(nn::detail::fast_exp_negative(std::numeric_limits<float>::quiet_NaN()) < 1e-37f);
    CHECK(nn::detail::fast_exp_negative(-3.0f) == 1.0f);

    // GELU<float> (vectorised) against the erf form in double, forward and derivative
    std::vector<float> x;
    for (double v = -12; v <= 12; v += 0.0007)
        x.push_back(static_cast<float>(v));
    nn::gelu<float> g;
    std::vector<float> y(x.size()), dx(x.size()), ones(x.size(), 1.0f);
    g.apply(x.data(), y.data(), x.size());
    g.gradient(x.data(), y.data(), ones.data(), dx.data(), x.size());
    double worst_y = 0, worst_dy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double v = x[i];
        const double cdf = 0.5 * (1 + std::erf(v / std::sqrt(2.0)));
        const double pdf = std::exp(-0.5 * v * v) / std::sqrt(2 * std::numbers::pi);
        worst_y = std::max(worst_y, std::abs(y[i] - v * cdf) / std::max(1.0, std::abs(v)));
        worst_dy = std::max(worst_dy, std::abs(dx[i] - (cdf + v * pdf)));
    }
    CHECK(worst_y < 3e-7);
    CHECK(worst_dy < 1e-6);
}
