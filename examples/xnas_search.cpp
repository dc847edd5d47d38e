// xnas-search: neural architecture search on Fashion-MNIST (or any IDX image set) from the
// command line. Searches a space with a strategy, writes everything it learned to --out, then
// retrains the best architecture on the whole training set and evaluates the test set once.
// The tool is a front-end of xnas::experiment::run_main_job: every option is a field of
// xnas::experiment::options.
//
//   xnas-search --space chain --strategy tpe --trials 20 --epochs 1 --out out/run1
//
// Run with --help for every option.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <xnas/experiment/main_job.hpp>
#ifdef XNAS_WITH_MPI
#include <xnas/experiment/mpi_backend.hpp>
#endif

namespace fs = std::filesystem;

int main(int argc, char** argv) {
#ifdef XNAS_WITH_MPI
    xnas::mpi::session mpi_session(argc, argv);
#endif
    xnas::experiment::options c;
    CLI::App app{
        "xnas-search: neural architecture search on Fashion-MNIST.\n"
        "Writes options.json, command.toml, journal.jsonl, split.json, trials.csv, pareto.csv,\n"
        "best.json, best_model.xnas (the retrained network; also as best_model.onnx with\n"
        "--export-onnx) and report.html to --out,\n"
        "retrains the best architecture on the full training set, evaluates the test set once,\n"
        "and prints a JSON summary on stdout."};
    app.add_option("--data", c.data, "directory with the IDX files (Debian: dataset-fashion-mnist)")
        ->capture_default_str();
    app.add_option("--space", c.space,
                   "chain (conv + dense macro space), cell (NAS-Bench-201 cells), "
                   "rnn (LSTM/GRU over image rows)")
        ->check(CLI::IsMember({"chain", "cell", "rnn"}))
        ->capture_default_str();
    app.add_option("--strategy", c.strategy, xnas::experiment::describe_strategies())
        ->capture_default_str();
    app.add_option("--cost-exponent", c.cost_exponent,
                   "tpe, bohb: of about equally promising candidates prefer the "
                   "cheaper, weighing predicted log(FLOPs) by this (1: improvement per FLOP; "
                   "0: cost ignored)")
        ->capture_default_str();
    app.add_flag("--cost-cooling", c.cost_cooling,
                 "lower the cost exponent linearly to 0 as the budget is spent: cheap candidates "
                 "early, accuracy alone at the end (with --minutes the schedule follows the "
                 "clock, so runs of the same seed differ; a resume replays it exactly)");
    auto* trials =
        app.add_option("--trials", c.trials, "trials to evaluate (default 20 without --minutes)");
    auto* minutes = app.add_option(
        "--minutes", c.minutes,
        "wall-clock budget of the search (a resumed run counts the minutes its journal spent)");
    trials->excludes(minutes);
    app.add_option("--epochs", c.epochs, "training epochs per candidate (at full fidelity)")
        ->capture_default_str();
    app.add_option("--final-epochs", c.final_epochs,
                   "epochs of the final retrain (default: max(epochs, 2))");
    app.add_flag(
        "--final-constant-lr", c.final_constant_lr,
        "retrain at the searched learning rate throughout (default: cosine-annealed to 0)");
    app.add_flag("--final-augment", c.final_augment,
                 "retrain with random 2-pixel crops and horizontal flips (image spaces)");
    app.add_option("--final-erase", c.final_erase,
                   "retrain with random erasing: the chance P that an image gets a rectangle of "
                   "random pixels (image spaces; Zhong et al. 2017 use 0.5)");
    app.add_option("--final-plain-epochs", c.final_plain_epochs,
                   "with --final-augment or --final-erase: the retrain's last K epochs train on "
                   "the images as they are (0: augment every epoch)");
    app.add_option("--final-weight-decay", c.final_weight_decay,
                   "retrain with weight decay WD: decoupled (AdamW) when the winner trains with "
                   "Adam, L2 with SGD (0: the searched recipe's)");
    app.add_option("--final-label-smoothing", c.final_label_smoothing,
                   "retrain against targets (1 - E) one-hot + E / classes (0: none; Szegedy et "
                   "al. 2016 use 0.1)");
    app.add_flag("--trial-augment", c.trial_augment,
                 "train candidates with random 2-pixel crops and flips too (image spaces)");
    app.add_flag("--trial-cosine", c.trial_cosine,
                 "anneal each candidate's learning rate to 0 over its epochs, as the retrain does");
    app.add_option("--final-limit", c.final_limit,
                   "retrain on the first K training images only (0: all; for smoke tests)");
    app.add_option("--fidelity", c.fidelity,
                   "what the low rungs of hyperband, asha and bohb cut: data (the first share "
                   "of the training images) or epochs (round(epochs x fidelity), at least 1)")
        ->check(CLI::IsMember({"data", "epochs"}))
        ->capture_default_str();
    app.add_option("--train-subset", c.train_subset,
                   "train candidates on the first K images of the training split (0: all)")
        ->capture_default_str();
    app.add_option("--select", c.select,
                   "final selection: re-evaluate the K best networks (trials that differ only in "
                   "training hyperparameters count as one) for --select-epochs on --select-subset "
                   "images and retrain the best of them (0: none; with --minutes the search stops "
                   "early to leave the time)")
        ->capture_default_str();
    app.add_option("--select-epochs", c.select_epochs,
                   "epochs of the final selection's training (default: --epochs)");
    app.add_option("--select-subset", c.select_subset,
                   "the final selection trains on the first K images of the training split "
                   "(0: all)")
        ->capture_default_str();
    app.add_option("--validation-fraction", c.validation_fraction,
                   "share of the training set held out for validation (stratified, seeded)")
        ->capture_default_str();
    app.add_option("--workers", c.workers,
                   "candidates trained at once (default: number of cores; xnas-search-mpi under "
                   "mpiexec -n N: the N - 1 worker ranks)");
    app.add_flag("--async", c.asynchronous,
                 "tell the strategy each result as it arrives: with several workers a run then "
                 "depends on which candidate finished first (default: results are told in the "
                 "order they were asked, so the same seed gives the same search)");
    app.add_option("--lookahead", c.lookahead,
                   "trials asked ahead of the oldest result not yet told (default: twice the "
                   "workers, at least 4); the search depends on it and not on the workers, so "
                   "runs of one seed and lookahead agree on any number of workers up to it");
    app.add_option("--objectives", c.objectives,
                   "objectives the strategy ranks by, comma-separated, val_accuracy among them: "
                   "val_accuracy, params, flops, latency_ms (tpe, nsga2, hyperband, asha, bohb: "
                   "by non-dominated front, then crowding; default: val_accuracy, nsga2 with "
                   "params); flops and latency_ms join pareto.csv's front");
    app.add_flag("--restart-promotions", c.restart_promotions,
                 "hyperband, asha, bohb with --fidelity epochs: a promoted candidate trains from "
                 "scratch (default: it continues its lower rung's training)");
    app.add_option("--threads", c.threads,
                   "threads per candidate (each batch trained data-parallel on them)")
        ->capture_default_str();
    app.add_option("--seed", c.seed, "seed of the split, the strategy and every initialisation")
        ->capture_default_str();
    app.add_option("--max-params", c.max_params,
                   "parameter budget (0: none; the default keeps a first run's networks small): "
                   "the chain and rnn spaces are restricted up front to networks within it; a "
                   "candidate still over it fails without training and is recorded")
        ->capture_default_str();
    app.add_option("--max-mflops", c.max_mflops,
                   "budget of forward MFLOPs per image (0: none), applied as --max-params is")
        ->capture_default_str();
    app.add_option("--trial-seconds", c.trial_seconds, "per-candidate time limit (0: none)")
        ->capture_default_str();
    app.add_option("--out", c.out, "output directory")->capture_default_str()->configurable(false);
    app.add_flag("--export-onnx", c.export_onnx,
                 "also write the retrained network as --out/best_model.onnx (ONNX opset 13; input "
                 "'input' (N, input shape) normalised as the run's data, output 'output' the "
                 "logits)");
    app.add_flag("--resume", c.resume,
                 "continue the search journaled in --out (nothing lost or repeated) with the "
                 "options it ran with: those not given again come from --out/command.toml")
        ->configurable(false);
    auto* config_file = app.set_config(
        "--config", "",
        "read options from a TOML file of name = value lines; options on the command line win. "
        "Each run writes the options it was given to --out/command.toml: --config reruns that "
        "recipe elsewhere");
    // A misspelt key in a hand-written file (`minuts = 30`) must not silently run the defaults.
    app.allow_config_extras(CLI::config_extras_mode::error);
    app.add_option("--warm-start", c.warm_start,
                   "journal of an earlier search: its best architectures are tried first");
    app.add_option("--prescreen", c.prescreen,
                   "score this many random architectures by NASWOT, a zero-cost proxy of the "
                   "untrained network, and train the best --prescreen-keep first (0: off)")
        ->capture_default_str();
    app.add_option("--prescreen-keep", c.prescreen_keep,
                   "how many of the --prescreen draws are trained first")
        ->capture_default_str();
    app.add_option("--warm-start-count", c.warm_start_count,
                   "how many architectures --warm-start takes")
        ->capture_default_str();
    // Every numeric option takes the values the library lists for it (for_each_number), checked
    // on the text as typed or read from a config file: CLI11 2.1 reads "-3" for an unsigned
    // option as 2^64 - 3, and a NaN passes any comparison.
    xnas::experiment::for_each_number(c, [&](const char* name, const auto&,
                                             const xnas::experiment::value_range& r, bool) {
        app.get_option(name)->check(
            CLI::Validator([r](std::string& text) { return xnas::experiment::text_error(text, r); },
                           xnas::experiment::describe(r)));
    });
    try {
        app.parse(argc, argv);
        // Options not given again come from the run's own record, so a killed run resumes with
        // `--out DIR --resume` alone; the trial options are still checked against options.json.
        const fs::path recorded = fs::path(c.out) / "command.toml";
        std::error_code ec;
        if (c.resume && config_file->count() == 0 && fs::exists(recorded, ec)) {
            config_file->default_str(recorded.string());
            app.clear();
            app.parse(argc, argv);
        }
    } catch (const CLI::ConfigError& e) {
        // CLI11's message names the key but not the file it came from, and words an unknown
        // key as a parse failure; the fallback keeps its message for other config errors.
        const std::string file =
            config_file->count() ? config_file->as<std::string>() : config_file->get_default_str();
        const std::string what = e.what();
        const std::string_view extra = "INI was not able to parse ";
        if (what.starts_with(extra))
            std::fprintf(stderr, "xnas-search: %s: unknown option \"%s\" (see --help)\n",
                         file.c_str(), what.substr(extra.size()).c_str());
        else
            std::fprintf(stderr, "xnas-search: %s: %s\n", file.c_str(), what.c_str());
        return 2;
    } catch (const CLI::ValidationError& e) {
        // A value read from a config file (command.toml on a resume) is named with the file and
        // its key: the command line does not show it. CLI11 words the error "--name: why".
        const std::string what = e.what();
        const std::string name = what.substr(0, what.find(": "));
        bool typed = false;
        for (int i = 1; i < argc; ++i)
            typed = typed || argv[i] == name || std::string_view(argv[i]).starts_with(name + "=");
        const std::string file =
            config_file->count() ? config_file->as<std::string>() : config_file->get_default_str();
        if (typed || file.empty() || !name.starts_with("--"))
            return app.exit(e) == 0 ? 0 : 2;
        std::fprintf(stderr, "xnas-search: %s: %s\n", file.c_str(), what.substr(2).c_str());
        return 2;
    } catch (const CLI::ParseError& e) {
        // CLI11's own codes (105 for a value out of range) would tell scripts nothing more than
        // the usage error's 2; --help stays 0.
        return app.exit(e) == 0 ? 0 : 2;
    }
    c.command_toml = app.config_to_str();
    try {
        xnas::experiment::validate(c);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "xnas-search: %s\n", e.what());
        return 2;
    }

#ifdef XNAS_WITH_MPI
    const xnas::experiment::mpi_backend backend;
#else
    const xnas::experiment::local_backend backend;
#endif
    try {
        const auto result = xnas::experiment::run_main_job(c, std::cerr, backend);
        if (!result.worker)
            std::printf("%s\n", result.summary.dump().c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "xnas-search: %s\n", e.what());
#ifdef XNAS_WITH_MPI
        if (backend.ranks() > 1)
            backend.abort(1);
#endif
        return 1;
    }
}
