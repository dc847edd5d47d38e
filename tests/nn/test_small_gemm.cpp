#include <catch2/catch.hpp>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/nn/detail/small_gemm.hpp>

using namespace xnas;

// The kernel's tiling (row tiles, two- and one-register column strips, the padded last strip)
// against a plain triple loop in double, over sizes that end on and off every boundary, with
// row pitches wider than the matrices, through the entry point layers call (the CPU's widest
// copy; test_simd_kernels.cpp checks every copy).
TEST_CASE("small_gemm accumulates A B into C like a triple loop", "[nn][small_gemm]") {
    rng g(17);
    constexpr std::size_t S = xsimd::batch<float>::size;
    for (std::size_t m : {1, 3, 4, 8, 9, 17})
        for (std::size_t n : {std::size_t{1}, S - 1, S, S + 3, 2 * S, 2 * S + 1, 5 * S + 7})
            for (std::size_t k : {1, 7, 64}) {
                const std::size_t ldb = n + 5, ldc = n + 3;
                std::vector<float> a(m * k), b(k * ldb), c(m * ldc);
                for (auto* v : {&a, &b, &c})
                    for (auto& x : *v)
                        x = static_cast<float>(g.uniform(-1, 1));
                std::vector<double> want(c.begin(), c.end());
                for (std::size_t i = 0; i < m; ++i)
                    for (std::size_t j = 0; j < n; ++j)
                        for (std::size_t p = 0; p < k; ++p)
                            want[i * ldc + j] += static_cast<double>(a[i * k + p]) * b[p * ldb + j];
                nn::detail::small_gemm(m, n, k, a.data(), b.data(), ldb, c.data(), ldc);
                INFO("m " << m << " n " << n << " k " << k);
                for (std::size_t i = 0; i < m; ++i)
                    for (std::size_t j = 0; j < ldc; ++j) {
                        // columns past n are the pitch's padding: left untouched
                        if (j < n)
                            REQUIRE(c[i * ldc + j] == Approx(want[i * ldc + j]).margin(1e-5));
                        else
                            REQUIRE(c[i * ldc + j] == static_cast<float>(want[i * ldc + j]));
                    }
            }
}
