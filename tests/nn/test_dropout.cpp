#include "gradient_check.hpp"

#include <xnas/core/error.hpp>
#include <xnas/nn/layers/dropout.hpp>

using namespace xnas;

TEST_CASE("dropout in eval mode is the identity", "[nn][dropout]") {
    nn::dropout<float> d(0.5, 1);
    nn::array<float> x = {{1, 2, 3}, {4, 5, 6}}, y, dx;
    d.forward(x, y, nn::mode::eval);
    CHECK(static_cast<bool>(y == x));
    d.backward(x, y, x, &dx);
    CHECK(static_cast<bool>(dx == x));
}

TEST_CASE("dropout in train mode zeroes about p and scales the rest", "[nn][dropout]") {
    for (double p : {0.2, 0.5}) {
        nn::dropout<double> d(p, 7);
        nn::array<double> x({100, 100}, 1.0), y, dx;
        d.forward(x, y, nn::mode::train);
        std::size_t zeros = 0;
        for (double v : y) {
            if (v == 0.0)
                ++zeros;
            else
                CHECK(v == Approx(1.0 / (1.0 - p)));
        }
        // 10,000 Bernoulli draws: 4 standard deviations is at most 200
        CHECK(static_cast<double>(zeros) == Approx(p * 10000).margin(200));
        // backward routes through the same mask
        nn::array<double> dy({100, 100}, 2.0);
        d.backward(x, y, dy, &dx);
        for (std::size_t i = 0; i < dx.size(); ++i)
            CHECK(dx.data()[i] == 2.0 * y.data()[i]);
    }
}

TEST_CASE("dropout: same seed same mask, different seed different mask", "[nn][dropout]") {
    nn::array<float> x({8, 64}, 1.f), a, b, c, a2;
    nn::dropout<float> d1(0.5, 3), d2(0.5, 3), d3(0.5, 4);
    d1.forward(x, a, nn::mode::train);
    d2.forward(x, b, nn::mode::train);
    d3.forward(x, c, nn::mode::train);
    CHECK(static_cast<bool>(a == b));
    CHECK_FALSE(static_cast<bool>(a == c));
    d1.forward(x, a2, nn::mode::train); // the stream moves on between batches
    CHECK_FALSE(static_cast<bool>(a == a2));
}

TEST_CASE("dropout gradients match finite differences", "[nn][dropout]") {
    rng g(51);
    nn::dropout<double> d(0.3, 9);
    nn::array<double> x = nn::array<double>::from_shape({3, 2, 4});
    test::fill_uniform(x, g);
    test::check_layer_gradients(d, x, g); // copies share the generator state: same mask
    test::check_layer_gradients(d, x, g, 1e-5, 1e-6, nn::mode::eval);
}

TEST_CASE("dropout shapes, spec and errors", "[nn][dropout]") {
    nn::dropout<float> d(0.25, 12);
    CHECK(d.output_shape({3, 4}) == nn::shape{3, 4});
    CHECK(d.parameter_count() == 0);
    CHECK(d.flops({3, 4}) == 12);
    const auto s = d.spec();
    CHECK(s.type == "dropout");
    CHECK(s.attributes.at("p") == "0.25");
    CHECK(s.attributes.at("seed") == "12");
    CHECK_THROWS_WITH(nn::dropout<float>(1.0), Catch::Matchers::Contains("0 <= p < 1"));
    CHECK_THROWS_AS(nn::dropout<float>(-0.1), std::invalid_argument);
    nn::array<float> x({2, 3}, 1.f), y, dx;
    d.forward(x, y, nn::mode::train);
    nn::array<float> dy({2, 4}, 1.f);
    CHECK_THROWS_WITH(d.backward(x, y, dy, &dx), Catch::Matchers::Contains("dropout::backward") &&
                                                     Catch::Matchers::Contains("8"));
}
