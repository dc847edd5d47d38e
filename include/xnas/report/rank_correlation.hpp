#pragma once
// Rank correlations between two scorings of the same items: how well a cheap proxy (shared
// weights, a surrogate, a low fidelity) orders architectures as the expensive measurement does.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace xnas {

/// Kendall's tau-b of the pairs (x[i], y[i]): (concordant - discordant) pairs over the square
/// root of the pairs untied in x times those untied in y, in [-1, 1] (1: the same order). O(n^2),
/// meant for the tens to thousands of items a search evaluates. NaN when every x or every y is
/// tied. Throws std::invalid_argument for lengths that differ or fewer than 2 items.
inline double kendall_tau(std::span<const double> x, std::span<const double> y) {
    if (x.size() != y.size() || x.size() < 2)
        throw std::invalid_argument("xnas::kendall_tau: " + std::to_string(x.size()) + " and " +
                                    std::to_string(y.size()) +
                                    " values, expected two equal lengths of at least 2");
    double concordant = 0, discordant = 0, untied_x = 0, untied_y = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        for (std::size_t j = i + 1; j < x.size(); ++j) {
            const double dx = x[i] - x[j], dy = y[i] - y[j];
            untied_x += dx != 0;
            untied_y += dy != 0;
            if (dx * dy > 0)
                ++concordant;
            else if (dx * dy < 0)
                ++discordant;
        }
    return (concordant - discordant) / std::sqrt(untied_x * untied_y);
}

/// Spearman's rho: Pearson's correlation of the ranks (ties get their mean rank). NaN when
/// either side is constant. Throws as kendall_tau does.
inline double spearman_rho(std::span<const double> x, std::span<const double> y) {
    if (x.size() != y.size() || x.size() < 2)
        throw std::invalid_argument("xnas::spearman_rho: " + std::to_string(x.size()) + " and " +
                                    std::to_string(y.size()) +
                                    " values, expected two equal lengths of at least 2");
    auto ranks = [](std::span<const double> v) {
        std::vector<std::size_t> order(v.size());
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(),
                  [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
        std::vector<double> r(v.size());
        for (std::size_t i = 0; i < order.size();) {
            std::size_t j = i;
            while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]])
                ++j;
            for (std::size_t k = i; k <= j; ++k)
                r[order[k]] = (static_cast<double>(i + j) / 2) + 1;
            i = j + 1;
        }
        return r;
    };
    const std::vector<double> rx = ranks(x), ry = ranks(y);
    const double n = static_cast<double>(x.size());
    const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n;
    const double my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < rx.size(); ++i) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    return sxy / std::sqrt(sxx * syy);
}

} // namespace xnas
