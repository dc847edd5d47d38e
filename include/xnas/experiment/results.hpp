#pragma once
// The results folder of a main job: trials.csv and pareto.csv (the search), best.json (the
// winner, its final selection and retrain), report.html (progress, accuracy against size,
// decision importance), and the one-line JSON summary. job_record holds what the job produced;
// each file is a function of it, written atomically. Counts (parameters, FLOPs) are integers
// everywhere.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/json.hpp>
#include <xnas/core/study.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/experiment/files.hpp>
#include <xnas/experiment/final_selection.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/progress.hpp>
#include <xnas/report/decisions.hpp>
#include <xnas/report/html_report.hpp>
#include <xnas/report/importance.hpp>
#include <xnas/run/export.hpp>
#include <xnas/run/final_selection.hpp>

namespace xnas::experiment {

/// A network of an earlier run fine-tuned on the job's data as a candidate (options::transfer).
struct transfer_outcome {
    std::string model; ///< the file it was loaded from
    /// Its primary objective on the validation split after a fine-tune of a trial's epochs on
    /// the search's training samples (NaN with --transfer-only, which has no search to beat).
    double value = std::numeric_limits<double>::quiet_NaN();
    double seconds = 0;     ///< of that fine-tune and its validation
    std::size_t params = 0; ///< of the network with its new head
    bool chosen = false;    ///< better than the search's winner: the network retrained
};

/// What a main job produced, from which the results folder is written.
template <class A>
struct job_record {
    study<A> search{};
    std::map<std::uint64_t, double> finished_at{}; ///< trial id -> seconds into the search
    /// The final selection, best first (reevaluate_best); empty without one.
    std::vector<reevaluated<A>> selection{};
    std::size_t selection_epochs = 0, selection_images = 0;
    /// Epochs the retrain trained in, the last one part-way when a time limit's deadline ended it.
    std::size_t retrain_epochs = 0;
    std::size_t retrain_plain_epochs = 0; ///< of which on images as they are
    training_recipe retrain_recipe{};
    double test_accuracy = std::numeric_limits<double>::quiet_NaN(); ///< classification
    /// Regression: the retrained network's test RMSE (in the data's units) and R².
    double test_rmse = std::numeric_limits<double>::quiet_NaN();
    double test_r2 = std::numeric_limits<double>::quiet_NaN();
    double search_seconds = 0, selection_seconds = 0, seconds = 0;
    /// With --transfer: the fine-tuned network's run as a candidate.
    std::optional<transfer_outcome> transfer{};
    data::normalization input_stats{}, target_stats{}; ///< prepared_data::stats, target_stats

    /// The retrained trial: the final selection's winner, or the search's best without one.
    /// Throws std::out_of_range when no trial succeeded.
    const scored<A>& winner() const {
        return selection.empty() ? search.best() : search.history[selection.front().history_index];
    }
    /// The winner's value of `by` in the final selection (NaN without one).
    double selection_value(const objective& by) const {
        return selection.empty() ? std::numeric_limits<double>::quiet_NaN()
                                 : selection.front().result.e.value(by.name);
    }
};

/// A count (parameters, FLOPs) as a JSON integer; null when it is not a finite number.
inline json::value count_value(double v) {
    if (!std::isfinite(v))
        return json::value();
    return json::value(static_cast<std::int64_t>(std::llround(v)));
}

/// pareto.csv: the trials no other dominates on the search's objectives (`primary`, validation
/// accuracy or RMSE; parameters; any other objective --objectives names), at the highest
/// fidelity.
template <serializable_space Space>
std::string pareto_csv(const study<typename Space::architecture>& s, const Space& space,
                       const objective& primary = {"val_accuracy", direction::maximize}) {
    std::ostringstream csv;
    csv << "id,architecture," << primary.name << ",params,flops,latency_ms\n";
    for (std::size_t i : s.pareto_front()) {
        const auto& r = s.history[i];
        csv << std::to_string(r.t.id) << ','
            << xnas::detail::csv_field(space.to_string(r.t.architecture)) << ','
            << xnas::detail::csv_number(r.e.value(primary.name)) << ','
            << xnas::detail::csv_number(r.e.value("params")) << ','
            << xnas::detail::csv_number(r.e.value("flops")) << ','
            << xnas::detail::csv_number(r.e.value("latency_ms")) << '\n';
    }
    return csv.str();
}

/// Writes trials.csv (xnas::write_csv) and pareto.csv to `dir`.
template <serializable_space Space>
void write_search_tables(const std::filesystem::path& dir,
                         const study<typename Space::architecture>& s, const Space& space,
                         const objective& primary = {"val_accuracy", direction::maximize}) {
    std::ostringstream trials;
    write_csv(trials, s, space);
    write_atomically(dir / "trials.csv", trials.str());
    write_atomically(dir / "pareto.csv", pareto_csv(s, space, primary));
}

/// Decision importance (report::main_effects) of `by` over the successful trials at full
/// fidelity, most important first; empty with fewer than `min_trials` of them, since main
/// effects need several trials per decision value to mean anything.
template <class Space>
std::vector<report::decision_importance>
decisions_by_importance(const Space& space, const study<typename Space::architecture>& s,
                        std::size_t min_trials = 8,
                        const objective& by = {"val_accuracy", direction::maximize}) {
    std::vector<report::decision_row> rows;
    for (const auto& r : s.history)
        if (r.e.ok() && r.t.fidelity >= 1.0)
            rows.push_back({report::decisions(space, r.t.architecture), r.e.value(by.name)});
    if (rows.size() < std::max<std::size_t>(min_trials, 2))
        return {};
    return report::main_effects(rows, by.dir == direction::minimize);
}

/// The terminal's list of the most important decisions: at most `max_rows`, leaving out those
/// whose chance-adjusted share prints as 0.0 %, each with its best value; a last line counts
/// the decisions left out (report.html shows them all). Empty for an empty `importance`.
inline std::string top_decisions(const std::vector<report::decision_importance>& importance,
                                 std::size_t max_rows = 5,
                                 const std::string& value_name = "validation-accuracy") {
    if (importance.empty())
        return {};
    std::string text =
        "decision importance (chance-adjusted share of " + value_name + " variance):\n";
    std::size_t shown = 0;
    for (const auto& d : importance) {
        if (shown == max_rows || 100 * d.adjusted_share < 0.05)
            break;
        char share[32];
        std::snprintf(share, sizeof share, "%.1f %%", 100 * d.adjusted_share);
        text += "  " + d.decision + ": " + share + " (best " +
                (d.mean_by_value.empty() ? std::string("-") : d.mean_by_value.front().first) +
                ")\n";
        ++shown;
    }
    if (shown == 0)
        text += "  no decision explains more than 0.05 %\n";
    if (const std::size_t rest = importance.size() - shown; rest > 0)
        text += "  (" + std::to_string(rest) + " more decision" + (rest == 1 ? "" : "s") +
                " in report.html)\n";
    return text;
}

/// The test set's figures of a retrained network as best.json and the summary give them:
/// test_accuracy, or test_rmse (in the data's units) and test_r2 for regression.
inline void put_test_figures(json::value& record, const options& o, double accuracy, double rmse,
                             double r2) {
    if (regression(o)) {
        record["test_rmse"] = rmse;
        record["test_r2"] = r2;
    } else {
        record["test_accuracy"] = accuracy;
    }
}

/// The transfer candidate as best.json and the summary record it.
inline json::value transfer_json(const transfer_outcome& t, const objective& by) {
    auto record = json::value::object({{"model", t.model},
                                       {"params", t.params},
                                       {"seconds", std::round(t.seconds * 10) / 10},
                                       {"chosen", t.chosen}});
    record[by.name] = std::isnan(t.value) ? json::value() : json::value(t.value);
    return record;
}

/// A standardisation's statistics: {"mean": [...], "stddev": [...]}.
inline json::value normalization_json(const data::normalization& n) {
    auto mean = json::value::array(), stddev = json::value::array();
    for (double v : n.mean)
        mean.push_back(v);
    for (double v : n.stddev)
        stddev.push_back(v);
    return json::value::object({{"mean", std::move(mean)}, {"stddev", std::move(stddev)}});
}

/// best.json: the winner (architecture, trial, its search objectives), the retrain and its
/// test figures, the standardisation a network's inputs (and regression outputs) need, the
/// final selection's ranking when there was one, and the transfer candidate with --transfer.
/// A transfer winner's architecture reads "transfer of MODEL"; search_architecture is then the
/// search's best.
template <serializable_space Space>
json::value best_json(const options& o, const Space& space,
                      const job_record<typename Space::architecture>& rec) {
    const objective by = primary_objective(o);
    const auto& best = rec.winner();
    const bool transferred = rec.transfer && rec.transfer->chosen;
    auto record = json::value::object(
        {{"architecture", transferred ? "transfer of " + rec.transfer->model
                                      : space.to_string(best.t.architecture)},
         {"trial", best.t.id},
         {"seed", o.seed},
         {"space", o.space},
         {"strategy", o.strategy},
         {"task", o.task},
         {by.name, transferred ? rec.transfer->value : best.e.value(by.name)},
         {"params",
          transferred ? json::value(rec.transfer->params) : count_value(best.e.value("params"))},
         // The transfer's network was not measured as trials are.
         {"flops", transferred ? json::value() : count_value(best.e.value("flops"))},
         {"latency_ms", transferred ? json::value() : json::value(best.e.value("latency_ms"))},
         {"retrain_epochs", rec.retrain_epochs},
         {"retrain_plain_epochs", rec.retrain_plain_epochs},
         {"retrain_optimizer", rec.retrain_recipe.optimizer},
         {"retrain_weight_decay", rec.retrain_recipe.weight_decay},
         {"retrain_label_smoothing", rec.retrain_recipe.label_smoothing},
         {"model", "best_model.xnas"},
         {"input_normalization", normalization_json(rec.input_stats)}});
    put_test_figures(record, o, rec.test_accuracy, rec.test_rmse, rec.test_r2);
    if (regression(o))
        record["target_normalization"] = normalization_json(rec.target_stats);
    if (o.export_onnx)
        record["onnx_model"] = "best_model.onnx";
    if (rec.transfer) {
        record["transfer"] = transfer_json(*rec.transfer, by);
        if (transferred)
            record["search_architecture"] = space.to_string(best.t.architecture);
    }
    if (!rec.selection.empty()) {
        auto entries = json::value::array();
        for (const auto& r : rec.selection) {
            const double v = r.result.e.value(by.name);
            entries.push_back(json::value::object(
                {{"trial", r.result.t.id},
                 {"architecture", space.to_string(r.result.t.architecture)},
                 {by.name, rec.search.history[r.history_index].e.value(by.name)},
                 {"selection_" + by.name, std::isnan(v) ? json::value() : json::value(v)},
                 {"status", to_string(r.result.e.state)},
                 {"message", r.result.e.message}}));
        }
        record["selection"] = std::move(entries);
        record["selection_epochs"] = rec.selection_epochs;
        record["selection_images"] = rec.selection_images;
        record["selection_" + by.name] = rec.selection_value(by);
    }
    return record;
}

/// The primary objective's name in words: "validation accuracy", "validation RMSE".
inline std::string objective_words(const objective& by) {
    return by.name == "val_rmse" ? "validation RMSE" : "validation accuracy";
}

/// The report's data: a summary of the winner, every trial (completion time from
/// rec.finished_at, else estimated from the summed costs over `workers`) and `importance`.
template <serializable_space Space>
report::report_data job_report(const options& o, const Space& space,
                               const job_record<typename Space::architecture>& rec,
                               std::vector<report::decision_importance> importance,
                               std::size_t workers) {
    const objective by = primary_objective(o);
    const auto& best = rec.winner();
    report::report_data rep;
    rep.title = "xnas-search: " + o.space + " space, " + o.strategy;
    rep.value_name = objective_words(by);
    rep.minimize = by.dir == direction::minimize;
    const double params = best.e.value("params");
    const std::string words = objective_words(by);
    rep.summary = {{"best architecture", space.to_string(best.t.architecture)},
                   {words, std::to_string(best.e.value(by.name))}};
    if (regression(o)) {
        rep.summary.push_back({"test RMSE (retrained)", std::to_string(rec.test_rmse)});
        rep.summary.push_back({"test R² (retrained)", std::to_string(rec.test_r2)});
    } else {
        rep.summary.push_back({"test accuracy (retrained)", std::to_string(rec.test_accuracy)});
    }
    rep.summary.push_back(
        {words + " (final selection)",
         rec.selection.empty() ? "no final selection" : std::to_string(rec.selection_value(by))});
    rep.summary.push_back({"parameters", std::isfinite(params)
                                             ? std::to_string(std::llround(params))
                                             : std::string("-")});
    if (rec.transfer)
        rep.summary.push_back(
            {"transfer candidate", rec.transfer->model + ": " + words + " " +
                                       std::to_string(rec.transfer->value) +
                                       (rec.transfer->chosen ? " (chosen: the retrained network "
                                                               "is its fine-tune)"
                                                             : " (not chosen)")});
    double cumulative_cost = 0;
    for (std::size_t i = 0; i < rec.search.history.size(); ++i) {
        const auto& r = rec.search.history[i];
        cumulative_cost += r.e.cost;
        const auto at = rec.finished_at.find(r.t.id);
        rep.trials.push_back(
            {i + 1,
             at != rec.finished_at.end()
                 ? at->second
                 : cumulative_cost / static_cast<double>(std::max<std::size_t>(workers, 1)),
             r.e.value(by.name), r.e.value("params"), r.e.ok(), space.to_string(r.t.architecture),
             r.t.fidelity});
    }
    rep.importance = std::move(importance);
    return rep;
}

/// The one-line summary of a job (what xnas-search prints on stdout): the winner, its
/// validation and test figures and size, trials and failures, seconds, the results folder, with
/// a final selection the winner's selection figure, the search's own best and the selection's
/// seconds, and with --transfer the transfer candidate.
template <class A>
json::value job_summary(const options& o, const std::string& winner_text,
                        const job_record<A>& rec) {
    const objective by = primary_objective(o);
    const auto& best = rec.winner();
    const bool transferred = rec.transfer && rec.transfer->chosen;
    auto summary = json::value::object(
        {{"best_arch", transferred ? "transfer of " + rec.transfer->model : winner_text},
         {by.name, transferred ? rec.transfer->value : best.e.value(by.name)}});
    put_test_figures(summary, o, rec.test_accuracy, rec.test_rmse, rec.test_r2);
    summary["params"] =
        transferred ? json::value(rec.transfer->params) : count_value(best.e.value("params"));
    summary["trials"] = rec.search.history.size();
    summary["failed"] = failed_trials(rec.search);
    summary["search_seconds"] = std::round(rec.search_seconds * 10) / 10;
    summary["seconds"] = std::round(rec.seconds * 10) / 10;
    summary["out"] = o.out;
    if (!rec.selection.empty()) {
        summary["selection_" + by.name] = rec.selection_value(by);
        // The winner need not be the search's best: the race against Optuna compares this one.
        summary["search_best_" + by.name] = rec.search.best().e.value(by.name);
        summary["selection_seconds"] = std::round(rec.selection_seconds * 10) / 10;
    }
    if (rec.transfer)
        summary["transfer"] = transfer_json(*rec.transfer, by);
    return summary;
}

/// Writes best.json and report.html to o.out and returns the decision importance the report
/// shows (for top_decisions).
template <serializable_space Space>
std::vector<report::decision_importance>
write_job_results(const options& o, const Space& space,
                  const job_record<typename Space::architecture>& rec, std::size_t workers) {
    const std::filesystem::path dir(o.out);
    write_atomically(dir / "best.json", best_json(o, space, rec).dump(2) + "\n");
    auto importance = decisions_by_importance(space, rec.search, 8, primary_objective(o));
    write_atomically(dir / "report.html",
                     report::render_html(job_report(o, space, rec, importance, workers)));
    return importance;
}

} // namespace xnas::experiment
