#include <catch2/catch.hpp>
#include <cmath>
#include <vector>
#include <xnas/report/rank_correlation.hpp>

using namespace xnas;

TEST_CASE("kendall_tau and spearman_rho: known values, ties and bad input", "[report][rank]") {
    const std::vector<double> x{1, 2, 3, 4, 5};
    CHECK(kendall_tau(x, std::vector<double>{10, 20, 30, 40, 50}) == 1.0);
    CHECK(kendall_tau(x, std::vector<double>{5, 4, 3, 2, 1}) == -1.0);
    // one swapped neighbour pair of 10: (9 - 1) / 10
    CHECK(kendall_tau(x, std::vector<double>{1, 3, 2, 4, 5}) == Approx(0.8));
    CHECK(spearman_rho(x, std::vector<double>{1, 3, 2, 4, 5}) == Approx(0.9));
    // tau-b with a tie in y: 9 pairs untied in y, C = 8, D = 1 -> 7 / sqrt(10 * 9)
    CHECK(kendall_tau(x, std::vector<double>{1, 2, 2, 4, 3}) == Approx(7 / std::sqrt(90.0)));
    CHECK(std::isnan(kendall_tau(x, std::vector<double>{1, 1, 1, 1, 1})));
    CHECK_THROWS_AS(kendall_tau(x, std::vector<double>{1, 2}), std::invalid_argument);
    CHECK_THROWS_AS(spearman_rho(std::vector<double>{1}, std::vector<double>{1}),
                    std::invalid_argument);
}
