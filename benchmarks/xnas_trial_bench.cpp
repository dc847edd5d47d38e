// xnas-trial-bench: the cost of single search trials, and the architectures to time them on.
// Evaluates architectures of xnas-search's spaces exactly as a search's trial does (build,
// initialise, train, validate, time inference), one JSON line per architecture;
// benchmarks/compare_trials.py trains the same networks in PyTorch in the same run.
//
//   xnas-trial-bench --sample N --space chain|cell|rnn --seed S
//       N distinct architectures drawn from the space as xnas-search samples it (within
//       --max-params and --max-mflops), one per line;
//   xnas-trial-bench --describe --space S [--weights-dir DIR] [ARCH...]
//       each architecture's parameters and forward FLOPs per sample, nothing trained; with
//       --weights-dir, also its network with random weights (DIR/K.xnas, K counting from 0), the
//       logits they give a fixed probe input, and the logits after three training steps on it,
//       so another system can load the weights into its own network and check that it computes
//       and trains the same function;
//   xnas-trial-bench --space S --data DIR --epochs E --train-subset K --seed S [--threads T]
//                    [--split-out FILE] [ARCH...]
//       trains each architecture as a trial;
//   xnas-trial-bench --space S --retrain-threads T [--epochs E --train-subset K] [ARCH...]
//       retrains each architecture as xnas-search retrains its winner (experiment::retrain,
//       data-parallel), on 1 thread and on T, alternating which goes first, and prints each
//       run's images per second and T threads' speedup over one; the last line summarises the
//       speedups (geometric mean, minimum, the architecture of the minimum).
// Without ARCH arguments the architectures are read from standard input, one per line, and each
// answer is written as soon as it is ready, so a driver can interleave this process's trials
// with another system's. An architecture given again reuses its first trial id, so it is
// initialised and shuffled the same way every time. A failed trial (diverged, over budget)
// answers with its status and message.
//
// The split is xnas-search's for the same seed (10% stratified validation, then the first K
// images of the training split, normalised by their own mean and deviation); --split-out writes
// it as xnas-search's split.json does, with that mean and deviation added, so the PyTorch side
// trains on the same values.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/json.hpp>
#include <xnas/data/mnist.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/data/split.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/retrain.hpp>
#include <xnas/experiment/spaces.hpp>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/serialize.hpp>

using namespace xnas;

namespace {

struct config {
    std::string space = "chain";
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::string split_out;
    std::size_t epochs = 2;
    std::size_t train_subset = 5000; // xnas-search's default trial, as the epochs
    std::uint64_t seed = 0;
    int threads = 1;
    std::size_t max_params = 100000;
    double max_mflops = 25;
    std::size_t sample = 0;
    std::size_t retrain_threads = 0;
    bool describe = false;
    std::string weights_dir;
    std::vector<std::string> archs;
};

std::vector<std::string> arch_lines(const config& c) {
    if (!c.archs.empty())
        return c.archs;
    std::vector<std::string> out;
    for (std::string line; std::getline(std::cin, line);)
        if (line.find_first_not_of(" \t\r") != std::string::npos)
            out.push_back(line);
    return out;
}

template <class Space>
int sample(const Space& space, const config& c) {
    rng g(c.seed);
    std::set<std::string> seen;
    // Distinct draws: a repeated one would be timed twice under one name. The rnn space within
    // the default budgets has a few hundred architectures, so a large N can exhaust it.
    for (std::size_t draws = 0; seen.size() < c.sample; ++draws) {
        if (draws == 1000 * c.sample) {
            std::cerr << "xnas-trial-bench: --sample " << c.sample << ": only " << seen.size()
                      << " distinct architectures of the " << c.space << " space in " << draws
                      << " draws; ask for fewer\n";
            return 1;
        }
        const std::string text = space.to_string(space.sample(g));
        if (seen.insert(text).second)
            std::cout << text << '\n';
    }
    std::cout.flush();
    return 0;
}

/// Weights as a trial initialises them, and batch norms given random statistics and affine
/// parameters: at their initial 0, 1, 1, 0 a batch norm in eval mode is nearly the identity, and a
/// probe would not notice it moved to the other side of an activation.
void randomise(nn::network<float>& net, rng& g) {
    for (std::size_t id = 1; id < net.size(); ++id) {
        auto& layer = net.layer(id);
        nn::init::apply(layer, nn::init::scheme::pytorch_default, g);
        if (layer.spec().type == "batch_norm")
            for (const auto& p : layer.parameters()) {
                const bool positive = p.name == "weight" || p.name == "running_var";
                nn::init::uniform(*p.value, g, positive ? 0.5 : -0.5, positive ? 1.5 : 0.5);
            }
    }
}

/// Three fixed samples, x[n][i] = sin(0.37 i + 1.3 n) over the sample's values, labelled 0, 1, 2.
data::dataset<float> probe_set(const nn::shape& in) {
    data::dataset<float> ds;
    ds.x = nn::array<float>::from_shape(nn::with_batch(3, in));
    const std::size_t per_sample = nn::volume(in);
    for (std::size_t k = 0; k < ds.x.size(); ++k)
        ds.x.data()[k] = static_cast<float>(std::sin(0.37 * static_cast<double>(k % per_sample) +
                                                     1.3 * static_cast<double>(k / per_sample)));
    ds.labels = {0, 1, 2};
    ds.num_classes = 10;
    return ds;
}

/// The probe's logits in eval mode.
std::vector<double> probe(nn::network<float>& net) {
    const nn::array<float>& y = net.forward(probe_set(net.input_shape()).x, nn::mode::eval);
    return {y.begin(), y.end()};
}

/// The probe's logits after three steps of the architecture's training recipe on the probe's
/// samples as one batch (train mode, unshuffled): another system that takes the same three steps
/// from the same weights checks its gradients, batch norm statistics and optimizer against
/// xnas's. Null when the steps diverge.
template <class Builder, class A>
json::value probe_after_steps(nn::network<float>& net, const Builder& builder, const A& a) {
    training_recipe r{};
    if constexpr (requires { builder.recipe(a, r); })
        r = builder.recipe(a, r);
    try {
        train_network(net, probe_set(net.input_shape()), r,
                      train::fit_options{.epochs = 3, .shuffle = false});
    } catch (const numerical_error&) {
        return {};
    }
    return probe(net);
}

template <class Space, class Builder>
int describe(const Space& space, const Builder& builder, const config& c) {
    if (!c.weights_dir.empty())
        std::filesystem::create_directories(c.weights_dir);
    std::size_t k = 0;
    for (const std::string& text : arch_lines(c)) {
        rng g(c.seed + k);
        const auto a = space.parse(text);
        nn::network<float> net = builder.build(a, g);
        auto row = json::value::object(
            {{"arch", text}, {"params", net.parameter_count()}, {"flops", net.flops()}});
        if (!c.weights_dir.empty()) {
            randomise(net, g);
            const auto path = std::filesystem::path(c.weights_dir) / (std::to_string(k) + ".xnas");
            nn::save(net, path);
            row["weights"] = path.string();
            row["probe_logits"] = probe(net);
            row["probe_logits_after_steps"] = probe_after_steps(net, builder, a);
        }
        std::cout << row.dump() << std::endl;
        ++k;
    }
    return 0;
}

/// Images per second of the winner's retrain (experiment::retrain, as xnas-search runs it) of each
/// architecture on 1 thread and on c.retrain_threads, alternating which goes first so that both
/// see the same load; one JSON line per architecture and a summary line of the speedups.
template <class Space, class Builder, class Recipe>
int retrain_speedups(const Space& space, const Builder& builder, const data::dataset<float>& images,
                     const data::normalization& stats, const Recipe& recipe, const config& c) {
    experiment::options o;
    o.seed = c.seed;
    o.final_epochs = c.epochs;
    const std::size_t threads[2] = {1, c.retrain_threads};
    std::ostringstream quiet;
    double log_sum = 0, lowest = 0;
    std::string lowest_arch;
    std::size_t k = 0;
    for (const std::string& text : arch_lines(c)) {
        const auto a = space.parse(text);
        double rate[2] = {0, 0};
        for (int i = 0; i < 2; ++i) {
            const int which = (k % 2) ? 1 - i : i;
            const auto start = std::chrono::steady_clock::now();
            (void)experiment::retrain(o, builder, a, recipe(a), images, stats, c.space != "rnn",
                                      threads[which], quiet);
            const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
            rate[which] = static_cast<double>(images.size() * c.epochs) / took.count();
        }
        const double speedup = rate[1] / rate[0];
        std::cout << json::value::object({{"arch", text},
                                          {"images_per_second_1", rate[0]},
                                          {"images_per_second_threads", rate[1]},
                                          {"threads", c.retrain_threads},
                                          {"speedup", speedup}})
                         .dump()
                  << std::endl;
        log_sum += std::log(speedup);
        if (k == 0 || speedup < lowest) {
            lowest = speedup;
            lowest_arch = text;
        }
        ++k;
    }
    if (k)
        std::cout << json::value::object({{"summary", "retrain speedup"},
                                          {"threads", c.retrain_threads},
                                          {"architectures", k},
                                          {"geometric_mean", std::exp(log_sum / double(k))},
                                          {"minimum", lowest},
                                          {"minimum_arch", lowest_arch}})
                         .dump()
                  << std::endl;
    return 0;
}

template <class Space, class Builder>
int train(const Space& space, const Builder& builder, const config& c) {
    auto tt = data::load_fashion_mnist<float>(c.data);
    rng g(c.seed ^ 0x5EED5EEDULL); // as xnas-search's prepare()
    const auto split = data::stratified_split(tt.train.labels, 0.1, g);
    auto train = tt.train.subset(split.train);
    auto validation = tt.train.subset(split.validation);
    if (c.train_subset && c.train_subset < train.size())
        train = train.first(c.train_subset);
    const auto stats = data::compute_normalization(train, data::norm_scope::global);
    for (auto* ds : {&train, &validation}) {
        data::normalize(*ds, stats);
        if (c.space == "rnn") // 28 rows of 28 features, as xnas-search's rnn space reads them
            ds->x.reshape({ds->size(), 28, 28});
    }
    if (!c.split_out.empty()) {
        std::ofstream out(c.split_out);
        out << json::value::object({{"train", split.train},
                                    {"val", split.validation},
                                    {"mean", stats.mean[0]},
                                    {"stddev", stats.stddev[0]}})
                   .dump();
        if (!out)
            throw file_error("xnas-trial-bench: cannot write --split-out " + c.split_out);
    }

    nn::set_blas_threads(c.threads); // validation, as xnas-search --threads gives each trial
    using A = typename Space::architecture;
    const auto train_images = std::make_shared<const data::dataset<float>>(std::move(train));
    train_evaluator<A, Builder> evaluator(
        builder, train_images, std::make_shared<data::dataset<float>>(std::move(validation)),
        {.epochs = c.epochs,
         .fidelity = fidelity_axis::data,
         .max_params = c.max_params,
         .max_flops = static_cast<std::size_t>(c.max_mflops * 1e6),
         .seed = c.seed,
         .threads = static_cast<std::size_t>(c.threads)});
    if (c.retrain_threads)
        return retrain_speedups(
            space, builder, *train_images, stats, [&](const A& a) { return evaluator.recipe(a); },
            c);
    std::map<std::string, std::uint64_t> ids;
    auto run = [&](const std::string& text) {
        const std::uint64_t id = ids.try_emplace(text, ids.size()).first->second;
        const evaluation e =
            evaluator.evaluate(trial<A>{.id = id, .architecture = space.parse(text)});
        auto row = json::value::object({{"system", "xnas"},
                                        {"arch", text},
                                        {"trial", id},
                                        {"status", to_string(e.state)},
                                        {"seconds", e.cost}});
        // A failed trial (diverged, over budget) is an answer too: a search pays for it.
        if (e.ok()) {
            row["train_seconds"] = e.metrics.at("train_seconds");
            row["val_accuracy"] = e.objectives.at("val_accuracy");
            row["params"] = e.objectives.at("params");
            row["flops"] = e.objectives.at("flops");
        } else {
            row["message"] = e.message;
        }
        std::cout << row.dump() << std::endl;
    };
    if (!c.archs.empty())
        for (const auto& text : c.archs)
            run(text);
    else
        for (std::string line; std::getline(std::cin, line);)
            if (line.find_first_not_of(" \t\r") != std::string::npos)
                run(line);
    return 0;
}

template <class Space, class Builder>
int dispatch(const Space& space, const Builder& builder, const config& c) {
    if (c.sample)
        return sample(space, c);
    if (c.describe)
        return describe(space, builder, c);
    return train(space, builder, c);
}

} // namespace

int main(int argc, char** argv) {
    config c;
    CLI::App app{"xnas-trial-bench: draws architectures of xnas-search's spaces, counts their "
                 "networks, or trains them as search trials (one JSON line each)"};
    app.add_option("--space", c.space, "chain (image space with training parameters), cell, rnn")
        ->check(CLI::IsMember({"chain", "cell", "rnn"}))
        ->capture_default_str();
    app.add_option("--retrain-threads", c.retrain_threads,
                   "retrain each architecture as xnas-search retrains its winner, on 1 thread and "
                   "on this many, and print the speedup (0: train as search trials)");
    app.add_option("--sample", c.sample,
                   "print this many distinct architectures drawn from the space (seeded by "
                   "--seed) and exit");
    app.add_flag("--describe", c.describe,
                 "print each architecture's parameters and FLOPs per sample without training");
    app.add_option("--weights-dir", c.weights_dir,
                   "with --describe: save each network with random weights here, and print the "
                   "logits they give a fixed probe input");
    app.add_option("--data", c.data, "directory with the Fashion-MNIST IDX files")
        ->capture_default_str();
    app.add_option("--epochs", c.epochs, "epochs per trial")->capture_default_str();
    app.add_option("--train-subset", c.train_subset,
                   "train on the first K images of the training split (0: all)")
        ->capture_default_str();
    app.add_option("--seed", c.seed, "seed of the split, the initialisations and --sample")
        ->capture_default_str();
    app.add_option("--threads", c.threads,
                   "threads per trial (batches data-parallel), as xnas-search --threads")
        ->capture_default_str();
    app.add_option("--max-params", c.max_params,
                   "parameter budget of the drawn and trained networks (0: none)")
        ->capture_default_str();
    app.add_option("--max-mflops", c.max_mflops,
                   "budget of forward MFLOPs per sample of the drawn and trained networks (0: "
                   "none)")
        ->capture_default_str();
    app.add_option("--split-out", c.split_out,
                   "write the split's indices and normalisation as JSON to this file");
    app.add_option("archs", c.archs, "architecture strings (default: one per line on stdin)");
    // Each number is checked on the text (CLI11 2.1 reads "-3" for an unsigned option as
    // 2^64 - 3, and NaN passes a comparison), with xnas-search's ranges where it shares one.
    namespace ex = experiment;
    const std::pair<const char*, ex::value_range> ranges[] = {
        {"--retrain-threads", ex::count_from(0)}, // 0: train as search trials
        {"--sample", ex::count_from(1)},
        {"--epochs", ex::option_range("--epochs")},
        {"--train-subset", ex::option_range("--train-subset")},
        {"--seed", ex::option_range("--seed")},
        {"--threads", ex::option_range("--threads")},
        {"--max-params", ex::option_range("--max-params")},
        {"--max-mflops", ex::option_range("--max-mflops")}};
    for (const auto& [name, range] : ranges)
        app.get_option(name)->check(
            CLI::Validator([r = range](std::string& text) { return ex::text_error(text, r); },
                           ex::describe(range)));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11's own codes (105 for a value out of range) would tell scripts nothing more than
        // the usage error's 2; --help stays 0.
        return app.exit(e) == 0 ? 0 : 2;
    }
    if (c.sample && (c.describe || !c.archs.empty())) {
        std::cerr << "xnas-trial-bench: --sample draws architectures; it takes neither "
                     "--describe nor architecture arguments\n";
        return 2;
    }
    // The spaces as xnas-search builds them, within the same budgets.
    experiment::options o;
    o.space = c.space;
    o.max_params = c.max_params;
    o.max_mflops = c.max_mflops;
    o.seed = c.seed;
    try {
        return experiment::visit_space(o, [&](const auto& space, const auto& builder, bool) {
            return dispatch(space, builder, c);
        });
    } catch (const std::exception& e) {
        std::cerr << "xnas-trial-bench: " << e.what() << "\n";
        return 1;
    }
}
