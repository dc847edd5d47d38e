// The regression metrics train::rmse and train::r_squared on hand-worked numbers: one target,
// several targets (each column about its own mean), constant targets and mismatched shapes.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <xnas/core/error.hpp>
#include <xnas/nn/tensor.hpp>
#include <xnas/train/metrics.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {

/// A (rows, cols) array of `values`, row by row.
template <class T>
nn::array<T> rows_of(std::size_t rows, std::size_t cols, std::initializer_list<T> values) {
    nn::array<T> a = nn::array<T>::from_shape({rows, cols});
    REQUIRE(values.size() == rows * cols);
    std::copy(values.begin(), values.end(), a.begin());
    return a;
}

} // namespace

TEST_CASE("rmse and r_squared match hand-worked values", "[train][metrics][regression]") {
    SECTION("one target") {
        // errors 0, -1, 1, -2: SS_res 6, RMSE sqrt(6 / 4); mean 3, SS_tot 4 + 0 + 1 + 9 = 14
        const auto pred = rows_of<double>(4, 1, {1, 2, 3, 4});
        const auto t = rows_of<double>(4, 1, {1, 3, 2, 6});
        CHECK(train::rmse(pred, t) == Approx(std::sqrt(1.5)).epsilon(1e-14));
        CHECK(train::r_squared(pred, t) == Approx(1.0 - 6.0 / 14.0).epsilon(1e-14));
        CHECK(train::rmse(t, t) == 0);
        CHECK(train::r_squared(t, t) == 1);
        // Predicting the mean scores 0, worse than it below 0.
        const auto mean = rows_of<double>(4, 1, {3, 3, 3, 3});
        CHECK(train::r_squared(mean, t) == Approx(0.0).margin(1e-15));
        const auto bad = rows_of<double>(4, 1, {6, 6, 6, 6});
        CHECK(train::r_squared(bad, t) == Approx(1.0 - 50.0 / 14.0).epsilon(1e-14));
        // float computes in double
        const auto pf = rows_of<float>(4, 1, {1, 2, 3, 4});
        const auto tf = rows_of<float>(4, 1, {1, 3, 2, 6});
        CHECK(train::r_squared(pf, tf) == Approx(8.0 / 14.0).epsilon(1e-12));
    }
    SECTION("two targets: each column about its own mean, sums pooled") {
        // errors (0, -2), (0, 2), (-1, 0): SS_res 9 over 6 values. Column means 7/3 and 20:
        // SS_tot (16 + 1 + 25) / 9 + (64 + 4 + 100) = 14/3 + 168 = 518/3.
        const auto pred = rows_of<double>(3, 2, {1, 10, 2, 20, 3, 30});
        const auto t = rows_of<double>(3, 2, {1, 12, 2, 18, 4, 30});
        CHECK(train::rmse(pred, t) == Approx(std::sqrt(9.0 / 6.0)).epsilon(1e-14));
        CHECK(train::r_squared(pred, t) == Approx(1.0 - 27.0 / 518.0).epsilon(1e-14));
    }
    SECTION("constant targets: 1 for a perfect fit, 0 otherwise") {
        const auto t = rows_of<float>(3, 1, {0.1f, 0.1f, 0.1f});
        const auto off = rows_of<float>(3, 1, {0.1f, 0.2f, 0.1f});
        CHECK(train::r_squared(t, t) == 1);
        CHECK(train::r_squared(off, t) == 0);
        // A constant column adds nothing to SS_tot, its errors still count in SS_res.
        const auto t2 = rows_of<double>(2, 2, {5, 1, 5, 3});
        const auto p2 = rows_of<double>(2, 2, {5, 1, 6, 3});
        CHECK(train::r_squared(p2, t2) == Approx(1.0 - 1.0 / 2.0).epsilon(1e-14));
    }
    SECTION("shapes must agree") {
        const auto a = rows_of<double>(1, 2, {1, 2}), b = rows_of<double>(2, 1, {1, 2});
        CHECK_THROWS_AS(train::rmse(a, b), shape_error);
        CHECK_THROWS_WITH(train::r_squared(a, b), Contains("(1, 2)") && Contains("(2, 1)"));
        CHECK_THROWS_AS(train::rmse(nn::array<double>(), nn::array<double>()), shape_error);
    }
}
