#pragma once
// nn::mixed_op, the edge of a weight-sharing supernet: it holds every candidate operation of
// one place in a network and either runs one of them (a single path: SPOS, random weight
// sharing, ENAS) or the softmax-weighted sum of all of them with a gradient for the mixing
// weights (DARTS's continuous relaxation, Liu et al. 2019, arXiv:1806.09055).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/layer.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/tensor.hpp>

namespace xnas::nn {

/// Candidate operations over one input shape and one output shape, each a network (an empty
/// network is the identity) or std::nullopt for the zero operation ("none": zeros, no weights).
///
/// Single path (`choose(k)`, the initial state with k = 0): forward runs candidate k alone;
/// backward fills k's gradients and zeroes every other candidate's, so an optimizer over
/// parameters() always sees the same list. Mixture (`mix(alpha)`): y = sum_k w_k y_k with
/// w = softmax(alpha); backward also writes dL/dalpha, read with alpha_gradient(). The mixing
/// weights are not among parameters(): they are trained apart from the weights (on another data
/// split, by another optimizer), so an optimizer of the weights never sees them.
///
/// parameters() lists every candidate's, named "<candidate>.<node>.<name>"; active_parameters()
/// only the chosen candidate's, in the order that candidate's own network lists them.
/// spec(): type "mixed_op", attributes candidates and the chosen one (a mixed_op is not
/// serialisable: a supernet saves its parameters, and a path is extracted as plain layers).
template <class T = float>
class mixed_op {
  public:
    using value_type = T;

    /// Throws std::invalid_argument for no candidates, xnas::shape_error naming the candidate
    /// when one does not accept `in` or its output shape differs from the others'.
    mixed_op(shape in, std::vector<std::optional<network<T>>> candidates)
        : in_(std::move(in))
        , candidates_(std::move(candidates)) {
        if (candidates_.empty())
            throw std::invalid_argument("xnas::nn::mixed_op: no candidates");
        std::optional<shape> out;
        for (std::size_t k = 0; k < candidates_.size(); ++k) {
            if (!candidates_[k])
                continue;
            const shape o = candidates_[k]->output_shape(in_);
            if (out && o != *out)
                throw shape_error("xnas::nn::mixed_op: candidate " + std::to_string(k) +
                                  " outputs " + to_string(o) + ", candidate outputs so far are " +
                                  to_string(*out));
            out = o;
        }
        out_ = out ? *out : in_;
        alpha_ = array<T>::from_shape({candidates_.size()});
        alpha_.fill(T(0));
        dalpha_ = alpha_;
        weights_.assign(candidates_.size(), T(0));
        weights_[0] = T(1);
    }

    std::size_t size() const { return candidates_.size(); }
    /// Candidate k's network, nullptr for the zero operation. Throws std::out_of_range.
    network<T>* candidate(std::size_t k) {
        check(k, "candidate");
        return candidates_[k] ? &*candidates_[k] : nullptr;
    }

    /// Single-path mode through candidate k. Throws std::out_of_range.
    void choose(std::size_t k) {
        check(k, "choose");
        chosen_ = k;
        mixing_ = false;
    }
    /// The chosen candidate (single-path mode).
    std::size_t chosen() const { return chosen_; }
    bool mixing() const { return mixing_; }

    /// Mixture mode with weights softmax(alpha), alpha one logit per candidate. Throws
    /// std::invalid_argument for another count or a non-finite logit.
    void mix(std::span<const T> alpha) {
        if (alpha.size() != candidates_.size())
            throw std::invalid_argument("xnas::nn::mixed_op::mix: " + std::to_string(alpha.size()) +
                                        " logits for " + std::to_string(candidates_.size()) +
                                        " candidates");
        const T top = *std::max_element(alpha.begin(), alpha.end());
        if (!std::isfinite(static_cast<double>(top)))
            throw std::invalid_argument("xnas::nn::mixed_op::mix: a logit is not finite");
        T sum = 0;
        for (std::size_t k = 0; k < alpha.size(); ++k) {
            alpha_.data()[k] = alpha[k];
            weights_[k] = std::exp(alpha[k] - top);
            sum += weights_[k];
        }
        for (auto& w : weights_)
            w /= sum;
        mixing_ = true;
    }
    /// softmax(alpha) in mixture mode; one-hot on the chosen candidate otherwise.
    std::vector<T> weights() const {
        if (mixing_)
            return weights_;
        std::vector<T> w(candidates_.size(), T(0));
        w[chosen_] = T(1);
        return w;
    }
    /// dL/dalpha from the last backward in mixture mode (zeros after a single-path backward).
    const array<T>& alpha_gradient() const { return dalpha_; }

    void forward(const array<T>& x, array<T>& y, mode m) {
        if (!mixing_) {
            run(chosen_, x, y, m);
            return;
        }
        ensure_shape(y, batch_shape(x));
        y.fill(T(0));
        for (std::size_t k = 0; k < candidates_.size(); ++k) {
            if (!candidates_[k])
                continue;
            const array<T>& yk = candidates_[k]->forward(x, m);
            const T w = weights_[k];
            T* out = y.data();
            const T* in = yk.data();
            for (std::size_t i = 0; i < y.size(); ++i)
                out[i] += w * in[i];
        }
    }

    void backward(const array<T>& x, const array<T>& y, const array<T>& dy, array<T>* dx) {
        dalpha_.fill(T(0));
        if (!mixing_) {
            zero_gradients_except(chosen_);
            if (candidates_[chosen_]) {
                candidates_[chosen_]->backward(dy, dx);
            } else if (dx) {
                ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
                dx->fill(T(0));
            }
            (void)y;
            return;
        }
        // dL/dw_k = <dy, y_k>; through the softmax, dL/dalpha_j = w_j (g_j - sum_k w_k g_k).
        std::vector<double> g(candidates_.size(), 0.0);
        double mean = 0;
        for (std::size_t k = 0; k < candidates_.size(); ++k) {
            if (!candidates_[k])
                continue;
            const array<T>& yk = candidates_[k]->activation(candidates_[k]->size() - 1);
            double s = 0;
            for (std::size_t i = 0; i < dy.size(); ++i)
                s += static_cast<double>(dy.data()[i]) * static_cast<double>(yk.data()[i]);
            g[k] = s;
            mean += static_cast<double>(weights_[k]) * s;
        }
        for (std::size_t k = 0; k < candidates_.size(); ++k)
            dalpha_.data()[k] = static_cast<T>(static_cast<double>(weights_[k]) * (g[k] - mean));
        if (dx) {
            ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
            dx->fill(T(0));
        }
        for (std::size_t k = 0; k < candidates_.size(); ++k) {
            if (!candidates_[k])
                continue;
            ensure_shape(scaled_dy_, {dy.shape().begin(), dy.shape().end()});
            const T w = weights_[k];
            for (std::size_t i = 0; i < dy.size(); ++i)
                scaled_dy_.data()[i] = w * dy.data()[i];
            candidates_[k]->backward(scaled_dy_, dx ? &dx_k_ : nullptr);
            if (dx)
                for (std::size_t i = 0; i < dx->size(); ++i)
                    dx->data()[i] += dx_k_.data()[i];
        }
    }

    std::vector<parameter<T>> parameters() {
        std::vector<parameter<T>> all;
        for (std::size_t k = 0; k < candidates_.size(); ++k)
            if (candidates_[k])
                for (auto& p : candidates_[k]->parameters()) {
                    p.name = std::to_string(k) + "." + p.name;
                    all.push_back(std::move(p));
                }
        return all;
    }
    /// The chosen candidate's parameters as its own network names them ("<node>.<name>").
    std::vector<parameter<T>> active_parameters() {
        return candidates_[chosen_] ? candidates_[chosen_]->parameters()
                                    : std::vector<parameter<T>>{};
    }

    shape output_shape(const shape& in) const {
        if (in != in_)
            throw shape_error("xnas::nn::mixed_op: input has shape " + to_string(in) +
                              ", its candidates take " + to_string(in_));
        return out_;
    }
    /// Every candidate's weights: the supernet holds them all.
    std::size_t parameter_count() const {
        std::size_t n = 0;
        for (const auto& c : candidates_)
            if (c)
                n += c->parameter_count();
        return n;
    }
    /// The work of a forward pass in the current mode: the chosen candidate's, or all of them.
    std::size_t flops(const shape&) const {
        std::size_t n = 0;
        for (std::size_t k = 0; k < candidates_.size(); ++k)
            if (candidates_[k] && (mixing_ || k == chosen_))
                n += candidates_[k]->flops();
        return n;
    }
    layer_spec spec() const {
        return {"mixed_op",
                {{"candidates", std::to_string(candidates_.size())},
                 {"chosen", mixing_ ? "mixture" : std::to_string(chosen_)}}};
    }

  private:
    void check(std::size_t k, const char* who) const {
        if (k >= candidates_.size())
            throw std::out_of_range(std::string("xnas::nn::mixed_op::") + who + ": candidate " +
                                    std::to_string(k) + " of " +
                                    std::to_string(candidates_.size()));
    }

    std::vector<std::size_t> batch_shape(const array<T>& x) const {
        std::vector<std::size_t> s{x.shape()[0]};
        s.insert(s.end(), out_.begin(), out_.end());
        return s;
    }

    void run(std::size_t k, const array<T>& x, array<T>& y, mode m) {
        ensure_shape(y, batch_shape(x));
        if (!candidates_[k]) {
            y.fill(T(0));
            return;
        }
        const array<T>& yk = candidates_[k]->forward(x, m);
        std::copy(yk.data(), yk.data() + yk.size(), y.data());
    }

    void zero_gradients_except(std::size_t keep) {
        for (std::size_t k = 0; k < candidates_.size(); ++k)
            if (k != keep && candidates_[k])
                for (auto& p : candidates_[k]->parameters())
                    std::fill(p.gradient->begin(), p.gradient->end(), T(0));
    }

    shape in_, out_;
    std::vector<std::optional<network<T>>> candidates_;
    std::size_t chosen_ = 0;
    bool mixing_ = false;
    array<T> alpha_, dalpha_;
    std::vector<T> weights_;
    array<T> scaled_dy_, dx_k_; // mixture backward scratch
};

static_assert(describable_layer<mixed_op<float>>);

} // namespace xnas::nn
