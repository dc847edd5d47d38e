#include "gradient_check.hpp"

#include <cmath>
#include <utility>
#include <xnas/core/error.hpp>
#include <xnas/nn/layers/batch_norm.hpp>

using namespace xnas;

namespace {

/// Inputs off-centre, so that normalisation has a mean to remove.
nn::array<double> shifted_uniform(std::vector<std::size_t> s, rng& g) {
    return test::uniform_array(std::move(s), g, -1.0, 2.0);
}

} // namespace

TEST_CASE("batch_norm train mode normalises with batch statistics", "[nn][batch_norm]") {
    nn::batch_norm<double> bn(2);
    nn::array<double> x = {{1, 10}, {2, 20}, {3, 30}, {6, 40}}, y;
    bn.forward(x, y, nn::mode::train);
    // feature 0: mean 3, biased var 3.5
    CHECK(y(0, 0) == Approx((1 - 3) / std::sqrt(3.5 + 1e-5)));
    CHECK(y(3, 0) == Approx((6 - 3) / std::sqrt(3.5 + 1e-5)));
    for (std::size_t f = 0; f < 2; ++f) {
        double m = 0, v = 0;
        for (std::size_t i = 0; i < 4; ++i)
            m += y(i, f) / 4;
        for (std::size_t i = 0; i < 4; ++i)
            v += (y(i, f) - m) * (y(i, f) - m) / 4;
        CHECK(m == Approx(0).margin(1e-12));
        CHECK(v == Approx(1).epsilon(1e-4));
    }
    // running stats move 10% towards the batch mean and the unbiased variance (14/3)
    CHECK(bn.running_mean()(0) == Approx(0.3));
    CHECK(bn.running_var()(0) == Approx(0.9 + 0.1 * 14.0 / 3.0));
    CHECK(bn.running_mean()(1) == Approx(2.5));
}

TEST_CASE("batch_norm eval mode uses the running statistics and gamma/beta", "[nn][batch_norm]") {
    nn::batch_norm<float> bn(nn::batch_norm_options{.features = 2, .eps = 0.0001});
    bn.running_mean() = {1.f, -1.f};
    bn.running_var() = {4.f, 0.25f};
    bn.weight() = {2.f, 1.f};
    bn.bias() = {0.5f, 0.f};
    nn::array<float> x = nn::array<float>::from_shape({1, 2, 1, 1}), y;
    x(0, 0, 0, 0) = 3.f;
    x(0, 1, 0, 0) = 0.f;
    bn.forward(x, y, nn::mode::eval);
    CHECK(y(0, 0, 0, 0) == Approx(2 * (3 - 1) / std::sqrt(4.0001) + 0.5));
    CHECK(y(0, 1, 0, 0) == Approx((0 + 1) / std::sqrt(0.2501)));
    CHECK(bn.running_mean()(0) == 1.f); // eval leaves them alone
}

TEST_CASE("batch_norm gradients match finite differences", "[nn][batch_norm]") {
    rng g(41);
    for (auto m : {nn::mode::train, nn::mode::eval}) {
        nn::batch_norm<double> dense_bn(3);
        test::fill_uniform(dense_bn.weight(), g, 0.5, 1.5);
        test::fill_uniform(dense_bn.bias(), g);
        test::fill_uniform(dense_bn.running_mean(), g);
        test::fill_uniform(dense_bn.running_var(), g, 0.5, 2.0);
        test::check_layer_gradients(dense_bn, shifted_uniform({5, 3}, g), g, 1e-5, 1e-6, m);
        nn::batch_norm<double> conv_bn(2);
        test::fill_uniform(conv_bn.weight(), g, 0.5, 1.5);
        test::fill_uniform(conv_bn.bias(), g);
        test::fill_uniform(conv_bn.running_var(), g, 0.5, 2.0);
        test::check_layer_gradients(conv_bn, shifted_uniform({3, 2, 3, 2}, g), g, 1e-5, 1e-6, m);
    }
}

TEST_CASE("batch_norm exposes its running statistics as zero-gradient parameters",
          "[nn][batch_norm]") {
    rng g(42);
    nn::batch_norm<double> bn(2);
    auto x = shifted_uniform({4, 2, 2, 2}, g);
    nn::array<double> y, dx;
    bn.forward(x, y, nn::mode::train);
    nn::array<double> dy = y;
    test::fill_uniform(dy, g);
    bn.backward(x, y, dy, &dx);
    const auto p = bn.parameters();
    REQUIRE(p.size() == 4);
    CHECK(p[0].name == "weight");
    CHECK(p[1].name == "bias");
    CHECK(p[2].name == "running_mean");
    CHECK(p[3].name == "running_var");
    CHECK(p[2].value == &bn.running_mean());
    for (std::size_t k = 2; k < 4; ++k)
        for (double v : *p[k].gradient)
            CHECK(v == 0.0);
    CHECK(bn.parameter_count() == 4);
    CHECK(bn.output_shape({2, 5, 5}) == nn::shape{2, 5, 5});
    CHECK(bn.flops({2, 5, 5}) == 100);
    const auto s = bn.spec();
    CHECK(s.type == "batch_norm");
    CHECK(s.attributes.at("features") == "2");
    CHECK(std::stod(s.attributes.at("eps")) == 1e-5);
    CHECK(std::stod(s.attributes.at("momentum")) == 0.1);
}

TEST_CASE("batch_norm rejects wrong shapes with messages", "[nn][batch_norm]") {
    nn::batch_norm<float> bn(4);
    nn::array<float> y;
    nn::array<float> x = nn::array<float>::from_shape({2, 3, 5});
    CHECK_THROWS_AS(bn.forward(x, y, nn::mode::train), shape_error);
    CHECK_THROWS_WITH(bn.forward(x, y, nn::mode::train),
                      Catch::Matchers::Contains("(2, 3, 5)") && Catch::Matchers::Contains("(N, 4"));
    nn::array<float> one = nn::array<float>::from_shape({1, 4});
    CHECK_THROWS_WITH(bn.forward(one, y, nn::mode::train),
                      Catch::Matchers::Contains("more than one value"));
    CHECK_NOTHROW(bn.forward(one, y, nn::mode::eval));
    CHECK_THROWS_AS(bn.output_shape({3}), shape_error);
    CHECK_THROWS_WITH(nn::batch_norm<float>(0), Catch::Matchers::Contains("features"));
    CHECK_THROWS_WITH(nn::batch_norm<float>(2, 1e-5, 1.5), Catch::Matchers::Contains("momentum"));
}
