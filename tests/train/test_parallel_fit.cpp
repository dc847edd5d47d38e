#include "same_weights.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/batch_norm.hpp>
#include <xnas/nn/layers/conv2d.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/dropout.hpp>
#include <xnas/nn/layers/flatten.hpp>
#include <xnas/nn/layers/identity.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/optim/adam.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/train.hpp>
#include <xnas/train/parallel.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {
using xnas::test::same_weights;

/// n samples of `classes` Gaussian blobs in `dims` dimensions, centres 3 apart on the axes.
template <class T = float>
data::dataset<T> blobs(std::size_t n, std::size_t classes, std::size_t dims, rng& g) {
    data::dataset<T> ds;
    ds.num_classes = classes;
    ds.x = nn::array<T>::from_shape({n, dims});
    ds.labels.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<std::int32_t>(g.below(classes));
        ds.labels[i] = c;
        for (std::size_t d = 0; d < dims; ++d)
            ds.x(i, d) =
                static_cast<T>(g.normal(d == static_cast<std::size_t>(c) % dims ? 3.0 : 0.0, 0.7));
    }
    return ds;
}

/// n Gaussian images (mean `mean`, sd 1) of `shape` with uniform labels in [0, classes).
std::pair<nn::array<double>, std::vector<std::int32_t>>
random_images(rng& g, std::size_t n, const nn::shape& shape, std::size_t classes, double mean) {
    nn::shape full{n};
    full.insert(full.end(), shape.begin(), shape.end());
    auto x = nn::array<double>::from_shape(full);
    for (auto& v : x)
        v = g.normal(mean, 1.0);
    std::vector<std::int32_t> labels(n);
    for (auto& l : labels)
        l = static_cast<std::int32_t>(g.below(classes));
    return {std::move(x), std::move(labels)};
}

template <class T = float>
void init(nn::network<T>& net, std::uint64_t seed) {
    rng g(seed);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
}

template <class T = float>
nn::network<T> mlp(std::size_t in, std::size_t hidden, std::size_t classes, std::uint64_t seed) {
    nn::network<T> net({in});
    net.add(nn::dense<T>(in, hidden));
    net.add(nn::relu<T>());
    net.add(nn::dense<T>(hidden, classes));
    init(net, seed);
    return net;
}

/// An MLP with batch norm and dropout: exercises the replicas' running state and masks.
nn::network<float> mlp_bn_dropout(std::size_t in, std::size_t classes, std::uint64_t seed) {
    nn::network<float> net({in});
    net.add(nn::dense<float>(in, 16));
    net.add(nn::batch_norm<float>({.features = 16}));
    net.add(nn::relu<float>());
    net.add(nn::dropout<float>(0.2, 9));
    net.add(nn::dense<float>(16, classes));
    init(net, seed);
    return net;
}

/// Passes x through, but throws in train mode for batches of `fail_at` samples: fails some
/// shards of a split batch and not others.
struct failing_at_size {
    using value_type = double;
    std::size_t fail_at = 0;
    void forward(const nn::array<double>& x, nn::array<double>& y, nn::mode m) {
        if (m == nn::mode::train && x.shape()[0] == fail_at)
            throw std::runtime_error("failing_at_size: a shard of " + std::to_string(fail_at));
        nn::identity<double>().forward(x, y, m);
    }
    void backward(const nn::array<double>& x, const nn::array<double>& y,
                  const nn::array<double>& dy, nn::array<double>* dx) {
        nn::identity<double>().backward(x, y, dy, dx);
    }
    std::vector<nn::parameter<double>> parameters() { return {}; }
    nn::shape output_shape(const nn::shape& in) const { return in; }
    std::size_t parameter_count() const { return 0; }
    std::size_t flops(const nn::shape&) const { return 0; }
};

/// Largest |a - b| / max(1, |b|) over every parameter value (or gradient).
template <class T>
double max_relative_difference(nn::network<T>& a, nn::network<T>& b, bool gradients) {
    auto pa = a.parameters(), pb = b.parameters();
    REQUIRE(pa.size() == pb.size());
    double worst = 0;
    for (std::size_t k = 0; k < pa.size(); ++k) {
        const auto& va = gradients ? *pa[k].gradient : *pa[k].value;
        const auto& vb = gradients ? *pb[k].gradient : *pb[k].value;
        REQUIRE(va.size() == vb.size());
        for (std::size_t i = 0; i < va.size(); ++i) {
            const double x = static_cast<double>(va.data()[i]);
            const double y = static_cast<double>(vb.data()[i]);
            worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(y)));
        }
    }
    return worst;
}

/// A batch-end hook from a lambda.
template <class F>
struct batch_hook {
    F f;
    bool on_batch_end(const train::batch_result& r) { return f(r); }
};
template <class F>
batch_hook<F> on_batch_end(F f) {
    return {std::move(f)};
}

} // namespace

TEST_CASE("data-parallel fit reaches the same accuracy as one thread", "[train][parallel]") {
    rng g(1);
    const auto train_set = blobs(600, 3, 4, g), test_set = blobs(300, 3, 4, g);
    nn::softmax_cross_entropy<float> ce;
    for (std::size_t threads : {1, 2, 3}) {
        CAPTURE(threads);
        auto net = mlp(4, 16, 3, 7);
        nn::sgd<float> opt({.lr = 0.05, .momentum = 0.9});
        auto h = train::fit(net, ce, opt, train_set,
                            {.epochs = 8, .batch_size = 32, .seed = 3, .threads = threads});
        REQUIRE(h.epochs.size() == 8);
        CHECK(h.images == 8 * 600);
        CHECK(h.stop == train::stop_reason::completed);
        CHECK(h.epochs.back().loss < h.epochs.front().loss);
        CHECK(h.epochs.back().accuracy >= 0.9);
        CHECK(train::evaluate(net, ce, test_set).accuracy >= 0.95);
    }
    SECTION("with batch norm and dropout") {
        auto net = mlp_bn_dropout(4, 3, 5);
        nn::adam<float> opt({.lr = 0.01});
        train::fit(net, ce, opt, train_set,
                   {.epochs = 8, .batch_size = 32, .seed = 3, .threads = 2});
        CHECK(train::evaluate(net, ce, test_set).accuracy >= 0.95);
    }
}

TEST_CASE("sharded gradients equal the full batch's", "[train][parallel]") {
    nn::softmax_cross_entropy<double> ce;
    rng g(2);
    SECTION("MLP, 10 samples over 3 shards (4, 3, 3)") {
        const auto ds = blobs<double>(10, 3, 5, g);
        auto net = mlp<double>(5, 7, 3, 4);
        nn::network<double> full = net;
        train::detail::data_parallel<double, nn::softmax_cross_entropy<double>> dp(net, ce, 3, 1);
        const auto t = dp.step(ds.x, ds.labels, "test", 0, 0);
        nn::array<double> dy;
        const double loss = ce(full.forward(ds.x, nn::mode::train), ds.labels, &dy);
        full.backward(dy);
        CHECK(t.loss == Approx(loss).epsilon(1e-12));
        CHECK(max_relative_difference(net, full, true) < 1e-10);
        CHECK(max_relative_difference(net, full, false) == 0); // a step leaves weights alone
    }
    SECTION("CNN, 9 samples over 2 shards (5, 4)") {
        const auto [x, labels] = random_images(g, 9, {2, 6, 6}, 4, 0.0);
        nn::network<double> net({2, 6, 6});
        net.add(nn::conv2d<double>(
            {.in_channels = 2, .out_channels = 3, .padding_h = 1, .padding_w = 1}));
        net.add(nn::tanh<double>());
        net.add(nn::flatten<double>());
        net.add(nn::dense<double>(3 * 6 * 6, 4));
        init(net, 6);
        nn::network<double> full = net;
        train::detail::data_parallel<double, nn::softmax_cross_entropy<double>> dp(net, ce, 2, 1);
        dp.step(x, labels, "test", 0, 0);
        nn::array<double> dy;
        ce(full.forward(x, nn::mode::train), labels, &dy);
        full.backward(dy);
        CHECK(max_relative_difference(net, full, true) < 1e-10);
    }
    SECTION("batch norm, 10 samples over 3 shards: synchronised statistics") {
        // Two batch norms, one over features and one over channels and positions, so both the
        // statistics (forward) and the gradient sums (backward) must cross the shards.
        // Off-centre inputs (mean 1.5), so a wrong mean shows.
        const auto [x, labels] = random_images(g, 10, {2, 5, 5}, 3, 1.5);
        auto make = [] {
            nn::network<double> net({2, 5, 5});
            net.add(nn::conv2d<double>(
                {.in_channels = 2, .out_channels = 3, .padding_h = 1, .padding_w = 1}));
            net.add(nn::batch_norm<double>({.features = 3}));
            net.add(nn::relu<double>());
            net.add(nn::flatten<double>());
            net.add(nn::dense<double>(3 * 5 * 5, 6));
            net.add(nn::batch_norm<double>({.features = 6}));
            net.add(nn::tanh<double>());
            net.add(nn::dense<double>(6, 3));
            init(net, 8);
            return net;
        };
        nn::network<double> full = make();
        nn::array<double> dy;
        const double loss = ce(full.forward(x, nn::mode::train), labels, &dy);
        full.backward(dy);
        for (const bool sync : {true, false}) {
            CAPTURE(sync);
            auto net = make();
            train::detail::data_parallel<double, nn::softmax_cross_entropy<double>> dp(net, ce, 3,
                                                                                       1, sync);
            const auto t = dp.step(x, labels, "test", 0, 0);
            const double gradients = max_relative_difference(net, full, true);
            const double state = max_relative_difference(net, full, false); // running stats
            if (sync) {
                CHECK(t.loss == Approx(loss).epsilon(1e-12));
                CHECK(gradients < 1e-10);
                CHECK(state < 1e-12);
            } else { // each shard normalised by its own 3-4 samples
                CHECK(t.loss != Approx(loss).epsilon(1e-6));
                CHECK(gradients > 1e-3);
                CHECK(state > 1e-6);
            }
        }
    }
    SECTION("a shard that fails releases the shards waiting for it at batch norm") {
        // 10 samples over 3 shards are 4, 3, 3: shards 1 and 2 throw before their batch norm,
        // while shard 0 waits in it for their statistics.
        nn::network<double> net({4});
        net.add(nn::dense<double>(4, 5));
        net.add(failing_at_size{3});
        net.add(nn::batch_norm<double>({.features = 5}));
        net.add(nn::dense<double>(5, 3));
        init(net, 2);
        const auto ds = blobs<double>(10, 3, 4, g);
        train::detail::data_parallel<double, nn::softmax_cross_entropy<double>> dp(net, ce, 3, 1);
        CHECK_THROWS_WITH(dp.step(ds.x, ds.labels, "test", 0, 0),
                          Contains("failing_at_size: a shard of 3"));
        // The group recovers: the next batch, 12 samples in shards of 4, trains.
        const auto ok = blobs<double>(12, 3, 4, g);
        CHECK(std::isfinite(dp.step(ok.x, ok.labels, "test", 0, 1).loss));
    }
}

TEST_CASE("the data-parallel update equals the summed gradients and one optimizer step",
          "[train][parallel]") {
    // Each thread sums, updates and copies to the replicas its share of every parameter; two
    // batches in a row, so the second one's shards must run on the updated weights (replicas
    // get them from the update, not from a copy at the batch's start).
    nn::softmax_cross_entropy<double> ce;
    rng g(21);
    const auto [x, labels] = random_images(g, 11, {2, 5, 5}, 3, 0.5);
    const auto [x2, labels2] = random_images(g, 11, {2, 5, 5}, 3, 0.5);
    auto make = [] {
        nn::network<double> net({2, 5, 5});
        net.add(nn::conv2d<double>(
            {.in_channels = 2, .out_channels = 3, .padding_h = 1, .padding_w = 1}));
        net.add(nn::batch_norm<double>({.features = 3}));
        net.add(nn::relu<double>());
        net.add(nn::flatten<double>());
        net.add(nn::dense<double>(3 * 5 * 5, 3));
        init(net, 4);
        return net;
    };
    for (std::size_t threads : {2, 3}) {
        CAPTURE(threads);
        auto net = make(), ref = make();
        const auto params = net.parameters(), ref_params = ref.parameters();
        nn::adam<double> opt({.lr = 0.05, .weight_decay = 0.01}), ref_opt = opt;
        train::detail::data_parallel<double, nn::softmax_cross_entropy<double>> dp(net, ce, threads,
                                                                                   1);
        for (int b = 0; b < 2; ++b) {
            const auto& bx = b == 0 ? x : x2;
            const auto& bl = b == 0 ? labels : labels2;
            const auto t =
                dp.step_and_update(bx, bl, "test", 0, static_cast<std::size_t>(b), opt, params);
            nn::array<double> dy;
            const double loss = ce(ref.forward(bx, nn::mode::train), bl, &dy);
            ref.backward(dy);
            ref_opt.step(ref_params);
            CHECK(t.loss == Approx(loss).epsilon(1e-12));
            CHECK(max_relative_difference(net, ref, true) < 1e-10);
            CHECK(max_relative_difference(net, ref, false) < 1e-10);
        }
        CHECK(opt.steps() == 2);
    }
    SECTION("a failing shard updates nothing") {
        nn::network<double> net({4});
        net.add(nn::dense<double>(4, 5));
        net.add(failing_at_size{3});
        net.add(nn::dense<double>(5, 3));
        init(net, 2);
        const nn::network<double> before = net;
        const auto ds = blobs<double>(10, 3, 4, g); // shards of 4, 3, 3
        nn::sgd<double> opt({.lr = 0.1});
        train::detail::data_parallel<double, nn::softmax_cross_entropy<double>> dp(net, ce, 3, 1);
        CHECK_THROWS_WITH(dp.step_and_update(ds.x, ds.labels, "test", 0, 0, opt, net.parameters()),
                          Contains("failing_at_size: a shard of 3"));
        nn::network<double> unchanged = before;
        CHECK(max_relative_difference(net, unchanged, false) == 0);
    }
    SECTION("gradient clipping keeps the serial step and still trains") {
        const auto ds = blobs(200, 3, 4, g);
        nn::softmax_cross_entropy<float> cef;
        auto a = mlp(4, 16, 3, 7);
        nn::sgd<float> opt({.lr = 0.05, .momentum = 0.9});
        auto h = train::fit(
            a, cef, opt, ds,
            {.epochs = 4, .batch_size = 32, .seed = 3, .clip_grad_norm = 1, .threads = 2});
        CHECK(h.epochs.back().loss < h.epochs.front().loss);
    }
}

TEST_CASE("a wide dense layer splits its features over the shards' threads", "[train][parallel]") {
    // 520 x 512 weights reach dense::split_min_weights: every shard's thread computes a slice of
    // the outputs, of the weight gradient and of the input gradient for the whole batch. A small
    // layer before it needs the input gradient; 11 samples over 3 shards are 4, 4, 3.
    STATIC_REQUIRE(520 * 512 >= nn::dense<double>::split_min_weights);
    nn::softmax_cross_entropy<double> ce;
    rng g(31);
    auto make = [] {
        nn::network<double> net({6});
        net.add(nn::dense<double>(6, 520));
        net.add(nn::tanh<double>());
        net.add(nn::dense<double>(520, 512));
        net.add(nn::relu<double>());
        net.add(nn::dense<double>(512, 3));
        init(net, 9);
        return net;
    };
    const auto ds = blobs<double>(11, 3, 6, g), ds2 = blobs<double>(11, 3, 6, g);
    for (std::size_t threads : {2, 3}) {
        CAPTURE(threads);
        auto net = make(), ref = make();
        const auto params = net.parameters(), ref_params = ref.parameters();
        nn::adam<double> opt({.lr = 0.01}), ref_opt = opt;
        train::detail::data_parallel<double, nn::softmax_cross_entropy<double>> dp(net, ce, threads,
                                                                                   1);
        for (int b = 0; b < 3; ++b) { // the replicas must compute with the updated weights
            const auto& d = b == 1 ? ds2 : ds;
            const auto t = dp.step_and_update(d.x, d.labels, "test", 0, static_cast<std::size_t>(b),
                                              opt, params);
            nn::array<double> dy;
            const double loss = ce(ref.forward(d.x, nn::mode::train), d.labels, &dy);
            ref.backward(dy);
            ref_opt.step(ref_params);
            CHECK(t.loss == Approx(loss).epsilon(1e-12));
            CHECK(max_relative_difference(net, ref, true) < 1e-10);
            CHECK(max_relative_difference(net, ref, false) < 1e-10);
        }
        // Gradients alone, summed on the calling thread (optimizers that are not partitioned).
        const auto t = dp.step(ds2.x, ds2.labels, "test", 1, 0);
        nn::array<double> dy;
        CHECK(t.loss ==
              Approx(ce(ref.forward(ds2.x, nn::mode::train), ds2.labels, &dy)).epsilon(1e-12));
        ref.backward(dy);
        CHECK(max_relative_difference(net, ref, true) < 1e-10);
    }
    SECTION("a shard that fails releases the shards waiting for it at the wide layer") {
        nn::network<double> net({6});
        net.add(nn::dense<double>(6, 520));
        net.add(failing_at_size{3}); // shard 2 throws; shards 0 and 1 wait in the wide layer
        net.add(nn::dense<double>(520, 512));
        net.add(nn::dense<double>(512, 3));
        init(net, 2);
        train::detail::data_parallel<double, nn::softmax_cross_entropy<double>> dp(net, ce, 3, 1);
        CHECK_THROWS_WITH(dp.step(ds.x, ds.labels, "test", 0, 0),
                          Contains("failing_at_size: a shard of 3"));
        const auto ok = blobs<double>(12, 3, 6, g); // shards of 4: the group recovers
        CHECK(std::isfinite(dp.step(ok.x, ok.labels, "test", 0, 1).loss));
    }
}

TEST_CASE("data-parallel fit: same seed and threads give the same weights", "[train][parallel]") {
    rng g(3);
    const auto ds = blobs(203, 3, 4, g); // last batch of 11
    nn::softmax_cross_entropy<float> ce;
    auto run = [&](std::uint64_t seed, std::size_t threads) {
        auto net = mlp_bn_dropout(4, 3, 11);
        nn::adam<float> opt({.lr = 0.01});
        train::fit(net, ce, opt, ds,
                   {.epochs = 3, .batch_size = 16, .seed = seed, .threads = threads});
        return net;
    };
    for (std::size_t threads : {2, 3}) {
        CAPTURE(threads);
        auto a = run(5, threads), b = run(5, threads), c = run(6, threads);
        CHECK(same_weights(a, b));
        CHECK_FALSE(same_weights(a, c));
    }
    // Without dropout, sharding changes rounding only (batch norm shares its statistics).
    data::dataset<double> dd;
    dd.num_classes = 3;
    dd.labels = ds.labels;
    dd.x = nn::array<double>::from_shape({ds.size(), 4});
    std::copy(ds.x.begin(), ds.x.end(), dd.x.begin());
    auto fit_double = [&](nn::network<double> net, auto opt, std::size_t threads) {
        train::fit(net, nn::softmax_cross_entropy<double>{}, opt, dd,
                   {.epochs = 2, .batch_size = 16, .seed = 7, .threads = threads});
        return net;
    };
    auto with_bn = [&](std::size_t threads) {
        nn::network<double> net({4});
        net.add(nn::dense<double>(4, 8));
        net.add(nn::batch_norm<double>({.features = 8}));
        net.add(nn::relu<double>());
        net.add(nn::dense<double>(8, 3));
        init(net, 13);
        return fit_double(std::move(net), nn::adam<double>({.lr = 0.01}), threads);
    };
    auto bn_one = with_bn(1), bn_two = with_bn(2);
    CHECK(max_relative_difference(bn_two, bn_one, false) < 1e-9);
    auto plain = [&](std::size_t threads) {
        return fit_double(mlp<double>(4, 8, 3, 12), nn::sgd<double>({.lr = 0.05, .momentum = 0.9}),
                          threads);
    };
    auto one = plain(1), three = plain(3);
    CHECK(max_relative_difference(three, one, false) < 1e-9);
}

TEST_CASE("data-parallel fit: small last batches, errors, stops, BLAS threads",
          "[train][parallel]") {
    rng g(4);
    nn::softmax_cross_entropy<float> ce;
    SECTION("a last batch smaller than the thread count") {
        // 21 samples: batches 10, 10, 1; with batch norm (needs 2 samples) 22: 10, 10, 2
        for (std::size_t threads : {3, 4})
            for (bool bn : {false, true}) {
                CAPTURE(threads, bn);
                const auto ds = blobs(bn ? 22 : 21, 3, 4, g);
                auto net = bn ? mlp_bn_dropout(4, 3, 1) : mlp(4, 8, 3, 1);
                nn::sgd<float> opt({.lr = 0.05});
                std::size_t batches = 0, samples = 0;
                auto h = train::fit(net, ce, opt, ds,
                                    {.epochs = 2, .batch_size = 10, .threads = threads},
                                    on_batch_end([&](const train::batch_result& r) {
                                        ++batches;
                                        samples += r.samples;
                                        CHECK(std::isfinite(r.loss));
                                        return false;
                                    }));
                CHECK(batches == 6);
                CHECK(samples == 2 * ds.size());
                CHECK(h.images == 2 * ds.size());
            }
    }
    SECTION("a non-finite loss in a worker's shard names epoch and batch") {
        const auto ds = blobs(64, 3, 4, g);
        nn::network<float> net({4}); // tanh, unlike relu, passes NaN on
        net.add(nn::dense<float>(4, 8));
        net.add(nn::tanh<float>());
        net.add(nn::dense<float>(8, 3));
        init(net, 1);
        nn::sgd<float> opt({.lr = 0.1});
        // NaN input in the last sample: only the last shard (a worker's) sees it
        data::dataset<float> bad = ds;
        bad.x(63, 2) = std::numeric_limits<float>::quiet_NaN();
        CHECK_THROWS_AS(train::fit(net, ce, opt, bad,
                                   {.epochs = 2, .batch_size = 16, .shuffle = false, .threads = 2}),
                        numerical_error);
        CHECK_THROWS_WITH(
            train::fit(net, ce, opt, bad,
                       {.epochs = 2, .batch_size = 16, .shuffle = false, .threads = 3}),
            Contains("diverged at epoch 0, batch 3"));
    }
    SECTION("a callback's stop request ends the run between batches") {
        const auto ds = blobs(200, 3, 4, g);
        auto net = mlp(4, 8, 3, 1);
        nn::sgd<float> opt({.lr = 0.1});
        std::size_t batches = 0;
        auto h =
            train::fit(net, ce, opt, ds, {.epochs = 3, .batch_size = 16, .threads = 2},
                       on_batch_end([&](const train::batch_result&) { return ++batches == 4; }));
        CHECK(batches == 4);
        CHECK(h.stop == train::stop_reason::callback);
        CHECK(h.images == 64);
        std::atomic<bool> cancel{true};
        auto h2 = train::fit(net, ce, opt, ds,
                             {.epochs = 3, .batch_size = 16, .cancel = &cancel, .threads = 2});
        CHECK(h2.stop == train::stop_reason::cancelled);
        CHECK(h2.images == 0);
    }
    SECTION("BLAS threads are restored; threads = 0 is rejected") {
        const auto ds = blobs(40, 3, 4, g);
        auto net = mlp(4, 8, 3, 1);
        nn::sgd<float> opt({.lr = 0.1});
        const int before = nn::blas_threads();
        train::fit(net, ce, opt, ds, {.epochs = 1, .batch_size = 8, .threads = 2});
        CHECK(nn::blas_threads() == before);
        CHECK_THROWS_WITH(train::fit(net, ce, opt, ds, {.epochs = 1, .threads = 0}),
                          Contains("threads is 0"));
    }
}

TEST_CASE("running state is recognised behind network node prefixes", "[train][parallel]") {
    nn::array<float> a;
    CHECK(nn::is_running_state("running_mean"));
    CHECK(nn::is_running_state("3.running_var"));
    CHECK(nn::is_running_state("4.2.running_mean"));
    CHECK_FALSE(nn::is_running_state("3.weight"));
    auto net = mlp_bn_dropout(4, 3, 1);
    std::size_t running = 0;
    for (const auto& p : net.parameters())
        running += nn::is_running_state(p.name) ? 1 : 0;
    CHECK(running == 2);
}

TEST_CASE("fit continues from its state as if it had not stopped", "[train][parallel]") {
    // Batch norm, dropout, Adam's moments, reshuffling and a last batch of 11: everything a
    // training carries from one epoch to the next goes through the network, the optimizer or
    // the fit_state.
    rng g(41);
    const auto ds = blobs(203, 3, 4, g);
    nn::softmax_cross_entropy<float> ce;
    for (std::size_t threads : {1, 2}) {
        CAPTURE(threads);
        auto whole = mlp_bn_dropout(4, 3, 5), parts = whole;
        nn::adam<float> whole_opt({.lr = 0.01}), parts_opt = whole_opt;
        const train::fit_options o{.epochs = 3, .batch_size = 32, .seed = 6, .threads = threads};
        const auto h = train::fit(whole, ce, whole_opt, ds, o);
        train::fit_state state;
        auto first = o;
        first.epochs = 1;
        first.state = &state;
        train::fit(parts, ce, parts_opt, ds, first);
        CHECK(state.epochs_done == 1);
        auto rest = o;
        rest.state = &state;
        const auto h2 = train::fit(parts, ce, parts_opt, ds, rest);
        CHECK(state.epochs_done == 3);
        CHECK(h2.epochs.size() == 2);
        CHECK(h2.epochs.front().epoch == 1);
        CHECK(h2.last().loss == h.last().loss);
        CHECK(same_weights(parts, whole));
        // Without the state the second call would start over: other batches, other weights.
        auto restart = mlp_bn_dropout(4, 3, 5);
        nn::adam<float> restart_opt({.lr = 0.01});
        first.state = nullptr;
        train::fit(restart, ce, restart_opt, ds, first);
        train::fit(restart, ce, restart_opt, ds,
                   {.epochs = 2, .batch_size = 32, .seed = 6, .threads = threads});
        CHECK_FALSE(same_weights(restart, whole));
    }
}
