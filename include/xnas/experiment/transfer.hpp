#pragma once
// Transfer in the main job (--transfer MODEL): a network an earlier run saved, its head replaced
// for this data's classes or targets, fine-tuned (train::fine_tune: the new head alone first,
// then the whole network). Beside a search it is one more candidate, trained for a trial's epochs
// on the search's training samples and scored on the validation split as trials are; alone
// (--transfer-only) it is fine-tuned on the whole training set and tested. Also the test figures
// of a retrained network for either task.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>
#include <xnas/core/error.hpp>
#include <xnas/core/json.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/experiment/data.hpp>
#include <xnas/experiment/files.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/results.hpp>
#include <xnas/experiment/retrain.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/onnx.hpp>
#include <xnas/nn/serialize.hpp>
#include <xnas/train/fine_tune.hpp>
#include <xnas/train/trainer.hpp>

namespace xnas::experiment {

/// The network saved at o.transfer (nn::load). Throws xnas::file_error naming the file when it
/// cannot be read or takes samples of another shape than the data's.
inline nn::network<float> load_transfer(const options& o, const prepared_data& d) {
    nn::network<float> net = nn::load<float>(std::filesystem::path(o.transfer));
    if (net.input_shape() != d.input)
        throw file_error(o.transfer + ": the network takes samples of shape " +
                         nn::to_string(net.input_shape()) + ", but the samples of " + o.data +
                         " have shape " + nn::to_string(d.input) + " (--transfer)");
    return net;
}

/// How a transfer is fine-tuned for `epochs` in all: a fresh head for d.outputs, trained alone
/// for the first epoch, then the whole network (train::fine_tune's defaults: SGD, lr 0.01,
/// momentum 0.9, batches of 64), seeded by `seed`, data-parallel on `threads`.
inline train::fine_tune_options transfer_fine_tune_options(const prepared_data& d,
                                                           std::size_t epochs, std::uint64_t seed,
                                                           std::size_t threads) {
    return {.classes = d.outputs,
            .new_head = true,
            .head_epochs = 1,
            .epochs = epochs > 1 ? epochs - 1 : 0,
            .seed = seed,
            .threads = threads};
}

/// A network's figures on one data set: accuracy for classification; RMSE (in the data's units)
/// and R² for regression. The others are NaN.
struct scores {
    double accuracy = std::numeric_limits<double>::quiet_NaN();
    double rmse = std::numeric_limits<double>::quiet_NaN();
    double r2 = std::numeric_limits<double>::quiet_NaN();

    /// The value of the job's primary objective (val_accuracy or val_rmse).
    double primary() const { return std::isnan(rmse) ? accuracy : rmse; }
};

/// `net`'s scores on `ds`, a data set of `d` (regression targets standardised by
/// d.target_stats, so RMSE is scaled back by d.target_scale()).
inline scores score(nn::network<float>& net, const data::dataset<float>& ds,
                    const prepared_data& d) {
    scores s;
    if (d.regression) {
        const auto r = train::evaluate(net, nn::mean_squared_error<float>(), ds);
        s.rmse = r.rmse * d.target_scale();
        s.r2 = r.r2;
    } else {
        s.accuracy = train::evaluate(net, nn::softmax_cross_entropy<float>(), ds).accuracy;
    }
    return s;
}

/// The transfer candidate beside a search: load_transfer fine-tuned for o.epochs on d.train
/// (seeded o.seed + 2, on `threads`), scored on d.validation. Logs its score and seconds.
inline transfer_outcome transfer_candidate(const options& o, const prepared_data& d,
                                           std::size_t threads, std::ostream& log) {
    const auto start = std::chrono::steady_clock::now();
    nn::network<float> net = load_transfer(o, d);
    train::fine_tune(net, *d.train, transfer_fine_tune_options(d, o.epochs, o.seed + 2, threads));
    transfer_outcome t{.model = o.transfer,
                       .value = score(net, *d.validation, d).primary(),
                       .params = net.parameter_count()};
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    char line[512];
    std::snprintf(line, sizeof line,
                  "transfer candidate: %s fine-tuned for %zu epochs on %zu samples: %s %.4f "
                  "(%.1f s)\n",
                  o.transfer.c_str(), o.epochs, d.train->size(),
                  short_name(primary_objective(o)).c_str(), t.value, t.seconds);
    log << line;
    log.flush();
    return t;
}

/// Whether the transfer candidate beats the search's winner on the primary objective.
template <class A>
bool transfer_wins(const options& o, const transfer_outcome& t, const scored<A>& winner) {
    const objective by = primary_objective(o);
    return better(t.value, winner.e.value(by.name), by.dir);
}

/// A transfer fine-tuned as the final network: load_transfer trained for retrain_epochs(o) on
/// d.full_train (its first o.final_limit samples when set), seeded o.seed + 1, on `threads`.
inline nn::network<float> fine_tune_transfer(const options& o, const prepared_data& d,
                                             std::size_t threads, std::ostream& log) {
    nn::network<float> net = load_transfer(o, d);
    const data::dataset<float>* train = d.full_train.get();
    data::dataset<float> first;
    if (o.final_limit && o.final_limit < train->size()) {
        first = train->first(o.final_limit);
        train = &first;
    }
    log << "fine-tuning " << o.transfer << " on " << train->size() << " samples for "
        << retrain_epochs(o) << " epochs (the new head alone first) on " << threads
        << " threads...\n";
    log.flush();
    train::fine_tune(net, *train,
                     transfer_fine_tune_options(d, retrain_epochs(o), o.seed + 1, threads));
    return net;
}

/// Writes the final network as best_model.xnas (and best_model.onnx with o.export_onnx) in
/// o.out, atomically.
inline void save_final_model(const options& o, const nn::network<float>& net) {
    nn::save(net, std::filesystem::path(o.out) / "best_model.xnas");
    if (o.export_onnx)
        write_atomically(std::filesystem::path(o.out) / "best_model.onnx", nn::onnx_model(net));
}

/// --transfer-only: fine_tune_transfer on every core, the test figures, the model and best.json
/// in o.out; returns the summary line. Throws what loading and training throw.
inline json::value run_transfer_only(const options& o, const prepared_data& d, std::size_t threads,
                                     std::ostream& log) {
    const auto start = std::chrono::steady_clock::now();
    nn::network<float> net = fine_tune_transfer(o, d, threads, log);
    const scores test = score(net, *d.test, d);
    save_final_model(o, net);
    auto record = json::value::object({{"architecture", "transfer of " + o.transfer},
                                       {"task", o.task},
                                       {"params", net.parameter_count()},
                                       {"retrain_epochs", retrain_epochs(o)},
                                       {"model", "best_model.xnas"},
                                       {"input_normalization", normalization_json(d.stats)}});
    put_test_figures(record, o, test.accuracy, test.rmse, test.r2);
    if (d.regression)
        record["target_normalization"] = normalization_json(d.target_stats);
    if (o.export_onnx)
        record["onnx_model"] = "best_model.onnx";
    write_atomically(std::filesystem::path(o.out) / "best.json", record.dump(2) + "\n");
    auto summary = json::value::object(
        {{"best_arch", "transfer of " + o.transfer}, {"params", net.parameter_count()}});
    put_test_figures(summary, o, test.accuracy, test.rmse, test.r2);
    summary["seconds"] =
        std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() *
                   10) /
        10;
    summary["out"] = o.out;
    return summary;
}

} // namespace xnas::experiment
