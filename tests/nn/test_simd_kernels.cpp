#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/nn/detail/simd_kernels.hpp>

using namespace xnas;
namespace d = xnas::nn::detail;

// Every copy of the dispatched float kernels the CPU can run (portable, AVX2, AVX-512) against a
// plain reference in double, on sizes that end on and off every register boundary. The layers'
// own tests (gradients against finite differences) run whichever copy the CPU picks; these pin
// each copy down separately, so a machine with AVX-512 also checks the AVX2 copy.

namespace {

std::vector<float> random_values(std::size_t n, rng& g, double lo = -1, double hi = 1) {
    std::vector<float> v(n);
    for (auto& x : v)
        x = static_cast<float>(g.uniform(lo, hi));
    return v;
}

/// The levels above baseline this CPU runs, as names for INFO.
std::vector<d::simd_level> wide_levels() {
    std::vector<d::simd_level> out;
#if defined(XNAS_SIMD_DISPATCH)
    if (d::cpu_simd_level() >= d::simd_level::avx2)
        out.push_back(d::simd_level::avx2);
    if (d::cpu_simd_level() >= d::simd_level::avx512)
        out.push_back(d::simd_level::avx512);
#endif
    return out;
}

const char* name(d::simd_level l) {
    return l == d::simd_level::avx512 ? "avx512" : l == d::simd_level::avx2 ? "avx2" : "baseline";
}

// Runs the statement with namespace ns naming the kernels' copy for level l and B its register
// type.
#if defined(XNAS_SIMD_DISPATCH)
#define XNAS_AT_LEVEL(l, ...)                                                                      \
    if ((l) == d::simd_level::avx512) {                                                            \
        namespace ns = d::avx512;                                                                  \
        using B = d::avx512::f32;                                                                  \
        __VA_ARGS__;                                                                               \
    } else if ((l) == d::simd_level::avx2) {                                                       \
        namespace ns = d::avx2;                                                                    \
        using B = d::avx2::f32;                                                                    \
        __VA_ARGS__;                                                                               \
    } else {                                                                                       \
        namespace ns = d::portable;                                                                \
        using B = xsimd::batch<float>;                                                             \
        __VA_ARGS__;                                                                               \
    }
#else
#define XNAS_AT_LEVEL(l, ...)                                                                      \
    {                                                                                              \
        namespace ns = d::portable;                                                                \
        using B = xsimd::batch<float>;                                                             \
        __VA_ARGS__;                                                                               \
    }
#endif

std::vector<d::simd_level> all_levels() {
    std::vector<d::simd_level> out{d::simd_level::baseline};
    for (auto l : wide_levels())
        out.push_back(l);
    return out;
}

} // namespace

TEST_CASE("the XNAS_SIMD cap lowers the level and never raises it", "[nn][simd]") {
    using l = d::simd_level;
    CHECK(d::capped_simd_level(l::avx512, nullptr) == l::avx512);
    CHECK(d::capped_simd_level(l::avx512, "avx2") == l::avx2);
    CHECK(d::capped_simd_level(l::avx512, "baseline") == l::baseline);
    CHECK(d::capped_simd_level(l::avx2, "avx512") == l::avx2);
    CHECK(d::capped_simd_level(l::avx2, "sse9") == l::avx2);
    CHECK(d::active_simd_level() <= d::cpu_simd_level());
}

TEST_CASE("the default build dispatches to the CPU's widest kernels", "[nn][simd]") {
    // A build without -march flags compiles for the baseline; on a CPU with AVX2 or AVX-512 the
    // kernels must then run at that level (unless XNAS_SIMD caps it), else dispatch is broken.
    const d::simd_level active = d::active_simd_level();
    if (active > d::compiled_simd_level)
        CHECK(d::dispatch_level() == active);
    else
        CHECK(d::dispatch_level() == d::simd_level::baseline);
    CHECK(d::simd_sixteen_floats() ==
          (xsimd::batch<float>::size >= 16 || active == d::simd_level::avx512));
}

TEST_CASE("small_gemm: every copy accumulates A B into C like a triple loop", "[nn][simd]") {
    rng g(23);
    for (const auto level : all_levels()) {
        INFO("level " << name(level));
        for (std::size_t m : {1, 3, 8, 9, 17})
            for (std::size_t n : {1, 7, 8, 15, 16, 17, 33, 63, 100})
                for (std::size_t k : {1, 5, 64}) {
                    const std::size_t ldb = n + 5, ldc = n + 3;
                    const auto a = random_values(m * k, g), b = random_values(k * ldb, g);
                    auto c = random_values(m * ldc, g);
                    std::vector<double> want(c.begin(), c.end());
                    for (std::size_t i = 0; i < m; ++i)
                        for (std::size_t j = 0; j < n; ++j)
                            for (std::size_t p = 0; p < k; ++p)
                                want[i * ldc + j] +=
                                    static_cast<double>(a[i * k + p]) * b[p * ldb + j];
                    XNAS_AT_LEVEL(
                        level, ns::small_gemm<B>(m, n, k, a.data(), b.data(), ldb, c.data(), ldc));
                    INFO("m " << m << " n " << n << " k " << k);
                    for (std::size_t i = 0; i < m; ++i)
                        for (std::size_t j = 0; j < ldc; ++j) {
                            if (j < n)
                                REQUIRE(c[i * ldc + j] == Approx(want[i * ldc + j]).margin(1e-5));
                            else // the pitch's padding is left untouched
                                REQUIRE(c[i * ldc + j] == static_cast<float>(want[i * ldc + j]));
                        }
                }
    }
}

TEST_CASE("gemm_offset_a and gemm_offset_b: every copy reads rows at their offsets", "[nn][simd]") {
    rng g(31);
    for (const auto level : all_levels()) {
        INFO("level " << name(level));
        for (std::size_t m : {1, 5, 12, 19, 40})
            for (std::size_t n : {16, 32, 48, 64, 80, 128})
                for (std::size_t k : {1, 9, 50}) {
                    INFO("m " << m << " n " << n << " k " << k);
                    // rows of a shared buffer at scattered, overlapping offsets (as a
                    // convolution's shifted planes are)
                    const std::size_t pool = 7 * (m + k) + n + k + 16;
                    const auto buffer = random_values(pool, g);
                    std::vector<std::size_t> a_offset(m), b_offset(k);
                    for (std::size_t i = 0; i < m; ++i)
                        a_offset[i] = (i * 7) % (pool - k);
                    for (std::size_t p = 0; p < k; ++p)
                        b_offset[p] = (p * 5 + 3) % (pool - n);
                    const auto dense_a = random_values(m * k, g);
                    const auto dense_b = random_values(k * n, g);
                    const std::size_t ldc = n + 16;
                    auto ca = random_values(m * ldc, g), cb = random_values(m * ldc, g);
                    std::vector<double> want_a(ca.begin(), ca.end()), want_b(cb.begin(), cb.end());
                    for (std::size_t i = 0; i < m; ++i)
                        for (std::size_t j = 0; j < n; ++j)
                            for (std::size_t p = 0; p < k; ++p) {
                                want_a[i * ldc + j] +=
                                    static_cast<double>(buffer[a_offset[i] + p]) *
                                    dense_b[p * n + j];
                                want_b[i * ldc + j] += static_cast<double>(dense_a[i * k + p]) *
                                                       buffer[b_offset[p] + j];
                            }
                    XNAS_AT_LEVEL(level,
                                  ns::gemm_offset_a<B>(m, n, k, buffer.data(), a_offset.data(),
                                                       dense_b.data(), n, ca.data(), ldc));
                    XNAS_AT_LEVEL(level,
                                  ns::gemm_offset_b<B>(m, n, k, dense_a.data(), k, buffer.data(),
                                                       b_offset.data(), cb.data(), ldc));
                    for (std::size_t i = 0; i < m; ++i)
                        for (std::size_t j = 0; j < ldc; ++j) {
                            const float ka = static_cast<float>(want_a[i * ldc + j]);
                            const float kb = static_cast<float>(want_b[i * ldc + j]);
                            if (j < n) {
                                REQUIRE(ca[i * ldc + j] ==
                                        Approx(want_a[i * ldc + j]).margin(1e-4));
                                REQUIRE(cb[i * ldc + j] ==
                                        Approx(want_b[i * ldc + j]).margin(1e-4));
                            } else { // columns past n untouched
                                REQUIRE(ca[i * ldc + j] == ka);
                                REQUIRE(cb[i * ldc + j] == kb);
                            }
                        }
                }
    }
}

TEST_CASE("direct convolution kernels: every copy matches the plain sums", "[nn][simd]") {
    rng g(5);
    for (const auto level : all_levels()) {
        INFO("level " << name(level));
        for (std::size_t kh : {1, 3, 5})
            for (std::size_t kw : {1, 3, 5})
                for (std::size_t ow : {1, 6, 16, 21}) {
                    INFO("kernel " << kh << "x" << kw << " output width " << ow);
                    const std::size_t oh = 7, wp = ow + kw - 1, hp = oh + kh - 1;
                    const std::size_t len = (oh - 1) * wp + ow;
                    const auto x = random_values(hp * wp, g), kernel = random_values(kh * kw, g);
                    auto dy = random_values(len, g);
                    for (std::size_t p = 0; p < len; ++p)
                        if (p % wp >= ow)
                            dy[p] = 0; // junk columns of a flat gradient are zero
                    const float bias = 0.25f;

                    std::vector<float> y(len, -7.0f);
                    XNAS_AT_LEVEL(level, ns::direct_conv_flat<B>(x.data(), wp, len, kernel.data(),
                                                                 kh, kw, bias, y.data()));
                    std::vector<float> dk(kh * kw, 0.5f);
                    XNAS_AT_LEVEL(level, ns::direct_conv_dw_flat<B>(x.data(), wp, dy.data(), len,
                                                                    kh, kw, dk.data()));
                    std::vector<float> dx(hp * wp, 0.125f);
                    XNAS_AT_LEVEL(level, ns::direct_conv_dx_flat<B>(dy.data(), len, kernel.data(),
                                                                    kh, kw, dx.data(), wp));

                    std::vector<double> want_dx(hp * wp, 0.125);
                    for (std::size_t p = 0; p < len; ++p) {
                        double s = bias;
                        for (std::size_t a = 0; a < kh; ++a)
                            for (std::size_t b = 0; b < kw; ++b) {
                                s += static_cast<double>(kernel[a * kw + b]) * x[p + a * wp + b];
                                want_dx[p + a * wp + b] +=
                                    static_cast<double>(kernel[a * kw + b]) * dy[p];
                            }
                        REQUIRE(y[p] == Approx(s).margin(1e-5));
                    }
                    for (std::size_t a = 0; a < kh; ++a)
                        for (std::size_t b = 0; b < kw; ++b) {
                            double s = 0.5;
                            for (std::size_t p = 0; p < len; ++p)
                                s += static_cast<double>(dy[p]) * x[p + a * wp + b];
                            REQUIRE(dk[a * kw + b] == Approx(s).margin(1e-4));
                        }
                    for (std::size_t p = 0; p < hp * wp; ++p)
                        REQUIRE(dx[p] == Approx(want_dx[p]).margin(1e-5));
                }
    }
}

namespace {
/// torch.optim.Adam / AdamW's update of one scalar in double, from the same coefficients.
void adam_reference(double& w, double g, double& m, double& v, double& vmax,
                    const d::adam_coefficients<float>& c, bool amsgrad, bool decoupled) {
    if (decoupled)
        w *= c.shrink;
    else
        g += c.wd * w;
    m = c.b1 * m + c.one_b1 * g;
    v = c.b2 * v + c.one_b2 * g * g;
    vmax = std::max(vmax, v);
    w -= c.step_size * m / (std::sqrt(amsgrad ? vmax : v) * c.inv_bc2_sqrt + c.eps);
}
} // namespace

TEST_CASE("adam_update: every copy matches a scalar reference, body and tail", "[nn][simd]") {
    rng g(9);
    const d::adam_coefficients<float> c{.b1 = 0.9f,
                                        .b2 = 0.999f,
                                        .one_b1 = 0.1f,
                                        .one_b2 = 0.001f,
                                        .step_size = 0.01f,
                                        .inv_bc2_sqrt = 3.0f,
                                        .eps = 1e-8f,
                                        .wd = 0.1f,
                                        .shrink = 0.999f};
    for (const auto level : all_levels())
        for (int variant = 0; variant < 4; ++variant) {
            const bool amsgrad = variant & 1, decoupled = variant & 2;
            for (std::size_t n : {1, 7, 16, 37, 100}) {
                INFO("level " << name(level) << " amsgrad " << amsgrad << " decoupled " << decoupled
                              << " n " << n);
                auto w = random_values(n, g), m = random_values(n, g, -0.1, 0.1);
                auto v = random_values(n, g, 0, 0.01), vmax = random_values(n, g, 0, 0.02);
                const auto grad = random_values(n, g);
                std::vector<double> rw(w.begin(), w.end()), rm(m.begin(), m.end()),
                    rv(v.begin(), v.end()), rvmax(vmax.begin(), vmax.end());
                for (std::size_t i = 0; i < n; ++i)
                    adam_reference(rw[i], grad[i], rm[i], rv[i], rvmax[i], c, amsgrad, decoupled);
                float* vm = amsgrad ? vmax.data() : nullptr;
                if (amsgrad && decoupled)
                    XNAS_AT_LEVEL(level, ns::adam_update<B, true, true>(
                                             w.data(), grad.data(), m.data(), v.data(), vm, n, c))
                else if (amsgrad)
                    XNAS_AT_LEVEL(level, ns::adam_update<B, true, false>(
                                             w.data(), grad.data(), m.data(), v.data(), vm, n, c))
                else if (decoupled)
                    XNAS_AT_LEVEL(level, ns::adam_update<B, false, true>(
                                             w.data(), grad.data(), m.data(), v.data(), vm, n, c))
                else
                    XNAS_AT_LEVEL(level, ns::adam_update<B, false, false>(
                                             w.data(), grad.data(), m.data(), v.data(), vm, n, c))
                for (std::size_t i = 0; i < n; ++i) {
                    REQUIRE(w[i] == Approx(rw[i]).epsilon(1e-5).margin(1e-7));
                    REQUIRE(m[i] == Approx(rm[i]).epsilon(1e-5).margin(1e-8));
                    REQUIRE(v[i] == Approx(rv[i]).epsilon(1e-5).margin(1e-10));
                    if (amsgrad)
                        REQUIRE(vmax[i] == Approx(rvmax[i]).epsilon(1e-5).margin(1e-10));
                }
            }
        }
}

TEST_CASE("gelu kernels: every copy matches the erf form, forward and input gradient",
          "[nn][simd]") {
    rng g(11);
    for (const auto level : all_levels())
        for (std::size_t n : {1, 7, 16, 37, 100, 1000}) {
            INFO("level " << name(level) << " n " << n);
            // Wide enough to reach both tails, where the CDF saturates and the density vanishes.
            const auto x = random_values(n, g, -9, 9), dy = random_values(n, g);
            std::vector<float> y(n), dx(n);
            XNAS_AT_LEVEL(level, ns::gelu_forward<B>(x.data(), y.data(), n))
            XNAS_AT_LEVEL(level, ns::gelu_backward<B>(x.data(), dy.data(), dx.data(), n))
            for (std::size_t i = 0; i < n; ++i) {
                const double v = x[i], cdf = 0.5 * (1 + std::erf(v / std::sqrt(2.0)));
                const double density = std::exp(-0.5 * v * v) / std::sqrt(2 * 3.14159265358979);
                REQUIRE(y[i] == Approx(v * cdf).margin(1e-6 * (1 + std::abs(v))));
                REQUIRE(dx[i] == Approx(dy[i] * (cdf + v * density)).margin(1e-6));
            }
        }
}

TEST_CASE("sgd_update: every copy matches a scalar reference in every case", "[nn][simd]") {
    rng g(13);
    for (const auto level : all_levels())
        for (int variant = 0; variant < 5; ++variant) {
            // plain; momentum first step; momentum later; Nesterov first; Nesterov later
            const d::sgd_coefficients<float> c{.lr = 0.05f,
                                               .wd = 0.01f,
                                               .mu = 0.9f,
                                               .keep = 0.8f,
                                               .momentum = variant > 0,
                                               .first = variant == 1 || variant == 3,
                                               .nesterov = variant >= 3};
            for (std::size_t n : {1, 7, 16, 37, 100}) {
                INFO("level " << name(level) << " variant " << variant << " n " << n);
                auto w = random_values(n, g), b = random_values(n, g);
                const auto grad = random_values(n, g);
                std::vector<double> rw(w.begin(), w.end()), rb(b.begin(), b.end());
                for (std::size_t i = 0; i < n; ++i) {
                    const double dd = grad[i] + double(c.wd) * rw[i];
                    if (!c.momentum) {
                        rw[i] -= double(c.lr) * dd;
                        continue;
                    }
                    rb[i] = c.first ? dd : double(c.mu) * rb[i] + double(c.keep) * dd;
                    rw[i] -= double(c.lr) * (c.nesterov ? dd + double(c.mu) * rb[i] : rb[i]);
                }
                XNAS_AT_LEVEL(level, ns::sgd_update<B>(w.data(), grad.data(),
                                                       c.momentum ? b.data() : nullptr, n, c))
                for (std::size_t i = 0; i < n; ++i) {
                    REQUIRE(w[i] == Approx(rw[i]).epsilon(1e-5).margin(1e-7));
                    if (c.momentum)
                        REQUIRE(b[i] == Approx(rb[i]).epsilon(1e-5).margin(1e-7));
                }
            }
        }
}
