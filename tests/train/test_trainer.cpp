#include "same_weights.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <sstream>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/conv2d.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/flatten.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/optim/adam.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/nn/serialize.hpp>
#include <xnas/train.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {
using xnas::test::same_weights;

/// n samples of `classes` Gaussian blobs in `dims` dimensions, centres 3 apart on the axes.
data::dataset<float> blobs(std::size_t n, std::size_t classes, std::size_t dims, rng& g) {
    data::dataset<float> ds;
    ds.num_classes = classes;
    ds.x.resize({n, dims});
    ds.labels.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<std::int32_t>(g.below(classes));
        ds.labels[i] = c;
        for (std::size_t d = 0; d < dims; ++d)
            ds.x(i, d) = static_cast<float>(
                g.normal(d == static_cast<std::size_t>(c) % dims ? 3.0 : 0.0, 0.7));
    }
    return ds;
}

nn::network<float> mlp(std::size_t in, std::size_t hidden, std::size_t classes,
                       std::uint64_t seed) {
    nn::network<float> net({in});
    net.add(nn::dense<float>(in, hidden));
    net.add(nn::relu<float>());
    net.add(nn::dense<float>(hidden, classes));
    rng g(seed);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    return net;
}

struct counter {
    std::size_t batches = 0, epochs_begun = 0, epochs_ended = 0, fits_ended = 0;
    std::size_t stop_after_batches = 0; // 0: never
    void on_epoch_begin(std::size_t) { ++epochs_begun; }
    bool on_batch_end(const train::batch_result& r) {
        CHECK(std::isfinite(r.loss));
        CHECK(r.samples > 0);
        ++batches;
        return stop_after_batches && batches >= stop_after_batches;
    }
    void on_epoch_end(const train::epoch_result&) { ++epochs_ended; }
    void on_fit_end(const train::history&) { ++fits_ended; }
};

} // namespace

TEST_CASE("an MLP learns three Gaussian blobs to >= 95% accuracy", "[train][trainer]") {
    rng g(1);
    const auto train_set = blobs(600, 3, 4, g), val_set = blobs(150, 3, 4, g),
               test_set = blobs(300, 3, 4, g);
    nn::softmax_cross_entropy<float> ce;

    SECTION("adam") {
        auto net = mlp(4, 16, 3, 7);
        const double before = train::evaluate(net, ce, test_set).accuracy;
        nn::adam<float> opt({.lr = 0.01});
        auto h = train::fit(net, ce, opt, train_set, val_set,
                            {.epochs = 15, .batch_size = 32, .seed = 3});
        REQUIRE(h.epochs.size() == 15);
        CHECK(h.stop == train::stop_reason::completed);
        CHECK(h.images == 15 * 600);
        CHECK(h.epochs.back().loss < h.epochs.front().loss);
        CHECK(h.last().val_accuracy >= 0.95);
        CHECK(h.epochs.back().images_per_second > 0);
        const auto result = train::evaluate(net, ce, test_set, 64);
        CHECK(result.samples == 300);
        CHECK(result.accuracy >= 0.95);
        CHECK(result.accuracy > before);
        CHECK(result.loss < 0.3);
    }
    SECTION("sgd with momentum and a cosine schedule") {
        auto net = mlp(4, 16, 3, 8);
        nn::sgd<float> opt({.lr = 0.1, .momentum = 0.9});
        auto h = train::fit(
            net, ce, opt, train_set,
            {.epochs = 10,
             .batch_size = 50,
             .seed = 4,
             .schedule = nn::cosine_schedule{.base_lr = 0.05, .period = 10, .min_lr = 0.001}});
        CHECK(h.epochs.front().lr < 0.05);
        CHECK(h.epochs.front().lr > h.epochs.back().lr);
        CHECK(opt.learning_rate() == Approx(h.epochs.back().lr));
        CHECK(train::evaluate(net, ce, test_set).accuracy >= 0.95);
    }
}

TEST_CASE("same seed gives the same weights; another seed does not", "[train][trainer]") {
    rng g(2);
    const auto ds = blobs(200, 3, 4, g);
    nn::softmax_cross_entropy<float> ce;
    auto run = [&](std::uint64_t seed) {
        auto net = mlp(4, 8, 3, 11);
        nn::adam<float> opt({.lr = 0.01});
        train::fit(net, ce, opt, ds, {.epochs = 3, .batch_size = 16, .seed = seed});
        return net;
    };
    auto a = run(5), b = run(5), c = run(6);
    CHECK(same_weights(a, b));
    CHECK_FALSE(same_weights(a, c));
}

TEST_CASE("a non-finite loss throws numerical_error naming epoch and batch", "[train][trainer]") {
    rng g(3);
    const auto ds = blobs(64, 3, 4, g);
    nn::softmax_cross_entropy<float> ce;
    SECTION("NaN weights") {
        auto net = mlp(4, 8, 3, 1);
        (*net.parameters()[3].value)(1) = std::numeric_limits<float>::quiet_NaN(); // output bias
        nn::sgd<float> opt({.lr = 0.1});
        CHECK_THROWS_AS(train::fit(net, ce, opt, ds, {.epochs = 2, .batch_size = 16}),
                        numerical_error);
        CHECK_THROWS_WITH(train::fit(net, ce, opt, ds, {.epochs = 2, .batch_size = 16}),
                          Contains("diverged at epoch 0, batch 0"));
    }
    SECTION("exploding learning rate") {
        auto net = mlp(4, 8, 3, 1);
        nn::sgd<float> opt({.lr = 1e30});
        CHECK_THROWS_AS(train::fit(net, ce, opt, ds, {.epochs = 5, .batch_size = 16}),
                        numerical_error);
    }
    SECTION("a user loss that returns NaN without throwing") {
        auto net = mlp(4, 8, 3, 1);
        nn::sgd<float> opt({.lr = 0.1});
        int calls = 0;
        auto nan_later = [&](const nn::array<float>& y, std::span<const std::int32_t> l,
                             nn::array<float>* dy) {
            const double v = ce(y, l, dy);
            return ++calls == 3 ? std::numeric_limits<double>::infinity() : v;
        };
        CHECK_THROWS_WITH(train::fit(net, nan_later, opt, ds, {.epochs = 2, .batch_size = 16}),
                          Contains("epoch 0, batch 2") && Contains("inf"));
    }
}

TEST_CASE("early stopping stops when the validation loss stops improving", "[train][trainer]") {
    rng g(4);
    const auto tr = blobs(96, 3, 4, g), val = blobs(48, 3, 4, g);
    nn::softmax_cross_entropy<float> ce;
    auto net = mlp(4, 8, 3, 2);
    nn::sgd<float> opt({.lr = 0.0}); // nothing changes, so nothing improves after epoch 0
    train::early_stopping stop({.monitor = train::metric::val_loss, .patience = 2});
    counter count;
    auto h = train::fit(net, ce, opt, tr, val, {.epochs = 50, .batch_size = 32}, stop, count);
    CHECK(h.stop == train::stop_reason::callback);
    CHECK(h.epochs.size() == 3);
    CHECK(stop.stopped());
    CHECK(stop.best_epoch() == 0);
    CHECK(stop.stopped_epoch() == 2);
    CHECK(count.epochs_ended == 3); // every callback hears the epoch that stopped the run
    CHECK(count.fits_ended == 1);

    SECTION("and keeps going while it improves") {
        auto net2 = mlp(4, 8, 3, 2);
        nn::adam<float> adam({.lr = 0.01});
        train::early_stopping patient({.monitor = train::metric::accuracy, .patience = 20});
        auto h2 = train::fit(net2, ce, adam, tr, {.epochs = 5, .batch_size = 32}, patient);
        CHECK(h2.stop == train::stop_reason::completed);
        CHECK(h2.epochs.size() == 5);
    }
    SECTION("a validation metric without a validation set is an error") {
        train::early_stopping needs_val({.monitor = train::metric::val_accuracy});
        CHECK_THROWS_WITH(train::fit(net, ce, opt, tr, {.epochs = 2}, needs_val),
                          Contains("val_accuracy") && Contains("validation set"));
    }
}

TEST_CASE("restore_best puts back the best epoch's weights when fit returns", "[train][trainer]") {
    rng g(6);
    const auto tr = blobs(96, 3, 4, g);
    nn::softmax_cross_entropy<float> ce;
    auto net = mlp(4, 8, 3, 5);
    nn::adam<float> opt({.lr = 0.01});
    // sabotage records the weights at the end of epoch 1, then blows them up, so epochs 2 and 3
    // train from a far worse point and epoch 1 stays the best.
    struct sabotage_after_epoch_1 {
        nn::network<float>* net;
        std::optional<nn::network<float>> at_epoch_1{};
        void on_epoch_end(const train::epoch_result& e) {
            if (e.epoch != 1)
                return;
            at_epoch_1.emplace(*net);
            for (auto& p : net->parameters())
                for (auto& v : *p.value)
                    v *= 10.0f;
        }
    };
    train::restore_best<float> keep(net, train::metric::loss);
    sabotage_after_epoch_1 sabotage{&net};
    // keep sees each epoch before the sabotage does, so its copy of epoch 1 is the clean one.
    const auto h = train::fit(net, ce, opt, tr, {.epochs = 4, .batch_size = 32}, keep, sabotage);
    REQUIRE(h.epochs.size() == 4);
    REQUIRE(h.epochs[1].loss < h.epochs[0].loss);
    REQUIRE(h.epochs[2].loss > h.epochs[1].loss);
    REQUIRE(h.epochs[3].loss > h.epochs[1].loss);
    CHECK(keep.best_epoch() == 1);
    CHECK(keep.best() == h.epochs[1].loss);
    CHECK(keep.restored());
    REQUIRE(sabotage.at_epoch_1);
    CHECK(same_weights(net, *sabotage.at_epoch_1));

    SECTION("without a validation set a validation metric is an error naming it") {
        auto net2 = mlp(4, 8, 3, 5);
        nn::sgd<float> sgd({.lr = 0.01});
        train::restore_best<float> needs_val(net2, train::metric::val_loss);
        CHECK_THROWS_WITH(train::fit(net2, ce, sgd, tr, {.epochs = 1}, needs_val),
                          Contains("restore_best") && Contains("val_loss") &&
                              Contains("validation set"));
    }
}

TEST_CASE("callbacks: optional hooks, stop requests, deadline and cancel", "[train][trainer]") {
    STATIC_REQUIRE(train::callback<counter>);
    STATIC_REQUIRE(train::callback<train::early_stopping>);
    STATIC_REQUIRE_FALSE(train::callback<int>);
    struct only_epochs {
        std::size_t n = 0;
        void on_epoch_end(const train::epoch_result&) { ++n; }
    };
    STATIC_REQUIRE(train::callback<only_epochs>);

    rng g(5);
    const auto ds = blobs(100, 3, 4, g);
    nn::softmax_cross_entropy<float> ce;
    auto net = mlp(4, 8, 3, 3);
    nn::sgd<float> opt({.lr = 0.05});

    counter all;
    only_epochs ep;
    auto h = train::fit(net, ce, opt, ds, {.epochs = 2, .batch_size = 30}, all, ep);
    CHECK(all.batches == 8); // 4 batches per epoch, the last of 10 samples
    CHECK(all.epochs_begun == 2);
    CHECK(all.epochs_ended == 2);
    CHECK(ep.n == 2);

    counter stopper;
    stopper.stop_after_batches = 6;
    h = train::fit(net, ce, opt, ds, {.epochs = 5, .batch_size = 30}, stopper);
    CHECK(h.stop == train::stop_reason::callback);
    REQUIRE(h.epochs.size() == 2);
    CHECK_FALSE(h.epochs[1].complete);
    CHECK(h.epochs[1].images == 60);
    CHECK(h.images == 160);
    CHECK(h.last().epoch == 0);

    h = train::fit(net, ce, opt, ds, {.epochs = 5, .deadline = std::chrono::steady_clock::now()});
    CHECK(h.stop == train::stop_reason::deadline);
    CHECK(h.epochs.empty());
    CHECK(h.images == 0);

    std::atomic<bool> cancel{true};
    h = train::fit(net, ce, opt, ds, {.epochs = 5, .cancel = &cancel});
    CHECK(h.stop == train::stop_reason::cancelled);
    CHECK_THROWS_AS(h.last(), std::logic_error);
}

TEST_CASE("fit and evaluate check their inputs", "[train][trainer]") {
    rng g(6);
    const auto ds = blobs(20, 3, 5, g);
    nn::softmax_cross_entropy<float> ce;
    auto net = mlp(4, 8, 3, 3);
    nn::sgd<float> opt({.lr = 0.05});
    CHECK_THROWS_AS(train::fit(net, ce, opt, ds, {.epochs = 1}), shape_error);
    CHECK_THROWS_WITH(train::evaluate(net, ce, ds), Contains("(5)") && Contains("(4)"));
    const auto ok = blobs(20, 3, 4, g);
    CHECK_THROWS_AS(train::fit(net, ce, opt, ok, {.batch_size = 0}), std::invalid_argument);
    CHECK_THROWS_AS(train::fit(net, ce, opt, data::dataset<float>{}, {}), std::invalid_argument);
}

TEST_CASE("evaluate reports the mean loss and accuracy over all samples", "[train][trainer]") {
    rng g(7);
    const auto ds = blobs(50, 3, 4, g);
    nn::softmax_cross_entropy<float> ce;
    auto net = mlp(4, 8, 3, 4);
    const auto small = train::evaluate(net, ce, ds, 7); // batches of 7: the last has 1
    const nn::array<float> all = net.forward(ds.x, nn::mode::eval);
    CHECK(small.loss == Approx(ce(all, ds.labels)).epsilon(1e-5));
    CHECK(small.accuracy == Approx(nn::accuracy(all, std::span<const std::int32_t>(ds.labels))));
    train::confusion_matrix cm(3);
    cm.add(all, std::span<const std::int32_t>(ds.labels));
    CHECK(cm.total() == 50);
    CHECK(cm.accuracy() == Approx(small.accuracy));
    // An observer sees every batch's outputs and labels, in order.
    std::vector<float> seen;
    std::vector<std::int32_t> seen_labels;
    train::evaluate(net, ce, ds, 7,
                    [&](const nn::array<float>& out, std::span<const std::int32_t> labels) {
                        seen.insert(seen.end(), out.data(), out.data() + out.size());
                        seen_labels.insert(seen_labels.end(), labels.begin(), labels.end());
                    });
    CHECK(seen_labels == ds.labels);
    REQUIRE(seen.size() == all.size());
    CHECK(std::equal(seen.begin(), seen.end(), all.data(),
                     [](float a, float b) { return std::abs(a - b) <= 1e-6f; }));
}

namespace {
// 32 6x6 images of two classes; class 1 has a bright left half.
data::dataset<float> half_bright_images() {
    rng g(8);
    data::dataset<float> ds;
    ds.num_classes = 2;
    ds.x = nn::array<float>::from_shape({32, 1, 6, 6});
    ds.labels.resize(32);
    for (std::size_t i = 0; i < 32; ++i) {
        ds.labels[i] = static_cast<std::int32_t>(i % 2);
        for (std::size_t r = 0; r < 6; ++r)
            for (std::size_t c = 0; c < 6; ++c)
                ds.x(i, 0, r, c) =
                    static_cast<float>(g.normal(ds.labels[i] == 1 && c < 3 ? 1.0 : 0.0, 0.1));
    }
    return ds;
}

nn::network<float> small_conv_net() {
    nn::network<float> net({1, 6, 6});
    net.add(nn::conv2d<float>(1, 2, 3, 1, 1));
    net.add(nn::relu<float>());
    net.add(nn::flatten<float>());
    net.add(nn::dense<float>(72, 2));
    rng init(9);
    nn::init::apply(net, nn::init::scheme::pytorch_default, init);
    return net;
}
} // namespace

TEST_CASE("training images with augmentation and gradient clipping is deterministic",
          "[train][trainer]") {
    const data::dataset<float> ds = half_bright_images();
    nn::softmax_cross_entropy<float> ce;
    const train::fit_options o{.epochs = 3,
                               .batch_size = 8,
                               .seed = 2,
                               .augment = data::augment_options{.crop_padding = 1},
                               .clip_grad_norm = 0.5};
    auto a = small_conv_net(), b = small_conv_net();
    nn::sgd<float> oa({.lr = 0.1}), ob({.lr = 0.1});
    train::fit(a, ce, oa, ds, o);
    train::fit(b, ce, ob, ds, o);
    CHECK(same_weights(a, b));
    // a trained network saves and reloads bit-exactly
    std::stringstream buf;
    nn::save(a, buf);
    auto c = nn::load<float>(buf);
    CHECK(same_weights(a, c));
}

TEST_CASE("plain_last_epochs trains the last epochs on the images as they are",
          "[train][trainer]") {
    const data::dataset<float> ds = half_bright_images();
    nn::softmax_cross_entropy<float> ce;
    auto run = [&](std::optional<data::augment_options> augment, std::size_t plain) {
        auto net = small_conv_net();
        nn::sgd<float> opt({.lr = 0.1});
        const train::history h = train::fit(net, ce, opt, ds,
                                            {.epochs = 4,
                                             .batch_size = 8,
                                             .seed = 2,
                                             .augment = augment,
                                             .plain_last_epochs = plain});
        std::vector<double> losses;
        for (const auto& e : h.epochs)
            losses.push_back(e.loss);
        return std::pair{std::move(net), losses};
    };
    const data::augment_options crop{.crop_padding = 1, .flip_probability = 0.5};
    auto [augmented, augmented_losses] = run(crop, 0);
    auto [plain, plain_losses] = run(std::nullopt, 0);
    auto [mixed, mixed_losses] = run(crop, 2);
    auto [all_plain, all_plain_losses] = run(crop, 4);
    // Augmentation draws from its own stream, so the batch order is the same in all of them.
    CHECK(same_weights(all_plain, plain));
    CHECK(all_plain_losses == plain_losses);
    REQUIRE(mixed_losses.size() == 4);
    CHECK(mixed_losses[0] == augmented_losses[0]);
    CHECK(mixed_losses[1] == augmented_losses[1]);
    CHECK(mixed_losses[2] != augmented_losses[2]);
    CHECK_FALSE(same_weights(mixed, augmented));
    CHECK_FALSE(same_weights(mixed, plain));
}

TEST_CASE("running mean and confusion matrix", "[train][metrics]") {
    train::running_mean m;
    CHECK(std::isnan(m.value()));
    m.add(1.0, 3);
    m.add(3.0, 1);
    CHECK(m.value() == Approx(1.5));
    CHECK(m.count() == 4);

    train::confusion_matrix cm(2);
    nn::array<float> logits = {{0.9f, 0.1f}, {0.2f, 0.8f}, {0.7f, 0.3f}};
    std::vector<std::int32_t> labels{0, 1, 1};
    cm.add(logits, std::span<const std::int32_t>(labels));
    CHECK(cm(0, 0) == 1);
    CHECK(cm(1, 1) == 1);
    CHECK(cm(1, 0) == 1);
    CHECK(cm.accuracy() == Approx(2.0 / 3));
    CHECK(cm.recall(1) == Approx(0.5));
    labels[0] = 5;
    CHECK_THROWS_AS(cm.add(logits, std::span<const std::int32_t>(labels)), std::out_of_range);
}

namespace {
// Mean softmax cross-entropy of `logits` (rows of `classes`) scaled by `beta`, in double.
double scaled_nll(const std::vector<float>& logits, const std::vector<std::int32_t>& labels,
                  std::size_t classes, double beta) {
    double total = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        double sum = 0;
        for (std::size_t j = 0; j < classes; ++j)
            sum += std::exp(beta * logits[i * classes + j]);
        total += std::log(sum) - beta * logits[i * classes + static_cast<std::size_t>(labels[i])];
    }
    return total / static_cast<double>(labels.size());
}
} // namespace

TEST_CASE("temperature-scaled cross-entropy: the loss at the best temperature",
          "[train][metrics]") {
    // Labels drawn from softmax(z); a network four times as confident outputs 4z.
    rng g(12);
    const std::size_t n = 4000, classes = 4;
    std::vector<float> z(n * classes), confident(n * classes);
    std::vector<std::int32_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        double sum = 0;
        for (std::size_t j = 0; j < classes; ++j) {
            z[i * classes + j] = static_cast<float>(g.normal(0, 1));
            sum += std::exp(z[i * classes + j]);
        }
        double u = g.uniform() * sum;
        std::size_t y = 0;
        while (y + 1 < classes && (u -= std::exp(z[i * classes + y])) > 0)
            ++y;
        labels[i] = static_cast<std::int32_t>(y);
        for (std::size_t j = 0; j < classes; ++j)
            confident[i * classes + j] = 4 * z[i * classes + j];
    }
    const double scaled = train::temperature_scaled_nll(confident, labels, classes);
    // The minimum over a fine grid of temperatures, which it must match and cannot beat.
    double coarse = 0.05, grid = std::numeric_limits<double>::infinity();
    for (double beta = 0.05; beta <= 1.0; beta += 1e-2)
        if (const double f = scaled_nll(confident, labels, classes, beta); f < grid) {
            grid = f;
            coarse = beta;
        }
    for (double beta = coarse - 1e-2; beta <= coarse + 1e-2; beta += 1e-5)
        grid = std::min(grid, scaled_nll(confident, labels, classes, beta));
    CHECK(scaled <= grid + 1e-9);
    CHECK(scaled == Approx(grid).margin(1e-8));
    // Far below the over-confident loss, about the loss of the true logits, whatever the scale.
    CHECK(scaled < scaled_nll(confident, labels, classes, 1.0) - 0.5);
    CHECK(scaled == Approx(scaled_nll(z, labels, classes, 1.0)).margin(0.01));
    CHECK(train::temperature_scaled_nll(z, labels, classes) == Approx(scaled).margin(1e-9));

    CHECK_THROWS_AS(train::temperature_scaled_nll(std::span(z).first(7), labels, classes),
                    std::invalid_argument);
    labels[3] = 4;
    CHECK_THROWS_WITH(train::temperature_scaled_nll(z, labels, classes),
                      Contains("label 4 at row 3"));
}
