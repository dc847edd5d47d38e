// train_fashion_mnist: train a fixed MLP and a fixed CNN on Fashion-MNIST with the xnas training
// core (train::fit), one progress line per epoch, test accuracy at the end. No search: this is
// plain "train a network", the starting point for your own models.
//
//   train_fashion_mnist [--model mlp|cnn|both] [--epochs E] [--limit N] [--data DIR] [--seed S]
//                       [--threads T]
//
// Recipes (as in benchmarks/xnas_train_bench.cpp and its PyTorch twin):
//   MLP  flatten - dense 784->256 - ReLU - dense 256->128 - ReLU - dense 128->10, batch 128
//   CNN  conv3x3 1->16 - ReLU - maxpool2 - conv3x3 16->32 - ReLU - maxpool2 - flatten -
//        dense 800->10, batch 64
// Pixels in [0, 1] standardised with mean 0.2860, std 0.3530; SGD lr 0.05, momentum 0.9;
// PyTorch's default initialisation. --limit N trains on the first N training images only.
// --threads sets OpenBLAS's threads (default: its own choice); use 1 when other jobs share the
// cores, since OpenBLAS threads that wait for each other on a busy machine are very slow.
// The data comes from the Debian package dataset-fashion-mnist.

#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/data/mnist.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/experiment/options.hpp> // text_error: the tools' check of a typed number
#include <xnas/nn/detail/blas.hpp>     // nn::set_blas_threads
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/conv2d.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/flatten.hpp>
#include <xnas/nn/layers/pooling.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/train/trainer.hpp>

using namespace xnas;

namespace {

nn::network<float> make_mlp() {
    nn::network<float> net({1, 28, 28});
    net.add(nn::flatten<float>());
    net.add(nn::dense<float>(784, 256));
    net.add(nn::relu<float>());
    net.add(nn::dense<float>(256, 128));
    net.add(nn::relu<float>());
    net.add(nn::dense<float>(128, 10));
    return net;
}

nn::network<float> make_cnn() {
    nn::network<float> net({1, 28, 28});
    net.add(nn::conv2d<float>({.in_channels = 1, .out_channels = 16})); // 3x3, no padding: 26x26
    net.add(nn::relu<float>());
    net.add(nn::max_pool2d<float>(2));                                   // 13x13
    net.add(nn::conv2d<float>({.in_channels = 16, .out_channels = 32})); // 11x11
    net.add(nn::relu<float>());
    net.add(nn::max_pool2d<float>(2)); // 5x5
    net.add(nn::flatten<float>());
    net.add(nn::dense<float>(32 * 5 * 5, 10));
    return net;
}

/// One progress line per epoch: a train::fit callback (any object with the hooks it wants).
struct progress {
    std::string name;
    std::size_t epochs;
    void on_epoch_end(const train::epoch_result& e) const {
        std::printf("%s epoch %zu/%zu: loss %.4f, %.1f s, %.0f images/s\n", name.c_str(),
                    e.epoch + 1, epochs, e.loss, e.seconds, e.images_per_second);
        std::fflush(stdout);
    }
};

void train_and_test(const std::string& name, nn::network<float> net, std::size_t batch,
                    const data::dataset<float>& train_set, const data::dataset<float>& test,
                    std::size_t epochs, std::uint64_t seed) {
    rng g(seed);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    std::printf("%s: %zu parameters, batch %zu, %zu training images\n", name.c_str(),
                net.parameter_count(), batch, train_set.size());

    nn::sgd<float> opt({.lr = 0.05, .momentum = 0.9});
    train::fit(net, nn::softmax_cross_entropy<float>(), opt, train_set,
               {.epochs = epochs, .batch_size = batch, .seed = seed}, progress{name, epochs});
    const auto result = train::evaluate(net, nn::softmax_cross_entropy<float>(), test);
    std::printf("%s test accuracy: %.2f%% (loss %.4f, %zu test images)\n\n", name.c_str(),
                100.0 * result.accuracy, result.loss, test.size());
}

// Minimal "--name value" options, so the example needs nothing beyond xnas.
std::map<std::string, std::string> parse_options(int argc, char** argv,
                                                 std::map<std::string, std::string> opts) {
    for (int i = 1; i < argc; i += 2) {
        const std::string key = argv[i];
        if (key.rfind("--", 0) != 0 || !opts.count(key.substr(2)) || i + 1 >= argc)
            throw std::invalid_argument("bad option '" + key + "'");
        opts[key.substr(2)] = argv[i + 1];
    }
    return opts;
}

} // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string> opt;
    try {
        // threads "" is OpenBLAS's own choice: an explicit --threads 0 means nothing.
        opt = parse_options(argc, argv,
                            {{"model", "both"},
                             {"epochs", "1"},
                             {"limit", "0"},
                             {"seed", "1"},
                             {"threads", ""},
                             {"data", "/usr/share/datasets/fashion-mnist"}});
        // The text is checked before std::stoul, which reads "-1" as 2^64 - 1.
        namespace ex = experiment;
        for (const auto& [name, range] :
             {std::pair{"epochs", ex::count_from(1)},
              {"limit", ex::count_from(0)},
              {"seed", ex::any_seed},
              {"threads", ex::count_in(1, std::numeric_limits<int>::max())}})
            if (const std::string& text = opt[name];
                !(name == std::string("threads") && text.empty()))
                if (const std::string why = ex::text_error(text, range); !why.empty())
                    throw std::invalid_argument(std::string("--") + name + ": " + why);
    } catch (const std::exception& e) {
        std::fprintf(stderr,
                     "train_fashion_mnist: %s\nusage: train_fashion_mnist [--model mlp|cnn|both] "
                     "[--epochs E] [--limit N] [--data DIR] [--seed S] [--threads T]\n",
                     e.what());
        return 2;
    }
    const std::string model = opt["model"];
    const auto epochs = std::stoul(opt["epochs"]);
    const auto limit = std::stoul(opt["limit"]);
    const auto seed = std::stoull(opt["seed"]);
    if (!opt["threads"].empty())
        nn::set_blas_threads(std::stoi(opt["threads"]));
    if (model != "mlp" && model != "cnn" && model != "both") {
        std::fprintf(stderr, "train_fashion_mnist: --model must be mlp, cnn or both\n");
        return 2;
    }

    data::train_test<float> fm;
    try {
        fm = data::load_fashion_mnist<float>(opt["data"]); // throws naming the file and package
    } catch (const std::exception& e) {
        std::fprintf(stderr, "train_fashion_mnist: cannot load Fashion-MNIST: %s\n", e.what());
        return 1;
    }
    if (limit > 0)
        fm.train = fm.train.first(limit);
    const data::normalization stats{{0.2860}, {0.3530}}; // Fashion-MNIST's training statistics
    data::normalize(fm.train, stats);
    data::normalize(fm.test, stats);

    try {
        if (model != "cnn")
            train_and_test("mlp", make_mlp(), 128, fm.train, fm.test, epochs, seed);
        if (model != "mlp")
            train_and_test("cnn", make_cnn(), 64, fm.train, fm.test, epochs, seed);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "train_fashion_mnist: %s\n", e.what());
        return 1;
    }
    return 0;
}
