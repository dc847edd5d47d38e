#pragma once
// xtensor aliases for the training core. Every other header reaches xtensor through this one,
// so a move to xtensor 0.26+ include paths is one edit. Only the containers: layers work on
// the contiguous buffers, and views, adaptors and the math functions would cost every user's
// translation unit compile time for nothing (include them where you use them).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

namespace xnas::nn {

/// Activations crossing a layer boundary: row-major, batch first, any rank (dense: (N, F);
/// conv: (N, C, H, W); recurrent: (N, T, F)). Dynamic rank lets a run-time architecture chain
/// layers of different ranks; the kernels inside layers work on the contiguous buffer.
template <class T>
using array = xt::xarray<T, xt::layout_type::row_major>;

/// Fixed-rank tensor for buffers whose rank is known.
template <class T, std::size_t N>
using tensor = xt::xtensor<T, N, xt::layout_type::row_major>;

/// Shape of one sample, batch dimension excluded: {features}, {C, H, W}, {T, F}.
using shape = std::vector<std::size_t>;

/// Number of elements in a per-sample shape.
inline std::size_t volume(const shape& s) {
    std::size_t n = 1;
    for (auto d : s)
        n *= d;
    return n;
}

/// Whether an array of T of shape `s` can exist: its element count neither overflows size_t
/// nor exceeds PTRDIFF_MAX / sizeof(T), the most an allocation, and xtensor's signed strides,
/// can hold. Layers check their weights with it when constructed, since a damaged or hostile
/// size (a saved model's header) would otherwise wrap and be allocated at its wrapped size.
template <class T>
bool fits_in_array(const shape& s) {
    const std::size_t max = static_cast<std::size_t>(PTRDIFF_MAX) / sizeof(T);
    std::size_t n = 1;
    for (auto d : s) {
        if (d != 0 && n > max / d)
            return false;
        n *= d;
    }
    return true;
}

/// "(1, 28, 28)" for messages.
inline std::string to_string(const shape& s) {
    std::string out = "(";
    for (std::size_t i = 0; i < s.size(); ++i)
        out += (i ? ", " : "") + std::to_string(s[i]);
    return out + ")";
}

/// Resize `a` to the given full shape only if it differs, so steady-state training allocates
/// nothing.
template <class T>
void ensure_shape(array<T>& a, const std::vector<std::size_t>& full_shape) {
    if (a.dimension() != full_shape.size() ||
        !std::equal(full_shape.begin(), full_shape.end(), a.shape().begin()))
        a.resize(full_shape);
}

/// Batch-first shape: {n} followed by the sample shape.
inline std::vector<std::size_t> with_batch(std::size_t n, const shape& sample) {
    std::vector<std::size_t> s;
    s.reserve(sample.size() + 1);
    s.push_back(n);
    s.insert(s.end(), sample.begin(), sample.end());
    return s;
}

} // namespace xnas::nn
