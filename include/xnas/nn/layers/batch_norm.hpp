#pragma once
// nn::batch_norm, batch normalization (Ioffe & Szegedy, 2015, arXiv:1502.03167) over the
// channel axis 1 of (N, F) or (N, C, H, W) (any rank >= 2: statistics pool the batch and every
// axis after the channel one). Train mode uses batch statistics and updates running ones;
// eval mode uses the running ones. Under data parallelism the shards of a batch share their
// statistics (synchronised batch norm, nn/detail/shard_sync.hpp).

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/detail/reduce.hpp>
#include <xnas/nn/detail/shard_sync.hpp>
#include <xnas/nn/layer.hpp>

namespace xnas::nn {

/// Hyper-parameters of nn::batch_norm.
struct batch_norm_options {
    std::size_t features = 0; ///< F of (N, F) or C of (N, C, H, W)
    double eps = 1e-5;        ///< added to the variance
    double momentum = 0.1;    ///< running = (1 - momentum) * running + momentum * batch
};

/// y = gamma * (x - mean) / sqrt(var + eps) + beta per channel. Train mode normalises with the
/// batch mean and biased variance and moves the running mean / unbiased variance towards them
/// as PyTorch does (momentum 0.1); eval mode normalises with the running statistics.
/// Trained on a shard of a data-parallel batch (train::fit with threads > 1), it normalises with
/// the whole batch's statistics, summed over the shards, and back-propagates through them, as
/// PyTorch's SyncBatchNorm: the shards then compute what one thread would, up to rounding.
///
/// parameters(): "weight" (gamma, starts at 1), "bias" (beta, starts at 0), then
/// "running_mean" (starts at 0) and "running_var" (starts at 1). The running statistics are
/// state, not learnables: their gradient is always zero, so plain SGD/Adam leave them alone and
/// serialization saves and restores them with the weights; an optimizer that applies weight
/// decay should skip parameters whose name starts with "running_". parameter_count() counts
/// gamma and beta only (as PyTorch's parameters() does).
/// spec(): type "batch_norm"; attributes features, eps, momentum.
template <class T = float>
class batch_norm {
  public:
    using value_type = T;

    explicit batch_norm(const batch_norm_options& o)
        : o_(o) {
        if (o.features == 0)
            throw std::invalid_argument("xnas::nn::batch_norm: features must be positive, got 0");
        if (!(o.eps > 0.0))
            throw std::invalid_argument("xnas::nn::batch_norm: eps = " + std::to_string(o.eps) +
                                        ", expected > 0");
        if (!(o.momentum >= 0.0 && o.momentum <= 1.0))
            throw std::invalid_argument("xnas::nn::batch_norm: momentum = " +
                                        std::to_string(o.momentum) + ", expected in [0, 1]");
        const std::size_t f = o.features;
        gamma_ = array<T>({f}, T(1));
        beta_ = array<T>({f}, T(0));
        mean_ = array<T>({f}, T(0));
        var_ = array<T>({f}, T(1));
        dgamma_ = array<T>({f}, T(0));
        dbeta_ = dgamma_;
        dmean_ = dgamma_;
        dvar_ = dgamma_;
    }
    explicit batch_norm(std::size_t features, double eps = 1e-5, double momentum = 0.1)
        : batch_norm(batch_norm_options{features, eps, momentum}) {}

    void forward(const array<T>& x, array<T>& y, mode m) {
        const std::size_t n = check(x, "forward"), c = o_.features;
        const std::size_t s = n ? x.size() / (n * c) : 0; // spatial size per channel
        ensure_shape(y, {x.shape().begin(), x.shape().end()});
        scale_.resize(c);
        shift_.resize(c);
        inv_std_.resize(c);
        used_mean_.resize(c);
        last_train_ = m == mode::train;
        const T* xd = x.data();
        T* yd = y.data();
        if (last_train_) {
            // Two passes: mean, then the centred sum of squares (no cancellation); SIMD partial
            // sums per row, rows added in double.
            sums_.assign(2 * c, 0.0);
            for (std::size_t ch = 0; ch < c; ++ch) {
                double sum = 0;
                for (std::size_t b = 0; b < n; ++b)
                    sum += detail::row_sum(xd + (b * c + ch) * s, s);
                const double mean = n * s > 0 ? sum / static_cast<double>(n * s) : 0.0;
                double sq = 0;
                for (std::size_t b = 0; b < n; ++b)
                    sq +=
                        detail::row_centred_squares(xd + (b * c + ch) * s, s, static_cast<T>(mean));
                sums_[ch] = sum;
                sums_[c + ch] = sq;
            }
            count_ = static_cast<double>(n * s);
            synced_ = detail::current_shard.group != nullptr;
            if (synced_)
                share_statistics(c);
            if (count_ < 2)
                throw shape_error("xnas::nn::batch_norm::forward: train mode needs more than one "
                                  "value per channel, got input " +
                                  shape_text(x));
            for (std::size_t ch = 0; ch < c; ++ch) {
                const double mean = sums_[ch] / count_;
                const double var = sums_[c + ch] / count_;
                const double inv = 1.0 / std::sqrt(var + o_.eps);
                inv_std_[ch] = static_cast<T>(inv);
                mean_.data()[ch] =
                    static_cast<T>((1 - o_.momentum) * mean_.data()[ch] + o_.momentum * mean);
                var_.data()[ch] = static_cast<T>((1 - o_.momentum) * var_.data()[ch] +
                                                 o_.momentum * sums_[c + ch] / (count_ - 1));
                scale_[ch] = static_cast<T>(gamma_.data()[ch] * inv);
                shift_[ch] = static_cast<T>(beta_.data()[ch] - gamma_.data()[ch] * inv * mean);
                used_mean_[ch] = static_cast<T>(mean);
            }
        } else {
            for (std::size_t ch = 0; ch < c; ++ch) {
                const double inv = 1.0 / std::sqrt(static_cast<double>(var_.data()[ch]) + o_.eps);
                inv_std_[ch] = static_cast<T>(inv);
                scale_[ch] = static_cast<T>(gamma_.data()[ch] * inv);
                shift_[ch] =
                    static_cast<T>(beta_.data()[ch] - gamma_.data()[ch] * inv * mean_.data()[ch]);
                used_mean_[ch] = mean_.data()[ch];
            }
        }
        for (std::size_t b = 0; b < n; ++b) {
            for (std::size_t ch = 0; ch < c; ++ch) {
                const T* __restrict p = xd + (b * c + ch) * s;
                T* __restrict q = yd + (b * c + ch) * s;
                const T a = scale_[ch], d = shift_[ch];
                for (std::size_t i = 0; i < s; ++i)
                    q[i] = a * p[i] + d;
            }
        }
    }

    void backward(const array<T>& x, const array<T>&, const array<T>& dy, array<T>* dx) {
        const std::size_t n = check(x, "backward"), c = o_.features;
        const std::size_t s = n ? x.size() / (n * c) : 0;
        if (dy.size() != x.size() || inv_std_.size() != c)
            throw shape_error("xnas::nn::batch_norm::backward: dy has " +
                              std::to_string(dy.size()) + " elements, expected " +
                              std::to_string(x.size()) + " (call forward on the same x first)");
        if (dx)
            ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        const T* xd = x.data();
        const T* dyd = dy.data();
        // sum(dy) and sum(dy * (x - mean)) per channel: SIMD per row, rows added in double.
        sums_.assign(2 * c, 0.0);
        for (std::size_t ch = 0; ch < c; ++ch)
            for (std::size_t b = 0; b < n; ++b)
                detail::row_gradient_sums(dyd + (b * c + ch) * s, xd + (b * c + ch) * s, s,
                                          used_mean_[ch], &sums_[ch], &sums_[c + ch]);
        // This shard's own sums are its share of the parameters' gradients (the shards'
        // gradients are added up later); dx needs the whole batch's.
        for (std::size_t ch = 0; ch < c; ++ch) {
            dbeta_.data()[ch] = static_cast<T>(sums_[ch]);
            dgamma_.data()[ch] = static_cast<T>(sums_[c + ch] * static_cast<double>(inv_std_[ch]));
        }
        if (!dx)
            return;
        if (last_train_ && synced_)
            share_gradient_sums();
        T* dxd = dx->data();
        for (std::size_t ch = 0; ch < c; ++ch) {
            // train: dx = g inv (dy - sum(dy) / M - xhat sum(dy xhat) / M); eval: g inv dy
            const double inv = static_cast<double>(inv_std_[ch]);
            const double gm = static_cast<double>(gamma_.data()[ch]);
            const T mu = used_mean_[ch];
            const T a = static_cast<T>(gm * inv);
            const T b0 = last_train_ ? static_cast<T>(-gm * inv * sums_[ch] / count_) : T(0);
            const T b1 =
                last_train_ ? static_cast<T>(-gm * inv * inv * inv * sums_[c + ch] / count_) : T(0);
            for (std::size_t b = 0; b < n; ++b) {
                const T* __restrict p = xd + (b * c + ch) * s;
                const T* __restrict gy = dyd + (b * c + ch) * s;
                T* __restrict q = dxd + (b * c + ch) * s;
                for (std::size_t i = 0; i < s; ++i)
                    q[i] = a * gy[i] + b0 + b1 * (p[i] - mu);
            }
        }
        // The running statistics are not learnable: their gradient stays zero.
    }

    std::vector<parameter<T>> parameters() {
        return {{"weight", &gamma_, &dgamma_},
                {"bias", &beta_, &dbeta_},
                {"running_mean", &mean_, &dmean_},
                {"running_var", &var_, &dvar_}};
    }

    shape output_shape(const shape& in) const {
        if (in.empty() || in[0] != o_.features)
            throw shape_error("xnas::nn::batch_norm: input has shape " + to_string(in) +
                              ", layer expects (" + std::to_string(o_.features) + ", ...)");
        return in;
    }
    std::size_t parameter_count() const { return 2 * o_.features; }
    /// Normalise and scale: one multiply-add per element once folded (train adds statistics).
    std::size_t flops(const shape& in) const { return 2 * volume(output_shape(in)); }
    layer_spec spec() const {
        return {"batch_norm",
                {{"features", std::to_string(o_.features)},
                 {"eps", spec_real(o_.eps)},
                 {"momentum", spec_real(o_.momentum)}}};
    }

    const batch_norm_options& options() const { return o_; }
    /// Sets the running statistics' momentum (train::recalibrate_batch_norm makes their update a
    /// cumulative average with momentum 1 / (k + 1) at batch k). Throws std::invalid_argument
    /// outside [0, 1].
    void set_momentum(double momentum) {
        if (!(momentum >= 0.0 && momentum <= 1.0))
            throw std::invalid_argument("xnas::nn::batch_norm::set_momentum: momentum = " +
                                        std::to_string(momentum) + ", expected in [0, 1]");
        o_.momentum = momentum;
    }
    array<T>& weight() { return gamma_; }
    array<T>& bias() { return beta_; }
    array<T>& running_mean() { return mean_; }
    array<T>& running_var() { return var_; }

  private:
    static std::string shape_text(const array<T>& x) {
        std::string s = "(";
        for (std::size_t i = 0; i < x.dimension(); ++i)
            s += (i ? ", " : "") + std::to_string(x.shape()[i]);
        return s + ")";
    }

    std::size_t check(const array<T>& x, const char* fn) const {
        if (x.dimension() < 2 || x.shape()[1] != o_.features)
            throw shape_error(std::string("xnas::nn::batch_norm::") + fn + ": input has shape " +
                              shape_text(x) + ", layer expects (N, " + std::to_string(o_.features) +
                              ", ...)");
        return x.shape()[0];
    }

    // sums_ holds per channel (sum, centred sum of squares) of this shard; afterwards those of
    // the whole batch, the squares centred on its mean (Chan et al.'s pairwise update:
    // M2 = sum_k (M2_k + n_k mean_k^2) - n mean^2). count_ becomes the batch's values per channel.
    void share_statistics(std::size_t c) {
        reduced_.assign(2 * c + 1, 0.0);
        reduced_[0] = count_;
        for (std::size_t ch = 0; ch < c; ++ch) {
            reduced_[1 + ch] = sums_[ch];
            reduced_[1 + c + ch] = count_ > 0 ? sums_[c + ch] + sums_[ch] * sums_[ch] / count_ : 0;
        }
        detail::current_shard.group->all_reduce(detail::current_shard.shard, reduced_);
        count_ = reduced_[0];
        for (std::size_t ch = 0; ch < c; ++ch) {
            sums_[ch] = reduced_[1 + ch];
            const double mean = count_ > 0 ? sums_[ch] / count_ : 0;
            sums_[c + ch] = std::max(0.0, reduced_[1 + c + ch] - count_ * mean * mean);
        }
    }

    // The backward's sums over the whole batch (the forward shared its statistics).
    void share_gradient_sums() {
        if (!detail::current_shard.group)
            throw std::logic_error("xnas::nn::batch_norm::backward: the forward was synchronised "
                                   "over shards, the backward runs outside them");
        detail::current_shard.group->all_reduce(detail::current_shard.shard, sums_);
    }

    batch_norm_options o_;
    array<T> gamma_, beta_, mean_, var_, dgamma_, dbeta_, dmean_, dvar_;
    bool last_train_ = false, synced_ = false;
    double count_ = 0;                   ///< values per channel the last forward normalised over
    std::vector<double> sums_, reduced_; ///< per-channel sums (see share_statistics)
    std::vector<T> scale_, shift_, inv_std_, used_mean_; ///< per channel, from the last forward
};

static_assert(describable_layer<batch_norm<float>>);

} // namespace xnas::nn
