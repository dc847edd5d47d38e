#pragma once
// Non-dominated sorting and crowding distance for NSGA-II (Deb, Pratap, Agarwal & Meyarivan,
// 2002, "A fast and elitist multiobjective genetic algorithm: NSGA-II", IEEE TEC 6(2)), on
// score vectors already oriented so that larger is better in every coordinate.

#include <algorithm>
#include <cstddef>
#include <limits>
#include <numeric>
#include <vector>

namespace xnas::detail {

/// True when a is at least as good as b everywhere and strictly better somewhere.
inline bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
    bool strictly = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] < b[i])
            return false;
        if (a[i] > b[i])
            strictly = true;
    }
    return strictly;
}

/// Fronts of the fast non-dominated sort, best first: fronts[0] is the Pareto front. O(M N^2).
inline std::vector<std::vector<std::size_t>>
non_dominated_fronts(const std::vector<std::vector<double>>& points) {
    const std::size_t n = points.size();
    std::vector<std::vector<std::size_t>> dominated(n);
    std::vector<std::size_t> count(n, 0);
    std::vector<std::vector<std::size_t>> fronts(1);
    for (std::size_t p = 0; p < n; ++p) {
        for (std::size_t q = p + 1; q < n; ++q) {
            if (dominates(points[p], points[q])) {
                dominated[p].push_back(q);
                ++count[q];
            } else if (dominates(points[q], points[p])) {
                dominated[q].push_back(p);
                ++count[p];
            }
        }
    }
    for (std::size_t p = 0; p < n; ++p)
        if (count[p] == 0)
            fronts[0].push_back(p);
    for (std::size_t f = 0; !fronts[f].empty(); ++f) {
        std::vector<std::size_t> next;
        for (std::size_t p : fronts[f])
            for (std::size_t q : dominated[p])
                if (--count[q] == 0)
                    next.push_back(q);
        fronts.push_back(std::move(next));
    }
    fronts.pop_back(); // the empty sentinel
    return fronts;
}

/// Crowding distance of each member of `front` (indices into points), in the same order.
/// Boundary points get +infinity so they are always kept.
inline std::vector<double> crowding_distance(const std::vector<std::vector<double>>& points,
                                             const std::vector<std::size_t>& front) {
    const std::size_t n = front.size();
    std::vector<double> d(n, 0.0);
    if (n == 0)
        return d;
    const std::size_t m = points[front[0]].size();
    std::vector<std::size_t> order(n);
    for (std::size_t k = 0; k < m; ++k) {
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return points[front[a]][k] < points[front[b]][k];
        });
        const double lo = points[front[order.front()]][k];
        const double hi = points[front[order.back()]][k];
        d[order.front()] = d[order.back()] = std::numeric_limits<double>::infinity();
        if (!(hi > lo))
            continue;
        for (std::size_t i = 1; i + 1 < n; ++i)
            d[order[i]] +=
                (points[front[order[i + 1]]][k] - points[front[order[i - 1]]][k]) / (hi - lo);
    }
    return d;
}

} // namespace xnas::detail
