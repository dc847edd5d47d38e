// The main job's one-shot strategies on generated images: shared-weight trials journaled and
// labelled, the winner retrained from scratch, a run resumed from its supernet checkpoint equal
// to the uninterrupted one, and the options that do not apply refused.

#include "read_text.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>
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

// trials.csv without its cost column (seconds, which differ from run to run).
std::string trials_without_cost(const fs::path& out) {
    std::istringstream in(xnas_test::read_text(out / "trials.csv"));
    std::string line, kept;
    std::size_t cost = 0;
    for (bool header = true; std::getline(in, line); header = false) {
        std::vector<std::string> cells;
        std::stringstream row(line);
        for (std::string cell; std::getline(row, cell, ',');)
            cells.push_back(cell);
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
    cell_supernet s(cell_space::nb201().with_encoding(cell_space::encoding::path),
                    {.input = d.input, .classes = d.outputs}, {}, killed.seed);
    train_single_path_epoch(
        s, [&](rng& g) { return s.space().sample(g); }, *d.train, supernet_options(killed), 0);
    auto tensors = s.network().parameters();
    tensors.push_back(s.alpha());
    save_supernet_checkpoint(tensors, 1, fs::path(killed.out) / supernet_checkpoint_file);

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
