#include "gradient_check.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/loss.hpp>

using namespace xnas;

namespace {
constexpr double value_tolerance = 1e-6;
constexpr double gradient_tolerance = 1e-6;
} // namespace

TEMPLATE_TEST_CASE("softmax_cross_entropy matches hand-computed values and gradients", "[nn][loss]",
                   float, double) {
    nn::softmax_cross_entropy<TestType> ce;
    nn::array<TestType> logits = {{1, 2, 3}, {0, 0, 0}}, d;
    std::vector<std::int32_t> labels = {2, 1};
    // row 0: log(e + e^2 + e^3) - 3 = 0.40760596444; row 1: log 3.
    const double expected = (0.40760596444438 + std::log(3.0)) / 2;
    CHECK(ce(logits, labels, &d) == Approx(expected).epsilon(value_tolerance));
    CHECK(ce(logits, labels) == Approx(expected).epsilon(value_tolerance));
    REQUIRE(d.shape() == logits.shape());
    const double p[3] = {0.09003057317038, 0.24472847105480, 0.66524095577482};
    CHECK(d(0, 0) == Approx(p[0] / 2).margin(gradient_tolerance));
    CHECK(d(0, 1) == Approx(p[1] / 2).margin(gradient_tolerance));
    CHECK(d(0, 2) == Approx((p[2] - 1) / 2).margin(gradient_tolerance));
    CHECK(d(1, 0) == Approx(1.0 / 6).margin(gradient_tolerance));
    CHECK(d(1, 1) == Approx(-1.0 / 3).margin(gradient_tolerance));
    CHECK(d(1, 2) == Approx(1.0 / 6).margin(gradient_tolerance));
}

TEMPLATE_TEST_CASE("softmax_cross_entropy stays finite on huge logits", "[nn][loss]", float,
                   double) {
    nn::softmax_cross_entropy<TestType> ce;
    nn::array<TestType> d;
    nn::array<TestType> logits = {{1e4, 0, -1e4}};
    std::vector<std::int32_t> wrong = {1}, right = {0};
    CHECK(ce(logits, wrong, &d) == Approx(1e4).epsilon(1e-6));
    CHECK(d(0, 0) == Approx(1.0));
    CHECK(d(0, 1) == Approx(-1.0));
    CHECK(d(0, 2) == Approx(0.0).margin(1e-12));
    CHECK(ce(logits, right, &d) == Approx(0.0).margin(1e-12));
    nn::array<TestType> tie = {{1000, 1000}};
    CHECK(ce(tie, right) == Approx(std::log(2.0)).epsilon(value_tolerance));
    if constexpr (std::is_same_v<TestType, double>) {
        nn::array<double> astronomic = {{1e30, 0}};
        CHECK(ce(astronomic, wrong) == Approx(1e30));
        CHECK(ce(astronomic, right) == Approx(0.0).margin(1e-12));
    }
}

TEMPLATE_TEST_CASE("softmax_cross_entropy with label smoothing matches hand-computed values",
                   "[nn][loss]", float, double) {
    // e = 0.3 over 3 classes: targets 0.1, 0.1, 0.8 for label 2.
    nn::softmax_cross_entropy<TestType> ce{.label_smoothing = 0.3};
    nn::array<TestType> logits = {{1, 2, 3}}, d;
    std::vector<std::int32_t> labels = {2};
    // logsumexp(1, 2, 3) - (0.1 * 1 + 0.1 * 2 + 0.8 * 3)
    CHECK(ce(logits, labels, &d) == Approx(3.40760596444438 - 2.7).epsilon(value_tolerance));
    const double p[3] = {0.09003057317038, 0.24472847105480, 0.66524095577482};
    CHECK(d(0, 0) == Approx(p[0] - 0.1).margin(gradient_tolerance));
    CHECK(d(0, 1) == Approx(p[1] - 0.1).margin(gradient_tolerance));
    CHECK(d(0, 2) == Approx(p[2] - 0.8).margin(gradient_tolerance));
    // Huge logits: the shift by the row maximum must still cancel.
    nn::array<TestType> huge = {{1e4, 0, -1e4}};
    std::vector<std::int32_t> first = {0};
    CHECK(ce(huge, first) == Approx(1e4 - (0.8e4 - 0.1e4)).epsilon(1e-6));
}

TEST_CASE("softmax_cross_entropy rejects label smoothing below 0, from 1 up, or NaN",
          "[nn][loss]") {
    nn::array<float> logits = {{1, 2}};
    std::vector<std::int32_t> labels = {0};
    for (double bad : {-0.1, 1.0, std::numeric_limits<double>::quiet_NaN()}) {
        nn::softmax_cross_entropy<float> ce{.label_smoothing = bad};
        CHECK_THROWS_WITH(ce(logits, labels), Catch::Matchers::Contains("label_smoothing") &&
                                                  Catch::Matchers::Contains("[0, 1)"));
    }
}

TEST_CASE("softmax_cross_entropy gradient matches finite differences", "[nn][loss]") {
    const double smoothing = GENERATE(0.0, 0.1, 0.45);
    INFO("label_smoothing " << smoothing);
    rng g(11);
    nn::array<double> logits = nn::array<double>::from_shape({4, 5}), d;
    test::fill_uniform(logits, g, -3, 3);
    std::vector<std::int32_t> labels = {0, 4, 2, 2};
    nn::softmax_cross_entropy<double> ce{.label_smoothing = smoothing};
    ce(logits, labels, &d);
    const double eps = 1e-6;
    for (std::size_t i = 0; i < logits.size(); ++i) {
        const double saved = logits.data()[i];
        logits.data()[i] = saved + eps;
        const double up = ce(logits, labels);
        logits.data()[i] = saved - eps;
        const double down = ce(logits, labels);
        logits.data()[i] = saved;
        INFO("element " << i);
        CHECK(test::relative_error(d.data()[i], (up - down) / (2 * eps)) < 1e-6);
    }
}

TEST_CASE("softmax_cross_entropy rejects bad labels, shapes and NaN with precise messages",
          "[nn][loss]") {
    nn::softmax_cross_entropy<float> ce;
    nn::array<float> logits = {{1, 2, 3}, {0, 0, 0}};
    std::vector<std::int32_t> too_big = {0, 5}, negative = {-1, 0}, short_labels = {0};
    CHECK_THROWS_AS(ce(logits, too_big), std::out_of_range);
    CHECK_THROWS_WITH(ce(logits, too_big), Catch::Matchers::Contains("index 1") &&
                                               Catch::Matchers::Contains("is 5") &&
                                               Catch::Matchers::Contains("< 3"));
    CHECK_THROWS_WITH(ce(logits, negative),
                      Catch::Matchers::Contains("index 0") && Catch::Matchers::Contains("is -1"));
    CHECK_THROWS_AS(ce(logits, short_labels), shape_error);
    nn::array<float> rank3 = nn::array<float>::from_shape({2, 3, 1});
    std::vector<std::int32_t> ok = {0, 1};
    CHECK_THROWS_AS(ce(rank3, ok), shape_error);
    nn::array<float> nan_logits = {{std::numeric_limits<float>::quiet_NaN(), 0, 0}, {0, 0, 0}};
    CHECK_THROWS_AS(ce(nan_logits, ok), numerical_error);
}

TEMPLATE_TEST_CASE("mean_squared_error matches hand-computed values and gradients", "[nn][loss]",
                   float, double) {
    nn::mean_squared_error<TestType> mse;
    nn::array<TestType> y = {1, 2, 3}, t = {1, 0, 0}, d;
    CHECK(mse(y, t, &d) == Approx(13.0 / 3).epsilon(value_tolerance));
    REQUIRE(d.size() == 3);
    CHECK(d(0) == Approx(0.0).margin(gradient_tolerance));
    CHECK(d(1) == Approx(4.0 / 3).epsilon(value_tolerance));
    CHECK(d(2) == Approx(2.0).epsilon(value_tolerance));
    nn::array<TestType> other = {1, 2};
    CHECK_THROWS_AS(mse(y, other), shape_error);
    CHECK_THROWS_WITH(mse(y, other),
                      Catch::Matchers::Contains("(3)") && Catch::Matchers::Contains("(2)"));
}

TEST_CASE("mean_squared_error gradient matches finite differences", "[nn][loss]") {
    rng g(12);
    nn::array<double> y = nn::array<double>::from_shape({3, 4}), t = y, d;
    test::fill_uniform(y, g);
    test::fill_uniform(t, g);
    nn::mean_squared_error<double> mse;
    mse(y, t, &d);
    const double eps = 1e-6;
    for (std::size_t i = 0; i < y.size(); ++i) {
        const double saved = y.data()[i];
        y.data()[i] = saved + eps;
        const double up = mse(y, t);
        y.data()[i] = saved - eps;
        const double down = mse(y, t);
        y.data()[i] = saved;
        CHECK(test::relative_error(d.data()[i], (up - down) / (2 * eps)) < 1e-6);
    }
}

TEST_CASE("accuracy counts arg-max hits, first index on ties", "[nn][loss]") {
    nn::array<float> logits = {{1, 2}, {3, 0}, {0, 0}};
    std::vector<std::int32_t> labels = {1, 0, 1};
    CHECK(nn::accuracy(logits, labels) == Approx(2.0 / 3));
    labels[2] = 0;
    CHECK(nn::accuracy(logits, labels) == Approx(1.0));
    labels[0] = 2;
    CHECK_THROWS_AS(nn::accuracy(logits, labels), std::out_of_range);
}
