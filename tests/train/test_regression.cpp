// Regression in the training core: fit recovering a known linear map and fitting a non-linear
// function, the network's gradient under mean squared error against finite differences
// (through fit's own step), the data-parallel path, fit_state continuation, callbacks and early
// stopping on regression metrics, mismatched losses, data and networks, and fine_tune onto a
// regression target.

#include "nn/gradient_check.hpp"
#include "same_weights.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/batch_norm.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/optim/adam.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/train.hpp>
#include <xnas/train/parallel.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {

/// y = W x + b + N(0, noise^2) per target, x ~ N(0, 1): n samples, F = 3 features, K = 2.
template <class T = float>
data::dataset<T> linear_problem(std::size_t n, double noise, std::uint64_t seed) {
    static constexpr double w[2][3] = {{1.5, -2.0, 0.5}, {0.3, 0.8, -1.2}};
    static constexpr double b[2] = {0.7, -0.4};
    rng g(seed);
    data::dataset<T> ds;
    ds.x = nn::array<T>::from_shape({n, 3});
    ds.targets = nn::array<T>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t f = 0; f < 3; ++f)
            ds.x(i, f) = static_cast<T>(g.normal());
        for (std::size_t k = 0; k < 2; ++k) {
            double y = b[k] + g.normal(0.0, noise);
            for (std::size_t f = 0; f < 3; ++f)
                y += w[k][f] * static_cast<double>(ds.x(i, f));
            ds.targets(i, k) = static_cast<T>(y);
        }
    }
    return ds;
}

/// y = sin(x1) + x2^2, x uniform in [-2, 2]^2, no noise.
data::dataset<float> sine_problem(std::size_t n, std::uint64_t seed) {
    rng g(seed);
    data::dataset<float> ds;
    ds.x = nn::array<float>::from_shape({n, 2});
    ds.targets = nn::array<float>::from_shape({n, 1});
    for (std::size_t i = 0; i < n; ++i) {
        const double a = g.uniform(-2, 2), c = g.uniform(-2, 2);
        ds.x(i, 0) = static_cast<float>(a);
        ds.x(i, 1) = static_cast<float>(c);
        ds.targets(i, 0) = static_cast<float>(std::sin(a) + c * c);
    }
    return ds;
}

template <class T = float>
nn::network<T> regression_mlp(std::size_t in, std::size_t hidden, std::size_t out,
                              std::uint64_t seed, bool batch_norm = false) {
    nn::network<T> net({in});
    net.add(nn::dense<T>(in, hidden));
    if (batch_norm)
        net.add(nn::batch_norm<T>({.features = hidden}));
    net.add(nn::tanh<T>());
    net.add(nn::dense<T>(hidden, out));
    rng g(seed);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    return net;
}

/// Largest |a - b| / max(1, |b|) over every parameter value.
template <class T>
double largest_difference(nn::network<T>& a, nn::network<T>& b) {
    auto pa = a.parameters(), pb = b.parameters();
    REQUIRE(pa.size() == pb.size());
    double worst = 0;
    for (std::size_t k = 0; k < pa.size(); ++k)
        for (std::size_t i = 0; i < pa[k].value->size(); ++i) {
            const double x = static_cast<double>(pa[k].value->data()[i]);
            const double y = static_cast<double>(pb[k].value->data()[i]);
            worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(y)));
        }
    return worst;
}

/// Population standard deviation of all target values: the RMSE of predicting their mean.
double target_sd(const data::dataset<float>& ds) {
    double mean = 0;
    for (float v : ds.targets)
        mean += v;
    mean /= static_cast<double>(ds.targets.size());
    double ss = 0;
    for (float v : ds.targets)
        ss += (v - mean) * (v - mean);
    return std::sqrt(ss / static_cast<double>(ds.targets.size()));
}

} // namespace

TEST_CASE("fit recovers a linear map y = W x + b from noisy samples", "[train][fit][regression]") {
    const double noise = 0.05;
    const auto train_set = linear_problem(512, noise, 1), val_set = linear_problem(256, noise, 2);
    nn::network<float> net({3});
    net.add(nn::dense<float>(3, 2));
    rng g(3);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    nn::mean_squared_error<float> mse;
    const double r2_before = train::evaluate(net, mse, val_set).r2;
    nn::sgd<float> opt({.lr = 0.05, .momentum = 0.9});
    const auto h = train::fit(net, mse, opt, train_set, val_set,
                              {.epochs = 30,
                               .batch_size = 32,
                               .seed = 4,
                               .schedule = nn::cosine_schedule{.base_lr = 0.05, .period = 30}});
    REQUIRE(h.epochs.size() == 30);
    // The weights approach W and b.
    const auto params = net.parameters();
    const nn::array<float>& w = *params[0].value;
    const nn::array<float>& b = *params[1].value;
    const double want_w[2][3] = {{1.5, -2.0, 0.5}, {0.3, 0.8, -1.2}};
    const double want_b[2] = {0.7, -0.4};
    for (std::size_t k = 0; k < 2; ++k) {
        CAPTURE(k);
        CHECK(b(k) == Approx(want_b[k]).margin(0.02));
        for (std::size_t f = 0; f < 3; ++f)
            CHECK(w(k, f) == Approx(want_w[k][f]).margin(0.02));
    }
    // Held-out error comes down to the noise, not below it by much.
    const auto& last = h.last();
    CHECK(last.val_rmse < 1.2 * noise);
    CHECK(last.val_rmse > 0.8 * noise);
    CHECK(last.val_r2 > 0.99);
    CHECK(r2_before < 0.5);
    // Regression epochs report RMSE and R^2, never an accuracy.
    CHECK(std::isnan(last.accuracy));
    CHECK(std::isnan(last.val_accuracy));
    CHECK(last.rmse < 1.2 * noise);
    CHECK(h.epochs.front().rmse > last.rmse);
    CHECK(last.val_loss == Approx(last.val_rmse * last.val_rmse).epsilon(1e-5));
    // evaluate in batches of 7 equals the metrics of the whole set at once
    const auto result = train::evaluate(net, mse, val_set, 7);
    const nn::array<float> all = net.forward(val_set.x, nn::mode::eval);
    CHECK(result.samples == 256);
    CHECK(std::isnan(result.accuracy));
    CHECK(result.loss == Approx(mse(all, val_set.targets)).epsilon(1e-5));
    CHECK(result.rmse == Approx(train::rmse(all, val_set.targets)).epsilon(1e-6));
    CHECK(result.r2 == Approx(train::r_squared(all, val_set.targets)).epsilon(1e-9));
    CHECK(result.rmse == Approx(last.val_rmse).epsilon(1e-6));
}

TEST_CASE("a small MLP fits y = sin(x1) + x2^2", "[train][fit][regression]") {
    const auto train_set = sine_problem(1024, 5), val_set = sine_problem(256, 6);
    auto net = regression_mlp(2, 32, 1, 7);
    nn::adam<float> opt({.lr = 0.01});
    const auto h = train::fit(net, nn::mean_squared_error<float>{}, opt, train_set, val_set,
                              {.epochs = 40, .batch_size = 32, .seed = 8});
    INFO("val_rmse " << h.last().val_rmse << ", val_r2 " << h.last().val_r2);
    CHECK(h.last().val_r2 > 0.9);
    CHECK(h.last().val_rmse < 0.3 * target_sd(val_set));
    // A linear model cannot do this: the non-linearity is needed.
    nn::network<float> linear({2});
    linear.add(nn::dense<float>(2, 1));
    rng g(9);
    nn::init::apply(linear, nn::init::scheme::pytorch_default, g);
    nn::adam<float> opt2({.lr = 0.01});
    const auto hl = train::fit(linear, nn::mean_squared_error<float>{}, opt2, train_set, val_set,
                               {.epochs = 40, .batch_size = 32, .seed = 8});
    CHECK(hl.last().val_r2 < 0.5);
}

TEST_CASE("the network's gradient under mean squared error matches finite differences",
          "[train][fit][regression]") {
    // One batch, plain SGD with lr = 1: the step fit takes is minus the gradient it computed
    // (forward, loss, backward), for one thread and for three shards of the batch.
    const auto ds = linear_problem<double>(7, 0.5, 10);
    const auto start = regression_mlp<double>(3, 5, 2, 11);
    nn::mean_squared_error<double> mse;
    auto loss_at = [&](nn::network<double>& net) {
        return mse(net.forward(ds.x, nn::mode::train), ds.targets);
    };
    for (std::size_t threads : {1, 3}) {
        CAPTURE(threads);
        auto net = start, probe = start;
        nn::sgd<double> opt({.lr = 1.0});
        const auto h =
            train::fit(net, mse, opt, ds,
                       {.epochs = 1, .batch_size = 7, .shuffle = false, .threads = threads});
        CHECK(h.last().loss == Approx(loss_at(probe)).epsilon(1e-12));
        CHECK(h.last().rmse == Approx(std::sqrt(loss_at(probe))).epsilon(1e-12));
        auto after = net.parameters(), before = probe.parameters();
        REQUIRE(after.size() == before.size());
        const double eps = 1e-6;
        for (std::size_t p = 0; p < before.size(); ++p)
            for (std::size_t i = 0; i < before[p].value->size(); ++i) {
                const double analytic =
                    before[p].value->data()[i] - after[p].value->data()[i]; // lr = 1
                double& v = before[p].value->data()[i];
                const double saved = v;
                v = saved + eps;
                const double up = loss_at(probe);
                v = saved - eps;
                const double down = loss_at(probe);
                v = saved;
                const double numeric = (up - down) / (2 * eps);
                INFO(before[p].name << " element " << i << ": analytic " << analytic << ", numeric "
                                    << numeric);
                CHECK(test::relative_error(analytic, numeric) < 1e-6);
            }
    }
}

TEST_CASE("data-parallel fit on a regression set", "[train][parallel][regression]") {
    SECTION("threads reach the same fit as one thread") {
        const auto train_set = linear_problem(512, 0.05, 12),
                   val_set = linear_problem(256, 0.05, 13);
        nn::mean_squared_error<float> mse;
        for (std::size_t threads : {1, 2}) {
            CAPTURE(threads);
            auto net = regression_mlp(3, 16, 2, 14);
            nn::adam<float> opt({.lr = 0.01});
            const auto h =
                train::fit(net, mse, opt, train_set, val_set,
                           {.epochs = 20, .batch_size = 32, .seed = 3, .threads = threads});
            REQUIRE(h.epochs.size() == 20);
            CHECK(h.images == 20 * 512);
            CHECK(h.epochs.back().loss < h.epochs.front().loss);
            CHECK(std::isnan(h.last().accuracy));
            CHECK(h.last().rmse < 0.25);
            CHECK(h.last().val_r2 > 0.98);
        }
    }
    SECTION("sharded gradients equal the full batch's, batch norm included") {
        const auto ds = linear_problem<double>(10, 0.1, 15);
        nn::mean_squared_error<double> mse;
        auto full = regression_mlp<double>(3, 6, 2, 16, true), net = full;
        train::detail::data_parallel<double, nn::mean_squared_error<double>> dp(net, mse, 3, 1);
        const auto t = dp.step(ds.x, ds.targets, "test", 0, 0);
        nn::array<double> dy;
        const nn::array<double>& out = full.forward(ds.x, nn::mode::train);
        const double loss = mse(out, ds.targets, &dy);
        const double squared = train::detail::squared_error_sum(out, ds.targets);
        full.backward(dy);
        CHECK(t.loss == Approx(loss).epsilon(1e-12));
        CHECK(t.squared_error == Approx(squared).epsilon(1e-12));
        CHECK(std::isnan(t.accuracy));
        auto pa = net.parameters(), pb = full.parameters();
        for (std::size_t k = 0; k < pa.size(); ++k)
            for (std::size_t i = 0; i < pa[k].gradient->size(); ++i)
                CHECK(pa[k].gradient->data()[i] ==
                      Approx(pb[k].gradient->data()[i]).epsilon(1e-10).margin(1e-12));
    }
    SECTION("same seed and threads, same weights; threads change rounding only") {
        const auto ds = linear_problem<double>(203, 0.1, 17); // last batch of 11
        auto run = [&](std::size_t threads, std::uint64_t seed) {
            auto net = regression_mlp<double>(3, 8, 2, 18, true);
            nn::adam<double> opt({.lr = 0.01});
            train::fit(net, nn::mean_squared_error<double>{}, opt, ds,
                       {.epochs = 3, .batch_size = 16, .seed = seed, .threads = threads});
            return net;
        };
        auto one = run(1, 5), two = run(2, 5), again = run(2, 5), other = run(2, 6);
        CHECK(test::same_weights(two, again));
        CHECK_FALSE(test::same_weights(two, other));
        CHECK(largest_difference(two, one) < 1e-9);
    }
}

TEST_CASE("a regression fit continues from its state as if it had not stopped",
          "[train][parallel][regression]") {
    const auto ds = linear_problem(203, 0.1, 19);
    nn::mean_squared_error<float> mse;
    for (std::size_t threads : {1, 2}) {
        CAPTURE(threads);
        auto whole = regression_mlp(3, 8, 2, 20, true), parts = whole;
        nn::adam<float> whole_opt({.lr = 0.01}), parts_opt = whole_opt;
        const train::fit_options o{.epochs = 3, .batch_size = 32, .seed = 6, .threads = threads};
        const auto h = train::fit(whole, mse, whole_opt, ds, o);
        train::fit_state state;
        auto first = o;
        first.epochs = 1;
        first.state = &state;
        train::fit(parts, mse, parts_opt, ds, first);
        auto rest = o;
        rest.state = &state;
        const auto h2 = train::fit(parts, mse, parts_opt, ds, rest);
        CHECK(state.epochs_done == 3);
        CHECK(h2.epochs.size() == 2);
        CHECK(h2.last().loss == h.last().loss);
        CHECK(h2.last().rmse == h.last().rmse);
        CHECK(test::same_weights(parts, whole));
    }
}

TEST_CASE("callbacks, early stopping and restore_best watch regression metrics",
          "[train][fit][regression]") {
    const auto tr = linear_problem(96, 0.1, 21), val = linear_problem(48, 0.1, 22);
    nn::mean_squared_error<float> mse;
    SECTION("batch results carry the batch's RMSE") {
        struct rmse_of_batches {
            std::vector<double> rmse;
            void on_batch_end(const train::batch_result& r) {
                CHECK(std::isnan(r.accuracy));
                rmse.push_back(r.rmse);
            }
        } seen;
        auto net = regression_mlp(3, 8, 2, 23);
        nn::sgd<float> opt({.lr = 0.05});
        train::fit(net, mse, opt, tr, {.epochs = 1, .batch_size = 32, .shuffle = false}, seen);
        REQUIRE(seen.rmse.size() == 3);
        // The first batch's RMSE is the one of the untrained network on samples 0..31.
        auto fresh = regression_mlp(3, 8, 2, 23);
        const auto first = tr.first(32);
        CHECK(seen.rmse[0] ==
              Approx(train::rmse(fresh.forward(first.x, nn::mode::train), first.targets))
                  .epsilon(1e-6));
    }
    SECTION("early stopping on val_rmse") {
        auto net = regression_mlp(3, 8, 2, 24);
        nn::sgd<float> opt({.lr = 0.0}); // nothing changes, so nothing improves after epoch 0
        train::early_stopping stop({.monitor = train::metric::val_rmse, .patience = 2});
        const auto h = train::fit(net, mse, opt, tr, val, {.epochs = 50, .batch_size = 32}, stop);
        CHECK(h.stop == train::stop_reason::callback);
        CHECK(h.epochs.size() == 3);
        CHECK(stop.best_epoch() == 0);
        CHECK(stop.best() == h.epochs[0].val_rmse);
        CHECK_FALSE(train::maximizes(train::metric::val_rmse));
        CHECK(train::maximizes(train::metric::val_r2));
    }
    SECTION("restore_best keeps the epoch of the best val_r2") {
        auto net = regression_mlp(3, 8, 2, 25);
        nn::adam<float> opt({.lr = 0.02});
        train::restore_best<float> keep(net, train::metric::val_r2);
        const auto h = train::fit(net, mse, opt, tr, val, {.epochs = 5, .batch_size = 32}, keep);
        double best = -1e300;
        std::size_t best_epoch = 0;
        for (const auto& e : h.epochs)
            if (e.val_r2 > best) {
                best = e.val_r2;
                best_epoch = e.epoch;
            }
        CHECK(keep.best_epoch() == best_epoch);
        CHECK(train::evaluate(net, mse, val).r2 == Approx(best).epsilon(1e-6));
    }
    SECTION("an accuracy on a regression set, or an RMSE on class labels, is an error") {
        auto net = regression_mlp(3, 8, 2, 26);
        nn::sgd<float> opt({.lr = 0.01});
        train::early_stopping acc({.monitor = train::metric::accuracy});
        CHECK_THROWS_WITH(train::fit(net, mse, opt, tr, {.epochs = 1}, acc),
                          Contains("accuracy") && Contains("regression set"));
        data::dataset<float> labelled;
        labelled.x = tr.x;
        labelled.num_classes = 2;
        for (std::size_t i = 0; i < tr.size(); ++i)
            labelled.labels.push_back(static_cast<std::int32_t>(i % 2));
        train::early_stopping rmse({.monitor = train::metric::rmse});
        CHECK_THROWS_WITH(
            train::fit(net, nn::softmax_cross_entropy<float>{}, opt, labelled, {.epochs = 1}, rmse),
            Contains("rmse") && Contains("regression sets only"));
    }
}

TEST_CASE("fit and evaluate refuse a loss, data or network of the wrong kind, naming it",
          "[train][fit][regression]") {
    const auto reg = linear_problem(40, 0.1, 27);
    data::dataset<float> labelled;
    labelled.x = reg.x;
    labelled.num_classes = 2;
    for (std::size_t i = 0; i < reg.size(); ++i)
        labelled.labels.push_back(static_cast<std::int32_t>(i % 2));
    auto net = regression_mlp(3, 8, 2, 28);
    nn::sgd<float> opt({.lr = 0.01});
    nn::softmax_cross_entropy<float> ce;
    nn::mean_squared_error<float> mse;

    CHECK_THROWS_AS(train::fit(net, ce, opt, reg, {.epochs = 1}), std::invalid_argument);
    CHECK_THROWS_WITH(train::fit(net, ce, opt, reg, {.epochs = 1}),
                      Contains("training set is a regression set") && Contains("regression_loss") &&
                          Contains("mean_squared_error"));
    CHECK_THROWS_WITH(train::evaluate(net, ce, reg),
                      Contains("evaluation set is a regression set"));
    CHECK_THROWS_WITH(train::fit(net, mse, opt, labelled, {.epochs = 1}),
                      Contains("class labels") && Contains("classification_loss"));
    CHECK_THROWS_WITH(train::fit(net, mse, opt, reg, labelled, {.epochs = 1}),
                      Contains("validation set has class labels"));
    // default_loss takes either, so the kinds of the two sets must agree
    CHECK_THROWS_WITH(
        train::fit(net, train::default_loss<float>{}, opt, reg, labelled, {.epochs = 1}),
        Contains("expected both of one kind"));
    // three outputs for two targets per sample
    auto wide = regression_mlp(3, 8, 3, 29);
    CHECK_THROWS_AS(train::fit(wide, mse, opt, reg, {.epochs = 1}), shape_error);
    CHECK_THROWS_WITH(train::evaluate(wide, mse, reg),
                      Contains("(3)") && Contains("2 values per sample") &&
                          Contains("expected outputs of shape (2)"));
    // label smoothing has no classes to smooth
    CHECK_THROWS_WITH(train::fit(net, train::default_loss<float>{.label_smoothing = 0.1}, opt, reg,
                                 {.epochs = 1}),
                      Contains("label_smoothing"));
    // nothing above took a step: every refusal comes before the optimizer's first
    auto untouched = regression_mlp(3, 8, 2, 28);
    CHECK(test::same_weights(net, untouched));
}

TEST_CASE("default_loss is cross-entropy on class labels and mean squared error on targets",
          "[train][regression]") {
    STATIC_REQUIRE(train::classification_loss<train::default_loss<float>, float>);
    STATIC_REQUIRE(train::regression_loss<train::default_loss<float>, float>);
    STATIC_REQUIRE_FALSE(train::regression_loss<nn::softmax_cross_entropy<float>, float>);
    STATIC_REQUIRE_FALSE(train::classification_loss<nn::mean_squared_error<float>, float>);
    const nn::array<float> y = {{0.5f, -1.0f}, {2.0f, 0.25f}}, t = {{1.0f, 0.0f}, {1.5f, 1.0f}};
    const std::vector<std::int32_t> labels{1, 0};
    nn::array<float> d1, d2;
    const train::default_loss<float> both{.label_smoothing = 0.1};
    CHECK(both(y, std::span<const std::int32_t>(labels), &d1) ==
          nn::softmax_cross_entropy<float>{.label_smoothing = 0.1}(y, labels, &d2));
    CHECK((d1 == d2));
    CHECK(train::default_loss<float>{}(y, t, &d1) == nn::mean_squared_error<float>{}(y, t, &d2));
    CHECK((d1 == d2));
    CHECK_THROWS_AS(both(y, t), std::invalid_argument);
}

TEST_CASE("fine_tune moves a classifier to a regression target with a head of width K",
          "[train][transfer][regression]") {
    // A trunk trained to classify the sign pattern of the inputs, then fine-tuned to predict
    // the linear problem's two targets.
    const auto reg = linear_problem(512, 0.05, 30), val = linear_problem(128, 0.05, 31);
    data::dataset<float> labelled;
    labelled.x = reg.x;
    labelled.num_classes = 4;
    for (std::size_t i = 0; i < reg.size(); ++i)
        labelled.labels.push_back(
            static_cast<std::int32_t>((reg.x(i, 0) > 0 ? 1 : 0) + (reg.x(i, 1) > 0 ? 2 : 0)));
    auto net = regression_mlp(3, 32, 4, 32);
    nn::adam<float> opt({.lr = 0.01});
    train::fit(net, nn::softmax_cross_entropy<float>{}, opt, labelled, {.epochs = 3, .seed = 1});
    REQUIRE(net.output_shape() == nn::shape{4});
    const auto h = train::fine_tune(net, reg, &val,
                                    {.head_epochs = 2,
                                     .epochs = 20,
                                     .sgd = {.lr = 0.02, .momentum = 0.9},
                                     .batch_size = 32,
                                     .seed = 2});
    CHECK(net.output_shape() == nn::shape{2});
    REQUIRE(h.epochs.size() == 22);
    CHECK(std::isnan(h.last().accuracy));
    CHECK(h.last().rmse < h.epochs.front().rmse);
    INFO("val_r2 " << h.last().val_r2);
    CHECK(h.last().val_r2 > 0.95);
}
