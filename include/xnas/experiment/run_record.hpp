#pragma once
// A run's record of its own options in the results folder, and the checks a resume makes
// against it. options.json keeps the options that decide what a trial is; a resume that changes
// one is refused, naming it, since its study would mix trials trained two ways without a trace.
// command.toml keeps the options as given, which the tool's --config (and --resume alone) reads
// back.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <xnas/core/error.hpp>
#include <xnas/core/json.hpp>
#include <xnas/data/split.hpp>
#include <xnas/experiment/files.hpp>
#include <xnas/experiment/options.hpp>

namespace xnas::experiment {

/// The options that decide what a trial is, keyed by option name (options.json). Options added
/// after the first release (fidelity for multi-fidelity strategies, cost-exponent,
/// cost-cooling, prescreen, objectives, restart-promotions) appear only when they take effect,
/// so older runs still resume.
inline json::value trial_options(const options& o) {
    auto record = json::value::object({{"space", o.space},
                                       {"strategy", o.strategy},
                                       {"seed", o.seed},
                                       {"epochs", o.epochs},
                                       {"train-subset", o.train_subset},
                                       {"validation-fraction", o.validation_fraction},
                                       {"trial-augment", o.trial_augment},
                                       {"trial-cosine", o.trial_cosine},
                                       {"max-params", o.max_params},
                                       {"max-mflops", o.max_mflops},
                                       {"trial-seconds", o.trial_seconds},
                                       {"warm-start", o.warm_start},
                                       {"warm-start-count", o.warm_start_count}});
    if (multi_fidelity(o.strategy)) // only these strategies ask for a fidelity below 1
        record["fidelity"] = o.fidelity;
    if (o.cost_exponent != 0)
        record["cost-exponent"] = o.cost_exponent;
    if (o.cost_cooling)
        record["cost-cooling"] = true;
    if (o.prescreen) {
        record["prescreen"] = o.prescreen;
        record["prescreen-keep"] = o.prescreen_keep;
    }
    if (!o.objectives.empty())
        record["objectives"] = o.objectives;
    if (o.restart_promotions && multi_fidelity(o.strategy))
        record["restart-promotions"] = true;
    // Recorded only when not the default, so that runs recorded without them still resume.
    if (regression(o))
        record["task"] = o.task;
    if (o.data_format != "auto")
        record["data-format"] = o.data_format;
    if (o.label != "label")
        record["label"] = o.label;
    if (!o.transfer.empty())
        record["transfer"] = o.transfer;
    if (one_shot(o.strategy))
        record["supernet-epochs"] = o.supernet_epochs;
    return record;
}

/// Before anything is written to o.out: refuses to overwrite a journaled run (xnas::file_error)
/// and, on o.resume, compares trial_options(o) with the run's options.json; a difference throws
/// std::invalid_argument naming the option, its value now and the run's.
inline void check_out_dir(const options& o) {
    namespace fs = std::filesystem;
    const fs::path journal = fs::path(o.out) / "journal.jsonl";
    const fs::path recorded = fs::path(o.out) / "options.json";
    std::error_code ec;
    const bool journaled = fs::exists(journal, ec) && fs::file_size(journal, ec) > 0;
    if (journaled && !o.resume)
        throw file_error(journal.string() +
                         " exists; pass --resume to continue that run, or choose another --out");
    if (!o.resume || !fs::exists(recorded, ec))
        return;
    const json::value mine = trial_options(o);
    std::ifstream in(recorded, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    json::value theirs;
    try {
        theirs = json::value::parse(text);
    } catch (const std::exception& e) {
        throw parse_error(recorded.string() + ": " + e.what());
    }
    for (const auto& key : mine.keys()) {
        const json::value* was = theirs.find(key);
        if (!was || was->dump() != mine.at(key).dump())
            throw std::invalid_argument("--resume: --" + key + " is " + mine.at(key).dump() +
                                        " but the run in " + o.out + " used " +
                                        (was ? was->dump() : std::string("nothing")) + " (" +
                                        recorded.string() + "); resume with the run's options");
    }
    for (const auto& key : theirs.keys())
        if (!mine.find(key))
            throw std::invalid_argument("--resume: the run in " + o.out + " used --" + key + " " +
                                        theirs.at(key).dump() + " (" + recorded.string() +
                                        "); resume with the run's options");
}

/// Writes options.json (unless a resume finds one: the run's trial options stay those it
/// started with) and command.toml (o.command_toml; a resume rewrites it, as the budgets it was
/// given again are the run's now). Call it once the data and any warm-start journal have
/// loaded, so that a run failing on them leaves nothing behind.
inline void record_options(const options& o) {
    namespace fs = std::filesystem;
    const fs::path recorded = fs::path(o.out) / "options.json";
    std::error_code ec;
    if (!o.resume || !fs::exists(recorded, ec)) {
        fs::create_directories(o.out);
        write_atomically(recorded, trial_options(o).dump(2) + "\n");
    }
    write_atomically(fs::path(o.out) / "command.toml", o.command_toml);
}

/// Writes split.json: the positions in the training set of the search's training and
/// validation images.
inline void record_split(const options& o, const data::split_indices& split) {
    const auto record = json::value::object({{"train", split.train}, {"val", split.validation}});
    write_atomically(std::filesystem::path(o.out) / "split.json", record.dump());
}

} // namespace xnas::experiment
