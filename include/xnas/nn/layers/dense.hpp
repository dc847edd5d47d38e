#pragma once
// nn::dense, a fully connected layer y = x W^T + b on (N, in) batches: one GEMM forward, two
// backward. The reference implementation of the nn::layer contract.

#include <string>
#include <xnas/core/error.hpp>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

template <class T = float>
class dense {
  public:
    using value_type = T;

    /// A layer from `in` to `out` features; weights start at zero (use nn::init to initialise).
    dense(std::size_t in, std::size_t out, bool use_bias = true)
        : in_(in)
        , out_(out)
        , bias_on_(use_bias) {
        if (in == 0 || out == 0)
            throw std::invalid_argument("xnas::nn::dense: in and out must be positive, got " +
                                        std::to_string(in) + " and " + std::to_string(out));
    }

    void forward(const array<T>& x, array<T>& y, mode) {
        allocate();
        const std::size_t n = check_input(x);
        ensure_shape(y, {n, out_});
        if (bias_on_) {
            for (std::size_t r = 0; r < n; ++r)
                std::copy(b_.data(), b_.data() + out_, y.data() + r * out_);
        }
        detail::gemm(false, true, n, out_, in_, T(1), x.data(), w_.data(), bias_on_ ? T(1) : T(0),
                     y.data());
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        allocate();
        const std::size_t n = x.shape()[0];
        detail::gemm(true, false, out_, in_, n, T(1), dy.data(), x.data(), T(0), dw_.data());
        if (bias_on_) {
            std::fill(db_.begin(), db_.end(), T(0));
            for (std::size_t r = 0; r < n; ++r) {
                const T* row = dy.data() + r * out_;
                for (std::size_t j = 0; j < out_; ++j)
                    db_.data()[j] += row[j];
            }
        }
        if (dx) {
            ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
            detail::gemm(false, false, n, in_, out_, T(1), dy.data(), w_.data(), T(0), dx->data());
        }
    }

    std::vector<parameter<T>> parameters() {
        allocate();
        std::vector<parameter<T>> p{{"weight", &w_, &dw_}};
        if (bias_on_)
            p.push_back({"bias", &b_, &db_});
        return p;
    }

    shape output_shape(const shape& in) const {
        if (volume(in) != in_ || in.size() != 1)
            throw shape_error("xnas::nn::dense: input has shape " + to_string(in) +
                              ", layer expects (" + std::to_string(in_) + ")");
        return {out_};
    }
    std::size_t parameter_count() const { return out_ * in_ + (bias_on_ ? out_ : 0); }
    std::size_t flops(const shape&) const { return 2 * in_ * out_ + (bias_on_ ? out_ : 0); }
    layer_spec spec() const {
        return {"dense",
                {{"in", std::to_string(in_)},
                 {"out", std::to_string(out_)},
                 {"bias", bias_on_ ? "1" : "0"}}};
    }

    std::size_t in_features() const { return in_; }
    std::size_t out_features() const { return out_; }
    array<T>& weight() {
        allocate();
        return w_;
    }
    array<T>& bias() {
        allocate();
        return b_;
    }

  private:
    // Weights are allocated (zeroed) on first use, not by the constructor: a network can be
    // built and its parameter count and FLOPs checked against a budget before any of its memory
    // exists (train_evaluator's budgets).
    void allocate() {
        if (allocated_)
            return;
        w_ = array<T>({out_, in_}, T(0));
        dw_ = array<T>({out_, in_}, T(0));
        b_ = array<T>({bias_on_ ? out_ : 0}, T(0));
        db_ = array<T>({bias_on_ ? out_ : 0}, T(0));
        allocated_ = true;
    }

    std::size_t check_input(const array<T>& x) const {
        if (x.dimension() != 2 || x.shape()[1] != in_)
            throw shape_error("xnas::nn::dense::forward: input has " +
                              (x.dimension() == 2 ? std::to_string(x.shape()[1]) + " features"
                                                  : "rank " + std::to_string(x.dimension())) +
                              ", layer expects (N, " + std::to_string(in_) + ")");
        return x.shape()[0];
    }

    std::size_t in_, out_;
    bool bias_on_;
    bool allocated_ = false;
    array<T> w_, b_, dw_, db_;
};

static_assert(layer<dense<float>>);
static_assert(describable_layer<dense<double>>);

} // namespace xnas::nn
