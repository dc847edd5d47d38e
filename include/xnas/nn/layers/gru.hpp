#pragma once
// nn::gru, a single-layer unidirectional GRU (Cho et al., 2014, arXiv:1406.1078) over
// (N, T, F) batches with PyTorch's parameter layout and gate equations, and full
// backpropagation through time. Per time step the hidden projection of the whole batch is one
// GEMM; the input projection of all time steps is one GEMM up front.

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

/// GRU layer, torch.nn.GRU(F, H, batch_first=True) with one layer and zero initial state:
///     r = s(W_ir x + b_ir + W_hr h + b_hr)     z = s(W_iz x + b_iz + W_hz h + b_hz)
///     n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
///     h' = (1 - z) * n + z * h
/// Input (N, T, F); output (N, T, H) with return_sequences, else (N, H), the last step's h.
/// parameters(): weight_ih (3H, F), weight_hh (3H, H), bias_ih (3H), bias_hh (3H), gate rows
/// in PyTorch's order r, z, n, so PyTorch weights load unchanged. Weights start at zero:
/// initialise with nn::init::apply (PyTorch's default U(-1/sqrt(H), 1/sqrt(H))).
/// spec(): type "gru"; attributes input_size, hidden_size, return_sequences ("1"/"0").
/// Memory: forward caches O(N T (F + 5 H)) values for backward.
template <class T = float>
class gru {
  public:
    using value_type = T;

    /// Throws std::invalid_argument when input_size or hidden_size is 0.
    gru(std::size_t input_size, std::size_t hidden_size, bool return_sequences = true)
        : f_(input_size)
        , h_(hidden_size)
        , seq_(return_sequences) {
        if (input_size == 0 || hidden_size == 0)
            throw std::invalid_argument(
                "xnas::nn::gru: input_size and hidden_size must be positive, got " +
                std::to_string(input_size) + " and " + std::to_string(hidden_size));
    }

    void forward(const array<T>& x, array<T>& y, mode) {
        allocate();
        const std::size_t steps = check_input(x);
        const std::size_t n = x.shape()[0];
        const std::size_t g3 = 3 * h_, nh = n * h_;
        n_ = n;
        steps_ = steps;
        xt_.resize(steps * n * f_);
        gates_.resize(steps * n * g3);
        hn_.resize(steps * nh);
        hs_.resize(steps * nh);
        gh_.resize(n * g3);
        // Time-major copy of x so that every step's rows are contiguous for the GEMMs.
        for (std::size_t b = 0; b < n; ++b)
            for (std::size_t s = 0; s < steps; ++s)
                std::copy_n(x.data() + (b * steps + s) * f_, f_, xt_.data() + (s * n + b) * f_);
        for (std::size_t r = 0; r < steps * n; ++r)
            std::copy_n(b_ih_.data(), g3, gates_.data() + r * g3);
        detail::gemm(false, true, steps * n, g3, f_, T(1), xt_.data(), w_ih_.data(), T(1),
                     gates_.data());
        for (std::size_t s = 0; s < steps; ++s) {
            // The hidden projection stays separate from the input one: r gates only its n part.
            for (std::size_t b = 0; b < n; ++b)
                std::copy_n(b_hh_.data(), g3, gh_.data() + b * g3);
            if (s > 0)
                detail::gemm(false, true, n, g3, h_, T(1), hs_.data() + (s - 1) * nh, w_hh_.data(),
                             T(1), gh_.data());
            T* g = gates_.data() + s * n * g3;
            for (std::size_t b = 0; b < n; ++b) {
                T* gb = g + b * g3; // r, z, n pre-activations (input side), replaced by r, z, n
                const T* hb = gh_.data() + b * g3;
                for (std::size_t j = 0; j < 2 * h_; ++j)
                    gb[j] += hb[j];
                detail::sigmoid_inplace(gb, 2 * h_);
                const std::size_t k = s * nh + b * h_;
                T* hn = hn_.data() + k;
                T* nv = gb + 2 * h_;
                for (std::size_t j = 0; j < h_; ++j) {
                    hn[j] = hb[2 * h_ + j];
                    nv[j] += gb[j] * hn[j];
                }
                detail::tanh_to(nv, nv, h_);
                T* h = hs_.data() + k;
                const T* z = gb + h_;
                if (s > 0) {
                    const T* h_prev = h - nh;
                    for (std::size_t j = 0; j < h_; ++j)
                        h[j] = (T(1) - z[j]) * nv[j] + z[j] * h_prev[j];
                } else {
                    for (std::size_t j = 0; j < h_; ++j)
                        h[j] = (T(1) - z[j]) * nv[j];
                }
            }
        }
        write_output(y);
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        allocate();
        const std::size_t n = n_, steps = steps_, g3 = 3 * h_, nh = n * h_;
        check_cached(x);
        check_output_gradient(dy);
        dgx_.resize(steps * n * g3);
        dgh_.resize(steps * n * g3);
        dh_.assign(nh, T(0));
        for (std::size_t s = steps; s-- > 0;) {
            const T* g = gates_.data() + s * n * g3;
            T* dgx = dgx_.data() + s * n * g3;
            T* dgh = dgh_.data() + s * n * g3;
            for (std::size_t b = 0; b < n; ++b) {
                const T* gb = g + b * g3;
                T* dxb = dgx + b * g3;
                T* dhb = dgh + b * g3;
                for (std::size_t j = 0; j < h_; ++j) {
                    const std::size_t idx = b * h_ + j, k = s * nh + idx;
                    T dh = dh_[idx];
                    if (seq_)
                        dh += dy.data()[(b * steps + s) * h_ + j];
                    else if (s + 1 == steps)
                        dh += dy.data()[idx];
                    const T r = gb[j], z = gb[h_ + j], nv = gb[2 * h_ + j];
                    const T h_prev = s > 0 ? hs_[k - nh] : T(0);
                    const T dan = dh * (T(1) - z) * (T(1) - nv * nv);
                    const T dar = dan * hn_[k] * r * (T(1) - r);
                    const T daz = dh * (h_prev - nv) * z * (T(1) - z);
                    dxb[j] = dar;
                    dxb[h_ + j] = daz;
                    dxb[2 * h_ + j] = dan;
                    dhb[j] = dar;
                    dhb[h_ + j] = daz;
                    dhb[2 * h_ + j] = dan * r;
                    dh_[idx] = dh * z;
                }
            }
            if (s > 0)
                detail::gemm(false, false, n, h_, g3, T(1), dgh, w_hh_.data(), T(1), dh_.data());
        }
        detail::gemm(true, false, g3, f_, steps * n, T(1), dgx_.data(), xt_.data(), T(0),
                     dw_ih_.data());
        // h_{-1} = 0: only steps 1.. contribute to dW_hh, against h of steps 0..T-2.
        if (steps > 1)
            detail::gemm(true, false, g3, h_, (steps - 1) * n, T(1), dgh_.data() + n * g3,
                         hs_.data(), T(0), dw_hh_.data());
        else
            std::fill(dw_hh_.begin(), dw_hh_.end(), T(0));
        column_sums(dgx_, db_ih_);
        column_sums(dgh_, db_hh_);
        if (dx) {
            dxt_.resize(steps * n * f_);
            detail::gemm(false, false, steps * n, f_, g3, T(1), dgx_.data(), w_ih_.data(), T(0),
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
            throw shape_error("xnas::nn::gru: input has shape " + to_string(in) +
                              ", layer expects (T, " + std::to_string(f_) + ") with T >= 1");
        return seq_ ? shape{in[0], h_} : shape{h_};
    }
    std::size_t parameter_count() const { return 3 * h_ * (f_ + h_) + 6 * h_; }
    /// Per sample: the two GEMMs (2 flops per multiply-add), both bias adds, one op per gate
    /// activation, r * hn, and four for h' = (1 - z) n + z h, times T.
    std::size_t flops(const shape& in) const {
        const std::size_t steps = in.empty() ? 0 : in[0];
        return steps * (6 * h_ * (f_ + h_) + 6 * h_ + 3 * h_ + 5 * h_);
    }
    layer_spec spec() const {
        return {"gru",
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
        w_ih_ = array<T>({3 * h_, f_}, T(0));
        w_hh_ = array<T>({3 * h_, h_}, T(0));
        b_ih_ = array<T>({3 * h_}, T(0));
        b_hh_ = array<T>({3 * h_}, T(0));
        dw_ih_ = w_ih_;
        dw_hh_ = w_hh_;
        db_ih_ = b_ih_;
        db_hh_ = b_hh_;
        allocated_ = true;
    }

    void column_sums(const std::vector<T>& m, array<T>& out) const {
        const std::size_t cols = out.size();
        std::fill(out.begin(), out.end(), T(0));
        for (std::size_t r = 0; r < m.size() / cols; ++r)
            for (std::size_t j = 0; j < cols; ++j)
                out.data()[j] += m[r * cols + j];
    }

    std::size_t check_input(const array<T>& x) const {
        if (x.dimension() != 3 || x.shape()[2] != f_ || x.shape()[1] == 0) {
            const shape got(x.shape().begin(), x.shape().end());
            throw shape_error("xnas::nn::gru::forward: input has shape " + to_string(got) +
                              ", layer expects (N, T, " + std::to_string(f_) + ") with T >= 1");
        }
        return x.shape()[1];
    }

    void check_cached(const array<T>& x) const {
        if (x.dimension() != 3 || x.shape()[0] != n_ || x.shape()[1] != steps_ ||
            x.shape()[2] != f_)
            throw std::logic_error("xnas::nn::gru::backward: input differs from the last "
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
            throw shape_error("xnas::nn::gru::backward: output gradient has shape " +
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
    // Forward cache (time-major): x, activated gates (r, z, n), W_hn h + b_hn, hidden states.
    std::size_t n_ = 0, steps_ = 0;
    std::vector<T> xt_, gates_, hn_, hs_, gh_;
    // Backward scratch: pre-activation gradients of the input and hidden projections.
    std::vector<T> dgx_, dgh_, dh_, dxt_;
};

static_assert(layer<gru<float>>);
static_assert(describable_layer<gru<double>>);

} // namespace xnas::nn
