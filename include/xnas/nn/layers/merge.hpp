#pragma once
// Merge operations for network nodes with several inputs: residual add (element-wise sum of
// equal shapes) and concat (along dim 1, the channel / feature axis). A network merges a node's
// inputs with one of these before feeding the node's layer.

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <xnas/core/error.hpp>
#include <xnas/nn/tensor.hpp>

namespace xnas::nn {

/// How a node with several inputs combines them.
enum class merge_op { add, concat };

inline const char* to_string(merge_op m) {
    return m == merge_op::add ? "add" : "concat";
}

/// "add" or "concat" back to merge_op; throws xnas::parse_error naming the text.
inline merge_op parse_merge_op(const std::string& s) {
    if (s == "add")
        return merge_op::add;
    if (s == "concat")
        return merge_op::concat;
    throw parse_error("xnas::nn::parse_merge_op: unknown merge '" + s +
                      "', expected 'add' or 'concat'");
}

/// Element-wise sum of k inputs of one shape: y = x_0 + ... + x_{k-1}; dL/dx_i = dy.
template <class T = float>
struct residual_add {
    using value_type = T;

    /// Throws xnas::shape_error naming the first input whose shape differs from input 0.
    static shape output_shape(std::span<const shape> in) {
        if (in.empty())
            throw shape_error("xnas::nn::residual_add: no inputs");
        for (std::size_t i = 1; i < in.size(); ++i)
            if (in[i] != in[0])
                throw shape_error("xnas::nn::residual_add: input " + std::to_string(i) +
                                  " has shape " + to_string(in[i]) + ", input 0 has " +
                                  to_string(in[0]) + "; shapes must match");
        return in[0];
    }

    /// Additions per sample.
    static std::size_t flops(std::span<const shape> in) {
        return in.empty() ? 0 : (in.size() - 1) * volume(in[0]);
    }

    /// y = sum of *xs[i]; every input must have the same full shape (batch included).
    static void forward(std::span<const array<T>* const> xs, array<T>& y) {
        check_batch(xs);
        const array<T>& x0 = *xs[0];
        ensure_shape(y, {x0.shape().begin(), x0.shape().end()});
        std::copy(x0.data(), x0.data() + x0.size(), y.data());
        for (std::size_t i = 1; i < xs.size(); ++i) {
            const T* src = xs[i]->data();
            T* dst = y.data();
            const std::size_t n = y.size();
            for (std::size_t e = 0; e < n; ++e)
                dst[e] += src[e];
        }
    }

    /// Gradient for input i, written into dx (or added to it when `accumulate`, so a node that
    /// feeds several consumers sums their gradients without a temporary).
    static void backward(const array<T>& dy, std::size_t /*i*/, array<T>& dx, bool accumulate) {
        if (!accumulate) {
            ensure_shape(dx, {dy.shape().begin(), dy.shape().end()});
            std::copy(dy.data(), dy.data() + dy.size(), dx.data());
            return;
        }
        if (dx.size() != dy.size())
            throw shape_error("xnas::nn::residual_add::backward: gradient has " +
                              std::to_string(dx.size()) + " elements, expected " +
                              std::to_string(dy.size()));
        T* dst = dx.data();
        const T* src = dy.data();
        for (std::size_t e = 0; e < dy.size(); ++e)
            dst[e] += src[e];
    }

  private:
    static void check_batch(std::span<const array<T>* const> xs) {
        if (xs.empty())
            throw shape_error("xnas::nn::residual_add::forward: no inputs");
        for (std::size_t i = 1; i < xs.size(); ++i)
            if (xs[i]->shape() != xs[0]->shape())
                throw shape_error("xnas::nn::residual_add::forward: input " + std::to_string(i) +
                                  " has " + std::to_string(xs[i]->size()) +
                                  " elements in a different shape from input 0; shapes must match");
    }
};

/// Concatenation along dim 1 of the full (N, C, ...) tensor, i.e. the first per-sample axis:
/// features for (N, F), channels for (N, C, H, W). All other axes must agree.
template <class T = float>
struct concat {
    using value_type = T;

    /// Throws xnas::shape_error naming the input whose trailing axes or rank differ.
    static shape output_shape(std::span<const shape> in) {
        if (in.empty())
            throw shape_error("xnas::nn::concat: no inputs");
        if (in[0].empty())
            throw shape_error("xnas::nn::concat: input 0 is a scalar per sample; concat needs "
                              "at least one axis");
        shape out = in[0];
        for (std::size_t i = 1; i < in.size(); ++i) {
            if (in[i].size() != in[0].size() ||
                !std::equal(in[i].begin() + 1, in[i].end(), in[0].begin() + 1))
                throw shape_error("xnas::nn::concat: input " + std::to_string(i) + " has shape " +
                                  to_string(in[i]) + ", input 0 has " + to_string(in[0]) +
                                  "; all axes but the first (channels/features) must match");
            out[0] += in[i][0];
        }
        return out;
    }

    /// Copies only: no arithmetic.
    static std::size_t flops(std::span<const shape>) { return 0; }

    static void forward(std::span<const array<T>* const> xs, array<T>& y) {
        if (xs.empty())
            throw shape_error("xnas::nn::concat::forward: no inputs");
        const array<T>& x0 = *xs[0];
        if (x0.dimension() < 2)
            throw shape_error("xnas::nn::concat::forward: input 0 has rank " +
                              std::to_string(x0.dimension()) + ", expected (N, C, ...)");
        const std::size_t n = x0.shape()[0];
        std::size_t inner = 1; // elements per channel of one sample
        for (std::size_t d = 2; d < x0.dimension(); ++d)
            inner *= x0.shape()[d];
        std::size_t channels = 0;
        for (std::size_t i = 0; i < xs.size(); ++i) {
            const auto& s = xs[i]->shape();
            if (xs[i]->dimension() != x0.dimension() || s[0] != n ||
                !std::equal(s.begin() + 2, s.end(), x0.shape().begin() + 2))
                throw shape_error("xnas::nn::concat::forward: input " + std::to_string(i) +
                                  " disagrees with input 0 outside dim 1");
            channels += s[1];
        }
        std::vector<std::size_t> full(x0.shape().begin(), x0.shape().end());
        full[1] = channels;
        ensure_shape(y, full);
        const std::size_t out_stride = channels * inner;
        std::size_t offset = 0;
        for (const array<T>* x : xs) {
            const std::size_t block = x->shape()[1] * inner;
            for (std::size_t r = 0; r < n; ++r)
                std::copy(x->data() + r * block, x->data() + (r + 1) * block,
                          y.data() + r * out_stride + offset);
            offset += block;
        }
    }

    /// Gradient for input i (whose per-sample shape is `in_shape`) out of dy, written into dx or
    /// added to it when `accumulate`. `offset` is the sum of dim-1 sizes of inputs before i.
    static void backward(const array<T>& dy, std::size_t offset, const shape& in_shape,
                         array<T>& dx, bool accumulate) {
        const std::size_t n = dy.shape()[0];
        const std::size_t block = volume(in_shape);
        std::size_t inner = 1;
        for (std::size_t d = 1; d < in_shape.size(); ++d)
            inner *= in_shape[d];
        const std::size_t dy_stride = n ? dy.size() / n : 0;
        if (!accumulate)
            ensure_shape(dx, with_batch(n, in_shape));
        else if (dx.size() != n * block)
            throw shape_error("xnas::nn::concat::backward: gradient has " +
                              std::to_string(dx.size()) + " elements, expected " +
                              std::to_string(n * block));
        for (std::size_t r = 0; r < n; ++r) {
            const T* src = dy.data() + r * dy_stride + offset * inner;
            T* dst = dx.data() + r * block;
            if (accumulate)
                for (std::size_t e = 0; e < block; ++e)
                    dst[e] += src[e];
            else
                std::copy(src, src + block, dst);
        }
    }
};

/// Output shape of merging `in` with `m`.
inline shape merge_output_shape(merge_op m, std::span<const shape> in) {
    return m == merge_op::add ? residual_add<float>::output_shape(in)
                              : concat<float>::output_shape(in);
}

/// Forward operations per sample of merging `in` with `m`.
inline std::size_t merge_flops(merge_op m, std::span<const shape> in) {
    return m == merge_op::add ? residual_add<float>::flops(in) : concat<float>::flops(in);
}

} // namespace xnas::nn
