#pragma once
// nn::lstm, a single-layer unidirectional LSTM (Hochreiter & Schmidhuber, 1997) over
// (N, T, F) batches with PyTorch's parameter layout and gate equations, and full
// backpropagation through time. Per time step the gates of the whole batch are one GEMM; the
// input projection of all time steps is one GEMM up front.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/detail/recurrent.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

/// LSTM layer, torch.nn.LSTM(F, H, batch_first=True) with one layer and zero initial state:
///     i = s(W_ii x + b_ii + W_hi h + b_hi)     f = s(W_if x + b_if + W_hf h + b_hf)
///     g = tanh(W_ig x + b_ig + W_hg h + b_hg)  o = s(W_io x + b_io + W_ho h + b_ho)
///     c' = f * c + i * g                        h' = o * tanh(c')
/// Input (N, T, F); output (N, T, H) with return_sequences, else (N, H), the last step's h.
/// parameters(): weight_ih (4H, F), weight_hh (4H, H), bias_ih (4H), bias_hh (4H), gate rows
/// in PyTorch's order i, f, g, o, so PyTorch weights load unchanged. Weights start at zero:
/// initialise with nn::init::apply (PyTorch's default U(-1/sqrt(H), 1/sqrt(H))).
/// spec(): type "lstm"; attributes input_size, hidden_size, return_sequences ("1"/"0").
/// Memory: forward caches O(N T (F + 7 H)) values for backward.
template <class T = float>
class lstm {
  public:
    using value_type = T;

    /// Throws std::invalid_argument when input_size or hidden_size is 0.
    lstm(std::size_t input_size, std::size_t hidden_size, bool return_sequences = true)
        : f_(input_size)
        , h_(hidden_size)
        , seq_(return_sequences) {
        if (input_size == 0 || hidden_size == 0)
            throw std::invalid_argument(
                "xnas::nn::lstm: input_size and hidden_size must be positive, got " +
                std::to_string(input_size) + " and " + std::to_string(hidden_size));
    }

    void forward(const array<T>& x, array<T>& y, mode) {
        allocate();
        const std::size_t steps = check_input(x);
        const std::size_t n = x.shape()[0];
        const std::size_t g4 = 4 * h_, nh = n * h_;
        n_ = n;
        steps_ = steps;
        xt_.resize(steps * n * f_);
        gates_.resize(steps * n * g4);
        c_.resize(steps * nh);
        tc_.resize(steps * nh);
        hs_.resize(steps * nh);
        // Time-major copy of x so that every step's rows are contiguous for the GEMMs.
        for (std::size_t b = 0; b < n; ++b)
            for (std::size_t s = 0; s < steps; ++s)
                std::copy_n(x.data() + (b * steps + s) * f_, f_, xt_.data() + (s * n + b) * f_);
        for (std::size_t r = 0; r < steps * n; ++r)
            for (std::size_t j = 0; j < g4; ++j)
                gates_[r * g4 + j] = b_ih_.data()[j] + b_hh_.data()[j];
        detail::gemm(false, true, steps * n, g4, f_, T(1), xt_.data(), w_ih_.data(), T(1),
                     gates_.data());
        for (std::size_t s = 0; s < steps; ++s) {
            T* g = gates_.data() + s * n * g4;
            if (s > 0)
                detail::gemm(false, true, n, g4, h_, T(1), hs_.data() + (s - 1) * nh, w_hh_.data(),
                             T(1), g);
            for (std::size_t b = 0; b < n; ++b) {
                T* gb = g + b * g4; // i, f, g, o pre-activations, replaced by activations
                detail::sigmoid_inplace(gb, 2 * h_);
                detail::tanh_to(gb + 2 * h_, gb + 2 * h_, h_);
                detail::sigmoid_inplace(gb + 3 * h_, h_);
                const std::size_t k = s * nh + b * h_;
                T* c = c_.data() + k;
                if (s > 0) {
                    const T* c_prev = c - nh;
                    for (std::size_t j = 0; j < h_; ++j)
                        c[j] = gb[h_ + j] * c_prev[j] + gb[j] * gb[2 * h_ + j];
                } else {
                    for (std::size_t j = 0; j < h_; ++j)
                        c[j] = gb[j] * gb[2 * h_ + j];
                }
                T* tc = tc_.data() + k;
                detail::tanh_to(c, tc, h_);
                T* hb = hs_.data() + k;
                for (std::size_t j = 0; j < h_; ++j)
                    hb[j] = gb[3 * h_ + j] * tc[j];
            }
        }
        write_output(y);
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        allocate();
        const std::size_t n = n_, steps = steps_, g4 = 4 * h_, nh = n * h_;
        check_cached(x);
        check_output_gradient(dy);
        dgates_.resize(steps * n * g4);
        dh_.assign(nh, T(0));
        dc_.assign(nh, T(0));
        for (std::size_t s = steps; s-- > 0;) {
            const T* g = gates_.data() + s * n * g4;
            T* dg = dgates_.data() + s * n * g4;
            for (std::size_t b = 0; b < n; ++b) {
                const T* gb = g + b * g4;
                T* dgb = dg + b * g4;
                for (std::size_t j = 0; j < h_; ++j) {
                    const std::size_t idx = b * h_ + j, k = s * nh + idx;
                    T dh = dh_[idx];
                    if (seq_)
                        dh += dy.data()[(b * steps + s) * h_ + j];
                    else if (s + 1 == steps)
                        dh += dy.data()[idx];
                    const T i = gb[j], f = gb[h_ + j], gg = gb[2 * h_ + j], o = gb[3 * h_ + j];
                    const T tc = tc_[k];
                    const T c_prev = s > 0 ? c_[k - nh] : T(0);
                    const T dc = dc_[idx] + dh * o * (T(1) - tc * tc);
                    dgb[j] = dc * gg * i * (T(1) - i);
                    dgb[h_ + j] = dc * c_prev * f * (T(1) - f);
                    dgb[2 * h_ + j] = dc * i * (T(1) - gg * gg);
                    dgb[3 * h_ + j] = dh * tc * o * (T(1) - o);
                    dc_[idx] = dc * f;
                }
            }
            if (s > 0)
                detail::gemm(false, false, n, h_, g4, T(1), dg, w_hh_.data(), T(0), dh_.data());
        }
        detail::gemm(true, false, g4, f_, steps * n, T(1), dgates_.data(), xt_.data(), T(0),
                     dw_ih_.data());
        // h_{-1} = 0: only steps 1.. contribute to dW_hh, against h of steps 0..T-2.
        if (steps > 1)
            detail::gemm(true, false, g4, h_, (steps - 1) * n, T(1), dgates_.data() + n * g4,
                         hs_.data(), T(0), dw_hh_.data());
        else
            std::fill(dw_hh_.begin(), dw_hh_.end(), T(0));
        std::fill(db_ih_.begin(), db_ih_.end(), T(0));
        for (std::size_t r = 0; r < steps * n; ++r)
            for (std::size_t j = 0; j < g4; ++j)
                db_ih_.data()[j] += dgates_[r * g4 + j];
        std::copy(db_ih_.begin(), db_ih_.end(), db_hh_.begin());
        if (dx) {
            dxt_.resize(steps * n * f_);
            detail::gemm(false, false, steps * n, f_, g4, T(1), dgates_.data(), w_ih_.data(), T(0),
                         dxt_.data());
            ensure_shape(*dx, {n, steps, f_});
            for (std::size_t b = 0; b < n; ++b)
                for (std::size_t s = 0; s < steps; ++s)
                    std::copy_n(dxt_.data() + (s * n + b) * f_, f_,
                                dx->data() + (b * steps + s) * f_);
        }
    }

    std::vector<parameter<T>> parameters() {
        allocate();
        return {{"weight_ih", &w_ih_, &dw_ih_},
                {"weight_hh", &w_hh_, &dw_hh_},
                {"bias_ih", &b_ih_, &db_ih_},
                {"bias_hh", &b_hh_, &db_hh_}};
    }

    shape output_shape(const shape& in) const {
        if (in.size() != 2 || in[0] == 0 || in[1] != f_)
            throw shape_error("xnas::nn::lstm: input has shape " + to_string(in) +
                              ", layer expects (T, " + std::to_string(f_) + ") with T >= 1");
        return seq_ ? shape{in[0], h_} : shape{h_};
    }
    std::size_t parameter_count() const { return 4 * h_ * (f_ + h_) + 8 * h_; }
    /// Per sample: the two GEMMs (2 flops per multiply-add), both bias adds, one op per gate
    /// activation and five per cell update (f c, i g, +, tanh, o tanh), times T.
    std::size_t flops(const shape& in) const {
        const std::size_t steps = in.empty() ? 0 : in[0];
        return steps * (8 * h_ * (f_ + h_) + 8 * h_ + 4 * h_ + 5 * h_);
    }
    layer_spec spec() const {
        return {"lstm",
                {{"input_size", std::to_string(f_)},
                 {"hidden_size", std::to_string(h_)},
                 {"return_sequences", seq_ ? "1" : "0"}}};
    }

    std::size_t input_size() const { return f_; }
    std::size_t hidden_size() const { return h_; }
    bool return_sequences() const { return seq_; }
    array<T>& weight_ih() {
        allocate();
        return w_ih_;
    }
    array<T>& weight_hh() {
        allocate();
        return w_hh_;
    }
    array<T>& bias_ih() {
        allocate();
        return b_ih_;
    }
    array<T>& bias_hh() {
        allocate();
        return b_hh_;
    }

  private:
    // Weights are allocated (zeroed) on first use, not by the constructor: a network can be
    // built and its parameter count and FLOPs checked against a budget before any of its memory
    // exists (train_evaluator's budgets).
    void allocate() {
        if (allocated_)
            return;
        w_ih_ = array<T>({4 * h_, f_}, T(0));
        w_hh_ = array<T>({4 * h_, h_}, T(0));
        b_ih_ = array<T>({4 * h_}, T(0));
        b_hh_ = array<T>({4 * h_}, T(0));
        dw_ih_ = w_ih_;
        dw_hh_ = w_hh_;
        db_ih_ = b_ih_;
        db_hh_ = b_hh_;
        allocated_ = true;
    }

    std::size_t check_input(const array<T>& x) const {
        if (x.dimension() != 3 || x.shape()[2] != f_ || x.shape()[1] == 0) {
            const shape got(x.shape().begin(), x.shape().end());
            throw shape_error("xnas::nn::lstm::forward: input has shape " + to_string(got) +
                              ", layer expects (N, T, " + std::to_string(f_) + ") with T >= 1");
        }
        return x.shape()[1];
    }

    void check_cached(const array<T>& x) const {
        if (x.dimension() != 3 || x.shape()[0] != n_ || x.shape()[1] != steps_ ||
            x.shape()[2] != f_)
            throw std::logic_error("xnas::nn::lstm::backward: input differs from the last "
                                   "forward's (N " +
                                   std::to_string(n_) + ", T " + std::to_string(steps_) +
                                   "); call forward on the same input first");
    }

    void check_output_gradient(const array<T>& dy) const {
        const std::vector<std::size_t> want =
            seq_ ? std::vector<std::size_t>{n_, steps_, h_} : std::vector<std::size_t>{n_, h_};
        if (dy.dimension() != want.size() ||
            !std::equal(want.begin(), want.end(), dy.shape().begin())) {
            const shape got(dy.shape().begin(), dy.shape().end());
            throw shape_error("xnas::nn::lstm::backward: output gradient has shape " +
                              to_string(got) + ", expected " + to_string(want));
        }
    }

    void write_output(array<T>& y) const {
        const std::size_t nh = n_ * h_;
        if (seq_) {
            ensure_shape(y, {n_, steps_, h_});
            for (std::size_t b = 0; b < n_; ++b)
                for (std::size_t s = 0; s < steps_; ++s)
                    std::copy_n(hs_.data() + s * nh + b * h_, h_, y.data() + (b * steps_ + s) * h_);
        } else {
            ensure_shape(y, {n_, h_});
            std::copy_n(hs_.data() + (steps_ - 1) * nh, nh, y.data());
        }
    }

    std::size_t f_, h_;
    bool seq_;
    bool allocated_ = false;
    array<T> w_ih_, w_hh_, b_ih_, b_hh_, dw_ih_, dw_hh_, db_ih_, db_hh_;
    // Forward cache (time-major): x, activated gates, cell states, tanh(c), hidden states.
    std::size_t n_ = 0, steps_ = 0;
    std::vector<T> xt_, gates_, c_, tc_, hs_;
    // Backward scratch.
    std::vector<T> dgates_, dh_, dc_, dxt_;
};

static_assert(layer<lstm<float>>);
static_assert(describable_layer<lstm<double>>);

} // namespace xnas::nn
