#pragma once
// Standardisation x <- (x - mean) / std, per channel (axis 1: image channels, tabular
// features) or over all values, with statistics given or computed from a (training) data set.

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/data/dataset.hpp>

namespace xnas::data {

/// Statistics of one standardisation: one (mean, stddev) per channel, or a single pair that
/// applies to every value.
struct normalization {
    std::vector<double> mean;
    std::vector<double> stddev;
};

/// Per channel: axis 1 of (N, C, ...) (a feature of (N, F)). Global: one pair for all values.
enum class norm_scope { channel, global };

namespace detail {

/// (channels, values per channel per sample) of a batch-first array.
template <class T>
std::pair<std::size_t, std::size_t> channel_layout(const nn::array<T>& x) {
    if (x.dimension() < 2)
        return {1, 1};
    std::size_t inner = 1;
    for (std::size_t d = 2; d < x.dimension(); ++d)
        inner *= x.shape()[d];
    return {x.shape()[1], inner};
}

} // namespace detail

/// Mean and population standard deviation of `x` per channel or globally, accumulated in
/// double in two passes. A constant channel gets stddev 1 (it normalises to 0, as in
/// scikit-learn's StandardScaler) rather than a division by zero. Throws std::invalid_argument
/// for an empty array. O(x.size()).
template <class T>
normalization compute_normalization(const nn::array<T>& x, norm_scope scope = norm_scope::channel) {
    if (x.dimension() == 0 || x.size() == 0)
        throw std::invalid_argument(
            "xnas::data::compute_normalization: the array is empty, statistics need >= 1 sample");
    const auto [channels, inner] = detail::channel_layout(x);
    const std::size_t n = x.shape()[0];
    const std::size_t groups = scope == norm_scope::channel ? channels : 1;
    std::vector<double> sum(groups, 0.0), sq(groups, 0.0);
    const T* p = x.data();
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t c = 0; c < channels; ++c) {
            const T* b = p + (s * channels + c) * inner;
            double acc = 0;
            for (std::size_t k = 0; k < inner; ++k)
                acc += static_cast<double>(b[k]);
            sum[scope == norm_scope::channel ? c : 0] += acc;
        }
    const double count = static_cast<double>(x.size()) / static_cast<double>(groups);
    normalization out;
    out.mean.resize(groups);
    for (std::size_t g = 0; g < groups; ++g)
        out.mean[g] = sum[g] / count;
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t c = 0; c < channels; ++c) {
            const std::size_t g = scope == norm_scope::channel ? c : 0;
            const T* b = p + (s * channels + c) * inner;
            double acc = 0;
            for (std::size_t k = 0; k < inner; ++k) {
                const double d = static_cast<double>(b[k]) - out.mean[g];
                acc += d * d;
            }
            sq[g] += acc;
        }
    out.stddev.resize(groups);
    for (std::size_t g = 0; g < groups; ++g) {
        const double sd = std::sqrt(sq[g] / count);
        out.stddev[g] = sd > 0 ? sd : 1.0;
    }
    return out;
}

/// compute_normalization of the data set's samples.
template <class T>
normalization compute_normalization(const dataset<T>& ds, norm_scope scope = norm_scope::channel) {
    return compute_normalization(ds.x, scope);
}

/// x <- (x - mean) / stddev in place, per channel when `stats` has one pair per channel of x,
/// globally when it has one pair. Throws xnas::shape_error when the counts disagree and
/// std::invalid_argument for a stddev that is not positive and finite. O(x.size()).
template <class T>
void normalize(nn::array<T>& x, const normalization& stats) {
    if (x.dimension() == 0 || x.size() == 0)
        return;
    const auto [channels, inner] = detail::channel_layout(x);
    const std::size_t groups = stats.mean.size();
    if (groups != stats.stddev.size() || (groups != 1 && groups != channels))
        throw shape_error("xnas::data::normalize: statistics have " + std::to_string(groups) +
                          " means and " + std::to_string(stats.stddev.size()) +
                          " standard deviations, expected 1 or " + std::to_string(channels) +
                          " (channels of an array of shape " +
                          nn::to_string({x.shape().begin(), x.shape().end()}) + ")");
    for (std::size_t g = 0; g < groups; ++g)
        if (!(stats.stddev[g] > 0) || !std::isfinite(stats.stddev[g]) ||
            !std::isfinite(stats.mean[g]))
            throw std::invalid_argument("xnas::data::normalize: channel " + std::to_string(g) +
                                        " has mean " + std::to_string(stats.mean[g]) +
                                        " and stddev " + std::to_string(stats.stddev[g]) +
                                        ", expected finite values and stddev > 0");
    const std::size_t n = x.shape()[0];
    T* p = x.data();
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t c = 0; c < channels; ++c) {
            const std::size_t g = groups == 1 ? 0 : c;
            const T mean = static_cast<T>(stats.mean[g]);
            const T inv = static_cast<T>(1.0 / stats.stddev[g]);
            T* b = p + (s * channels + c) * inner;
            for (std::size_t k = 0; k < inner; ++k)
                b[k] = (b[k] - mean) * inv;
        }
}

/// normalize(ds.x, stats).
template <class T>
void normalize(dataset<T>& ds, const normalization& stats) {
    normalize(ds.x, stats);
}

/// Computes statistics from `ds` with `scope`, normalises it in place and returns them (apply
/// the same statistics to the validation and test sets).
template <class T>
normalization standardize(dataset<T>& ds, norm_scope scope = norm_scope::channel) {
    normalization stats = compute_normalization(ds, scope);
    normalize(ds, stats);
    return stats;
}

} // namespace xnas::data
