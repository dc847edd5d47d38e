#pragma once
// Zero-cost proxies: scores of an untrained network that correlate with its trained accuracy,
// for pre-screening candidates at the cost of one forward (and backward) pass.
//  - synflow (Tanaka et al., "Pruning neural networks without any data by iteratively conserving
//    synaptic flow", NeurIPS 2020, arXiv:2006.05467; as a NAS proxy: Abdelfattah et al.,
//    "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, arXiv:2101.08134);
//  - NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021,
//    arXiv:2006.04647): log |det K| of the Hamming-similarity kernel of ReLU activation codes.

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/network.hpp>

namespace xnas::evaluate {

/// Synflow score: sum over parameters of |theta| * dR/d|theta|, where R is the sum of the
/// network's outputs for an all-ones input with every parameter replaced by its absolute value
/// (eval mode, so batch norm uses its running statistics). Works on a copy; `net` is unchanged.
/// Larger is better. Complexity: one forward and one backward pass of one sample.
template <class T>
double synflow(const nn::network<T>& net) {
    nn::network<T> probe = net;
    for (auto& p : probe.parameters())
        if (!nn::is_running_state(p.name))
            for (auto& v : *p.value)
                v = std::abs(v);
    nn::array<T> x = nn::array<T>::from_shape(nn::with_batch(1, probe.input_shape()));
    std::fill(x.begin(), x.end(), T(1));
    const nn::array<T>& y = probe.forward(x, nn::mode::eval);
    nn::array<T> dy = nn::array<T>::from_shape({y.shape().begin(), y.shape().end()});
    std::fill(dy.begin(), dy.end(), T(1));
    probe.backward(dy);
    double score = 0;
    for (auto& p : probe.parameters()) {
        if (nn::is_running_state(p.name))
            continue;
        for (std::size_t i = 0; i < p.value->size(); ++i)
            score += static_cast<double>(p.value->data()[i]) *
                     static_cast<double>(p.gradient->data()[i]);
    }
    return score;
}

namespace detail {

/// log |det A| of a dense square matrix (row-major, n x n) by LU with partial pivoting;
/// -infinity when singular.
inline double log_abs_det(std::vector<double> a, std::size_t n) {
    double logdet = 0;
    for (std::size_t k = 0; k < n; ++k) {
        std::size_t pivot = k;
        for (std::size_t i = k + 1; i < n; ++i)
            if (std::abs(a[i * n + k]) > std::abs(a[pivot * n + k]))
                pivot = i;
        if (a[pivot * n + k] == 0.0)
            return -std::numeric_limits<double>::infinity();
        if (pivot != k)
            for (std::size_t j = 0; j < n; ++j)
                std::swap(a[k * n + j], a[pivot * n + j]);
        const double d = a[k * n + k];
        logdet += std::log(std::abs(d));
        for (std::size_t i = k + 1; i < n; ++i) {
            const double f = a[i * n + k] / d;
            if (f != 0.0)
                for (std::size_t j = k + 1; j < n; ++j)
                    a[i * n + j] -= f * a[k * n + j];
        }
    }
    return logdet;
}

} // namespace detail

/// NASWOT score of `net` on the batch `x` (N samples; N of 32 to 128 is typical): each sample's
/// binary code is which units of every ReLU layer are active; K[i][j] = (number of units) -
/// Hamming(c_i, c_j); the score is log |det K|. Larger is better. Throws std::invalid_argument
/// when the network has no ReLU layer (the proxy is undefined) or the batch has < 2 samples.
template <class T>
double naswot(const nn::network<T>& net, const nn::array<T>& x) {
    if (x.dimension() == 0 || x.shape()[0] < 2)
        throw std::invalid_argument("xnas::evaluate::naswot: need a batch of at least 2 samples");
    nn::network<T> probe = net;
    probe.forward(x, nn::mode::train);
    const std::size_t n = x.shape()[0];
    std::vector<double> k(n * n, 0.0);
    std::size_t units = 0;
    for (std::size_t id = 1; id < probe.size(); ++id) {
        if (probe.layer(id).spec().type != "relu")
            continue;
        const auto& a = probe.activation(id);
        const std::size_t per = a.size() / n;
        units += per;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = i; j < n; ++j) {
                const T* ai = a.data() + i * per;
                const T* aj = a.data() + j * per;
                std::size_t same = 0;
                for (std::size_t u = 0; u < per; ++u)
                    same += (ai[u] > T(0)) == (aj[u] > T(0));
                k[i * n + j] += static_cast<double>(same);
            }
    }
    if (units == 0)
        throw std::invalid_argument("xnas::evaluate::naswot: the network has no relu layer");
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < i; ++j)
            k[i * n + j] = k[j * n + i];
    return detail::log_abs_det(std::move(k), n);
}

} // namespace xnas::evaluate
