// quickstart: a complete architecture search on Fashion-MNIST. Space: 1-2 conv layers, then 0-1
// dense layers; each candidate is trained for two epochs on 1600 images and scored on 400
// held-out ones; regularized evolution proposes the candidates.   quickstart [--trials N]

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/data/mnist.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/data/split.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/run/search.hpp>
#include <xnas/strategy/regularized_evolution.hpp>

using namespace xnas;
using choice = chain_space::choice;

int main(int argc, char** argv) try {
    if (argc != 1 && (argc != 3 || std::string(argv[1]) != "--trials"))
        throw std::invalid_argument("usage: quickstart [--trials N]");
    const std::size_t trials = argc == 3 ? std::stoul(argv[2]) : 6;

    // Data: the first 2000 training images, 20% of them held out (stratified) for validation.
    auto fm = data::load_fashion_mnist<float>(); // throws naming the package if it is missing
    rng g(1);
    auto [train, val] = data::split_dataset(fm.train.first(2000), 0.2, g);
    data::normalize(val, data::standardize(train)); // statistics from the training part only

    // The space: what each layer may be. chain_builder turns an architecture into a network.
    const chain_space::op conv{"conv",
                               {choice::ints("k", {3, 5}), choice::doubling("c", 8, 16),
                                choice::of("pool", {"max", "avg"})}};
    const chain_space::op dense{
        "dense", {choice::doubling("w", 32, 128), choice::of("act", {"relu", "gelu"})}};
    const chain_space space({{"conv", 1, 2, {conv}}, {"dense", 0, 1, {dense}}});
    train_evaluator<chain_space::architecture, chain_builder> evaluator(
        chain_builder(space), std::make_shared<const data::dataset<float>>(std::move(train)),
        std::make_shared<const data::dataset<float>>(std::move(val)),
        {.epochs = 2, .recipe = {.batch_size = 32}});

    regularized_evolution<chain_space> evolution(
        {.population_size = 4, .sample_size = 2, .objective = {"val_accuracy"}});
    struct progress { // optional hooks: here, one line per finished trial
        const chain_space& space;
        void on_result(const scored<chain_space::architecture>& r) const {
            std::printf("trial %2llu  val_accuracy %.3f  %s\n",
                        static_cast<unsigned long long>(r.t.id), r.e.value("val_accuracy"),
                        space.to_string(r.t.architecture).c_str());
        }
    };
    const auto study = search(
        space, evolution, evaluator,
        {.objectives = {{"val_accuracy", direction::maximize}}, .max_trials = trials, .seed = 1},
        progress{space});

    const auto& best = study.best();
    std::printf("best: %s\n      val_accuracy %.3f, %.0f parameters\n",
                space.to_string(best.t.architecture).c_str(), best.e.value("val_accuracy"),
                best.e.value("params"));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
}
