#pragma once
// Element-wise kernels shared by the recurrent layers (nn::lstm, nn::gru): in-place logistic
// sigmoid and tanh over contiguous runs, vectorised with xsimd when xtensor uses it (libm's
// scalar exp/tanh otherwise dominate a recurrent step's time).

#include <cmath>
#include <cstddef>

#if defined(XTENSOR_USE_XSIMD)
#include <xsimd/xsimd.hpp>
#endif

namespace xnas::nn::detail {

/// p[i] = 1 / (1 + exp(-p[i])) for i < n. Saturates to exactly 0 or 1, never NaN, for huge |p|.
template <class T>
void sigmoid_inplace(T* p, std::size_t n) {
    std::size_t i = 0;
#if defined(XTENSOR_USE_XSIMD)
    using batch = xsimd::batch<T>;
    for (; i + batch::size <= n; i += batch::size) {
        const batch v = batch::load_unaligned(p + i);
        (batch(T(1)) / (batch(T(1)) + xsimd::exp(-v))).store_unaligned(p + i);
    }
#endif
    for (; i < n; ++i)
        p[i] = T(1) / (T(1) + std::exp(-p[i]));
}

/// out[i] = tanh(in[i]) for i < n; in and out may be the same array.
template <class T>
void tanh_to(const T* in, T* out, std::size_t n) {
    std::size_t i = 0;
#if defined(XTENSOR_USE_XSIMD)
    using batch = xsimd::batch<T>;
    for (; i + batch::size <= n; i += batch::size)
        xsimd::tanh(batch::load_unaligned(in + i)).store_unaligned(out + i);
#endif
    for (; i < n; ++i)
        out[i] = std::tanh(in[i]);
}

} // namespace xnas::nn::detail
