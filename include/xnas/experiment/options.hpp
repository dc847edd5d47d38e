#pragma once
// The settings of a main job (search, final selection, retrain, one test evaluation, the results
// folder), one field per option of the xnas-search command-line tool, the values each numeric
// option accepts, and the checks that refuse values out of range and combinations that would do
// nothing. Error messages name the options as the tool spells them, since the options are the
// tool's.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>
#include <xnas/core/trial.hpp>

namespace xnas::experiment {

/// Where the Debian package dataset-fashion-mnist installs the data set.
inline constexpr const char* default_data_dir = "/usr/share/datasets/fashion-mnist";

/// Everything a main job is told. Defaults are the command-line tool's; each field's comment
/// names its option (`--final-epochs` is final_epochs).
struct options {
    /// Directory of the data set: four IDX files (raw or gzipped), CIFAR-10/100 binary
    /// batches, x_train.npy, y_train.npy, x_test.npy and y_test.npy, or train.csv and test.csv.
    std::string data = default_data_dir;
    /// auto (detected from the files in `data`), idx, cifar10, cifar100, npy or csv.
    std::string data_format = "auto";
    std::string label = "label"; ///< csv: the column of the class label or regression target
    /// classification (softmax cross-entropy; val_accuracy maximised) or regression (mean squared
    /// error on standardised targets; val_rmse minimised, val_r2 reported).
    std::string task = "classification";
    std::string space = "chain"; ///< chain (image chain x training hyperparameters), cell, rnn
    /// A name of the strategy registry (strategy_registry.hpp). TPE: its regret on the generated
    /// NB201-like problems is far below regularized evolution's
    /// (docs/results.md#regret-on-generated-problems).
    std::string strategy = "tpe";
    double cost_exponent = 0; ///< tpe, bohb: weight of predicted log(FLOPs) (0: cost ignored)
    bool cost_cooling = false;
    std::size_t trials = 0; ///< 0 with minutes 0: resolve_defaults sets 20
    double minutes = 0;     ///< wall-clock budget of the search (0: none)
    /// Wall-clock limit of the whole run in minutes, reading the data included (0: none;
    /// --time-limit). A multi-trial search stops in time for the final selection and the
    /// retrain (reserve_for), a one-shot supernet trains the epochs that fit in 45 % of it
    /// (supernet_epochs_within_limit) and its candidates take what is left of six tenths
    /// (candidate_seconds_within_limit), and the retrain trains as many of its final_epochs as
    /// fit in what is left (at least one; a transfer winner's fine-tune trains all of them).
    double time_limit = 0;
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
    /// Tell the strategy each result as it arrives (--async): with several workers what is asked
    /// next then depends on which trial finished first. Off: results are told in ask order and
    /// the same seed gives the same search (search_options::asynchronous).
    bool asynchronous = false;
    /// Trials asked ahead of the oldest result not told (0: job_lookahead's default).
    std::size_t lookahead = 0;
    /// The objectives the strategy ranks by, comma-separated names of val_accuracy, params, flops
    /// and latency_ms (--objectives); val_accuracy among them. Empty: val_accuracy alone (nsga2:
    /// with params). The ones beyond val_accuracy and params join pareto.csv's front.
    std::string objectives{};
    /// Promoted trials train from scratch instead of continuing their parent's training
    /// (train_evaluator_options::continue_promotions).
    bool restart_promotions = false;
    int threads = 1; ///< threads per candidate: its batches data-parallel, BLAS in validation
    std::uint64_t seed = 0;
    /// Parameter budget (0: none). A first run without options searches networks small enough
    /// to train in minutes on two cores, as the README's longer recipe does.
    std::size_t max_params = 100000;
    /// Keeps the default run to minutes: a 4x64-channel 5x5 chain is ~1 GFLOP.
    double max_mflops = 25;
    double trial_seconds = 0; ///< per-candidate time limit (0: none)
    std::string out = "xnas-out";
    bool export_onnx = false; ///< also write the retrained network as best_model.onnx
    bool resume = false;
    std::string warm_start{}; ///< journal of an earlier search of the same space
    std::size_t warm_start_count = 5;
    std::size_t prescreen = 0;
    std::size_t prescreen_keep = 5;
    /// A network saved by an earlier run (best_model.xnas) fine-tuned on this data (--transfer):
    /// its head replaced for this task, it is trained as a trial is and competes with the
    /// search's best on validation; the winner is retrained (a transfer winner fine-tuned again
    /// from the saved weights) on the whole training set.
    std::string transfer{};
    /// Fine-tune `transfer` on the whole training set instead of searching (--transfer-only).
    bool transfer_only = false;
    /// One-shot strategies (spos, random-ws, enas, darts): epochs of supernet training on the
    /// search's training split before its shared weights score the candidates.
    std::size_t supernet_epochs = 10;
    /// The options given, as the tool's --config reads them back; record_options writes it to
    /// command.toml (empty: an empty file).
    std::string command_toml{};
};

/// Whether the strategy asks for fidelities below 1 (then --fidelity decides what they cut).
inline bool multi_fidelity(const std::string& strategy) {
    return strategy == "hyperband" || strategy == "asha" || strategy == "bohb";
}

/// The values a numeric option accepts. Whole numbers are written without a sign: CLI11 and
/// std::stoul read "-3" for an unsigned option as 2^64 - 3, which a bound alone cannot tell
/// from a huge count.
struct value_range {
    bool whole = true;
    double min = 0;
    /// Whole numbers: a count's default cap, 2^53, is far above any real count and far below
    /// what a wrapped negative number becomes (infinity: any 64-bit value, as a seed).
    double max = 0x1p53;
    bool min_excluded = false; ///< the range is (min, max]
};

/// Whole numbers from `min` (2^53 at most).
constexpr value_range count_from(std::uint64_t min) {
    return {.min = static_cast<double>(min)};
}
/// Whole numbers in [min, max], as an int option takes them.
constexpr value_range count_in(std::uint64_t min, std::uint64_t max) {
    return {.min = static_cast<double>(min), .max = static_cast<double>(max)};
}
/// Any unsigned 64-bit value.
inline constexpr value_range any_seed{.max = std::numeric_limits<double>::infinity()};
/// Finite numbers in [min, max].
constexpr value_range real_in(double min, double max = std::numeric_limits<double>::infinity()) {
    return {.whole = false, .min = min, .max = max};
}
/// Finite numbers above `min`.
constexpr value_range real_above(double min) {
    return {.whole = false,
            .min = min,
            .max = std::numeric_limits<double>::infinity(),
            .min_excluded = true};
}

namespace detail {

// 15 digits: 0.01 stays 0.01 and INT_MAX 2147483647.
inline std::string format_bound(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.15g", v);
    return text;
}

} // namespace detail

/// The range in words, as error messages give it: "a whole number >= 1", "a finite number in
/// [0, 1]". A count's cap is left out: only a value past it (range_error) needs to hear of it.
inline std::string describe(const value_range& r) {
    const bool bounded = std::isfinite(r.max) && !(r.whole && r.max == 0x1p53);
    std::string s = r.whole ? "a whole number" : "a finite number";
    if (bounded && !r.min_excluded)
        return s + " in [" + detail::format_bound(r.min) + ", " + detail::format_bound(r.max) + "]";
    if (bounded)
        return s + " in (" + detail::format_bound(r.min) + ", " + detail::format_bound(r.max) + "]";
    return s + (r.min_excluded ? " > " : " >= ") + detail::format_bound(r.min);
}

/// Empty when `v` is in `r`, else why not ("expected a whole number >= 1, not 0"). A value
/// above a count's cap is most likely a negative number that went through an unsigned
/// conversion; the message says so, since the number printed is not the one typed.
template <class T>
std::string range_error(T v, const value_range& r) {
    static_assert(std::is_arithmetic_v<T>);
    const auto d = static_cast<double>(v);
    bool ok = !std::isnan(d) && (r.min_excluded ? d > r.min : d >= r.min) && d <= r.max;
    if constexpr (std::is_floating_point_v<T>)
        ok = ok && std::isfinite(d);
    if (ok)
        return {};
    std::string why = "expected " + describe(r) + ", not ";
    if constexpr (std::is_floating_point_v<T>)
        why += detail::format_bound(d);
    else
        why += std::to_string(v);
    if (std::is_unsigned_v<T> && d > 0x1p63)
        why += " (a negative number read as unsigned?)";
    else if (r.whole && r.max == 0x1p53 && d > r.max)
        why += " (2^53 at most)";
    return why;
}

/// Empty when `text`, as typed on a command line or in a config file, is a value in `r`, else
/// why not. Whole numbers are decimal digits only, so "-3" is refused before a parser wraps it.
inline std::string text_error(std::string_view text, const value_range& r) {
    const char* first = text.data();
    const char* last = first + text.size();
    if (r.whole) {
        std::uint64_t v = 0;
        const auto [end, ec] = std::from_chars(first, last, v);
        // A leading 0 is refused too: CLI11 would read "010" as octal 8.
        if (text.empty() || text.front() < '0' || text.front() > '9' || end != last ||
            ec == std::errc::invalid_argument || (text.size() > 1 && text.front() == '0'))
            return "expected " + describe(r) + ", not " + std::string(text);
        if (ec == std::errc::result_out_of_range)
            return "expected " + describe(r) + ", not " + std::string(text) + " (too large)";
        return range_error(v, r);
    }
    double v = 0;
    const auto [end, ec] = std::from_chars(first, last, v);
    if (text.empty() || end != last || ec != std::errc())
        return "expected " + describe(r) + ", not " + std::string(text);
    return range_error(v, r);
}

/// Throws std::invalid_argument naming `name` when `v` is not in `r`.
template <class T>
void check_range(std::string_view name, T v, const value_range& r) {
    if (std::string why = range_error(v, r); !why.empty())
        throw std::invalid_argument(std::string(name) + ": " + why);
}

/// Calls f(option, field, range, zero_unset) for each numeric field of `o`, with the values its
/// option accepts when given. zero_unset: the field's 0 stands for the option not given (its
/// default), so validate() lets 0 pass while the tool refuses an explicit 0. The one list of
/// ranges: validate() checks the fields with it, the tool the text of each option.
template <class Options, class F>
void for_each_number(Options& o, F&& f) {
    f("--cost-exponent", o.cost_exponent, real_in(0), false);
    f("--trials", o.trials, count_from(1), true);
    f("--minutes", o.minutes, real_above(0), true);
    f("--time-limit", o.time_limit, real_above(0), true);
    f("--epochs", o.epochs, count_from(1), false);
    f("--final-epochs", o.final_epochs, count_from(1), true);
    f("--final-limit", o.final_limit, count_from(0), false);
    f("--final-erase", o.final_erase, real_in(0, 1), false);
    f("--final-weight-decay", o.final_weight_decay, real_in(0), false);
    f("--final-plain-epochs", o.final_plain_epochs, count_from(0), false);
    f("--final-label-smoothing", o.final_label_smoothing, real_in(0, 0.99), false);
    f("--train-subset", o.train_subset, count_from(0), false);
    f("--select", o.select, count_from(0), false);
    f("--select-epochs", o.select_epochs, count_from(1), true);
    f("--select-subset", o.select_subset, count_from(0), false);
    f("--validation-fraction", o.validation_fraction, real_in(0.01, 0.5), false);
    f("--workers", o.workers, count_from(1), true);
    f("--lookahead", o.lookahead, count_from(1), true);
    f("--threads", o.threads, count_in(1, std::numeric_limits<int>::max()), false);
    f("--seed", o.seed, any_seed, false);
    f("--max-params", o.max_params, count_from(0), false);
    f("--max-mflops", o.max_mflops, real_in(0), false);
    f("--trial-seconds", o.trial_seconds, real_in(0), false);
    f("--warm-start-count", o.warm_start_count, count_from(1), false);
    f("--prescreen", o.prescreen, count_from(0), false);
    f("--prescreen-keep", o.prescreen_keep, count_from(1), false);
    f("--supernet-epochs", o.supernet_epochs, count_from(1), false);
}

/// Whether the job fits real-valued targets (--task regression).
inline bool regression(const options& o) {
    return o.task == "regression";
}

/// What the job selects by: validation accuracy (maximised) for classification, validation
/// RMSE (minimised) for regression.
inline objective primary_objective(const options& o) {
    return regression(o) ? objective{"val_rmse", direction::minimize}
                         : objective{"val_accuracy", direction::maximize};
}

/// An objective's name as progress lines print it: val_acc for val_accuracy.
inline std::string short_name(const objective& o) {
    return o.name == "val_accuracy" ? std::string("val_acc") : o.name;
}

/// The objectives --objectives names, with their directions: `primary` (val_accuracy, or
/// val_rmse for regression) as it is, params, flops and latency_ms minimised. Empty text: none.
/// Throws std::invalid_argument naming the option for an unknown or repeated name, or a list
/// without the primary objective.
inline std::vector<objective> named_objectives(const std::string& text,
                                               const objective& primary = {"val_accuracy",
                                                                           direction::maximize}) {
    std::vector<objective> out;
    if (text.empty())
        return out;
    auto refuse = [&](const std::string& why) {
        return std::invalid_argument("--objectives: expected comma-separated names among " +
                                     primary.name + ", params, flops and latency_ms, each once, " +
                                     primary.name +
                                     " among them (the winner is the best network by it), not \"" +
                                     text + "\" (" + why + ")");
    };
    for (std::size_t from = 0;;) {
        const std::size_t comma = text.find(',', from);
        const std::string name =
            text.substr(from, comma == std::string::npos ? comma : comma - from);
        if (name != primary.name && name != "params" && name != "flops" && name != "latency_ms")
            throw refuse("unknown: \"" + name + "\"");
        for (const auto& o : out)
            if (o.name == name)
                throw refuse(name + " twice");
        out.push_back(name == primary.name ? primary : objective{name, direction::minimize});
        if (comma == std::string::npos)
            break;
        from = comma + 1;
    }
    if (std::none_of(out.begin(), out.end(),
                     [&](const objective& o) { return o.name == primary.name; }))
        throw refuse("no " + primary.name);
    return out;
}

/// named_objectives(o.objectives) with the job's primary objective.
inline std::vector<objective> named_objectives(const options& o) {
    return named_objectives(o.objectives, primary_objective(o));
}

/// Whether the strategy is a one-shot method, which trains one weight-sharing supernet and scores
/// candidates with the weights they inherit from it (experiment/one_shot.hpp).
inline bool one_shot(const std::string& strategy) {
    return strategy == "spos" || strategy == "random-ws" || strategy == "enas" ||
           strategy == "darts";
}

/// Whether the strategy ranks by several objectives (strategy_settings::objectives).
inline bool ranks_by_several(const std::string& strategy) {
    return strategy == "tpe" || strategy == "tpe-multivariate" || strategy == "nsga2" ||
           multi_fidelity(strategy);
}

/// The values the numeric option `name` ("--epochs") accepts on the command line. Throws
/// std::invalid_argument for a name that is not a numeric option.
inline value_range option_range(std::string_view name) {
    const options o;
    value_range found{};
    bool known = false;
    for_each_number(o, [&](std::string_view n, const auto&, const value_range& r, bool) {
        if (n == name) {
            found = r;
            known = true;
        }
    });
    if (!known)
        throw std::invalid_argument("option_range: " + std::string(name) +
                                    " is not a numeric option");
    return found;
}

/// Refuses, naming the option, a value out of its range (for_each_number), and options that
/// would do nothing: plain retrain epochs without augmentation, cost cooling without a cost
/// exponent, a cost exponent for a strategy without a cost model. Throws std::invalid_argument.
inline void validate(const options& o) {
    for_each_number(o, [](std::string_view name, auto v, const value_range& r, bool zero_unset) {
        if (!(zero_unset && v == 0))
            check_range(name, v, r);
    });
    if (o.final_plain_epochs && !o.final_augment && o.final_erase <= 0)
        throw std::invalid_argument("--final-plain-epochs " + std::to_string(o.final_plain_epochs) +
                                    " has no effect without --final-augment or --final-erase: "
                                    "every epoch of the retrain is already plain");
    if (o.time_limit > 0 && o.minutes > o.time_limit)
        throw std::invalid_argument("--minutes " + detail::format_bound(o.minutes) +
                                    " is more than --time-limit " +
                                    detail::format_bound(o.time_limit) +
                                    ": the search's budget is part of the whole run's");
    if (o.cost_cooling && o.cost_exponent == 0)
        throw std::invalid_argument("--cost-cooling needs a --cost-exponent above 0");
    if (o.cost_exponent != 0 && o.strategy != "tpe" && o.strategy != "bohb")
        throw std::invalid_argument("--cost-exponent applies to tpe and bohb, not to --strategy " +
                                    o.strategy);
    auto one_of = [](std::string_view option, const std::string& v,
                     std::initializer_list<std::string_view> allowed) {
        std::string list;
        for (auto a : allowed) {
            if (v == a)
                return;
            list += (list.empty() ? "" : ", ") + std::string(a);
        }
        throw std::invalid_argument(std::string(option) + " " + v + " is unknown (" + list + ")");
    };
    one_of("--task", o.task, {"classification", "regression"});
    one_of("--data-format", o.data_format, {"auto", "idx", "cifar10", "cifar100", "npy", "csv"});
    if (o.label.empty())
        throw std::invalid_argument("--label: expected the name of a column, not an empty text");
    if (regression(o) && o.final_label_smoothing > 0)
        throw std::invalid_argument(
            "--final-label-smoothing applies to classification, not to --task regression");
    // A crop or flip changes an input whose target it cannot change.
    if (regression(o) && (o.trial_augment || o.final_augment || o.final_erase > 0))
        throw std::invalid_argument(std::string(o.trial_augment   ? "--trial-augment"
                                                : o.final_augment ? "--final-augment"
                                                                  : "--final-erase") +
                                    " applies to classification, not to --task regression");
    if (o.transfer_only && o.transfer.empty())
        throw std::invalid_argument("--transfer-only needs --transfer MODEL (the network to "
                                    "fine-tune)");
    if (named_objectives(o).size() > 1 && !ranks_by_several(o.strategy))
        throw std::invalid_argument("--objectives " + o.objectives +
                                    " applies to tpe, tpe-multivariate, nsga2, hyperband, asha "
                                    "and bohb, not to --strategy " +
                                    o.strategy);
    if (one_shot(o.strategy)) {
        if (o.space != "cell" && (o.strategy == "darts" || o.space != "chain"))
            throw std::invalid_argument(
                "--strategy " + o.strategy + " needs --space cell" +
                (o.strategy == "darts" ? std::string() : std::string(" or chain")) +
                " (a supernet of the space), not --space " + o.space);
        if (regression(o) && (o.strategy == "enas" || o.strategy == "darts"))
            throw std::invalid_argument("--strategy " + o.strategy +
                                        " rewards validation accuracy; --task regression needs "
                                        "spos or random-ws");
        if (!o.warm_start.empty() || o.prescreen)
            throw std::invalid_argument(std::string(o.prescreen ? "--prescreen" : "--warm-start") +
                                        " applies to strategies that train each candidate, not "
                                        "to the one-shot --strategy " +
                                        o.strategy);
    }
    if (o.lookahead && o.asynchronous)
        throw std::invalid_argument("--lookahead " + std::to_string(o.lookahead) +
                                    " has no effect with --async (results are told as they "
                                    "arrive)");
}

/// The default budget when neither trials nor minutes is set: 20 trials, a few minutes on two
/// cores; 100 for a one-shot strategy, whose candidates are scored in about a second each.
inline void resolve_defaults(options& o) {
    if (!o.trials && o.minutes <= 0)
        o.trials = one_shot(o.strategy) ? 100 : 20;
}

/// The search's wall-clock budget in seconds (0: none): o.minutes, or o.time_limit when that
/// comes first.
inline double search_budget_seconds(const options& o) {
    const double search = o.minutes * 60;
    const double whole = o.time_limit * 60;
    return whole > 0 && (search <= 0 || whole < search) ? whole : search;
}

} // namespace xnas::experiment
