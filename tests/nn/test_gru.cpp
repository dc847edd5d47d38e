#include "gradient_check.hpp"

#include <cmath>
#include <xnas/core/error.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/gru.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

using namespace xnas;

namespace {
nn::gru<double> random_gru(std::size_t f, std::size_t h, bool seq, rng& g) {
    nn::gru<double> l(f, h, seq);
    for (auto& p : l.parameters())
        test::fill_uniform(*p.value, g, -0.8, 0.8);
    return l;
}

/// An array of the given shape holding `values` in row-major order (nested braces with one
/// element per row are ambiguous in xtensor).
nn::array<double> filled(std::vector<std::size_t> shape, std::initializer_list<double> values) {
    auto a = nn::array<double>::from_shape(shape);
    std::copy(values.begin(), values.end(), a.begin());
    return a;
}
} // namespace

TEST_CASE("gru gradients match finite differences", "[nn][gru]") {
    rng g(21);
    for (bool seq : {true, false}) {
        for (std::size_t steps : {1, 4}) {
            INFO("return_sequences " << seq << ", T " << steps);
            auto l = random_gru(3, 2, seq, g);
            nn::array<double> x = nn::array<double>::from_shape({3, steps, 3});
            test::fill_uniform(x, g, -1.5, 1.5);
            test::check_layer_gradients(l, x, g, 1e-6);
        }
    }
}

TEST_CASE("gru forward matches hand-computed PyTorch equations", "[nn][gru]") {
    nn::gru<double> l(1, 1);
    l.weight_ih() = filled({3, 1}, {0.5, -0.25, 0.75}); // gate rows r, z, n
    l.weight_hh() = filled({3, 1}, {0.1, 0.2, -0.3});
    l.bias_ih() = {0.05, 0.1, -0.1};
    l.bias_hh() = {0, 0.3, 0.2}; // b_hn sits inside r * (W_hn h + b_hn)
    nn::array<double> x = filled({1, 2, 1}, {1.0, -2.0}), y;
    l.forward(x, y, nn::mode::eval);
    REQUIRE(y.shape() == std::vector<std::size_t>{1, 2, 1});
    CHECK(y(0, 0, 0) == Approx(0.3010784862019405).epsilon(1e-12));
    CHECK(y(0, 1, 0) == Approx(-0.03608006379818682).epsilon(1e-12));

    nn::gru<double> last(1, 1, false);
    auto src = l.parameters();
    auto dst = last.parameters();
    for (std::size_t i = 0; i < src.size(); ++i)
        *dst[i].value = *src[i].value;
    nn::array<double> y_last;
    last.forward(x, y_last, nn::mode::eval);
    REQUIRE(y_last.shape() == std::vector<std::size_t>{1, 1});
    CHECK(y_last(0, 0) == y(0, 1, 0));
}

TEST_CASE("gru batch rows are independent and float agrees with double", "[nn][gru]") {
    rng g(4);
    auto l = random_gru(5, 4, true, g);
    nn::array<double> x = nn::array<double>::from_shape({6, 7, 5}), y, y_one;
    test::fill_uniform(x, g);
    l.forward(x, y, nn::mode::train);
    nn::array<double> row = xt::view(x, xt::range(2, 3), xt::all(), xt::all());
    l.forward(row, y_one, nn::mode::train);
    for (std::size_t s = 0; s < 7; ++s)
        for (std::size_t j = 0; j < 4; ++j)
            CHECK(y_one(0, s, j) == Approx(y(2, s, j)).epsilon(1e-12));

    nn::gru<float> lf(5, 4, true);
    auto pd = l.parameters();
    auto pf = lf.parameters();
    for (std::size_t i = 0; i < pd.size(); ++i)
        *pf[i].value = xt::cast<float>(*pd[i].value);
    nn::array<float> xf = xt::cast<float>(x), yf;
    lf.forward(xf, yf, nn::mode::train);
    for (std::size_t i = 0; i < y.size(); ++i)
        CHECK(yf.data()[i] == Approx(y.data()[i]).margin(1e-5));
}

TEST_CASE("gru shapes, counts, spec and errors", "[nn][gru]") {
    nn::gru<float> seq(10, 8), last(10, 8, false);
    CHECK(seq.output_shape({5, 10}) == nn::shape{5, 8});
    CHECK(last.output_shape({5, 10}) == nn::shape{8});
    CHECK(seq.parameter_count() == 3 * 8 * (10 + 8) + 6 * 8); // = torch.nn.GRU(10, 8)
    std::size_t counted = 0;
    for (auto& p : seq.parameters())
        counted += p.value->size();
    CHECK(counted == seq.parameter_count());
    CHECK(seq.flops({5, 10}) >= 5 * 2 * 3 * 8 * (10 + 8));
    CHECK(last.spec() ==
          nn::layer_spec{"gru",
                         {{"input_size", "10"}, {"hidden_size", "8"}, {"return_sequences", "0"}}});
    CHECK_THROWS_AS(seq.output_shape({5, 9}), shape_error);
    nn::array<float> x = nn::array<float>::from_shape({2, 3, 9}), y;
    CHECK_THROWS_WITH(seq.forward(x, y, nn::mode::eval),
                      Catch::Matchers::Contains("(2, 3, 9)") &&
                          Catch::Matchers::Contains("(N, T, 10)"));
    nn::array<float> good = nn::array<float>::from_shape({2, 3, 10}), dx;
    seq.forward(good, y, nn::mode::train);
    nn::array<float> bad_dy = nn::array<float>::from_shape({2, 8});
    CHECK_THROWS_AS(seq.backward(good, y, bad_dy, &dx), shape_error);
    CHECK_THROWS_AS(nn::gru<float>(0, 3), std::invalid_argument);
}

TEST_CASE("gru gets PyTorch's recurrent initialisation from init::apply", "[nn][gru]") {
    rng g(8);
    nn::gru<float> l(100, 16);
    nn::init::apply(l, nn::init::scheme::pytorch_default, g);
    for (auto& p : l.parameters()) {
        CHECK(xt::amax(*p.value)() <= 0.25f);
        CHECK(xt::amin(*p.value)() >= -0.25f);
        CHECK(xt::amax(*p.value)() > 0.2f);
    }
}

TEST_CASE("gru learns to remember the first input of a sequence", "[nn][gru]") {
    // Target: the sign of x at t = 0 after 5 steps of noise. A few hundred SGD steps on the
    // mean squared error of a linear read-out of h must beat the chance level clearly.
    rng g(17);
    nn::gru<double> l(1, 6, false);
    nn::init::apply(l, nn::init::scheme::pytorch_default, g);
    nn::array<double> readout = nn::array<double>::from_shape({6});
    test::fill_uniform(readout, g, -0.3, 0.3);
    const std::size_t n = 32, steps = 6;
    auto loss_of = [&](bool train) {
        nn::array<double> x = nn::array<double>::from_shape({n, steps, 1}), y, dx;
        std::vector<double> target(n);
        for (std::size_t b = 0; b < n; ++b) {
            for (std::size_t s = 0; s < steps; ++s)
                x(b, s, 0) = g.uniform(-0.3, 0.3);
            target[b] = g.bernoulli(0.5) ? 1.0 : -1.0;
            x(b, 0, 0) = target[b];
        }
        l.forward(x, y, nn::mode::train);
        nn::array<double> dy = nn::array<double>::from_shape({n, 6});
        double loss = 0;
        nn::array<double> dreadout = xt::zeros<double>({6});
        for (std::size_t b = 0; b < n; ++b) {
            double out = 0;
            for (std::size_t j = 0; j < 6; ++j)
                out += readout(j) * y(b, j);
            const double e = out - target[b];
            loss += e * e / n;
            for (std::size_t j = 0; j < 6; ++j) {
                dy(b, j) = 2 * e / n * readout(j);
                dreadout(j) += 2 * e / n * y(b, j);
            }
        }
        if (train) {
            l.backward(x, y, dy, nullptr);
            for (auto& p : l.parameters())
                *p.value -= 0.5 * *p.gradient;
            readout -= 0.5 * dreadout;
        }
        return loss;
    };
    const double before = loss_of(false);
    for (int it = 0; it < 300; ++it)
        loss_of(true);
    double after = 0;
    for (int k = 0; k < 4; ++k)
        after += loss_of(false) / 4;
    INFO("loss before " << before << ", after " << after);
    CHECK(after < 0.2);
    CHECK(after < before / 3);
}
