// How well shared weights rank architectures: a supernet of the space is trained with uniform
// single paths (SPOS), then K architectures drawn from the space are scored twice on the
// validation split, once with the weights they inherit (shared_weight_evaluator: extracted,
// batch norm recalibrated) and once after training each alone from scratch; the figures are
// the Kendall tau and Spearman rho of the ranking by shared-weight validation loss (what
// one-shot searches rank by) against the stand-alone accuracies, and the same for the
// shared-weight accuracies, the temperature-scaled shared-weight loss, the angle each path's
// weights turned through in training and, as the baseline any ranking has to beat, the
// parameter count. With --standalone-repeat each architecture is
// trained alone a second time from other seeds: the tau of the two stand-alone runs is the
// most any ranking can agree with one of them, and the taus against their mean rank by what
// the architecture is worth rather than by one training's luck (NAS-Bench-201's accuracies
// are such means, over three seeds). --sampling fair trains the cell supernet with strictly
// fair groups of paths (train_fair_paths_epoch) instead of uniform single paths, and
// --sampling weighted with paths whose ops that hold weights are drawn --weighted-share times
// as often as the others (cell_path_sampler, as the spos search trains the cell supernet).
// --few-shot-epochs N then splits the trained cell supernet by the op of one edge (the edge of
// least gradient agreement, or --few-shot-edge E) into a sub-supernet per op, trains each for N
// epochs (lr --few-shot-lr, cosine-annealed) and ranks the same architectures with them too
// (few_shot_kendall_tau beside the parent's kendall_tau).
//
//   one_shot_ranking --space cell|chain [--archs 30] [--supernet-epochs 10]
//                    [--standalone-epochs 3] [--train-subset 10000] [--seed 0]
//                    [--data DIR] [--recalibration-batches 8] [--standalone-from EARLIER.json]
//                    [--standalone-repeat 0|1] [--sampling uniform|fair|weighted]
//                    [--weighted-share 4]
//                    [--few-shot-epochs 0] [--few-shot-edge auto|E] [--few-shot-lr 0.01]
//
// The chain space is the main job's: chain_space::image() within its default budgets (100k
// parameters, 25 MFLOPs). Both trainings use the supernet's recipe (SGD, momentum 0.9, weight
// decay 3e-4, lr 0.05 cosine-annealed, batches of 64) on the same first --train-subset samples
// of the training split. One thread. Prints a line per architecture and a JSON summary.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <vector>
#include <xnas/core/json.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/evaluate/cell_builder.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/experiment/data.hpp>
#include <xnas/experiment/spaces.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/oneshot/cell_supernet.hpp>
#include <xnas/oneshot/chain_supernet.hpp>
#include <xnas/oneshot/few_shot.hpp>
#include <xnas/oneshot/shared_weight_evaluator.hpp>
#include <xnas/oneshot/training.hpp>
#include <xnas/report/rank_correlation.hpp>
#include <xnas/train/metrics.hpp>
#include <xnas/train/trainer.hpp>

namespace ex = xnas::experiment;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The validation loss of `net` at its best temperature (train::temperature_scaled_nll).
double calibrated_loss(xnas::nn::network<float> net, const xnas::data::dataset<float>& validation) {
    std::vector<float> logits;
    auto keep = [&](const xnas::nn::array<float>& out, std::span<const std::int32_t>) {
        logits.insert(logits.end(), out.data(), out.data() + out.size());
    };
    xnas::train::evaluate(net, xnas::train::default_loss<float>{}, validation, 128, keep);
    return xnas::train::temperature_scaled_nll(logits, validation.labels, validation.num_classes);
}

// Stand-alone accuracies by architecture from an earlier run's JSON line (--standalone-from),
// under "standalone" and, when it was repeated, "standalone_repeat": they do not depend on the
// supernet, so variants of its training can be ranked against them without training the
// architectures again.
struct known_accuracies {
    std::map<std::string, double> first, repeat;
};

known_accuracies standalone_from(const std::string& path) {
    known_accuracies known;
    if (path.empty())
        return known;
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line))
        throw std::runtime_error("--standalone-from " + path + ": cannot read a JSON line");
    const auto earlier = xnas::json::value::parse(line);
    for (const auto& row : earlier.at("rows")) {
        const auto name = row.at("architecture").get<std::string>();
        known.first[name] = row.at("standalone").get<double>();
        if (row.contains("standalone_repeat"))
            known.repeat[name] = row.at("standalone_repeat").get<double>();
    }
    return known;
}

// The validation accuracy of `a` trained alone from scratch with the supernet's recipe `so`
// for `epochs` epochs, initialised from `init_seed` and shuffled by `shuffle_seed`.
template <class Builder, class A>
double standalone_accuracy(const Builder& builder, const A& a, const ex::prepared_data& d,
                           const xnas::supernet_training_options& so, std::size_t epochs,
                           std::uint64_t init_seed, std::uint64_t shuffle_seed) {
    xnas::rng g(init_seed);
    auto net = builder.build(a, g);
    xnas::nn::init::apply(net, xnas::nn::init::scheme::pytorch_default, g);
    xnas::nn::sgd<float> opt(
        {.lr = so.lr, .momentum = so.momentum, .weight_decay = so.weight_decay});
    xnas::train::fit(net, xnas::train::default_loss<float>{}, opt, *d.train,
                     {.epochs = epochs,
                      .batch_size = so.batch_size,
                      .seed = shuffle_seed,
                      .schedule = xnas::nn::cosine_schedule{.base_lr = so.lr, .period = epochs},
                      .clip_grad_norm = so.clip_grad_norm});
    return xnas::train::evaluate(net, xnas::train::default_loss<float>{}, *d.validation).accuracy;
}

// The angle between a path's weights after supernet training and at initialisation (Hu et al.
// 2020, arXiv:2004.13431): a path whose weights moved further is ranked higher. Running
// batch-norm statistics are not weights.
double weight_angle(xnas::nn::network<float> trained, xnas::nn::network<float> initial) {
    const auto a = trained.parameters(), b = initial.parameters();
    double dot = 0, aa = 0, bb = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (xnas::nn::is_running_state(a[k].name))
            continue;
        for (std::size_t i = 0; i < a[k].value->size(); ++i) {
            const double x = a[k].value->data()[i], y = b[k].value->data()[i];
            dot += x * y;
            aa += x * x;
            bb += y * y;
        }
    }
    return std::acos(std::clamp(dot / std::sqrt(aa * bb), -1.0, 1.0));
}

// Seeds of the repeated stand-alone training are this far from the first's.
constexpr std::uint64_t repeat_seed_offset = 1000;

struct few_shot_settings {
    std::size_t epochs = 0; // 0: no split
    std::size_t edge = 0;
    bool automatic_edge = true;
    double lr = 0.01;
};

// Splits the trained cell supernet `s` as `f` says, trains the sub-supernets and returns their
// shared-weight losses of `drawn` (negated, so larger ranks higher) and what was done.
std::pair<std::vector<double>, xnas::json::value>
few_shot_losses(xnas::cell_supernet& s, const std::vector<xnas::cell_space::architecture>& drawn,
                const ex::prepared_data& d, const few_shot_settings& f, std::uint64_t seed,
                const xnas::shared_weight_evaluator_options& scoring) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<double> agreement =
        xnas::edge_gradient_agreement(s, *d.train, {.seed = seed});
    const std::size_t edge = f.automatic_edge ? xnas::least_agreeing_edge(agreement) : f.edge;
    const double split_seconds = seconds_since(start);
    xnas::few_shot_supernet few(s, xnas::cell_edge_split{edge, s.space().ops().size()});
    const xnas::supernet_training_options so{.epochs = f.epochs, .lr = f.lr, .seed = seed + 7};
    auto uniform = [&](xnas::rng& g) { return s.space().sample(g); };
    for (std::size_t e = 0; e < so.epochs; ++e) {
        const auto r = xnas::train_few_shot_epoch(few, uniform, *d.train, so, e);
        double loss = 0;
        for (const auto& c : r)
            loss += c.loss / static_cast<double>(r.size());
        std::fprintf(stderr, "sub-supernets' epoch %zu/%zu: mean loss %.4f, %.0f s\n", e + 1,
                     so.epochs, loss, seconds_since(start));
    }
    const double training_seconds = seconds_since(start) - split_seconds;
    xnas::shared_weight_evaluator<decltype(few)> shared(few, *d.train, *d.validation, scoring);
    std::vector<double> losses;
    for (std::size_t k = 0; k < drawn.size(); ++k) {
        const auto e = shared.evaluate({.id = k, .architecture = drawn[k]});
        if (!e.ok())
            throw std::runtime_error("few-shot score failed: " + e.message);
        losses.push_back(-e.value("val_loss"));
    }
    auto agreements = xnas::json::value::array();
    for (double a : agreement)
        agreements.push_back(a);
    return {losses, xnas::json::value::object({{"edge", edge},
                                               {"edge_agreement", agreements},
                                               {"epochs", f.epochs},
                                               {"lr", f.lr},
                                               {"split_seconds", split_seconds},
                                               {"training_seconds", training_seconds}})};
}

template <class Space, class Builder, class Supernet>
xnas::json::value
rank(const Space& space, const Builder& builder, Supernet& s, const ex::prepared_data& d,
     std::size_t archs, std::size_t supernet_epochs, std::size_t standalone_epochs,
     std::uint64_t seed, const known_accuracies& known,
     const xnas::shared_weight_evaluator_options& scoring, bool repeat, const std::string& sampling,
     double weighted_share, const few_shot_settings& few) {
    const auto start = std::chrono::steady_clock::now();
    const xnas::supernet_training_options so{.epochs = supernet_epochs, .seed = seed};
    Supernet initial = s;
    auto uniform = [&space](xnas::rng& g) { return space.sample(g); };
    for (std::size_t e = 0; e < so.epochs; ++e) {
        xnas::train::epoch_result r;
        if constexpr (std::is_same_v<Supernet, xnas::cell_supernet>) {
            if (sampling == "fair")
                r = xnas::train_fair_paths_epoch(s, *d.train, so, e);
            else if (sampling == "weighted")
                r = xnas::train_single_path_epoch(s, xnas::cell_path_sampler(s, weighted_share),
                                                  *d.train, so, e);
        }
        if (sampling == "uniform")
            r = xnas::train_single_path_epoch(s, uniform, *d.train, so, e);
        std::fprintf(stderr, "supernet epoch %zu/%zu: loss %.4f, accuracy %.4f, %.0f s\n", e + 1,
                     so.epochs, r.loss, r.accuracy, seconds_since(start));
    }
    const double supernet_seconds = seconds_since(start);

    xnas::rng draw(seed + 1);
    std::vector<typename Space::architecture> drawn;
    std::set<std::string> seen;
    while (drawn.size() < archs) {
        auto a = space.sample(draw);
        if (seen.insert(space.to_string(a)).second)
            drawn.push_back(std::move(a));
    }
    xnas::shared_weight_evaluator<Supernet> shared(s, *d.train, *d.validation, scoring);
    std::vector<double> shared_scores, shared_losses, calibrated_losses, standalone_scores;
    std::vector<double> repeat_scores, mean_scores, params, angles;
    auto rows = xnas::json::value::array();
    double shared_seconds = 0, standalone_seconds = 0;
    std::size_t standalone_runs = 0;
    for (std::size_t k = 0; k < drawn.size(); ++k) {
        auto t0 = std::chrono::steady_clock::now();
        const auto e = shared.evaluate({.id = k, .architecture = drawn[k]});
        if (!e.ok())
            throw std::runtime_error("shared-weight score of " + space.to_string(drawn[k]) +
                                     " failed: " + e.message);
        shared_seconds += seconds_since(t0);

        const std::string name = space.to_string(drawn[k]);
        auto trained = [&](const std::map<std::string, double>& earlier, std::uint64_t offset) {
            if (const auto was = earlier.find(name); was != earlier.end())
                return was->second;
            const auto t = std::chrono::steady_clock::now();
            const double accuracy = standalone_accuracy(builder, drawn[k], d, so, standalone_epochs,
                                                        seed + 100 + k + offset, seed + k + offset);
            standalone_seconds += seconds_since(t);
            ++standalone_runs;
            return accuracy;
        };
        const double alone = trained(known.first, 0);
        shared_scores.push_back(e.objectives.at("val_accuracy"));
        shared_losses.push_back(-e.value("val_loss"));
        calibrated_losses.push_back(-calibrated_loss(shared.network(drawn[k]), *d.validation));
        standalone_scores.push_back(alone);
        angles.push_back(weight_angle(s.extract(drawn[k]), initial.extract(drawn[k])));
        xnas::rng unused(0);
        // The parameter count ranks by size alone; a shared-weight ranking earns its cost above it.
        params.push_back(static_cast<double>(builder.build(drawn[k], unused).parameter_count()));
        auto row = xnas::json::value::object({{"architecture", name},
                                              {"params", params.back()},
                                              {"shared", shared_scores.back()},
                                              {"shared_loss", -shared_losses.back()},
                                              {"shared_loss_calibrated", -calibrated_losses.back()},
                                              {"angle", angles.back()},
                                              {"standalone", alone}});
        if (repeat) {
            repeat_scores.push_back(trained(known.repeat, repeat_seed_offset));
            mean_scores.push_back((alone + repeat_scores.back()) / 2);
            row["standalone_repeat"] = repeat_scores.back();
        }
        std::fprintf(stderr, "%2zu  shared %.4f  standalone %.4f%s  %s\n", k + 1,
                     shared_scores.back(), alone,
                     repeat ? (" and " + std::to_string(repeat_scores.back())).c_str() : "",
                     name.c_str());
        rows.push_back(std::move(row));
    }
    auto result = xnas::json::value::object(
        {{"kendall_tau", xnas::kendall_tau(shared_losses, standalone_scores)},
         {"spearman_rho", xnas::spearman_rho(shared_losses, standalone_scores)},
         {"kendall_tau_by_accuracy", xnas::kendall_tau(shared_scores, standalone_scores)},
         {"spearman_rho_by_accuracy", xnas::spearman_rho(shared_scores, standalone_scores)},
         {"kendall_tau_by_calibrated_loss",
          xnas::kendall_tau(calibrated_losses, standalone_scores)},
         {"spearman_rho_by_calibrated_loss",
          xnas::spearman_rho(calibrated_losses, standalone_scores)},
         {"kendall_tau_by_params", xnas::kendall_tau(params, standalone_scores)},
         {"kendall_tau_by_angle", xnas::kendall_tau(angles, standalone_scores)},
         {"spearman_rho_by_params", xnas::spearman_rho(params, standalone_scores)},
         {"archs", archs},
         {"supernet_epochs", supernet_epochs},
         {"standalone_epochs", standalone_epochs},
         {"train_samples", d.train->size()},
         {"validation_samples", d.validation->size()},
         {"supernet_seconds", supernet_seconds},
         {"shared_seconds_per_arch", shared_seconds / static_cast<double>(archs)},
         {"standalone_seconds_per_run",
          standalone_runs ? standalone_seconds / static_cast<double>(standalone_runs) : 0.0},
         {"rows", rows}});
    if constexpr (std::is_same_v<Supernet, xnas::cell_supernet>) {
        if (few.epochs) {
            auto [losses, info] = few_shot_losses(s, drawn, d, few, seed, scoring);
            auto in_row_order = xnas::json::value::array();
            for (double l : losses)
                in_row_order.push_back(-l);
            info["losses"] = std::move(in_row_order);
            result["few_shot_kendall_tau"] = xnas::kendall_tau(losses, standalone_scores);
            result["few_shot_spearman_rho"] = xnas::spearman_rho(losses, standalone_scores);
            result["few_shot"] = std::move(info);
        }
    }
    if (repeat) {
        result["kendall_tau_standalone_repeat"] =
            xnas::kendall_tau(repeat_scores, standalone_scores);
        result["kendall_tau_against_mean"] = xnas::kendall_tau(shared_losses, mean_scores);
        result["kendall_tau_by_accuracy_against_mean"] =
            xnas::kendall_tau(shared_scores, mean_scores);
        result["kendall_tau_by_params_against_mean"] = xnas::kendall_tau(params, mean_scores);
    }
    return result;
}

} // namespace

int main(int argc, char** argv) try {
    ex::options o;
    o.train_subset = 10000;
    std::size_t archs = 30, supernet_epochs = 10, standalone_epochs = 3;
    std::string earlier;
    xnas::shared_weight_evaluator_options scoring;
    bool repeat = false;
    std::string sampling = "uniform";
    double weighted_share = 4;
    few_shot_settings few;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--space")
            o.space = v;
        else if (k == "--archs")
            archs = std::stoul(v);
        else if (k == "--supernet-epochs")
            supernet_epochs = std::stoul(v);
        else if (k == "--standalone-epochs")
            standalone_epochs = std::stoul(v);
        else if (k == "--train-subset")
            o.train_subset = std::stoul(v);
        else if (k == "--seed")
            o.seed = std::stoull(v);
        else if (k == "--data")
            o.data = v;
        else if (k == "--recalibration-batches")
            scoring.recalibration_batches = std::stoul(v);
        else if (k == "--standalone-from")
            earlier = v;
        else if (k == "--sampling" && (v == "uniform" || v == "fair" || v == "weighted"))
            sampling = v;
        else if (k == "--weighted-share")
            weighted_share = std::stod(v);
        else if (k == "--few-shot-epochs")
            few.epochs = std::stoul(v);
        else if (k == "--few-shot-edge") {
            few.automatic_edge = v == "auto";
            if (!few.automatic_edge)
                few.edge = std::stoul(v);
        } else if (k == "--few-shot-lr")
            few.lr = std::stod(v);
        else if (k == "--standalone-repeat")
            repeat = std::stoul(v) != 0;
        else
            throw std::invalid_argument("unknown option " + k);
    }
    if (sampling != "uniform" && o.space != "cell")
        throw std::invalid_argument("--sampling " + sampling + " needs --space cell");
    if (few.epochs && o.space != "cell")
        throw std::invalid_argument("--few-shot-epochs needs --space cell");
    if (argc % 2 == 0)
        throw std::invalid_argument(std::string("option ") + argv[argc - 1] + " has no value");
    xnas::nn::set_blas_threads(1);
    const ex::prepared_data d = ex::prepare_data(o);
    xnas::json::value result;
    if (o.space == "cell") {
        const auto space = xnas::cell_space::nb201();
        const xnas::cell_builder builder(space, {.input = d.input, .classes = d.outputs});
        xnas::cell_supernet s(space, builder.options(), {}, o.seed);
        result = rank(space, builder, s, d, archs, supernet_epochs, standalone_epochs, o.seed,
                      standalone_from(earlier), scoring, repeat, sampling, weighted_share, few);
    } else if (o.space == "chain") {
        const xnas::chain_builder_options bo{.input = d.input, .classes = d.outputs};
        const auto space = ex::within_budget(xnas::chain_space::image(), bo, o);
        const xnas::chain_builder builder(space, bo);
        xnas::chain_supernet s(space, bo, o.seed);
        result = rank(space, builder, s, d, archs, supernet_epochs, standalone_epochs, o.seed,
                      standalone_from(earlier), scoring, repeat, sampling, weighted_share, few);
    } else {
        throw std::invalid_argument("--space " + o.space + ": expected cell or chain");
    }
    result["space"] = o.space;
    result["seed"] = o.seed;
    result["sampling"] = sampling;
    if (sampling == "weighted")
        result["weighted_share"] = weighted_share;
    std::printf("%s\n", result.dump().c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "one_shot_ranking: %s\n", e.what());
    return 1;
}
