#include "gradient_check.hpp"

#include <xnas/core/error.hpp>
#include <xnas/nn/layers/dense.hpp>

using namespace xnas;

TEST_CASE("dense gradients match finite differences", "[nn][dense]") {
    rng g(7);
    for (bool bias : {true, false}) {
        nn::dense<double> d(5, 3, bias);
        test::fill_uniform(d.weight(), g);
        if (bias)
            test::fill_uniform(d.bias(), g);
        nn::array<double> x = nn::array<double>::from_shape({4, 5});
        test::fill_uniform(x, g);
        test::check_layer_gradients(d, x, g);
    }
}

TEST_CASE("dense forward computes x W^T + b", "[nn][dense]") {
    nn::dense<float> d(2, 2);
    d.weight() = {{1, 2}, {3, 4}};
    d.bias() = {10, 20};
    nn::array<float> x = {{1, 1}, {0, 2}}, y;
    d.forward(x, y, nn::mode::eval);
    CHECK(static_cast<bool>(
        y == nn::array<float>{{13, 27},
                              {14, 28}})); // Catch decomposition clashes with xtensor operators
    CHECK(d.parameter_count() == 6);
    CHECK(d.output_shape({2}) == nn::shape{2});
}

TEST_CASE("dense rejects a wrong input width with a message naming both", "[nn][dense]") {
    nn::dense<float> d(16, 4);
    nn::array<float> x = nn::array<float>::from_shape({2, 12}), y;
    CHECK_THROWS_AS(d.forward(x, y, nn::mode::eval), shape_error);
    CHECK_THROWS_WITH(d.forward(x, y, nn::mode::eval), Catch::Matchers::Contains("12 features") &&
                                                           Catch::Matchers::Contains("(N, 16)"));
    CHECK_THROWS_AS(d.output_shape({12}), shape_error);
}
