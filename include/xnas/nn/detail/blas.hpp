#pragma once
// Thin typed wrappers over OpenBLAS's CBLAS gemm, and control of its thread count. Layers call
// gemm directly (rather than xt::linalg::dot) to choose transposes and to accumulate (beta = 1)
// without temporaries.

#include <cblas.h>
#include <cstddef>

namespace xnas::nn::detail {

/// C(m x n) = alpha * op(A)(m x k) * op(B)(k x n) + beta * C, all row-major and contiguous.
inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, const float* b, float beta, float* c) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, trans_a ? static_cast<int>(m) : static_cast<int>(k),
                b, trans_b ? static_cast<int>(k) : static_cast<int>(n), beta, c,
                static_cast<int>(n));
}

inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 double alpha, const double* a, const double* b, double beta, double* c) {
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, trans_a ? static_cast<int>(m) : static_cast<int>(k),
                b, trans_b ? static_cast<int>(k) : static_cast<int>(n), beta, c,
                static_cast<int>(n));
}

/// As gemm, with explicit leading dimensions (row pitches) lda, ldb, ldc, for operands that are
/// blocks of wider matrices.
inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                 float beta, float* c, std::size_t ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                beta, c, static_cast<int>(ldc));
}

inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
                 double beta, double* c, std::size_t ldc) {
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                beta, c, static_cast<int>(ldc));
}

} // namespace xnas::nn::detail

namespace xnas::nn {

/// Threads OpenBLAS may use for one GEMM. The setting is process-wide: a parallel executor
/// running several candidates at once sets 1 so that workers x threads never exceeds the cores.
inline void set_blas_threads(int n) {
    openblas_set_num_threads(n < 1 ? 1 : n);
}
inline int blas_threads() {
    return openblas_get_num_threads();
}

} // namespace xnas::nn
