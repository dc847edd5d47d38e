// Transfer against training from scratch, as test accuracy against seconds: the network an
// xnas-search run of the chain space saved (RUN/best_model.xnas) is fine-tuned on another data
// set as xnas-search --transfer-only fine-tunes it (train::fine_tune: a new head alone for the
// first epoch, then the whole network), and the same architecture (RUN/best.json) is trained
// from scratch as xnas-search retrains a winner (its searched recipe, cosine-annealed). Both
// train on the whole training set, standardised as xnas-search does, and are tested after every
// epoch; the seconds are the training's plus those per-epoch tests, the same for both.
//
//   transfer_fine_tune --run RUN --data DIR [--epochs 5] [--limit K] [--threads 2] [--seed 0]
//
// --limit K trains both on the first K training samples only (0: all): transfer pays most when
// the new task has few labelled samples.
//
// Prints one line per epoch of each arm and a JSON line with both curves.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>
#include <xnas/core/json.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/evaluate/training_params.hpp>
#include <xnas/experiment/data.hpp>
#include <xnas/experiment/retrain.hpp>
#include <xnas/experiment/transfer.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/serialize.hpp>
#include <xnas/train/fine_tune.hpp>
#include <xnas/train/trainer.hpp>

namespace ex = xnas::experiment;

namespace {

struct point {
    double seconds;
    double accuracy;
};

xnas::json::value curve_json(const std::vector<point>& c) {
    auto out = xnas::json::value::array();
    for (const auto& p : c)
        out.push_back(
            xnas::json::value::object({{"seconds", p.seconds}, {"accuracy", p.accuracy}}));
    return out;
}

std::vector<point> curve_of(const xnas::train::history& h) {
    std::vector<point> c;
    double seconds = 0;
    for (const auto& e : h.epochs) {
        seconds += e.seconds;
        c.push_back({seconds, e.val_accuracy});
    }
    return c;
}

void print(const char* arm, const std::vector<point>& c) {
    for (std::size_t e = 0; e < c.size(); ++e)
        std::printf("%-12s epoch %zu  %7.1f s  test accuracy %.4f\n", arm, e + 1, c[e].seconds,
                    c[e].accuracy);
}

} // namespace

int main(int argc, char** argv) try {
    std::string run, data;
    std::size_t epochs = 5, threads = 2, limit = 0;
    std::uint64_t seed = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--run")
            run = v;
        else if (k == "--data")
            data = v;
        else if (k == "--epochs")
            epochs = std::stoul(v);
        else if (k == "--limit")
            limit = std::stoul(v);
        else if (k == "--threads")
            threads = std::stoul(v);
        else if (k == "--seed")
            seed = std::stoull(v);
        else {
            std::fprintf(stderr, "transfer_fine_tune: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    if (run.empty() || data.empty() || epochs == 0 || threads == 0) {
        std::fprintf(stderr, "usage: transfer_fine_tune --run RUN --data DIR [--epochs 5] "
                             "[--limit K] [--threads 2] [--seed 0]\n");
        return 2;
    }
    ex::options o{.data = data, .final_epochs = epochs, .seed = seed};
    o.transfer = run + "/best_model.xnas";
    const ex::prepared_data d = ex::prepare_data(o);
    xnas::nn::set_blas_threads(1);
    const xnas::data::dataset<float>* train = d.full_train.get();
    xnas::data::dataset<float> first;
    if (limit && limit < train->size()) {
        first = train->first(limit);
        train = &first;
    }

    // Fine-tuned: the saved network, a new head for this data's classes.
    xnas::nn::network<float> tuned = ex::load_transfer(o, d);
    const auto fine = xnas::train::fine_tune(
        tuned, *train, d.test.get(), ex::transfer_fine_tune_options(d, epochs, seed + 1, threads));
    const std::vector<point> fine_curve = curve_of(fine);

    // From scratch: the run's architecture and searched recipe, as xnas-search retrains it.
    std::ifstream in(run + "/best.json");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto best = xnas::json::value::parse(text);
    const auto space = xnas::image_search_space();
    const auto a = space.parse(best.at("architecture").get<std::string>());
    const xnas::with_training_params<xnas::chain_builder> builder(
        xnas::chain_builder(space.first(), {.input = d.input, .classes = d.outputs}));
    const xnas::training_recipe recipe = builder.recipe(a, xnas::training_recipe{});
    xnas::rng g(seed + 1);
    xnas::nn::network<float> scratch = builder.build(a, g);
    xnas::nn::init::apply(scratch, xnas::nn::init::scheme::pytorch_default, g);
    auto fit = ex::retrain_fit_options(o, recipe, d.stats, d.images(), threads, g());
    fit.batch_size = recipe.batch_size;
    auto optimizer = xnas::shipped_optimizers{}(recipe);
    const auto from_scratch = xnas::train::fit(scratch, xnas::cross_entropy_loss{}(recipe),
                                               optimizer, *train, *d.test, fit);
    const std::vector<point> scratch_curve = curve_of(from_scratch);

    print("fine-tuned", fine_curve);
    print("from scratch", scratch_curve);
    std::printf("%s\n", xnas::json::value::object({{"architecture", best.at("architecture")},
                                                   {"train_samples", train->size()},
                                                   {"test_samples", d.test->size()},
                                                   {"threads", threads},
                                                   {"fine_tuned", curve_json(fine_curve)},
                                                   {"from_scratch", curve_json(scratch_curve)}})
                            .dump()
                            .c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "transfer_fine_tune: %s\n", e.what());
    return 1;
}
