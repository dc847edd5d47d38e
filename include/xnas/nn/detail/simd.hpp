#pragma once
// Run-time choice of the instruction set for the training core's float kernels. A build without
// -march flags targets the x86-64 baseline (SSE2, four floats per register), and xsimd's width
// is fixed when the code is compiled; the kernels of simd_kernels.hpp are therefore compiled a
// second and third time inside regions that enable AVX2 + FMA and AVX-512, and the layers call
// the widest version the CPU runs. A build whose own flags already reach a level gains nothing
// from it and runs its portable kernels.
//
// The regions are compiler pragmas (GCC's target pragma, clang's attribute pragma), so every
// function defined inside one, templates included, carries the target; nothing in them is ever
// called unless the CPU reports the features (checked once, through the compiler's cpu model).

#include <cstddef>
#include <cstdlib>
#include <cstring>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define XNAS_SIMD_DISPATCH 1
#include <immintrin.h>
#endif

namespace xnas::nn::detail {

/// Instruction-set levels of the dispatched kernels, ordered.
enum class simd_level {
    baseline = 0, ///< what the translation unit was compiled for (SSE2 by default)
    avx2 = 1,     ///< AVX2 + FMA: 8 floats per register
    avx512 = 2,   ///< AVX-512 F/BW/VL/DQ: 16 floats per register
};

/// The level the translation unit's own flags reach: kernels compiled without a region run at
/// least this wide.
inline constexpr simd_level compiled_simd_level =
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
    simd_level::avx512;
#elif defined(__AVX2__) && defined(__FMA__)
    simd_level::avx2;
#else
    simd_level::baseline;
#endif

/// The widest level this CPU (and its operating system, which must save the wider registers)
/// supports.
inline simd_level cpu_simd_level() {
#if defined(XNAS_SIMD_DISPATCH)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return simd_level::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return simd_level::avx2;
#endif
    return simd_level::baseline;
}

/// `level` lowered to the one `cap` names ("baseline", "avx2", "avx512") when that is lower;
/// unchanged for a null or unknown cap.
inline simd_level capped_simd_level(simd_level level, const char* cap) {
    if (!cap)
        return level;
    simd_level want = level;
    if (std::strcmp(cap, "baseline") == 0)
        want = simd_level::baseline;
    else if (std::strcmp(cap, "avx2") == 0)
        want = simd_level::avx2;
    else if (std::strcmp(cap, "avx512") == 0)
        want = simd_level::avx512;
    return want < level ? want : level;
}

/// The level dispatched kernels run at: the CPU's, lowered by the environment variable
/// XNAS_SIMD=baseline|avx2|avx512 when it names a lower one (to compare paths, or to rule the
/// wide kernels out when chasing a numerical difference). Read once per process.
inline simd_level active_simd_level() {
    static const simd_level level = capped_simd_level(cpu_simd_level(), std::getenv("XNAS_SIMD"));
    return level;
}

/// The level to call a dispatched kernel at: `active_simd_level()` when it is wider than what
/// the translation unit was compiled for, else baseline (the compiled kernels are as wide).
inline simd_level dispatch_level() {
#if defined(XNAS_SIMD_DISPATCH)
    const simd_level l = active_simd_level();
    return l > compiled_simd_level ? l : simd_level::baseline;
#else
    return simd_level::baseline;
#endif
}

} // namespace xnas::nn::detail

// Region markers: functions defined between XNAS_SIMD_BEGIN_<LEVEL> and XNAS_SIMD_END are
// compiled for that level. Include no header inside a region.
#if defined(XNAS_SIMD_DISPATCH)
#define XNAS_SIMD_TARGET_AVX2 "avx2,fma"
#define XNAS_SIMD_TARGET_AVX512 "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"
#if defined(__clang__)
#define XNAS_SIMD_PRAGMA(x) _Pragma(#x)
#define XNAS_SIMD_BEGIN(isa)                                                                       \
    XNAS_SIMD_PRAGMA(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define XNAS_SIMD_END _Pragma("clang attribute pop")
#else
#define XNAS_SIMD_PRAGMA(x) _Pragma(#x)
#define XNAS_SIMD_BEGIN(isa) _Pragma("GCC push_options") XNAS_SIMD_PRAGMA(GCC target(isa))
#define XNAS_SIMD_END _Pragma("GCC pop_options")
#endif
#endif

#if defined(XNAS_SIMD_DISPATCH)

XNAS_SIMD_BEGIN(XNAS_SIMD_TARGET_AVX2)
namespace xnas::nn::detail::avx2 {

/// Eight floats, with the part of xsimd::batch's interface the kernels use.
struct f32 {
    using value_type = float;
    static constexpr std::size_t size = 8;
    __m256 v;

    f32() = default;
    f32(__m256 x)
        : v(x) {}
    f32(float s)
        : v(_mm256_set1_ps(s)) {}
    static f32 load_unaligned(const float* p) { return _mm256_loadu_ps(p); }
    void store_unaligned(float* p) const { _mm256_storeu_ps(p, v); }
};

inline f32 operator+(f32 a, f32 b) {
    return _mm256_add_ps(a.v, b.v);
}
inline f32& operator+=(f32& a, f32 b) {
    return a = a + b;
}
inline f32 operator-(f32 a, f32 b) {
    return _mm256_sub_ps(a.v, b.v);
}
inline f32 operator*(f32 a, f32 b) {
    return _mm256_mul_ps(a.v, b.v);
}
inline f32 operator/(f32 a, f32 b) {
    return _mm256_div_ps(a.v, b.v);
}
inline f32 fma(f32 a, f32 b, f32 c) {
    return _mm256_fmadd_ps(a.v, b.v, c.v);
}
inline f32 sqrt(f32 a) {
    return _mm256_sqrt_ps(a.v);
}
inline f32 max(f32 a, f32 b) {
    return _mm256_max_ps(a.v, b.v);
}
inline float hadd(f32 a) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

} // namespace xnas::nn::detail::avx2
XNAS_SIMD_END

XNAS_SIMD_BEGIN(XNAS_SIMD_TARGET_AVX512)
namespace xnas::nn::detail::avx512 {

/// Sixteen floats, with the part of xsimd::batch's interface the kernels use.
struct f32 {
    using value_type = float;
    static constexpr std::size_t size = 16;
    __m512 v;

    f32() = default;
    f32(__m512 x)
        : v(x) {}
    f32(float s)
        : v(_mm512_set1_ps(s)) {}
    static f32 load_unaligned(const float* p) { return _mm512_loadu_ps(p); }
    void store_unaligned(float* p) const { _mm512_storeu_ps(p, v); }
};

inline f32 operator+(f32 a, f32 b) {
    return _mm512_add_ps(a.v, b.v);
}
inline f32& operator+=(f32& a, f32 b) {
    return a = a + b;
}
inline f32 operator-(f32 a, f32 b) {
    return _mm512_sub_ps(a.v, b.v);
}
inline f32 operator*(f32 a, f32 b) {
    return _mm512_mul_ps(a.v, b.v);
}
inline f32 operator/(f32 a, f32 b) {
    return _mm512_div_ps(a.v, b.v);
}
inline f32 fma(f32 a, f32 b, f32 c) {
    return _mm512_fmadd_ps(a.v, b.v, c.v);
}
// The masked forms with every lane selected: g++ 12 flags the unmasked ones' _mm512_undefined_ps
// operand inside its own headers as maybe uninitialized, in the user's build.
inline f32 sqrt(f32 a) {
    return _mm512_mask_sqrt_ps(a.v, __mmask16(0xFFFF), a.v);
}
inline f32 max(f32 a, f32 b) {
    return _mm512_mask_max_ps(a.v, __mmask16(0xFFFF), a.v, b.v);
}
inline float hadd(f32 a) {
    const __m256 zero = _mm256_setzero_ps();
    const __m256 h = _mm256_add_ps(_mm512_mask_extractf32x8_ps(zero, __mmask8(0xFF), a.v, 0),
                                   _mm512_mask_extractf32x8_ps(zero, __mmask8(0xFF), a.v, 1));
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

} // namespace xnas::nn::detail::avx512
XNAS_SIMD_END

#endif
