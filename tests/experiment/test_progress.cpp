// Progress output: the retrain's bar with the time left on a terminal and one line per epoch
// elsewhere, fed by a real retrain; the search's per-trial lines; the final selection's time
// reserve, which stops a search under a clock budget early enough for the selection.

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include <xnas/core/study.hpp>
#include <xnas/experiment/final_selection.hpp>
#include <xnas/experiment/progress.hpp>
#include <xnas/experiment/retrain.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/network.hpp>

using namespace xnas::experiment;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1))
        ++n;
    return n;
}

xnas::train::batch_result batch(std::size_t epoch, std::size_t b, std::size_t batches) {
    return {.epoch = epoch, .batch = b, .batch_count = batches, .samples = 8, .loss = 0.75};
}

xnas::train::epoch_result epoch_end(std::size_t epoch, double loss, double acc, double seconds) {
    xnas::train::epoch_result e;
    e.epoch = epoch;
    e.loss = loss;
    e.accuracy = acc;
    e.seconds = seconds;
    return e;
}

/// Builds a two-layer perceptron of `hidden` units for 4 features and 3 classes.
struct mlp_builder {
    xnas::nn::network<float> build(const std::size_t& hidden, xnas::rng&) const {
        xnas::nn::network<float> net({4});
        net.add(xnas::nn::dense<float>(4, hidden));
        net.add(xnas::nn::relu<float>());
        net.add(xnas::nn::dense<float>(hidden, 3));
        return net;
    }
};

xnas::data::dataset<float> blobs(std::size_t n) {
    xnas::rng g(7);
    xnas::data::dataset<float> ds;
    ds.num_classes = 3;
    ds.x = xnas::nn::array<float>::from_shape({n, 4});
    ds.labels.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<std::int32_t>(g.below(3));
        ds.labels[i] = c;
        for (std::size_t d = 0; d < 4; ++d)
            ds.x(i, d) = static_cast<float>(g.normal(d == static_cast<std::size_t>(c) ? 3 : 0, 1));
    }
    return ds;
}

/// The normalization of inputs used as they are: mean 0, deviation 1.
xnas::data::normalization unscaled() {
    xnas::data::normalization stats;
    stats.mean = {0};
    stats.stddev = {1};
    return stats;
}

template <class A>
xnas::scored<A> result(std::uint64_t id, A a, double acc, double cost, double fidelity = 1) {
    xnas::scored<A> r{{id, std::move(a), fidelity, {}}, {}};
    r.e.objectives["val_accuracy"] = acc;
    r.e.cost = cost;
    return r;
}

} // namespace

TEST_CASE("durations, bars and the time left read as people expect", "[experiment][progress]") {
    CHECK(format_duration(42.4) == "42 s");
    CHECK(format_duration(365) == "6 min 05 s");
    CHECK(format_duration(7380) == "2 h 03 min");
    CHECK(format_duration(-3) == "0 s");
    CHECK(eta_seconds(1, 4, 10) == 30);
    CHECK(eta_seconds(0, 4, 10) == 0);
    CHECK(eta_seconds(4, 4, 10) == 0);
    CHECK(progress_bar(1, 4, 8) == "[##......]");
    CHECK(progress_bar(5, 4, 4) == "[####]");
    CHECK(progress_bar(3, 0, 4) == "[....]");
}

TEST_CASE("the retrain prints one line per epoch, with the time left, off a terminal",
          "[experiment][progress]") {
    std::ostringstream out;
    retrain_progress p{.epochs = 2, .out = &out, .tty = false};
    p.on_epoch_begin(0);
    for (std::size_t b = 0; b < 3; ++b)
        p.on_batch_end(batch(0, b, 3));
    p.on_epoch_end(epoch_end(0, 0.5, 0.8, 3));
    p.on_epoch_begin(1);
    for (std::size_t b = 0; b < 3; ++b)
        p.on_batch_end(batch(1, b, 3));
    p.on_epoch_end(epoch_end(1, 0.4, 0.9, 3));
    p.on_fit_end({});
    CHECK(out.str() == "retrain epoch 1/2  loss 0.5000  train acc 0.8000  3 s  eta 3 s\n"
                       "retrain epoch 2/2  loss 0.4000  train acc 0.9000  6 s  eta 0 s\n");
}

TEST_CASE("on a terminal the retrain redraws a bar with the time left", "[experiment][progress]") {
    std::ostringstream out;
    retrain_progress p{.epochs = 2, .out = &out, .tty = true, .redraw_seconds = 0};
    p.on_epoch_begin(0);
    p.on_batch_end(batch(0, 0, 4));
    const std::string first = out.str();
    CHECK_THAT(first, StartsWith("\rretrain [###....................."));
    CHECK_THAT(first, Contains("epoch 1/2  batch 1/4  loss 0.7500  elapsed 0 s  eta "));
    for (std::size_t b = 1; b < 4; ++b)
        p.on_batch_end(batch(0, b, 4));
    CHECK(count(out.str(), "\rretrain [") == 4);
    CHECK_THAT(out.str(), Contains("[############............] epoch 1/2  batch 4/4"));
    p.on_epoch_end(epoch_end(0, 0.5, 0.8, 3));
    // The epoch's line replaces the bar and stays; the next batch draws the bar below it.
    CHECK_THAT(out.str(), EndsWith("\r\033[Kretrain epoch 1/2  loss 0.5000  train acc 0.8000  3 s  "
                                   "eta 3 s\n"));
    p.on_epoch_begin(1);
    p.on_batch_end(batch(1, 0, 4));
    CHECK_THAT(out.str(), Contains("\n\rretrain [###############"));
    p.on_fit_end({});
    CHECK_THAT(out.str(), EndsWith("\r\033[K"));
    // With a redraw interval, batches between redraws print nothing; an epoch's last one does.
    std::ostringstream slow;
    retrain_progress q{.epochs = 1, .out = &slow, .tty = true, .redraw_seconds = 3600};
    q.on_epoch_begin(0);
    for (std::size_t b = 0; b < 10; ++b)
        q.on_batch_end(batch(0, b, 10));
    CHECK(count(slow.str(), "\rretrain [") == 2);
    CHECK_THAT(slow.str(), Contains("batch 10/10"));
}

TEST_CASE("a real retrain reports each epoch and follows the final recipe",
          "[experiment][progress][retrain]") {
    const auto train = blobs(200);
    const xnas::data::normalization stats = unscaled();
    options o{.seed = 4};
    o.final_epochs = 3;
    o.final_limit = 120;
    o.final_weight_decay = 0.01;
    o.final_label_smoothing = 0.1;
    std::ostringstream log;
    const xnas::training_recipe searched{.optimizer = "adam", .lr = 0.01, .batch_size = 32};
    const retrained r =
        retrain(o, mlp_builder{}, std::size_t{16}, searched, train, stats, false, 2, log);
    CHECK(r.history.epochs.size() == 3);
    CHECK(r.history.images == 3 * 120); // final_limit
    CHECK(r.recipe.optimizer == "adamw");
    CHECK(r.recipe.weight_decay == 0.01);
    CHECK(r.recipe.label_smoothing == 0.1);
    CHECK(r.fit.threads == 2);
    CHECK(r.fit.schedule.has_value()); // cosine unless final_constant_lr
    CHECK(r.plain_epochs == 3);        // no augmentation: every epoch is plain
    const std::string text = log.str();
    CHECK_THAT(text, StartsWith("retraining the best architecture on 120 samples for 3 epochs on 2 "
                                "threads (adamw, cosine-annealed learning rate, weight decay "
                                "0.01, label smoothing 0.1)...\n"));
    CHECK(count(text, "\nretrain epoch ") == 3);
    CHECK_THAT(text, Contains("retrain epoch 3/3  loss "));
    CHECK(text.find('\r') == std::string::npos); // a string stream is no terminal
    // Same seed, same network: the retrain is reproducible.
    std::ostringstream again;
    const retrained twin =
        retrain(o, mlp_builder{}, std::size_t{16}, searched, train, stats, false, 2, again);
    CHECK(twin.history.last().loss == r.history.last().loss);
}

TEST_CASE("epochs_within keeps the retrain's epochs that fit, at least one",
          "[experiment][retrain]") {
    CHECK(epochs_within(100, 10, 5, 6) == 6);   // 9.5 fit, 6 planned
    CHECK(epochs_within(100, 10, 15, 12) == 8); // 8.5 fit
    CHECK(epochs_within(59.9, 10, 0, 12) == 5);
    CHECK(epochs_within(5, 10, 0, 6) == 1); // none fits: the winner is still retrained
    CHECK(epochs_within(-30, 10, 0, 6) == 1);
    CHECK(epochs_within(1e9, 10, 0, 6) == 6);
    CHECK(epochs_within(100, 0, 0, 6) == 6); // no timing: every planned epoch
    CHECK(epochs_within(std::nan(""), 10, 0, 6) == 1);
}

TEST_CASE("plan_retrain keeps headroom and a deadline before the tail", "[experiment][retrain]") {
    // 390 s before the tail at 75.8 s an epoch: 5.15 fit as timed, 4.68 with a tenth of
    // headroom; the plan starts 5 epochs and anneals over 4.68.
    const retrain_plan tight = plan_retrain(400, 75.8, 10, 6, 0.1);
    CHECK(tight.epochs == 5);
    CHECK(tight.annealed_epochs == Approx(390 / 83.38));
    CHECK(tight.seconds_per_epoch == Approx(83.38));
    CHECK(tight.deadline_seconds == 390);
    const retrain_plan timed = plan_retrain(400, 75.8, 10, 6, 0);
    CHECK(timed.epochs == 6);
    CHECK(timed.annealed_epochs == Approx(390 / 75.8));
    // Whole epochs that fit exactly are not rounded up to one more.
    const retrain_plan whole = plan_retrain(410, 100, 10, 6, 0);
    CHECK(whole.epochs == 4);
    CHECK(whole.annealed_epochs == 4);
    const retrain_plan roomy = plan_retrain(1000, 10, 0, 6, 0.1);
    CHECK(roomy.epochs == 6);
    CHECK(roomy.annealed_epochs == 6);
    CHECK(roomy.deadline_seconds == 1000);
    // Not even the one epoch always trained fits: it trains whole, without a deadline.
    const retrain_plan none = plan_retrain(5, 10, 0, 6, 0.1);
    CHECK(none.epochs == 1);
    CHECK(none.annealed_epochs == 1);
    CHECK(none.deadline_seconds == 0);
    const retrain_plan untimed = plan_retrain(100, 0, 0, 6, 0.1);
    CHECK(untimed.deadline_seconds == 0);
    CHECK(untimed.epochs == 6);
    CHECK(untimed.annealed_epochs == 6);
    CHECK_THROWS_WITH(plan_retrain(100, 10, 0, 6, -0.1), Contains("headroom is -0.1"));
    CHECK_THROWS_AS(plan_retrain(100, 10, 0, 6, std::nan("")), std::invalid_argument);
}

TEST_CASE("a retrain cut to a fraction of an epoch anneals to 0 within it",
          "[experiment][retrain]") {
    options o;
    o.final_epochs = 6;
    const xnas::training_recipe recipe{.optimizer = "sgd", .lr = 0.05};
    const xnas::data::normalization stats = unscaled();
    const auto cut = retrain_fit_options(o, recipe, stats, false, 1, 7, 5, 4.6);
    REQUIRE(cut.schedule);
    CHECK(cut.epochs == 5);
    CHECK(cut.schedule->lr(0) == Approx(0.05));
    CHECK(cut.schedule->lr(2.3) == Approx(0.025));
    CHECK(cut.schedule->lr(4.6) == Approx(0).margin(1e-12));
    // Whole epochs, or none given: the cosine over all of them, as before.
    for (double annealed : {0.0, 5.0}) {
        const auto whole = retrain_fit_options(o, recipe, stats, false, 1, 7, 5, annealed);
        CHECK(whole.schedule->lr(2.5) == Approx(0.025));
        CHECK(whole.schedule->lr(4.6) > 0.0005);
    }
    o.final_constant_lr = true;
    CHECK_FALSE(retrain_fit_options(o, recipe, stats, false, 1, 7, 5, 4.6).schedule);
}

TEST_CASE("a retrain under a time limit trains the epochs that fit and otherwise the same",
          "[experiment][progress][retrain]") {
    const auto train = blobs(200);
    const xnas::data::normalization stats = unscaled();
    options o{.seed = 6};
    o.final_epochs = 3;
    const xnas::training_recipe searched{.optimizer = "sgd", .lr = 0.05, .batch_size = 20};
    auto run = [&](const options& opt, const retrain_budget& budget, std::string& text) {
        std::ostringstream log;
        retrained r = retrain(opt, mlp_builder{}, std::size_t{16}, searched, train, stats, false, 1,
                              log, budget);
        text = log.str();
        return r;
    };
    std::string plain_log, roomy_log, short_log, one_log;
    const retrained plain = run(o, {}, plain_log);
    // Room for every epoch: timed on a copy, the retrain itself is the one without a limit.
    const retrained roomy = run(o, {.seconds_left = 1e6, .scored_after = 100}, roomy_log);
    CHECK(plain_log.find("--time-limit") == std::string::npos);
    CHECK_THAT(roomy_log, StartsWith("--time-limit: 3 of the retrain's 3 epochs fit in the "));
    REQUIRE(roomy.history.epochs.size() == 3);
    CHECK(roomy.history.last().loss == plain.history.last().loss);
    CHECK(plain.fit.time_limit_seconds == 0);
    CHECK(roomy.fit.time_limit_seconds > 1e6 - 60); // the deadline: what is left before the tail
    CHECK(roomy.fit.time_limit_seconds < 1e6);
    // No time left: one epoch, annealed over one epoch, as a retrain planned for one.
    const retrained cut = run(o, {.seconds_left = 0, .scored_after = 100}, short_log);
    CHECK_THAT(short_log, StartsWith("--time-limit: 1 of the retrain's 3 epochs fit in the 0 s "
                                     "left (an epoch takes about "));
    CHECK_THAT(short_log,
               Contains("retraining the best architecture on 200 samples for 1 epoch on"));
    REQUIRE(cut.history.epochs.size() == 1);
    CHECK(cut.fit.time_limit_seconds == 0); // the one epoch always trained runs whole
    options one = o;
    one.final_epochs = 1;
    const retrained single = run(one, {}, one_log);
    CHECK(cut.history.last().loss == single.history.last().loss);
    CHECK(cut.history.last().loss != plain.history.epochs.front().loss); // the schedule differs
}

TEST_CASE("seconds_per_sample times a copy and leaves the network as it was",
          "[experiment][retrain]") {
    const auto train = blobs(200);
    xnas::rng g(1);
    auto net = mlp_builder{}.build(std::size_t{16}, g);
    xnas::nn::init::apply(net, xnas::nn::init::scheme::pytorch_default, g);
    std::vector<float> before;
    for (const auto& p : net.parameters())
        before.insert(before.end(), p.value->begin(), p.value->end());
    const double s =
        seconds_per_sample(net, train, {.optimizer = "sgd", .lr = 0.1, .batch_size = 20},
                           {.epochs = 5, .seed = 2}, 5.0);
    CHECK(s > 0);
    CHECK(s < 0.1); // a 16-unit MLP trains far faster than 10 samples a second
    std::vector<float> after;
    for (const auto& p : net.parameters())
        after.insert(after.end(), p.value->begin(), p.value->end());
    CHECK(after == before);
}

TEST_CASE("the search prints one line per trial off a terminal", "[experiment][progress]") {
    std::ostringstream out;
    search_progress p{.total = 4, .out = &out, .tty = false};
    xnas::study<int> s;
    s.history.push_back(result(0, 1, 0.5, 1));
    p.on_result(s.history.back(), s);
    auto failed = result(1, 2, 0.0, 1);
    failed.e = xnas::evaluation::failure(xnas::status::failed, "parameter budget");
    s.history.push_back(failed);
    p.on_result(s.history.back(), s);
    const std::string text = out.str();
    CHECK_THAT(text, StartsWith("trial 1/4  elapsed 0s  eta 0s  best val_acc 0.5000  failed 0  ok\n"
                                "trial 2/4  elapsed 0s  eta 0s  best val_acc 0.5000  failed 1  "
                                "failed: parameter budget\n"));
    CHECK(p.finished_at.size() == 2);
    CHECK(failed_trials(s) == 1);

    // The time left counts only the trials run since the search began: not what came before
    // it (a supernet's training, 100 s here) nor the trials a resume replayed (2).
    std::ostringstream late;
    search_progress q{.total = 4, .out = &late, .tty = false};
    q.start -= std::chrono::seconds(100);
    q.on_start(s);
    s.history.push_back(result(2, 3, 0.6, 1));
    q.on_result(s.history.back(), s);
    CHECK_THAT(late.str(), StartsWith("trial 3/4  elapsed 100s  eta 0s  "));
}

TEST_CASE("the time reserve stops a search in time for the final selection",
          "[experiment][reserve]") {
    xnas::study<int> s;
    s.history.push_back(result(0, 1, 0.9, 10));
    s.history.push_back(result(1, 2, 0.8, 20));
    s.history.push_back(result(2, 3, 0.7, 30));
    // The two best cost 10 and 20 s: 15 s each, twice as long in the selection, one at a time.
    CHECK(selection_seconds_estimate(s, {"val_accuracy"}, 2, 2.0, 1) == Approx(60));
    CHECK(selection_seconds_estimate(s, {"val_accuracy"}, 2, 2.0, 2) == Approx(30));
    // A third-fidelity trial's cost counts three times.
    s.history.push_back(result(3, 4, 0.95, 5, 1.0 / 3));
    CHECK(selection_seconds_estimate(s, {"val_accuracy"}, 4, 1.0, 4) ==
          Approx((10 + 20 + 30 + 15) / 4.0));
    s.history.pop_back();

    s.resumed_seconds = 100; // as if 100 s were spent before a resume
    selection_reserve reserve{.budget_seconds = 150, .k = 2, .scale = 2, .workers = 1};
    CHECK(reserve.on_result(s.history.back(), s)); // 100 + 60 >= 150: stop
    CHECK(reserve.reserved == Approx(60));
    reserve.budget_seconds = 200;
    CHECK(!reserve.on_result(s.history.back(), s)); // 100 + 60 < 200: go on
    reserve.k = 0;
    reserve.budget_seconds = 150;
    CHECK(!reserve.on_result(s.history.back(), s)); // no selection: nothing to reserve
    // Given a candidate's seconds (a one-shot search's reserve), the trials' costs do not count.
    selection_reserve fixed{
        .budget_seconds = 150, .k = 3, .workers = 2, .seconds_per_candidate = 20};
    CHECK(!fixed.on_result(s.history.back(), s)); // 100 + 2 rounds x 20 < 150
    CHECK(fixed.reserved == Approx(40));
    fixed.k = 5;
    CHECK(fixed.on_result(s.history.back(), s)); // 100 + 3 rounds x 20 >= 150
    CHECK(fixed.reserved == Approx(60));
    selection_reserve untimed{.budget_seconds = 0, .k = 2};
    CHECK(!untimed.on_result(s.history.back(), s));
    xnas::study<int> none;
    CHECK(!selection_reserve{.budget_seconds = 1, .k = 2}.on_result(s.history.back(), none));
}

TEST_CASE("under a whole run's time limit the reserve keeps time for the retrain too",
          "[experiment][reserve]") {
    xnas::study<int> s;
    s.history.push_back(result(0, 1, 0.9, 10));
    s.history.push_back(result(1, 2, 0.8, 20));
    s.resumed_seconds = 100;
    // The best trial cost 10 s; the retrain is 5 times as long: 50 s.
    selection_reserve r{.limit_seconds = 300, .retrain_scale = 5};
    CHECK(!r.on_result(s.history.back(), s)); // 100 + 50 < 300
    CHECK(r.retrain_reserved == Approx(50));
    r.retrain_scale = 20;
    CHECK(r.on_result(s.history.back(), s)); // 100 + 200 >= 300
    // With a selection of the two best (15 s each, twice as long, one at a time: 60 s), both.
    selection_reserve both{
        .budget_seconds = 1000, .k = 2, .scale = 2, .limit_seconds = 250, .retrain_scale = 5};
    CHECK(!both.on_result(s.history.back(), s)); // 100 + 60 + 50 < 250
    both.limit_seconds = 200;
    CHECK(both.on_result(s.history.back(), s)); // 100 + 60 + 50 >= 200
    // The best trial's cost is scaled to full fidelity: a third-fidelity 5 s trial is 15 s.
    xnas::study<int> partial;
    partial.history.push_back(result(2, 3, 0.95, 5, 1.0 / 3));
    selection_reserve low{.limit_seconds = 300, .retrain_scale = 5};
    low.on_result(partial.history.back(), partial);
    CHECK(low.retrain_reserved == Approx(75));
    // No limit: nothing reserved for the retrain.
    selection_reserve none{.retrain_scale = 5};
    CHECK(!none.on_result(s.history.back(), s));
    CHECK(none.retrain_reserved == 0);

    // A main job's: trials of 2 epochs on 1,000 samples, a retrain of 6 on 4,000 on both
    // workers' threads (6 x 4,000 / (2 x 1,000) / 2 = 6); the limit less the data's seconds and
    // those spent before the search.
    auto samples = [](std::size_t n) {
        auto ds = std::make_shared<xnas::data::dataset<float>>();
        ds->x = xnas::nn::array<float>::from_shape({n, 1});
        ds->labels.assign(n, 0);
        ds->num_classes = 1;
        return ds;
    };
    prepared_data d;
    d.train = samples(1000);
    d.full_train = samples(4000);
    d.seconds = 30;
    options o{.time_limit = 10, .epochs = 2, .final_epochs = 6};
    const selection_reserve job = reserve_for(o, d, 2, 20);
    CHECK(job.retrain_scale == Approx(6));
    CHECK(job.limit_seconds == Approx(600 - 30 - 20));
    o.final_limit = 2000; // the retrain's first 2,000 samples
    CHECK(reserve_for(o, d, 2).retrain_scale == Approx(3));
    o.strategy = "spos"; // a one-shot search keeps none
    CHECK(reserve_for(o, d, 2).limit_seconds == 0);
    o.strategy = "tpe";
    o.time_limit = 0;
    CHECK(reserve_for(o, d, 2).limit_seconds == 0);
}

TEST_CASE("trials that differ only in training hyperparameters are one network",
          "[experiment][reserve]") {
    using pair = std::pair<int, double>;
    CHECK(same_network{}(pair{1, 0.1}, pair{1, 0.2}));
    CHECK(!same_network{}(pair{1, 0.1}, pair{2, 0.1}));
    CHECK(same_network{}(3, 3));
    CHECK(!same_network{}(3, 4));
    // cells that differ only in a dead branch are one network in the cell space
    const auto cells = xnas::cell_space::nb201();
    const auto a = cells.parse(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|");
    const auto b = cells.parse(
        "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|");
    const auto c = cells.parse(
        "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|");
    CHECK(same_network_in(cells)(a, b));
    CHECK(!same_network_in(cells)(a, c));
    CHECK(!same_network{}(a, b));
    // Two learning rates of one network take one place of the selection's two.
    xnas::study<pair> s;
    s.history.push_back(result(0, pair{1, 0.1}, 0.9, 10));
    s.history.push_back(result(1, pair{1, 0.2}, 0.85, 10));
    s.history.push_back(result(2, pair{2, 0.1}, 0.8, 40));
    CHECK(selection_seconds_estimate(s, {"val_accuracy"}, 2, 1.0, 2) == Approx(25));
}
