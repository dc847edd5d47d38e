#include "oneshot/fixtures.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <xnas/data/dataset.hpp>
#include <xnas/nn/layers/identity.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/oneshot/cell_supernet.hpp>
#include <xnas/oneshot/shared_weight_evaluator.hpp>
#include <xnas/oneshot/training.hpp>
#include <xnas/run/search.hpp>
#include <xnas/strategy/lstm_controller.hpp>
#include <xnas/strategy/regularized_evolution.hpp>
#include <xnas/strategy/reinforce.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace oneshot_training_tests {

using oneshot_fixtures::position_task;
using oneshot_fixtures::small_cells;

// Weight-free ops that ignore their input, the planted-op task's decoys: a constant (Kind 0)
// and a fixed pattern (Kind 1). Only "keep" passes on what the labels depend on.
template <int Kind>
struct input_blind {
    using value_type = float;
    void forward(const nn::array<float>& x, nn::array<float>& y, nn::mode) {
        nn::ensure_shape(y, {x.shape().begin(), x.shape().end()});
        for (std::size_t i = 0; i < x.size(); ++i)
            y.data()[i] = Kind == 0 ? 1.0f : std::cos(static_cast<float>(i % 37));
    }
    void backward(const nn::array<float>& x, const nn::array<float>&, const nn::array<float>&,
                  nn::array<float>* dx) {
        if (!dx)
            return;
        nn::ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        dx->fill(0.0f);
    }
    std::vector<nn::parameter<float>> parameters() { return {}; }
    nn::shape output_shape(const nn::shape& in) const { return in; }
    std::size_t parameter_count() const { return 0; }
    std::size_t flops(const nn::shape& in) const { return nn::volume(in); }
};

// Images whose class is the sign of their mean brightness: the cell's one edge must pass its
// input on ("keep") for the head to see it.
data::dataset<float> sign_task(std::size_t n, rng& g) {
    data::dataset<float> ds;
    ds.x = nn::array<float>::from_shape({n, 1, 6, 6});
    ds.labels.resize(n);
    ds.num_classes = 2;
    for (std::size_t i = 0; i < n; ++i) {
        ds.labels[i] = static_cast<std::int32_t>(i % 2);
        const float shift = ds.labels[i] ? 0.4f : -0.4f;
        for (std::size_t p = 0; p < 36; ++p)
            ds.x.data()[i * 36 + p] = shift + static_cast<float>(g.uniform(-1, 1));
    }
    return ds;
}

cell_supernet planted_supernet(std::uint64_t seed) {
    const cell_space space(2, {"none", "constant", "keep", "pattern"});
    std::map<std::string, cell_builder::edge_op> ops{
        {"constant",
         [](std::size_t) { return std::vector<nn::any_layer<float>>{input_blind<0>()}; }},
        {"pattern",
         [](std::size_t) { return std::vector<nn::any_layer<float>>{input_blind<1>()}; }},
        {"keep",
         [](std::size_t) { return std::vector<nn::any_layer<float>>{nn::identity<float>()}; }}};
    return cell_supernet(space, {.input = {1, 6, 6}, .classes = 2, .channels = 4, .stages = 1}, ops,
                         seed);
}

std::vector<std::vector<float>> weights_of(nn::network<float>& net) {
    std::vector<std::vector<float>> w;
    for (const auto& p : net.parameters())
        w.emplace_back(p.value->begin(), p.value->end());
    return w;
}

} // namespace oneshot_training_tests

using namespace oneshot_training_tests;

TEST_CASE("train_darts_epoch: DARTS finds the planted op", "[oneshot][darts]") {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        rng g(seed);
        const data::dataset<float> train = sign_task(256, g), val = sign_task(128, g);
        cell_supernet s = planted_supernet(seed);
        const supernet_training_options o{.epochs = 6, .batch_size = 32, .lr = 0.05, .seed = seed};
        for (std::size_t e = 0; e < o.epochs; ++e)
            train_darts_epoch(s, train, val, o, e, {.alpha_lr = 0.05});
        const auto a = derive_darts(s);
        INFO("seed " << seed << ": derived " << s.space().to_string(a));
        CHECK(s.space().ops()[a.ops[0]] == "keep");
    }
}

TEST_CASE("derive_darts: none never wins an edge and skip_connect keeps at most max_skips",
          "[oneshot][darts]") {
    cell_supernet s(cell_space::nb201(), small_cells(), {}, 1);
    // ops: none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3
    const std::vector<std::vector<float>> logits{
        {9, 5, 1, 2, 0}, // none highest: the best other op is skip_connect, by 3 -> nor_conv_3x3
        {0, 4, 3, 1, 0}, // skip by 1 -> nor_conv_1x1
        {0, 6, 1, 1, 2}, // skip by 4: kept
        {0, 1, 2, 3, 4}, // avg_pool_3x3
        {0, 8, 1, 7, 0}, // skip by 1 -> nor_conv_3x3
        {0, 9, 0, 0, 1}, // skip by 8: kept
    };
    float* alpha = s.alpha().value->data();
    for (std::size_t e = 0; e < 6; ++e)
        for (std::size_t k = 0; k < 5; ++k)
            alpha[e * 5 + k] = logits[e][k];
    CHECK(s.space().to_string(derive_darts(s, 2)) ==
          "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|"
          "skip_connect~2|");
    // without a cap every edge keeps its argmax (none aside)
    CHECK(s.space().to_string(derive_darts(s, 6)) ==
          "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|avg_pool_3x3~0|skip_connect~1|"
          "skip_connect~2|");
}

TEST_CASE("train_single_path_epoch: the same seed gives the same supernet, and a run resumed "
          "between epochs equals the uninterrupted one",
          "[oneshot][spos]") {
    rng g(7);
    const data::dataset<float> train = position_task(96, g);
    const supernet_training_options o{.epochs = 2, .batch_size = 16, .seed = 11};
    auto uniform = [](const cell_space& space) {
        return [&space](rng& r) { return space.sample(r); };
    };
    cell_supernet whole(cell_space::nb201(), small_cells(), {}, 3);
    for (std::size_t e = 0; e < 2; ++e)
        train_single_path_epoch(whole, uniform(whole.space()), train, o, e);

    cell_supernet first(cell_space::nb201(), small_cells(), {}, 3);
    train_single_path_epoch(first, uniform(first.space()), train, o, 0);
    // a new process: a fresh supernet that loads the weights after epoch 0, then epoch 1
    cell_supernet resumed(cell_space::nb201(), small_cells(), {}, 99);
    auto from = first.network().parameters(), to = resumed.network().parameters();
    REQUIRE(from.size() == to.size());
    for (std::size_t k = 0; k < from.size(); ++k)
        *to[k].value = *from[k].value;
    train_single_path_epoch(resumed, uniform(resumed.space()), train, o, 1);
    CHECK(weights_of(resumed.network()) == weights_of(whole.network()));

    cell_supernet other_seed(cell_space::nb201(), small_cells(), {}, 3);
    auto o2 = o;
    o2.seed = 12;
    train_single_path_epoch(other_seed, uniform(other_seed.space()), train, o2, 0);
    CHECK(weights_of(other_seed.network()) != weights_of(first.network()));
    CHECK_THROWS_WITH(train_single_path_epoch(first, uniform(first.space()), train, o, 2),
                      Contains("epoch 2 of 2"));
}

TEST_CASE("path_seconds_per_sample: times a path trained alone and leaves the supernet as it was",
          "[oneshot][spos]") {
    rng g(7);
    const data::dataset<float> train = position_task(96, g);
    cell_supernet s(cell_space::nb201(), small_cells(), {}, 3);
    const auto before = weights_of(s.network());
    const auto a = s.space().sample(g);
    const double per_sample =
        path_seconds_per_sample(s, a, train, {.epochs = 1, .batch_size = 16}, 0.05);
    CHECK(per_sample > 0);
    CHECK(per_sample < 1);
    CHECK(weights_of(s.network()) == before);
}

TEST_CASE("fair_paths: every op of every edge is on exactly one path of a group",
          "[oneshot][fair]") {
    const cell_space space = cell_space::nb201();
    rng g(5);
    const auto first = fair_paths(space, g);
    for (int draw = 0; draw < 20; ++draw) {
        const auto group = draw == 0 ? first : fair_paths(space, g);
        REQUIRE(group.size() == space.ops().size());
        for (std::size_t e = 0; e < space.edges(); ++e) {
            std::vector<int> seen(space.ops().size(), 0);
            for (const auto& path : group)
                ++seen.at(path.ops.at(e));
            CHECK(seen == std::vector<int>(space.ops().size(), 1));
        }
    }
    CHECK(fair_paths(space, g) != first);
}

TEST_CASE("cell_path_sampler: ops that hold weights are drawn weighted_share times as often as "
          "the others",
          "[oneshot][sampler]") {
    cell_supernet s(cell_space::nb201(), small_cells(), {}, 1);
    const cell_path_sampler sample(s, 4);
    // none, skip_connect and avg_pool_3x3 hold no weights; the two convolutions do.
    const std::vector<double> expected{1.0 / 11, 1.0 / 11, 4.0 / 11, 4.0 / 11, 1.0 / 11};
    for (std::size_t k = 0; k < expected.size(); ++k)
        CHECK(sample.probability(k) == Approx(expected[k]));
    rng g(3);
    std::vector<double> counts(5, 0);
    const int draws = 20000;
    bool every_edge = true;
    for (int d = 0; d < draws; ++d) {
        const auto a = sample(g);
        every_edge = every_edge && a.ops.size() == s.space().edges();
        for (const auto op : a.ops)
            ++counts.at(op);
    }
    CHECK(every_edge);
    const double n = static_cast<double>(draws * s.space().edges());
    for (std::size_t k = 0; k < expected.size(); ++k)
        CHECK(counts[k] / n == Approx(expected[k]).margin(0.01));

    // A user's op counts by its layers' parameters; share 1 is uniform.
    cell_supernet planted = planted_supernet(1); // none, constant, keep, pattern: no weights
    const cell_path_sampler uniform(planted, 1);
    for (std::size_t k = 0; k < 4; ++k)
        CHECK(uniform.probability(k) == Approx(0.25));
    const cell_space with_conv(2, {"none", "nor_conv_1x1"});
    cell_supernet conv(with_conv, small_cells(), {}, 1);
    CHECK(cell_path_sampler(conv, 3).probability(1) == Approx(0.75));

    CHECK_THROWS_WITH(cell_path_sampler(s, 0), Contains("weighted_share is 0"));
    CHECK_THROWS_WITH(cell_path_sampler(s, std::nan("")), Contains("expected > 0"));
}

TEST_CASE("gradient_accumulator: a group of steps is one step with the summed gradients",
          "[oneshot][fair]") {
    nn::array<float> w = nn::array<float>::from_shape({3}), dw = w;
    w.fill(1.0f);
    const std::vector<nn::parameter<float>> params{{"w", &w, &dw}};
    xnas::detail::gradient_accumulator<nn::sgd<float>> opt(nn::sgd<float>({.lr = 0.5}), 2);
    dw.fill(0.25f);
    opt.step(params);
    CHECK(w.data()[0] == 1.0f); // half a group: nothing moves
    dw.fill(1.0f);
    opt.step(params);
    CHECK(w.data()[1] == Approx(1.0f - 0.5f * 1.25f));
    dw.fill(2.0f);
    opt.step(params);
    opt.flush(); // a partial group steps too
    CHECK(w.data()[2] == Approx(1.0f - 0.5f * 1.25f - 0.5f * 2.0f));
    opt.flush(); // and nothing is left to step
    CHECK(w.data()[2] == Approx(1.0f - 0.5f * 1.25f - 0.5f * 2.0f));
}

TEST_CASE("train_fair_paths_epoch: a group of batches trains every op of every edge; the same "
          "seed gives the same supernet, and a resumed run the uninterrupted one's",
          "[oneshot][fair]") {
    // No none op (it would leave edges dead on a path) and no decay or momentum: a weight moves
    // only when its op trained on a batch.
    const cell_space space(4, {"nor_conv_1x1", "nor_conv_3x3", "skip_connect"});
    rng g(7);
    const data::dataset<float> train = position_task(48, g); // 3 batches: one group
    const supernet_training_options o{
        .epochs = 2, .batch_size = 16, .momentum = 0, .weight_decay = 0, .seed = 11};
    auto untrained_tensors = [&](auto&& train_epoch, std::uint64_t seed) {
        cell_supernet s(space, small_cells(), {}, 3);
        const auto before = weights_of(s.network());
        auto t = o;
        t.seed = seed;
        train_epoch(s, t);
        const auto after = weights_of(s.network());
        std::size_t same = 0;
        for (std::size_t k = 0; k < before.size(); ++k)
            same += before[k] == after[k];
        return same;
    };
    auto fair = [&](cell_supernet& s, const supernet_training_options& t) {
        train_fair_paths_epoch(s, train, t, 0);
    };
    auto uniform = [&](cell_supernet& s, const supernet_training_options& t) {
        train_single_path_epoch(
            s, [&](rng& r) { return space.sample(r); }, train, t, 0);
    };
    std::size_t uniform_missed = 0;
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
        CHECK(untrained_tensors(fair, seed) == 0);
        uniform_missed += untrained_tensors(uniform, seed);
    }
    CHECK(uniform_missed > 0); // three uniform draws leave some op of some edge untrained

    cell_supernet whole(space, small_cells(), {}, 3);
    for (std::size_t e = 0; e < 2; ++e)
        train_fair_paths_epoch(whole, train, o, e);
    cell_supernet again(space, small_cells(), {}, 3), resumed(space, small_cells(), {}, 99);
    train_fair_paths_epoch(again, train, o, 0);
    auto from = again.network().parameters(), to = resumed.network().parameters();
    for (std::size_t k = 0; k < from.size(); ++k)
        *to[k].value = *from[k].value;
    train_fair_paths_epoch(again, train, o, 1);
    train_fair_paths_epoch(resumed, train, o, 1);
    CHECK(weights_of(again.network()) == weights_of(whole.network()));
    CHECK(weights_of(resumed.network()) == weights_of(whole.network()));
    CHECK_THROWS_WITH(train_fair_paths_epoch(whole, train, o, 2), Contains("epoch 2 of 2"));
}

TEST_CASE("shared_weight_evaluator: scores a path as its extracted, recalibrated network, and "
          "strategies search over it",
          "[oneshot][evaluator]") {
    rng g(8);
    const data::dataset<float> train = position_task(384, g), val = position_task(96, g);
    cell_supernet s(cell_space::nb201(), small_cells(), {}, 4);
    const supernet_training_options o{.epochs = 6, .batch_size = 16, .lr = 0.05, .seed = 2};
    auto uniform = [&](rng& r) { return s.space().sample(r); };
    double last_accuracy = 0;
    for (std::size_t e = 0; e < o.epochs; ++e)
        last_accuracy = train_single_path_epoch(s, uniform, train, o, e).accuracy;
    CHECK(last_accuracy > 0.5); // chance is 1/3

    shared_weight_evaluator<cell_supernet> eval(s, train, val,
                                                {.recalibration_batches = 4, .batch_size = 32});
    const auto a = s.space().make(
        {"nor_conv_3x3", "nor_conv_1x1", "skip_connect", "none", "nor_conv_3x3", "avg_pool_3x3"});
    const evaluation e = eval.evaluate({.id = 1, .architecture = a});
    REQUIRE(e.ok());
    CHECK(e.metrics.at("shared_weights") == 1);
    nn::network<float> net = s.extract(a);
    train::recalibrate_batch_norm(net, train, 32, 4);
    const auto want = train::evaluate(net, train::default_loss<float>{}, val, 32);
    CHECK(e.objectives.at("val_accuracy") == want.accuracy);
    CHECK(e.objectives.at("params") == static_cast<double>(net.parameter_count()));

    cell_space::architecture wrong;
    wrong.ops = {1, 2};
    const evaluation bad = eval.evaluate({.id = 2, .architecture = wrong});
    CHECK(bad.state == status::failed);
    CHECK_THAT(bad.message, Contains("edges"));

    // SPOS's search: evolution over the shared-weight scores, on two workers
    auto study =
        search(s.space(),
               regularized_evolution<cell_space>(
                   {.population_size = 8, .sample_size = 3, .objective = {"val_accuracy"}}),
               eval,
               {.objectives = {{"val_accuracy", direction::maximize}},
                .max_trials = 24,
                .seed = 5,
                .workers = 2});
    REQUIRE(study.best_index({"val_accuracy", direction::maximize}));
    std::size_t ok = 0;
    for (const auto& r : study.history)
        ok += r.e.ok();
    CHECK(ok == 24);
}

TEST_CASE("train_controller: ENAS's controller learns to prefer paths that score well under "
          "shared weights",
          "[oneshot][enas]") {
    rng g(9);
    const data::dataset<float> train = sign_task(256, g), val = sign_task(128, g);
    cell_supernet s = planted_supernet(5);
    reinforce<cell_space, lstm_policy> controller({.objective = {"val_accuracy"}},
                                                  lstm_policy({.learning_rate = 0.05}));
    rng control(3);
    const supernet_training_options o{.epochs = 4, .batch_size = 32, .lr = 0.05, .seed = 1};
    auto from_controller = [&](rng& r) { return controller.ask(s.space(), r).architecture; };
    for (std::size_t e = 0; e < o.epochs; ++e) {
        train_single_path_epoch(s, from_controller, train, o, e);
        train_controller(s, s.space(), controller, control, val, {.steps = 30, .batch_size = 64},
                         e * 30);
    }
    // the controller's samples now favour "keep" on the one edge
    std::size_t keep = 0;
    for (int k = 0; k < 50; ++k)
        keep += s.space().ops()[controller.ask(s.space(), control).architecture.ops[0]] == "keep";
    CHECK(keep > 25); // uniform: 12.5 of 50
}
