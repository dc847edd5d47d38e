// xnas-train-bench: training throughput of the xnas core on Fashion-MNIST, one JSON line per
// epoch. benchmarks/compare_torch.py runs the same recipes in PyTorch in the same run.
//
//   xnas-train-bench --model mlp|cnn|cnn-bn --threads N --epochs E --data DIR [--seed S]
//                    [--loop fit|manual] [--batch B] [--sync-bn 0|1]
//
// --loop fit (default) trains through train::fit with fit_options::threads = N: N > 1 splits
// every batch into N shards trained data-parallel on N threads (OpenBLAS single-threaded).
// --loop manual is the plain forward / loss / backward / SGD step loop with OpenBLAS on N
// threads (the only parallelism being inside the GEMMs), kept for comparison.
//
// Recipes: inputs scaled to [0,1] then standardised (mean 0.2860, std 0.3530); MLP
// 784-256-128-10 ReLU, batch 128; CNN conv3x3(1->16)-ReLU-maxpool2-conv3x3(16->32)-ReLU-maxpool2-
// flatten-dense(800->10), batch 64; CNN-BN (the campaign's three-stage network: conv3x3 with
// padding 1 to 32, 64, 64 channels, each with batch norm, ReLU and maxpool2, then
// dense(576->10)), batch 32, where --sync-bn 0 turns off the shards' shared batch norm
// statistics to measure what sharing costs; SGD lr 0.05 momentum 0.9; PyTorch's default
// initialisation; reshuffle every epoch. Timed: forward + backward + update (and the batch copy)
// over the 60,000 training images; not timed: loading, the shuffle, the test evaluation.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <xnas/data/batch.hpp>
#include <xnas/data/mnist.hpp>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/batch_norm.hpp>
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

nn::network<float> make_model(const std::string& name) {
    if (name == "mlp") {
        nn::network<float> net({1, 28, 28});
        net.add(nn::flatten<float>());
        net.add(nn::dense<float>(784, 256));
        net.add(nn::relu<float>());
        net.add(nn::dense<float>(256, 128));
        net.add(nn::relu<float>());
        net.add(nn::dense<float>(128, 10));
        return net;
    }
    if (name == "cnn") {
        nn::network<float> net({1, 28, 28});
        net.add(nn::conv2d<float>({.in_channels = 1, .out_channels = 16}));
        net.add(nn::relu<float>());
        net.add(nn::max_pool2d<float>(2));
        net.add(nn::conv2d<float>({.in_channels = 16, .out_channels = 32}));
        net.add(nn::relu<float>());
        net.add(nn::max_pool2d<float>(2));
        net.add(nn::flatten<float>());
        net.add(nn::dense<float>(800, 10));
        return net;
    }
    if (name == "cnn-bn") {
        nn::network<float> net({1, 28, 28});
        std::size_t in = 1;
        for (std::size_t out : {32, 64, 64}) {
            net.add(nn::conv2d<float>(
                {.in_channels = in, .out_channels = out, .padding_h = 1, .padding_w = 1}));
            net.add(nn::batch_norm<float>({.features = out}));
            net.add(nn::relu<float>());
            net.add(nn::max_pool2d<float>(2));
            in = out;
        }
        net.add(nn::flatten<float>());
        net.add(nn::dense<float>(64 * 3 * 3, 10));
        return net;
    }
    throw std::invalid_argument("--model must be mlp, cnn or cnn-bn, got \"" + name + "\"");
}

double test_accuracy(nn::network<float>& net, const data::dataset<float>& test) {
    data::batcher<float> batches(test, 1000, {.shuffle = false});
    nn::array<float> x;
    std::vector<std::int32_t> y;
    double correct = 0;
    for (std::size_t b = 0; b < batches.batch_count(); ++b) {
        batches.copy(b, x, y);
        correct += nn::accuracy(net.forward(x, nn::mode::eval), y) * static_cast<double>(y.size());
    }
    return correct / static_cast<double>(test.size());
}

int usage(const char* why) {
    std::fprintf(stderr,
                 "%s\nusage: xnas-train-bench --model mlp|cnn|cnn-bn [--threads N] [--epochs E] "
                 "[--data DIR] [--seed S] [--loop fit|manual] [--batch B] [--sync-bn 0|1]\n",
                 why);
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    std::string model = "mlp", loop = "fit", dir = "/usr/share/datasets/fashion-mnist";
    int threads = 1, epochs = 1, batch_option = 0, sync_bn = 1;
    std::uint64_t seed = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h")
            return usage("xnas-train-bench: training throughput, one JSON line per epoch") ? 0 : 0;
        if (i + 1 >= argc)
            return usage(("missing value after " + a).c_str());
        const std::string v = argv[++i];
        if (a == "--model")
            model = v;
        else if (a == "--threads")
            threads = std::atoi(v.c_str());
        else if (a == "--epochs")
            epochs = std::atoi(v.c_str());
        else if (a == "--data")
            dir = v;
        else if (a == "--loop")
            loop = v;
        else if (a == "--seed")
            seed = std::strtoull(v.c_str(), nullptr, 10);
        else if (a == "--batch")
            batch_option = std::atoi(v.c_str());
        else if (a == "--sync-bn")
            sync_bn = std::atoi(v.c_str());
        else
            return usage(("unknown option " + a).c_str());
    }
    if (threads < 1 || epochs < 1 || batch_option < 0)
        return usage("--threads and --epochs must be positive, --batch not negative");
    if (loop != "fit" && loop != "manual")
        return usage("--loop must be fit or manual");
    try {
        nn::set_blas_threads(threads);
        auto data = data::load_fashion_mnist<float>(dir);
        for (auto* ds : {&data.train, &data.test})
            for (auto& v : ds->x)
                v = (v - 0.2860f) / 0.3530f;
        const std::size_t batch = batch_option > 0 ? static_cast<std::size_t>(batch_option)
                                  : model == "mlp" ? 128
                                  : model == "cnn" ? 64
                                                   : 32;
        nn::network<float> net = make_model(model);
        rng g(seed);
        nn::init::apply(net, nn::init::scheme::pytorch_default, g);
        nn::sgd<float> opt({.lr = 0.05, .momentum = 0.9});
        nn::softmax_cross_entropy<float> loss;
        auto print = [&](int epoch, double seconds, double train_loss, double acc) {
            std::printf(
                "{\"system\": \"xnas\", \"model\": \"%s\", \"threads\": %d, \"batch\": %zu, "
                "\"sync_bn\": %s, \"epoch\": %d, \"seconds\": %.4f, \"images_per_s\": %.1f, "
                "\"train_loss\": %.4f, \"test_accuracy\": %.4f}\n",
                model.c_str(), threads, batch, sync_bn ? "true" : "false", epoch, seconds,
                static_cast<double>(data.train.size()) / seconds, train_loss, acc);
            std::fflush(stdout);
        };
        if (loop == "fit") {
            // The test set as validation set: evaluated after each epoch, outside the timing.
            struct printer {
                decltype(print)& out;
                void on_epoch_end(const train::epoch_result& r) {
                    out(static_cast<int>(r.epoch) + 1,
                        static_cast<double>(r.images) / r.images_per_second, r.loss,
                        r.val_accuracy);
                }
            };
            train::fit(net, loss, opt, data.train, data.test,
                       {.epochs = static_cast<std::size_t>(epochs),
                        .batch_size = batch,
                        .seed = g(), // the shuffle continues the initialisation's stream
                        .eval_batch_size = 1000,
                        .threads = static_cast<std::size_t>(threads),
                        .sync_batch_norm = sync_bn != 0},
                       printer{print});
            return 0;
        }
        auto params = net.parameters();
        data::batcher<float> batches(data.train, batch);
        nn::array<float> x, dlogits;
        std::vector<std::int32_t> y;
        for (int epoch = 1; epoch <= epochs; ++epoch) {
            batches.new_epoch(g);
            double loss_sum = 0;
            const auto start = std::chrono::steady_clock::now();
            for (std::size_t b = 0; b < batches.batch_count(); ++b) {
                batches.copy(b, x, y);
                loss_sum += loss(net.forward(x, nn::mode::train), y, &dlogits);
                net.backward(dlogits);
                opt.step(params);
            }
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            print(epoch, seconds, loss_sum / static_cast<double>(batches.batch_count()),
                  test_accuracy(net, data.test));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "xnas-train-bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
