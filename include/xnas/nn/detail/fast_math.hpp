#pragma once
// Vectorisable float approximations of exp and of the normal CDF for the element-wise layers:
// straight-line arithmetic (no calls, no branches) that the compiler turns into SIMD code,
// where a loop over std::exp or std::erf stays one libm call per element (GELU spent 70% of
// a small CNN's training step in erff and expf).

#include <bit>
#include <cmath>
#include <cstdint>

namespace xnas::nn::detail {

/// e^-m for float m >= 0, relative error about 2e-7 up to m = 87 (beyond it, and for NaN, the
/// result is e^-87: callers use it for densities, where that is zero for all purposes; a
/// negative m counts as 0): -m = n ln 2 + r with n the nearest integer, e^r from Cephes'
/// degree-6 polynomial (Moshier, "Methods and Programs for Mathematical Functions", 1989), 2^n
/// from the exponent bits.
inline float fast_exp_negative(float m) {
    // Clamp on the bit pattern: for floats >= 0 it orders like the value, NaN sorts above 87
    // and negatives below 0. Integer selects vectorise; float compares under GCC's default
    // -ftrapping-math keep the loop scalar.
    constexpr std::int32_t limit = 0x42ae0000; // 87.0f
    std::int32_t u = std::bit_cast<std::int32_t>(m);
    u = u < limit ? u : limit;
    u = u > 0 ? u : 0;
    const float x = -std::bit_cast<float>(u);
    // round to nearest by adding and removing 1.5 * 2^23 (exact for |x / ln 2| < 2^22)
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f; // ln 2 split in two so that n * hi is exact
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float er = p * r * r + r + 1.0f;
    const auto bits = static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23;
    return er * std::bit_cast<float>(bits);
}

/// The standard normal CDF Phi(x) and, in `density`, exp(-x^2 / 2) (the unnormalised density,
/// which GELU's derivative needs too). erf by Abramowitz & Stegun 7.1.26 (absolute error below
/// 1.5e-7): Phi(x) = 1 - q / 2 for x >= 0 and q / 2 for x < 0, with
/// q = t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) exp(-x^2 / 2), t = 1 / (1 + p |x| / sqrt 2).
inline float fast_normal_cdf(float x, float& density) {
    const float z = std::abs(x) * 0.70710678118654752f;
    const float t = 1.0f / (1.0f + 0.3275911f * z);
    float poly = 1.061405429f;
    poly = poly * t - 1.453152027f;
    poly = poly * t + 1.421413741f;
    poly = poly * t - 0.284496736f;
    poly = poly * t + 0.254829592f;
    poly *= t;
    density = fast_exp_negative(0.5f * x * x);
    const float half_tail = 0.5f * poly * density;
    return 0.5f + std::copysign(0.5f - half_tail, x); // 1 - half_tail for x >= 0, else half_tail
}

} // namespace xnas::nn::detail
