// custom_space: searching your own space. A space is any copyable type with an `architecture`
// type, sample(rng) and mutate(arch, rng) (the xnas::search_space concept); optional members
// unlock more: neighbours(arch) for local search, to_string/parse for journals and printing.
// A builder (`nn::network<float> build(const A&, rng&) const`) turns an architecture into a
// network, so the shipped train_evaluator can train and score it.
//
// Here: MLPs for Fashion-MNIST with one or two hidden layers of chosen widths and an activation,
// searched by local search; the best one is then retrained and measured on the test set.
//
//   custom_space [--trials N] [--limit N] [--epochs E] [--data DIR]

#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/data/mnist.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/data/split.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/flatten.hpp>
#include <xnas/run/search.hpp>
#include <xnas/strategy/local_search.hpp>
#include <xnas/train/trainer.hpp>

using namespace xnas;

/// One MLP: hidden widths (width2 = 0: a single hidden layer) and the activation after each.
struct mlp {
    std::size_t width1 = 64, width2 = 0;
    std::string act = "relu";
    bool operator==(const mlp&) const = default;
};

/// Widths from a ladder, activations from a list: 4 x 5 x 3 = 60 architectures.
struct mlp_space {
    using architecture = mlp;
    std::vector<std::size_t> widths{32, 64, 128, 256};
    std::vector<std::string> acts{"relu", "tanh", "gelu"};

    mlp sample(rng& g) const {
        return {widths[g.below(widths.size())],
                g.bernoulli(0.2) ? 0 : widths[g.below(widths.size())], acts[g.below(acts.size())]};
    }
    /// A random neighbour: one field changed.
    mlp mutate(const mlp& a, rng& g) const {
        const auto n = neighbours(a);
        return n[g.below(n.size())];
    }
    /// Every architecture that differs from `a` in exactly one field.
    std::vector<mlp> neighbours(const mlp& a) const {
        std::vector<mlp> out;
        for (auto w : widths) {
            if (w != a.width1)
                out.push_back({w, a.width2, a.act});
            if (w != a.width2)
                out.push_back({a.width1, w, a.act});
        }
        if (a.width2 != 0)
            out.push_back({a.width1, 0, a.act});
        for (const auto& f : acts)
            if (f != a.act)
                out.push_back({a.width1, a.width2, f});
        return out;
    }
    /// "128-64-relu", or "128-relu" with one hidden layer.
    std::string to_string(const mlp& a) const {
        return std::to_string(a.width1) + "-" + (a.width2 ? std::to_string(a.width2) + "-" : "") +
               a.act;
    }
    mlp parse(const std::string& text) const {
        std::vector<std::string> parts;
        std::istringstream in(text);
        for (std::string p; std::getline(in, p, '-');)
            parts.push_back(p);
        if (parts.size() < 2 || parts.size() > 3)
            throw parse_error("mlp_space::parse: '" + text + "' is not WIDTH[-WIDTH]-ACTIVATION");
        return {std::stoul(parts[0]), parts.size() == 3 ? std::stoul(parts[1]) : 0, parts.back()};
    }
};

static_assert(search_space<mlp_space> && neighbourhood_space<mlp_space> &&
              serializable_space<mlp_space>);

/// Builds the network of an mlp for 28x28 grey images and 10 classes.
struct mlp_builder {
    nn::network<float> build(const mlp& a, rng&) const {
        nn::network<float> net({1, 28, 28});
        net.add(nn::flatten<float>());
        std::size_t in = 784;
        for (std::size_t w : {a.width1, a.width2}) {
            if (w == 0)
                continue;
            net.add(nn::dense<float>(in, w));
            if (a.act == "relu")
                net.add(nn::relu<float>());
            else if (a.act == "tanh")
                net.add(nn::tanh<float>());
            else
                net.add(nn::gelu<float>());
            in = w;
        }
        net.add(nn::dense<float>(in, 10));
        return net;
    }
};

static_assert(builder<mlp_builder, mlp>);

int main(int argc, char** argv) try {
    std::map<std::string, std::string> opt{{"--trials", "15"},
                                           {"--limit", "5000"},
                                           {"--epochs", "2"},
                                           {"--data", "/usr/share/datasets/fashion-mnist"}};
    for (int i = 1; i < argc; i += 2) {
        if (!opt.count(argv[i]) || i + 1 >= argc)
            throw std::invalid_argument(std::string("bad option '") + argv[i] +
                                        "'; usage: custom_space [--trials N] [--limit N] "
                                        "[--epochs E] [--data DIR]");
        opt[argv[i]] = argv[i + 1];
    }

    // Search data: the first --limit training images, 20% held out. The test set waits.
    auto fm = data::load_fashion_mnist<float>(opt["--data"]);
    rng g(1);
    auto [train, val] = data::split_dataset(fm.train.first(std::stoul(opt["--limit"])), 0.2, g);
    const auto stats = data::standardize(train);
    data::normalize(val, stats);
    data::normalize(fm.test, stats);

    const mlp_space space;
    const train_evaluator_options eval_options{.epochs = std::stoul(opt["--epochs"]),
                                               .recipe = {.lr = 0.01, .batch_size = 64}};
    train_evaluator<mlp, mlp_builder> evaluator(
        mlp_builder{}, std::make_shared<const data::dataset<float>>(train),
        std::make_shared<const data::dataset<float>>(val), eval_options);
    local_search<mlp_space> climber({.initial_samples = 4, .objective = {"val_accuracy"}});

    struct progress {
        const mlp_space& space;
        void on_result(const scored<mlp>& r) const {
            std::printf("trial %2llu %-16s val_accuracy %.4f  params %6.0f  %.1f s\n",
                        static_cast<unsigned long long>(r.t.id),
                        space.to_string(r.t.architecture).c_str(), r.e.value("val_accuracy"),
                        r.e.value("params"), r.e.cost);
        }
    };
    const auto study = search(space, climber, evaluator,
                              {.objectives = {{"val_accuracy", direction::maximize}},
                               .max_trials = std::stoul(opt["--trials"]),
                               .seed = 1},
                              progress{space});
    const auto& best = study.best();
    std::printf("best of %zu trials: %s, val_accuracy %.4f\n", study.history.size(),
                space.to_string(best.t.architecture).c_str(), best.e.value("val_accuracy"));

    // The final report: retrain the best architecture the same way, measure it on the test set.
    nn::network<float> net = mlp_builder{}.build(best.t.architecture, g);
    nn::init::apply(net, eval_options.init, g);
    train_network(net, train, eval_options.recipe, eval_options.epochs, g);
    const nn::softmax_cross_entropy<float> loss;
    std::printf("retrained %s: val_accuracy %.4f, test accuracy %.4f (%zu test images)\n",
                space.to_string(best.t.architecture).c_str(),
                train::evaluate(net, loss, val).accuracy,
                train::evaluate(net, loss, fm.test).accuracy, fm.test.size());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "custom_space: %s\n", e.what());
    return 1;
}
