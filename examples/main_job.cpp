// main_job: the main job of xnas-search (a search, the final selection of its best few, the
// retrain of the winner on the whole training set, one test evaluation, the results folder and
// its report) composed from the calls of <xnas/experiment.hpp>, so that any step can be changed;
// xnas::experiment::run_main_job(options) makes the same calls for any of the tool's spaces.
//
//   build/examples/main_job [TRIALS] [IMAGES] [OUT]     (IMAGES: cap on every training set)

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <xnas/experiment.hpp>

using namespace xnas;
namespace ex = xnas::experiment;

int main(int argc, char** argv) try {
    ex::options o{.strategy = "evolution", .epochs = 1, .select = 2, .workers = 2};
    // Checked as text (std::stoul reads "-3" as 2^64 - 3), then by validate: a usage error.
    try {
        const char* names[] = {"TRIALS", "IMAGES"};
        const ex::value_range ranges[] = {ex::count_from(1), ex::count_from(0)};
        for (int k = 1; k < std::min(argc, 3); ++k)
            if (const std::string why = ex::text_error(argv[k], ranges[k - 1]); !why.empty())
                throw std::invalid_argument(std::string(names[k - 1]) + ": " + why);
        o.trials = argc > 1 ? std::stoul(argv[1]) : 20;
        if (const std::size_t images = argc > 2 ? std::stoul(argv[2]) : 0)
            o.train_subset = o.select_subset = o.final_limit = images;
        o.out = argc > 3 ? argv[3] : "results/main-job";
        ex::validate(o);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "main_job: %s\nusage: main_job [TRIALS] [IMAGES] [OUT]\n", e.what());
        return 2;
    }
    ex::check_out_dir(o); // refuses to overwrite an earlier run

    // The image space within the parameter and FLOP budgets, its builder, the data split.
    auto space = image_search_space(ex::within_budget(chain_space::image(), {}, o));
    using Space = decltype(space);
    using A = Space::architecture;
    const with_training_params<chain_builder> builder(chain_builder(space.first()));
    const ex::prepared_data d = ex::prepare_data(o);
    ex::record_options(o); // options.json, command.toml
    ex::record_split(o, d.split);

    // The search: a strategy by name, every trial journaled, a progress line per trial.
    auto strategy = ex::shipped_strategies<Space>().make(o.strategy, {.budget = o.trials});
    auto evaluator = ex::search_evaluator<A>(o, builder, d);
    ex::search_progress progress{.total = o.trials};
    ex::job_record<A> rec{.search = search(space, strategy, evaluator,
                                           ex::job_search_options(o, o.workers), progress)};
    rec.finished_at = progress.finished_at;
    ex::write_search_tables(o.out, rec.search, space); // trials.csv, pareto.csv

    // The final selection: the best two networks trained again on more images.
    rec.selection = ex::final_selection(o, space, rec.search, builder, d, evaluator.options(),
                                        o.workers, 0, std::cerr);
    rec.selection_epochs = ex::selection_epochs(o);
    rec.selection_images = d.select_train->size();

    // The winner retrained on the whole training set, data-parallel, then tested once.
    const A& winner = rec.winner().t.architecture;
    ex::retrained r = ex::retrain(o, builder, winner, evaluator.recipe(winner), *d.full_train,
                                  d.stats, d.images(), o.workers, std::cerr);
    rec.test_accuracy =
        train::evaluate(r.net, nn::softmax_cross_entropy<float>(), *d.test).accuracy;
    ex::save_model(r.net, o.out + "/best_model.xnas");
    rec.retrain_epochs = r.history.epochs.size();
    rec.retrain_plain_epochs = r.plain_epochs;
    rec.retrain_recipe = r.recipe;

    // best.json and report.html; the most important decisions and the summary line.
    std::cerr << ex::top_decisions(ex::write_job_results(o, space, rec, o.workers));
    std::printf("%s\n", ex::job_summary(o, space.to_string(winner), rec).dump().c_str());
} catch (const std::exception& e) {
    std::fprintf(stderr, "main_job: %s\n", e.what());
    return 1;
}
