#pragma once
// Image augmentation on a batch (N, C, H, W) in place: random crop with zero padding (pad by p,
// crop back to H x W, i.e. a random shift in [-p, p]^2 with zeros shifted in) and random
// horizontal flip, as in the CIFAR training recipe of He et al., 2016 (arXiv:1512.03385).

#include <algorithm>
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
/// uncovered pixels with 0: out(r, q) = in(r - dy, q - dx). Equals cropping H x W at offset
/// (p - dy, p - dx) from the image zero-padded by p. Throws xnas::shape_error for an array that
/// is not 4-d.
template <class T>
void shift(nn::array<T>& x, std::size_t i, std::ptrdiff_t dy, std::ptrdiff_t dx) {
    detail::check_image(x, i, "shift");
    const std::size_t c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
    const auto sh = static_cast<std::ptrdiff_t>(h), sw = static_cast<std::ptrdiff_t>(w);
    T* img = x.data() + i * c * h * w;
    if (dy <= -sh || dy >= sh || dx <= -sw || dx >= sw) {
        std::fill(img, img + c * h * w, T(0));
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
                std::fill(dst, dst + w, T(0));
                continue;
            }
            std::memmove(dst + q0, plane + src_r * sw + s0, len * sizeof(T));
            std::fill(dst, dst + q0, T(0));
            std::fill(dst + q0 + len, dst + w, T(0));
        }
    }
}

/// Random crop with zero padding: each image is padded by `pad` pixels of 0 on every side and
/// cropped back to H x W at a uniform offset, i.e. shift() by (dy, dx) uniform in [-pad, pad].
/// Draws two numbers per image from g (dy then dx).
template <class T>
void random_crop(nn::array<T>& x, std::size_t pad, rng& g) {
    detail::check_images(x, "random_crop");
    if (pad == 0)
        return;
    const auto p = static_cast<std::int64_t>(pad);
    for (std::size_t i = 0; i < x.shape()[0]; ++i) {
        const auto dy = static_cast<std::ptrdiff_t>(g.between(-p, p));
        const auto dx = static_cast<std::ptrdiff_t>(g.between(-p, p));
        if (dy != 0 || dx != 0)
            shift(x, i, dy, dx);
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

/// random_crop then random_flip on a batch (N, C, H, W) in place, as options say. Same g state,
/// same result.
template <class T>
void augment(nn::array<T>& x, const augment_options& options, rng& g) {
    random_crop(x, options.crop_padding, g);
    if (options.flip_probability > 0)
        random_flip(x, g, options.flip_probability);
}

} // namespace xnas::data
