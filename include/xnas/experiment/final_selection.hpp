#pragma once
// The main job's final selection: the search's best few networks, trained longer on more images,
// have the last word (docs/design.md, "Final selection"). Which trials count as one network,
// the time a search under a clock budget leaves for the selection, and the selection itself.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>
#include <xnas/core/study.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/experiment/data.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/retrain.hpp>
#include <xnas/run/final_selection.hpp>
#include <xnas/select/flagged_first.hpp>
#include <xnas/select/top_k.hpp>
#include <xnas/space/cell_space.hpp>

namespace xnas::experiment {

/// The final selection's notion of one candidate: trials that differ only in training
/// hyperparameters (the image space's second factor) train the same network, and the best of
/// them stands for it. A TPE search's top ranks are often one network at several learning rates;
/// the selection compares networks instead. Given the cell space, cells that differ only in
/// edges their output never sees (cell_space::live) are one network too: they score alike under
/// shared weights, and a one-shot search's top ranks are often one cell with several dead
/// branches.
struct same_network {
    const cell_space* cells = nullptr;

    template <class A>
    bool operator()(const A& a, const A& b) const {
        if constexpr (requires { a.first == b.first; })
            return a.first == b.first;
        else if constexpr (std::is_same_v<A, cell_space::architecture>)
            return cells ? cells->live(a) == cells->live(b) : a == b;
        else
            return a == b;
    }
};

/// same_network for the trials of `space`.
template <class Space>
same_network same_network_in(const Space& space) {
    if constexpr (std::is_same_v<Space, cell_space>)
        return {.cells = &space};
    else
        return {};
}

/// Epochs of the final selection's training: o.select_epochs, or o.epochs when 0.
inline std::size_t selection_epochs(const options& o) {
    return o.select_epochs ? o.select_epochs : o.epochs;
}

/// The rounds `workers` workers take to re-evaluate k networks.
inline double selection_rounds(std::size_t k, std::size_t workers) {
    return std::ceil(static_cast<double>(k) /
                     static_cast<double>(std::max<std::size_t>(workers, 1)));
}

/// Seconds the final selection of the k best distinct trials of `s` (by `by`) is expected to
/// take on `workers` workers: their trials' mean cost scaled up to full fidelity, times `scale`
/// (a selection evaluation's cost over a full-fidelity trial's), times the rounds of workers
/// the k need. 0 while no trial succeeded.
template <class A>
double selection_seconds_estimate(const study<A>& s, const objective& by, std::size_t k,
                                  double scale, std::size_t workers) {
    const auto top = best_distinct(s, by, k, same_network{});
    if (top.empty())
        return 0;
    double mean = 0; // a low-fidelity trial's cost scaled up to full fidelity
    for (std::size_t i : top)
        mean += s.history[i].e.cost / std::max(s.history[i].t.fidelity, 1e-3);
    mean /= static_cast<double>(top.size());
    return mean * scale * selection_rounds(k, workers);
}

/// A search callback that ends the search early enough for the final selection to fit in the
/// time budget, and under a whole run's time limit for the retrain to fit as well: after each
/// result it estimates the selection (selection_seconds_estimate, or seconds_per_candidate per
/// round of workers when set) and asks to stop once the seconds elapsed (a resumed study's
/// included) plus that estimate reach budget_seconds, or plus the retrain's estimate too (the
/// best trial's cost at full fidelity times retrain_scale) reach limit_seconds.
struct selection_reserve {
    double budget_seconds = 0; ///< 0: no wall-clock budget, nothing to reserve
    std::size_t k = 0;         ///< networks the selection re-evaluates (0: no selection)
    double scale = 1;          ///< selection cost of a candidate over its full-fidelity trial's
    std::size_t workers = 1;
    objective by{"val_accuracy", direction::maximize};
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    /// One selection evaluation's seconds when the search's trials cannot tell: a one-shot
    /// search's trials are shared-weight scores, a forward pass where the selection trains a
    /// network from scratch (set by one_shot_search). 0: estimated from the trials' costs.
    double seconds_per_candidate = 0;
    /// Seconds the whole run has left when the search starts (0: no time limit); the search,
    /// the selection and the retrain must fit in them.
    double limit_seconds = 0;
    double retrain_scale = 1;    ///< the retrain's cost over its trial's at full fidelity
    double reserved = 0;         ///< the selection's last estimate, for the log
    double retrain_reserved = 0; ///< the retrain's last estimate

    template <class A>
    bool on_result(const scored<A>&, const study<A>& s) {
        if ((budget_seconds <= 0 || k == 0) && limit_seconds <= 0)
            return false;
        const double now =
            s.resumed_seconds +
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        bool stop = false;
        if (k > 0 && !best_distinct(s, by, k, same_network{}).empty()) {
            reserved = seconds_per_candidate > 0
                           ? seconds_per_candidate * selection_rounds(k, workers)
                           : selection_seconds_estimate(s, by, k, scale, workers);
            stop = budget_seconds > 0 && now + reserved >= budget_seconds;
        }
        if (limit_seconds > 0) {
            const auto best = s.best_index(by);
            if (!best)
                return stop;
            const auto& b = s.history[*best];
            retrain_reserved = b.e.cost / std::max(b.t.fidelity, 1e-3) * retrain_scale;
            stop = stop || now + reserved + retrain_reserved >= limit_seconds;
        }
        return stop;
    }
};

/// The reserve a main job's search keeps for its final selection: o.select networks, each
/// trained selection_epochs(o) / o.epochs as long on the selection's images as on the search's;
/// and under o.time_limit, less the data's seconds and the `spent_seconds` the run spent
/// before its search, for the retrain: retrain_epochs(o) / o.epochs as long on
/// retrain_samples, on the threads of all `workers` together. A one-shot search keeps no
/// retrain reserve: its supernet and candidates take at most six tenths of the limit
/// (supernet_epochs_within_limit, candidate_seconds_within_limit), and its candidates, scored
/// in about a second each, cannot tell what a network's training costs.
inline selection_reserve reserve_for(const options& o, const prepared_data& d, std::size_t workers,
                                     double spent_seconds = 0) {
    const objective by = primary_objective(o);
    const double per_epoch_and_sample =
        1.0 / (static_cast<double>(o.epochs) * static_cast<double>(d.train->size()));
    const double scale = o.select && d.select_train
                             ? static_cast<double>(selection_epochs(o)) *
                                   static_cast<double>(d.select_train->size()) *
                                   per_epoch_and_sample
                             : 1.0;
    const double retrain_scale = static_cast<double>(retrain_epochs(o)) *
                                 static_cast<double>(retrain_samples(o, d)) * per_epoch_and_sample /
                                 static_cast<double>(std::max<std::size_t>(workers, 1));
    return {.budget_seconds = search_budget_seconds(o),
            .k = o.select,
            .scale = scale,
            .workers = workers,
            .by = by,
            .limit_seconds = o.time_limit > 0 && !one_shot(o.strategy)
                                 ? std::max(o.time_limit * 60 - d.seconds - spent_seconds, 1e-9)
                                 : 0,
            .retrain_scale = retrain_scale};
}

/// The final selection: the o.select best networks of `s` (same_network), trials a method
/// flagged with the metric derived = 1 (DARTS's derived cell) first whatever their score, trained
/// for selection_epochs(o) on d.select_train, with the search's augmentation (`search`'s options)
/// and a cosine schedule unless o.final_constant_lr, ranked best first by the job's primary
/// objective (primary_objective). Logs each network's search and selection score. Empty when
/// o.select is 0 or every re-evaluation failed (logged as a warning: the search's best is retrained
/// instead). `reserved_seconds`, the reserve's last estimate, is logged under a time budget.
template <class Space, class A, class Builder>
std::vector<reevaluated<A>>
final_selection(const options& o, const Space& space, const study<A>& s, const Builder& builder,
                const prepared_data& d, const train_evaluator_options& search, std::size_t workers,
                double reserved_seconds, std::ostream& log) {
    std::vector<reevaluated<A>> selection;
    if (!o.select)
        return selection;
    const objective by = primary_objective(o);
    char line[512];
    std::snprintf(line, sizeof line,
                  "final selection: re-evaluating the %zu best networks for %zu epochs on %zu "
                  "images%s...\n",
                  o.select, selection_epochs(o), d.select_train->size(),
                  search_budget_seconds(o) > 0
                      ? (" (estimated " + std::to_string(std::lround(reserved_seconds)) +
                         " s, reserved from the search's budget)")
                            .c_str()
                      : "");
    log << line;
    train_evaluator<A, Builder> evaluator(
        builder, d.select_train, d.validation,
        {.epochs = selection_epochs(o),
         .max_params = o.max_params,
         .max_flops = static_cast<std::size_t>(o.max_mflops * 1e6),
         .seed = o.seed,
         .augment = search.augment,
         .cosine = !o.final_constant_lr,
         .threads = search.threads});
    // The candidates are the study's best by its own primary objective: a one-shot search ranks
    // by the shared-weight loss (one_shot.hpp), every other search by `by`.
    const objective candidates_by = s.objectives.empty() ? by : s.objectives.front();
    selection = reevaluate_best(s, evaluator, first_flagged("derived", top_k{candidates_by}), by,
                                o.select, workers, same_network_in(space));
    for (const auto& r : selection) {
        std::snprintf(line, sizeof line, "  trial %llu  %s %.4f -> %.4f  ",
                      static_cast<unsigned long long>(r.result.t.id), short_name(by).c_str(),
                      s.history[r.history_index].e.value(by.name), r.result.e.value(by.name));
        log << line << space.to_string(r.result.t.architecture)
            << (r.result.e.ok() ? "" : "  failed: ") << r.result.e.message << '\n';
    }
    if (selection.empty() || !selection.front().result.e.ok()) {
        log << "warning: every re-evaluation failed; keeping the search's best\n";
        selection.clear();
    }
    log.flush();
    return selection;
}

} // namespace xnas::experiment
