#pragma once
// An ensemble of small MLP regressors built from the training core (nn::dense + nn::relu,
// trained with nn::adam on the mean squared error): the performance predictor of BANANAS.
// Predictions give a mean and a spread (the ensemble's standard deviation).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/optim/adam.hpp>

namespace xnas::detail {

struct mlp_ensemble_options {
    std::size_t members = 5;
    std::vector<std::size_t> hidden{32, 32};
    std::size_t epochs = 100;
    std::size_t batch_size = 32;
    double learning_rate = 0.01;
    double weight_decay = 0.0;
};

class mlp_ensemble {
  public:
    explicit mlp_ensemble(mlp_ensemble_options options = {})
        : options_(std::move(options)) {}

    /// Trains every member from scratch on rows x (all of one length) with targets y.
    void fit(const std::vector<std::vector<double>>& x, const std::vector<double>& y, rng& g) {
        if (x.empty() || x.size() != y.size())
            throw std::invalid_argument(
                "xnas::detail::mlp_ensemble::fit: " + std::to_string(x.size()) + " rows and " +
                std::to_string(y.size()) + " targets");
        features_ = x[0].size();
        const std::size_t n = x.size();
        // Standardise targets so learning rate and initial scale do not depend on the metric.
        mean_ = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n);
        double var = 0;
        for (double v : y)
            var += (v - mean_) * (v - mean_);
        scale_ = n > 1 ? std::sqrt(var / static_cast<double>(n - 1)) : 1.0;
        if (!(scale_ > 1e-12))
            scale_ = 1.0;
        nets_.clear();
        const std::size_t bs = std::max<std::size_t>(1, std::min(options_.batch_size, n));
        nn::array<float> xb, yb, dy;
        std::vector<std::size_t> order(n);
        for (std::size_t m = 0; m < options_.members; ++m) {
            rng mg = g.split();
            nets_.push_back(make_net(mg));
            auto& net = nets_.back();
            nn::adam<float> opt(
                {.lr = options_.learning_rate, .weight_decay = options_.weight_decay});
            const auto params = net.parameters();
            std::iota(order.begin(), order.end(), std::size_t{0});
            for (std::size_t epoch = 0; epoch < options_.epochs; ++epoch) {
                mg.shuffle(order.begin(), order.end());
                for (std::size_t start = 0; start < n; start += bs) {
                    const std::size_t b = std::min(bs, n - start);
                    nn::ensure_shape(xb, {b, features_});
                    nn::ensure_shape(yb, {b, 1});
                    for (std::size_t r = 0; r < b; ++r) {
                        const auto& row = x[order[start + r]];
                        for (std::size_t c = 0; c < features_; ++c)
                            xb.data()[r * features_ + c] = static_cast<float>(row[c]);
                        yb.data()[r] = static_cast<float>((y[order[start + r]] - mean_) / scale_);
                    }
                    const auto& out = net.forward(xb, nn::mode::train);
                    nn::mean_squared_error<float>{}(out, yb, &dy);
                    net.backward(dy);
                    opt.step(params);
                }
            }
        }
    }

    bool fitted() const { return !nets_.empty(); }

    /// Mean and standard deviation over members of the prediction for each row.
    void predict(const std::vector<std::vector<double>>& x, std::vector<double>& mean,
                 std::vector<double>& stddev) {
        const std::size_t n = x.size();
        mean.assign(n, 0.0);
        stddev.assign(n, 0.0);
        if (n == 0 || nets_.empty())
            return;
        nn::array<float> xb;
        nn::ensure_shape(xb, {n, features_});
        for (std::size_t r = 0; r < n; ++r)
            for (std::size_t c = 0; c < features_; ++c)
                xb.data()[r * features_ + c] = static_cast<float>(x[r][c]);
        std::vector<double> sq(n, 0.0);
        for (auto& net : nets_) {
            const auto& out = net.forward(xb, nn::mode::eval);
            for (std::size_t r = 0; r < n; ++r) {
                const double v = static_cast<double>(out.data()[r]) * scale_ + mean_;
                mean[r] += v;
                sq[r] += v * v;
            }
        }
        const double k = static_cast<double>(nets_.size());
        for (std::size_t r = 0; r < n; ++r) {
            mean[r] /= k;
            stddev[r] = std::sqrt(std::max(0.0, sq[r] / k - mean[r] * mean[r]));
        }
    }

  private:
    nn::network<float> make_net(rng& g) const {
        nn::network<float> net({features_});
        std::size_t in = features_;
        for (std::size_t h : options_.hidden) {
            nn::dense<float> d(in, h);
            nn::init::apply(d, nn::init::scheme::pytorch_default, g);
            net.add(std::move(d));
            net.add(nn::relu<float>());
            in = h;
        }
        nn::dense<float> out(in, 1);
        nn::init::apply(out, nn::init::scheme::pytorch_default, g);
        net.add(std::move(out));
        return net;
    }

    mlp_ensemble_options options_;
    std::vector<nn::network<float>> nets_;
    std::size_t features_ = 0;
    double mean_ = 0, scale_ = 1;
};

} // namespace xnas::detail
