#pragma once
// Image augmentation on a batch (N, C, H, W) in place: random crop with padding (pad by p, crop
// back to H x W, i.e. a random shift in [-p, p]^2 with a fill value shifted in) and random
// horizontal flip, as in the CIFAR training recipe of He et al., 2016 (arXiv:1512.03385), and
// random erasing of a rectangle (Zhong et al., 2017, arXiv:1708.04896).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/nn/tensor.hpp>

namespace xnas::data {

/// What augment() does to each image.
struct augment_options {
    std::size_t crop_padding = 0;  ///< p: shift by up to p pixels each way (0: no crop)
    double flip_probability = 0.5; ///< chance of a horizontal flip (0: never)
    /// The value the crop shifts in. Padding should look like the background, so for normalised
    /// images this is a black pixel's normalised value, (0 - mean) / std, not 0 (which is the
    /// mean, a grey frame around every shifted image).
    double fill = 0;
    double erase_probability = 0; ///< chance of erasing a rectangle of an image (0: never)
    /// Erased pixels are drawn uniformly from [erase_low, erase_high]: the data's value range.
    double erase_low = 0, erase_high = 1;
};

namespace detail {

template <class T>
void check_images(const nn::array<T>& x, const char* fn) {
    if (x.dimension() != 4)
        throw shape_error(std::string("xnas::data::") + fn +
                          ": expected a batch of images (N, C, "
                          "H, W), got shape " +
                          nn::to_string({x.shape().begin(), x.shape().end()}));
}

template <class T>
void check_image(const nn::array<T>& x, std::size_t i, const char* fn) {
    check_images(x, fn);
    if (i >= x.shape()[0])
        throw std::out_of_range(std::string("xnas::data::") + fn + ": image " + std::to_string(i) +
                                " is out of range for a batch of " + std::to_string(x.shape()[0]));
}

} // namespace detail

/// Mirrors image i of x (N, C, H, W) left to right, every channel. Applying it twice is the
/// identity. Throws xnas::shape_error for an array that is not 4-d.
template <class T>
void flip_horizontal(nn::array<T>& x, std::size_t i) {
    detail::check_image(x, i, "flip_horizontal");
    const std::size_t c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
    T* img = x.data() + i * c * h * w;
    for (std::size_t r = 0; r < c * h; ++r)
        std::reverse(img + r * w, img + (r + 1) * w);
}

/// Shifts image i of x (N, C, H, W) by dy rows down and dx columns right, in place, filling
/// uncovered pixels with `fill`: out(r, q) = in(r - dy, q - dx). Equals cropping H x W at offset
/// (p - dy, p - dx) from the image padded by p pixels of `fill`. Throws xnas::shape_error for an
/// array that is not 4-d.
template <class T>
void shift(nn::array<T>& x, std::size_t i, std::ptrdiff_t dy, std::ptrdiff_t dx, T fill = T(0)) {
    detail::check_image(x, i, "shift");
    const std::size_t c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
    const auto sh = static_cast<std::ptrdiff_t>(h), sw = static_cast<std::ptrdiff_t>(w);
    T* img = x.data() + i * c * h * w;
    if (dy <= -sh || dy >= sh || dx <= -sw || dx >= sw) {
        std::fill(img, img + c * h * w, fill);
        return;
    }
    // Columns that receive data: [q0, q0 + len), from source columns [q0 - dx, ...).
    const std::size_t q0 = static_cast<std::size_t>(std::max<std::ptrdiff_t>(dx, 0));
    const std::size_t len = w - static_cast<std::size_t>(dx < 0 ? -dx : dx);
    const std::size_t s0 = static_cast<std::size_t>(dx < 0 ? -dx : 0);
    for (std::size_t ch = 0; ch < c; ++ch) {
        T* plane = img + ch * h * w;
        // Walk rows against the shift so a source row is read before it is overwritten.
        for (std::ptrdiff_t k = 0; k < sh; ++k) {
            const std::ptrdiff_t r = dy > 0 ? sh - 1 - k : k;
            T* dst = plane + r * sw;
            const std::ptrdiff_t src_r = r - dy;
            if (src_r < 0 || src_r >= sh) {
                std::fill(dst, dst + w, fill);
                continue;
            }
            std::memmove(dst + q0, plane + src_r * sw + s0, len * sizeof(T));
            std::fill(dst, dst + q0, fill);
            std::fill(dst + q0 + len, dst + w, fill);
        }
    }
}

/// Random crop with padding: each image is padded by `pad` pixels of `fill` on every side and
/// cropped back to H x W at a uniform offset, i.e. shift() by (dy, dx) uniform in [-pad, pad].
/// Draws two numbers per image from g (dy then dx).
template <class T>
void random_crop(nn::array<T>& x, std::size_t pad, rng& g, T fill = T(0)) {
    detail::check_images(x, "random_crop");
    if (pad == 0)
        return;
    const auto p = static_cast<std::int64_t>(pad);
    for (std::size_t i = 0; i < x.shape()[0]; ++i) {
        const auto dy = static_cast<std::ptrdiff_t>(g.between(-p, p));
        const auto dx = static_cast<std::ptrdiff_t>(g.between(-p, p));
        if (dy != 0 || dx != 0)
            shift(x, i, dy, dx, fill);
    }
}

/// Flips each image horizontally with probability p (one draw per image from g).
template <class T>
void random_flip(nn::array<T>& x, rng& g, double p = 0.5) {
    detail::check_images(x, "random_flip");
    for (std::size_t i = 0; i < x.shape()[0]; ++i)
        if (g.bernoulli(p))
            flip_horizontal(x, i);
}

/// Random erasing (Zhong et al., 2017): with probability p, each image gets one rectangle, the
/// same in every channel, replaced by values uniform in [low, high]. The rectangle covers a
/// uniform 2 % to 40 % of the image (the paper's range) with an aspect ratio in [0.3, 1 / 0.3],
/// drawn log-uniformly as torchvision's RandomErasing does, so tall and wide are equally likely;
/// a draw that does not fit is redrawn, up to 10 times, then the image is left alone. Draws
/// from g only for the images it erases, after one Bernoulli draw each.
template <class T>
void random_erase(nn::array<T>& x, rng& g, double p, double low = 0, double high = 1) {
    detail::check_images(x, "random_erase");
    if (!(high >= low))
        throw std::invalid_argument("xnas::data::random_erase: high (" + std::to_string(high) +
                                    ") < low (" + std::to_string(low) + ")");
    const std::size_t c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
    const double area = static_cast<double>(h * w);
    for (std::size_t i = 0; i < x.shape()[0]; ++i) {
        if (!g.bernoulli(p))
            continue;
        for (int attempt = 0; attempt < 10; ++attempt) {
            const double target = g.uniform(0.02, 0.4) * area;
            const double aspect = std::exp(g.uniform(std::log(0.3), -std::log(0.3)));
            const auto eh = static_cast<std::size_t>(std::lround(std::sqrt(target * aspect)));
            const auto ew = static_cast<std::size_t>(std::lround(std::sqrt(target / aspect)));
            if (eh == 0 || ew == 0 || eh >= h || ew >= w)
                continue;
            const auto top = static_cast<std::size_t>(g.between(0, std::int64_t(h - eh)));
            const auto left = static_cast<std::size_t>(g.between(0, std::int64_t(w - ew)));
            for (std::size_t ch = 0; ch < c; ++ch)
                for (std::size_t r = top; r < top + eh; ++r) {
                    T* row = x.data() + ((i * c + ch) * h + r) * w;
                    for (std::size_t q = left; q < left + ew; ++q)
                        row[q] = static_cast<T>(g.uniform(low, high));
                }
            break;
        }
    }
}

/// random_crop, random_flip then random_erase on a batch (N, C, H, W) in place, as options say.
/// Same g state, same result.
template <class T>
void augment(nn::array<T>& x, const augment_options& options, rng& g) {
    random_crop(x, options.crop_padding, g, static_cast<T>(options.fill));
    if (options.flip_probability > 0)
        random_flip(x, g, options.flip_probability);
    if (options.erase_probability > 0)
        random_erase(x, g, options.erase_probability, options.erase_low, options.erase_high);
}

} // namespace xnas::data
