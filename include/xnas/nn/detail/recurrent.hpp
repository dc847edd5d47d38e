#pragma once
// The scaffold shared by the recurrent layers (nn::lstm, nn::gru): detail::recurrent holds the
// weights, shapes, checks, time loop and the GEMMs over all time steps, and calls a cell policy
// for the equations of one step. Also the element-wise kernels the cells use: in-place logistic
// sigmoid and tanh over contiguous runs, vectorised with xsimd when xtensor uses it (libm's
// scalar exp/tanh otherwise dominate a recurrent step's time).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/layer.hpp>

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

/// What a cell's forward step at time step s sees. Buffers are time-major: row b of step s
/// is at offset (s n + b) * width.
template <class T>
struct recurrent_forward_step {
    std::size_t s, n, h; ///< time step, batch rows, hidden units
    /// (n, G h) of step s: on entry the input projection W_ih x + bias (see
    /// recurrent::separate_hidden_projection), on exit whatever the cell's backward step needs
    /// (the gate activations).
    T* gates;
    T* hs;         ///< (steps, n, h) hidden states: the step reads block s - 1, writes block s
    const T* w_hh; ///< (G h, h)
    const T* b_hh; ///< (G h)
};

/// What a cell's backward step at time step s sees (steps run from the last to the first).
template <class T>
struct recurrent_backward_step {
    std::size_t s, n, h; ///< time step, batch rows, hidden units
    const T* gates;      ///< (n, G h) of step s, as the forward step left them
    const T* hs;         ///< (steps, n, h) hidden states
    T* dgates;           ///< (n, G h) of step s: the step writes d(loss)/d(input projection)
    /// (n, h): on entry d(loss)/d(h_s); the step leaves d(loss)/d(h_{s-1}) there when s > 0
    T* dh;
    const T* w_hh; ///< (G h, h)
};

/// A single-layer unidirectional recurrent layer over (N, T, F) batches with zero initial state,
/// PyTorch's parameter layout (weight_ih (G H, F), weight_hh (G H, H), bias_ih (G H), bias_hh
/// (G H), G gate blocks of H rows each) and full backpropagation through time. The input
/// projection of all time steps is one GEMM up front, and so are the weight gradients; per step
/// the cell does the recurrent part. Output (N, T, H) with return_sequences, else (N, H), the
/// last step's h.
///
/// Cell, one step's equations:
///   - static constexpr const char* name: spec type, also naming the layer in errors;
///   - static constexpr std::size_t gates: G;
///   - static constexpr std::size_t update_flops: element-wise ops per hidden unit and step
///     beyond one per gate activation (for flops());
///   - static constexpr bool separate_hidden_projection: false when W_hh h + b_hh adds to the
///     same pre-activations as the input projection (then both biases start those, and the
///     input-side gradients are the hidden side's too); true when the cell keeps the hidden
///     projection apart, b_hh included, and hands its gradients out by hidden_gradients();
///   - void resize(steps, n, h): sizes its forward caches;
///   - void forward(const recurrent_forward_step<T>&), void backward(const
///     recurrent_backward_step<T>&), after void begin_backward(steps, n, h);
///   - with a separate hidden projection, const T* hidden_gradients() const: (steps, n, G h)
///     d(loss)/d(W_hh h_{s-1} + b_hh) of every step.
template <class T, class Cell>
class recurrent {
  public:
    using value_type = T;

    /// Throws std::invalid_argument when input_size or hidden_size is 0.
    recurrent(std::size_t input_size, std::size_t hidden_size, bool return_sequences = true)
        : f_(input_size)
        , h_(hidden_size)
        , seq_(return_sequences) {
        if (input_size == 0 || hidden_size == 0)
            throw std::invalid_argument(
                who() + ": input_size and hidden_size must be positive, got " +
                std::to_string(input_size) + " and " + std::to_string(hidden_size));
    }

    void forward(const array<T>& x, array<T>& y, mode) {
        allocate();
        const std::size_t steps = check_input(x);
        const std::size_t n = x.shape()[0];
        const std::size_t width = gates * h_, nh = n * h_;
        n_ = n;
        steps_ = steps;
        xt_.resize(steps * n * f_);
        gates_.resize(steps * n * width);
        hs_.resize(steps * nh);
        cell_.resize(steps, n, h_);
        // Time-major copy of x so that every step's rows are contiguous for the GEMMs.
        for (std::size_t b = 0; b < n; ++b)
            for (std::size_t s = 0; s < steps; ++s)
                std::copy_n(x.data() + (b * steps + s) * f_, f_, xt_.data() + (s * n + b) * f_);
        for (std::size_t r = 0; r < steps * n; ++r) {
            T* row = gates_.data() + r * width;
            if constexpr (Cell::separate_hidden_projection)
                std::copy_n(b_ih_.data(), width, row);
            else
                for (std::size_t j = 0; j < width; ++j)
                    row[j] = b_ih_.data()[j] + b_hh_.data()[j];
        }
        detail::gemm(false, true, steps * n, width, f_, T(1), xt_.data(), w_ih_.data(), T(1),
                     gates_.data());
        for (std::size_t s = 0; s < steps; ++s)
            cell_.forward(recurrent_forward_step<T>{s, n, h_, gates_.data() + s * n * width,
                                                    hs_.data(), w_hh_.data(), b_hh_.data()});
        write_output(y);
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        allocate();
        const std::size_t n = n_, steps = steps_, width = gates * h_, nh = n * h_;
        check_cached(x);
        check_output_gradient(dy);
        dgates_.resize(steps * n * width);
        dh_.assign(nh, T(0));
        cell_.begin_backward(steps, n, h_);
        for (std::size_t s = steps; s-- > 0;) {
            // dh_ holds what flows back from step s + 1; add the output's own gradient.
            if (seq_) {
                for (std::size_t b = 0; b < n; ++b)
                    for (std::size_t j = 0; j < h_; ++j)
                        dh_[b * h_ + j] += dy.data()[(b * steps + s) * h_ + j];
            } else if (s + 1 == steps) {
                for (std::size_t i = 0; i < nh; ++i)
                    dh_[i] += dy.data()[i];
            }
            cell_.backward(recurrent_backward_step<T>{s, n, h_, gates_.data() + s * n * width,
                                                      hs_.data(), dgates_.data() + s * n * width,
                                                      dh_.data(), w_hh_.data()});
        }
        const T* dhidden = dgates_.data();
        if constexpr (Cell::separate_hidden_projection)
            dhidden = cell_.hidden_gradients();
        detail::gemm(true, false, width, f_, steps * n, T(1), dgates_.data(), xt_.data(), T(0),
                     dw_ih_.data());
        // h_{-1} = 0: only steps 1.. contribute to dW_hh, against h of steps 0..T-2.
        if (steps > 1)
            detail::gemm(true, false, width, h_, (steps - 1) * n, T(1), dhidden + n * width,
                         hs_.data(), T(0), dw_hh_.data());
        else
            std::fill(dw_hh_.begin(), dw_hh_.end(), T(0));
        column_sums(dgates_.data(), steps * n, db_ih_);
        if constexpr (Cell::separate_hidden_projection)
            column_sums(dhidden, steps * n, db_hh_);
        else
            std::copy(db_ih_.begin(), db_ih_.end(), db_hh_.begin());
        if (dx) {
            dxt_.resize(steps * n * f_);
            detail::gemm(false, false, steps * n, f_, width, T(1), dgates_.data(), w_ih_.data(),
                         T(0), dxt_.data());
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
            throw shape_error(who() + ": input has shape " + to_string(in) +
                              ", layer expects (T, " + std::to_string(f_) + ") with T >= 1");
        return seq_ ? shape{in[0], h_} : shape{h_};
    }
    std::size_t parameter_count() const { return gates * h_ * (f_ + h_) + 2 * gates * h_; }
    /// Per sample: the two GEMMs (2 flops per multiply-add), both bias adds, one op per gate
    /// activation and the cell's update ops, times T.
    std::size_t flops(const shape& in) const {
        const std::size_t steps = in.empty() ? 0 : in[0];
        return steps *
               (2 * gates * h_ * (f_ + h_) + 2 * gates * h_ + gates * h_ + Cell::update_flops * h_);
    }
    layer_spec spec() const {
        return {Cell::name,
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
    static constexpr std::size_t gates = Cell::gates;

    static std::string who() { return std::string("xnas::nn::") + Cell::name; }

    // Weights are allocated (zeroed) on first use, not by the constructor: a network can be
    // built and its parameter count and FLOPs checked against a budget before any of its memory
    // exists (train_evaluator's budgets).
    void allocate() {
        if (allocated_)
            return;
        w_ih_ = array<T>({gates * h_, f_}, T(0));
        w_hh_ = array<T>({gates * h_, h_}, T(0));
        b_ih_ = array<T>({gates * h_}, T(0));
        b_hh_ = array<T>({gates * h_}, T(0));
        dw_ih_ = w_ih_;
        dw_hh_ = w_hh_;
        db_ih_ = b_ih_;
        db_hh_ = b_hh_;
        allocated_ = true;
    }

    /// out[j] = sum over the `rows` rows of m (rows x out.size()) of m[r][j].
    static void column_sums(const T* m, std::size_t rows, array<T>& out) {
        const std::size_t cols = out.size();
        std::fill(out.begin(), out.end(), T(0));
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < cols; ++j)
                out.data()[j] += m[r * cols + j];
    }

    std::size_t check_input(const array<T>& x) const {
        if (x.dimension() != 3 || x.shape()[2] != f_ || x.shape()[1] == 0) {
            const shape got(x.shape().begin(), x.shape().end());
            throw shape_error(who() + "::forward: input has shape " + to_string(got) +
                              ", layer expects (N, T, " + std::to_string(f_) + ") with T >= 1");
        }
        return x.shape()[1];
    }

    void check_cached(const array<T>& x) const {
        if (x.dimension() != 3 || x.shape()[0] != n_ || x.shape()[1] != steps_ ||
            x.shape()[2] != f_)
            throw std::logic_error(who() + "::backward: input differs from the last forward's (N " +
                                   std::to_string(n_) + ", T " + std::to_string(steps_) +
                                   "); call forward on the same input first");
    }

    void check_output_gradient(const array<T>& dy) const {
        const std::vector<std::size_t> want =
            seq_ ? std::vector<std::size_t>{n_, steps_, h_} : std::vector<std::size_t>{n_, h_};
        if (dy.dimension() != want.size() ||
            !std::equal(want.begin(), want.end(), dy.shape().begin())) {
            const shape got(dy.shape().begin(), dy.shape().end());
            throw shape_error(who() + "::backward: output gradient has shape " + to_string(got) +
                              ", expected " + to_string(want));
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
    // Forward cache (time-major): x, the cell's per-step gate values, hidden states.
    std::size_t n_ = 0, steps_ = 0;
    std::vector<T> xt_, gates_, hs_;
    // Backward scratch: gradients of the input projection's pre-activations, of h, of x.
    std::vector<T> dgates_, dh_, dxt_;
    Cell cell_;
};

} // namespace xnas::nn::detail
