#pragma once
// The settings of a main job (search, final selection, retrain, one test evaluation, the results
// folder), one field per option of the xnas-search command-line tool, and the checks that refuse
// combinations that would do nothing. Error messages name the options as the tool spells them,
// since the options are the tool's.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace xnas::experiment {

/// Where the Debian package dataset-fashion-mnist installs the data set.
inline constexpr const char* default_data_dir = "/usr/share/datasets/fashion-mnist";

/// Everything a main job is told. Defaults are the command-line tool's; each field's comment
/// names its option (`--final-epochs` is final_epochs).
struct options {
    std::string data = default_data_dir; ///< directory of the four IDX files, raw or gzipped
    std::string space = "chain"; ///< chain (image chain x training hyperparameters), cell, rnn
    /// A name of the strategy registry (strategy_registry.hpp). TPE: its regret on the generated
    /// NB201-like problems is far below regularized evolution's
    /// (docs/results.md#regret-on-generated-problems).
    std::string strategy = "tpe";
    double cost_exponent = 0; ///< tpe, bohb: weight of predicted log(FLOPs) (0: cost ignored)
    bool cost_cooling = false;
    std::size_t trials = 0;       ///< 0 with minutes 0: resolve_defaults sets 20
    double minutes = 0;           ///< wall-clock budget of the search (0: none)
    std::size_t epochs = 2;       ///< per candidate, at full fidelity
    std::size_t final_epochs = 0; ///< 0: max(epochs, 2)
    std::size_t final_limit = 0;  ///< retrain on the first K training images (0: all)
    bool final_constant_lr = false;
    bool final_augment = false;
    double final_erase = 0;
    double final_weight_decay = 0;
    std::size_t final_plain_epochs = 0;
    double final_label_smoothing = 0;
    bool trial_augment = false;
    bool trial_cosine = false;
    /// What a multi-fidelity strategy's low rungs cut. Epochs are whole numbers, so with the
    /// default 2 epochs hyperband's 1/9 and 1/3 rungs would both train 1 epoch, half the full
    /// cost; the first share of the training split scales the cost down with the fidelity.
    std::string fidelity = "data";
    std::size_t train_subset = 5000;
    std::size_t select = 0;        ///< final selection of the K best networks (0: none)
    std::size_t select_epochs = 0; ///< 0: epochs
    std::size_t select_subset = 0; ///< 0: the whole training split
    double validation_fraction = 0.1;
    std::size_t workers = 0; ///< 0: the number of cores
    int threads = 1; ///< threads per candidate: its batches data-parallel, BLAS in validation
    std::uint64_t seed = 0;
    /// Parameter budget (0: none). A first run without options searches networks small enough
    /// to train in minutes on two cores, as the README's longer recipe does.
    std::size_t max_params = 100000;
    /// Keeps the default run to minutes: a 4x64-channel 5x5 chain is ~1 GFLOP.
    double max_mflops = 25;
    double trial_seconds = 0; ///< per-candidate time limit (0: none)
    std::string out = "xnas-out";
    bool resume = false;
    std::string warm_start{}; ///< journal of an earlier search of the same space
    std::size_t warm_start_count = 5;
    std::size_t prescreen = 0;
    std::size_t prescreen_keep = 5;
    /// The options given, as the tool's --config reads them back; record_options writes it to
    /// command.toml (empty: an empty file).
    std::string command_toml{};
};

/// Whether the strategy asks for fidelities below 1 (then --fidelity decides what they cut).
inline bool multi_fidelity(const std::string& strategy) {
    return strategy == "hyperband" || strategy == "asha" || strategy == "bohb";
}

/// Refuses options that would do nothing, naming them: plain retrain epochs without
/// augmentation, cost cooling without a cost exponent, a cost exponent for a strategy without a
/// cost model. Throws std::invalid_argument.
inline void validate(const options& o) {
    if (o.final_plain_epochs && !o.final_augment && o.final_erase <= 0)
        throw std::invalid_argument("--final-plain-epochs " + std::to_string(o.final_plain_epochs) +
                                    " has no effect without --final-augment or --final-erase: "
                                    "every epoch of the retrain is already plain");
    if (o.cost_cooling && o.cost_exponent == 0)
        throw std::invalid_argument("--cost-cooling needs a --cost-exponent above 0");
    if (o.cost_exponent != 0 && o.strategy != "tpe" && o.strategy != "bohb")
        throw std::invalid_argument("--cost-exponent applies to tpe and bohb, not to --strategy " +
                                    o.strategy);
}

/// The default budget, 20 trials, when neither trials nor minutes is set: a few minutes on two
/// cores.
inline void resolve_defaults(options& o) {
    if (!o.trials && o.minutes <= 0)
        o.trials = 20;
}

} // namespace xnas::experiment
