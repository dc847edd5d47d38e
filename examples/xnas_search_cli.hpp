#pragma once
// The options of xnas-search: every field of xnas::experiment::options as a CLI11 option with
// its help text and checks, and --config, the TOML file of name = value lines those options are
// also read from. A header so that the fuzz tests read config files through the tool's own
// option set.

#include "cli_range.hpp"

#include <CLI/CLI.hpp>
#include <string>
#include <xnas/experiment/main_job.hpp>
#include <xnas/experiment/options.hpp>

namespace xnas_search {

/// Declares xnas-search's options on `app`, each writing its field of `c`. Returns the --config
/// option, whose file (when given) the caller names in the errors of values read from it.
inline CLI::Option* add_options(CLI::App& app, xnas::experiment::options& c) {
    app.add_option("--data", c.data,
                   "directory of the data set: IDX files (train-images-idx3-ubyte, ...; Debian: "
                   "dataset-fashion-mnist), CIFAR-10/100 binary batches (data_batch_*.bin and "
                   "test_batch.bin, or train.bin and test.bin), NumPy arrays (x_train.npy, "
                   "y_train.npy, x_test.npy, y_test.npy) or CSV tables (train.csv, test.csv)")
        ->capture_default_str();
    app.add_option("--data-format", c.data_format,
                   "how to read --data: auto (detected from its files), idx, cifar10, cifar100, "
                   "npy or csv")
        ->check(CLI::IsMember({"auto", "idx", "cifar10", "cifar100", "npy", "csv"}))
        ->capture_default_str();
    app.add_option("--label", c.label,
                   "csv: the column holding the class label (or the regression target); every "
                   "other column is a feature")
        ->capture_default_str();
    app.add_option("--task", c.task,
                   "classification (val_accuracy maximised) or regression (mean squared error on "
                   "standardised targets; val_rmse minimised, R² reported)")
        ->check(CLI::IsMember({"classification", "regression"}))
        ->capture_default_str();
    app.add_option("--transfer", c.transfer,
                   "a network an earlier run saved (best_model.xnas): its head replaced for this "
                   "data, it is fine-tuned as one more candidate (trained as a trial is, scored on "
                   "validation) and, when it beats the search's best, fine-tuned on the whole "
                   "training set in place of the retrain");
    app.add_flag("--transfer-only", c.transfer_only,
                 "fine-tune --transfer on the whole training set for --final-epochs and test it, "
                 "without a search");
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
    app.add_option("--time-limit", c.time_limit,
                   "wall-clock limit of the whole run in minutes, reading the data included: the "
                   "search stops at it if --minutes has not stopped it before, and "
                   "the retrain trains as many of its --final-epochs as fit in what is left (at "
                   "least one), its learning rate annealed over those (a --transfer winner's "
                   "fine-tune trains all of them)");
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
    app.add_option("--supernet-epochs", c.supernet_epochs,
                   "one-shot strategies (spos, random-ws, enas, darts): epochs of supernet "
                   "training on the search's training split (--train-subset) before its shared "
                   "weights score the candidates")
        ->capture_default_str();
    // Every numeric option takes the values the library lists for it (for_each_number), checked
    // on the text as typed or read from a config file.
    xnas::experiment::for_each_number(
        c, [&](const char* name, const auto&, const xnas::experiment::value_range& r, bool) {
            app.get_option(name)->check(xnas_cli::in_range(r));
        });
    return config_file;
}

} // namespace xnas_search
