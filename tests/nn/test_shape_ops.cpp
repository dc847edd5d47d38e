// flatten, identity and zero: the layers that only move or drop data.
#include "gradient_check.hpp"

#include <xnas/core/error.hpp>
#include <xnas/nn/layers/flatten.hpp>
#include <xnas/nn/layers/identity.hpp>
#include <xnas/nn/layers/zero.hpp>

using namespace xnas;

TEST_CASE("flatten keeps the batch and row-major order", "[nn][flatten]") {
    nn::flatten<float> f;
    nn::array<float> x = {{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}}, y, dx;
    f.forward(x, y, nn::mode::train);
    REQUIRE(y.shape() == std::vector<std::size_t>{1, 8});
    for (std::size_t i = 0; i < 8; ++i)
        CHECK(y(0, i) == static_cast<float>(i + 1));
    f.backward(x, y, y, &dx);
    CHECK(dx.shape() == x.shape());
    CHECK(static_cast<bool>(dx == x));
    CHECK(f.output_shape({32, 5, 5}) == nn::shape{800});
    CHECK(f.spec().type == "flatten");
    CHECK(f.flops({32, 5, 5}) == 0);
    rng g(61);
    nn::flatten<double> fd;
    nn::array<double> xd = nn::array<double>::from_shape({2, 3, 2, 2});
    test::fill_uniform(xd, g);
    test::check_layer_gradients(fd, xd, g);
    nn::array<float> bad({2, 3}, 0.f);
    CHECK_THROWS_WITH(f.backward(x, y, bad, &dx), Catch::Matchers::Contains("6 elements"));
}

TEST_CASE("identity copies and passes gradients through", "[nn][identity]") {
    nn::identity<float> id;
    nn::array<float> x = {{1, -2, 3}}, y, dx;
    id.forward(x, y, nn::mode::eval);
    CHECK(static_cast<bool>(y == x));
    CHECK(id.output_shape({4, 2}) == nn::shape{4, 2});
    CHECK(id.parameter_count() == 0);
    CHECK(id.spec().type == "identity");
    rng g(62);
    nn::identity<double> idd;
    nn::array<double> xd = nn::array<double>::from_shape({3, 4});
    test::fill_uniform(xd, g);
    test::check_layer_gradients(idd, xd, g);
    nn::array<float> bad({1, 2}, 0.f);
    CHECK_THROWS_AS(id.backward(x, y, bad, &dx), shape_error);
}

TEST_CASE("zero outputs zeros of the input's shape and a zero gradient", "[nn][zero]") {
    nn::zero<float> z;
    nn::array<float> x = {{{{1, 2}, {3, 4}}}}, y({7}, 5.f), dx;
    z.forward(x, y, nn::mode::train);
    CHECK(y.shape() == x.shape());
    for (float v : y)
        CHECK(v == 0.f);
    z.backward(x, y, x, &dx);
    CHECK(dx.shape() == x.shape());
    for (float v : dx)
        CHECK(v == 0.f);
    CHECK(z.output_shape({3, 8, 8}) == nn::shape{3, 8, 8});
    CHECK(z.flops({3, 8, 8}) == 0);
    CHECK(z.spec().type == "zero");
    rng g(63);
    nn::zero<double> zd;
    nn::array<double> xd = nn::array<double>::from_shape({2, 3});
    test::fill_uniform(xd, g);
    test::check_layer_gradients(zd, xd, g);
}
