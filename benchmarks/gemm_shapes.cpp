// gemm_shapes: how close the training core's GEMMs come to the CPU's sgemm peak. Times,
// through the same wrapper the layers use (nn::detail::gemm, OpenBLAS), a large square sgemm
// (the practical peak) and every GEMM of one training step of the MLP recipe of
// xnas-train-bench (784-256-128-10, batch 128: three forward, three weight-gradient and the two
// input-gradient GEMMs that backward runs), at each thread count given. One JSON line per shape
// and thread count with GFLOP/s and the share of the square peak. Then, on one thread, the
// convolutions' forward GEMMs of the race's layers (C += W col per image, as conv2d's flat path
// runs them) through OpenBLAS and through detail::small_gemm, with their ratio: the kernel the
// layers take where a register holds 16 floats (build with -DXNAS_NATIVE=ON to see that width).
//
//   gemm_shapes [--threads 1,2] [--seconds 0.5]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/detail/small_gemm.hpp>

namespace {

struct shape {
    const char* what;
    bool trans_a, trans_b;
    std::size_t m, n, k;
};

// GFLOP/s of `call`, one GEMM of shape s, over about `seconds` of repeats (after one warm-up).
template <class Call>
double gflops_of(const shape& s, double seconds, Call call) {
    using clock = std::chrono::steady_clock;
    call();
    std::size_t reps = 0;
    const auto start = clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
        for (int i = 0; i < 10; ++i)
            call();
        reps += 10;
        elapsed = std::chrono::duration<double>(clock::now() - start).count();
    }
    return 2.0 * static_cast<double>(s.m * s.n * s.k) * static_cast<double>(reps) / elapsed / 1e9;
}

// GFLOP/s of C = op(A) op(B) through OpenBLAS.
double gflops(const shape& s, double seconds) {
    std::vector<float> a(s.m * s.k, 0.01f), b(s.k * s.n, 0.02f), c(s.m * s.n);
    return gflops_of(s, seconds, [&] {
        xnas::nn::detail::gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data(), b.data(), 0.0f,
                               c.data());
    });
}

// GFLOP/s of C += A B (m x k times k x n, row-major) by OpenBLAS or by small_gemm.
double accumulate_gflops(const shape& s, bool small, double seconds) {
    std::vector<float> a(s.m * s.k, 0.01f), b(s.k * s.n, 0.02f), c(s.m * s.n, 0.0f);
    return gflops_of(s, seconds, [&] {
        if (small)
            xnas::nn::detail::small_gemm(s.m, s.n, s.k, a.data(), b.data(), s.n, c.data(), s.n);
        else
            xnas::nn::detail::gemm(false, false, s.m, s.n, s.k, 1.0f, a.data(), b.data(), 1.0f,
                                   c.data());
    });
}

} // namespace

int main(int argc, char** argv) {
    std::string threads = "1,2";
    double seconds = 0.5;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc)
            threads = argv[++i];
        else if (a == "--seconds" && i + 1 < argc)
            seconds = std::atof(argv[++i]);
        else {
            std::fprintf(stderr, "usage: gemm_shapes [--threads 1,2] [--seconds 0.5]\n");
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }
    // dense(in, out) on a batch of 128: forward y = x W^T, dW = dy^T x, dx = dy W.
    const std::vector<shape> mlp = {
        {"mlp fwd 784->256", false, true, 128, 256, 784},
        {"mlp fwd 256->128", false, true, 128, 128, 256},
        {"mlp fwd 128->10", false, true, 128, 10, 128},
        {"mlp dW 784->256", true, false, 256, 784, 128},
        {"mlp dW 256->128", true, false, 128, 256, 128},
        {"mlp dW 128->10", true, false, 10, 128, 128},
        {"mlp dx 256->128", false, false, 128, 256, 128},
        {"mlp dx 128->10", false, false, 128, 128, 10},
    };
    std::stringstream list(threads);
    for (std::string item; std::getline(list, item, ',');) {
        const int t = std::atoi(item.c_str());
        xnas::nn::set_blas_threads(t);
        const double peak = gflops({"square 2048", false, false, 2048, 2048, 2048}, seconds);
        std::printf("{\"shape\": \"square 2048\", \"threads\": %d, \"gflops\": %.1f, "
                    "\"share_of_peak\": 1.0}\n",
                    t, peak);
        double flops = 0, time = 0;
        for (const auto& s : mlp) {
            const double g = gflops(s, seconds / 4);
            const double f = 2.0 * static_cast<double>(s.m * s.n * s.k);
            flops += f;
            time += f / (g * 1e9);
            std::printf("{\"shape\": \"%s\", \"m\": %zu, \"n\": %zu, \"k\": %zu, \"threads\": %d, "
                        "\"gflops\": %.1f, \"share_of_peak\": %.3f}\n",
                        s.what, s.m, s.n, s.k, t, g, g / peak);
        }
        const double step = flops / time / 1e9;
        std::printf("{\"shape\": \"mlp step (all GEMMs)\", \"threads\": %d, \"gflops\": %.1f, "
                    "\"share_of_peak\": %.3f, \"gemm_ms_per_batch\": %.3f}\n",
                    t, step, step / peak, time * 1e3);
        std::fflush(stdout);
    }
    // conv2d's flat forward at batch 32: m = output channels, k = in x kernel area, n = the
    // flat length of the images of one chunk (about 256 KiB of columns: one image, three at
    // 32->64 7x7).
    const std::vector<shape> conv = {
        {"conv fwd 8->32 3x3 28x28", false, false, 32, 838, 72},
        {"conv fwd 32->32 3x3 14x14", false, false, 32, 222, 288},
        {"conv fwd 32->16 5x5 14x14", false, false, 16, 248, 800},
        {"conv fwd 32->16 3x3 14x14", false, false, 16, 222, 288},
        {"conv fwd 8->8 5x5 28x28", false, false, 8, 838, 200},
        {"conv fwd 32->64 3x3 7x7", false, false, 64, 183, 288},
        {"conv fwd 64->64 3x3 7x7", false, false, 64, 61, 576},
    };
    xnas::nn::set_blas_threads(1);
    for (const auto& s : conv) {
        const double blas = accumulate_gflops(s, false, seconds / 2);
        const double small = accumulate_gflops(s, true, seconds / 2);
        std::printf("{\"shape\": \"%s\", \"m\": %zu, \"n\": %zu, \"k\": %zu, \"threads\": 1, "
                    "\"openblas_gflops\": %.1f, \"small_gemm_gflops\": %.1f, "
                    "\"floats_per_register\": %zu, \"ratio_small_over_openblas\": %.2f}\n",
                    s.what, s.m, s.n, s.k, blas, small, xsimd::batch<float>::size, small / blas);
    }
    return 0;
}
