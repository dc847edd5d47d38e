// fine_tune: transfer learning. Train an architecture on Fashion-MNIST classes 0-4 (T-shirt/top,
// Trouser, Pullover, Dress, Coat), save it, load it back, replace its classifier head with a
// fresh one for classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot) and fine-tune it on a few
// images of those; compare with training the same architecture from scratch on the same images
// for the same epochs, with training the new head alone on the frozen trunk, and with
// train::fine_tune's recipe (the head alone first, then every layer).
//
//   fine_tune [--arch CHAIN] [--base N] [--target N] [--base-epochs E] [--epochs E]
//             [--save FILE] [--data DIR]
//
// --arch is a chain_space::image() architecture string (see examples/quickstart.cpp), e.g. the
// best one a search found; --base / --target: training images of classes 0-4 / 5-9.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>
#include <xnas/data/mnist.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/nn/serialize.hpp>
#include <xnas/nn/transfer.hpp>
#include <xnas/train/fine_tune.hpp>
#include <xnas/train/trainer.hpp>

using namespace xnas;

namespace {

/// The first `limit` samples whose class is in [first, first + 5), relabelled 0..4.
data::dataset<float> five_classes(const data::dataset<float>& ds, int first, std::size_t limit) {
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < ds.size() && keep.size() < limit; ++i)
        if (ds.labels[i] >= first && ds.labels[i] < first + 5)
            keep.push_back(i);
    data::dataset<float> out = ds.subset(keep);
    for (auto& l : out.labels)
        l -= first;
    out.num_classes = 5;
    out.class_names.assign(ds.class_names.begin() + first, ds.class_names.begin() + first + 5);
    return out;
}

/// Trains with `opt` (batch 64, reshuffled each epoch); returns the seconds it took.
template <class Opt>
double train_with(nn::network<float>& net, Opt opt, const data::dataset<float>& ds,
                  std::size_t epochs, std::uint64_t seed) {
    return train::fit(net, nn::softmax_cross_entropy<float>(), opt, ds,
                      {.epochs = epochs, .batch_size = 64, .seed = seed})
        .seconds;
}

double test_accuracy(nn::network<float>& net, const data::dataset<float>& test) {
    return train::evaluate(net, nn::softmax_cross_entropy<float>(), test).accuracy;
}

} // namespace

int main(int argc, char** argv) try {
    std::map<std::string, std::string> opt{
        {"--arch", "conv(k=3,c=8,act=relu,bn=0,pool=max)|conv(k=3,c=16,act=relu,bn=0,pool=max)"
                   "+dense(w=64,act=relu,drop=0)"},
        {"--base", "6000"},
        {"--target", "500"},
        {"--base-epochs", "2"},
        {"--epochs", "3"},
        {"--save", "fine_tune_base.xnas"},
        {"--data", "/usr/share/datasets/fashion-mnist"}};
    for (int i = 1; i < argc; i += 2) {
        if (!opt.count(argv[i]) || i + 1 >= argc)
            throw std::invalid_argument(std::string("bad option '") + argv[i] +
                                        "'; options: --arch --base --target --base-epochs "
                                        "--epochs --save --data");
        opt[argv[i]] = argv[i + 1];
    }
    const std::size_t epochs = std::stoul(opt["--epochs"]);

    auto fm = data::load_fashion_mnist<float>(opt["--data"]);
    const data::normalization stats{{0.2860}, {0.3530}};
    data::normalize(fm.train, stats);
    data::normalize(fm.test, stats);
    const auto base_train = five_classes(fm.train, 0, std::stoul(opt["--base"]));
    const auto base_test = five_classes(fm.test, 0, fm.test.size());
    const auto target_train = five_classes(fm.train, 5, std::stoul(opt["--target"]));
    const auto target_test = five_classes(fm.test, 5, fm.test.size());

    const chain_space space = chain_space::image();
    const chain_space::architecture arch = space.parse(opt["--arch"]); // throws naming the token
    const chain_builder builder(space, {.input = {1, 28, 28}, .classes = 5});
    std::printf("architecture %s\n", space.to_string(arch).c_str());

    // 1. The base model, trained on classes 0-4 and saved.
    rng g(1);
    nn::network<float> base = builder.build(arch, g);
    nn::init::apply(base, nn::init::scheme::pytorch_default, g);
    const nn::sgd<float> sgd({.lr = 0.05, .momentum = 0.9});
    const double s = train_with(base, sgd, base_train, std::stoul(opt["--base-epochs"]), 1);
    std::printf("base task, classes 0-4: %zu images, %s epochs, %.1f s, test accuracy %.4f\n",
                base_train.size(), opt["--base-epochs"].c_str(), s, test_accuracy(base, base_test));
    nn::save(base, std::filesystem::path(opt["--save"]));
    std::printf("saved to %s (%ju bytes)\n\n", opt["--save"].c_str(),
                static_cast<std::uintmax_t>(std::filesystem::file_size(opt["--save"])));

    // 2. The target task, classes 5-9, with few images: three ways to train the same network.
    std::printf("target task, classes 5-9: %zu training images, %zu epochs each\n",
                target_train.size(), epochs);
    auto report = [&](const char* how, nn::network<float>& net, double seconds) {
        std::printf("  %-28s test accuracy %.4f  (%.2f s)\n", how, test_accuracy(net, target_test),
                    seconds);
    };
    nn::network<float> scratch = builder.build(arch, g);
    nn::init::apply(scratch, nn::init::scheme::pytorch_default, g);
    report("from scratch", scratch, train_with(scratch, sgd, target_train, epochs, 2));

    std::ifstream file(opt["--save"], std::ios::binary);
    const nn::network<float> loaded = nn::load<float>(file, opt["--save"]); // throws naming it
    // A fresh classifier for classes 5-9 on the loaded trunk (its weights are copied).
    nn::network<float> tuned = nn::replace_head(loaded, 5, g);
    report("fine-tuned, all layers", tuned, train_with(tuned, sgd, target_train, epochs, 2));

    // The same, with the trunk frozen: the optimizer sees the new head's parameters only.
    nn::network<float> probe = nn::replace_head(loaded, 5, g);
    nn::freeze_all_but_head(probe);
    report("fine-tuned, new head only", probe, train_with(probe, sgd, target_train, epochs, 2));

    // train::fine_tune's recipe: the new head alone for one epoch, then every layer.
    nn::network<float> recipe = loaded;
    const auto h = train::fine_tune(recipe, target_train,
                                    {.new_head = true, // same count, other classes
                                     .head_epochs = 1,
                                     .epochs = epochs > 0 ? epochs - 1 : 0,
                                     .sgd = {.lr = 0.05, .momentum = 0.9},
                                     .seed = 2});
    report("train::fine_tune", recipe, h.seconds);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "fine_tune: %s\n", e.what());
    return 1;
}
