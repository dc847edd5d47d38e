#pragma once
// Kernels behind nn::conv2d on raw row-major buffers: im2col / col2im for the GEMM path, and a
// direct path for planes with one input channel at stride 1 (the first layer of an image
// network and depthwise convolutions), where im2col's GEMM would have an inner dimension of
// only kh * kw and run far below peak.

#include <algorithm>
#include <cstddef>
#include <xnas/nn/detail/simd_kernels.hpp>

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
                    // output column o reads input column o * sw + kj - pw (>= 0 for o >= lo);
                    // plain loops, not std::copy: rows are short and a library call per row costs
                    // more than the copy
                    const std::size_t first = hi > lo ? lo * sw + kj - pw : 0;
                    const T* __restrict src = plane + (ih - ph) * w + first;
                    T* __restrict dst = out;
                    for (std::size_t o = 0; o < lo; ++o)
                        dst[o] = T(0);
                    if (sw == 1) {
                        for (std::size_t o = 0; o < hi - lo; ++o)
                            dst[lo + o] = src[o];
                    } else {
                        for (std::size_t o = 0; o < hi - lo; ++o)
                            dst[lo + o] = src[o * sw];
                    }
                    for (std::size_t o = hi; o < ow; ++o)
                        dst[o] = T(0);
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

// The direct kernels work on "flat" planes: an output (oh x ow) is computed with the input's
// row pitch wp (ow <= wp), so output position p = i * wp + j reads input p + ki * wp + kj and
// every tap is one long contiguous stream (no short rows with scalar tails). Columns j >= ow of
// a flat output are junk and dropped by the caller; len = (oh - 1) * wp + ow covers the rest.

// direct_conv_flat, direct_conv_dw_flat and direct_conv_dx_flat, the SIMD kernels on flat
// planes, are in simd_kernels.hpp (dispatched on the CPU).

/// Strided direct correlation of one padded plane (pitch wp) with one kh x kw kernel:
/// y (oh x ow) = bias + sum_t k[t] * xp[(i sh + ki) wp + j sw + kj]. For depthwise layers at
/// stride > 1, where im2col would run one GEMM with a single output row per channel.
template <class T>
void direct_conv_strided(const T* xp, std::size_t wp, const T* k, std::size_t kh, std::size_t kw,
                         std::size_t sh, std::size_t sw, T bias, T* y, std::size_t oh,
                         std::size_t ow) {
    for (std::size_t i = 0; i < oh; ++i) {
        T* __restrict yr = y + i * ow;
        std::fill(yr, yr + ow, bias);
        for (std::size_t ki = 0; ki < kh; ++ki)
            for (std::size_t kj = 0; kj < kw; ++kj) {
                const T kv = k[ki * kw + kj];
                const T* __restrict xr = xp + (i * sh + ki) * wp + kj;
                for (std::size_t j = 0; j < ow; ++j)
                    yr[j] += kv * xr[j * sw];
            }
    }
}

/// Weight and input gradients of direct_conv_strided: dk[t] += sum dy * shifted xp, and (when
/// dxp is not null) dxp (padded, pitch wp) += k[t] * dy at the strided positions.
template <class T>
void direct_conv_strided_backward(const T* xp, std::size_t wp, const T* dy, std::size_t oh,
                                  std::size_t ow, const T* k, std::size_t kh, std::size_t kw,
                                  std::size_t sh, std::size_t sw, T* dk, T* dxp) {
    for (std::size_t i = 0; i < oh; ++i) {
        const T* dyr = dy + i * ow;
        for (std::size_t ki = 0; ki < kh; ++ki)
            for (std::size_t kj = 0; kj < kw; ++kj) {
                const std::size_t off = (i * sh + ki) * wp + kj;
                const T* xr = xp + off;
                T s = 0;
                for (std::size_t j = 0; j < ow; ++j)
                    s += dyr[j] * xr[j * sw];
                dk[ki * kw + kj] += s;
                if (dxp) {
                    const T kv = k[ki * kw + kj];
                    T* d = dxp + off;
                    for (std::size_t j = 0; j < ow; ++j)
                        d[j * sw] += kv * dyr[j];
                }
            }
    }
}

/// Flat im2col for stride 1: row (ci, ki, kj) of the column matrix is the contiguous run of len
/// values of padded plane ci (hp x wp) starting at ki * wp + kj, stored at col + row * ld. One
/// copy per row instead of one per output row; the output it feeds has pitch wp.
template <class T>
void im2col_flat(const T* xp, std::size_t c, std::size_t hp, std::size_t wp, std::size_t kh,
                 std::size_t kw, std::size_t len, T* col, std::size_t ld) {
    for (std::size_t ci = 0; ci < c; ++ci)
        for (std::size_t ki = 0; ki < kh; ++ki)
            for (std::size_t kj = 0; kj < kw; ++kj) {
                const T* __restrict src = xp + ci * hp * wp + ki * wp + kj;
                T* __restrict dst = col + ((ci * kh + ki) * kw + kj) * ld;
                for (std::size_t p = 0; p < len; ++p)
                    dst[p] = src[p];
            }
}

/// im2col_flat of one image of c planes (h x w), zero-padded by ph, pw first into `scratch`
/// (c x (h + 2 ph) x (w + 2 pw) values) when either is positive.
template <class T>
void im2col_flat_padded(const T* x, std::size_t c, std::size_t h, std::size_t w, std::size_t ph,
                        std::size_t pw, std::size_t kh, std::size_t kw, std::size_t len, T* col,
                        std::size_t ld, T* scratch) {
    const std::size_t hp = h + 2 * ph, wp = w + 2 * pw;
    if (ph || pw) {
        for (std::size_t ci = 0; ci < c; ++ci)
            pad_plane(x + ci * h * w, h, w, ph, pw, scratch + ci * hp * wp);
        x = scratch;
    }
    im2col_flat(x, c, hp, wp, kh, kw, len, col, ld);
}

/// The results of b images computed flat (row ci of `flat` has pitch ld; image i's outputs
/// start at i * len, their rows at pitch wp) copied into dense (c, h, w) planes from `out` on.
template <class T>
void compact_flat(const T* flat, std::size_t ld, std::size_t len, std::size_t wp, std::size_t c,
                  std::size_t h, std::size_t w, std::size_t b, T* out) {
    for (std::size_t i = 0; i < b; ++i)
        for (std::size_t ci = 0; ci < c; ++ci) {
            const T* src = flat + ci * ld + i * len;
            T* dst = out + (i * c + ci) * h * w;
            for (std::size_t r = 0; r < h; ++r)
                std::copy(src + r * wp, src + r * wp + w, dst + r * w);
        }
}

/// Adjoint of im2col_flat: adds row (ci, ki, kj) into padded plane ci at ki * wp + kj. The
/// column matrix's junk columns (pitch positions past the output width) must be zero.
template <class T>
void col2im_flat(const T* col, std::size_t ld, std::size_t c, std::size_t hp, std::size_t wp,
                 std::size_t kh, std::size_t kw, std::size_t len, T* dxp) {
    for (std::size_t ci = 0; ci < c; ++ci)
        for (std::size_t ki = 0; ki < kh; ++ki)
            for (std::size_t kj = 0; kj < kw; ++kj) {
                const T* __restrict src = col + ((ci * kh + ki) * kw + kj) * ld;
                T* __restrict dst = dxp + ci * hp * wp + ki * wp + kj;
                for (std::size_t p = 0; p < len; ++p)
                    dst[p] += src[p];
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
