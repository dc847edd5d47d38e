#pragma once
// When layers take the register-tiled C += A B of simd_kernels.hpp (detail::small_gemm) for the
// convolutions' forward GEMMs, which have few rows (output channels), a deep inner dimension and
// a few hundred columns per image. The kernel reads B (the column matrix) straight from memory,
// where OpenBLAS first packs it, and beat OpenBLAS's sgemm on those shapes with 16 floats per
// register (benchmarks/gemm_shapes). With 8 it won on some shapes and lost on others, so layers
// use it only where a register holds 16 floats: AVX-512, compiled so or dispatched on the CPU
// (docs/results.md#gemm-efficiency).

#include <cstddef>
#include <type_traits>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/detail/simd_kernels.hpp>

namespace xnas::nn::detail {

/// True where gemm_accumulate takes small_gemm for float (16 floats per register).
inline bool small_gemm_preferred() {
    return simd_sixteen_floats();
}

/// C(m x n) += A(m x k) B(k x n), all row-major and contiguous: small_gemm for float where it is
/// preferred, OpenBLAS otherwise.
template <class T>
void gemm_accumulate(std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b, T* c) {
    if constexpr (std::is_same_v<T, float>) {
        if (small_gemm_preferred()) {
            small_gemm(m, n, k, a, b, n, c, n);
            return;
        }
    }
    gemm(false, false, m, n, k, T(1), a, b, T(1), c);
}

} // namespace xnas::nn::detail
