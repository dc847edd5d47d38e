// The main job's one-shot strategies on generated images: shared-weight trials journaled and
// labelled, the winner retrained from scratch, a run resumed from its supernet checkpoint equal
// to the uninterrupted one, and the options that do not apply refused.

#include "read_text.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>
#include <xnas/core/json.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/data/npy.hpp>
#include <xnas/experiment/main_job.hpp>

using namespace xnas;
using namespace xnas::experiment;
using Catch::Matchers::Contains;

namespace fs = std::filesystem;

namespace one_shot_test {

// 8x8 images of 3 classes told apart by where a bright square sits, as x_*.npy and y_*.npy.
fs::path position_images(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("xnas_test_one_shot_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir / "data");
    rng g(31);
    for (const auto& [split, n] : {std::pair{"train", 240}, std::pair{"test", 60}}) {
        std::vector<float> x(static_cast<std::size_t>(n) * 64);
        std::vector<std::int64_t> y(static_cast<std::size_t>(n));
        for (std::size_t i = 0; i < y.size(); ++i) {
            y[i] = static_cast<std::int64_t>(i % 3);
            for (std::size_t p = 0; p < 64; ++p)
                x[i * 64 + p] = static_cast<float>(g.uniform(0, 0.3));
            const std::size_t r0 = 2 * static_cast<std::size_t>(y[i]);
            for (std::size_t r = r0; r < r0 + 2; ++r)
                for (std::size_t c = r0; c < r0 + 2; ++c)
                    x[i * 64 + r * 8 + c] += 0.7f;
        }
        data::write_npy(dir / "data" / (std::string("x_") + split + ".npy"), {y.size(), 1, 8, 8},
                        x.data());
        data::write_npy(dir / "data" / (std::string("y_") + split + ".npy"), {y.size()}, y.data());
    }
    return dir;
}

options one_shot_job(const fs::path& dir, const std::string& strategy, const std::string& out) {
    options o;
    o.data = (dir / "data").string();
    o.space = "cell";
    o.strategy = strategy;
    o.supernet_epochs = 2;
    o.trials = 6;
    o.epochs = 1;
    o.final_epochs = 1;
    o.train_subset = 0;
    o.validation_fraction = 0.25;
    o.workers = 1;
    o.max_params = 0;
    o.max_mflops = 0;
    o.seed = 4;
    o.out = (dir / out).string();
    return o;
}

// The supernet a spos run of `o` on `d` has after its first epoch.
cell_supernet first_epoch_supernet(const options& o, const prepared_data& d) {
    cell_supernet s(cell_space::nb201().with_encoding(cell_space::encoding::path),
                    {.input = d.input, .classes = d.outputs}, {}, o.seed);
    train_single_path_epoch(s, cell_path_sampler(s), *d.train, supernet_options(o), 0);
    return s;
}

// The tensors a supernet checkpoint of `s` holds: the network's, then alpha().
std::vector<nn::parameter<float>> checkpointed(cell_supernet& s) {
    auto tensors = s.network().parameters();
    tensors.push_back(s.alpha());
    return tensors;
}

// The cells of one line of trials.csv (whose architectures hold no commas).
std::vector<std::string> csv_cells(const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');)
        cells.push_back(cell);
    return cells;
}

// A study of cells with the given validation accuracies, trial k the k-th, ranked by accuracy.
study<cell_space::architecture>
scored_cells(const std::vector<std::pair<cell_space::architecture, double>>& cells) {
    study<cell_space::architecture> s;
    s.objectives = {{"val_accuracy", direction::maximize}};
    for (const auto& [architecture, accuracy] : cells) {
        scored<cell_space::architecture> r;
        r.t.id = s.history.size();
        r.t.architecture = architecture;
        r.e.objectives["val_accuracy"] = accuracy;
        s.history.push_back(r);
    }
    return s;
}

// trials.csv without its cost column (seconds, which differ from run to run).
std::string trials_without_cost(const fs::path& out) {
    std::istringstream in(xnas_test::read_text(out / "trials.csv"));
    std::string line, kept;
    std::size_t cost = 0;
    for (bool header = true; std::getline(in, line); header = false) {
        const std::vector<std::string> cells = csv_cells(line);
        if (header)
            cost = static_cast<std::size_t>(std::find(cells.begin(), cells.end(), "cost") -
                                            cells.begin());
        for (std::size_t k = 0; k < cells.size(); ++k)
            if (k != cost)
                kept += cells[k] + ",";
        kept += "\n";
    }
    return kept;
}

// A log that calls `on_line` with each whole line written to it: the files a run has written
// when it logs a line are what a kill right after that line leaves.
class line_watcher : public std::streambuf {
  public:
    explicit line_watcher(std::function<void(const std::string&)> on_line)
        : on_line_(std::move(on_line)) {}

  protected:
    int_type overflow(int_type c) override {
        if (c == traits_type::eof())
            return c;
        if (c == '\n') {
            on_line_(line_);
            line_.clear();
        } else {
            line_.push_back(static_cast<char>(c));
        }
        return c;
    }

  private:
    std::function<void(const std::string&)> on_line_;
    std::string line_;
};

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

} // namespace one_shot_test

using namespace one_shot_test;

TEST_CASE("one-shot strategies journal shared-weight trials and retrain their winner",
          "[experiment][one_shot]") {
    const fs::path dir = position_images("methods");
    for (const std::string strategy : {"spos", "random-ws", "enas", "darts"}) {
        INFO(strategy);
        const options o = one_shot_job(dir, strategy, strategy);
        std::ostringstream log;
        const auto result = run_main_job(o, log);
        INFO(log.str());
        const fs::path out(o.out);
        const std::string trials = xnas_test::read_text(out / "trials.csv");
        CHECK_THAT(trials, Contains("shared_weights"));
        CHECK(std::count(trials.begin(), trials.end(), '\n') == 7); // header and 6 trials
        CHECK(fs::exists(out / "supernet.ckpt"));
        CHECK_THAT(log.str(), Contains("supernet epoch 2/2 (" + strategy + ")"));
        if (strategy == "darts")
            CHECK_THAT(log.str(), Contains("DARTS derived |"));
        const json::value best = json::value::parse(xnas_test::read_text(out / "best.json"));
        CHECK(best.at("test_accuracy").get<double>() >= 0);
        CHECK(result.summary.at("trials").get<std::size_t>() == 6);
    }
}

TEST_CASE("one-shot strategies search the chain space with the training parameters pinned",
          "[experiment][one_shot]") {
    const fs::path dir = position_images("chain");
    for (const std::string strategy : {"spos", "enas"}) {
        INFO(strategy);
        options o = one_shot_job(dir, strategy, "chain-" + strategy);
        o.space = "chain";
        std::ostringstream log;
        run_main_job(o, log);
        INFO(log.str());
        const std::string trials = xnas_test::read_text(fs::path(o.out) / "trials.csv");
        CHECK_THAT(trials, Contains("shared_weights"));
        CHECK(std::count(trials.begin(), trials.end(), '\n') == 7);
        // every candidate carries the supernet's recipe, which the retrain then uses
        CHECK(occurrences(trials, "optimizer=sgd") == 6);
        // ranked by accuracy, the job's objective: the study's first objective column
        CHECK(trials.find(",cost,val_accuracy,") != std::string::npos);
        CHECK_THAT(log.str(), Contains("(sgd,"));
    }
}

TEST_CASE("a one-shot run resumed from its supernet checkpoint ends as the uninterrupted run",
          "[experiment][one_shot]") {
    const fs::path dir = position_images("resume");
    const options whole = one_shot_job(dir, "spos", "whole");
    std::ostringstream log;
    run_main_job(whole, log);

    // A run killed after its first supernet epoch: the checkpoint of that epoch alone.
    options killed = one_shot_job(dir, "spos", "killed");
    const prepared_data d = prepare_data(killed);
    fs::create_directories(killed.out);
    cell_supernet s = first_epoch_supernet(killed, d);
    save_supernet_checkpoint(checkpointed(s), 1, fs::path(killed.out) / supernet_checkpoint_file);

    killed.resume = true;
    std::ostringstream resumed_log;
    run_main_job(killed, resumed_log);
    CHECK_THAT(resumed_log.str(), Contains("resumed the supernet after 1 of 2 epochs"));
    CHECK_THAT(resumed_log.str(), !Contains("supernet epoch 1/2"));
    CHECK(trials_without_cost(killed.out) == trials_without_cost(whole.out));
    CHECK(xnas_test::read_text(fs::path(killed.out) / "best_model.xnas") ==
          xnas_test::read_text(fs::path(whole.out) / "best_model.xnas"));
}

TEST_CASE("an ENAS run killed during its search resumes to the uninterrupted run's trials",
          "[experiment][one_shot]") {
    const fs::path dir = position_images("enas_resume");
    const options whole = one_shot_job(dir, "enas", "whole");
    std::ostringstream log;
    run_main_job(whole, log);

    // The run killed after its supernet's training and two results: its files then, with the
    // journal's first lines.
    options killed = one_shot_job(dir, "enas", "killed");
    fs::create_directories(killed.out);
    for (const char* name : {"options.json", "command.toml", "split.json", "supernet.ckpt"})
        fs::copy_file(fs::path(whole.out) / name, fs::path(killed.out) / name);
    std::istringstream journal(xnas_test::read_text(fs::path(whole.out) / "journal.jsonl"));
    std::string line, kept;
    for (int results = 0; results < 2 && std::getline(journal, line);) {
        kept += line + "\n";
        results += line.find("\"event\":\"result\"") != std::string::npos;
    }
    write_file_atomically(fs::path(killed.out) / "journal.jsonl", kept);

    killed.resume = true;
    std::ostringstream resumed_log;
    run_main_job(killed, resumed_log);
    INFO(resumed_log.str());
    CHECK_THAT(resumed_log.str(), Contains("resumed the supernet after 2 of 2 epochs"));
    CHECK(trials_without_cost(killed.out) == trials_without_cost(whole.out));
}

TEST_CASE("one-shot strategies refuse options that do not apply to them",
          "[experiment][one_shot]") {
    const fs::path dir = position_images("refused");
    options o = one_shot_job(dir, "spos", "out");
    o.space = "rnn";
    CHECK_THROWS_WITH(validate(o), Contains("--strategy spos needs --space cell or chain"));
    o = one_shot_job(dir, "darts", "out");
    o.space = "chain";
    CHECK_THROWS_WITH(validate(o), Contains("--strategy darts needs --space cell (a supernet"));
    o = one_shot_job(dir, "darts", "out");
    o.task = "regression";
    CHECK_THROWS_WITH(validate(o), Contains("--task regression needs spos or random-ws"));
    o = one_shot_job(dir, "enas", "out");
    o.prescreen = 10;
    CHECK_THROWS_WITH(validate(o), Contains("--prescreen applies to strategies that train each"));
    o = one_shot_job(dir, "spos", "out");
    o.supernet_epochs = 0;
    CHECK_THROWS_WITH(validate(o), Contains("--supernet-epochs"));
    // a checkpoint of another supernet is named with what differs
    o = one_shot_job(dir, "spos", "other");
    fs::create_directories(o.out);
    write_file_atomically(fs::path(o.out) / supernet_checkpoint_file, "{\"format\":\"x\"}\n");
    o.resume = true;
    std::ostringstream log;
    CHECK_THROWS_WITH(run_main_job(o, log), Contains("supernet.ckpt: not a supernet checkpoint"));
}

TEST_CASE("an ENAS run killed during its supernet training resumes to the uninterrupted run",
          "[experiment][one_shot]") {
    const fs::path dir = position_images("enas_train_resume");
    options whole = one_shot_job(dir, "enas", "whole");
    whole.supernet_epochs = 3;
    // The uninterrupted run's folder as it stood when its first supernet epoch was logged: the
    // checkpoint of that epoch, the controller's state in it.
    options killed = one_shot_job(dir, "enas", "killed");
    killed.supernet_epochs = 3;
    line_watcher watcher([&](const std::string& line) {
        if (line.find("supernet epoch 1/3") == std::string::npos)
            return;
        fs::create_directories(killed.out);
        for (const auto& f : fs::directory_iterator(whole.out))
            fs::copy_file(f.path(), fs::path(killed.out) / f.path().filename());
    });
    std::ostream log(&watcher);
    run_main_job(whole, log);
    REQUIRE(fs::exists(fs::path(killed.out) / supernet_checkpoint_file));
    CHECK(!fs::exists(fs::path(killed.out) / "journal.jsonl"));

    killed.resume = true;
    std::ostringstream resumed_log;
    run_main_job(killed, resumed_log);
    INFO(resumed_log.str());
    CHECK_THAT(resumed_log.str(), Contains("resumed the supernet after 1 of 3 epochs"));
    CHECK_THAT(resumed_log.str(), Contains("supernet epoch 3/3 (enas)"));
    CHECK(trials_without_cost(killed.out) == trials_without_cost(whole.out));
    CHECK(xnas_test::read_text(fs::path(killed.out) / "best_model.xnas") ==
          xnas_test::read_text(fs::path(whole.out) / "best_model.xnas"));
}

TEST_CASE("DARTS's derived cell is flagged and always among the final selection's networks",
          "[experiment][one_shot]") {
    const fs::path dir = position_images("darts_derived");
    options o = one_shot_job(dir, "darts", "darts");
    o.select = 2;
    std::ostringstream log;
    run_main_job(o, log);
    INFO(log.str());
    const auto line_of = [](const std::string& text, const std::string& what) {
        const auto at = text.find(what);
        REQUIRE(at != std::string::npos);
        return text.substr(at, text.find('\n', at + 1) - at);
    };
    const std::string derived = line_of(log.str(), "DARTS derived ").substr(14);
    // trials.csv names the derived cell as trial 0 and flags it
    const std::string trials = xnas_test::read_text(fs::path(o.out) / "trials.csv");
    CHECK_THAT(trials, Contains("derived"));
    CHECK_THAT(line_of(trials, "\n0,"), Contains(derived));
    const std::string selection = log.str().substr(log.str().find("final selection:"));
    CHECK_THAT(selection, Contains("trial 0 "));

    // The final selection takes a flagged trial first, even the worst: of trials scored 0.9,
    // 0.8 and 0.1 (flagged), selecting one re-evaluates the flagged one.
    const prepared_data d = prepare_data(o);
    const cell_space space = cell_space::nb201();
    const cell_builder builder(space, {.input = d.input, .classes = d.outputs});
    rng g(2);
    auto s = scored_cells({{space.sample(g), 0.9}, {space.sample(g), 0.8}, {space.sample(g), 0.1}});
    s.history[2].e.metrics["derived"] = 1;
    options one = o;
    one.select = 1;
    std::ostringstream selection_log;
    const auto picked =
        final_selection(one, space, s, builder, d, {.epochs = 1}, 1, 0, selection_log);
    REQUIRE(picked.size() == 1);
    CHECK(picked.front().result.t.id == 2);
    s.history[2].e.metrics.erase("derived");
    CHECK(final_selection(one, space, s, builder, d, {.epochs = 1}, 1, 0, selection_log)
              .front()
              .result.t.id == 0);
}

TEST_CASE("a one-shot search's time budget includes its supernet training",
          "[experiment][one_shot]") {
    const fs::path dir = position_images("minutes");
    options o = one_shot_job(dir, "spos", "minutes");
    o.trials = 0;
    o.minutes = 0.0005; // 0.03 s: less than the supernet's training
    o.select = 0;
    std::ostringstream log;
    const auto result = run_main_job(o, log);
    INFO(log.str());
    CHECK_THAT(log.str(), Contains("warning: supernet training took"));
    // one round of asks, the lookahead of one worker, however late the clock
    CHECK(result.summary.at("trials").get<std::size_t>() == job_lookahead(o, 1));
}

TEST_CASE("under a time limit the supernet trains the epochs that fit in its share of it",
          "[experiment][one_shot]") {
    options o;
    o.supernet_epochs = 12;
    CHECK(supernet_epochs_within_limit(o, 20, 100, 2) == 12); // no limit
    o.time_limit = 10; // 270 s for the supernet, 250 after the data's 20
    CHECK(supernet_epochs_within_limit(o, 20, 100, 2) == 5);  // 50 s an epoch
    CHECK(supernet_epochs_within_limit(o, 20, 90, 2) == 5);   // 45 s: 5.6 fit
    CHECK(supernet_epochs_within_limit(o, 20, 20, 2) == 12);  // 10 s: all fit
    CHECK(supernet_epochs_within_limit(o, 20, 600, 3) == 3);  // never fewer than trained
    CHECK(supernet_epochs_within_limit(o, 400, 100, 2) == 2); // the data took the share
    o.supernet_epochs = 4;
    CHECK(supernet_epochs_within_limit(o, 20, 100, 2) == 4);
    // The candidates get what is left of six tenths of the limit: 360 - 20 - 250.
    CHECK(candidate_seconds_within_limit(o, 20, 250) == Approx(90));
    CHECK(candidate_seconds_within_limit(o, 20, 400) < 0);
    CHECK(std::isinf(candidate_seconds_within_limit(options{}, 20, 400)));

    // A limit shorter than one epoch: the run trains one of its three epochs, records the plan
    // in the checkpoint, and a resumed run trains no more.
    const fs::path dir = position_images("time_limit");
    options job = one_shot_job(dir, "spos", "limit");
    job.supernet_epochs = 3;
    job.time_limit = 1e-5; // 0.6 ms
    std::ostringstream log;
    const auto result = run_main_job(job, log);
    INFO(log.str());
    // nothing left for the candidates: one round of asks, the lookahead of one worker
    CHECK(result.summary.at("trials").get<std::size_t>() == job_lookahead(job, 1));
    CHECK_THAT(log.str(), Contains("supernet epoch 1/3 (spos)"));
    CHECK_THAT(log.str(), Contains("supernet: 1 of its 3 epochs fit in 45 % of --time-limit"));
    CHECK_THAT(log.str(), !Contains("supernet epoch 2/"));
    CHECK(fs::exists(fs::path(job.out) / "best_model.xnas"));

    // The epoch trained is epoch 0 of the three-epoch plan: its learning rate annealed over 3.
    const prepared_data d = prepare_data(job);
    cell_supernet s = first_epoch_supernet(job, d);
    const auto tensors = checkpointed(s);
    const fs::path mine = dir / "one_epoch.ckpt";
    save_supernet_checkpoint(tensors, 1, mine);
    const fs::path theirs = fs::path(job.out) / supernet_checkpoint_file;
    const supernet_checkpoint_info info = load_supernet_checkpoint(tensors, theirs);
    CHECK(info.epochs_done == 1);
    CHECK(info.about.at("planned_epochs").get<std::size_t>() == 1);
    const std::string a = xnas_test::read_text(mine), b = xnas_test::read_text(theirs);
    CHECK(a.substr(a.find('\n')) == b.substr(b.find('\n'))); // the same weights, bit for bit

    job.resume = true;
    std::ostringstream resumed;
    run_main_job(job, resumed);
    CHECK_THAT(resumed.str(), Contains("resumed the supernet after 1 of 1 epochs"));
    CHECK_THAT(resumed.str(), !Contains("supernet epoch"));
}

TEST_CASE("a one-shot search reserves its final selection's time from the supernet's training "
          "speed",
          "[experiment][one_shot]") {
    const fs::path dir = position_images("reserve");
    options o = one_shot_job(dir, "spos", "reserve");
    o.select = 3;
    o.select_epochs = 4;
    o.minutes = 60;
    const prepared_data d = prepare_data(o);
    const cell_space space = cell_space::nb201();
    const cell_builder builder(space, {.input = d.input, .classes = d.outputs});
    fs::create_directories(o.out);
    selection_reserve reserve = reserve_for(o, d, 2);
    std::ostringstream log;
    one_shot_search(o, d, space, builder, job_search_options(o, 2), log, reserve);
    // A selection network trains at the supernet's seconds per image, over its own epochs and
    // images: 3 networks on 2 workers take two rounds.
    std::ifstream checkpoint(fs::path(o.out) / supernet_checkpoint_file, std::ios::binary);
    std::string header;
    std::getline(checkpoint, header);
    const double trained =
        json::value::parse(header).at("about").at("training_seconds").get<double>();
    REQUIRE(trained > 0);
    const double per_image = trained / static_cast<double>(2 * d.train->size());
    const double candidate = per_image * static_cast<double>(4 * d.select_train->size());
    CHECK(reserve.seconds_per_candidate == Approx(candidate).epsilon(1e-9));
    CHECK(reserve.reserved == Approx(2 * candidate).epsilon(1e-9));
}

TEST_CASE("one-shot searches of the cell space rank candidates by their shared-weight loss",
          "[experiment][one_shot]") {
    const fs::path dir = position_images("by_loss");
    options o = one_shot_job(dir, "random-ws", "by_loss");
    o.select = 0; // the winner is then the search's best
    std::ostringstream log;
    run_main_job(o, log);
    INFO(log.str());
    std::istringstream in(xnas_test::read_text(fs::path(o.out) / "trials.csv"));
    std::string line;
    std::getline(in, line);
    REQUIRE(line.find(",val_loss,") != std::string::npos);
    const std::vector<std::string> names = csv_cells(line);
    const auto column = [&](const std::string& name) {
        return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) -
                                        names.begin());
    };
    double lowest = 1e300, best_accuracy = -1;
    std::string by_loss, by_accuracy;
    while (std::getline(in, line)) {
        const std::vector<std::string> cells = csv_cells(line);
        const double loss = std::stod(cells[column("val_loss")]);
        const double accuracy = std::stod(cells[column("val_accuracy")]);
        if (loss < lowest) {
            lowest = loss;
            by_loss = cells[column("architecture")];
        }
        if (accuracy > best_accuracy) {
            best_accuracy = accuracy;
            by_accuracy = cells[column("architecture")];
        }
    }
    const json::value best =
        json::value::parse(xnas_test::read_text(fs::path(o.out) / "best.json"));
    CHECK(best.at("architecture").get<std::string>() == by_loss);
    INFO("the most accurate candidate: " << by_accuracy);
    // and the progress lines show the best loss, what the search goes by
    CHECK_THAT(log.str(), Contains("best val_loss "));
    CHECK_THAT(log.str(), !Contains("best val_acc "));
}

TEST_CASE("the final selection takes one cell of those that differ only in dead edges",
          "[experiment][one_shot]") {
    const fs::path dir = position_images("dead_edges");
    options o = one_shot_job(dir, "spos", "dead_edges");
    o.select = 2;
    const prepared_data d = prepare_data(o);
    const cell_space space = cell_space::nb201();
    const cell_builder builder(space, {.input = d.input, .classes = d.outputs});
    const auto s = scored_cells(
        {{space.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|"
                      "nor_conv_3x3~1|none~2|"),
          0.9},
         {space.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_3x3~0|"
                      "nor_conv_3x3~1|none~2|"),
          0.9},
         {space.parse("|skip_connect~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"),
          0.5}});
    std::ostringstream log;
    const auto picked = final_selection(o, space, s, builder, d, {.epochs = 1}, 1, 0, log);
    REQUIRE(picked.size() == 2);
    std::vector<std::uint64_t> ids{picked[0].result.t.id, picked[1].result.t.id};
    std::sort(ids.begin(), ids.end());
    CHECK(ids == std::vector<std::uint64_t>{0, 2});
}
