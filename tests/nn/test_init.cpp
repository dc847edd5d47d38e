#include <catch2/catch.hpp>
#include <cmath>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/batch_norm.hpp>
#include <xnas/nn/layers/conv2d.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/flatten.hpp>
#include <xnas/nn/layers/gru.hpp>
#include <xnas/nn/network.hpp>

using namespace xnas;

namespace {

struct moments {
    double mean = 0, variance = 0, min = 0, max = 0;
};

template <class T>
moments moments_of(const nn::array<T>& a) {
    moments m{0, 0, 1e300, -1e300};
    for (auto v : a) {
        m.mean += static_cast<double>(v);
        m.min = std::min(m.min, static_cast<double>(v));
        m.max = std::max(m.max, static_cast<double>(v));
    }
    m.mean /= static_cast<double>(a.size());
    for (auto v : a)
        m.variance += (static_cast<double>(v) - m.mean) * (static_cast<double>(v) - m.mean);
    m.variance /= static_cast<double>(a.size());
    return m;
}

/// Uniform U(-b, b): bounded, mean 0, variance b^2 / 3.
template <class T>
void check_uniform(const nn::array<T>& a, double bound) {
    const auto m = moments_of(a);
    const double sd = bound / std::sqrt(3.0);
    CHECK(m.min >= -bound);
    CHECK(m.max <= bound);
    CHECK(m.max > 0.99 * bound); // the whole range is used
    CHECK(std::abs(m.mean) < 5 * sd / std::sqrt(static_cast<double>(a.size())));
    CHECK(m.variance == Approx(sd * sd).epsilon(0.02));
}

template <class T>
void check_normal(const nn::array<T>& a, double sd) {
    const auto m = moments_of(a);
    CHECK(std::abs(m.mean) < 5 * sd / std::sqrt(static_cast<double>(a.size())));
    CHECK(m.variance == Approx(sd * sd).epsilon(0.02));
    CHECK(m.max > 3 * sd); // tails exist: not a uniform in disguise
}

} // namespace

TEST_CASE("fans follow PyTorch's rule", "[nn][init]") {
    CHECK(nn::init::fans_of({256, 512}).in == 512);
    CHECK(nn::init::fans_of({256, 512}).out == 256);
    CHECK(nn::init::fans_of({16, 8, 3, 3}).in == 72);
    CHECK(nn::init::fans_of({16, 8, 3, 3}).out == 144);
    CHECK_THROWS_AS(nn::init::fans_of({16}), shape_error);
}

TEMPLATE_TEST_CASE("initialisers have the documented statistics", "[nn][init]", float, double) {
    rng g(3);
    nn::array<TestType> w = nn::array<TestType>::from_shape({256, 512});
    nn::array<TestType> conv = nn::array<TestType>::from_shape({64, 32, 3, 3});
    SECTION("he uniform") {
        nn::init::he_uniform(w, g);
        check_uniform(w, std::sqrt(6.0 / 512));
        nn::init::he_uniform(conv, g);
        check_uniform(conv, std::sqrt(6.0 / 288));
    }
    SECTION("he normal") {
        nn::init::he_normal(w, g);
        check_normal(w, std::sqrt(2.0 / 512));
    }
    SECTION("xavier uniform") {
        nn::init::xavier_uniform(w, g);
        check_uniform(w, std::sqrt(6.0 / (512 + 256)));
        nn::init::xavier_uniform(conv, g, 2.0);
        check_uniform(conv, 2 * std::sqrt(6.0 / (288 + 576)));
    }
    SECTION("xavier normal") {
        nn::init::xavier_normal(w, g);
        check_normal(w, std::sqrt(2.0 / (512 + 256)));
    }
    SECTION("PyTorch default weight: kaiming_uniform(a = sqrt 5) = U(+-1/sqrt(fan_in))") {
        nn::init::he_uniform(w, g, std::sqrt(5.0));
        check_uniform(w, 1 / std::sqrt(512.0));
    }
}

TEST_CASE("init::apply on a dense layer: PyTorch default weights and biases", "[nn][init]") {
    rng g(5);
    nn::dense<float> d(400, 300);
    nn::init::apply(d, nn::init::scheme::pytorch_default, g);
    check_uniform(d.weight(), 1 / std::sqrt(400.0));
    const auto b = moments_of(d.bias());
    CHECK(b.min >= -1 / std::sqrt(400.0));
    CHECK(b.max <= 1 / std::sqrt(400.0));
    CHECK(b.max > 0.5 / std::sqrt(400.0));
    nn::init::apply(d, nn::init::scheme::he_normal, g);
    check_normal(d.weight(), std::sqrt(2.0 / 400));
    CHECK(moments_of(d.bias()).max == 0);
    CHECK(moments_of(d.bias()).min == 0);
}

TEST_CASE("init::apply_to: batch norm, running statistics, recurrent rule", "[nn][init]") {
    rng g(9);
    nn::array<double> gamma = {5, 5}, beta = {5, 5}, mean = {0.25, 0.5}, var = {2, 3}, none;
    std::vector<nn::parameter<double>> bn{{"weight", &gamma, &none},
                                          {"bias", &beta, &none},
                                          {"running_mean", &mean, &none},
                                          {"running_var", &var, &none}};
    nn::init::apply_to<double>(bn, "batch_norm", nn::init::scheme::pytorch_default, g);
    CHECK(gamma(0) == 1);
    CHECK(gamma(1) == 1);
    CHECK(beta(0) == 0);
    CHECK(beta(1) == 0);
    CHECK(mean(1) == 0.5);
    CHECK(var(0) == 2);

    // A user layer's own rank-1 "beta" (a Swish slope) is no normalisation shift: untouched.
    nn::array<double> slope = {1.5, 2.5};
    std::vector<nn::parameter<double>> swish{{"beta", &slope, &none}};
    nn::init::apply_to<double>(swish, "swish", nn::init::scheme::pytorch_default, g);
    CHECK(slope(0) == 1.5);
    CHECK(slope(1) == 2.5);

    // An LSTM with F = 10, H = 50: every parameter U(-1/sqrt(50), 1/sqrt(50)).
    auto w_ih = nn::array<double>::from_shape({200, 10});
    auto w_hh = nn::array<double>::from_shape({200, 50});
    auto b_ih = nn::array<double>::from_shape({200});
    auto b_hh = nn::array<double>::from_shape({200});
    std::vector<nn::parameter<double>> lstm{{"weight_ih", &w_ih, &none},
                                            {"weight_hh", &w_hh, &none},
                                            {"bias_ih", &b_ih, &none},
                                            {"bias_hh", &b_hh, &none}};
    nn::init::apply_to<double>(lstm, "lstm", nn::init::scheme::pytorch_default, g);
    const double bound = 1 / std::sqrt(50.0);
    check_uniform(w_hh, bound);
    for (const auto* a : {&w_ih, &b_ih, &b_hh}) {
        const auto m = moments_of(*a);
        CHECK(m.min >= -bound);
        CHECK(m.max <= bound);
        CHECK(m.max > 0.5 * bound); // not fan-in 10's wider bound, not zero
    }
    CHECK(moments_of(w_ih).max <= bound); // fan_in rule would give 1/sqrt(10)
    nn::init::apply_to<double>(lstm, "lstm", nn::init::scheme::xavier_uniform, g);
    CHECK(moments_of(b_ih).max == 0);
    check_uniform(w_hh, std::sqrt(6.0 / 250));
}

TEST_CASE("same seed, same weights; another seed, other weights", "[nn][init]") {
    auto draw = [](std::uint64_t seed) {
        rng g(seed);
        nn::dense<float> d(20, 10);
        nn::init::apply(d, nn::init::scheme::pytorch_default, g);
        return std::vector<float>(d.weight().begin(), d.weight().end());
    };
    CHECK(draw(1) == draw(1));
    CHECK(draw(1) != draw(2));
}

TEST_CASE("apply on a network initialises its layers in node order, as one apply per layer",
          "[nn][init]") {
    // A network of every kind of parameter: convolution weight and bias, batch-norm scale,
    // shift and running statistics, recurrent weights, a branch merged back, a dense head.
    auto make = [] {
        nn::network<float> net({2, 6, 6});
        net.add(nn::conv2d<float>({.in_channels = 2,
                                   .out_channels = 3,
                                   .kernel_h = 3,
                                   .kernel_w = 3,
                                   .padding_h = 1,
                                   .padding_w = 1}));
        const auto bn = net.add(nn::batch_norm<float>(3));
        net.add(nn::relu<float>());
        net.add(
            nn::conv2d<float>({.in_channels = 3, .out_channels = 3, .kernel_h = 1, .kernel_w = 1}));
        net.add(nn::relu<float>(), {net.size() - 1, bn}, nn::merge_op::add);
        net.add(nn::flatten<float>());
        net.add(nn::dense<float>(108, 12));
        return net;
    };
    using nn::init::scheme;
    for (auto s : {scheme::pytorch_default, scheme::he_normal, scheme::xavier_uniform}) {
        INFO(nn::init::to_string(s));
        nn::network<float> by_layer = make(), whole = make();
        rng g1(5), g2(5);
        for (std::size_t id = 1; id < by_layer.size(); ++id)
            nn::init::apply(by_layer.layer(id), s, g1);
        nn::init::apply(whole, s, g2);
        const auto a = by_layer.parameters(), b = whole.parameters();
        REQUIRE(a.size() == b.size());
        for (std::size_t k = 0; k < a.size(); ++k) {
            INFO(a[k].name);
            CHECK(std::vector<float>(a[k].value->begin(), a[k].value->end()) ==
                  std::vector<float>(b[k].value->begin(), b[k].value->end()));
        }
        CHECK(g1() == g2()); // the same number of draws
        for (const auto& p : b)
            if (p.value->dimension() >= 2) // weights: initialised, not left at zero
                CHECK(xt::amax(xt::abs(*p.value))() > 0);
    }
    // Recurrent layers take their own bound from H, inside a network too.
    nn::network<double> rnn({5, 4});
    rnn.add(nn::gru<double>(4, 16, false));
    rnn.add(nn::dense<double>(16, 2));
    rng g(3);
    nn::init::apply(rnn, scheme::pytorch_default, g);
    for (const auto& p : rnn.layer(1).parameters()) {
        CHECK(moments_of(*p.value).max <= 0.25);
        CHECK(moments_of(*p.value).max > 0.15);
    }
    CHECK(moments_of(*rnn.layer(2).parameters().front().value).max > 0);
}

TEST_CASE("schemes print and parse", "[nn][init]") {
    using nn::init::scheme;
    for (auto s : {scheme::pytorch_default, scheme::he_uniform, scheme::he_normal,
                   scheme::xavier_uniform, scheme::xavier_normal})
        CHECK(nn::init::parse_scheme(nn::init::to_string(s)) == s);
    CHECK_THROWS_AS(nn::init::parse_scheme("kaiming"), parse_error);
    CHECK_THROWS_WITH(nn::init::parse_scheme("kaiming"), Catch::Matchers::Contains("\"kaiming\""));
}
