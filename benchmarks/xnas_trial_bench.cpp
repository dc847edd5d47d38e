// xnas-trial-bench: the cost of single search trials. Evaluates each architecture of the image
// space (xnas-search --space chain) given on the command line exactly as a search's trial does
// (build, initialise, train, validate, time inference), one JSON line per architecture.
// benchmarks/compare_trials.py trains the same architectures in PyTorch in the same run.
//
//   xnas-trial-bench --data DIR --epochs E --train-subset K --seed S [--split-out FILE]
//                    ARCH [ARCH...]
//
// The split is xnas-search's for the same seed (10% stratified validation, then the first K
// images of the training split, normalised by their own mean and deviation); --split-out writes
// it as xnas-search's split.json does, so the PyTorch side trains on the same images.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>
#include <xnas/core/json.hpp>
#include <xnas/data/mnist.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/data/split.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/training_params.hpp>
#include <xnas/nn/detail/blas.hpp>

using namespace xnas;

int main(int argc, char** argv) {
    std::string data = "/usr/share/datasets/fashion-mnist", split_out;
    std::size_t epochs = 2, subset = 10000;
    std::uint64_t seed = 0;
    std::vector<std::string> archs;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--data" && has_value)
            data = argv[++i];
        else if (a == "--epochs" && has_value)
            epochs = std::stoul(argv[++i]);
        else if (a == "--train-subset" && has_value)
            subset = std::stoul(argv[++i]);
        else if (a == "--seed" && has_value)
            seed = std::stoull(argv[++i]);
        else if (a == "--split-out" && has_value)
            split_out = argv[++i];
        else if (a.rfind("--", 0) == 0) {
            std::cerr << "xnas-trial-bench: unknown option " << a << "\n";
            return 2;
        } else
            archs.push_back(a);
    }
    try {
        auto tt = data::load_fashion_mnist<float>(data);
        rng g(seed ^ 0x5EED5EEDULL); // as xnas-search's prepare()
        const auto split = data::stratified_split(tt.train.labels, 0.1, g);
        auto train = tt.train.subset(split.train);
        auto validation = tt.train.subset(split.validation);
        if (subset && subset < train.size())
            train = train.first(subset);
        const auto stats = data::compute_normalization(train, data::norm_scope::global);
        data::normalize(train, stats);
        data::normalize(validation, stats);
        if (!split_out.empty())
            std::ofstream(split_out)
                << json::value::object({{"train", split.train}, {"val", split.validation}}).dump();

        nn::set_blas_threads(1);
        const auto space = image_search_space();
        const auto builder = with_training_params<chain_builder>(chain_builder(space.first()));
        using A = decltype(space)::architecture;
        train_evaluator<A, decltype(builder)> evaluator(
            builder, std::make_shared<data::dataset<float>>(std::move(train)),
            std::make_shared<data::dataset<float>>(std::move(validation)),
            {.epochs = epochs, .fidelity = fidelity_axis::data, .seed = seed});
        for (std::size_t id = 0; id < archs.size(); ++id) {
            const evaluation e =
                evaluator.evaluate(trial<A>{.id = id, .architecture = space.parse(archs[id])});
            if (!e.ok()) {
                std::cerr << "xnas-trial-bench: " << archs[id] << ": " << e.message << "\n";
                return 1;
            }
            std::cout << json::value::object({{"system", "xnas"},
                                              {"arch", archs[id]},
                                              {"seconds", e.cost},
                                              {"train_seconds", e.metrics.at("train_seconds")},
                                              {"val_accuracy", e.objectives.at("val_accuracy")},
                                              {"flops", e.objectives.at("flops")}})
                             .dump()
                      << std::endl;
        }
    } catch (const std::exception& ex) {
        std::cerr << "xnas-trial-bench: " << ex.what() << "\n";
        return 1;
    }
}
