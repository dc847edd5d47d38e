#pragma once
// nn::gru, a single-layer unidirectional GRU (Cho et al., 2014, arXiv:1406.1078) over
// (N, T, F) batches with PyTorch's parameter layout and gate equations, and full
// backpropagation through time: the GRU cell's equations on the recurrent scaffold of
// nn/detail/recurrent.hpp. Per time step the hidden projection of the whole batch is one GEMM;
// the input projection of all time steps is one GEMM up front.

#include <algorithm>
#include <cstddef>
#include <vector>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/detail/recurrent.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

namespace detail {

/// One GRU step for detail::recurrent: gate blocks r, z, n. The hidden projection stays apart
/// from the input one, since r gates only its n part.
template <class T>
struct gru_cell {
    static constexpr const char* name = "gru";
    static constexpr std::size_t gates = 3;
    /// r * hn, and four for h' = (1 - z) n + z h
    static constexpr std::size_t update_flops = 5;
    static constexpr bool separate_hidden_projection = true;

    void resize(std::size_t steps, std::size_t n, std::size_t h) {
        hn_.resize(steps * n * h);
        gh_.resize(n * 3 * h);
    }

    void forward(const recurrent_forward_step<T>& st) {
        const std::size_t h = st.h, n = st.n, nh = n * h, g3 = 3 * h;
        for (std::size_t b = 0; b < n; ++b)
            std::copy_n(st.b_hh, g3, gh_.data() + b * g3);
        if (st.s > 0)
            gemm(false, true, n, g3, h, T(1), st.hs + (st.s - 1) * nh, st.w_hh, T(1), gh_.data());
        for (std::size_t b = 0; b < n; ++b) {
            T* gb = st.gates + b * g3; // r, z, n pre-activations (input side), replaced by r, z, n
            const T* hb = gh_.data() + b * g3;
            for (std::size_t j = 0; j < 2 * h; ++j)
                gb[j] += hb[j];
            sigmoid_inplace(gb, 2 * h);
            const std::size_t k = st.s * nh + b * h;
            T* hn = hn_.data() + k;
            T* nv = gb + 2 * h;
            for (std::size_t j = 0; j < h; ++j) {
                hn[j] = hb[2 * h + j];
                nv[j] += gb[j] * hn[j];
            }
            tanh_to(nv, nv, h);
            T* hs = st.hs + k;
            const T* z = gb + h;
            if (st.s > 0) {
                const T* h_prev = hs - nh;
                for (std::size_t j = 0; j < h; ++j)
                    hs[j] = (T(1) - z[j]) * nv[j] + z[j] * h_prev[j];
            } else {
                for (std::size_t j = 0; j < h; ++j)
                    hs[j] = (T(1) - z[j]) * nv[j];
            }
        }
    }

    void begin_backward(std::size_t steps, std::size_t n, std::size_t h) {
        dgh_.resize(steps * n * 3 * h);
    }

    void backward(const recurrent_backward_step<T>& st) {
        const std::size_t h = st.h, n = st.n, nh = n * h, g3 = 3 * h;
        T* dgh = dgh_.data() + st.s * n * g3;
        for (std::size_t b = 0; b < n; ++b) {
            const T* gb = st.gates + b * g3;
            T* dxb = st.dgates + b * g3;
            T* dhb = dgh + b * g3;
            for (std::size_t j = 0; j < h; ++j) {
                const std::size_t idx = b * h + j, k = st.s * nh + idx;
                const T dh = st.dh[idx];
                const T r = gb[j], z = gb[h + j], nv = gb[2 * h + j];
                const T h_prev = st.s > 0 ? st.hs[k - nh] : T(0);
                const T dan = dh * (T(1) - z) * (T(1) - nv * nv);
                const T dar = dan * hn_[k] * r * (T(1) - r);
                const T daz = dh * (h_prev - nv) * z * (T(1) - z);
                dxb[j] = dar;
                dxb[h + j] = daz;
                dxb[2 * h + j] = dan;
                dhb[j] = dar;
                dhb[h + j] = daz;
                dhb[2 * h + j] = dan * r;
                st.dh[idx] = dh * z; // the direct path h -> h'
            }
        }
        if (st.s > 0)
            gemm(false, false, n, h, g3, T(1), dgh, st.w_hh, T(1), st.dh);
    }

    const T* hidden_gradients() const { return dgh_.data(); }

    // Forward: W_hn h + b_hn per step (time-major), and the current step's hidden projection.
    std::vector<T> hn_, gh_;
    // Backward: d(loss)/d(hidden projection) of every step.
    std::vector<T> dgh_;
};

} // namespace detail

/// GRU layer, torch.nn.GRU(F, H, batch_first=True) with one layer and zero initial state:
///     r = s(W_ir x + b_ir + W_hr h + b_hr)     z = s(W_iz x + b_iz + W_hz h + b_hz)
///     n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
///     h' = (1 - z) * n + z * h
/// Input (N, T, F); output (N, T, H) with return_sequences, else (N, H), the last step's h.
/// parameters(): weight_ih (3H, F), weight_hh (3H, H), bias_ih (3H), bias_hh (3H), gate rows
/// in PyTorch's order r, z, n, so PyTorch weights load unchanged. Weights start at zero:
/// initialise with nn::init::apply (PyTorch's default U(-1/sqrt(H), 1/sqrt(H))).
/// spec(): type "gru"; attributes input_size, hidden_size, return_sequences ("1"/"0").
/// Constructor: gru(input_size, hidden_size, return_sequences = true), throws
/// std::invalid_argument when a size is 0. Members: see detail::recurrent.
/// Memory: forward caches O(N T (F + 5 H)) values for backward.
template <class T = float>
class gru : public detail::recurrent<T, detail::gru_cell<T>> {
  public:
    using detail::recurrent<T, detail::gru_cell<T>>::recurrent;
};

static_assert(layer<gru<float>>);
static_assert(describable_layer<gru<double>>);

} // namespace xnas::nn
