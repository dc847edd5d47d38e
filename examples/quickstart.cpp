// quickstart: a complete architecture search on Fashion-MNIST, the README's first search.
// Candidates (1-2 conv layers, then 0-1 dense layers) train for one epoch on 9000 images and are
// scored on 1000 held-out ones; regularized evolution proposes them.   quickstart [TRIALS]
#include <cstdio>
#include <exception>
#include <string>
#include <xnas/xnas.hpp>
using namespace xnas;
using choice = chain_space::choice;

int main(int argc, char** argv) try {
    auto fm = data::load_fashion_mnist<float>(); // throws naming the missing file
    rng g(1);
    auto [train, val] = data::split_dataset(fm.train.first(10000), 0.1, g); // stratified, seeded
    data::normalize(val, data::standardize(train)); // statistics of the training part only

    const chain_space space(
        {{"conv", 1, 2, {{"conv", {choice::ints("k", {3, 5}), choice::doubling("c", 8, 32)}}}},
         {"dense", 0, 1, {chain_space::dense_op()}}});
    train_evaluator<chain_space::architecture, chain_builder> evaluator(
        chain_builder(space), std::make_shared<const data::dataset<float>>(std::move(train)),
        std::make_shared<const data::dataset<float>>(std::move(val)), {.epochs = 1});
    regularized_evolution<chain_space> evolution(
        {.population_size = 8, .sample_size = 3, .objective = {"val_accuracy"}});

    const std::size_t trials = argc > 1 ? std::stoul(argv[1]) : 12;
    const auto study =
        search(space, evolution, evaluator,
               {.objectives = {{"val_accuracy", direction::maximize}}, .max_trials = trials});
    std::printf("%s: val_accuracy %.3f\n", space.to_string(study.best().t.architecture).c_str(),
                study.best().e.value("val_accuracy"));
} catch (const std::exception& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
}
