#pragma once
// A register-tiled C += A B for the convolutions' forward GEMMs, which have few rows (output
// channels), a deep inner dimension and a few hundred columns per image. It reads B (the column
// matrix) straight from memory, where OpenBLAS first packs it: on the race's layer shapes it ran
// at 1.1-1.8x OpenBLAS's sgemm with AVX-512 (benchmarks/gemm_shapes). With AVX2 it won on some
// shapes and lost on others, so layers use it only where a register holds 16 floats
// (docs/results.md#gemm-efficiency); the kernel itself compiles for any width.

#include <cstddef>
#include <type_traits>
#include <vector>
#include <xnas/nn/detail/blas.hpp>
#include <xsimd/xsimd.hpp>

namespace xnas::nn::detail {

/// True where gemm_accumulate takes small_gemm for float (compile-time: the build's SIMD width).
inline constexpr bool small_gemm_preferred = xsimd::batch<float>::size >= 16;

/// C rows [0, MR) x columns [0, NV x S) += A rows [0, MR) (pitch lda) x B (pitch ldb): MR x NV
/// accumulators stay in registers over the whole inner dimension k.
template <std::size_t MR, std::size_t NV>
void small_gemm_tile(std::size_t k, const float* a, std::size_t lda, const float* b,
                     std::size_t ldb, float* c, std::size_t ldc) {
    using B = xsimd::batch<float>;
    constexpr std::size_t S = B::size;
    B acc[MR][NV];
    for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t v = 0; v < NV; ++v)
            acc[i][v] = B::load_unaligned(c + i * ldc + v * S);
    for (std::size_t p = 0; p < k; ++p) {
        B bp[NV];
        for (std::size_t v = 0; v < NV; ++v)
            bp[v] = B::load_unaligned(b + p * ldb + v * S);
        for (std::size_t i = 0; i < MR; ++i) {
            const B ai(a[i * lda + p]);
            for (std::size_t v = 0; v < NV; ++v)
                acc[i][v] = xsimd::fma(ai, bp[v], acc[i][v]);
        }
    }
    for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t v = 0; v < NV; ++v)
            acc[i][v].store_unaligned(c + i * ldc + v * S);
}

/// One strip of NV x S columns over all m rows: tiles of MR rows, then single rows.
template <std::size_t MR, std::size_t NV>
void small_gemm_strip(std::size_t m, std::size_t k, const float* a, const float* b, std::size_t ldb,
                      float* c, std::size_t ldc) {
    std::size_t i = 0;
    for (; i + MR <= m; i += MR)
        small_gemm_tile<MR, NV>(k, a + i * k, k, b, ldb, c + i * ldc, ldc);
    for (; i < m; ++i)
        small_gemm_tile<1, NV>(k, a + i * k, k, b, ldb, c + i * ldc, ldc);
}

/// C(m x n) += A(m x k) B(k x n), row-major; A contiguous (pitch k), B and C with row pitches
/// ldb, ldc >= n. The last n mod S columns go through a zero-padded copy of their strip, so no
/// column is computed with scalar code.
inline void small_gemm(std::size_t m, std::size_t n, std::size_t k, const float* a, const float* b,
                       std::size_t ldb, float* c, std::size_t ldc) {
    constexpr std::size_t S = xsimd::batch<float>::size;
    constexpr std::size_t MR = S >= 16 ? 8 : 4; // 2 x MR accumulators fit the register file
    std::size_t j = 0;
    for (; j + 2 * S <= n; j += 2 * S)
        small_gemm_strip<MR, 2>(m, k, a, b + j, ldb, c + j, ldc);
    for (; j + S <= n; j += S)
        small_gemm_strip<MR, 1>(m, k, a, b + j, ldb, c + j, ldc);
    if (j == n)
        return;
    const std::size_t r = n - j;
    thread_local std::vector<float> bt, ct; // reused: steady state allocates nothing
    bt.assign(k * S, 0.0f);
    ct.assign(m * S, 0.0f);
    for (std::size_t p = 0; p < k; ++p)
        for (std::size_t q = 0; q < r; ++q)
            bt[p * S + q] = b[p * ldb + j + q];
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t q = 0; q < r; ++q)
            ct[i * S + q] = c[i * ldc + j + q];
    small_gemm_strip<MR, 1>(m, k, a, bt.data(), S, ct.data(), S);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t q = 0; q < r; ++q)
            c[i * ldc + j + q] = ct[i * S + q];
}

/// C(m x n) += A(m x k) B(k x n), all row-major and contiguous: small_gemm for float where it is
/// preferred, OpenBLAS otherwise.
template <class T>
void gemm_accumulate(std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b, T* c) {
    if constexpr (std::is_same_v<T, float> && small_gemm_preferred)
        small_gemm(m, n, k, a, b, n, c, n);
    else
        gemm(false, false, m, n, k, T(1), a, b, T(1), c);
}

} // namespace xnas::nn::detail
