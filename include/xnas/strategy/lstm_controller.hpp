#pragma once
// xnas::lstm_policy: the recurrent controller of Zoph & Le (2017, "Neural Architecture Search
// with Reinforcement Learning", ICLR, arXiv:1611.01578) as a decision_policy for
// xnas::reinforce, built from the library's training core: an nn::lstm reads the previous
// decision (one-hot) and one nn::dense head per decision gives that decision's softmax logits;
// Adam trains it on the REINFORCE objective. Unlike factorised_policy it can learn
// dependencies between decisions (decision t sees decisions 0..t-1).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/lstm.hpp>
#include <xnas/nn/optim/adam.hpp>
#include <xnas/strategy/reinforce.hpp>

namespace xnas {

/// Options of lstm_policy.
struct lstm_policy_options {
    /// LSTM hidden units (the paper: 35).
    std::size_t hidden = 32;
    /// Adam step size.
    double learning_rate = 0.01;
    /// Logits are divided by this before the softmax (the paper's sampling temperature).
    double temperature = 1.0;
};

/// The LSTM controller. Step t's input is a one-hot of decision t-1's value (a start token at
/// t = 0); its hidden state feeds head t. Sampling runs the LSTM on the growing prefix (cost
/// O(T^2) LSTM steps for T decisions, small next to any evaluation); an update runs it once
/// over the whole sequence and back-propagates through time.
class lstm_policy {
  public:
    explicit lstm_policy(lstm_policy_options options = {})
        : options_(options) {}

    lstm_policy(const lstm_policy& o)
        : options_(o.options_)
        , sizes_(o.sizes_)
        , width_(o.width_)
        , lstm_(o.lstm_)
        , heads_(o.heads_)
        , opt_(o.opt_) {}
    lstm_policy& operator=(const lstm_policy& o) {
        if (this != &o) {
            options_ = o.options_;
            sizes_ = o.sizes_;
            width_ = o.width_;
            lstm_ = o.lstm_;
            heads_ = o.heads_;
            opt_ = o.opt_;
            params_.clear(); // views into the copied layers are rebuilt on demand
        }
        return *this;
    }
    lstm_policy(lstm_policy&&) = default;
    lstm_policy& operator=(lstm_policy&&) = default;
    ~lstm_policy() = default;

    void reset(const std::vector<std::size_t>& sizes, rng& g) {
        if (sizes.empty())
            throw std::invalid_argument("xnas::lstm_policy::reset: no decisions");
        sizes_ = sizes;
        std::size_t widest = 0;
        for (std::size_t n : sizes) {
            if (n == 0)
                throw std::invalid_argument(
                    "xnas::lstm_policy::reset: a decision has 0 choices; expected >= 1");
            widest = std::max(widest, n);
        }
        width_ = widest + 1; // values 0..widest-1, then the start token
        lstm_.assign(1, nn::lstm<float>(width_, options_.hidden, true));
        nn::init::apply(lstm_[0], nn::init::scheme::pytorch_default, g);
        heads_.clear();
        for (std::size_t n : sizes) {
            heads_.emplace_back(options_.hidden, n);
            nn::init::apply(heads_.back(), nn::init::scheme::pytorch_default, g);
        }
        opt_.assign(1, nn::adam<float>({.lr = options_.learning_rate}));
        params_.clear();
    }

    std::vector<int> sample(rng& g) {
        const std::size_t steps = sizes_.size();
        std::vector<int> d;
        d.reserve(steps);
        std::vector<double> p;
        for (std::size_t t = 0; t < steps; ++t) {
            encode_inputs(d, t + 1);
            lstm_[0].forward(x_, h_, nn::mode::eval);
            logits_at(t, p);
            d.push_back(static_cast<int>(g.categorical(p)));
        }
        return d;
    }

    void update(const std::vector<int>& d, double advantage, double entropy_weight) {
        const std::size_t steps = sizes_.size();
        if (d.size() != steps)
            throw std::invalid_argument("xnas::lstm_policy::update: " + std::to_string(d.size()) +
                                        " decisions, expected " + std::to_string(steps));
        encode_inputs(d, steps);
        lstm_[0].forward(x_, h_, nn::mode::train);
        nn::ensure_shape(dh_, {1, steps, options_.hidden});
        std::fill(dh_.begin(), dh_.end(), 0.0f);
        std::vector<double> p;
        const float inv_t = static_cast<float>(1.0 / options_.temperature);
        for (std::size_t t = 0; t < steps; ++t) {
            logits_at(t, p);
            double ent = 0;
            for (double q : p)
                if (q > 0)
                    ent -= q * std::log(q);
            // Gradient of the loss -(A log pi(d_t) + beta H) w.r.t. the tempered logits.
            nn::ensure_shape(dlogits_, {1, p.size()});
            for (std::size_t k = 0; k < p.size(); ++k) {
                double g = 0;
                if (d[t] >= 0)
                    g -= advantage * ((static_cast<int>(k) == d[t] ? 1.0 : 0.0) - p[k]);
                if (entropy_weight != 0 && p[k] > 0)
                    g += entropy_weight * p[k] * (std::log(p[k]) + ent);
                dlogits_.data()[k] = static_cast<float>(g) * inv_t;
            }
            heads_[t].backward(ht_, logits_, dlogits_, &dht_);
            std::copy_n(dht_.data(), options_.hidden, dh_.data() + t * options_.hidden);
        }
        lstm_[0].backward(x_, h_, dh_, nullptr);
        parameters();
        opt_[0].step(params_);
    }

    /// The controller's weights (the LSTM's, then each head's), for checkpoints: views that
    /// stay valid until the next reset or copy. Empty before reset.
    std::vector<nn::parameter<float>> parameters() {
        if (lstm_.empty())
            return {};
        if (params_.empty()) {
            params_ = lstm_[0].parameters();
            for (auto& h : heads_)
                for (auto& q : h.parameters())
                    params_.push_back(q);
        }
        return params_;
    }

    /// Forgets Adam's moments and step count, keeping the weights: a controller restored from
    /// a checkpoint of its weights then steps as one that restarted there.
    void restart_optimizer() {
        if (!opt_.empty())
            opt_[0].reset();
    }

    std::vector<double> probabilities(std::size_t i) const {
        if (i != 0)
            throw std::out_of_range("xnas::lstm_policy::probabilities: only decision 0 is "
                                    "unconditional; asked for " +
                                    std::to_string(i));
        auto self = *this; // forward mutates layer caches; keep this const
        self.encode_inputs({}, 1);
        self.lstm_[0].forward(self.x_, self.h_, nn::mode::eval);
        std::vector<double> p;
        self.logits_at(0, p);
        return p;
    }

  private:
    // x_ = (1, len, width_): step 0 the start token, step t the one-hot of d[t-1].
    void encode_inputs(const std::vector<int>& d, std::size_t len) {
        nn::ensure_shape(x_, {1, len, width_});
        std::fill(x_.begin(), x_.end(), 0.0f);
        for (std::size_t t = 0; t < len; ++t) {
            const int prev = t == 0 ? static_cast<int>(width_ - 1) : d[t - 1];
            const std::size_t col = prev < 0 ? width_ - 1 : static_cast<std::size_t>(prev);
            x_.data()[t * width_ + col] = 1.0f;
        }
    }

    // Softmax of head t on step t's hidden state (from the last lstm forward), into p; keeps
    // ht_ and logits_ for backward.
    void logits_at(std::size_t t, std::vector<double>& p) {
        nn::ensure_shape(ht_, {1, options_.hidden});
        std::copy_n(h_.data() + t * options_.hidden, options_.hidden, ht_.data());
        heads_[t].forward(ht_, logits_, nn::mode::eval);
        const std::size_t n = sizes_[t];
        p.resize(n);
        double mx = -1e300;
        for (std::size_t k = 0; k < n; ++k)
            mx = std::max(mx, static_cast<double>(logits_.data()[k]) / options_.temperature);
        double z = 0;
        for (std::size_t k = 0; k < n; ++k)
            z += p[k] =
                std::exp(static_cast<double>(logits_.data()[k]) / options_.temperature - mx);
        for (auto& q : p)
            q /= z;
    }

    lstm_policy_options options_;
    std::vector<std::size_t> sizes_;
    std::size_t width_ = 0;
    std::vector<nn::lstm<float>> lstm_; // 0 or 1 element: nn::lstm has no empty state
    std::vector<nn::dense<float>> heads_;
    std::vector<nn::adam<float>> opt_; // 0 or 1 element, likewise
    std::vector<nn::parameter<float>> params_;
    nn::array<float> x_, h_, dh_, ht_, dht_, logits_, dlogits_;
};

static_assert(decision_policy<lstm_policy>);

} // namespace xnas
