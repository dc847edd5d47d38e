#pragma once
// SIMD row reductions for the normalisation layers: sums over a contiguous row in the layer's
// precision with vector partial sums (which the compiler will not form itself without
// -ffast-math), returned as double so that callers add rows up in double.

#include <cstddef>
#include <xsimd/xsimd.hpp>

namespace xnas::nn::detail {

/// sum(p[0..n)).
template <class T>
double row_sum(const T* p, std::size_t n) {
    using B = xsimd::batch<T>;
    constexpr std::size_t S = B::size;
    B a(T(0));
    std::size_t i = 0;
    for (; i + S <= n; i += S)
        a += B::load_unaligned(p + i);
    double s = static_cast<double>(xsimd::hadd(a));
    for (; i < n; ++i)
        s += static_cast<double>(p[i]);
    return s;
}

/// sum((p[i] - mean)^2): the centred second moment, free of the cancellation of E[x^2] - E[x]^2.
template <class T>
double row_centred_squares(const T* p, std::size_t n, T mean) {
    using B = xsimd::batch<T>;
    constexpr std::size_t S = B::size;
    const B m(mean);
    B a(T(0));
    std::size_t i = 0;
    for (; i + S <= n; i += S) {
        const B d = B::load_unaligned(p + i) - m;
        a = xsimd::fma(d, d, a);
    }
    double s = static_cast<double>(xsimd::hadd(a));
    for (; i < n; ++i) {
        const double d = static_cast<double>(p[i] - mean);
        s += d * d;
    }
    return s;
}

/// sum(g) and sum(g * (x - mean)) over a row, added to *sg and *sgx.
template <class T>
void row_gradient_sums(const T* g, const T* x, std::size_t n, T mean, double* sg, double* sgx) {
    using B = xsimd::batch<T>;
    constexpr std::size_t S = B::size;
    const B m(mean);
    B a(T(0)), b(T(0));
    std::size_t i = 0;
    for (; i + S <= n; i += S) {
        const B gv = B::load_unaligned(g + i);
        a += gv;
        b = xsimd::fma(gv, B::load_unaligned(x + i) - m, b);
    }
    double s0 = static_cast<double>(xsimd::hadd(a)), s1 = static_cast<double>(xsimd::hadd(b));
    for (; i < n; ++i) {
        s0 += static_cast<double>(g[i]);
        s1 += static_cast<double>(g[i]) * static_cast<double>(x[i] - mean);
    }
    *sg += s0;
    *sgx += s1;
}

} // namespace xnas::nn::detail
