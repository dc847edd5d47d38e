#include "gradient_check.hpp"

#include <cmath>
#include <initializer_list>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/gru.hpp>
#include <xnas/nn/layers/lstm.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

// The recurrent layers share one scaffold (nn/detail/recurrent.hpp): every test runs on both
// cells. A case names the layer, its gate count, and one step of PyTorch's equations worked
// out by hand for a 1-input, 1-unit layer on x = (1, -2).

using namespace xnas;

namespace {

struct lstm_case {
    template <class T>
    using layer = nn::lstm<T>;
    static constexpr const char* name = "lstm";
    static constexpr std::size_t gates = 4;
    // Gate rows i, f, g, o.
    static constexpr std::initializer_list<double> weight_ih{0.5, -0.25, 0.75, 1.0};
    static constexpr std::initializer_list<double> weight_hh{0.1, 0.2, -0.3, 0.4};
    static constexpr std::initializer_list<double> bias_ih{0.05, 0.1, -0.1, 0.2};
    static constexpr std::initializer_list<double> bias_hh{0, 0.3, 0, -0.1};
    static constexpr double y0 = 0.2606617481103897, y0_epsilon = 1e-12;
    static constexpr double y1 = -0.0004899329723704995, y1_epsilon = 1e-9;
};

struct gru_case {
    template <class T>
    using layer = nn::gru<T>;
    static constexpr const char* name = "gru";
    static constexpr std::size_t gates = 3;
    // Gate rows r, z, n; b_hn sits inside r * (W_hn h + b_hn).
    static constexpr std::initializer_list<double> weight_ih{0.5, -0.25, 0.75};
    static constexpr std::initializer_list<double> weight_hh{0.1, 0.2, -0.3};
    static constexpr std::initializer_list<double> bias_ih{0.05, 0.1, -0.1};
    static constexpr std::initializer_list<double> bias_hh{0, 0.3, 0.2};
    static constexpr double y0 = 0.3010784862019405, y0_epsilon = 1e-12;
    static constexpr double y1 = -0.03608006379818682, y1_epsilon = 1e-12;
};

template <class Case>
typename Case::template layer<double> random_layer(std::size_t f, std::size_t h, bool seq, rng& g) {
    typename Case::template layer<double> l(f, h, seq);
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

TEMPLATE_TEST_CASE("recurrent layer gradients match finite differences", "[nn][recurrent]",
                   lstm_case, gru_case) {
    rng g(21);
    for (bool seq : {true, false}) {
        for (std::size_t steps : {1, 4}) {
            INFO("return_sequences " << seq << ", T " << steps);
            auto l = random_layer<TestType>(3, 2, seq, g);
            nn::array<double> x = nn::array<double>::from_shape({3, steps, 3});
            test::fill_uniform(x, g, -1.5, 1.5);
            test::check_layer_gradients(l, x, g, 1e-6);
        }
    }
}

TEMPLATE_TEST_CASE("recurrent layer forward matches hand-computed PyTorch equations",
                   "[nn][recurrent]", lstm_case, gru_case) {
    constexpr std::size_t G = TestType::gates;
    typename TestType::template layer<double> l(1, 1);
    l.weight_ih() = filled({G, 1}, TestType::weight_ih);
    l.weight_hh() = filled({G, 1}, TestType::weight_hh);
    l.bias_ih() = filled({G}, TestType::bias_ih);
    l.bias_hh() = filled({G}, TestType::bias_hh);
    nn::array<double> x = filled({1, 2, 1}, {1.0, -2.0}), y;
    l.forward(x, y, nn::mode::eval);
    REQUIRE(y.shape() == std::vector<std::size_t>{1, 2, 1});
    CHECK(y(0, 0, 0) == Approx(TestType::y0).epsilon(TestType::y0_epsilon));
    CHECK(y(0, 1, 0) == Approx(TestType::y1).epsilon(TestType::y1_epsilon));

    typename TestType::template layer<double> last(1, 1, false);
    auto src = l.parameters();
    auto dst = last.parameters();
    for (std::size_t i = 0; i < src.size(); ++i)
        *dst[i].value = *src[i].value;
    nn::array<double> y_last;
    last.forward(x, y_last, nn::mode::eval);
    REQUIRE(y_last.shape() == std::vector<std::size_t>{1, 1});
    CHECK(y_last(0, 0) == y(0, 1, 0));
}

TEMPLATE_TEST_CASE("recurrent layer batch rows are independent and float agrees with double",
                   "[nn][recurrent]", lstm_case, gru_case) {
    rng g(4);
    auto l = random_layer<TestType>(5, 4, true, g);
    nn::array<double> x = nn::array<double>::from_shape({6, 7, 5}), y, y_one;
    test::fill_uniform(x, g);
    l.forward(x, y, nn::mode::train);
    nn::array<double> row = xt::view(x, xt::range(2, 3), xt::all(), xt::all());
    l.forward(row, y_one, nn::mode::train);
    for (std::size_t s = 0; s < 7; ++s)
        for (std::size_t j = 0; j < 4; ++j)
            CHECK(y_one(0, s, j) == Approx(y(2, s, j)).epsilon(1e-12));

    typename TestType::template layer<float> lf(5, 4, true);
    auto pd = l.parameters();
    auto pf = lf.parameters();
    for (std::size_t i = 0; i < pd.size(); ++i)
        *pf[i].value = xt::cast<float>(*pd[i].value);
    nn::array<float> xf = xt::cast<float>(x), yf;
    lf.forward(xf, yf, nn::mode::train);
    for (std::size_t i = 0; i < y.size(); ++i)
        CHECK(yf.data()[i] == Approx(y.data()[i]).margin(1e-5));
}

TEMPLATE_TEST_CASE("recurrent layer shapes, counts, spec and errors", "[nn][recurrent]", lstm_case,
                   gru_case) {
    constexpr std::size_t G = TestType::gates;
    using layer = typename TestType::template layer<float>;
    layer seq(10, 8), last(10, 8, false);
    CHECK(seq.output_shape({5, 10}) == nn::shape{5, 8});
    CHECK(last.output_shape({5, 10}) == nn::shape{8});
    // = torch.nn.LSTM(10, 8) and torch.nn.GRU(10, 8)
    CHECK(seq.parameter_count() == G * 8 * (10 + 8) + 2 * G * 8);
    std::size_t counted = 0;
    for (auto& p : seq.parameters())
        counted += p.value->size();
    CHECK(counted == seq.parameter_count());
    CHECK(seq.flops({5, 10}) >= 5 * 2 * G * 8 * (10 + 8));
    CHECK(last.spec() ==
          nn::layer_spec{TestType::name,
                         {{"input_size", "10"}, {"hidden_size", "8"}, {"return_sequences", "0"}}});
    CHECK_THROWS_AS(seq.output_shape({5, 9}), shape_error);
    nn::array<float> x = nn::array<float>::from_shape({2, 3, 9}), y;
    CHECK_THROWS_WITH(seq.forward(x, y, nn::mode::eval),
                      Catch::Matchers::Contains(std::string("xnas::nn::") + TestType::name) &&
                          Catch::Matchers::Contains("(2, 3, 9)") &&
                          Catch::Matchers::Contains("(N, T, 10)"));
    nn::array<float> good = nn::array<float>::from_shape({2, 3, 10}), dx;
    seq.forward(good, y, nn::mode::train);
    nn::array<float> bad_dy = nn::array<float>::from_shape({2, 8});
    CHECK_THROWS_AS(seq.backward(good, y, bad_dy, &dx), shape_error);
    CHECK_THROWS_AS(layer(0, 3), std::invalid_argument);
}

TEMPLATE_TEST_CASE("recurrent layer gets PyTorch's recurrent initialisation from init::apply",
                   "[nn][recurrent]", lstm_case, gru_case) {
    rng g(8);
    typename TestType::template layer<float> l(100, 16);
    nn::init::apply(l, nn::init::scheme::pytorch_default, g);
    for (auto& p : l.parameters()) {
        CHECK(xt::amax(*p.value)() <= 0.25f);
        CHECK(xt::amin(*p.value)() >= -0.25f);
        CHECK(xt::amax(*p.value)() > 0.2f);
    }
}

TEMPLATE_TEST_CASE("recurrent layer learns to remember the first input of a sequence",
                   "[nn][recurrent]", lstm_case, gru_case) {
    // Target: the sign of x at t = 0 after 5 steps of noise. A few hundred SGD steps on the
    // mean squared error of a linear read-out of h must beat the chance level clearly.
    rng g(17);
    typename TestType::template layer<double> l(1, 6, false);
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
