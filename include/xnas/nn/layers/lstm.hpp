#pragma once
// nn::lstm, a single-layer unidirectional LSTM (Hochreiter & Schmidhuber, 1997) over
// (N, T, F) batches with PyTorch's parameter layout and gate equations, and full
// backpropagation through time: the LSTM cell's equations on the recurrent scaffold of
// nn/detail/recurrent.hpp. Per time step the gates of the whole batch are one GEMM; the input
// projection of all time steps is one GEMM up front.

#include <cstddef>
#include <vector>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/detail/recurrent.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

namespace detail {

/// One LSTM step for detail::recurrent: gate blocks i, f, g, o; caches the cell states.
template <class T>
struct lstm_cell {
    static constexpr const char* name = "lstm";
    static constexpr std::size_t gates = 4;
    /// f c, i g, +, tanh, o tanh
    static constexpr std::size_t update_flops = 5;
    static constexpr bool separate_hidden_projection = false;

    void resize(std::size_t steps, std::size_t n, std::size_t h) {
        c_.resize(steps * n * h);
        tc_.resize(steps * n * h);
    }

    void forward(const recurrent_forward_step<T>& st) {
        const std::size_t h = st.h, n = st.n, nh = n * h, g4 = 4 * h;
        if (st.s > 0)
            gemm(false, true, n, g4, h, T(1), st.hs + (st.s - 1) * nh, st.w_hh, T(1), st.gates);
        for (std::size_t b = 0; b < n; ++b) {
            T* gb = st.gates + b * g4; // i, f, g, o pre-activations, replaced by activations
            sigmoid_inplace(gb, 2 * h);
            tanh_to(gb + 2 * h, gb + 2 * h, h);
            sigmoid_inplace(gb + 3 * h, h);
            const std::size_t k = st.s * nh + b * h;
            T* c = c_.data() + k;
            if (st.s > 0) {
                const T* c_prev = c - nh;
                for (std::size_t j = 0; j < h; ++j)
                    c[j] = gb[h + j] * c_prev[j] + gb[j] * gb[2 * h + j];
            } else {
                for (std::size_t j = 0; j < h; ++j)
                    c[j] = gb[j] * gb[2 * h + j];
            }
            T* tc = tc_.data() + k;
            tanh_to(c, tc, h);
            T* hb = st.hs + k;
            for (std::size_t j = 0; j < h; ++j)
                hb[j] = gb[3 * h + j] * tc[j];
        }
    }

    void begin_backward(std::size_t, std::size_t n, std::size_t h) { dc_.assign(n * h, T(0)); }

    void backward(const recurrent_backward_step<T>& st) {
        const std::size_t h = st.h, n = st.n, nh = n * h, g4 = 4 * h;
        for (std::size_t b = 0; b < n; ++b) {
            const T* gb = st.gates + b * g4;
            T* dgb = st.dgates + b * g4;
            for (std::size_t j = 0; j < h; ++j) {
                const std::size_t idx = b * h + j, k = st.s * nh + idx;
                const T dh = st.dh[idx];
                const T i = gb[j], f = gb[h + j], gg = gb[2 * h + j], o = gb[3 * h + j];
                const T tc = tc_[k];
                const T c_prev = st.s > 0 ? c_[k - nh] : T(0);
                const T dc = dc_[idx] + dh * o * (T(1) - tc * tc);
                dgb[j] = dc * gg * i * (T(1) - i);
                dgb[h + j] = dc * c_prev * f * (T(1) - f);
                dgb[2 * h + j] = dc * i * (T(1) - gg * gg);
                dgb[3 * h + j] = dh * tc * o * (T(1) - o);
                dc_[idx] = dc * f;
            }
        }
        // h reaches the previous step only through the gates.
        if (st.s > 0)
            gemm(false, false, n, h, g4, T(1), st.dgates, st.w_hh, T(0), st.dh);
    }

    // Per step (time-major): cell states and their tanh; backward: d(loss)/dc of the step.
    std::vector<T> c_, tc_, dc_;
};

} // namespace detail

/// LSTM layer, torch.nn.LSTM(F, H, batch_first=True) with one layer and zero initial state:
///     i = s(W_ii x + b_ii + W_hi h + b_hi)     f = s(W_if x + b_if + W_hf h + b_hf)
///     g = tanh(W_ig x + b_ig + W_hg h + b_hg)  o = s(W_io x + b_io + W_ho h + b_ho)
///     c' = f * c + i * g                        h' = o * tanh(c')
/// Input (N, T, F); output (N, T, H) with return_sequences, else (N, H), the last step's h.
/// parameters(): weight_ih (4H, F), weight_hh (4H, H), bias_ih (4H), bias_hh (4H), gate rows
/// in PyTorch's order i, f, g, o, so PyTorch weights load unchanged. Weights start at zero:
/// initialise with nn::init::apply (PyTorch's default U(-1/sqrt(H), 1/sqrt(H))).
/// spec(): type "lstm"; attributes input_size, hidden_size, return_sequences ("1"/"0").
/// Constructor: lstm(input_size, hidden_size, return_sequences = true), throws
/// std::invalid_argument when a size is 0. Members: see detail::recurrent.
/// Memory: forward caches O(N T (F + 7 H)) values for backward.
template <class T = float>
class lstm : public detail::recurrent<T, detail::lstm_cell<T>> {
  public:
    using detail::recurrent<T, detail::lstm_cell<T>>::recurrent;
};

static_assert(layer<lstm<float>>);
static_assert(describable_layer<lstm<double>>);

} // namespace xnas::nn
