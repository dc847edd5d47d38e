#pragma once
// nn::dense, a fully connected layer y = x W^T + b on (N, in) batches: one GEMM forward, two
// backward. The reference implementation of the nn::layer contract.

#include <cstring>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/detail/shard_sync.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

/// Under data parallelism (a shard of train::fit with threads > 1), a layer with at least
/// split_min_weights weights computes the whole batch with its shards together: each shard's
/// thread takes a slice of the input features over the batch gathered from all shards, with the
/// master's weights (forward: a partial output the shards then sum; backward: its columns of the
/// weight gradient and of the input gradient).
/// Each thread then streams only its slice of the weights, where a shard computing alone would
/// stream them all, and the weights need no gradient sum nor copy to the replicas; the result
/// equals one thread's up to rounding.
template <class T = float>
class dense {
  public:
    using value_type = T;

    /// Weights from which the shards of a batch share the layer's work: about where they
    /// outgrow a core's L2 cache, so that the threads streaming them each would cost more than
    /// the shards' meetings.
    static constexpr std::size_t split_min_weights = std::size_t{1} << 18;

    /// A layer from `in` to `out` features; weights start at zero (use nn::init to initialise).
    dense(std::size_t in, std::size_t out, bool use_bias = true)
        : in_(in)
        , out_(out)
        , bias_on_(use_bias) {
        if (in == 0 || out == 0)
            throw std::invalid_argument("xnas::nn::dense: in and out must be positive, got " +
                                        std::to_string(in) + " and " + std::to_string(out));
        if (!fits_in_array<T>({out, in}))
            throw std::invalid_argument("xnas::nn::dense: " + std::to_string(out) + " x " +
                                        std::to_string(in) +
                                        " weights are more than an array can hold");
    }

    void forward(const array<T>& x, array<T>& y, mode) {
        allocate();
        const std::size_t n = check_input(x);
        ensure_shape(y, {n, out_});
        if (split()) {
            forward_split(x, y, n);
            return;
        }
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
        if (split()) {
            if (dx)
                ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
            backward_split(dy, dx, n);
            return;
        }
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

    bool split() const { return detail::current_shard.group && w_.size() >= split_min_weights; }

    // What a shard publishes to the others at a split forward or backward.
    struct split_slot {
        dense* layer;
        std::size_t rows;     // samples of the shard
        std::size_t gathered; // rows of the layer's gathered batch before this call
        std::size_t parts;    // partial outputs the layer holds before this call
    };

    // Features [first, last) of n that shard `shard` of `shards` computes.
    struct feature_slice {
        std::size_t first, last;
    };
    static feature_slice slice(std::size_t n, std::size_t shard, std::size_t shards) {
        return {n * shard / shards, n * (shard + 1) / shards};
    }

    // The master's layer, this shard's first row in the gathered batch and the batch's rows.
    struct split_view {
        dense* master;
        std::size_t offset, rows;
    };

    split_view meet(detail::shard_group& group, std::size_t shard, split_slot& mine) {
        const auto all = group.exchange(shard, &mine);
        split_view v{static_cast<split_slot*>(all[0])->layer, 0, 0};
        for (std::size_t k = 0; k < all.size(); ++k) {
            const std::size_t r = static_cast<split_slot*>(all[k])->rows;
            v.offset += k < shard ? r : 0;
            v.rows += r;
        }
        const auto* master = static_cast<split_slot*>(all[0]);
        if (master->gathered != v.rows || master->parts != all.size()) { // all decide alike
            if (shard == 0) {
                ensure_shape(gathered_x_, {v.rows, in_});
                ensure_shape(partial_y_, {all.size(), v.rows, out_});
                ensure_shape(gathered_dy_, {v.rows, out_});
                ensure_shape(gathered_dx_, {v.rows, in_});
            }
            group.wait(shard);
        }
        return v;
    }

    // Every GEMM is split by input features, so each thread reads its share of the weights and of
    // the gathered batch once: forward, thread k's share of the inputs gives a partial output of
    // the whole batch, and each shard sums the partials of its rows in thread order.
    void forward_split(const array<T>& x, array<T>& y, std::size_t n) {
        detail::shard_group& group = *detail::current_shard.group;
        const std::size_t shard = detail::current_shard.shard;
        split_slot mine{this, n, gathered_rows(), gathered_parts()};
        const split_view v = meet(group, shard, mine);
        dense& m = *v.master;
        std::memcpy(m.gathered_x_.data() + v.offset * in_, x.data(), n * in_ * sizeof(T));
        if (shard == 0) {
            group.share(&w_);
            if (bias_on_)
                group.share(&b_);
        }
        group.wait(shard);
        const std::size_t parts = group.participants();
        const auto [first, last] = slice(in_, shard, parts);
        T* mine_partial = m.partial_y_.data() + shard * v.rows * out_;
        if (last > first)
            detail::gemm(false, true, v.rows, out_, last - first, T(1),
                         m.gathered_x_.data() + first, in_, m.w_.data() + first, in_, T(0),
                         mine_partial, out_);
        else
            std::fill(mine_partial, mine_partial + v.rows * out_, T(0));
        group.wait(shard);
        for (std::size_t r = 0; r < n; ++r) {
            T* row = y.data() + r * out_;
            if (bias_on_)
                std::copy(m.b_.data(), m.b_.data() + out_, row);
            else
                std::fill(row, row + out_, T(0));
            for (std::size_t k = 0; k < parts; ++k) {
                const T* part = m.partial_y_.data() + (k * v.rows + v.offset + r) * out_;
                for (std::size_t j = 0; j < out_; ++j)
                    row[j] += part[j];
            }
        }
    }

    void backward_split(const array<T>& dy, array<T>* dx, std::size_t n) {
        detail::shard_group& group = *detail::current_shard.group;
        const std::size_t shard = detail::current_shard.shard;
        split_slot mine{this, n, gathered_rows(), gathered_parts()};
        const split_view v = meet(group, shard, mine);
        dense& m = *v.master;
        std::memcpy(m.gathered_dy_.data() + v.offset * out_, dy.data(), n * out_ * sizeof(T));
        group.wait(shard);
        const T* dy_all = m.gathered_dy_.data();
        const std::size_t parts = group.participants();
        const auto [first, last] = slice(in_, shard, parts);
        if (last > first) {
            detail::gemm(true, false, out_, last - first, v.rows, T(1), dy_all, out_,
                         m.gathered_x_.data() + first, in_, T(0), m.dw_.data() + first, in_);
            if (dx)
                detail::gemm(false, false, v.rows, last - first, out_, T(1), dy_all, out_,
                             m.w_.data() + first, in_, T(0), m.gathered_dx_.data() + first, in_);
        }
        const auto [lo, hi] = slice(out_, shard, parts);
        if (bias_on_ && hi > lo) {
            T* db = m.db_.data();
            std::fill(db + lo, db + hi, T(0));
            for (std::size_t r = 0; r < v.rows; ++r)
                for (std::size_t j = lo; j < hi; ++j)
                    db[j] += dy_all[r * out_ + j];
        }
        group.wait(shard);
        if (dx)
            std::memcpy(dx->data(), m.gathered_dx_.data() + v.offset * in_, n * in_ * sizeof(T));
    }

    std::size_t gathered_rows() const {
        return gathered_x_.dimension() == 2 ? gathered_x_.shape()[0] : 0;
    }
    std::size_t gathered_parts() const {
        return partial_y_.dimension() == 3 ? partial_y_.shape()[0] : 0;
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
    // The master's: the batch gathered from the shards at a split forward and backward, and
    // each thread's partial output.
    array<T> gathered_x_, partial_y_, gathered_dy_, gathered_dx_;
};

static_assert(layer<dense<float>>);
static_assert(describable_layer<dense<double>>);

} // namespace xnas::nn
