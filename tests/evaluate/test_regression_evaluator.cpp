// train_evaluator on a regression set: val_rmse and val_r2 with their directions, mean squared
// error by default (bit for bit the training written out), a user's loss factory, mismatches
// as failed trials or constructor errors, promotions that continue, and a short search that
// minimises val_rmse.

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/run/search.hpp>
#include <xnas/strategy/regularized_evolution.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {

/// n samples of 3 features uniform in [-1.5, 1.5] and K = 2 targets: a linear one and a
/// non-linear one, y1 = 1.5 x1 - 2 x2 + 0.5 x3, y2 = sin(2 x1) + 0.5 x2^2, each + N(0, 0.05^2).
std::shared_ptr<data::dataset<float>> regression_set(std::size_t n, std::uint64_t seed) {
    auto ds = std::make_shared<data::dataset<float>>();
    ds->x = nn::array<float>::from_shape({n, 3});
    ds->targets = nn::array<float>::from_shape({n, 2});
    rng g(seed);
    for (std::size_t i = 0; i < n; ++i) {
        double x[3];
        for (std::size_t f = 0; f < 3; ++f) {
            x[f] = g.uniform(-1.5, 1.5);
            ds->x(i, f) = static_cast<float>(x[f]);
        }
        ds->targets(i, 0) =
            static_cast<float>(1.5 * x[0] - 2 * x[1] + 0.5 * x[2] + g.normal(0, 0.05));
        ds->targets(i, 1) =
            static_cast<float>(std::sin(2 * x[0]) + 0.5 * x[1] * x[1] + g.normal(0, 0.05));
    }
    return ds;
}

/// 1-2 dense layers of width 2 or 16 with an identity, relu or tanh activation.
chain_space dense_space() {
    return chain_space(1, 2,
                       {{"dense",
                         {chain_space::choice::ints("w", {2, 16}),
                          chain_space::choice::of("act", {"identity", "relu", "tanh"})}}});
}

/// One dense layer of 16 tanh units.
chain_space::architecture tanh_16() {
    chain_space::architecture a;
    a.layers.push_back({.stage = 0, .op = 0, .values = {1, 2}});
    return a;
}

using regression_evaluator = train_evaluator<chain_space::architecture, chain_builder>;

chain_builder dense_builder(std::size_t outputs = 2) {
    return chain_builder(dense_space(), {.input = {3}, .classes = outputs});
}

regression_evaluator make_regression(train_evaluator_options o) {
    o.recipe = {.optimizer = "adam", .lr = 0.01, .batch_size = 32};
    return regression_evaluator(dense_builder(), regression_set(512, 1), regression_set(256, 2), o);
}

std::vector<float> parameter_values(nn::network<float>& net) {
    std::vector<float> w;
    for (const auto& p : net.parameters())
        w.insert(w.end(), p.value->begin(), p.value->end());
    return w;
}

/// Mean squared error whose value is shifted by `shift`, counting its calls.
struct shifted_mse {
    double shift = 0;
    std::shared_ptr<std::atomic<std::size_t>> calls;
    double operator()(const nn::array<float>& y, const nn::array<float>& targets,
                      nn::array<float>* dy) const {
        ++*calls;
        return nn::mean_squared_error<float>{}(y, targets, dy) + shift;
    }
};

/// RMSE of the trivial predictor, each target column's mean (the columns' pooled standard
/// deviation).
double mean_predictor_rmse(const data::dataset<float>& ds) {
    const std::size_t n = ds.size(), k = ds.target_size();
    nn::array<float> mean = nn::array<float>::from_shape({n, k});
    for (std::size_t j = 0; j < k; ++j) {
        double m = 0;
        for (std::size_t i = 0; i < n; ++i)
            m += ds.targets(i, j);
        for (std::size_t i = 0; i < n; ++i)
            mean(i, j) = static_cast<float>(m / static_cast<double>(n));
    }
    return train::rmse(mean, ds.targets);
}

} // namespace

static_assert(evaluator<regression_evaluator, chain_space::architecture>);

TEST_CASE("train_evaluator on a regression set reports val_rmse and val_r2 with directions",
          "[evaluate][train][regression]") {
    CHECK(primary_objective(true) == objective{"val_rmse", direction::minimize});
    CHECK(primary_objective(false) == objective{"val_accuracy", direction::maximize});
    CHECK(reported_objectives(false, false) ==
          std::vector<objective>{{"val_accuracy", direction::maximize},
                                 {"params", direction::minimize},
                                 {"flops", direction::minimize}});

    auto ev = make_regression({.epochs = 20});
    CHECK(ev.regression());
    CHECK(ev.primary_objective() == objective{"val_rmse", direction::minimize});
    const std::vector<objective> expected{{"val_rmse", direction::minimize},
                                          {"val_r2", direction::maximize},
                                          {"params", direction::minimize},
                                          {"flops", direction::minimize},
                                          {"latency_ms", direction::minimize}};
    CHECK(ev.objectives() == expected);

    const evaluation e = ev.evaluate({1, tanh_16()});
    INFO(e.message);
    REQUIRE(e.ok());
    for (const auto& o : expected)
        CHECK(e.objectives.count(o.name) == 1);
    CHECK(e.objectives.count("val_accuracy") == 0);
    CHECK(e.objectives.size() == expected.size());
    CHECK(e.value("val_r2") > 0.9);
    CHECK(e.value("val_rmse") < 0.3 * mean_predictor_rmse(*regression_set(256, 2)));
    CHECK(e.value("params") == (3 * 16 + 16) + (16 * 2 + 2));
    CHECK(e.metrics.at("epochs") == 20);

    // A classification evaluator says so too.
    regression_evaluator labels(
        dense_builder(),
        [] {
            auto ds = std::make_shared<data::dataset<float>>();
            ds->x = regression_set(8, 3)->x;
            ds->num_classes = 2;
            ds->labels.assign(8, 1);
            return ds;
        }(),
        [] {
            auto ds = std::make_shared<data::dataset<float>>();
            ds->x = regression_set(4, 4)->x;
            ds->num_classes = 2;
            ds->labels.assign(4, 0);
            return ds;
        }(),
        {.measure_latency = false});
    CHECK_FALSE(labels.regression());
    CHECK(labels.primary_objective() == objective{"val_accuracy", direction::maximize});
    const evaluation c = labels.evaluate({1, tanh_16()});
    REQUIRE(c.ok());
    CHECK(c.objectives.count("val_accuracy") == 1);
    CHECK(c.objectives.count("val_rmse") == 0);
}

TEST_CASE("train_evaluator trains a regression set with mean squared error by default",
          "[evaluate][train][regression]") {
    // The evaluator's trained weights, bit for bit, against the same training written out with
    // nn::mean_squared_error.
    const auto train = regression_set(256, 5), val = regression_set(128, 6);
    const std::uint64_t seed = 4, id = 3;
    std::vector<float> trained;
    regression_evaluator ev(
        dense_builder(), train, val,
        {.epochs = 2,
         .recipe = {.optimizer = "adam", .lr = 0.01, .batch_size = 32},
         .measure_latency = false,
         .seed = seed,
         .extra_metrics = [&](nn::network<float>& net, const data::dataset<float>&, evaluation&) {
             trained = parameter_values(net);
         }});
    const evaluation e = ev.evaluate({id, tanh_16()});
    INFO(e.message);
    REQUIRE(e.ok());

    rng g(seed * 0x9E3779B97F4A7C15ULL + id + 1);
    nn::network<float> net = dense_builder().build(tanh_16(), g);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    nn::adam<float> opt({.lr = 0.01});
    const nn::mean_squared_error<float> mse;
    const train::history h =
        train::fit(net, mse, opt, *train, {.epochs = 2, .batch_size = 32, .seed = g()});
    CHECK(parameter_values(net) == trained);
    CHECK(h.last().loss == e.metrics.at("train_loss"));
    const train::eval_result v = train::evaluate(net, mse, *val);
    CHECK(v.rmse == e.value("val_rmse"));
    CHECK(v.r2 == e.value("val_r2"));

    // train_network's default loss is the same mean squared error.
    rng g2(seed * 0x9E3779B97F4A7C15ULL + id + 1);
    nn::network<float> again = dense_builder().build(tanh_16(), g2);
    nn::init::apply(again, nn::init::scheme::pytorch_default, g2);
    train_network(again, *train, ev.recipe(tanh_16()), {.epochs = 2, .seed = g2()});
    CHECK(parameter_values(again) == trained);
}

TEST_CASE("train_evaluator trains a regression set with the user's regression loss",
          "[evaluate][train][regression]") {
    const auto train = regression_set(256, 7), val = regression_set(128, 8);
    auto calls = std::make_shared<std::atomic<std::size_t>>(0);
    auto shifted = [calls](const training_recipe&) { return shifted_mse{100, calls}; };
    using shifted_evaluator = train_evaluator<chain_space::architecture, chain_builder,
                                              shipped_optimizers, decltype(shifted)>;
    std::vector<float> trained;
    const train_evaluator_options options{
        .epochs = 2,
        .recipe = {.optimizer = "adam", .lr = 0.01, .batch_size = 32},
        .measure_latency = false,
        .seed = 3,
        .extra_metrics = [&](nn::network<float>& net, const data::dataset<float>&, evaluation&) {
            trained = parameter_values(net);
        }};
    const evaluation plain =
        regression_evaluator(dense_builder(), train, val, options).evaluate({1, tanh_16()});
    REQUIRE(plain.ok());
    const std::vector<float> plain_weights = trained;
    // The gradient of mean squared error, its value 100 higher: the same training and the same
    // validation RMSE and R^2 (which do not depend on the loss), a loss 100 higher.
    const evaluation e = shifted_evaluator(dense_builder(), train, val, options, {}, shifted)
                             .evaluate({1, tanh_16()});
    INFO(e.message);
    REQUIRE(e.ok());
    CHECK(trained == plain_weights);
    CHECK(e.metrics.at("train_loss") == Approx(plain.metrics.at("train_loss") + 100));
    CHECK(e.value("val_rmse") == plain.value("val_rmse"));
    CHECK(e.value("val_r2") == plain.value("val_r2"));
    CHECK(*calls == 2 * 8 + 1); // 8 training batches an epoch, one validation batch
}

TEST_CASE("train_evaluator turns regression mismatches into failed trials or refuses the data",
          "[evaluate][train][regression]") {
    const auto train = regression_set(64, 9), val = regression_set(32, 10);
    SECTION("a network of 3 outputs for 2 targets per sample") {
        regression_evaluator ev(dense_builder(3), train, val, {.measure_latency = false});
        const evaluation e = ev.evaluate({1, tanh_16()});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("(3)") && Contains("2 values per sample"));
    }
    SECTION("a classification loss") {
        train_evaluator<chain_space::architecture, chain_builder, shipped_optimizers,
                        cross_entropy_loss>
            ev(dense_builder(), train, val, {.measure_latency = false});
        const evaluation e = ev.evaluate({1, tanh_16()});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("regression set") && Contains("regression_loss"));
    }
    SECTION("label smoothing") {
        regression_evaluator ev(dense_builder(), train, val,
                                {.recipe = {.label_smoothing = 0.1}, .measure_latency = false});
        const evaluation e = ev.evaluate({1, tanh_16()});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("label_smoothing") && Contains("regression set"));
    }
    SECTION("sets of different kinds or widths, augmentation") {
        auto labelled = std::make_shared<data::dataset<float>>();
        labelled->x = val->x;
        labelled->num_classes = 2;
        labelled->labels.assign(val->size(), 0);
        CHECK_THROWS_WITH(regression_evaluator(dense_builder(), train, labelled),
                          Contains("expected both of one kind"));
        auto one_target = std::make_shared<data::dataset<float>>();
        one_target->x = val->x;
        one_target->targets = nn::array<float>::from_shape({val->size(), 1});
        CHECK_THROWS_WITH(regression_evaluator(dense_builder(), train, one_target),
                          Contains("2 targets per sample") && Contains("1 targets per sample"));
        CHECK_THROWS_WITH(
            regression_evaluator(dense_builder(), train, val,
                                 {.augment = data::augment_options{.crop_padding = 1}}),
            Contains("augmentation"));
    }
}

TEST_CASE("a regression promotion continues its parent's training",
          "[evaluate][train][regression]") {
    for (std::size_t threads : {1, 2}) {
        CAPTURE(threads);
        auto ev = make_regression({.epochs = 6, .measure_latency = false, .threads = threads});
        const evaluation parent = ev.evaluate({3, tanh_16(), 1.0 / 3});
        REQUIRE(parent.ok());
        CHECK(ev.checkpoints() == 1);
        const evaluation promoted = ev.evaluate({4, tanh_16(), 1.0, {3}});
        INFO(promoted.message);
        REQUIRE(promoted.ok());
        CHECK(promoted.metrics.at("continued_from") == 3);
        CHECK(promoted.metrics.at("train_images") == 4 * 512);
        const evaluation whole =
            make_regression({.epochs = 6, .measure_latency = false, .threads = threads})
                .evaluate({3, tanh_16(), 1.0});
        CHECK(promoted.value("val_rmse") == whole.value("val_rmse"));
        CHECK(promoted.value("val_r2") == whole.value("val_r2"));
        CHECK(promoted.metrics.at("train_loss") == whole.metrics.at("train_loss"));
    }
}

TEST_CASE("a search over dense chains minimises val_rmse", "[evaluate][train][regression]") {
    auto ev = make_regression({.epochs = 8, .measure_latency = false});
    const objective by = ev.primary_objective();
    const auto s = search(
        dense_space(),
        regularized_evolution<chain_space>(
            {.population_size = 4, .sample_size = 2, .objective = by}),
        ev, {.objectives = {by, {"val_r2", direction::maximize}}, .max_trials = 10, .seed = 1});
    REQUIRE(s.history.size() == 10);
    double lowest = std::numeric_limits<double>::infinity(), highest = 0;
    for (const auto& r : s.history) {
        INFO(r.e.message);
        REQUIRE(r.e.ok());
        lowest = std::min(lowest, r.e.value("val_rmse"));
        highest = std::max(highest, r.e.value("val_rmse"));
    }
    const double best = s.best().e.value("val_rmse");
    CHECK(best == lowest);
    CHECK(best < highest); // the candidates differ, and the search took the lowest
    // Better than the trivial predictor, the targets' mean.
    CHECK(best < 0.5 * mean_predictor_rmse(*regression_set(256, 2)));
    CHECK(s.best().e.value("val_r2") > 0.8);
}
