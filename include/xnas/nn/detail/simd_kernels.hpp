#pragma once
// The training core's dispatched kernels: simd_kernels_body.hpp compiled for the build's own
// width (namespace portable, any value type, through xsimd) and, for float on x86, for AVX2 +
// FMA and AVX-512 (namespaces avx2, avx512), with entry points here that run the widest copy
// the CPU supports (simd.hpp). Results of the copies agree within rounding: a wider register
// changes the order of the sums it splits and contracts multiply-adds into FMA.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <type_traits>
#include <vector>
#include <xnas/nn/detail/fast_math.hpp>
#include <xnas/nn/detail/simd.hpp>
#include <xsimd/xsimd.hpp>

namespace xnas::nn::detail {

/// The per-step constants of Adam's update; with t the step (from 1) and wd the weight decay:
///     g = g + wd * p                 (Adam)      p = p * shrink, shrink = 1 - lr * wd (AdamW)
///     m = b1 m + one_b1 g,  v = b2 v + one_b2 g^2,  vmax = max(vmax, v) (amsgrad)
///     p = p - step_size * m / (sqrt(v or vmax) * inv_bc2_sqrt + eps)
/// where step_size = lr / (1 - b1^t) and inv_bc2_sqrt = 1 / sqrt(1 - b2^t).
template <class T>
struct adam_coefficients {
    T b1, b2, one_b1, one_b2, step_size, inv_bc2_sqrt, eps, wd, shrink;
};

/// The per-step constants of SGD's update (nn::sgd): with wd the weight decay, mu the momentum
/// and keep = 1 - dampening, d = g + wd * p; without momentum p -= lr * d; with it the buffer
/// b = d on the first step and mu * b + keep * d after, and p -= lr * (nesterov ? d + mu * b : b).
template <class T>
struct sgd_coefficients {
    T lr, wd, mu, keep;
    bool momentum, first, nesterov;
};

} // namespace xnas::nn::detail

#define XNAS_SIMD_KERNELS_NAMESPACE portable
#include <xnas/nn/detail/simd_kernels_body.hpp>
#undef XNAS_SIMD_KERNELS_NAMESPACE

#if defined(XNAS_SIMD_DISPATCH)
XNAS_SIMD_BEGIN(XNAS_SIMD_TARGET_AVX2)
#define XNAS_SIMD_KERNELS_NAMESPACE avx2
#include <xnas/nn/detail/simd_kernels_body.hpp>
#undef XNAS_SIMD_KERNELS_NAMESPACE
XNAS_SIMD_END

XNAS_SIMD_BEGIN(XNAS_SIMD_TARGET_AVX512)
#define XNAS_SIMD_KERNELS_NAMESPACE avx512
#include <xnas/nn/detail/simd_kernels_body.hpp>
#undef XNAS_SIMD_KERNELS_NAMESPACE
XNAS_SIMD_END
#endif

namespace xnas::nn::detail {

// Entry points: the widest copy for float, the portable one otherwise.

#if defined(XNAS_SIMD_DISPATCH)
/// `return ns::kernel<ns::f32 ...>(args)` for the level dispatch_level() picks, when T is float.
#define XNAS_SIMD_DISPATCH_FLOAT(T, call_avx512, call_avx2)                                        \
    if constexpr (std::is_same_v<T, float>) {                                                      \
        switch (dispatch_level()) {                                                                \
        case simd_level::avx512:                                                                   \
            return call_avx512;                                                                    \
        case simd_level::avx2:                                                                     \
            return call_avx2;                                                                      \
        case simd_level::baseline:                                                                 \
            break;                                                                                 \
        }                                                                                          \
    }
#else
#define XNAS_SIMD_DISPATCH_FLOAT(T, call_avx512, call_avx2)
#endif

/// True where float kernels run 16 floats per register (compiled so, or dispatched).
inline bool simd_sixteen_floats() {
    return xsimd::batch<float>::size >= 16 || dispatch_level() == simd_level::avx512;
}

/// C(m x n) += A(m x k) B(k x n) by the register-tiled kernel (see small_gemm.hpp).
inline void small_gemm(std::size_t m, std::size_t n, std::size_t k, const float* a, const float* b,
                       std::size_t ldb, float* c, std::size_t ldc) {
    XNAS_SIMD_DISPATCH_FLOAT(float, avx512::small_gemm<avx512::f32>(m, n, k, a, b, ldb, c, ldc),
                             avx2::small_gemm<avx2::f32>(m, n, k, a, b, ldb, c, ldc))
    portable::small_gemm<xsimd::batch<float>>(m, n, k, a, b, ldb, c, ldc);
}

/// C(m x n) += A(m x k) B(k x n) with B's row p at b + b_offset[p]; n a multiple of the
/// register width (16 floats serve every level).
inline void gemm_offset_b(std::size_t m, std::size_t n, std::size_t k, const float* a,
                          std::size_t lda, const float* b, const std::size_t* b_offset, float* c,
                          std::size_t ldc) {
    XNAS_SIMD_DISPATCH_FLOAT(
        float, avx512::gemm_offset_b<avx512::f32>(m, n, k, a, lda, b, b_offset, c, ldc),
        avx2::gemm_offset_b<avx2::f32>(m, n, k, a, lda, b, b_offset, c, ldc))
    portable::gemm_offset_b<xsimd::batch<float>>(m, n, k, a, lda, b, b_offset, c, ldc);
}

/// C(m x n) += A(m x k) B(k x n) with A's row i at a + a_offset[i]; n a multiple of the register
/// width (16 floats serve every level).
inline void gemm_offset_a(std::size_t m, std::size_t n, std::size_t k, const float* a,
                          const std::size_t* a_offset, const float* b, std::size_t ldb, float* c,
                          std::size_t ldc) {
    XNAS_SIMD_DISPATCH_FLOAT(
        float, avx512::gemm_offset_a<avx512::f32>(m, n, k, a, a_offset, b, ldb, c, ldc),
        avx2::gemm_offset_a<avx2::f32>(m, n, k, a, a_offset, b, ldb, c, ldc))
    portable::gemm_offset_a<xsimd::batch<float>>(m, n, k, a, a_offset, b, ldb, c, ldc);
}

template <class T>
void direct_conv_flat(const T* xp, std::size_t wp, std::size_t len, const T* k, std::size_t kh,
                      std::size_t kw, T bias, T* yw) {
    XNAS_SIMD_DISPATCH_FLOAT(
        T, avx512::direct_conv_flat<avx512::f32>(xp, wp, len, k, kh, kw, bias, yw),
        avx2::direct_conv_flat<avx2::f32>(xp, wp, len, k, kh, kw, bias, yw))
    portable::direct_conv_flat<xsimd::batch<T>>(xp, wp, len, k, kh, kw, bias, yw);
}

template <class T>
void direct_conv_dw_flat(const T* xp, std::size_t wp, const T* dyw, std::size_t len, std::size_t kh,
                         std::size_t kw, T* dk) {
    XNAS_SIMD_DISPATCH_FLOAT(T,
                             avx512::direct_conv_dw_flat<avx512::f32>(xp, wp, dyw, len, kh, kw, dk),
                             avx2::direct_conv_dw_flat<avx2::f32>(xp, wp, dyw, len, kh, kw, dk))
    portable::direct_conv_dw_flat<xsimd::batch<T>>(xp, wp, dyw, len, kh, kw, dk);
}

template <class T>
void direct_conv_dx_flat(const T* dyw, std::size_t len, const T* k, std::size_t kh, std::size_t kw,
                         T* dxp, std::size_t wp) {
    XNAS_SIMD_DISPATCH_FLOAT(T,
                             avx512::direct_conv_dx_flat<avx512::f32>(dyw, len, k, kh, kw, dxp, wp),
                             avx2::direct_conv_dx_flat<avx2::f32>(dyw, len, k, kh, kw, dxp, wp))
    portable::direct_conv_dx_flat<xsimd::batch<T>>(dyw, len, k, kh, kw, dxp, wp);
}

template <bool Amsgrad, bool Decoupled, class T>
void adam_update(T* w, const T* g, T* m, T* v, T* vmax, std::size_t n,
                 const adam_coefficients<T>& c) {
    XNAS_SIMD_DISPATCH_FLOAT(
        T, (avx512::adam_update<avx512::f32, Amsgrad, Decoupled>(w, g, m, v, vmax, n, c)),
        (avx2::adam_update<avx2::f32, Amsgrad, Decoupled>(w, g, m, v, vmax, n, c)))
    portable::adam_update<xsimd::batch<T>, Amsgrad, Decoupled>(w, g, m, v, vmax, n, c);
}

/// GELU forward and input gradient over n floats (nn::gelu<float>).
inline void gelu_forward(const float* x, float* y, std::size_t n) {
    XNAS_SIMD_DISPATCH_FLOAT(float, avx512::gelu_forward<avx512::f32>(x, y, n),
                             avx2::gelu_forward<avx2::f32>(x, y, n))
    portable::gelu_forward<xsimd::batch<float>>(x, y, n);
}

inline void gelu_backward(const float* x, const float* dy, float* dx, std::size_t n) {
    XNAS_SIMD_DISPATCH_FLOAT(float, avx512::gelu_backward<avx512::f32>(x, dy, dx, n),
                             avx2::gelu_backward<avx2::f32>(x, dy, dx, n))
    portable::gelu_backward<xsimd::batch<float>>(x, dy, dx, n);
}

/// SGD's update of n elements of one parameter (w, its gradient g, its momentum buffer b).
template <class T>
void sgd_update(T* w, const T* g, T* b, std::size_t n, const sgd_coefficients<T>& c) {
    XNAS_SIMD_DISPATCH_FLOAT(T, avx512::sgd_update<avx512::f32>(w, g, b, n, c),
                             avx2::sgd_update<avx2::f32>(w, g, b, n, c))
    portable::sgd_update<xsimd::batch<T>>(w, g, b, n, c);
}

} // namespace xnas::nn::detail
