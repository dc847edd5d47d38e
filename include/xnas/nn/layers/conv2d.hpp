#pragma once
// nn::conv2d, 2-D cross-correlation on (N, C, H, W) batches with kernel size, stride, zero
// padding, bias and channel groups (depthwise: groups == channels; pointwise: 1x1). Four
// kernels chosen from the configuration: a direct loop (one input channel per group),
// GEMM on the input itself (1x1, stride 1, no padding), a "flat" im2col + GEMM (other stride-1
// cases) and classic im2col + GEMM (strided).

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/detail/conv.hpp>
#include <xnas/nn/detail/small_gemm.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

/// Hyper-parameters of nn::conv2d (designated initializers: `{.in_channels = 1, ...}`).
struct conv2d_options {
    std::size_t in_channels = 0;
    std::size_t out_channels = 0;
    std::size_t kernel_h = 3, kernel_w = 3;
    std::size_t stride_h = 1, stride_w = 1;
    std::size_t padding_h = 0, padding_w = 0; ///< zeros added on each side
    std::size_t groups = 1;                   ///< in and out channels both divisible by it
    bool bias = true;
};

/// 2-D convolution (cross-correlation, as in PyTorch's Conv2d) of (N, C, H, W) to
/// (N, K, OH, OW) with OH = (H + 2 padding_h - kernel_h) / stride_h + 1 (likewise OW).
/// Parameters: "weight" (K, C / groups, kernel_h, kernel_w) and "bias" (K) when enabled; they
/// start at zero (use nn::init).
///
/// Kernels: one input channel per group (a grey-scale first layer, depthwise convolutions)
/// runs a direct loop (SIMD at stride 1), since im2col's GEMM would have an inner dimension of
/// only kh * kw; 1x1 at stride 1 without padding multiplies the input planes directly; other
/// stride-1 convolutions use im2col (Chellapilla et al., 2006) computed at the input's row pitch
/// so that every column row is one contiguous copy, with GEMMs over chunks of images; strided
/// ones use classic im2col + one GEMM per image and group, keeping the columns for backward.
/// Backward: dW by GEMM against the columns, dx by GEMM then col2im, or, on stride-1 layers
/// that narrow the channels, as a correlation of dy with the rotated kernel (the direct path
/// accumulates both in SIMD registers). Buffers live in the layer and are reused, so steady
/// state allocates nothing.
///
/// spec(): type "conv2d"; attributes in_channels, out_channels, kernel_h, kernel_w, stride_h,
/// stride_w, padding_h, padding_w, groups, bias ("1"/"0").
template <class T = float>
class conv2d {
  public:
    using value_type = T;

    explicit conv2d(const conv2d_options& o)
        : o_(o) {
        const auto bad = [](const std::string& what) {
            return std::invalid_argument("xnas::nn::conv2d: " + what);
        };
        if (o.in_channels == 0 || o.out_channels == 0)
            throw bad("in_channels and out_channels must be positive, got " +
                      std::to_string(o.in_channels) + " and " + std::to_string(o.out_channels));
        if (o.kernel_h == 0 || o.kernel_w == 0 || o.stride_h == 0 || o.stride_w == 0)
            throw bad("kernel and stride must be positive, got kernel " +
                      std::to_string(o.kernel_h) + "x" + std::to_string(o.kernel_w) + ", stride " +
                      std::to_string(o.stride_h) + "x" + std::to_string(o.stride_w));
        if (o.groups == 0 || o.in_channels % o.groups || o.out_channels % o.groups)
            throw bad("groups = " + std::to_string(o.groups) +
                      " must divide in_channels = " + std::to_string(o.in_channels) +
                      " and out_channels = " + std::to_string(o.out_channels));
        if (!fits_in_array<T>({o.out_channels, o.in_channels / o.groups, o.kernel_h, o.kernel_w}))
            throw bad(std::to_string(o.out_channels) + " x " +
                      std::to_string(o.in_channels / o.groups) + " x " +
                      std::to_string(o.kernel_h) + " x " + std::to_string(o.kernel_w) +
                      " weights are more than an array can hold");
    }

    /// Square kernel, stride and padding.
    conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel,
           std::size_t stride = 1, std::size_t padding = 0, bool bias = true,
           std::size_t groups = 1)
        : conv2d(conv2d_options{in_channels, out_channels, kernel, kernel, stride, stride, padding,
                                padding, groups, bias}) {}

    /// Depthwise: one kernel per channel (groups == channels).
    static conv2d depthwise(std::size_t channels, std::size_t kernel, std::size_t stride = 1,
                            std::size_t padding = 0, bool bias = true) {
        return conv2d(channels, channels, kernel, stride, padding, bias, channels);
    }
    /// Pointwise: 1x1, a GEMM per image.
    static conv2d pointwise(std::size_t in_channels, std::size_t out_channels, bool bias = true) {
        return conv2d(in_channels, out_channels, 1, 1, 0, bias, 1);
    }

    void forward(const array<T>& x, array<T>& y, mode) {
        allocate();
        const geometry g = check_input(x, "forward");
        ensure_shape(y, {g.n, o_.out_channels, g.oh, g.ow});
        const std::size_t cg = o_.in_channels / o_.groups, kg = o_.out_channels / o_.groups;
        const std::size_t ohw = g.oh * g.ow, kk = o_.kernel_h * o_.kernel_w, rows = cg * kk;
        const T* xd = x.data();
        T* yd = y.data();
        if (direct()) {
            forward_direct(g, xd, yd);
            return;
        }
        if constexpr (std::is_same_v<T, float>) {
            if (implicit_gemm()) {
                forward_implicit(g, xd, yd);
                return;
            }
        }
        if (flat()) {
            forward_flat(g, xd, yd);
            return;
        }
        if (!pointwise_identity())
            col_.resize(g.n * o_.groups * rows * ohw);
        for (std::size_t n = 0; n < g.n; ++n) {
            for (std::size_t gr = 0; gr < o_.groups; ++gr) {
                const T* xg = xd + (n * o_.in_channels + gr * cg) * g.h * g.w;
                const T* col = xg;
                if (!pointwise_identity()) {
                    T* c = col_.data() + (n * o_.groups + gr) * rows * ohw;
                    detail::im2col(xg, cg, g.h, g.w, o_.kernel_h, o_.kernel_w, o_.stride_h,
                                   o_.stride_w, o_.padding_h, o_.padding_w, g.oh, g.ow, c, ohw);
                    col = c;
                }
                T* yg = yd + (n * o_.out_channels + gr * kg) * ohw;
                // bias (or zero) then beta = 1: cheaper than OpenBLAS's own zeroing pass
                for (std::size_t k = 0; k < kg; ++k)
                    std::fill(yg + k * ohw, yg + (k + 1) * ohw,
                              o_.bias ? b_.data()[gr * kg + k] : T(0));
                detail::gemm(false, false, kg, ohw, rows, T(1), w_.data() + gr * kg * rows, col,
                             T(1), yg);
            }
        }
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        allocate();
        const geometry g = check_input(x, "backward");
        const std::size_t cg = o_.in_channels / o_.groups, kg = o_.out_channels / o_.groups;
        const std::size_t ohw = g.oh * g.ow, kk = o_.kernel_h * o_.kernel_w, rows = cg * kk;
        if (dy.size() != g.n * o_.out_channels * ohw)
            throw shape_error("xnas::nn::conv2d::backward: dy has " + std::to_string(dy.size()) +
                              " elements, expected " + std::to_string(g.n * o_.out_channels * ohw));
        if (g.n == 0) { // an empty batch still overwrites the gradients
            std::fill(dw_.begin(), dw_.end(), T(0));
            std::fill(db_.begin(), db_.end(), T(0));
            if (dx)
                ensure_shape(*dx, {0, o_.in_channels, g.h, g.w});
            return;
        }
        const T* xd = x.data();
        const T* dyd = dy.data();
        if (o_.bias) {
            // Row-wise accumulation, reduced once: element-wise loops vectorise.
            acc_.assign(o_.out_channels * ohw, T(0));
            for (std::size_t n = 0; n < g.n; ++n)
                for (std::size_t k = 0; k < o_.out_channels; ++k)
                    detail::accumulate(dyd + (n * o_.out_channels + k) * ohw, ohw,
                                       acc_.data() + k * ohw);
            for (std::size_t k = 0; k < o_.out_channels; ++k)
                db_.data()[k] = detail::sum(acc_.data() + k * ohw, ohw);
        }
        if (dx)
            ensure_shape(*dx, {g.n, o_.in_channels, g.h, g.w});
        if (direct()) {
            backward_direct(g, xd, dyd, dx);
            return;
        }
        if constexpr (std::is_same_v<T, float>) {
            if (implicit_gemm()) {
                backward_implicit(g, xd, dyd, dx);
                return;
            }
        }
        if (flat()) {
            backward_flat(g, xd, dyd, dx);
            return;
        }
        for (std::size_t n = 0; n < g.n; ++n) {
            for (std::size_t gr = 0; gr < o_.groups; ++gr) {
                const T* col = pointwise_identity()
                                   ? xd + (n * o_.in_channels + gr * cg) * g.h * g.w
                                   : col_.data() + (n * o_.groups + gr) * rows * ohw;
                const T* dyg = dyd + (n * o_.out_channels + gr * kg) * ohw;
                detail::gemm(false, true, kg, rows, ohw, T(1), dyg, col, n == 0 ? T(0) : T(1),
                             dw_.data() + gr * kg * rows);
                if (!dx)
                    continue;
                T* dxg = dx->data() + (n * o_.in_channels + gr * cg) * g.h * g.w;
                if (pointwise_identity()) {
                    detail::gemm(true, false, rows, ohw, kg, T(1), w_.data() + gr * kg * rows, dyg,
                                 T(0), dxg);
                } else {
                    dcol_.resize(rows * ohw);
                    std::fill(dcol_.begin(), dcol_.end(), T(0));
                    detail::gemm(true, false, rows, ohw, kg, T(1), w_.data() + gr * kg * rows, dyg,
                                 T(1), dcol_.data());
                    std::fill(dxg, dxg + cg * g.h * g.w, T(0));
                    detail::col2im(dcol_.data(), ohw, cg, g.h, g.w, o_.kernel_h, o_.kernel_w,
                                   o_.stride_h, o_.stride_w, o_.padding_h, o_.padding_w, g.oh, g.ow,
                                   dxg);
                }
            }
        }
    }

    std::vector<parameter<T>> parameters() {
        allocate();
        std::vector<parameter<T>> p{{"weight", &w_, &dw_}};
        if (o_.bias)
            p.push_back({"bias", &b_, &db_});
        return p;
    }

    shape output_shape(const shape& in) const {
        if (in.size() != 3 || in[0] != o_.in_channels || in[1] + 2 * o_.padding_h < o_.kernel_h ||
            in[2] + 2 * o_.padding_w < o_.kernel_w)
            throw shape_error("xnas::nn::conv2d: input has shape " + to_string(in) +
                              ", layer expects " + expected());
        return {o_.out_channels, (in[1] + 2 * o_.padding_h - o_.kernel_h) / o_.stride_h + 1,
                (in[2] + 2 * o_.padding_w - o_.kernel_w) / o_.stride_w + 1};
    }
    std::size_t parameter_count() const {
        return o_.out_channels * (o_.in_channels / o_.groups) * o_.kernel_h * o_.kernel_w +
               (o_.bias ? o_.out_channels : 0);
    }
    /// Per sample: 2 * (C / groups) * kh * kw multiply-adds per output element, plus the bias.
    std::size_t flops(const shape& in) const {
        const shape out = output_shape(in);
        const std::size_t per_output =
            2 * (o_.in_channels / o_.groups) * o_.kernel_h * o_.kernel_w + (o_.bias ? 1 : 0);
        return volume(out) * per_output;
    }
    layer_spec spec() const {
        const auto s = [](std::size_t v) { return std::to_string(v); };
        return {"conv2d",
                {{"in_channels", s(o_.in_channels)},
                 {"out_channels", s(o_.out_channels)},
                 {"kernel_h", s(o_.kernel_h)},
                 {"kernel_w", s(o_.kernel_w)},
                 {"stride_h", s(o_.stride_h)},
                 {"stride_w", s(o_.stride_w)},
                 {"padding_h", s(o_.padding_h)},
                 {"padding_w", s(o_.padding_w)},
                 {"groups", s(o_.groups)},
                 {"bias", o_.bias ? "1" : "0"}}};
    }

    const conv2d_options& options() const { return o_; }
    array<T>& weight() {
        allocate();
        return w_;
    }
    array<T>& bias() {
        allocate();
        return b_;
    }

  private:
    // Weights are allocated (zeroed) on first use, not by the constructor: a network can be
    // built and its parameter count and FLOPs checked against a budget before any of its memory
    // exists (train_evaluator's budgets).
    void allocate() {
        if (allocated_)
            return;
        w_ =
            array<T>({o_.out_channels, o_.in_channels / o_.groups, o_.kernel_h, o_.kernel_w}, T(0));
        dw_ = w_;
        b_ = array<T>({o_.bias ? o_.out_channels : 0}, T(0));
        db_ = b_;
        allocated_ = true;
    }

    struct geometry {
        std::size_t n, h, w, oh, ow;
    };

    bool direct() const { return o_.in_channels == o_.groups; }
    bool unit_stride() const { return o_.stride_h == 1 && o_.stride_w == 1; }
    /// Stride 1 with several input channels per group: flat GEMM path (see forward_flat).
    bool flat() const { return !direct() && !pointwise_identity() && unit_stride(); }
    bool pointwise_identity() const {
        return o_.kernel_h == 1 && o_.kernel_w == 1 && o_.stride_h == 1 && o_.stride_w == 1 &&
               o_.padding_h == 0 && o_.padding_w == 0;
    }

    std::string expected() const {
        return "(N, " + std::to_string(o_.in_channels) + ", H >= " +
               std::to_string(o_.kernel_h > 2 * o_.padding_h ? o_.kernel_h - 2 * o_.padding_h : 1) +
               ", W >= " +
               std::to_string(o_.kernel_w > 2 * o_.padding_w ? o_.kernel_w - 2 * o_.padding_w : 1) +
               ")";
    }

    geometry check_input(const array<T>& x, const char* fn) const {
        const auto& s = x.shape();
        if (x.dimension() != 4 || s[1] != o_.in_channels || s[2] + 2 * o_.padding_h < o_.kernel_h ||
            s[3] + 2 * o_.padding_w < o_.kernel_w) {
            std::string got = "(";
            for (std::size_t i = 0; i < x.dimension(); ++i)
                got += (i ? ", " : "") + std::to_string(s[i]);
            throw shape_error(std::string("xnas::nn::conv2d::") + fn + ": input has shape " + got +
                              "), layer expects " + expected());
        }
        return {s[0], s[2], s[3], (s[2] + 2 * o_.padding_h - o_.kernel_h) / o_.stride_h + 1,
                (s[3] + 2 * o_.padding_w - o_.kernel_w) / o_.stride_w + 1};
    }

    /// The plane itself when there is no padding, else its zero-padded copy in pad_.
    const T* padded(const T* plane, const geometry& g) {
        if (o_.padding_h == 0 && o_.padding_w == 0)
            return plane;
        detail::pad_plane(plane, g.h, g.w, o_.padding_h, o_.padding_w, pad_.data());
        return pad_.data();
    }

    // Direct path (one input channel per group, stride 1): flat kernels of detail/conv.hpp on
    // planes of pitch wp = W + 2 padding_w; flat outputs are compacted row by row.
    void forward_direct(const geometry& g, const T* xd, T* yd) {
        const std::size_t kg = o_.out_channels / o_.groups, kk = o_.kernel_h * o_.kernel_w;
        const std::size_t ohw = g.oh * g.ow, wp = g.w + 2 * o_.padding_w;
        const std::size_t len = (g.oh - 1) * wp + g.ow;
        pad_.resize((g.h + 2 * o_.padding_h) * wp);
        flat_.resize(g.oh * wp);
        for (std::size_t n = 0; n < g.n; ++n) {
            for (std::size_t gr = 0; gr < o_.groups; ++gr) {
                const T* plane = padded(xd + (n * o_.in_channels + gr) * g.h * g.w, g);
                for (std::size_t k = gr * kg; k < (gr + 1) * kg; ++k) {
                    T* yk = yd + (n * o_.out_channels + k) * ohw;
                    if (!unit_stride()) {
                        detail::direct_conv_strided(plane, wp, w_.data() + k * kk, o_.kernel_h,
                                                    o_.kernel_w, o_.stride_h, o_.stride_w,
                                                    o_.bias ? b_.data()[k] : T(0), yk, g.oh, g.ow);
                        continue;
                    }
                    const bool in_place = wp == g.ow; // 1-wide kernels: flat is the output
                    detail::direct_conv_flat(plane, wp, len, w_.data() + k * kk, o_.kernel_h,
                                             o_.kernel_w, o_.bias ? b_.data()[k] : T(0),
                                             in_place ? yk : flat_.data());
                    if (!in_place)
                        for (std::size_t i = 0; i < g.oh; ++i)
                            std::copy(flat_.data() + i * wp, flat_.data() + i * wp + g.ow,
                                      yk + i * g.ow);
                }
            }
        }
    }

    // Flat GEMM path (stride 1): outputs are computed with the padded input's row pitch wp, so
    // each column-matrix row is one contiguous run of the input (im2col_flat) and col2im one
    // contiguous add per row, instead of one short copy per output row; the price is wp - ow
    // junk columns per output row (18% more GEMM work for 13x13 -> 11x11), dropped when the
    // result is compacted. Images go through in chunks whose buffers stay in cache; columns
    // are rebuilt in backward rather than kept, which was cheaper than streaming them back.
    struct flat_geometry {
        std::size_t hp, wp, len, chunk;
    };
    flat_geometry flat_shape(const geometry& g) const {
        const std::size_t hp = g.h + 2 * o_.padding_h, wp = g.w + 2 * o_.padding_w;
        const std::size_t len = (g.oh - 1) * wp + g.ow;
        return {hp, wp, len,
                image_chunk(o_.in_channels * o_.kernel_h * o_.kernel_w * len * sizeof(T), g.n)};
    }

    /// Images per chunk for column matrices of `per_image` bytes each: about 256 KiB per
    /// chunk, chunks of balanced size.
    static std::size_t image_chunk(std::size_t per_image, std::size_t n) {
        const std::size_t want = std::max<std::size_t>(1, (256u << 10) / per_image);
        const std::size_t chunks = (n + want - 1) / want;
        return chunks ? (n + chunks - 1) / chunks : 1;
    }

    /// Builds the flat column matrix of images [n0, n0 + b) (padding them first if needed).
    void flat_columns(const geometry& g, const flat_geometry& f, const T* xd, std::size_t n0,
                      std::size_t b) {
        const std::size_t rows = o_.in_channels * o_.kernel_h * o_.kernel_w, ld = b * f.len;
        col_.resize(rows * f.chunk * f.len);
        if (o_.padding_h || o_.padding_w)
            pad_.resize(o_.in_channels * f.hp * f.wp);
        for (std::size_t n = n0; n < n0 + b; ++n)
            detail::im2col_flat_padded(xd + n * o_.in_channels * g.h * g.w, o_.in_channels, g.h,
                                       g.w, o_.padding_h, o_.padding_w, o_.kernel_h, o_.kernel_w,
                                       f.len, col_.data() + (n - n0) * f.len, ld, pad_.data());
    }

    void forward_flat(const geometry& g, const T* xd, T* yd) {
        const flat_geometry f = flat_shape(g);
        const std::size_t kg = o_.out_channels / o_.groups;
        const std::size_t rows = (o_.in_channels / o_.groups) * o_.kernel_h * o_.kernel_w;
        const std::size_t ohw = g.oh * g.ow;
        tmp_.resize(o_.out_channels * f.chunk * f.len);
        for (std::size_t n0 = 0; n0 < g.n; n0 += f.chunk) {
            const std::size_t b = std::min(f.chunk, g.n - n0), ld = b * f.len;
            flat_columns(g, f, xd, n0, b);
            // Start from the bias and accumulate (beta = 1): OpenBLAS zeroes C in a separate,
            // slower pass when beta = 0 (8% of this layer's time in a profile).
            for (std::size_t k = 0; k < o_.out_channels; ++k)
                std::fill(tmp_.data() + k * ld, tmp_.data() + (k + 1) * ld,
                          o_.bias ? b_.data()[k] : T(0));
            for (std::size_t gr = 0; gr < o_.groups; ++gr)
                detail::gemm_accumulate(kg, ld, rows, w_.data() + gr * kg * rows,
                                        col_.data() + gr * rows * ld, tmp_.data() + gr * kg * ld);
            detail::compact_flat(tmp_.data(), ld, f.len, f.wp, o_.out_channels, g.oh, g.ow, b,
                                 yd + n0 * o_.out_channels * ohw);
        }
    }

    void backward_flat(const geometry& g, const T* xd, const T* dyd, array<T>* dx) {
        const flat_geometry f = flat_shape(g);
        const std::size_t kg = o_.out_channels / o_.groups;
        const std::size_t rows = (o_.in_channels / o_.groups) * o_.kernel_h * o_.kernel_w;
        const std::size_t ohw = g.oh * g.ow;
        const bool pad = o_.padding_h || o_.padding_w;
        tmp_.resize(o_.out_channels * f.chunk * f.len);
        const bool dx_by_columns = dx && !dx_by_correlation();
        if (dx_by_columns) {
            dcol_.resize(o_.in_channels * o_.kernel_h * o_.kernel_w * f.chunk * f.len);
            if (pad)
                dpad_.resize(o_.in_channels * f.hp * f.wp);
        }
        for (std::size_t n0 = 0; n0 < g.n; n0 += f.chunk) {
            const std::size_t b = std::min(f.chunk, g.n - n0), ld = b * f.len;
            flat_columns(g, f, xd, n0, b);
            // dy into the flat layout; junk columns zero so they add nothing below
            for (std::size_t n = n0; n < n0 + b; ++n)
                for (std::size_t k = 0; k < o_.out_channels; ++k) {
                    const T* src = dyd + (n * o_.out_channels + k) * ohw;
                    T* dst = tmp_.data() + k * ld + (n - n0) * f.len;
                    for (std::size_t i = 0; i < g.oh; ++i) {
                        const T* __restrict s = src + i * g.ow;
                        T* __restrict d = dst + i * f.wp;
                        for (std::size_t j = 0; j < g.ow; ++j)
                            d[j] = s[j];
                        if (i + 1 < g.oh)
                            for (std::size_t j = g.ow; j < f.wp; ++j)
                                d[j] = T(0);
                    }
                }
            for (std::size_t gr = 0; gr < o_.groups; ++gr) {
                detail::gemm(false, true, kg, rows, ld, T(1), tmp_.data() + gr * kg * ld,
                             col_.data() + gr * rows * ld, n0 == 0 ? T(0) : T(1),
                             dw_.data() + gr * kg * rows);
                if (dx_by_columns) {
                    std::fill(dcol_.data() + gr * rows * ld, dcol_.data() + (gr + 1) * rows * ld,
                              T(0));
                    detail::gemm(true, false, rows, ld, kg, T(1), w_.data() + gr * kg * rows,
                                 tmp_.data() + gr * kg * ld, T(1), dcol_.data() + gr * rows * ld);
                }
            }
            if (!dx_by_columns)
                continue;
            for (std::size_t n = n0; n < n0 + b; ++n) {
                T* dxn = dx->data() + n * o_.in_channels * g.h * g.w;
                T* target = pad ? dpad_.data() : dxn;
                std::fill(target, target + o_.in_channels * f.hp * f.wp, T(0));
                detail::col2im_flat(dcol_.data() + (n - n0) * f.len, ld, o_.in_channels, f.hp, f.wp,
                                    o_.kernel_h, o_.kernel_w, f.len, target);
                if (pad)
                    for (std::size_t c = 0; c < o_.in_channels; ++c)
                        for (std::size_t i = 0; i < g.h; ++i) {
                            const T* s = dpad_.data() + c * f.hp * f.wp +
                                         (i + o_.padding_h) * f.wp + o_.padding_w;
                            std::copy(s, s + g.w, dxn + (c * g.h + i) * g.w);
                        }
            }
        }
        if (dx && !dx_by_columns)
            backward_dx_flat(g, dyd, dx->data());
    }

    /// dx by columns (a GEMM of inner dimension out_channels / groups into a column matrix of
    /// in_channels x kh x kw rows, then col2im) or as the forward correlation of dy, padded by
    /// kernel - 1 - padding, with the kernel rotated by 180 degrees and its channels swapped
    /// (inner dimension out_channels / groups x kh x kw, in_channels output rows, no col2im).
    /// Same FLOPs. At batch 32 with OpenBLAS the layer's backward took 7-16% less time with the
    /// correlation on layers that narrow the channels (32->16 5x5 at 14x14, 64->16, 32->8) and
    /// 1-50% more on every layer that keeps or widens them, where packing its larger column
    /// matrix costs more than col2im saves (docs/results.md#convolution-input-gradient).
    bool dx_by_correlation() const {
        return o_.out_channels < o_.in_channels && o_.padding_h < o_.kernel_h &&
               o_.padding_w < o_.kernel_w;
    }

    void backward_dx_flat(const geometry& g, const T* dyd, T* dxd) {
        const std::size_t kh = o_.kernel_h, kw = o_.kernel_w, kk = kh * kw;
        const std::size_t cg = o_.in_channels / o_.groups, kg = o_.out_channels / o_.groups;
        const std::size_t rows = kg * kk, qh = kh - 1 - o_.padding_h, qw = kw - 1 - o_.padding_w;
        const std::size_t hp = g.oh + 2 * qh, wp = g.ow + 2 * qw, len = (g.h - 1) * wp + g.w;
        const std::size_t ohw = g.oh * g.ow, hw = g.h * g.w;
        // rotated[gr][c][k][a][b] = w[gr * kg + k][c][kh - 1 - a][kw - 1 - b]
        rotated_.resize(o_.groups * cg * rows);
        for (std::size_t gr = 0; gr < o_.groups; ++gr)
            for (std::size_t c = 0; c < cg; ++c)
                for (std::size_t k = 0; k < kg; ++k)
                    for (std::size_t t = 0; t < kk; ++t)
                        rotated_[((gr * cg + c) * kg + k) * kk + t] =
                            w_.data()[((gr * kg + k) * cg + c) * kk + (kk - 1 - t)];
        const std::size_t chunk = image_chunk(o_.out_channels * kk * len * sizeof(T), g.n);
        col_.resize(o_.out_channels * kk * chunk * len);
        dcol_.resize(o_.in_channels * chunk * len);
        if (qh || qw)
            dpad_.resize(o_.out_channels * hp * wp);
        for (std::size_t n0 = 0; n0 < g.n; n0 += chunk) {
            const std::size_t b = std::min(chunk, g.n - n0), ld = b * len;
            for (std::size_t n = n0; n < n0 + b; ++n)
                detail::im2col_flat_padded(dyd + n * o_.out_channels * ohw, o_.out_channels, g.oh,
                                           g.ow, qh, qw, kh, kw, len, col_.data() + (n - n0) * len,
                                           ld, dpad_.data());
            std::fill(dcol_.begin(), dcol_.begin() + o_.in_channels * ld, T(0));
            for (std::size_t gr = 0; gr < o_.groups; ++gr)
                detail::gemm_accumulate(cg, ld, rows, rotated_.data() + gr * cg * rows,
                                        col_.data() + gr * rows * ld, dcol_.data() + gr * cg * ld);
            detail::compact_flat(dcol_.data(), ld, len, wp, o_.in_channels, g.h, g.w, b,
                                 dxd + n0 * o_.in_channels * hw);
        }
    }

    // Implicit GEMM path (stride 1, float, 16 floats per register): the flat path's GEMMs with
    // the rows of its column matrix read in place from the padded input (row (c, ki, kj) is plane
    // c shifted by ki * wp + kj), by the register-tiled kernel of simd_kernels.hpp, so no column
    // matrix is written or read and OpenBLAS (whose packing copies it once more) is not called.
    // Columns are computed in whole registers: an image's flat output gets a pitch of len
    // rounded up to 16, and padded planes 16 values of zero slack, which the last register of a
    // row reads.
    static constexpr std::size_t register_floats = 16;

    bool implicit_gemm() const {
        return flat() && o_.padding_h < o_.kernel_h && o_.padding_w < o_.kernel_w &&
               detail::small_gemm_preferred();
    }

    static std::size_t whole_registers(std::size_t n) {
        return (n + register_floats - 1) / register_floats * register_floats;
    }

    /// offsets_[(c * kh + ki) * kw + kj] = c * plane + ki * wp + kj for c < channels.
    void shifted_rows(std::size_t channels, std::size_t plane, std::size_t wp) {
        offsets_.resize(channels * o_.kernel_h * o_.kernel_w);
        std::size_t r = 0;
        for (std::size_t c = 0; c < channels; ++c)
            for (std::size_t ki = 0; ki < o_.kernel_h; ++ki)
                for (std::size_t kj = 0; kj < o_.kernel_w; ++kj)
                    offsets_[r++] = c * plane + ki * wp + kj;
    }

    /// Copies c planes (h x w) into the interiors of zero-bordered planes (pitch wp, plane
    /// values apart) at row ph, column pw.
    static void pad_into(const T* x, std::size_t c, std::size_t h, std::size_t w, std::size_t ph,
                         std::size_t pw, std::size_t wp, std::size_t plane, T* out) {
        for (std::size_t ci = 0; ci < c; ++ci)
            for (std::size_t i = 0; i < h; ++i) {
                const T* __restrict s = x + (ci * h + i) * w;
                T* __restrict d = out + ci * plane + (i + ph) * wp + pw;
                for (std::size_t j = 0; j < w; ++j)
                    d[j] = s[j];
            }
    }

    /// The valid columns of c flat rows (pitch ld, output rows wp apart) into dense h x w planes.
    static void compact_rows(const T* flat, std::size_t ld, std::size_t wp, std::size_t c,
                             std::size_t h, std::size_t w, T* out) {
        for (std::size_t ci = 0; ci < c; ++ci)
            for (std::size_t i = 0; i < h; ++i) {
                const T* __restrict s = flat + ci * ld + i * wp;
                T* __restrict d = out + (ci * h + i) * w;
                for (std::size_t j = 0; j < w; ++j)
                    d[j] = s[j];
            }
    }

    void forward_implicit(const geometry& g, const T* xd, T* yd) {
        const std::size_t hp = g.h + 2 * o_.padding_h, wp = g.w + 2 * o_.padding_w;
        const std::size_t plane = hp * wp, ld = whole_registers((g.oh - 1) * wp + g.ow);
        const std::size_t cg = o_.in_channels / o_.groups, kg = o_.out_channels / o_.groups;
        const std::size_t rows = cg * o_.kernel_h * o_.kernel_w, ohw = g.oh * g.ow;
        shifted_rows(cg, plane, wp);
        pad_.assign(o_.in_channels * plane + register_floats, T(0)); // borders stay zero
        tmp_.resize(o_.out_channels * ld);
        for (std::size_t n = 0; n < g.n; ++n) {
            pad_into(xd + n * o_.in_channels * g.h * g.w, o_.in_channels, g.h, g.w, o_.padding_h,
                     o_.padding_w, wp, plane, pad_.data());
            for (std::size_t k = 0; k < o_.out_channels; ++k)
                std::fill(tmp_.data() + k * ld, tmp_.data() + (k + 1) * ld,
                          o_.bias ? b_.data()[k] : T(0));
            for (std::size_t gr = 0; gr < o_.groups; ++gr)
                detail::gemm_offset_b(kg, ld, rows, w_.data() + gr * kg * rows, rows,
                                      pad_.data() + gr * cg * plane, offsets_.data(),
                                      tmp_.data() + gr * kg * ld, ld);
            compact_rows(tmp_.data(), ld, wp, o_.out_channels, g.oh, g.ow,
                         yd + n * o_.out_channels * ohw);
        }
    }

    // dW^T (rows x output channels, padded to whole registers) accumulates, per image, the
    // shifted input rows times dy transposed to (flat positions x channels); dx is the forward
    // correlation of dy, padded by kernel - 1 - padding, with the rotated kernel.
    void backward_implicit(const geometry& g, const T* xd, const T* dyd, array<T>* dx) {
        const std::size_t kh = o_.kernel_h, kw = o_.kernel_w, kk = kh * kw;
        const std::size_t hp = g.h + 2 * o_.padding_h, wp = g.w + 2 * o_.padding_w;
        const std::size_t plane = hp * wp, ld = whole_registers((g.oh - 1) * wp + g.ow);
        const std::size_t cg = o_.in_channels / o_.groups, kg = o_.out_channels / o_.groups;
        const std::size_t rows = cg * kk, ohw = g.oh * g.ow, kgp = whole_registers(kg);
        shifted_rows(cg, plane, wp);
        pad_.assign(o_.in_channels * plane + register_floats, T(0));
        dyt_.assign(ld * kgp, T(0)); // junk positions and padding channels stay zero
        gradt_.assign(o_.groups * rows * kgp, T(0));
        for (std::size_t n = 0; n < g.n; ++n) {
            pad_into(xd + n * o_.in_channels * g.h * g.w, o_.in_channels, g.h, g.w, o_.padding_h,
                     o_.padding_w, wp, plane, pad_.data());
            for (std::size_t gr = 0; gr < o_.groups; ++gr) {
                for (std::size_t k = 0; k < kg; ++k) {
                    const T* src = dyd + (n * o_.out_channels + gr * kg + k) * ohw;
                    for (std::size_t i = 0; i < g.oh; ++i)
                        for (std::size_t j = 0; j < g.ow; ++j)
                            dyt_[(i * wp + j) * kgp + k] = src[i * g.ow + j];
                }
                detail::gemm_offset_a(rows, kgp, ld, pad_.data() + gr * cg * plane, offsets_.data(),
                                      dyt_.data(), kgp, gradt_.data() + gr * rows * kgp, kgp);
            }
        }
        for (std::size_t gr = 0; gr < o_.groups; ++gr)
            for (std::size_t k = 0; k < kg; ++k)
                for (std::size_t r = 0; r < rows; ++r)
                    dw_.data()[(gr * kg + k) * rows + r] = gradt_[(gr * rows + r) * kgp + k];
        if (!dx)
            return;
        // dx: rotated[gr][c][k][t] = w[gr * kg + k][c][kk - 1 - t], rows of padded dy in place
        const std::size_t qh = kh - 1 - o_.padding_h, qw = kw - 1 - o_.padding_w;
        const std::size_t hq = g.oh + 2 * qh, wq = g.ow + 2 * qw, plane_q = hq * wq;
        const std::size_t ldq = whole_registers((g.h - 1) * wq + g.w), rows_q = kg * kk;
        rotated_.resize(o_.groups * cg * rows_q);
        for (std::size_t gr = 0; gr < o_.groups; ++gr)
            for (std::size_t c = 0; c < cg; ++c)
                for (std::size_t k = 0; k < kg; ++k)
                    for (std::size_t t = 0; t < kk; ++t)
                        rotated_[((gr * cg + c) * kg + k) * kk + t] =
                            w_.data()[((gr * kg + k) * cg + c) * kk + (kk - 1 - t)];
        shifted_rows(kg, plane_q, wq);
        dpad_.assign(o_.out_channels * plane_q + register_floats, T(0));
        dcol_.resize(o_.in_channels * ldq);
        for (std::size_t n = 0; n < g.n; ++n) {
            pad_into(dyd + n * o_.out_channels * ohw, o_.out_channels, g.oh, g.ow, qh, qw, wq,
                     plane_q, dpad_.data());
            std::fill(dcol_.begin(), dcol_.end(), T(0));
            for (std::size_t gr = 0; gr < o_.groups; ++gr)
                detail::gemm_offset_b(cg, ldq, rows_q, rotated_.data() + gr * cg * rows_q, rows_q,
                                      dpad_.data() + gr * kg * plane_q, offsets_.data(),
                                      dcol_.data() + gr * cg * ldq, ldq);
            compact_rows(dcol_.data(), ldq, wq, o_.in_channels, g.h, g.w,
                         dx->data() + n * o_.in_channels * g.h * g.w);
        }
    }

    void backward_direct(const geometry& g, const T* xd, const T* dyd, array<T>* dx) {
        const std::size_t kg = o_.out_channels / o_.groups, kk = o_.kernel_h * o_.kernel_w;
        const std::size_t ohw = g.oh * g.ow;
        const std::size_t hp = g.h + 2 * o_.padding_h, wp = g.w + 2 * o_.padding_w;
        const std::size_t len = (g.oh - 1) * wp + g.ow;
        pad_.resize(hp * wp);
        flat_.assign(g.oh * wp, T(0)); // junk columns stay zero: they must not contribute
        std::fill(dw_.begin(), dw_.end(), T(0));
        if (dx)
            dpad_.resize(hp * wp);
        for (std::size_t n = 0; n < g.n; ++n) {
            for (std::size_t gr = 0; gr < o_.groups; ++gr) {
                const T* plane = padded(xd + (n * o_.in_channels + gr) * g.h * g.w, g);
                if (dx)
                    std::fill(dpad_.begin(), dpad_.end(), T(0));
                for (std::size_t k = gr * kg; k < (gr + 1) * kg; ++k) {
                    const T* dyk = dyd + (n * o_.out_channels + k) * ohw;
                    if (!unit_stride()) {
                        detail::direct_conv_strided_backward(
                            plane, wp, dyk, g.oh, g.ow, w_.data() + k * kk, o_.kernel_h,
                            o_.kernel_w, o_.stride_h, o_.stride_w, dw_.data() + k * kk,
                            dx ? dpad_.data() : nullptr);
                        continue;
                    }
                    for (std::size_t i = 0; i < g.oh; ++i)
                        std::copy(dyk + i * g.ow, dyk + (i + 1) * g.ow, flat_.data() + i * wp);
                    detail::direct_conv_dw_flat(plane, wp, flat_.data(), len, o_.kernel_h,
                                                o_.kernel_w, dw_.data() + k * kk);
                    if (dx)
                        detail::direct_conv_dx_flat(flat_.data(), len, w_.data() + k * kk,
                                                    o_.kernel_h, o_.kernel_w, dpad_.data(), wp);
                }
                if (!dx)
                    continue;
                T* dst = dx->data() + (n * o_.in_channels + gr) * g.h * g.w;
                for (std::size_t i = 0; i < g.h; ++i)
                    std::copy(dpad_.data() + (i + o_.padding_h) * wp + o_.padding_w,
                              dpad_.data() + (i + o_.padding_h) * wp + o_.padding_w + g.w,
                              dst + i * g.w);
            }
        }
    }

    conv2d_options o_;
    bool allocated_ = false;
    array<T> w_, dw_, b_, db_;
    // Scratch reused across calls (sized on first use, so steady state allocates nothing).
    std::vector<T> col_, dcol_, tmp_, pad_, dpad_, acc_, flat_, rotated_, dyt_, gradt_;
    std::vector<std::size_t> offsets_;
};

static_assert(layer<conv2d<float>>);
static_assert(describable_layer<conv2d<double>>);

} // namespace xnas::nn
