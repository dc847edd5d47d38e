#pragma once
// Kernels behind nn::conv2d on raw row-major buffers: im2col / col2im for the GEMM path, and a
// direct path for planes with one input channel at stride 1 (the first layer of an image
// network and depthwise convolutions), where im2col's GEMM would have an inner dimension of
// only kh * kw and run far below peak.

#include <algorithm>
#include <cstddef>

namespace xnas::nn::detail {

/// Range [lo, hi) of output columns o whose input column o * s + k - p lies in [0, w).
inline void valid_range(std::size_t w, std::size_t k, std::size_t s, std::size_t p, std::size_t out,
                        std::size_t& lo, std::size_t& hi) {
    lo = k < p ? (p - k + s - 1) / s : 0;
    hi = w + p > k ? std::min(out, (w - 1 + p - k) / s + 1) : 0;
    if (lo > hi)
        lo = hi;
}

/// Unfolds c planes (h x w) into a (c * kh * kw) x (oh * ow) matrix whose row r starts at
/// col + r * ld; positions in the zero padding read as 0.
template <class T>
void im2col(const T* x, std::size_t c, std::size_t h, std::size_t w, std::size_t kh, std::size_t kw,
            std::size_t sh, std::size_t sw, std::size_t ph, std::size_t pw, std::size_t oh,
            std::size_t ow, T* col, std::size_t ld) {
    for (std::size_t ci = 0; ci < c; ++ci) {
        const T* plane = x + ci * h * w;
        for (std::size_t ki = 0; ki < kh; ++ki) {
            for (std::size_t kj = 0; kj < kw; ++kj) {
                T* row = col + ((ci * kh + ki) * kw + kj) * ld;
                std::size_t lo, hi;
                valid_range(w, kj, sw, pw, ow, lo, hi);
                for (std::size_t i = 0; i < oh; ++i) {
                    T* out = row + i * ow;
                    const std::size_t ih = i * sh + ki;
                    if (ih < ph || ih - ph >= h) {
                        std::fill(out, out + ow, T(0));
                        continue;
                    }
                    // output column o reads input column o * sw + kj - pw (>= 0 for o >= lo)
                    const T* src = plane + (ih - ph) * w;
                    std::fill(out, out + lo, T(0));
                    if (sw == 1 && hi > lo) {
                        std::copy(src + lo + kj - pw, src + hi + kj - pw, out + lo);
                    } else {
                        for (std::size_t o = lo; o < hi; ++o)
                            out[o] = src[o * sw + kj - pw];
                    }
                    std::fill(out + hi, out + ow, T(0));
                }
            }
        }
    }
}

/// Adjoint of im2col: adds every entry of the column matrix back into its input position of
/// dx (c planes of h x w), which the caller has zeroed.
template <class T>
void col2im(const T* col, std::size_t ld, std::size_t c, std::size_t h, std::size_t w,
            std::size_t kh, std::size_t kw, std::size_t sh, std::size_t sw, std::size_t ph,
            std::size_t pw, std::size_t oh, std::size_t ow, T* dx) {
    for (std::size_t ci = 0; ci < c; ++ci) {
        T* plane = dx + ci * h * w;
        for (std::size_t ki = 0; ki < kh; ++ki) {
            for (std::size_t kj = 0; kj < kw; ++kj) {
                const T* row = col + ((ci * kh + ki) * kw + kj) * ld;
                std::size_t lo, hi;
                valid_range(w, kj, sw, pw, ow, lo, hi);
                for (std::size_t i = 0; i < oh; ++i) {
                    const std::size_t ih = i * sh + ki;
                    if (ih < ph || ih - ph >= h)
                        continue;
                    const T* __restrict in = row + i * ow;
                    T* __restrict dst = plane + (ih - ph) * w;
                    if (sw == 1 && hi > lo) {
                        T* __restrict d = dst + lo + kj - pw;
                        const std::size_t len = hi - lo;
                        for (std::size_t o = 0; o < len; ++o)
                            d[o] += in[lo + o];
                    } else {
                        for (std::size_t o = lo; o < hi; ++o)
                            dst[o * sw + kj - pw] += in[o];
                    }
                }
            }
        }
    }
}

/// Copies an h x w plane into the centre of a zeroed (h + 2 ph) x (w + 2 pw) buffer.
template <class T>
void pad_plane(const T* x, std::size_t h, std::size_t w, std::size_t ph, std::size_t pw, T* out) {
    const std::size_t wp = w + 2 * pw;
    std::fill(out, out + (h + 2 * ph) * wp, T(0));
    for (std::size_t i = 0; i < h; ++i)
        std::copy(x + i * w, x + (i + 1) * w, out + (i + ph) * wp + pw);
}

/// Direct stride-1 correlation of one (already padded) plane xp with row pitch wp and one
/// kh x kw kernel: y (oh x ow) = bias + sum_t k[t] * shifted xp. Rows of ow are contiguous so
/// the inner loop vectorises; 3x3 is fused into one pass per output row.
template <class T>
void direct_conv_plane(const T* xp, std::size_t wp, const T* k, std::size_t kh, std::size_t kw,
                       T bias, T* y, std::size_t oh, std::size_t ow) {
    if (kh == 3 && kw == 3) {
        const T k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6],
                k7 = k[7], k8 = k[8];
        for (std::size_t i = 0; i < oh; ++i) {
            const T* __restrict r0 = xp + i * wp;
            const T* __restrict r1 = r0 + wp;
            const T* __restrict r2 = r1 + wp;
            T* __restrict yr = y + i * ow;
            for (std::size_t j = 0; j < ow; ++j)
                yr[j] = bias + k0 * r0[j] + k1 * r0[j + 1] + k2 * r0[j + 2] + k3 * r1[j] +
                        k4 * r1[j + 1] + k5 * r1[j + 2] + k6 * r2[j] + k7 * r2[j + 1] +
                        k8 * r2[j + 2];
        }
        return;
    }
    for (std::size_t i = 0; i < oh; ++i) {
        T* __restrict yr = y + i * ow;
        std::fill(yr, yr + ow, bias);
        for (std::size_t ki = 0; ki < kh; ++ki) {
            for (std::size_t kj = 0; kj < kw; ++kj) {
                const T kv = k[ki * kw + kj];
                const T* __restrict xr = xp + (i + ki) * wp + kj;
                for (std::size_t j = 0; j < ow; ++j)
                    yr[j] += kv * xr[j];
            }
        }
    }
}

/// Weight-gradient accumulation of direct_conv_plane: acc (kh * kw rows of ow) +=
/// dy[i][j] * xp[i + ki][j + kj] summed over i. Reducing along j is left to the caller, so the
/// loop is element-wise and vectorises without reassociating floating-point sums.
template <class T>
void direct_conv_dw_plane(const T* xp, std::size_t wp, const T* dy, std::size_t oh, std::size_t ow,
                          std::size_t kh, std::size_t kw, T* acc) {
    for (std::size_t i = 0; i < oh; ++i) {
        const T* __restrict dyr = dy + i * ow;
        for (std::size_t ki = 0; ki < kh; ++ki) {
            for (std::size_t kj = 0; kj < kw; ++kj) {
                T* __restrict a = acc + (ki * kw + kj) * ow;
                const T* __restrict xr = xp + (i + ki) * wp + kj;
                for (std::size_t j = 0; j < ow; ++j)
                    a[j] += dyr[j] * xr[j];
            }
        }
    }
}

/// Input-gradient of direct_conv_plane: dxp (padded, pitch wp) += k[t] * dy shifted by t.
template <class T>
void direct_conv_dx_plane(const T* dy, std::size_t oh, std::size_t ow, const T* k, std::size_t kh,
                          std::size_t kw, T* dxp, std::size_t wp) {
    for (std::size_t i = 0; i < oh; ++i) {
        const T* __restrict dyr = dy + i * ow;
        for (std::size_t ki = 0; ki < kh; ++ki) {
            for (std::size_t kj = 0; kj < kw; ++kj) {
                const T kv = k[ki * kw + kj];
                T* __restrict d = dxp + (i + ki) * wp + kj;
                for (std::size_t j = 0; j < ow; ++j)
                    d[j] += kv * dyr[j];
            }
        }
    }
}

/// acc[j] += x[j] for j < n: element-wise, so it vectorises; callers reduce acc once at the end.
template <class T>
void accumulate(const T* x, std::size_t n, T* acc) {
    const T* __restrict src = x;
    T* __restrict dst = acc;
    for (std::size_t j = 0; j < n; ++j)
        dst[j] += src[j];
}

/// Sum of n values with eight independent partial sums (vectorisable without -ffast-math).
template <class T>
T sum(const T* x, std::size_t n) {
    T part[8] = {};
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (std::size_t l = 0; l < 8; ++l)
            part[l] += x[i + l];
    T s = 0;
    for (; i < n; ++i)
        s += x[i];
    for (T p : part)
        s += p;
    return s;
}

} // namespace xnas::nn::detail
