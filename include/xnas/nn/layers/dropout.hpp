#pragma once
// nn::dropout, inverted dropout (Srivastava et al., 2014, JMLR 15): in train mode each element
// is zeroed with probability p and the survivors scaled by 1 / (1 - p), so eval mode is the
// identity. The mask comes from the layer's own seeded xnas::rng.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

/// Inverted dropout with drop probability p in [0, 1). Copying the layer copies its generator,
/// so a copy draws the same masks. spec(): type "dropout"; attributes p and seed (the seed the
/// layer was built with; a rebuilt layer restarts that stream).
template <class T = float>
class dropout {
  public:
    using value_type = T;

    explicit dropout(double p = 0.5, std::uint64_t seed = 0)
        : p_(p)
        , seed_(seed)
        , rng_(seed) {
        if (!(p >= 0.0 && p < 1.0))
            throw std::invalid_argument("xnas::nn::dropout: p = " + std::to_string(p) +
                                        ", expected 0 <= p < 1");
    }

    void forward(const array<T>& x, array<T>& y, mode m) {
        ensure_shape(y, {x.shape().begin(), x.shape().end()});
        const std::size_t n = x.size();
        const T* xd = x.data();
        T* yd = y.data();
        train_ = m == mode::train && p_ > 0.0;
        if (!train_) {
            std::copy(xd, xd + n, yd);
            return;
        }
        mask_.resize(n);
        const T keep_scale = static_cast<T>(1.0 / (1.0 - p_));
        // Each 64-bit draw gives two 32-bit uniforms, compared against p * 2^32 (p resolved to
        // 2^-32, far below any dropout rate's precision; half the generator calls).
        const auto threshold = static_cast<std::uint64_t>(p_ * 4294967296.0);
        std::size_t i = 0;
        for (; i + 1 < n; i += 2) {
            const std::uint64_t r = rng_();
            mask_[i] = (r & 0xFFFFFFFFu) < threshold ? T(0) : keep_scale;
            mask_[i + 1] = (r >> 32) < threshold ? T(0) : keep_scale;
        }
        if (i < n)
            mask_[i] = (rng_() & 0xFFFFFFFFu) < threshold ? T(0) : keep_scale;
        const T* md = mask_.data();
        for (std::size_t i = 0; i < n; ++i)
            yd[i] = xd[i] * md[i];
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        if (!dx)
            return;
        if (dy.size() != x.size() || (train_ && mask_.size() != x.size()))
            throw shape_error("xnas::nn::dropout::backward: dy has " + std::to_string(dy.size()) +
                              " elements, expected " + std::to_string(x.size()) +
                              " (call forward on the same x first)");
        ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        const std::size_t n = dy.size();
        const T* dyd = dy.data();
        T* dxd = dx->data();
        if (!train_) {
            std::copy(dyd, dyd + n, dxd);
            return;
        }
        const T* md = mask_.data();
        for (std::size_t i = 0; i < n; ++i)
            dxd[i] = dyd[i] * md[i];
    }

    std::vector<parameter<T>> parameters() { return {}; }
    shape output_shape(const shape& in) const { return in; }
    std::size_t parameter_count() const { return 0; }
    std::size_t flops(const shape& in) const { return volume(in); }
    layer_spec spec() const {
        return {"dropout", {{"p", spec_real(p_)}, {"seed", std::to_string(seed_)}}};
    }
    double p() const { return p_; }

  private:
    double p_;
    std::uint64_t seed_;
    rng rng_;
    bool train_ = false; ///< whether the last forward applied a mask
    std::vector<T> mask_;
};

static_assert(describable_layer<dropout<float>>);

} // namespace xnas::nn
