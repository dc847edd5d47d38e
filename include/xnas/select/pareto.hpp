#pragma once
// Pareto selection as in NSGA-II (Deb, Pratap, Agarwal & Meyarivan, 2002, "A fast and elitist
// multiobjective genetic algorithm: NSGA-II", IEEE TEC 6(2)): fast non-dominated sort, crowding
// distance, xnas::pareto, the selector built on them, and the hypervolume that measures a front.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/study.hpp>
#include <xnas/core/trial.hpp>

namespace xnas {

/// Fast non-dominated sort: partitions rows of `values` (one value per objective in `objs`)
/// into fronts; front 0 is non-dominated, front 1 is non-dominated once front 0 is removed, ...
/// Each front lists row indices in increasing order. O(m n^2).
inline std::vector<std::vector<std::size_t>>
non_dominated_sort(const std::vector<std::vector<double>>& values,
                   std::span<const objective> objs) {
    const std::size_t n = values.size();
    std::vector<std::vector<std::size_t>> dominated_by_me(n);
    std::vector<std::size_t> count(n, 0); // how many rows dominate row i
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j) {
            if (dominates(values[i], values[j], objs)) {
                dominated_by_me[i].push_back(j);
                ++count[j];
            } else if (dominates(values[j], values[i], objs)) {
                dominated_by_me[j].push_back(i);
                ++count[i];
            }
        }
    std::vector<std::vector<std::size_t>> fronts;
    std::vector<std::size_t> current;
    for (std::size_t i = 0; i < n; ++i)
        if (count[i] == 0)
            current.push_back(i);
    while (!current.empty()) {
        std::vector<std::size_t> next;
        for (std::size_t i : current)
            for (std::size_t j : dominated_by_me[i])
                if (--count[j] == 0)
                    next.push_back(j);
        std::sort(next.begin(), next.end());
        fronts.push_back(std::move(current));
        current = std::move(next);
    }
    return fronts;
}

/// Crowding distance of each member of `front` (row indices into `values`), aligned with
/// `front`: per objective, the boundary members get +infinity and each interior member adds the
/// normalised gap (f[next] - f[prev]) / (f_max - f_min) between its sorted neighbours. An
/// objective on which the whole front is equal adds nothing. O(m n log n).
inline std::vector<double> crowding_distance(const std::vector<std::vector<double>>& values,
                                             std::span<const std::size_t> front) {
    const std::size_t n = front.size();
    std::vector<double> dist(n, 0.0);
    if (n == 0)
        return dist;
    const std::size_t m = values[front[0]].size();
    std::vector<std::size_t> order(n);
    for (std::size_t obj = 0; obj < m; ++obj) {
        for (std::size_t i = 0; i < n; ++i)
            order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return values[front[a]][obj] < values[front[b]][obj];
        });
        const double lo = values[front[order.front()]][obj];
        const double hi = values[front[order.back()]][obj];
        dist[order.front()] = std::numeric_limits<double>::infinity();
        dist[order.back()] = std::numeric_limits<double>::infinity();
        if (!(hi > lo))
            continue;
        for (std::size_t i = 1; i + 1 < n; ++i)
            dist[order[i]] +=
                (values[front[order[i + 1]]][obj] - values[front[order[i - 1]]][obj]) / (hi - lo);
    }
    return dist;
}

namespace detail {

// Hypervolume by slicing objectives (While, Hingston, Barone & Huband, 2006): points oriented
// for minimisation, each strictly better than `reference` everywhere; sweeps the last objective
// and measures the (m - 1)-dimensional volume each slab adds. O(n^m): for fronts of a search.
inline double slice_volume(std::vector<std::vector<double>> points, std::span<const double> ref,
                           std::size_t m) {
    if (points.empty())
        return 0;
    if (m == 1) {
        double best = points[0][0];
        for (const auto& p : points)
            best = std::min(best, p[0]);
        return ref[0] - best;
    }
    std::sort(points.begin(), points.end(),
              [m](const auto& a, const auto& b) { return a[m - 1] < b[m - 1]; });
    double volume = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const double next = i + 1 < points.size() ? points[i + 1][m - 1] : ref[m - 1];
        if (next > points[i][m - 1])
            volume += (next - points[i][m - 1]) *
                      slice_volume(
                          std::vector<std::vector<double>>(
                              points.begin(), points.begin() + static_cast<std::ptrdiff_t>(i + 1)),
                          ref, m - 1);
    }
    return volume;
}

} // namespace detail

/// The hypervolume of `points` (one value per objective of `objs`) with respect to
/// `reference`: the measure of the objective space they dominate and that dominates the
/// reference point (choose it worse than every point of interest in every objective). Points not
/// strictly better than the reference in every objective, or with a NaN, add nothing; dominated
/// points add nothing beyond their front. Larger is better. Throws std::invalid_argument when a
/// vector's length is not the number of objectives.
inline double hypervolume(const std::vector<std::vector<double>>& points,
                          std::span<const objective> objs, std::span<const double> reference) {
    const std::size_t m = objs.size();
    if (m == 0 || reference.size() != m)
        throw std::invalid_argument("xnas::hypervolume: " + std::to_string(m) + " objectives and " +
                                    "a reference point of " + std::to_string(reference.size()) +
                                    " values; expected equal and at least one");
    auto minimised = [&](std::size_t o, double v) {
        return objs[o].dir == direction::minimize ? v : -v;
    };
    std::vector<double> ref(m);
    for (std::size_t o = 0; o < m; ++o)
        ref[o] = minimised(o, reference[o]);
    std::vector<std::vector<double>> inside;
    for (const auto& p : points) {
        if (p.size() != m)
            throw std::invalid_argument("xnas::hypervolume: a point has " +
                                        std::to_string(p.size()) + " values, expected " +
                                        std::to_string(m));
        std::vector<double> q(m);
        bool counts = true;
        for (std::size_t o = 0; o < m && counts; ++o) {
            q[o] = minimised(o, p[o]);
            counts = q[o] < ref[o]; // false for NaN too
        }
        if (counts)
            inside.push_back(std::move(q));
    }
    return detail::slice_volume(std::move(inside), ref, m);
}

/// NSGA-II survivor selection: fills k slots front by front; the front that does not fit is cut
/// by descending crowding distance (ties keep population order). Trials lacking a value for an
/// objective (failed, missing) are never selected. Crowding distances are measured on values
/// oriented so that larger is better (a minimized objective negated), so the selection does not
/// change when an objective is replaced by its negation with the opposite direction, and nsga2's
/// survival step is this selector. Draws nothing.
struct pareto {
    std::vector<objective> objectives;

    template <class A>
    std::vector<std::size_t> select(std::span<const scored<A>> pop, std::size_t k) const {
        if (objectives.empty())
            throw std::invalid_argument("xnas::pareto::select: no objectives given");
        std::vector<std::vector<double>> vals;
        std::vector<std::size_t> idx;
        for (std::size_t i = 0; i < pop.size(); ++i) {
            auto v = objective_values(pop[i].e, objectives);
            if (std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); }))
                continue;
            for (std::size_t o = 0; o < v.size(); ++o)
                if (objectives[o].dir == direction::minimize)
                    v[o] = -v[o];
            vals.push_back(std::move(v));
            idx.push_back(i);
        }
        const std::vector<objective> oriented(objectives.size(),
                                              objective{"", direction::maximize});
        std::vector<std::size_t> out;
        for (const auto& front : non_dominated_sort(vals, oriented)) {
            if (out.size() >= k)
                break;
            if (out.size() + front.size() <= k) {
                for (std::size_t r : front)
                    out.push_back(idx[r]);
                continue;
            }
            const auto dist = crowding_distance(vals, front);
            std::vector<std::size_t> order(front.size());
            for (std::size_t i = 0; i < order.size(); ++i)
                order[i] = i;
            std::stable_sort(order.begin(), order.end(),
                             [&](std::size_t a, std::size_t b) { return dist[a] > dist[b]; });
            for (std::size_t i = 0; out.size() < k; ++i)
                out.push_back(idx[front[order[i]]]);
        }
        return out;
    }

    template <class A>
    std::vector<std::size_t> select(std::span<const scored<A>> pop, std::size_t k, rng&) const {
        return select(pop, k);
    }
};

static_assert(deterministic_selector<pareto, int>);

} // namespace xnas
