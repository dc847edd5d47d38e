#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <numbers>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/run/search.hpp>
#include <xnas/strategy/asha.hpp>
#include <xnas/strategy/successive_halving.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {
// Two classes of 8x8 grey images: the bright blob is in the left or the right half.
std::shared_ptr<data::dataset<float>> blobs(std::size_t n, std::uint64_t seed) {
    auto ds = std::make_shared<data::dataset<float>>();
    ds->x = nn::array<float>::from_shape({n, 1, 8, 8});
    ds->labels.resize(n);
    ds->num_classes = 2;
    rng g(seed);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<std::int32_t>(i % 2);
        ds->labels[i] = c;
        const std::size_t col = (c ? 5 : 1) + g.below(2), row = 1 + g.below(5);
        for (std::size_t k = 0; k < 64; ++k)
            ds->x.data()[i * 64 + k] = static_cast<float>(0.1 * g.normal());
        for (std::size_t r = row; r < row + 2; ++r)
            for (std::size_t q = col; q < col + 2; ++q)
                ds->x.data()[i * 64 + r * 8 + q] += 1.0f;
    }
    return ds;
}

chain_space tiny_space() {
    return chain_space(
        {{"conv",
          1,
          1,
          {{"conv", {chain_space::choice::ints("k", {3}), chain_space::choice::ints("c", {4})}}}}});
}

using evaluator_t = train_evaluator<chain_space::architecture, chain_builder>;

/// The network of `a`, initialised as the evaluator does, from generator seed `seed`.
nn::network<float> initialised(const chain_builder& builder, const chain_space::architecture& a,
                               std::uint64_t seed) {
    rng g(seed);
    nn::network<float> net = builder.build(a, g);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    return net;
}

/// Every parameter's values, in order.
std::vector<float> weights_of(nn::network<float>& net) {
    std::vector<float> w;
    for (const auto& p : net.parameters())
        w.insert(w.end(), p.value->begin(), p.value->end());
    return w;
}

/// Plain gradient descent as a user writes it, counting its steps in a counter it shares.
struct counting_descent {
    using value_type = float;
    double lr = 0;
    std::shared_ptr<std::atomic<std::size_t>> steps;

    void step(std::span<const nn::parameter<float>> params) {
        ++*steps;
        for (const auto& p : params)
            if (!nn::is_running_state(p.name))
                for (std::size_t i = 0; i < p.value->size(); ++i)
                    p.value->data()[i] -= static_cast<float>(lr) * p.gradient->data()[i];
    }
    void reset() {}
    double learning_rate() const { return lr; }
    void set_learning_rate(double v) { lr = v; }
};

/// Cross-entropy whose value is shifted by `shift` and whose gradient is scaled by
/// `gradient_scale`, counting its calls.
struct shifted_cross_entropy {
    double shift = 0;
    float gradient_scale = 1;
    std::shared_ptr<std::atomic<std::size_t>> calls;

    double operator()(const nn::array<float>& logits, std::span<const std::int32_t> labels,
                      nn::array<float>* dlogits) const {
        ++*calls;
        const double v = nn::softmax_cross_entropy<float>{}(logits, labels, dlogits);
        if (dlogits)
            for (auto& d : *dlogits)
                d *= gradient_scale;
        return v + shift;
    }
};

/// The network trial `id` of an evaluator seeded `seed` starts from, before any training.
nn::network<float> untrained(const chain_builder& builder, const chain_space::architecture& a,
                             std::uint64_t seed, std::uint64_t id) {
    rng g(seed * 0x9E3779B97F4A7C15ULL + id + 1);
    nn::network<float> net = builder.build(a, g);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    return net;
}

evaluator_t make(train_evaluator_options o) {
    o.recipe = {.optimizer = "adam", .lr = 0.01, .batch_size = 16};
    return evaluator_t(chain_builder(tiny_space(), {.input = {1, 8, 8}, .classes = 2}),
                       blobs(256, 1), blobs(128, 2), o);
}
} // namespace

static_assert(evaluator<evaluator_t, chain_space::architecture>);
static_assert(is_thread_safe_evaluator<evaluator_t>);

TEST_CASE("train_evaluator trains, validates and reports every objective", "[evaluate][train]") {
    auto ev = make({.epochs = 3});
    rng g(1);
    trial<chain_space::architecture> t{7, tiny_space().sample(g)};
    const evaluation e = ev.evaluate(t);
    INFO(e.message);
    REQUIRE(e.ok());
    CHECK(e.value("val_accuracy") >= 0.95);
    CHECK(e.value("params") == 4 * 9 + 4 + 4 * 64 * 2 + 2);
    CHECK(e.value("flops") > 0);
    CHECK(e.value("latency_ms") > 0);
    CHECK(e.metrics.at("epochs") == 3);
    CHECK(e.metrics.at("train_images") == 3 * 256);
    CHECK(e.cost > 0);
    // Same seed and trial id: the same network, so the same accuracy and loss.
    const evaluation again = ev.evaluate(t);
    CHECK(again.value("val_accuracy") == e.value("val_accuracy"));
    CHECK(again.metrics.at("train_loss") == e.metrics.at("train_loss"));
}

TEST_CASE("train_evaluator trains each candidate data-parallel on its threads",
          "[evaluate][train]") {
    rng g(1);
    trial<chain_space::architecture> t{7, tiny_space().sample(g)};
    const evaluation one = make({.epochs = 3}).evaluate(t);
    auto two_threads = make({.epochs = 3, .threads = 2});
    const evaluation two = two_threads.evaluate(t);
    INFO(two.message);
    REQUIRE(two.ok());
    CHECK(two.value("val_accuracy") >= 0.95);
    // The shards' gradients are summed before one step: the same training up to rounding, but
    // not bit for bit (another summation order), which shows the threads were used.
    CHECK(two.metrics.at("train_loss") == Approx(one.metrics.at("train_loss")).epsilon(1e-4));
    CHECK(two.metrics.at("train_loss") != one.metrics.at("train_loss"));
    // Same threads, same seed: the same result.
    CHECK(two_threads.evaluate(t).metrics.at("train_loss") == two.metrics.at("train_loss"));
    CHECK_THROWS_WITH(make({.epochs = 1, .threads = 0}), Contains("threads must be positive"));
}

TEST_CASE("train_evaluator scales epochs or data with the trial's fidelity", "[evaluate][train]") {
    rng g(1);
    const auto a = tiny_space().sample(g);
    auto by_epochs = make({.epochs = 4});
    CHECK(by_epochs.evaluate({1, a, 0.5}).metrics.at("epochs") == 2);
    CHECK(by_epochs.evaluate({1, a, 0.01}).metrics.at("epochs") == 1);
    auto by_data = make({.epochs = 1, .fidelity = fidelity_axis::data});
    CHECK(by_data.evaluate({1, a, 0.25}).metrics.at("train_images") == 64);
}

TEST_CASE("a promotion continues its parent's training, as training its epochs in one go",
          "[evaluate][train]") {
    rng g(1);
    const auto a = tiny_space().sample(g);
    for (std::size_t threads : {1, 2}) {
        CAPTURE(threads);
        auto ev = make({.epochs = 6, .threads = threads}); // fidelity: epochs
        const evaluation parent = ev.evaluate({3, a, 1.0 / 3});
        REQUIRE(parent.ok());
        CHECK(parent.metrics.at("epochs") == 2);
        CHECK(ev.checkpoints() == 1);
        const evaluation promoted = ev.evaluate({4, a, 1.0, {3}});
        INFO(promoted.message);
        REQUIRE(promoted.ok());
        CHECK(ev.checkpoints() == 0); // taken, and a top-fidelity trial leaves none
        CHECK(promoted.metrics.at("continued_from") == 3);
        CHECK(promoted.metrics.at("epochs_continued") == 2);
        CHECK(promoted.metrics.at("epochs") == 6);
        CHECK(promoted.metrics.at("train_images") == 4 * 256); // only the epochs it adds
        // Trial 3 trained for all 6 epochs in one go: the same network.
        const evaluation whole = make({.epochs = 6, .threads = threads}).evaluate({3, a, 1.0});
        CHECK(promoted.value("val_accuracy") == whole.value("val_accuracy"));
        CHECK(promoted.metrics.at("train_loss") == whole.metrics.at("train_loss"));
    }
    SECTION("without a checkpoint to continue a promotion trains from scratch") {
        auto off = make({.epochs = 6, .continue_promotions = false});
        CHECK(off.evaluate({3, a, 1.0 / 3}).ok());
        CHECK(off.checkpoints() == 0);
        const evaluation e = off.evaluate({4, a, 1.0, {3}});
        CHECK(e.metrics.count("continued_from") == 0);
        CHECK(e.metrics.at("train_images") == 6 * 256);
        // Annealing depends on the total epochs, so it never continues; nor does a data axis.
        CHECK(make({.epochs = 6, .cosine = true}).checkpoints() == 0);
        auto by_data = make({.epochs = 2, .fidelity = fidelity_axis::data});
        CHECK(by_data.evaluate({3, a, 0.5}).ok());
        CHECK(by_data.checkpoints() == 0);
        // Another architecture under the parent's id is not its continuation.
        auto ev = make({.epochs = 6});
        CHECK(ev.evaluate({3, a, 1.0 / 3}).ok());
        auto other = a;
        other.layers.push_back(other.layers[0]); // two convolutions
        CHECK(ev.evaluate({4, other, 1.0, {3}}).metrics.count("continued_from") == 0);
        CHECK(ev.checkpoints() == 1);
    }
}

TEST_CASE("a search drops the checkpoints of trials its strategy will not promote",
          "[evaluate][train]") {
    const objective acc{"val_accuracy", direction::maximize};
    for (std::size_t workers : {1, 2}) {
        CAPTURE(workers);
        // Successive halving from 1/3: three 1-epoch trials, the best continued to 3 epochs;
        // the other two are retired when the first rung is decided. One trial ahead at a time,
        // so that two workers do not start the next bracket before the promotion.
        auto ev = make({.epochs = 3});
        const auto sh =
            search(tiny_space(),
                   successive_halving<chain_space>({.min_fidelity = 1.0 / 3, .objective = acc}), ev,
                   {.objectives = {acc}, .max_trials = 4, .workers = workers, .lookahead = 1});
        REQUIRE(sh.history.size() == 4);
        CHECK(sh.history.back().e.metrics.count("continued_from") == 1);
        CHECK(ev.checkpoints() == 0);
        // asha may promote any trial later, so it retires none: its checkpoints stay.
        auto kept = make({.epochs = 3});
        search(tiny_space(), asha<chain_space>({.min_fidelity = 1.0 / 3, .objective = acc}), kept,
               {.objectives = {acc}, .max_trials = 4, .workers = workers});
        CHECK(kept.checkpoints() > 0);
    }
}

TEST_CASE("train_evaluator anneals over the trial's own epochs and augments when asked",
          "[evaluate][train]") {
    rng g(1);
    const auto a = tiny_space().sample(g);
    const evaluation constant = make({.epochs = 2}).evaluate({1, a});
    const evaluation cosine = make({.epochs = 2, .cosine = true}).evaluate({1, a});
    REQUIRE(cosine.ok());
    CHECK(cosine.value("val_accuracy") >= 0.95);
    CHECK(cosine.metrics.at("train_loss") != constant.metrics.at("train_loss"));
    // Half of 4 epochs anneals over those 2 epochs, exactly as a 2-epoch trial does.
    const evaluation half = make({.epochs = 4, .cosine = true}).evaluate({1, a, 0.5});
    CHECK(half.metrics.at("train_loss") == cosine.metrics.at("train_loss"));
    CHECK(half.value("val_accuracy") == cosine.value("val_accuracy"));

    // The augmentation reaches training: an empty erasing range fails there, recorded.
    const evaluation bad_range = make({.epochs = 1,
                                       .augment = data::augment_options{.flip_probability = 0,
                                                                        .erase_probability = 1,
                                                                        .erase_low = 1,
                                                                        .erase_high = 0}})
                                     .evaluate({1, a});
    CHECK(bad_range.state == status::failed);
    CHECK_THAT(bad_range.message, Contains("random_erase"));
    CHECK(make({.epochs = 1, .augment = data::augment_options{.crop_padding = 1, .fill = -0.5}})
              .evaluate({1, a})
              .ok());
}

TEST_CASE("train_evaluator records failing candidates instead of throwing", "[evaluate][train]") {
    rng g(1);
    const auto a = tiny_space().sample(g);
    SECTION("parameter budget, before training") {
        const auto e = make({.max_params = 100}).evaluate({1, a});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("parameter budget") && Contains("max_params 100"));
    }
    SECTION("parameter budget, before any weight is allocated") {
        // 64 inputs -> 2^30 -> 2 units: 7e10 parameters, 280 GB a copy. Building the network
        // allocates none of it, so the budget refuses it; allocated first, it was a bad_alloc.
        chain_space huge(
            {{"dense", 1, 1, {{"dense", {chain_space::choice::ints("w", {1 << 30})}}}}});
        evaluator_t ev(chain_builder(huge, {.input = {1, 8, 8}, .classes = 2}), blobs(16, 1),
                       blobs(16, 2), {.max_params = 100'000});
        const auto e = ev.evaluate({1, huge.sample(g)});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("parameter budget") && Contains("max_params 100000"));
    }
    SECTION("FLOP budget, before training") {
        const auto e = make({.max_flops = 1000}).evaluate({1, a});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("FLOP budget") && Contains("max_flops 1000"));
        CHECK(make({.max_flops = 100'000'000}).evaluate({1, a}).ok());
    }
    SECTION("memory budget") {
        auto o = train_evaluator_options{.max_memory_mb = 1};
        evaluator_t big(chain_builder(chain_space({{"conv",
                                                    1,
                                                    1,
                                                    {{"conv",
                                                      {chain_space::choice::ints("k", {3}),
                                                       chain_space::choice::ints("c", {512})}}}}}),
                                      {.input = {1, 8, 8}, .classes = 2}),
                        blobs(32, 1), blobs(32, 2), o);
        const auto e = big.evaluate({1, big.builder().space().sample(g)});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("memory budget"));
    }
    SECTION("divergence") {
        // Adam's step is about lr in size: weights of 1e38 overflow float in the next forward.
        evaluator_t diverging(
            chain_builder(tiny_space(), {.input = {1, 8, 8}, .classes = 2}), blobs(64, 1),
            blobs(32, 2),
            {.epochs = 2, .recipe = {.optimizer = "adam", .lr = 1e38, .batch_size = 8}});
        const auto e = diverging.evaluate({1, a});
        CHECK(e.state == status::diverged);
        CHECK_THAT(e.message, Contains("loss is"));
    }
    SECTION("time limit") {
        evaluator_t slow(chain_builder(tiny_space(), {.input = {1, 8, 8}, .classes = 2}),
                         blobs(256, 1), blobs(32, 2), {.epochs = 1000, .time_limit_seconds = 0.05});
        const auto e = slow.evaluate({1, a});
        CHECK(e.state == status::timed_out);
        CHECK_THAT(e.message, Contains("time limit"));
    }
    SECTION("a builder that throws") {
        chain_space s(1, 1, {{"mystery", {}}});
        train_evaluator<chain_space::architecture, chain_builder> ev(chain_builder(s), blobs(16, 1),
                                                                     blobs(16, 2));
        const auto e = ev.evaluate({1, s.sample(g)});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("mystery"));
    }
}

TEST_CASE("train_evaluator adds the user's metrics; a metric that throws fails the trial",
          "[evaluate][train]") {
    rng g(1);
    const auto a = tiny_space().sample(g);
    // The hook sees the trained network, the validation set and the evaluation so far: its
    // own accuracy on the validation set must be the one reported.
    auto hook = [](nn::network<float>& net, const data::dataset<float>& val, evaluation& e) {
        e.metrics["val_size"] = static_cast<double>(val.size());
        e.metrics["val_accuracy_again"] =
            train::evaluate(net, nn::softmax_cross_entropy<float>(), val).accuracy;
        e.metrics["seen_params"] = e.objectives.at("params");
    };
    const evaluation e = make({.epochs = 2, .extra_metrics = hook}).evaluate({1, a});
    INFO(e.message);
    REQUIRE(e.ok());
    CHECK(e.metrics.at("val_size") == 128);
    CHECK(e.value("val_accuracy_again") == e.value("val_accuracy"));
    CHECK(e.value("val_accuracy") >= 0.9); // trained, not a fresh network
    CHECK(e.metrics.at("seen_params") == e.value("params"));
    CHECK(e.metrics.at("epochs") == 2);

    const evaluation failed =
        make({.epochs = 1,
              .extra_metrics = [](nn::network<float>&, const data::dataset<float>&,
                                  evaluation&) { throw std::runtime_error("no calibration"); }})
            .evaluate({1, a});
    CHECK(failed.state == status::failed);
    CHECK_THAT(failed.message, Contains("extra_metrics") && Contains("no calibration"));
    CHECK(failed.metrics.empty());
    // A numerical_error of the user's is not a diverged training.
    const evaluation nan =
        make({.epochs = 1,
              .extra_metrics = [](nn::network<float>&, const data::dataset<float>&,
                                  evaluation&) { throw numerical_error("ece is nan"); }})
            .evaluate({1, a});
    CHECK(nan.state == status::failed);
    CHECK_THAT(nan.message, Contains("ece is nan"));
}

TEST_CASE("train_network passes fit options through: threads, schedule, the recipe's batch",
          "[evaluate][train]") {
    const chain_builder builder(tiny_space(), {.input = {1, 8, 8}, .classes = 2});
    rng pick(1);
    const auto a = tiny_space().sample(pick);
    const training_recipe recipe{.optimizer = "adam", .lr = 0.01, .batch_size = 16};
    const auto train = blobs(256, 1), val = blobs(128, 2);
    auto run = [&](std::size_t threads) {
        nn::network<float> net = initialised(builder, a, 5);
        const train::history h =
            train_network(net, *train, recipe,
                          {.epochs = 3,
                           .batch_size = 1000, // the recipe's 16 wins
                           .seed = 7,
                           .schedule = nn::cosine_schedule{.base_lr = recipe.lr, .period = 3},
                           .threads = threads});
        REQUIRE(h.epochs.size() == 3);
        // The first epoch's last step is batch 15 of 16: t = 15/16 of the 3-epoch period.
        CHECK(h.epochs[0].lr ==
              Approx(recipe.lr * (1 + std::cos(std::numbers::pi * (15.0 / 16) / 3)) / 2));
        std::vector<float> weights;
        for (const auto& p : net.parameters())
            weights.insert(weights.end(), p.value->begin(), p.value->end());
        return std::pair{weights,
                         train::evaluate(net, nn::softmax_cross_entropy<float>(), *val).accuracy};
    };
    const auto [w2, acc2] = run(2);
    CHECK(acc2 >= 0.95);
    CHECK(run(2).first == w2);
    // Two shards sum their gradients in another order than one thread: other rounding.
    CHECK(run(1).first != w2);
}

TEST_CASE("train_network hands its callbacks to fit, and a stop request ends the training",
          "[evaluate][train]") {
    const chain_builder builder(tiny_space(), {.input = {1, 8, 8}, .classes = 2});
    rng g(2);
    const auto a = tiny_space().sample(g);
    nn::network<float> net = builder.build(a, g);
    const auto train = blobs(64, 1);
    struct stop_after_two {
        std::vector<std::size_t> seen;
        bool on_epoch_end(const train::epoch_result& e) {
            seen.push_back(e.epoch);
            return seen.size() == 2;
        }
    } cb;
    const train::history h =
        train_network(net, *train, {.optimizer = "sgd", .lr = 0.01, .batch_size = 16},
                      {.epochs = 5, .seed = 1}, cb);
    CHECK(cb.seen == std::vector<std::size_t>{0, 1});
    CHECK(h.epochs.size() == 2);
    CHECK(h.stop == train::stop_reason::callback);
}

TEST_CASE("train_network trains with the recipe's label smoothing and weight decay",
          "[evaluate][train]") {
    const chain_builder builder(tiny_space(), {.input = {1, 8, 8}, .classes = 2});
    rng pick(1);
    const auto a = tiny_space().sample(pick);
    const auto train = blobs(256, 1);
    struct outcome {
        double loss;
        double squared_norm;
    };
    auto run = [&](training_recipe recipe) {
        nn::network<float> net = initialised(builder, a, 5);
        const train::history h = train_network(net, *train, recipe, {.epochs = 8, .seed = 7});
        double norm = 0;
        for (const auto& p : net.parameters())
            for (float w : *p.value)
                norm += static_cast<double>(w) * w;
        return outcome{h.epochs.back().loss, norm};
    };
    const training_recipe plain{.optimizer = "adamw", .lr = 0.01, .batch_size = 16};
    const outcome fitted = run(plain);
    CHECK(fitted.loss < 0.1);
    // Targets 0.9 / 0.1 cannot be fitted below their entropy, 0.325 nats.
    training_recipe smoothed = plain;
    smoothed.label_smoothing = 0.2;
    const double floor = -(0.9 * std::log(0.9) + 0.1 * std::log(0.1));
    CHECK(run(smoothed).loss > floor);
    training_recipe decayed = plain;
    decayed.weight_decay = 5.0;
    CHECK(run(decayed).squared_norm < 0.8 * fitted.squared_norm);
}

TEST_CASE("train_evaluator trains by default with the shipped optimizer the recipe names and "
          "cross-entropy",
          "[evaluate][train]") {
    // The evaluator's trained weights, bit for bit, against the same training written out: the
    // trial's generator builds and initialises the network and seeds the shuffling, then fit
    // runs with nn::sgd, nn::adam or nn::adamw and softmax cross-entropy as the recipe says.
    const chain_builder builder(tiny_space(), {.input = {1, 8, 8}, .classes = 2});
    rng pick(1);
    const auto a = tiny_space().sample(pick);
    const auto train = blobs(128, 1), val = blobs(64, 2);
    const std::uint64_t seed = 4, id = 3;
    for (const std::string name : {"sgd", "adam", "adamw"}) {
        INFO(name);
        const training_recipe recipe{.optimizer = name,
                                     .lr = name == "sgd" ? 0.05 : 0.01,
                                     .momentum = 0.8,
                                     .weight_decay = 0.01,
                                     .label_smoothing = 0.1,
                                     .batch_size = 16};
        std::vector<float> trained;
        evaluator_t ev(builder, train, val,
                       {.epochs = 2,
                        .recipe = recipe,
                        .measure_latency = false,
                        .seed = seed,
                        .extra_metrics = [&](nn::network<float>& net, const data::dataset<float>&,
                                             evaluation&) { trained = weights_of(net); }});
        const evaluation e = ev.evaluate({id, a});
        REQUIRE(e.ok());

        rng g(seed * 0x9E3779B97F4A7C15ULL + id + 1);
        nn::network<float> net = builder.build(a, g);
        nn::init::apply(net, nn::init::scheme::pytorch_default, g);
        const nn::softmax_cross_entropy<float> loss{.label_smoothing = recipe.label_smoothing};
        const train::fit_options fit{.epochs = 2, .batch_size = 16, .seed = g()};
        train::history h;
        if (name == "sgd") {
            nn::sgd<float> opt({.lr = recipe.lr, .momentum = 0.8, .weight_decay = 0.01});
            h = train::fit(net, loss, opt, *train, fit);
        } else if (name == "adam") {
            nn::adam<float> opt({.lr = recipe.lr, .weight_decay = 0.01});
            h = train::fit(net, loss, opt, *train, fit);
        } else {
            nn::adamw<float> opt({.lr = recipe.lr, .weight_decay = 0.01});
            h = train::fit(net, loss, opt, *train, fit);
        }
        CHECK(weights_of(net) == trained);
        CHECK(h.last().loss == e.metrics.at("train_loss"));
        CHECK(train::evaluate(net, loss, *val).accuracy == e.value("val_accuracy"));
    }
}

namespace {
auto plain_descent(std::shared_ptr<std::atomic<std::size_t>> steps) {
    return [steps](const training_recipe& r) {
        if (r.optimizer != "descent")
            throw std::invalid_argument("plain_descent: optimizer \"" + r.optimizer +
                                        "\", expected descent");
        return counting_descent{r.lr, steps};
    };
}
using plain_descent_t = decltype(plain_descent(nullptr));
} // namespace

static_assert(optimizer_factory<plain_descent_t>);
static_assert(optimizer_factory<shipped_optimizers>);
static_assert(loss_factory<cross_entropy_loss>);
// Not an optimizer; an optimizer of doubles; not a function of the recipe.
static_assert(!optimizer_factory<int (*)(const training_recipe&)>);
static_assert(!optimizer_factory<nn::sgd<double> (*)(const training_recipe&)>);
static_assert(!optimizer_factory<nn::sgd<float> (*)(int)>);
// A loss of either kind, or of both; not something that is no loss.
static_assert(loss_factory<nn::mean_squared_error<float> (*)(const training_recipe&)>);
static_assert(loss_factory<shipped_losses>);
static_assert(!loss_factory<int (*)(const training_recipe&)>);
static_assert(!loss_factory<nn::mean_squared_error<double> (*)(const training_recipe&)>);

TEST_CASE("train_evaluator trains with the optimizer its factory makes of the recipe",
          "[evaluate][train]") {
    const chain_builder builder(tiny_space(), {.input = {1, 8, 8}, .classes = 2});
    rng pick(1);
    const auto a = tiny_space().sample(pick);
    const auto train = blobs(256, 1), val = blobs(128, 2);
    auto steps = std::make_shared<std::atomic<std::size_t>>(0);
    std::vector<float> trained;
    const train_evaluator_options options{
        .epochs = 2,
        .recipe = {.optimizer = "descent", .lr = 0.1, .batch_size = 16},
        .measure_latency = false,
        .seed = 2,
        .extra_metrics = [&](nn::network<float>& net, const data::dataset<float>&, evaluation&) {
            trained = weights_of(net);
        }};
    train_evaluator<chain_space::architecture, chain_builder, plain_descent_t> ev(
        builder, train, val, options, plain_descent(steps));
    const evaluation e = ev.evaluate({5, a});
    INFO(e.message);
    REQUIRE(e.ok());
    CHECK(*steps == 2 * 256 / 16); // one step per batch, all of them the user's
    CHECK(e.value("val_accuracy") >= 0.9);

    // The same training by hand with the user's optimizer: the same weights, bit for bit.
    rng g(2 * 0x9E3779B97F4A7C15ULL + 5 + 1);
    nn::network<float> net = builder.build(a, g);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    CHECK(weights_of(net) != trained);
    counting_descent by_hand{0.1, std::make_shared<std::atomic<std::size_t>>(0)};
    train::fit(net, nn::softmax_cross_entropy<float>{}, by_hand, *train,
               {.epochs = 2, .batch_size = 16, .seed = g()});
    CHECK(weights_of(net) == trained);

    // train_network retrains with the evaluator's factories.
    nn::network<float> again = untrained(builder, a, 2, 5);
    steps->store(0);
    train_network(again, *train, ev.recipe(a), ev.make_optimizer(), ev.make_loss(),
                  {.epochs = 1, .seed = 1});
    CHECK(*steps == 256 / 16);

    // A recipe the factory refuses fails the trial with its message; the shipped factory
    // does not know the user's name.
    train_evaluator_options adam = options;
    adam.recipe.optimizer = "adam";
    const evaluation refused =
        train_evaluator<chain_space::architecture, chain_builder, plain_descent_t>(
            builder, train, val, adam, plain_descent(steps))
            .evaluate({5, a});
    CHECK(refused.state == status::failed);
    CHECK_THAT(refused.message, Contains("expected descent"));
    const evaluation unknown = evaluator_t(builder, train, val, options).evaluate({5, a});
    CHECK(unknown.state == status::failed);
    CHECK_THAT(unknown.message, Contains("unknown optimizer \"descent\""));
}

TEST_CASE("train_evaluator trains and validates with the loss its factory makes of the recipe",
          "[evaluate][train]") {
    const chain_builder builder(tiny_space(), {.input = {1, 8, 8}, .classes = 2});
    rng pick(1);
    const auto a = tiny_space().sample(pick);
    const auto train = blobs(256, 1), val = blobs(128, 2);
    auto calls = std::make_shared<std::atomic<std::size_t>>(0);
    auto shifted = [calls](float gradient_scale) {
        return [calls, gradient_scale](const training_recipe& r) {
            return shifted_cross_entropy{100 + r.label_smoothing, gradient_scale, calls};
        };
    };
    using shifted_t = decltype(shifted(1));
    using shifted_evaluator =
        train_evaluator<chain_space::architecture, chain_builder, shipped_optimizers, shifted_t>;
    std::vector<float> trained;
    train_evaluator_options options{
        .epochs = 2,
        .recipe = {.optimizer = "adam", .lr = 0.01, .batch_size = 16},
        .measure_latency = false,
        .seed = 3,
        .extra_metrics = [&](nn::network<float>& net, const data::dataset<float>&, evaluation&) {
            trained = weights_of(net);
        }};

    const evaluation plain = evaluator_t(builder, train, val, options).evaluate({1, a});
    REQUIRE(plain.ok());
    const std::vector<float> plain_weights = trained;

    // Cross-entropy's gradient, its value shifted by 100: the same training, a loss 100 higher.
    const evaluation e =
        shifted_evaluator(builder, train, val, options, {}, shifted(1)).evaluate({1, a});
    INFO(e.message);
    REQUIRE(e.ok());
    CHECK(trained == plain_weights);
    CHECK(e.metrics.at("train_loss") == Approx(plain.metrics.at("train_loss") + 100));
    CHECK(e.value("val_accuracy") == plain.value("val_accuracy"));
    // 16 training batches an epoch, then one validation batch of 128.
    CHECK(*calls == 2 * 16 + 1);

    // No gradient from the loss: Adam never moves, the network stays as initialised.
    const evaluation frozen =
        shifted_evaluator(builder, train, val, options, {}, shifted(0)).evaluate({1, a});
    REQUIRE(frozen.ok());
    nn::network<float> start = untrained(builder, a, 3, 1);
    CHECK(trained == weights_of(start));
    CHECK(trained != plain_weights);
}
