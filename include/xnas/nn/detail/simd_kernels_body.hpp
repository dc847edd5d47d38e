// The float kernels that simd_kernels.hpp compiles once per instruction-set level. No include
// guard: simd_kernels.hpp includes this file three times, with XNAS_SIMD_KERNELS_NAMESPACE
// naming the namespace of each copy (portable, avx2, avx512) and, for the wide ones, inside a
// target region. B is the register type: xsimd::batch<T> in the portable copy, avx2::f32 or
// avx512::f32 in the others. Include nothing here.

namespace xnas::nn::detail::XNAS_SIMD_KERNELS_NAMESPACE {

// ---- register-tiled GEMM (small_gemm.hpp says when layers take it) ----

/// C rows [0, MR) x columns [j, j + NV x S) += A x B over the inner dimension k, with A's row i
/// at ar[i] (contiguous over k) and B's row p at brow(p) (contiguous over columns): MR x NV
/// accumulators stay in registers over the whole of k.
template <class B, std::size_t MR, std::size_t NV, class BRow>
void gemm_tile(std::size_t k, const float* const* ar, BRow brow, std::size_t j, float* c,
               std::size_t ldc) {
    constexpr std::size_t S = B::size;
    B acc[MR][NV];
    for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t v = 0; v < NV; ++v)
            acc[i][v] = B::load_unaligned(c + i * ldc + j + v * S);
    for (std::size_t p = 0; p < k; ++p) {
        const float* bp = brow(p) + j;
        B bv[NV];
        for (std::size_t v = 0; v < NV; ++v)
            bv[v] = B::load_unaligned(bp + v * S);
        for (std::size_t i = 0; i < MR; ++i) {
            const B ai(ar[i][p]);
            for (std::size_t v = 0; v < NV; ++v)
                acc[i][v] = fma(ai, bv[v], acc[i][v]);
        }
    }
    for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t v = 0; v < NV; ++v)
            acc[i][v].store_unaligned(c + i * ldc + j + v * S);
}

/// Columns [j, j + NV x S) of C(m x .) += A B: tiles of MR rows, then single rows. A's row i is
/// at arow(i).
template <class B, std::size_t MR, std::size_t NV, class ARow, class BRow>
void gemm_strip(std::size_t m, std::size_t k, ARow arow, BRow brow, std::size_t j, float* c,
                std::size_t ldc) {
    std::size_t i = 0;
    const float* ar[MR];
    for (; i + MR <= m; i += MR) {
        for (std::size_t r = 0; r < MR; ++r)
            ar[r] = arow(i + r);
        gemm_tile<B, MR, NV>(k, ar, brow, j, c + i * ldc, ldc);
    }
    for (; i < m; ++i) {
        ar[0] = arow(i);
        gemm_tile<B, 1, NV>(k, ar, brow, j, c + i * ldc, ldc);
    }
}

/// C(m x n) += A(m x k) B(k x n) for n a multiple of S, with A's row i at arow(i) and B's row p
/// at brow(p): the rows may lie anywhere, so a convolution can pass rows of its (padded) input
/// where im2col would copy them. MR x NV tiles fill the 32 registers of AVX-512 (24
/// accumulators); narrower registers get half the rows.
template <class B, class ARow, class BRow>
void gemm_rows(std::size_t m, std::size_t n, std::size_t k, ARow arow, BRow brow, float* c,
               std::size_t ldc) {
    constexpr std::size_t S = B::size;
    // Up to four registers wide (a convolution's weight gradient: one register per 16 output
    // channels), C's rows go through one strip with as many rows as 24 accumulators allow (12
    // with 16 registers); wider, strips of two registers and 8 rows (4), as measured best on
    // the convolutions' forward GEMMs.
    constexpr bool many = S >= 16;
    switch (n / S) {
    case 1:
        if (n == S)
            return gemm_strip < B, many ? 16 : 8, 1 > (m, k, arow, brow, 0, c, ldc);
        break;
    case 2:
        if (n == 2 * S)
            return gemm_strip < B, many ? 12 : 6, 2 > (m, k, arow, brow, 0, c, ldc);
        break;
    case 3:
        if (n == 3 * S)
            return gemm_strip < B, many ? 8 : 4, 3 > (m, k, arow, brow, 0, c, ldc);
        break;
    case 4:
        if (n == 4 * S)
            return gemm_strip < B, many ? 6 : 3, 4 > (m, k, arow, brow, 0, c, ldc);
        break;
    default:
        break;
    }
    std::size_t j = 0;
    for (; j + 2 * S <= n; j += 2 * S)
        gemm_strip<B, many ? 8 : 4, 2>(m, k, arow, brow, j, c, ldc);
    for (; j + S <= n; j += S)
        gemm_strip<B, many ? 8 : 4, 1>(m, k, arow, brow, j, c, ldc);
}

/// C(m x n) += A(m x k) B(k x n), row-major; A contiguous (pitch k), B and C with row pitches
/// ldb, ldc >= n. The last n mod S columns go through a zero-padded copy of their strip, so no
/// column is computed with scalar code.
template <class B>
void small_gemm(std::size_t m, std::size_t n, std::size_t k, const float* a, const float* b,
                std::size_t ldb, float* c, std::size_t ldc) {
    constexpr std::size_t S = B::size;
    const auto arow = [a, k](std::size_t i) { return a + i * k; };
    const std::size_t whole = n - n % S;
    if (whole)
        gemm_rows<B>(
            m, whole, k, arow, [b, ldb](std::size_t p) { return b + p * ldb; }, c, ldc);
    if (whole == n)
        return;
    const std::size_t r = n - whole;
    thread_local std::vector<float> bt, ct; // reused: steady state allocates nothing
    bt.assign(k * S, 0.0f);
    ct.assign(m * S, 0.0f);
    for (std::size_t p = 0; p < k; ++p)
        for (std::size_t q = 0; q < r; ++q)
            bt[p * S + q] = b[p * ldb + whole + q];
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t q = 0; q < r; ++q)
            ct[i * S + q] = c[i * ldc + whole + q];
    const float* bd = bt.data();
    gemm_rows<B>(
        m, S, k, arow, [bd](std::size_t p) { return bd + p * S; }, ct.data(), S);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t q = 0; q < r; ++q)
            c[i * ldc + whole + q] = ct[i * S + q];
}

/// C(m x n) += A(m x k) B(k x n) with B's row p at b + b_offset[p] (n a multiple of S; every
/// row readable for n values): a convolution's forward GEMM on its padded input, each row of the
/// would-be column matrix a shifted view of an input plane.
template <class B>
void gemm_offset_b(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                   const float* b, const std::size_t* b_offset, float* c, std::size_t ldc) {
    gemm_rows<B>(
        m, n, k, [a, lda](std::size_t i) { return a + i * lda; },
        [b, b_offset](std::size_t p) { return b + b_offset[p]; }, c, ldc);
}

/// C(m x n) += A(m x k) B(k x n) with A's row i at a + a_offset[i] (n a multiple of S): a
/// convolution's weight gradient, A the shifted input planes and B its output gradient
/// transposed (positions x channels).
template <class B>
void gemm_offset_a(std::size_t m, std::size_t n, std::size_t k, const float* a,
                   const std::size_t* a_offset, const float* b, std::size_t ldb, float* c,
                   std::size_t ldc) {
    gemm_rows<B>(
        m, n, k, [a, a_offset](std::size_t i) { return a + a_offset[i]; },
        [b, ldb](std::size_t p) { return b + p * ldb; }, c, ldc);
}

// ---- direct convolution of one-channel planes (conv.hpp describes the flat layout) ----

/// yw[p] = bias + sum_t k[t] * xp[p + off_t] for p < len: direct stride-1 correlation of one
/// (already padded) plane with pitch wp and one kh x kw kernel.
template <class B>
void direct_conv_flat(const typename B::value_type* xp, std::size_t wp, std::size_t len,
                      const typename B::value_type* k, std::size_t kh, std::size_t kw,
                      typename B::value_type bias, typename B::value_type* yw) {
    using T = typename B::value_type;
    constexpr std::size_t S = B::size;
    std::size_t p = 0;
    if (kh == 3 && kw == 3) {
        const B k0(k[0]), k1(k[1]), k2(k[2]), k3(k[3]), k4(k[4]), k5(k[5]), k6(k[6]), k7(k[7]),
            k8(k[8]), b(bias);
        const T* r0 = xp;
        const T* r1 = xp + wp;
        const T* r2 = xp + 2 * wp;
        for (; p + S <= len; p += S) {
            B a = fma(k0, B::load_unaligned(r0 + p), b);
            B c = k3 * B::load_unaligned(r1 + p);
            B e = k6 * B::load_unaligned(r2 + p);
            a = fma(k1, B::load_unaligned(r0 + p + 1), a);
            c = fma(k4, B::load_unaligned(r1 + p + 1), c);
            e = fma(k7, B::load_unaligned(r2 + p + 1), e);
            a = fma(k2, B::load_unaligned(r0 + p + 2), a);
            c = fma(k5, B::load_unaligned(r1 + p + 2), c);
            e = fma(k8, B::load_unaligned(r2 + p + 2), e);
            (a + c + e).store_unaligned(yw + p);
        }
    } else {
        for (; p + S <= len; p += S) {
            B a(bias);
            for (std::size_t ki = 0; ki < kh; ++ki)
                for (std::size_t kj = 0; kj < kw; ++kj)
                    a = fma(B(k[ki * kw + kj]), B::load_unaligned(xp + ki * wp + kj + p), a);
            a.store_unaligned(yw + p);
        }
    }
    for (; p < len; ++p) {
        T a = bias;
        for (std::size_t ki = 0; ki < kh; ++ki)
            for (std::size_t kj = 0; kj < kw; ++kj)
                a += k[ki * kw + kj] * xp[ki * wp + kj + p];
        yw[p] = a;
    }
}

/// dk[t] += sum_{p < len} dyw[p] * xp[p + off_t]: the weight gradient of direct_conv_flat.
/// dyw is a flat gradient whose junk columns the caller has zeroed.
template <class B>
void direct_conv_dw_flat(const typename B::value_type* xp, std::size_t wp,
                         const typename B::value_type* dyw, std::size_t len, std::size_t kh,
                         std::size_t kw, typename B::value_type* dk) {
    using T = typename B::value_type;
    constexpr std::size_t S = B::size;
    const std::size_t vec_end = len - len % S;
    if (kh == 3 && kw == 3) {
        B a[9] = {B(T(0)), B(T(0)), B(T(0)), B(T(0)), B(T(0)), B(T(0)), B(T(0)), B(T(0)), B(T(0))};
        const T* r0 = xp;
        const T* r1 = xp + wp;
        const T* r2 = xp + 2 * wp;
        for (std::size_t p = 0; p < vec_end; p += S) {
            const B d = B::load_unaligned(dyw + p);
            a[0] = fma(d, B::load_unaligned(r0 + p), a[0]);
            a[1] = fma(d, B::load_unaligned(r0 + p + 1), a[1]);
            a[2] = fma(d, B::load_unaligned(r0 + p + 2), a[2]);
            a[3] = fma(d, B::load_unaligned(r1 + p), a[3]);
            a[4] = fma(d, B::load_unaligned(r1 + p + 1), a[4]);
            a[5] = fma(d, B::load_unaligned(r1 + p + 2), a[5]);
            a[6] = fma(d, B::load_unaligned(r2 + p), a[6]);
            a[7] = fma(d, B::load_unaligned(r2 + p + 1), a[7]);
            a[8] = fma(d, B::load_unaligned(r2 + p + 2), a[8]);
        }
        for (std::size_t t = 0; t < 9; ++t) {
            const T* xr = xp + (t / 3) * wp + t % 3;
            T tail = 0;
            for (std::size_t p = vec_end; p < len; ++p)
                tail += dyw[p] * xr[p];
            dk[t] += hadd(a[t]) + tail;
        }
        return;
    }
    for (std::size_t ki = 0; ki < kh; ++ki) {
        for (std::size_t kj = 0; kj < kw; ++kj) {
            const T* xr = xp + ki * wp + kj;
            B a(T(0));
            for (std::size_t p = 0; p < vec_end; p += S)
                a = fma(B::load_unaligned(dyw + p), B::load_unaligned(xr + p), a);
            T tail = 0;
            for (std::size_t p = vec_end; p < len; ++p)
                tail += dyw[p] * xr[p];
            dk[ki * kw + kj] += hadd(a) + tail;
        }
    }
}

/// dxp[p + off_t] += k[t] * dyw[p] for p < len: the input gradient of direct_conv_flat into a
/// padded plane of pitch wp (dyw's junk columns zeroed by the caller).
template <class B>
void direct_conv_dx_flat(const typename B::value_type* dyw, std::size_t len,
                         const typename B::value_type* k, std::size_t kh, std::size_t kw,
                         typename B::value_type* dxp, std::size_t wp) {
    using T = typename B::value_type;
    constexpr std::size_t S = B::size;
    const std::size_t vec_end = len - len % S;
    for (std::size_t ki = 0; ki < kh; ++ki) {
        for (std::size_t kj = 0; kj < kw; ++kj) {
            const T kv = k[ki * kw + kj];
            const B kb(kv);
            T* d = dxp + ki * wp + kj;
            for (std::size_t p = 0; p < vec_end; p += S)
                fma(kb, B::load_unaligned(dyw + p), B::load_unaligned(d + p))
                    .store_unaligned(d + p);
            for (std::size_t p = vec_end; p < len; ++p)
                d[p] += kv * dyw[p];
        }
    }
}

// ---- optimizer updates ----

/// One element (V = T) or one register (V = B) of Adam's update; adam_coefficients describes
/// the terms.
template <bool Amsgrad, bool Decoupled, class V, class T>
void adam_element(V& w, V g, V& m, V& v, V& vmax, const adam_coefficients<T>& c) {
    using std::max; // max and sqrt of registers are found by argument-dependent lookup
    using std::sqrt;
    V gi = g;
    if constexpr (Decoupled)
        w = w * V(c.shrink);
    else
        gi = g + V(c.wd) * w;
    m = V(c.b1) * m + V(c.one_b1) * gi;
    v = V(c.b2) * v + V(c.one_b2) * gi * gi;
    if constexpr (Amsgrad) {
        vmax = max(vmax, v);
        w = w - V(c.step_size) * m / (sqrt(vmax) * V(c.inv_bc2_sqrt) + V(c.eps));
    } else {
        w = w - V(c.step_size) * m / (sqrt(v) * V(c.inv_bc2_sqrt) + V(c.eps));
    }
}

/// Adam's update of n elements in one fused pass (vmax is read and written only with Amsgrad).
/// The last n mod S elements go through a register-sized copy, so every element takes the same
/// arithmetic wherever it lies (a parameter split over threads updates as a whole one does).
template <class B, bool Amsgrad, bool Decoupled>
void adam_update(typename B::value_type* w, const typename B::value_type* g,
                 typename B::value_type* m, typename B::value_type* v, typename B::value_type* vmax,
                 std::size_t n, const adam_coefficients<typename B::value_type>& c) {
    using T = typename B::value_type;
    constexpr std::size_t S = B::size;
    const auto one = [&c](T* wi, const T* gi, T* mi, T* vi, T* vmi) {
        B wb = B::load_unaligned(wi), mb = B::load_unaligned(mi), vb = B::load_unaligned(vi);
        B vmb = Amsgrad ? B::load_unaligned(vmi) : B(T(0));
        adam_element<Amsgrad, Decoupled>(wb, B::load_unaligned(gi), mb, vb, vmb, c);
        wb.store_unaligned(wi);
        mb.store_unaligned(mi);
        vb.store_unaligned(vi);
        if constexpr (Amsgrad)
            vmb.store_unaligned(vmi);
    };
    std::size_t i = 0;
    for (; i + S <= n; i += S)
        one(w + i, g + i, m + i, v + i, Amsgrad ? vmax + i : nullptr);
    if (i == n)
        return;
    T tw[S] = {}, tg[S] = {}, tm[S] = {}, tv[S] = {}, tvm[S] = {};
    const std::size_t r = n - i;
    for (std::size_t q = 0; q < r; ++q) {
        tw[q] = w[i + q];
        tg[q] = g[i + q];
        tm[q] = m[i + q];
        tv[q] = v[i + q];
        if constexpr (Amsgrad)
            tvm[q] = vmax[i + q];
    }
    one(tw, tg, tm, tv, tvm);
    for (std::size_t q = 0; q < r; ++q) {
        w[i + q] = tw[q];
        m[i + q] = tm[q];
        v[i + q] = tv[q];
        if constexpr (Amsgrad)
            vmax[i + q] = tvm[q];
    }
}

// ---- SGD's update ----

/// nn::sgd's update of n elements (sgd_coefficients in simd_kernels.hpp): plain loops, one per
/// case so that no branch sits in an element loop, vectorised by the compiler at this copy's
/// width. Each element's update depends on that element alone, so a step split into parts
/// updates every element as the whole step does.
template <class B>
void sgd_update(typename B::value_type* __restrict w, const typename B::value_type* __restrict g,
                typename B::value_type* __restrict b, std::size_t n,
                const sgd_coefficients<typename B::value_type>& c) {
    using T = typename B::value_type;
    const T lr = c.lr, wd = c.wd, mu = c.mu, keep = c.keep;
    if (!c.momentum) {
        for (std::size_t i = 0; i < n; ++i)
            w[i] -= lr * (g[i] + wd * w[i]);
    } else if (c.first && c.nesterov) {
        for (std::size_t i = 0; i < n; ++i) {
            const T d = g[i] + wd * w[i];
            b[i] = d;
            w[i] -= lr * (d + mu * d);
        }
    } else if (c.first) {
        for (std::size_t i = 0; i < n; ++i) {
            const T d = g[i] + wd * w[i];
            b[i] = d;
            w[i] -= lr * d;
        }
    } else if (c.nesterov) {
        for (std::size_t i = 0; i < n; ++i) {
            const T d = g[i] + wd * w[i];
            const T bi = mu * b[i] + keep * d;
            b[i] = bi;
            w[i] -= lr * (d + mu * bi);
        }
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            const T d = g[i] + wd * w[i];
            const T bi = mu * b[i] + keep * d;
            b[i] = bi;
            w[i] -= lr * bi;
        }
    }
}

// ---- element-wise activations ----
// Plain loops over fast_math.hpp's branch-free approximations: the compiler vectorises them at
// the width of the copy they are compiled in, so B only names the copy.

/// y = x Phi(x) (GELU) for n floats.
template <class B>
void gelu_forward(const float* __restrict x, float* __restrict y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        float density;
        y[i] = x[i] * fast_normal_cdf(x[i], density);
    }
}

/// dx = dy (Phi(x) + x phi(x)), GELU's input gradient, for n floats.
template <class B>
void gelu_backward(const float* __restrict x, const float* __restrict dy, float* __restrict dx,
                   std::size_t n) {
    const float c = std::numbers::inv_sqrtpi_v<float> * (1.0f / std::numbers::sqrt2_v<float>);
    for (std::size_t i = 0; i < n; ++i) {
        float density;
        const float cdf = fast_normal_cdf(x[i], density);
        dx[i] = dy[i] * (cdf + x[i] * c * density);
    }
}

} // namespace xnas::nn::detail::XNAS_SIMD_KERNELS_NAMESPACE
