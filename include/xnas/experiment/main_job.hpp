#pragma once
// The main job as one call: search a space for the best network within budgets, let a final
// selection pick among the best few, retrain the winner on the whole training set, evaluate it
// once on the test set, and leave everything in a results folder. run_main_job(options) is what
// the xnas-search tool runs; its steps are the calls of the other experiment/ headers and the
// few below, for a program that wants to change one of them.
//
//     xnas::experiment::options o{.strategy = "evolution", .trials = 30, .out = "results/run1"};
//     const auto result = xnas::experiment::run_main_job(o);
//     std::printf("%s\n", result.summary.dump().c_str());

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>
#include <xnas/core/json.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/study.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/evaluate/prescreen.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/evaluate/zero_cost.hpp>
#include <xnas/experiment/data.hpp>
#include <xnas/experiment/files.hpp>
#include <xnas/experiment/final_selection.hpp>
#include <xnas/experiment/one_shot.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/progress.hpp>
#include <xnas/experiment/results.hpp>
#include <xnas/experiment/retrain.hpp>
#include <xnas/experiment/run_record.hpp>
#include <xnas/experiment/spaces.hpp>
#include <xnas/experiment/strategy_registry.hpp>
#include <xnas/experiment/transfer.hpp>
#include <xnas/experiment/warm_start.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/onnx.hpp>
#include <xnas/nn/serialize.hpp>
#include <xnas/run/search.hpp>
#include <xnas/train/trainer.hpp>

namespace xnas::experiment {

/// The main job's objectives: validation accuracy first (what a classification job selects by;
/// a regression job's is val_rmse, see primary_objective), parameters second (the Pareto front
/// of pareto.csv and nsga2's second objective).
inline const objective accuracy_objective{"val_accuracy", direction::maximize};
inline const objective params_objective{"params", direction::minimize};

/// Where the search's trials are evaluated: threads of this process (search_options::workers).
/// A backend has rank() (0: the process that searches and writes the results), ranks() (the
/// processes of the job) and search(space, strategy, evaluator, options, callbacks...), which
/// returns the study on rank 0 and nothing on the others; <xnas/experiment/mpi_backend.hpp> is
/// the one for MPI ranks.
struct local_backend {
    int rank() const { return 0; }
    int ranks() const { return 1; }
    template <class Space, class St, class E, class... Callbacks>
    std::optional<study<typename Space::architecture>>
    search(const Space& space, St& strategy, E& evaluator, const search_options& opt,
           Callbacks&... callbacks) const {
        return xnas::search(space, strategy, evaluator, opt, callbacks...);
    }
};

/// Candidates trained at once: the worker ranks under a multi-process backend (`ranks` > 1),
/// else o.workers, else the number of cores.
inline std::size_t worker_count(const options& o, int ranks) {
    if (ranks > 1)
        return static_cast<std::size_t>(ranks - 1);
    return o.workers ? o.workers : std::max(1u, std::thread::hardware_concurrency());
}

/// A warning when workers x threads exceeds the cores (empty otherwise): oversubscribed cores
/// slow every trial, and so skew --trial-seconds and the latencies measured, without an error to
/// show why. Where MPI ranks run is mpiexec's to say, so `ranks` > 1 warns of nothing.
inline std::string oversubscription_warning(std::size_t workers, std::size_t threads,
                                            int ranks = 1) {
    const unsigned cores = std::thread::hardware_concurrency();
    if (ranks > 1 || !cores || workers * threads <= cores)
        return {};
    char text[320];
    std::snprintf(text, sizeof text,
                  "warning: --workers %zu x --threads %zu = %zu exceeds the %u cores and "
                  "oversubscribes them: candidates compete for cores and train slower (keep "
                  "workers x threads <= %u)\n",
                  workers, threads, workers * threads, cores, cores);
    return text;
}

/// The strategy o.strategy names (shipped_strategies), sized for o.trials (50 under a time
/// budget), multi-fidelity rungs from 1/9, the cost model predicting FLOPs (they predict a
/// trial's time as well, log-log correlation 0.97-0.99 over five races' trials, and do not depend
/// on the machine, so the same seed still gives the same search). Throws std::invalid_argument
/// naming the strategies the space offers.
template <class Space>
any_strategy<Space> job_strategy(const options& o) {
    const auto registry = shipped_strategies<Space>();
    if (!registry.contains(o.strategy))
        throw std::invalid_argument("--strategy " + o.strategy +
                                    " is unknown or not available for the " + o.space + " space (" +
                                    registry.describe() + ")");
    // Field by field: g++ 12 warns (falsely) that a designated initializer leaves the
    // objectives' strings uninitialised.
    strategy_settings settings;
    settings.primary = primary_objective(o);
    settings.budget = o.trials ? o.trials : 50;
    settings.min_fidelity = 1.0 / 9;
    settings.cost_exponent = o.cost_exponent;
    settings.cost = "flops";
    settings.cost_cooling = o.cost_cooling;
    settings.objectives = named_objectives(o);
    return registry.make(o.strategy, settings);
}

/// The strategies the named spaces offer, with notes ("random, evolution, ..., bohb (hyperband
/// with TPE proposals)"): the chain space's, which offers every shipped one. For --help.
inline std::string describe_strategies() {
    return shipped_strategies<decltype(image_search_space())>().describe() +
           "; one-shot, with --space cell: spos (single-path supernet, then evolution), "
           "random-ws (then random candidates), enas (LSTM controller trained with the "
           "supernet), darts (first-order DARTS)";
}

/// The search's evaluator: o.epochs of training on d.train (the fidelity cutting o.fidelity),
/// validation on d.validation, the budgets, the trial seconds, the trials' augmentation
/// (o.trial_augment, images only) and schedule (o.trial_cosine), and promotions continuing
/// their parents' training unless o.restart_promotions (on MPI ranks too: a checkpoint stays on
/// the rank that trained it, and mpi::search runs every promotion there).
template <class A, class Builder>
train_evaluator<A, Builder> search_evaluator(const options& o, const Builder& builder,
                                             const prepared_data& d) {
    return train_evaluator<A, Builder>(
        builder, d.train, d.validation,
        {.epochs = o.epochs,
         .fidelity = o.fidelity == "epochs" ? fidelity_axis::epochs : fidelity_axis::data,
         .max_params = o.max_params,
         .max_flops = static_cast<std::size_t>(o.max_mflops * 1e6),
         .time_limit_seconds = o.trial_seconds,
         .seed = o.seed,
         .augment = o.trial_augment && d.images() ? std::optional(augmentation(true, 0, d.stats))
                                                  : std::nullopt,
         .cosine = o.trial_cosine,
         .threads = static_cast<std::size_t>(std::max(o.threads, 1)),
         .continue_promotions = !o.restart_promotions});
}

/// Zero-cost pre-screening (Mellor et al. 2021): NASWOT of o.prescreen random architectures,
/// untrained, on 64 training images costs milliseconds where a trial costs seconds; returns the
/// best o.prescreen_keep, to be trained first (a warm start's seeds). Logs the time it took.
template <class Space, class Builder>
std::vector<typename Space::architecture> prescreened(const options& o, const Space& space,
                                                      const Builder& builder,
                                                      const prepared_data& d, std::ostream& log) {
    using A = typename Space::architecture;
    const auto start = std::chrono::steady_clock::now();
    zero_cost_evaluator<A, Builder> proxy(builder, d.train, {.seed = o.seed});
    rng g(o.seed ^ 0x9E3779B97F4A7C15ULL);
    std::vector<A> out;
    for (const auto& p : prescreen(space, proxy, o.prescreen, o.prescreen_keep, g))
        out.push_back(p.t.architecture);
    char line[200];
    std::snprintf(
        line, sizeof line,
        "prescreen: NASWOT of %zu random architectures in %.1f s; the %zu best are trained "
        "first\n",
        o.prescreen,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
        out.size());
    log << line;
    return out;
}

/// Trials asked ahead of the oldest result not yet told: o.lookahead, else twice the workers,
/// at least 4. With a window of only the workers, a worker idles whenever the oldest trial
/// outlasts a later one (a fifth of the main job's worker time on two workers); twice the
/// workers keeps them busy. The floor makes the default 4 on one worker and on two, so their
/// runs of one seed ask the same trials.
inline std::size_t job_lookahead(const options& o, std::size_t workers) {
    return o.lookahead ? o.lookahead : std::max<std::size_t>(4, 2 * workers);
}

/// The search's options: the primary objective (validation accuracy or RMSE), parameters and any
/// other objective o.objectives names (the study's front), the trial or time budget, the seed,
/// the workers, the order results are told in, and the journal in o.out (resumed with
/// o.resume).
inline search_options job_search_options(const options& o, std::size_t workers) {
    const objective primary = primary_objective(o);
    std::vector<objective> objectives{primary, params_objective};
    for (const auto& named : named_objectives(o))
        if (named.name != primary.name && named.name != params_objective.name)
            objectives.push_back(named);
    return {.objectives = std::move(objectives),
            .max_trials = o.trials,
            .max_seconds = search_budget_seconds(o),
            .seed = o.seed,
            .workers = workers,
            .asynchronous = o.asynchronous,
            .lookahead = job_lookahead(o, workers),
            .journal = (std::filesystem::path(o.out) / "journal.jsonl").string(),
            .resume = o.resume};
}

/// Saves `net` to `path` atomically and durably (nn::save). Throws xnas::file_error naming the
/// path when it cannot.
inline void save_model(const nn::network<float>& net, const std::filesystem::path& path) {
    nn::save(net, path);
}

/// What run_main_job returns.
struct job_result {
    /// job_summary: the line xnas-search prints on stdout (null on a worker rank).
    json::value summary{};
    bool worker = false; ///< this process only evaluated trials for rank 0 (a backend's rank > 0)
};

/// The main job over `space`, whose networks `builder` builds for the samples of `d`, its
/// trials evaluated by `backend`, its progress logged to `log`:
///  1. check_out_dir (no overwrite; a resume keeps its trial options) and the removal of
///     temporary files a killed run left (remove_temporaries), the strategy, the warm-start
///     journal, then record_options and split.json;
///  2. with o.transfer the transfer candidate (transfer_candidate); o.prescreen's picks and the
///     warm start's seeds asked first (warm_start), then the search, journaled, with
///     search_progress and the final selection's reserve under o.minutes (or o.time_limit);
///  3. trials.csv and pareto.csv; final_selection; retrain of the winner on workers x threads,
///     as many of its epochs as o.time_limit leaves time for (or the transfer's fine-tune when
///     it beat the winner); its test figures, best_model.xnas
///     (and best_model.onnx with o.export_onnx), best.json, report.html; the top decisions
///     logged.
/// Throws std::invalid_argument for bad options (validate), xnas::file_error and
/// xnas::parse_error for unusable files, std::runtime_error when no trial succeeded (trials.csv
/// says why).
template <class Space, class Builder, class Backend = local_backend>
job_result run_main_job(options o, const prepared_data& d, const Space& space,
                        const Builder& builder, std::ostream& log = std::cerr,
                        const Backend& backend = {}) {
    using A = typename Space::architecture;
    const auto t0 = std::chrono::steady_clock::now();
    auto since = [](std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    };
    validate(o);
    resolve_defaults(o);
    const objective primary = primary_objective(o);
    // Under MPI rank 0 searches and writes o.out; every other rank only trains the candidates it
    // is sent, so it builds the evaluator and nothing else.
    const bool searcher = backend.rank() == 0;
    // A one-shot strategy is not one of the registry's: it trains a supernet first
    // (one_shot_search).
    std::optional<any_strategy<Space>> strategy;
    if (!one_shot(o.strategy))
        strategy.emplace(job_strategy<Space>(o));
    else if (backend.ranks() > 1)
        throw std::invalid_argument("--strategy " + o.strategy +
                                    " trains one supernet in one process; run it without MPI");
    if (searcher) {
        check_out_dir(o);
        // A run killed mid-write leaves its temporary file; the rerun's own has another name.
        for (const auto& name : remove_temporaries(o.out, results_folder_files))
            log << "removed " << (std::filesystem::path(o.out) / name).string()
                << ", a temporary file of a run that was killed while writing it\n";
    }
    const std::size_t workers = worker_count(o, backend.ranks());
    const auto threads = static_cast<std::size_t>(std::max(o.threads, 1));
    log << oversubscription_warning(workers, threads, backend.ranks());
    std::vector<A> seeds;
    if (!o.warm_start.empty() && searcher)
        seeds = best_from_journal(space, o.space, o.warm_start, o.warm_start_count, primary);
    if (searcher) {
        record_options(o);
        record_split(o, d.split);
        log << describe(d);
    }
    nn::set_blas_threads(o.threads);
    std::optional<transfer_outcome> transfer;
    if (!o.transfer.empty() && searcher)
        transfer = transfer_candidate(o, d, workers * threads, log);
    if (o.prescreen && searcher)
        for (auto& a : prescreened(o, space, builder, d, log))
            if (std::find(seeds.begin(), seeds.end(), a) == seeds.end())
                seeds.push_back(std::move(a));
    auto evaluator = search_evaluator<A>(o, builder, d);
    if (!seeds.empty())
        strategy.emplace(warm_started<Space>(std::move(*strategy), std::move(seeds)));

    const search_options opt = job_search_options(o, workers);
    // A one-shot search of the cell space goes by the shared-weight loss (one_shot.hpp).
    const bool by_loss = one_shot(o.strategy) && std::is_same_v<Space, cell_space>;
    search_progress bar{.total = o.trials,
                        .budget_seconds = search_budget_seconds(o),
                        .by = by_loss ? cell_shared_weight_ranking : primary,
                        .out = &log,
                        .tty = is_terminal(log)};
    selection_reserve reserve = reserve_for(o, d, workers, since(t0));
    const auto search_start = std::chrono::steady_clock::now();
    auto searched = [&]() -> std::optional<study<A>> {
        if (!strategy) {
            if constexpr (requires { one_shot_search(o, d, space, builder, opt, log); })
                return one_shot_search(o, d, space, builder, opt, log, bar, reserve);
            else
                throw std::invalid_argument("--strategy " + o.strategy +
                                            " needs --space cell or chain");
        }
        return backend.search(space, *strategy, evaluator, opt, bar, reserve);
    }();
    if (!searched)
        return {.worker = true};
    job_record<A> rec{.search = std::move(*searched), .finished_at = std::move(bar.finished_at)};
    rec.input_stats = d.stats;
    rec.target_stats = d.target_stats;
    // A resumed search counts the seconds its journal spent, as o.minutes does.
    rec.search_seconds = rec.search.resumed_seconds + since(search_start);
    write_search_tables(o.out, rec.search, space, primary);
    if (!rec.search.best_index(primary))
        throw std::runtime_error("no trial succeeded (" +
                                 std::to_string(rec.search.history.size()) + " failed); see " +
                                 (std::filesystem::path(o.out) / "trials.csv").string());

    const auto selection_start = std::chrono::steady_clock::now();
    rec.selection = final_selection(o, space, rec.search, builder, d, evaluator.options(), workers,
                                    reserve.reserved, log);
    rec.selection_seconds = since(selection_start);
    rec.selection_epochs = selection_epochs(o);
    rec.selection_images = d.select_train ? d.select_train->size() : 0;

    const auto& best = rec.winner();
    rec.transfer = transfer;
    if (rec.transfer)
        rec.transfer->chosen = transfer_wins(o, *rec.transfer, best);
    const bool transferred = rec.transfer && rec.transfer->chosen;
    if (transferred)
        log << "the transfer candidate beat the search's best (" << short_name(primary) << " "
            << rec.transfer->value << " against " << best.e.value(primary.name) << ")\n";
    nn::network<float> final_net = [&] {
        if (transferred) {
            rec.retrain_epochs = rec.retrain_plain_epochs = retrain_epochs(o);
            rec.retrain_recipe = {.optimizer = "sgd", .lr = 0.01, .momentum = 0.9};
            return fine_tune_transfer(o, d, workers * threads, log);
        }
        retrain_budget budget{.scored_after = d.test->size()};
        if (o.time_limit > 0) // a resumed run counts the seconds its journal spent
            budget.seconds_left =
                o.time_limit * 60 - d.seconds - rec.search.resumed_seconds - since(t0);
        retrained r =
            retrain(o, builder, best.t.architecture, evaluator.recipe(best.t.architecture),
                    *d.full_train, d.stats, d.images(), workers * threads, log, budget);
        rec.retrain_epochs = r.history.epochs.size();
        rec.retrain_plain_epochs = r.plain_epochs;
        rec.retrain_recipe = r.recipe;
        return std::move(r.net);
    }();
    const scores test = score(final_net, *d.test, d);
    rec.test_accuracy = test.accuracy;
    rec.test_rmse = test.rmse;
    rec.test_r2 = test.r2;
    save_final_model(o, final_net);
    log << top_decisions(write_job_results(o, space, rec, workers), 5,
                         regression(o) ? "validation-RMSE" : "validation-accuracy");
    log.flush();
    rec.seconds = since(t0);
    return {.summary = job_summary(o, space.to_string(best.t.architecture), rec)};
}

/// run_main_job on the data o.data holds (prepare_data, with images read as rows when
/// `sequences`).
template <class Space, class Builder, class Backend = local_backend>
job_result run_main_job(const options& o, const Space& space, const Builder& builder,
                        bool sequences, std::ostream& log = std::cerr,
                        const Backend& backend = {}) {
    validate(o);
    if (backend.rank() == 0)
        check_out_dir(o); // before the data loads: a run that would overwrite fails at once
    return run_main_job(o, prepare_data(o, sequences), space, builder, log, backend);
}

/// The main job over the space o.space names (visit_space) for the data o.data holds, after
/// validate(o); with o.transfer_only the fine-tune of o.transfer alone (run_transfer_only).
template <class Backend = local_backend>
job_result run_main_job(const options& o, std::ostream& log = std::cerr,
                        const Backend& backend = {}) {
    validate(o);
    if (backend.rank() == 0)
        check_out_dir(o);
    const prepared_data d = prepare_data(o);
    if (o.transfer_only) {
        if (backend.rank() != 0)
            return {.worker = true};
        record_options(o);
        log << describe(d);
        nn::set_blas_threads(o.threads);
        const std::size_t threads =
            worker_count(o, backend.ranks()) * static_cast<std::size_t>(std::max(o.threads, 1));
        return {.summary = run_transfer_only(o, d, threads, log)};
    }
    return visit_space(o, d.input, d.outputs, [&](const auto& space, const auto& builder, bool) {
        return run_main_job(o, d, space, builder, log, backend);
    });
}

} // namespace xnas::experiment
