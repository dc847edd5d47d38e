#include <catch2/catch.hpp>
#include <xnas/evaluate/zero_cost.hpp>
#include <xnas/nn/layers/dense.hpp>

using namespace xnas;

namespace {
// A user-side ReLU (spec type "relu"): NASWOT finds ReLU layers by their spec.
struct test_relu {
    using value_type = double;
    void forward(const nn::array<double>& x, nn::array<double>& y, nn::mode) {
        nn::ensure_shape(y, {x.shape().begin(), x.shape().end()});
        for (std::size_t i = 0; i < x.size(); ++i)
            y.data()[i] = x.data()[i] > 0 ? x.data()[i] : 0.0;
    }
    void backward(const nn::array<double>& x, const nn::array<double>&, const nn::array<double>& dy,
                  nn::array<double>* dx) {
        if (!dx)
            return;
        nn::ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        for (std::size_t i = 0; i < x.size(); ++i)
            dx->data()[i] = x.data()[i] > 0 ? dy.data()[i] : 0.0;
    }
    std::vector<nn::parameter<double>> parameters() { return {}; }
    nn::shape output_shape(const nn::shape& in) const { return in; }
    std::size_t parameter_count() const { return 0; }
    std::size_t flops(const nn::shape& in) const { return nn::volume(in); }
    nn::layer_spec spec() const { return {"relu", {}}; }
};
} // namespace

TEST_CASE("log_abs_det matches hand-computed determinants", "[evaluate][zero_cost]") {
    CHECK(evaluate::detail::log_abs_det({2, 1, 1, 3}, 2) == Approx(std::log(5.0)));
    CHECK(evaluate::detail::log_abs_det({0, 2, 3, 0}, 2) == Approx(std::log(6.0))); // needs a pivot
    CHECK(std::isinf(evaluate::detail::log_abs_det({1, 2, 2, 4}, 2)));
}

TEST_CASE("synflow of a bias-free linear chain is twice its synaptic flow",
          "[evaluate][zero_cost]") {
    // R(theta) is homogeneous of degree 2 in (W1, W2), so sum theta dR/dtheta = 2 R (Euler).
    nn::network<double> net({2});
    nn::dense<double> a(2, 3, false), b(3, 1, false);
    a.weight() = {{1, -2}, {0.5, 1}, {-1, 3}};
    b.weight() = {{2, -1, 0.5}};
    net.add(a);
    net.add(b);
    // |W2| |W1| 1 = 2*3 + 1*1.5 + 0.5*4 = 9.5
    CHECK(evaluate::synflow(net) == Approx(2 * 9.5));
    CHECK(net.layer(1).target<nn::dense<double>>()->weight()(0, 1) ==
          -2.0); // the original is untouched
}

TEST_CASE("NASWOT scores activation-pattern diversity", "[evaluate][zero_cost]") {
    nn::network<double> net({2});
    nn::dense<double> d(2, 2, false);
    d.weight() = {{1, 0}, {0, 1}}; // codes are the signs of the inputs
    net.add(d);
    net.add(test_relu{});
    // Codes (1,1) and (1,0): K = [[2,1],[1,2]], det 3.
    nn::array<double> x = {{1, 1}, {1, -1}};
    CHECK(evaluate::naswot(net, x) == Approx(std::log(3.0)));
    // Identical codes make K singular: the least diverse network scores -infinity.
    nn::array<double> same = {{1, 1}, {2, 3}};
    CHECK(std::isinf(evaluate::naswot(net, same)));

    nn::network<double> linear({2});
    linear.add(d);
    CHECK_THROWS_WITH(evaluate::naswot(linear, x), Catch::Matchers::Contains("no relu"));
    CHECK_THROWS_AS(evaluate::naswot(net, nn::array<double>{{1, 1}}), std::invalid_argument);
}
