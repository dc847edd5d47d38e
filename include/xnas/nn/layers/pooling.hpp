#pragma once
// Spatial pooling on (N, C, H, W) batches: nn::max_pool2d (remembers where each maximum came
// from), nn::avg_pool2d, and nn::global_avg_pool (to (N, C)).

#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/detail/conv.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

/// Window of a 2-D pooling layer; stride 0 means "equal to the kernel" (PyTorch's default).
struct pool2d_options {
    std::size_t kernel_h = 2, kernel_w = 2;
    std::size_t stride_h = 0, stride_w = 0;
    std::size_t padding_h = 0, padding_w = 0;
};

namespace detail {

/// Shared geometry and checks of the 2-D pooling layers.
class pool2d_geometry {
  public:
    pool2d_geometry(const pool2d_options& o, const char* name)
        : o_(o)
        , name_(name) {
        if (o_.stride_h == 0)
            o_.stride_h = o_.kernel_h;
        if (o_.stride_w == 0)
            o_.stride_w = o_.kernel_w;
        if (o_.kernel_h == 0 || o_.kernel_w == 0)
            throw std::invalid_argument(
                std::string("xnas::nn::") + name + ": kernel must be positive, got " +
                std::to_string(o.kernel_h) + "x" + std::to_string(o.kernel_w));
        if (2 * o_.padding_h > o_.kernel_h || 2 * o_.padding_w > o_.kernel_w)
            throw std::invalid_argument(
                std::string("xnas::nn::") + name + ": padding " + std::to_string(o.padding_h) +
                "x" + std::to_string(o.padding_w) + " exceeds half the kernel " +
                std::to_string(o.kernel_h) + "x" + std::to_string(o.kernel_w));
    }

    shape output_shape(const shape& in) const {
        if (in.size() != 3 || in[1] + 2 * o_.padding_h < o_.kernel_h ||
            in[2] + 2 * o_.padding_w < o_.kernel_w)
            throw shape_error(std::string("xnas::nn::") + name_ + ": input has shape " +
                              to_string(in) + ", layer expects " + expected());
        return {in[0], out_size(in[1], o_.kernel_h, o_.stride_h, o_.padding_h),
                out_size(in[2], o_.kernel_w, o_.stride_w, o_.padding_w)};
    }

    /// (C, H, W, OH, OW) after checking a batch; N is x.shape()[0].
    template <class T>
    shape check(const array<T>& x, const char* fn) const {
        if (x.dimension() != 4)
            throw shape_error(std::string("xnas::nn::") + name_ + "::" + fn + ": input has rank " +
                              std::to_string(x.dimension()) + ", layer expects " + expected());
        const auto& s = x.shape();
        const shape out = output_shape({s[1], s[2], s[3]});
        return {s[1], s[2], s[3], out[1], out[2]};
    }

    std::map<std::string, std::string> attributes() const {
        const auto s = [](std::size_t v) { return std::to_string(v); };
        return {{"kernel_h", s(o_.kernel_h)},   {"kernel_w", s(o_.kernel_w)},
                {"stride_h", s(o_.stride_h)},   {"stride_w", s(o_.stride_w)},
                {"padding_h", s(o_.padding_h)}, {"padding_w", s(o_.padding_w)}};
    }

    const pool2d_options& options() const { return o_; }

  private:
    static std::size_t out_size(std::size_t in, std::size_t k, std::size_t s, std::size_t p) {
        return (in + 2 * p - k) / s + 1;
    }
    std::string expected() const {
        return "(N, C, H >= " + std::to_string(o_.kernel_h - 2 * o_.padding_h) +
               ", W >= " + std::to_string(o_.kernel_w - 2 * o_.padding_w) + ")";
    }

    pool2d_options o_;
    const char* name_;
};

} // namespace detail

/// Max pooling over kernel_h x kernel_w windows (padding counts as -infinity). Forward records
/// the input position of each maximum (the first one on ties), backward routes dy there.
/// spec(): type "max_pool2d"; attributes kernel_h, kernel_w, stride_h, stride_w, padding_h,
/// padding_w.
template <class T = float>
class max_pool2d {
  public:
    using value_type = T;

    explicit max_pool2d(const pool2d_options& o)
        : g_(o, "max_pool2d") {}
    /// Square window; stride 0 means stride = kernel.
    explicit max_pool2d(std::size_t kernel = 2, std::size_t stride = 0, std::size_t padding = 0)
        : max_pool2d(pool2d_options{kernel, kernel, stride, stride, padding, padding}) {}

    void forward(const array<T>& x, array<T>& y, mode) {
        const shape s = g_.check(x, "forward");
        const std::size_t n = x.shape()[0], c = s[0], h = s[1], w = s[2], oh = s[3], ow = s[4];
        ensure_shape(y, {n, c, oh, ow});
        argmax_.resize(n * c * oh * ow);
        const auto& o = g_.options();
        const T* xd = x.data();
        T* yd = y.data();
        std::uint32_t* am = argmax_.data();
        const bool fast2 = o.kernel_h == 2 && o.kernel_w == 2 && o.stride_h == 2 &&
                           o.stride_w == 2 && o.padding_h == 0 && o.padding_w == 0;
        for (std::size_t p = 0; p < n * c; ++p) {
            const T* plane = xd + p * h * w;
            T* yp = yd + p * oh * ow;
            std::uint32_t* ap = am + p * oh * ow;
            if (fast2) {
                // The common 2x2/2 window: branch-free (data-dependent branches mispredict
                // half the time), first maximum in row-major order on ties.
                for (std::size_t i = 0; i < oh; ++i) {
                    const T* __restrict r0 = plane + 2 * i * w;
                    const T* __restrict r1 = r0 + w;
                    T* __restrict yr = yp + i * ow;
                    std::uint32_t* __restrict ar = ap + i * ow;
                    const auto base = static_cast<std::uint32_t>(2 * i * w);
                    const auto down = static_cast<std::uint32_t>(w);
                    for (std::size_t j = 0; j < ow; ++j) {
                        const T a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
                        const auto ia = base + static_cast<std::uint32_t>(2 * j);
                        // comparisons as 0/1 integers so the compiler emits no branch
                        const auto top_right = static_cast<std::uint32_t>(b > a);
                        const auto bottom_right = static_cast<std::uint32_t>(d > c);
                        const T m1 = b > a ? b : a, m2 = d > c ? d : c;
                        const std::uint32_t i1 = ia + top_right;
                        const std::uint32_t i2 = ia + down + bottom_right;
                        const auto bottom = static_cast<std::uint32_t>(m2 > m1);
                        yr[j] = m2 > m1 ? m2 : m1;
                        ar[j] = i1 + bottom * (i2 - i1);
                    }
                }
                continue;
            }
            for (std::size_t i = 0; i < oh; ++i) {
                for (std::size_t j = 0; j < ow; ++j) {
                    T v = -std::numeric_limits<T>::infinity();
                    std::uint32_t best = 0;
                    bool any = false;
                    for (std::size_t ki = 0; ki < o.kernel_h; ++ki) {
                        const std::size_t ih = i * o.stride_h + ki;
                        if (ih < o.padding_h || ih - o.padding_h >= h)
                            continue;
                        for (std::size_t kj = 0; kj < o.kernel_w; ++kj) {
                            const std::size_t iw = j * o.stride_w + kj;
                            if (iw < o.padding_w || iw - o.padding_w >= w)
                                continue;
                            const std::size_t idx = (ih - o.padding_h) * w + iw - o.padding_w;
                            if (!any || plane[idx] > v) {
                                v = plane[idx];
                                best = static_cast<std::uint32_t>(idx);
                                any = true;
                            }
                        }
                    }
                    yp[i * ow + j] = v;
                    ap[i * ow + j] = best;
                }
            }
        }
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        if (!dx)
            return;
        const shape s = g_.check(x, "backward");
        const std::size_t n = x.shape()[0], c = s[0], hw = s[1] * s[2], ohw = s[3] * s[4];
        if (dy.size() != n * c * ohw || argmax_.size() != dy.size())
            throw shape_error("xnas::nn::max_pool2d::backward: dy has " +
                              std::to_string(dy.size()) + " elements, expected " +
                              std::to_string(n * c * ohw) + " (call forward on the same x first)");
        ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        T* dxd = dx->data();
        const T* dyd = dy.data();
        const std::uint32_t* am = argmax_.data();
        // Zero-fill then scatter, plane by plane so each plane is still in L1 for its scatter
        // (measured faster than writing each 2x2 window's four values once).
        for (std::size_t p = 0; p < n * c; ++p) {
            T* plane = dxd + p * hw;
            std::fill(plane, plane + hw, T(0));
            for (std::size_t q = 0; q < ohw; ++q)
                plane[am[p * ohw + q]] += dyd[p * ohw + q];
        }
    }

    std::vector<parameter<T>> parameters() { return {}; }
    shape output_shape(const shape& in) const { return g_.output_shape(in); }
    std::size_t parameter_count() const { return 0; }
    /// One comparison per window element.
    std::size_t flops(const shape& in) const {
        const auto& o = g_.options();
        return volume(output_shape(in)) * o.kernel_h * o.kernel_w;
    }
    layer_spec spec() const { return {"max_pool2d", g_.attributes()}; }
    const pool2d_options& options() const { return g_.options(); }

  private:
    detail::pool2d_geometry g_;
    std::vector<std::uint32_t> argmax_; ///< per output: index of the maximum in its input plane
};

/// Average pooling over kernel_h x kernel_w windows. With count_include_pad (PyTorch's default)
/// a window always divides by kernel_h * kernel_w; without it, by the number of real inputs it
/// covers (NAS-Bench-201's avg_pool_3x3 uses stride 1, padding 1, count_include_pad false).
/// spec(): type "avg_pool2d"; attributes kernel_h, kernel_w, stride_h, stride_w, padding_h,
/// padding_w, count_include_pad ("1"/"0").
template <class T = float>
class avg_pool2d {
  public:
    using value_type = T;

    explicit avg_pool2d(const pool2d_options& o, bool count_include_pad = true)
        : g_(o, "avg_pool2d")
        , include_pad_(count_include_pad) {}
    /// Square window; stride 0 means stride = kernel.
    explicit avg_pool2d(std::size_t kernel = 2, std::size_t stride = 0, std::size_t padding = 0,
                        bool count_include_pad = true)
        : avg_pool2d(pool2d_options{kernel, kernel, stride, stride, padding, padding},
                     count_include_pad) {}

    void forward(const array<T>& x, array<T>& y, mode) {
        const shape s = g_.check(x, "forward");
        const std::size_t n = x.shape()[0], c = s[0], h = s[1], w = s[2], oh = s[3], ow = s[4];
        ensure_shape(y, {n, c, oh, ow});
        prepare_scale(h, w, oh, ow);
        const auto& o = g_.options();
        const T* xd = x.data();
        T* yd = y.data();
        for (std::size_t p = 0; p < n * c; ++p) {
            const T* plane = xd + p * h * w;
            T* yp = yd + p * oh * ow;
            std::fill(yp, yp + oh * ow, T(0));
            for (std::size_t i = 0; i < oh; ++i) {
                T* yr = yp + i * ow;
                for (std::size_t ki = 0; ki < o.kernel_h; ++ki) {
                    const std::size_t ih = i * o.stride_h + ki;
                    if (ih < o.padding_h || ih - o.padding_h >= h)
                        continue;
                    const T* xr = plane + (ih - o.padding_h) * w;
                    for (std::size_t kj = 0; kj < o.kernel_w; ++kj) {
                        std::size_t lo, hi;
                        detail::valid_range(w, kj, o.stride_w, o.padding_w, ow, lo, hi);
                        for (std::size_t j = lo; j < hi; ++j)
                            yr[j] += xr[j * o.stride_w + kj - o.padding_w];
                    }
                }
            }
            for (std::size_t q = 0; q < oh * ow; ++q)
                yp[q] *= scale_[q];
        }
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        if (!dx)
            return;
        const shape s = g_.check(x, "backward");
        const std::size_t n = x.shape()[0], c = s[0], h = s[1], w = s[2], oh = s[3], ow = s[4];
        if (dy.size() != n * c * oh * ow)
            throw shape_error("xnas::nn::avg_pool2d::backward: dy has " +
                              std::to_string(dy.size()) + " elements, expected " +
                              std::to_string(n * c * oh * ow));
        ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        prepare_scale(h, w, oh, ow);
        const auto& o = g_.options();
        T* dxd = dx->data();
        std::fill(dxd, dxd + dx->size(), T(0));
        for (std::size_t p = 0; p < n * c; ++p) {
            T* plane = dxd + p * h * w;
            const T* dyp = dy.data() + p * oh * ow;
            for (std::size_t i = 0; i < oh; ++i) {
                const T* dyr = dyp + i * ow;
                const T* sr = scale_.data() + i * ow;
                for (std::size_t ki = 0; ki < o.kernel_h; ++ki) {
                    const std::size_t ih = i * o.stride_h + ki;
                    if (ih < o.padding_h || ih - o.padding_h >= h)
                        continue;
                    T* xr = plane + (ih - o.padding_h) * w;
                    for (std::size_t kj = 0; kj < o.kernel_w; ++kj) {
                        std::size_t lo, hi;
                        detail::valid_range(w, kj, o.stride_w, o.padding_w, ow, lo, hi);
                        for (std::size_t j = lo; j < hi; ++j)
                            xr[j * o.stride_w + kj - o.padding_w] += dyr[j] * sr[j];
                    }
                }
            }
        }
    }

    std::vector<parameter<T>> parameters() { return {}; }
    shape output_shape(const shape& in) const { return g_.output_shape(in); }
    std::size_t parameter_count() const { return 0; }
    /// One addition per window element, one multiply per output.
    std::size_t flops(const shape& in) const {
        const auto& o = g_.options();
        return volume(output_shape(in)) * (o.kernel_h * o.kernel_w + 1);
    }
    layer_spec spec() const {
        auto a = g_.attributes();
        // A char, not a string literal: GCC 12 flags assigning "1"/"0" here with a false
        // -Wrestrict (GCC bug 105329).
        a["count_include_pad"] = std::string(1, include_pad_ ? '1' : '0');
        return {"avg_pool2d", a};
    }
    const pool2d_options& options() const { return g_.options(); }
    bool count_include_pad() const { return include_pad_; }

  private:
    /// 1 / (divisor of each output position), recomputed only when the geometry changes.
    void prepare_scale(std::size_t h, std::size_t w, std::size_t oh, std::size_t ow) {
        if (scale_h_ == h && scale_w_ == w && scale_.size() == oh * ow)
            return;
        const auto& o = g_.options();
        scale_.assign(oh * ow, T(0));
        for (std::size_t i = 0; i < oh; ++i) {
            for (std::size_t j = 0; j < ow; ++j) {
                std::size_t count = o.kernel_h * o.kernel_w;
                if (!include_pad_) {
                    std::size_t rows = 0, cols = 0;
                    for (std::size_t ki = 0; ki < o.kernel_h; ++ki) {
                        const std::size_t ih = i * o.stride_h + ki;
                        rows += ih >= o.padding_h && ih - o.padding_h < h;
                    }
                    for (std::size_t kj = 0; kj < o.kernel_w; ++kj) {
                        const std::size_t iw = j * o.stride_w + kj;
                        cols += iw >= o.padding_w && iw - o.padding_w < w;
                    }
                    count = rows * cols;
                }
                scale_[i * ow + j] = T(1) / static_cast<T>(count);
            }
        }
        scale_h_ = h;
        scale_w_ = w;
    }

    detail::pool2d_geometry g_;
    bool include_pad_;
    std::vector<T> scale_;
    std::size_t scale_h_ = 0, scale_w_ = 0;
};

/// Mean over all spatial positions: (N, C, H, W) -> (N, C).
/// spec(): type "global_avg_pool", no attributes.
template <class T = float>
class global_avg_pool {
  public:
    using value_type = T;

    void forward(const array<T>& x, array<T>& y, mode) {
        const std::size_t n = check(x, "forward"), c = x.shape()[1];
        const std::size_t hw = x.shape()[2] * x.shape()[3];
        ensure_shape(y, {n, c});
        const T inv = T(1) / static_cast<T>(hw);
        for (std::size_t p = 0; p < n * c; ++p)
            y.data()[p] = detail::sum(x.data() + p * hw, hw) * inv;
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        if (!dx)
            return;
        const std::size_t n = check(x, "backward"), c = x.shape()[1];
        const std::size_t hw = x.shape()[2] * x.shape()[3];
        if (dy.size() != n * c)
            throw shape_error("xnas::nn::global_avg_pool::backward: dy has " +
                              std::to_string(dy.size()) + " elements, expected " +
                              std::to_string(n * c));
        ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        const T inv = T(1) / static_cast<T>(hw);
        for (std::size_t p = 0; p < n * c; ++p)
            std::fill(dx->data() + p * hw, dx->data() + (p + 1) * hw, dy.data()[p] * inv);
    }

    std::vector<parameter<T>> parameters() { return {}; }
    shape output_shape(const shape& in) const {
        if (in.size() != 3 || in[1] == 0 || in[2] == 0)
            throw shape_error("xnas::nn::global_avg_pool: input has shape " + to_string(in) +
                              ", layer expects (N, C, H, W) with H, W > 0");
        return {in[0]};
    }
    std::size_t parameter_count() const { return 0; }
    std::size_t flops(const shape& in) const { return volume(in) + output_shape(in)[0]; }
    layer_spec spec() const { return {"global_avg_pool", {}}; }

  private:
    std::size_t check(const array<T>& x, const char* fn) const {
        if (x.dimension() != 4 || x.shape()[2] == 0 || x.shape()[3] == 0) {
            std::string got = "(";
            for (std::size_t i = 0; i < x.dimension(); ++i)
                got += (i ? ", " : "") + std::to_string(x.shape()[i]);
            throw shape_error(std::string("xnas::nn::global_avg_pool::") + fn +
                              ": input has shape " + got +
                              "), layer expects (N, C, H, W) with H, W > 0");
        }
        return x.shape()[0];
    }
};

static_assert(describable_layer<max_pool2d<float>>);
static_assert(describable_layer<avg_pool2d<float>>);
static_assert(describable_layer<global_avg_pool<float>>);

} // namespace xnas::nn
