// The run record: options.json holds the trial-defining options, command.toml the options given;
// a finished run is not overwritten, and a resume that changes a trial option is refused naming
// it. Files are written atomically (no temporary file is left behind).

#include "experiment/read_text.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <xnas/core/json.hpp>
#include <xnas/experiment/files.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/run_record.hpp>

using namespace xnas::experiment;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("xnas-test-record-" + name);
    fs::remove_all(dir);
    return dir;
}

using xnas_test::read_text;

/// A finished run's folder: its record and a journal with one line.
options finished_run(const fs::path& dir) {
    options o{.strategy = "evolution", .epochs = 1, .seed = 3, .out = dir.string()};
    o.command_toml = "strategy=\"evolution\"\nepochs=1\nseed=3\n";
    record_options(o);
    std::ofstream(dir / "journal.jsonl") << "{\"event\":\"start\"}\n";
    return o;
}

} // namespace

TEST_CASE("options.json keeps the trial options, optional ones only when set",
          "[experiment][record]") {
    options o;
    auto r = trial_options(o);
    CHECK(r.at("space").get<std::string>() == "chain");
    CHECK(r.at("strategy").get<std::string>() == "tpe");
    CHECK(r.at("epochs").get<std::size_t>() == 2);
    CHECK(r.at("train-subset").get<std::size_t>() == 5000);
    CHECK(!r.find("fidelity"));
    CHECK(!r.find("cost-exponent"));
    CHECK(!r.find("prescreen"));
    o.strategy = "bohb";
    o.cost_exponent = 1;
    o.prescreen = 30;
    r = trial_options(o);
    CHECK(r.at("fidelity").get<std::string>() == "data");
    CHECK(r.at("cost-exponent").get<double>() == 1);
    CHECK(r.at("prescreen-keep").get<std::size_t>() == 5);
    // Options that only shape the retrain or the budget are not trial options.
    CHECK(!r.find("final-epochs"));
    CHECK(!r.find("trials"));
}

TEST_CASE("record_options writes options.json and command.toml atomically",
          "[experiment][record]") {
    const fs::path dir = fresh_dir("write");
    const options o = finished_run(dir);
    const auto recorded = xnas::json::value::parse(read_text(dir / "options.json"));
    CHECK(recorded.dump() == trial_options(o).dump());
    CHECK(read_text(dir / "command.toml") == o.command_toml);
    for (const auto& f : fs::directory_iterator(dir))
        CHECK(f.path().filename().string().find(".tmp") == std::string::npos);
    // A resume keeps the run's options.json and rewrites command.toml.
    options resumed = o;
    resumed.resume = true;
    resumed.command_toml = "trials=9\n";
    record_options(resumed);
    CHECK(read_text(dir / "options.json") == recorded.dump(2) + "\n");
    CHECK(read_text(dir / "command.toml") == "trials=9\n");
    fs::remove_all(dir);
}

TEST_CASE("a journaled run is not overwritten", "[experiment][record]") {
    const fs::path dir = fresh_dir("overwrite");
    options o = finished_run(dir);
    o.resume = false;
    CHECK_THROWS_AS(check_out_dir(o), xnas::file_error);
    CHECK_THROWS_WITH(check_out_dir(o), Contains("journal.jsonl exists; pass --resume"));
    o.resume = true;
    CHECK_NOTHROW(check_out_dir(o));
    // An empty folder, or one without a journal, is fine.
    CHECK_NOTHROW(check_out_dir(options{.out = (dir / "new").string()}));
    fs::remove_all(dir);
}

TEST_CASE("a resume that changes a trial option is refused, naming it", "[experiment][record]") {
    const fs::path dir = fresh_dir("resume");
    const options o = finished_run(dir);
    options resumed = o;
    resumed.resume = true;
    resumed.epochs = 2;
    CHECK_THROWS_WITH(check_out_dir(resumed),
                      Contains("--resume: --epochs is 2 but the run in " + o.out + " used 1"));
    resumed = o;
    resumed.resume = true;
    resumed.strategy = "tpe";
    CHECK_THROWS_WITH(check_out_dir(resumed), Contains("--strategy is \"tpe\""));
    // A key the run recorded that the resume does not set.
    resumed = o;
    resumed.resume = true;
    resumed.cost_exponent = 1;
    CHECK_THROWS_WITH(check_out_dir(resumed), Contains("--cost-exponent is 1.0 but the run"));
    // Budgets and retrain options may change.
    resumed = o;
    resumed.resume = true;
    resumed.trials = 40;
    resumed.final_epochs = 30;
    resumed.select = 3;
    CHECK_NOTHROW(check_out_dir(resumed));
    // The run used an option the resume leaves out.
    {
        auto record = trial_options(o);
        record["prescreen"] = 30;
        std::ofstream(dir / "options.json") << record.dump(2);
    }
    resumed = o;
    resumed.resume = true;
    CHECK_THROWS_WITH(check_out_dir(resumed),
                      Contains("--resume: the run in " + o.out + " used --prescreen 30"));
    std::ofstream(dir / "options.json") << "{\"space\":";
    CHECK_THROWS_AS(check_out_dir(resumed), xnas::parse_error);
    fs::remove_all(dir);
}

TEST_CASE("validate refuses options that do nothing", "[experiment][record]") {
    CHECK_NOTHROW(validate(options{}));
    CHECK_THROWS_WITH(validate(options{.final_plain_epochs = 2}),
                      Contains("--final-plain-epochs 2 has no effect without"));
    CHECK_NOTHROW(validate(options{.final_augment = true, .final_plain_epochs = 2}));
    CHECK_THROWS_WITH(validate(options{.cost_cooling = true}),
                      Contains("--cost-cooling needs a --cost-exponent above 0"));
    CHECK_THROWS_WITH(validate(options{.strategy = "evolution", .cost_exponent = 1}),
                      Contains("--cost-exponent applies to tpe and bohb, not to --strategy "
                               "evolution"));
    options o;
    resolve_defaults(o);
    CHECK(o.trials == 20);
    options timed{.minutes = 5};
    resolve_defaults(timed);
    CHECK(timed.trials == 0);
}

TEST_CASE("a whole run's time limit bounds its search and holds the search's budget",
          "[experiment][record]") {
    CHECK(search_budget_seconds(options{}) == 0);
    CHECK(search_budget_seconds(options{.minutes = 5}) == 300);
    CHECK(search_budget_seconds(options{.time_limit = 20}) == 1200);
    CHECK(search_budget_seconds(options{.minutes = 11, .time_limit = 20}) == 660);
    CHECK(search_budget_seconds(options{.minutes = 20, .time_limit = 20}) == 1200);
    CHECK_THROWS_WITH(validate(options{.minutes = 21, .time_limit = 20}),
                      Equals("--minutes 21 is more than --time-limit 20: the search's budget is "
                             "part of the whole run's"));
    CHECK_THROWS_WITH(validate(options{.time_limit = -1}),
                      Equals("--time-limit: expected a finite number > 0, not -1"));
    // Without --minutes the trial budget stays: the limit only stops a search that outruns it.
    options o{.time_limit = 20};
    resolve_defaults(o);
    CHECK(o.trials == 20);
}

TEST_CASE("validate refuses a value out of its option's range", "[experiment][record]") {
    CHECK_THROWS_WITH(validate(options{.epochs = 0}),
                      Equals("--epochs: expected a whole number >= 1, not 0"));
    CHECK_THROWS_WITH(validate(options{.validation_fraction = std::nan("")}),
                      Equals("--validation-fraction: expected a finite number in [0.01, 0.5], "
                             "not nan"));
    CHECK_THROWS_WITH(validate(options{.threads = -2}), Contains("--threads: expected"));
    CHECK_THROWS_WITH(validate(options{.trial_seconds = -1}), Contains("--trial-seconds"));
    // std::stoul("-3") wraps: the message says what the huge number likely was.
    CHECK_THROWS_WITH(validate(options{.trials = std::stoul("-3")}),
                      Contains("not 18446744073709551613 (a negative number read as unsigned?)"));
    // A field's 0 that stands for its option not given passes; "0: none" values pass.
    CHECK_NOTHROW(validate(options{.trials = 0, .final_epochs = 0, .workers = 0}));
    CHECK_NOTHROW(validate(options{.max_params = 0, .max_mflops = 0, .trial_seconds = 0}));

    // The tools' check of the text, before a parser converts it.
    CHECK(text_error("-3", option_range("--trials")) == "expected a whole number >= 1, not -3");
    CHECK(text_error("0", option_range("--trials")) == "expected a whole number >= 1, not 0");
    CHECK(text_error("010", option_range("--trials")) != "");
    CHECK(text_error("99999999999999999999", any_seed).ends_with("(too large)"));
    CHECK(text_error("18446744073709551615", any_seed).empty());
    CHECK(text_error("inf", option_range("--minutes")) == "expected a finite number > 0, not inf");
    CHECK(text_error("0.5", option_range("--final-erase")).empty());
    CHECK(text_error("0", option_range("--max-params")).empty());
    CHECK_THROWS_WITH(option_range("--space"), Contains("--space is not a numeric option"));
}

TEST_CASE("named objectives: known ones, each once, validation accuracy among them",
          "[experiment][record]") {
    const auto three = named_objectives("val_accuracy,params,latency_ms");
    REQUIRE(three.size() == 3);
    CHECK(three[0] == xnas::objective{"val_accuracy", xnas::direction::maximize});
    CHECK(three[2] == xnas::objective{"latency_ms", xnas::direction::minimize});
    CHECK(named_objectives("").empty());
    CHECK_THROWS_WITH(named_objectives("val_accuracy,size"), Contains("unknown: \"size\""));
    CHECK_THROWS_WITH(named_objectives("val_accuracy,params,params"), Contains("params twice"));
    CHECK_THROWS_WITH(named_objectives("params,flops"), Contains("no val_accuracy"));
    CHECK_THROWS_WITH(named_objectives("val_accuracy,"), Contains("unknown: \"\""));
    // Only the strategies that rank by several take several.
    CHECK_NOTHROW(validate(options{.strategy = "asha", .objectives = "val_accuracy,flops"}));
    CHECK_THROWS_WITH(
        validate(options{.strategy = "evolution", .objectives = "val_accuracy,flops"}),
        Contains("not to --strategy evolution"));
    CHECK_NOTHROW(validate(options{.strategy = "evolution", .objectives = "val_accuracy"}));
    CHECK_THROWS_WITH(validate(options{.asynchronous = true, .lookahead = 4}),
                      Contains("--lookahead 4 has no effect with --async"));
}

TEST_CASE("write_atomically replaces a file whole and names a path it cannot write",
          "[experiment][record]") {
    const fs::path dir = fresh_dir("atomic");
    fs::create_directories(dir);
    write_atomically(dir / "a.txt", "first");
    write_atomically(dir / "a.txt", "second");
    CHECK(read_text(dir / "a.txt") == "second");
    CHECK(!fs::exists(temporary_path(dir / "a.txt")));
    CHECK_THROWS_WITH(write_atomically(dir / "missing" / "b.txt", "x"),
                      Contains((dir / "missing" / "b.txt").string()));
    fs::remove_all(dir);
}

TEST_CASE("the task decides the primary objective; options that do not fit it are refused",
          "[experiment][record]") {
    options o;
    CHECK(primary_objective(o) == xnas::objective{"val_accuracy", xnas::direction::maximize});
    o.task = "regression";
    CHECK(primary_objective(o) == xnas::objective{"val_rmse", xnas::direction::minimize});
    o.strategy = "nsga2";
    o.objectives = "val_rmse,flops";
    const auto named = named_objectives(o);
    REQUIRE(named.size() == 2);
    CHECK(named[0].dir == xnas::direction::minimize);
    CHECK_NOTHROW(validate(o));
    o.objectives = "val_accuracy,flops";
    CHECK_THROWS_WITH(validate(o), Contains("unknown: \"val_accuracy\"") && Contains("val_rmse"));
    o.objectives.clear();
    o.final_label_smoothing = 0.1;
    CHECK_THROWS_WITH(validate(o), Contains("--final-label-smoothing"));
    o.final_label_smoothing = 0;
    o.trial_augment = true;
    CHECK_THROWS_WITH(validate(o), Contains("--trial-augment") && Contains("regression"));
    o.trial_augment = false;
    o.task = "ranking";
    CHECK_THROWS_WITH(validate(o),
                      Contains("--task ranking is unknown (classification, regression)"));
    o.task = "classification";
    o.data_format = "parquet";
    CHECK_THROWS_WITH(validate(o), Contains("--data-format parquet is unknown"));
    o.data_format = "npy";
    o.transfer_only = true;
    CHECK_THROWS_WITH(validate(o), Contains("--transfer-only needs --transfer"));
    o.transfer = "model.xnas";
    CHECK_NOTHROW(validate(o));
    // Recorded only when not the default, so a run recorded before these options resumes.
    CHECK(!trial_options(options{}).find("task"));
    CHECK(trial_options(o).at("data-format").get<std::string>() == "npy");
}
