#include "gradient_check.hpp"

#include <algorithm>
#include <numeric>
#include <xnas/core/error.hpp>
#include <xnas/nn/layers/pooling.hpp>

using namespace xnas;

namespace {

// Distinct values in random order, so max pooling has no ties and finite differences of size
// eps never change which element wins.
nn::array<double> distinct(std::vector<std::size_t> s, rng& g) {
    nn::array<double> a = nn::array<double>::from_shape(s);
    std::vector<double> v(a.size());
    std::iota(v.begin(), v.end(), 0.0);
    g.shuffle(v.begin(), v.end());
    for (std::size_t i = 0; i < v.size(); ++i)
        a.data()[i] = 0.1 * v[i] - 1.0;
    return a;
}

} // namespace

TEST_CASE("max_pool2d forward picks window maxima and remembers them", "[nn][pooling]") {
    nn::max_pool2d<float> p(2);
    // 1 x 1 x 4 x 5: the fifth column and nothing else is dropped (floor)
    nn::array<float> x = {
        {{{1, 5, 2, 0, 9}, {3, 4, 8, 1, 9}, {0, 0, -1, -2, 9}, {7, 0, -3, -4, 9}}}};
    nn::array<float> y, dx;
    p.forward(x, y, nn::mode::train);
    REQUIRE(y.shape() == std::vector<std::size_t>{1, 1, 2, 2});
    CHECK(y(0, 0, 0, 0) == 5);
    CHECK(y(0, 0, 0, 1) == 8);
    CHECK(y(0, 0, 1, 0) == 7);
    CHECK(y(0, 0, 1, 1) == -1);
    nn::array<float> dy = {{{{1, 2}, {3, 4}}}};
    p.backward(x, y, dy, &dx);
    CHECK(dx(0, 0, 0, 1) == 1);
    CHECK(dx(0, 0, 1, 2) == 2);
    CHECK(dx(0, 0, 3, 0) == 3);
    CHECK(dx(0, 0, 2, 2) == 4);
    CHECK(std::accumulate(dx.begin(), dx.end(), 0.f) == 10);
}

TEST_CASE("max_pool2d gradients match finite differences", "[nn][pooling]") {
    rng g(21);
    struct cfg {
        nn::pool2d_options o;
        std::vector<std::size_t> in;
    };
    for (const auto& [o, in] : std::vector<cfg>{
             {{}, {2, 3, 6, 7}}, // 2x2/2 fast path, odd W
             {{.kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2}, {2, 2, 7, 7}},
             {{.kernel_h = 3,
             .kernel_w = 3,
             .stride_h = 1,
             .stride_w = 1,
             .padding_h = 1,
             .padding_w = 1},
              {1, 2, 4, 5}},
             {{.kernel_h = 2, .kernel_w = 3, .stride_h = 1, .stride_w = 2}, {2, 1, 5, 7}},
         }) {
        nn::max_pool2d<double> p(o);
        test::check_layer_gradients(p, distinct(in, g), g);
    }
}

TEST_CASE("avg_pool2d forward and count_include_pad", "[nn][pooling]") {
    nn::array<float> x = {{{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}}}, y;
    nn::avg_pool2d<float> a(2, 1);
    a.forward(x, y, nn::mode::eval);
    REQUIRE(y.shape() == std::vector<std::size_t>{1, 1, 2, 2});
    CHECK(y(0, 0, 0, 0) == 3.f);
    CHECK(y(0, 0, 1, 1) == 7.f);
    // NAS-Bench-201's avg_pool_3x3: corners average only the 4 real inputs
    nn::avg_pool2d<float> excl(3, 1, 1, false), incl(3, 1, 1, true);
    excl.forward(x, y, nn::mode::eval);
    REQUIRE(y.shape() == std::vector<std::size_t>{1, 1, 3, 3});
    CHECK(y(0, 0, 0, 0) == Approx((1 + 2 + 4 + 5) / 4.0));
    CHECK(y(0, 0, 0, 1) == Approx((1 + 2 + 3 + 4 + 5 + 6) / 6.0));
    CHECK(y(0, 0, 1, 1) == Approx(5.0));
    incl.forward(x, y, nn::mode::eval);
    CHECK(y(0, 0, 0, 0) == Approx((1 + 2 + 4 + 5) / 9.0));
    CHECK(excl.spec().attributes.at("count_include_pad") == "0");
}

TEST_CASE("avg_pool2d gradients match finite differences", "[nn][pooling]") {
    rng g(22);
    for (bool include_pad : {true, false}) {
        nn::avg_pool2d<double> p3(3, 1, 1, include_pad);
        test::check_layer_gradients(p3, test::uniform_array({2, 2, 4, 5}, g), g);
        nn::avg_pool2d<double> p2(
            nn::pool2d_options{
                .kernel_h = 2, .kernel_w = 3, .stride_h = 2, .stride_w = 1, .padding_h = 1},
            include_pad);
        test::check_layer_gradients(p2, test::uniform_array({2, 1, 5, 4}, g), g);
    }
    nn::avg_pool2d<double> p(2);
    test::check_layer_gradients(p, test::uniform_array({2, 3, 4, 6}, g), g);
}

TEST_CASE("global_avg_pool averages each plane and spreads the gradient", "[nn][pooling]") {
    nn::global_avg_pool<float> p;
    nn::array<float> x = {{{{1, 2}, {3, 4}}, {{0, 0}, {0, 8}}}}, y;
    p.forward(x, y, nn::mode::eval);
    REQUIRE(y.shape() == std::vector<std::size_t>{1, 2});
    CHECK(y(0, 0) == 2.5f);
    CHECK(y(0, 1) == 2.f);
    rng g(23);
    nn::global_avg_pool<double> pd;
    test::check_layer_gradients(pd, test::uniform_array({3, 2, 3, 5}, g), g);
    CHECK(p.output_shape({16, 7, 7}) == nn::shape{16});
    CHECK(p.flops({16, 7, 7}) == 16 * 49 + 16);
    CHECK(p.spec().type == "global_avg_pool");
}

TEST_CASE("pooling shapes, flops, specs and errors", "[nn][pooling]") {
    nn::max_pool2d<float> m(2);
    CHECK(m.output_shape({16, 26, 26}) == nn::shape{16, 13, 13});
    CHECK(m.output_shape({32, 11, 11}) == nn::shape{32, 5, 5});
    CHECK(m.parameter_count() == 0);
    CHECK(m.flops({32, 11, 11}) == 32 * 25 * 4);
    const auto s = m.spec();
    CHECK(s.type == "max_pool2d");
    CHECK(s.attributes.at("kernel_h") == "2");
    CHECK(s.attributes.at("stride_w") == "2"); // stride 0 resolved to the kernel
    CHECK(s.attributes.at("padding_h") == "0");
    nn::avg_pool2d<float> a(3, 2, 1);
    CHECK(a.output_shape({4, 8, 8}) == nn::shape{4, 4, 4});
    CHECK(a.spec().type == "avg_pool2d");

    CHECK_THROWS_WITH(nn::max_pool2d<float>(0),
                      Catch::Matchers::Contains("kernel must be positive"));
    CHECK_THROWS_WITH(nn::avg_pool2d<float>(2, 2, 2), Catch::Matchers::Contains("exceeds half"));
    nn::array<float> y;
    nn::array<float> small = nn::array<float>::from_shape({1, 1, 1, 4});
    CHECK_THROWS_AS(m.forward(small, y, nn::mode::train), shape_error);
    CHECK_THROWS_WITH(m.forward(small, y, nn::mode::train),
                      Catch::Matchers::Contains("(1, 1, 4)") &&
                          Catch::Matchers::Contains("H >= 2"));
    nn::array<float> flat = nn::array<float>::from_shape({2, 8});
    CHECK_THROWS_WITH(a.forward(flat, y, nn::mode::train), Catch::Matchers::Contains("rank 2"));
    nn::global_avg_pool<float> gp;
    CHECK_THROWS_WITH(gp.forward(flat, y, nn::mode::train),
                      Catch::Matchers::Contains("(2, 8)") &&
                          Catch::Matchers::Contains("(N, C, H, W)"));
    CHECK_THROWS_AS(gp.output_shape({8}), shape_error);
}
