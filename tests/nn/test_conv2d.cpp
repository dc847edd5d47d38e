#include "gradient_check.hpp"

#include <cmath>
#include <xnas/core/error.hpp>
#include <xnas/nn/layers/conv2d.hpp>

using namespace xnas;

namespace {

// Straightforward six-loop convolution: the reference every kernel path must match.
template <class T>
nn::array<T> naive_conv(const nn::array<T>& x, nn::conv2d<T>& c) {
    const auto& o = c.options();
    const std::size_t n = x.shape()[0], h = x.shape()[2], w = x.shape()[3];
    const std::size_t oh = (h + 2 * o.padding_h - o.kernel_h) / o.stride_h + 1;
    const std::size_t ow = (w + 2 * o.padding_w - o.kernel_w) / o.stride_w + 1;
    const std::size_t cg = o.in_channels / o.groups, kg = o.out_channels / o.groups;
    nn::array<T> y = nn::array<T>::from_shape({n, o.out_channels, oh, ow});
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t k = 0; k < o.out_channels; ++k)
            for (std::size_t i = 0; i < oh; ++i)
                for (std::size_t j = 0; j < ow; ++j) {
                    double s = o.bias ? static_cast<double>(c.bias()(k)) : 0.0;
                    const std::size_t gr = k / kg;
                    for (std::size_t ci = 0; ci < cg; ++ci)
                        for (std::size_t ki = 0; ki < o.kernel_h; ++ki)
                            for (std::size_t kj = 0; kj < o.kernel_w; ++kj) {
                                const long ih = static_cast<long>(i * o.stride_h + ki) -
                                                static_cast<long>(o.padding_h);
                                const long iw = static_cast<long>(j * o.stride_w + kj) -
                                                static_cast<long>(o.padding_w);
                                if (ih < 0 || iw < 0 || ih >= static_cast<long>(h) ||
                                    iw >= static_cast<long>(w))
                                    continue;
                                s += static_cast<double>(c.weight()(k, ci, ki, kj)) *
                                     static_cast<double>(x(b, gr * cg + ci, ih, iw));
                            }
                    y(b, k, i, j) = static_cast<T>(s);
                }
    return y;
}

template <class T>
nn::array<T> random_array(std::vector<std::size_t> s, rng& g) {
    nn::array<T> a = nn::array<T>::from_shape(s);
    test::fill_uniform(a, g);
    return a;
}

// Configurations covering the three kernel paths and their edge cases.
std::vector<std::pair<nn::conv2d_options, std::vector<std::size_t>>> configurations() {
    return {
        // direct path: one input channel, stride 1 (3x3 fused and general kernel sizes)
        {{.in_channels = 1, .out_channels = 3}, {2, 1, 6, 5}},
        {{.in_channels = 1, .out_channels = 2, .padding_h = 1, .padding_w = 1}, {2, 1, 4, 5}},
        {{.in_channels = 1, .out_channels = 2, .kernel_h = 2, .kernel_w = 3, .padding_h = 1},
         {1, 1, 4, 4}},
        // depthwise (direct per group), with padding and without bias
        {{.in_channels = 3,
          .out_channels = 3,
          .padding_h = 1,
          .padding_w = 1,
          .groups = 3,
          .bias = false},
         {2, 3, 4, 4}},
        // depthwise at stride 2 (strided direct kernel), with padding and a channel multiplier
        {{.in_channels = 2,
          .out_channels = 2,
          .stride_h = 2,
          .stride_w = 2,
          .padding_h = 1,
          .padding_w = 1,
          .groups = 2},
         {2, 2, 5, 6}},
        {{.in_channels = 2,
          .out_channels = 4,
          .kernel_h = 2,
          .kernel_w = 3,
          .stride_h = 1,
          .stride_w = 2,
          .groups = 2},
         {1, 2, 4, 7}},
        // channel multiplier 2 per group
        {{.in_channels = 2, .out_channels = 4, .groups = 2}, {1, 2, 4, 4}},
        // flat GEMM path (stride 1, several channels per group): plain, padded, grouped,
        // non-square kernel with uneven padding
        {{.in_channels = 2, .out_channels = 3}, {2, 2, 5, 6}},
        {{.in_channels = 3, .out_channels = 2, .padding_h = 1, .padding_w = 1}, {2, 3, 4, 4}},
        {{.in_channels = 4, .out_channels = 4, .padding_h = 1, .padding_w = 1, .groups = 2},
         {2, 4, 3, 4}},
        {{.in_channels = 2, .out_channels = 2, .kernel_h = 2, .kernel_w = 3, .padding_w = 2},
         {1, 2, 4, 3}},
        // channel-narrowing flat layers take dx as a correlation of the padded dy: unpadded,
        // 5x5 "same" padding with groups, padding >= kernel (back to the column path), and
        // padding on one axis only (dy padded on the other)
        {{.in_channels = 3, .out_channels = 2}, {2, 3, 5, 4}},
        {{.in_channels = 4,
          .out_channels = 2,
          .kernel_h = 5,
          .kernel_w = 5,
          .padding_h = 2,
          .padding_w = 2,
          .groups = 2},
         {2, 4, 5, 6}},
        {{.in_channels = 3, .out_channels = 1, .kernel_h = 2, .kernel_w = 2, .padding_h = 2},
         {1, 3, 3, 4}},
        {{.in_channels = 3, .out_channels = 2, .padding_h = 2}, {2, 3, 3, 5}},
        // im2col path: strides, padding, non-square kernel and input
        {{.in_channels = 2,
          .out_channels = 3,
          .kernel_h = 3,
          .kernel_w = 2,
          .stride_h = 2,
          .stride_w = 1,
          .padding_h = 1,
          .padding_w = 1},
         {2, 2, 5, 4}},
        {{.in_channels = 1,
          .out_channels = 2,
          .stride_h = 2,
          .stride_w = 2,
          .padding_h = 1,
          .padding_w = 1},
         {2, 1, 5, 5}},
        {{.in_channels = 4, .out_channels = 2, .stride_h = 2, .stride_w = 3, .groups = 2},
         {1, 4, 7, 8}},
        // pointwise: GEMM on the input itself; strided 1x1 goes through im2col
        {{.in_channels = 3, .out_channels = 2, .kernel_h = 1, .kernel_w = 1}, {2, 3, 3, 2}},
        {{.in_channels = 3,
          .out_channels = 2,
          .kernel_h = 1,
          .kernel_w = 1,
          .stride_h = 2,
          .stride_w = 2},
         {1, 3, 5, 4}},
    };
}

} // namespace

TEST_CASE("conv2d forward matches a naive convolution on every kernel path", "[nn][conv2d]") {
    rng g(11);
    for (const auto& [opt, in] : configurations()) {
        nn::conv2d<double> c(opt);
        test::fill_uniform(c.weight(), g);
        test::fill_uniform(c.bias(), g);
        const auto x = random_array<double>(in, g);
        nn::array<double> y;
        c.forward(x, y, nn::mode::train);
        const auto ref = naive_conv(x, c);
        INFO("groups " << opt.groups << " kernel " << opt.kernel_h << "x" << opt.kernel_w
                       << " stride " << opt.stride_h << "x" << opt.stride_w << " padding "
                       << opt.padding_h << "x" << opt.padding_w);
        REQUIRE(y.shape() == ref.shape());
        for (std::size_t i = 0; i < y.size(); ++i)
            CHECK(y.data()[i] == Approx(ref.data()[i]).margin(1e-12));
        CHECK(c.output_shape({in[1], in[2], in[3]}) ==
              nn::shape{ref.shape()[1], ref.shape()[2], ref.shape()[3]});
    }
}

TEST_CASE("conv2d gradients match finite differences on every kernel path", "[nn][conv2d]") {
    rng g(5);
    for (const auto& [opt, in] : configurations()) {
        nn::conv2d<double> c(opt);
        test::fill_uniform(c.weight(), g);
        test::fill_uniform(c.bias(), g);
        INFO("in_channels " << opt.in_channels << " groups " << opt.groups << " kernel "
                            << opt.kernel_h << "x" << opt.kernel_w << " stride " << opt.stride_h
                            << "x" << opt.stride_w << " padding " << opt.padding_h << "x"
                            << opt.padding_w);
        test::check_layer_gradients(c, random_array<double>(in, g), g);
    }
}

TEST_CASE("conv2d backward without dx still computes parameter gradients", "[nn][conv2d]") {
    rng g(3);
    for (const auto& [opt, in] : configurations()) {
        nn::conv2d<double> c(opt);
        test::fill_uniform(c.weight(), g);
        const auto x = random_array<double>(in, g);
        nn::array<double> y, dx;
        c.forward(x, y, nn::mode::train);
        const auto dy = random_array<double>({y.shape().begin(), y.shape().end()}, g);
        c.backward(x, y, dy, &dx);
        const nn::array<double> with_dx = *c.parameters()[0].gradient;
        c.backward(x, y, dy, nullptr);
        for (std::size_t i = 0; i < with_dx.size(); ++i)
            CHECK(c.parameters()[0].gradient->data()[i] == Approx(with_dx.data()[i]));
    }
}

namespace {
/// Forward, dx and dW of a float layer against the same layer in double (whose kernels the
/// finite-difference tests check) on input shape `in`.
void check_float_against_double(const nn::conv2d_options& opt, std::vector<std::size_t> in,
                                rng& g) {
    {
        nn::conv2d<float> cf(opt);
        nn::conv2d<double> cd(opt);
        test::fill_uniform(cf.weight(), g);
        test::fill_uniform(cf.bias(), g);
        for (std::size_t i = 0; i < cf.weight().size(); ++i)
            cd.weight().data()[i] = cf.weight().data()[i];
        for (std::size_t i = 0; i < cf.bias().size(); ++i)
            cd.bias().data()[i] = cf.bias().data()[i];
        auto xf = random_array<float>(in, g);
        nn::array<double> xd = xt::cast<double>(xf);
        nn::array<float> yf, dxf, dyf;
        nn::array<double> yd, dxd, dyd;
        cf.forward(xf, yf, nn::mode::train);
        cd.forward(xd, yd, nn::mode::train);
        dyf = random_array<float>({yf.shape().begin(), yf.shape().end()}, g);
        dyd = xt::cast<double>(dyf);
        cf.backward(xf, yf, dyf, &dxf);
        cd.backward(xd, yd, dyd, &dxd);
        for (std::size_t i = 0; i < yf.size(); ++i)
            REQUIRE(yf.data()[i] == Approx(yd.data()[i]).margin(1e-4));
        for (std::size_t i = 0; i < dxf.size(); ++i)
            REQUIRE(dxf.data()[i] == Approx(dxd.data()[i]).margin(1e-4));
        const auto& dwf = *cf.parameters()[0].gradient;
        const auto& dwd = *cd.parameters()[0].gradient;
        for (std::size_t i = 0; i < dwf.size(); ++i)
            REQUIRE(dwf.data()[i] == Approx(dwd.data()[i]).epsilon(1e-4).margin(1e-3));
        const auto& dbf = *cf.parameters().back().gradient;
        const auto& dbd = *cd.parameters().back().gradient;
        for (std::size_t i = 0; i < dbf.size(); ++i)
            REQUIRE(dbf.data()[i] == Approx(dbd.data()[i]).epsilon(1e-4).margin(1e-3));
    }
}
} // namespace

// Float runs kernels double does not (the register-tiled and implicit GEMMs where a register
// holds 16 floats, dispatched on the CPU), so every float path is held against the double
// result: every configuration above, the benchmark's first two layers, and the race's padded
// layers that widen and narrow the channels.
TEST_CASE("conv2d float agrees with double on every path and on the race's layers",
          "[nn][conv2d]") {
    rng g(9);
    for (const auto& [opt, in] : configurations()) {
        INFO("in_channels " << opt.in_channels << " groups " << opt.groups << " kernel "
                            << opt.kernel_h << "x" << opt.kernel_w << " padding " << opt.padding_h
                            << "x" << opt.padding_w);
        check_float_against_double(opt, in, g);
    }
    const std::vector<std::pair<nn::conv2d_options, std::size_t>> layers = {
        {{.in_channels = 1, .out_channels = 2}, 13},
        {{.in_channels = 16, .out_channels = 32}, 13},
        {{.in_channels = 8, .out_channels = 32, .padding_h = 1, .padding_w = 1}, 28},
        {{.in_channels = 32,
          .out_channels = 16,
          .kernel_h = 5,
          .kernel_w = 5,
          .padding_h = 2,
          .padding_w = 2},
         14},
        {{.in_channels = 16, .out_channels = 64, .padding_h = 1, .padding_w = 1}, 7},
        {{.in_channels = 64, .out_channels = 8, .padding_h = 1, .padding_w = 1}, 7},
        {{.in_channels = 6,
          .out_channels = 40,
          .kernel_h = 5,
          .kernel_w = 3,
          .padding_h = 2,
          .padding_w = 1,
          .groups = 2},
         9},
    };
    for (const auto& [opt, hw] : layers) {
        INFO("in_channels " << opt.in_channels << " out_channels " << opt.out_channels << " size "
                            << hw);
        check_float_against_double(opt, {3, opt.in_channels, hw, hw}, g);
    }
}

TEST_CASE("conv2d forward on a hand-computed case", "[nn][conv2d]") {
    nn::conv2d<float> c(1, 1, 2);
    c.weight() = nn::array<float>({1, 1, 2, 2}, 0.f);
    c.weight()(0, 0, 0, 0) = 1;
    c.weight()(0, 0, 1, 1) = -1;
    c.bias()(0) = 0.5f;
    nn::array<float> x = {{{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}}}, y;
    c.forward(x, y, nn::mode::eval);
    // y[i][j] = x[i][j] - x[i+1][j+1] + 0.5 = -4 + 0.5 everywhere
    REQUIRE(y.shape() == std::vector<std::size_t>{1, 1, 2, 2});
    for (float v : y)
        CHECK(v == -3.5f);
}

TEST_CASE("conv2d shapes, parameter counts, flops and spec", "[nn][conv2d]") {
    nn::conv2d<float> c1(1, 16, 3);
    CHECK(c1.output_shape({1, 28, 28}) == nn::shape{16, 26, 26});
    CHECK(c1.parameter_count() == 16 * 9 + 16);
    CHECK(c1.flops({1, 28, 28}) == 16 * 26 * 26 * (2 * 9 + 1));
    nn::conv2d<float> c2(16, 32, 3, 2, 1, false);
    CHECK(c2.output_shape({16, 13, 13}) == nn::shape{32, 7, 7});
    CHECK(c2.parameter_count() == 32 * 16 * 9);
    auto dw = nn::conv2d<float>::depthwise(8, 3, 1, 1);
    CHECK(dw.parameter_count() == 8 * 9 + 8);
    CHECK(dw.output_shape({8, 5, 5}) == nn::shape{8, 5, 5});
    CHECK(dw.flops({8, 5, 5}) == 8 * 25 * (2 * 9 + 1));
    auto pw = nn::conv2d<float>::pointwise(8, 4, false);
    CHECK(pw.parameter_count() == 32);
    CHECK(pw.output_shape({8, 5, 3}) == nn::shape{4, 5, 3});
    const auto spec = c2.spec();
    CHECK(spec.type == "conv2d");
    CHECK(spec.attributes.at("in_channels") == "16");
    CHECK(spec.attributes.at("out_channels") == "32");
    CHECK(spec.attributes.at("kernel_h") == "3");
    CHECK(spec.attributes.at("stride_w") == "2");
    CHECK(spec.attributes.at("padding_h") == "1");
    CHECK(spec.attributes.at("groups") == "1");
    CHECK(spec.attributes.at("bias") == "0");
    CHECK(dw.spec().attributes.at("groups") == "8");
    nn::any_layer<float> any = c1;
    CHECK(any.spec() == c1.spec());
    CHECK(any.parameters().size() == 2);
}

TEST_CASE("conv2d rejects bad configurations and inputs with messages", "[nn][conv2d]") {
    CHECK_THROWS_WITH(nn::conv2d<float>(0, 4, 3), Catch::Matchers::Contains("in_channels"));
    CHECK_THROWS_WITH(nn::conv2d<float>(4, 6, 3, 1, 0, true, 4),
                      Catch::Matchers::Contains("groups = 4") &&
                          Catch::Matchers::Contains("out_channels = 6"));
    CHECK_THROWS_WITH(nn::conv2d<float>(4, 4, 3, 0), Catch::Matchers::Contains("stride"));
    nn::conv2d<float> c(3, 4, 3);
    nn::array<float> y;
    nn::array<float> wrong_channels = nn::array<float>::from_shape({2, 2, 8, 8});
    CHECK_THROWS_AS(c.forward(wrong_channels, y, nn::mode::train), shape_error);
    CHECK_THROWS_WITH(c.forward(wrong_channels, y, nn::mode::train),
                      Catch::Matchers::Contains("(2, 2, 8, 8)") &&
                          Catch::Matchers::Contains("(N, 3,"));
    nn::array<float> too_small = nn::array<float>::from_shape({1, 3, 2, 8});
    CHECK_THROWS_WITH(c.forward(too_small, y, nn::mode::train),
                      Catch::Matchers::Contains("H >= 3"));
    nn::array<float> rank2 = nn::array<float>::from_shape({2, 3});
    CHECK_THROWS_AS(c.forward(rank2, y, nn::mode::train), shape_error);
    CHECK_THROWS_AS(c.output_shape({3, 8}), shape_error);
    CHECK_THROWS_WITH(c.output_shape({2, 8, 8}), Catch::Matchers::Contains("(2, 8, 8)"));
}

TEST_CASE("conv2d on an empty batch gives empty outputs and zero gradients", "[nn][conv2d]") {
    for (std::size_t cin : {1, 3}) {
        nn::conv2d<float> c(cin, 2, 3);
        for (auto& v : c.weight())
            v = 1.f;
        nn::array<float> x = nn::array<float>::from_shape({0, cin, 5, 5}), y, dx;
        c.forward(x, y, nn::mode::train);
        CHECK(y.shape() == std::vector<std::size_t>{0, 2, 3, 3});
        c.parameters()[0].gradient->fill(7.f);
        c.backward(x, y, y, &dx);
        CHECK(dx.shape() == x.shape());
        for (float v : *c.parameters()[0].gradient)
            CHECK(v == 0.f);
    }
}
