#pragma once
// The main job's one-shot search (--strategy spos | random-ws | enas | darts; --space cell, or
// chain for all but darts): train a weight-sharing supernet of the space for o.supernet_epochs
// epochs, or those that fit in 45 % of o.time_limit (checkpointed after each in o.out, so
// --resume loses at most the epoch in progress), then search it with the shared-weight
// evaluator, every scored candidate journaled as a trial, in what o.minutes (and six tenths of
// o.time_limit) leaves after the training. The main job then goes on as after any search: the
// final selection and the retrain train the best candidates from scratch.
//
//   spos       single paths (uniform on the chain space; on the cell space the ops that
//              hold weights drawn four times as often, cell_path_sampler), then regularized
//              evolution over shared-weight scores (Guo et al. 2020);
//   random-ws  uniform single paths, then random candidates (Li & Talwalkar 2019);
//   enas       paths drawn by an LSTM controller, trained in alternation with it; the
//              candidates are the trained controller's draws (Pham et al. 2018);
//   darts      first-order DARTS; the derived cell first (flagged derived = 1, so the final
//              selection always takes it), then cells drawn from the learned per-edge op
//              distributions (Liu et al. 2019). Cell space only.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/json.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/study.hpp>
#include <xnas/evaluate/cell_builder.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/training_params.hpp>
#include <xnas/experiment/data.hpp>
#include <xnas/experiment/final_selection.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/warm_start.hpp>
#include <xnas/oneshot/cell_supernet.hpp>
#include <xnas/oneshot/chain_supernet.hpp>
#include <xnas/oneshot/checkpoint.hpp>
#include <xnas/oneshot/shared_weight_evaluator.hpp>
#include <xnas/oneshot/training.hpp>
#include <xnas/run/search.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/space/chain_space.hpp>
#include <xnas/space/param_space.hpp>
#include <xnas/space/product_space.hpp>
#include <xnas/strategy/lstm_controller.hpp>
#include <xnas/strategy/random_search.hpp>
#include <xnas/strategy/regularized_evolution.hpp>
#include <xnas/strategy/reinforce.hpp>

namespace xnas::experiment {

/// The supernet checkpoint's file name in o.out.
inline constexpr const char* supernet_checkpoint_file = "supernet.ckpt";

/// How the one-shot methods train a supernet: o.supernet_epochs of SGD (momentum 0.9, weight
/// decay 3e-4, cosine-annealed from 0.05) in batches of 64, seeded o.seed.
inline supernet_training_options supernet_options(const options& o) {
    return {.epochs = o.supernet_epochs, .batch_size = 64, .lr = 0.05, .seed = o.seed};
}

/// What a one-shot search of the cell space ranks candidates by: their validation loss under
/// shared weights. Shared weights put the cells' accuracies within a point or two of each other,
/// where counting right answers on a validation sample is mostly noise; the loss weighs every
/// prediction's confidence and ranks stand-alone accuracy better. The chain space keeps the
/// job's primary objective: its paths without batch norm put out logits of any scale under
/// shared weights, and a few confidently wrong ones then dominate their loss (docs/results.md,
/// "Shared-weight rankings"). The candidates' accuracies are recorded either way.
inline const objective cell_shared_weight_ranking{"val_loss", direction::minimize};

/// The search options of a one-shot search from the main job's `opt`: `ranking` first (what the
/// strategy, study::best and the final selection's candidates go by), then the job's other
/// objectives.
inline search_options one_shot_search_options(search_options opt, const objective& ranking) {
    std::erase_if(opt.objectives, [&](const objective& o) { return o.name == ranking.name; });
    opt.objectives.insert(opt.objectives.begin(), ranking);
    return opt;
}

/// Validation samples a shared-weight score is measured on: the first 2,000 of the validation
/// split. Candidates are scored hundreds of times; 2,000 samples keep a score under a second
/// on the cell space and its standard error near 0.01.
inline constexpr std::size_t shared_weight_validation_samples = 2000;

/// The candidates of DARTS's search phase: each edge's op drawn from the softmax of its logits
/// (the distribution the relaxation learned); warm_start puts the derived cell first.
class logit_sampler {
  public:
    using architecture = cell_space::architecture;
    explicit logit_sampler(std::vector<std::vector<double>> probabilities)
        : p_(std::move(probabilities)) {}
    trial<architecture> ask(const cell_space& space, rng& g) {
        trial<architecture> t;
        t.id = next_id_++;
        t.architecture.ops.resize(space.edges());
        for (std::size_t e = 0; e < space.edges(); ++e) {
            double u = g.uniform(0, 1);
            std::size_t k = 0;
            while (k + 1 < p_[e].size() && u >= p_[e][k])
                u -= p_[e][k++];
            t.architecture.ops[e] = static_cast<std::uint8_t>(k);
        }
        return t;
    }
    void tell(const trial<architecture>&, const evaluation&) {}

  private:
    std::vector<std::vector<double>> p_;
    std::uint64_t next_id_ = 0;
};

/// Per edge, the softmax of s.alpha()'s row.
inline std::vector<std::vector<double>> edge_probabilities(cell_supernet& s) {
    const std::size_t ops = s.space().ops().size();
    const float* a = s.alpha().value->data();
    std::vector<std::vector<double>> p(s.space().edges(), std::vector<double>(ops));
    for (std::size_t e = 0; e < p.size(); ++e) {
        double top = a[e * ops], sum = 0;
        for (std::size_t k = 1; k < ops; ++k)
            top = std::max(top, static_cast<double>(a[e * ops + k]));
        for (std::size_t k = 0; k < ops; ++k)
            sum += p[e][k] = std::exp(a[e * ops + k] - top);
        for (auto& v : p[e])
            v /= sum;
    }
    return p;
}

/// A supernet over the first factor of product architectures (a chain x training
/// parameters): the parameters pick no weights, so every value shares the chain's path.
template <supernet S, class ProductArchitecture>
class first_factor_supernet {
  public:
    using architecture = ProductArchitecture;
    explicit first_factor_supernet(S& s)
        : s_(&s) {}
    void activate(const architecture& a) { s_->activate(a.first); }
    nn::network<float>& network() { return s_->network(); }
    nn::network<float> extract(const architecture& a) { return s_->extract(a.first); }

  private:
    S* s_;
};

/// A strategy over the first factor of a product space asked as one over the product: its
/// architectures get `second` as their second part, and results are told with the first part
/// alone. The one-shot search of the chain space searches the layers, its training parameters
/// pinned to the supernet's recipe.
template <class Strategy, class Product>
class first_factor_strategy {
  public:
    using architecture = typename Product::architecture;
    first_factor_strategy(Strategy& inner, decltype(architecture{}.second) second)
        : inner_(&inner)
        , second_(std::move(second)) {}
    trial<architecture> ask(const Product& space, rng& g) {
        auto t = inner_->ask(space.first(), g);
        return {t.id, {std::move(t.architecture), second_}, t.fidelity, std::move(t.parents)};
    }
    void tell(const trial<architecture>& t, const evaluation& e) {
        inner_->tell({t.id, t.architecture.first, t.fidelity, t.parents}, e);
    }

  private:
    Strategy* inner_;
    decltype(architecture{}.second) second_;
};

/// The share of a whole-run time limit a one-shot supernet trains in. Less than half: the
/// retrain of the winner is the other big cost, planned with headroom (retrain_budget), and the
/// candidates and the final selection take a few minutes besides.
inline constexpr double supernet_share_of_time_limit = 0.45;

/// How many supernet epochs a run under a whole-run time limit (o.time_limit) trains: as many of
/// o.supernet_epochs as fit, at the mean epoch's seconds so far (`trained_seconds` over
/// `epochs_done`), in supernet_share_of_time_limit of the limit after the `data_seconds` spent
/// reading the data, leaving the rest to the candidates, the final selection and the retrain;
/// at least `epochs_done`. o.supernet_epochs without a limit.
inline std::size_t supernet_epochs_within_limit(const options& o, double data_seconds,
                                                double trained_seconds, std::size_t epochs_done) {
    if (o.time_limit <= 0 || epochs_done == 0)
        return o.supernet_epochs;
    const double epoch = trained_seconds / static_cast<double>(epochs_done);
    const double budget = supernet_share_of_time_limit * o.time_limit * 60 - data_seconds;
    const double fit = epoch > 0 ? std::floor(budget / epoch) : double(o.supernet_epochs);
    if (!(fit < static_cast<double>(o.supernet_epochs)))
        return o.supernet_epochs;
    return std::max(epochs_done, static_cast<std::size_t>(std::max(fit, 0.0)));
}

/// Seconds a one-shot search's candidates may take under a whole-run time limit (o.time_limit):
/// what is left of six tenths of the limit after the `data_seconds` spent reading the data and
/// the `trained_seconds` of the supernet's training, which itself takes at most 45 %
/// (supernet_epochs_within_limit). The rest is the final selection's and the retrain's; scored
/// in about a second each, a hundred candidates fit in two minutes of a 20-minute limit.
/// Infinity without a limit; 0 or less when nothing is left.
inline double candidate_seconds_within_limit(const options& o, double data_seconds,
                                             double trained_seconds) {
    if (o.time_limit <= 0)
        return std::numeric_limits<double>::infinity();
    return 0.6 * o.time_limit * 60 - data_seconds - trained_seconds;
}

namespace detail {

/// Hands a callback that reserves time for the final selection (selection_reserve) the seconds
/// one selection evaluation will take; other callbacks ignore it.
template <class Callback>
void set_selection_candidate_seconds(Callback& c, double seconds) {
    if constexpr (requires { c.seconds_per_candidate = seconds; })
        c.seconds_per_candidate = seconds;
}

/// DARTS's evaluator: `inner`'s scores, with the metric derived = 1 on the derived cell, which
/// the final selection then re-evaluates whatever its shared-weight score (a supernet trained
/// on op mixtures scores discrete cells poorly, its own argmax included).
template <class Inner>
struct derived_flagging {
    Inner* inner;
    cell_space::architecture derived;
    evaluation evaluate(const trial<cell_space::architecture>& t) {
        evaluation e = inner->evaluate(t);
        if (e.ok() && t.architecture == derived)
            e.metrics["derived"] = 1;
        return e;
    }
};

/// The one-shot search with supernet `s` over `inner` (the space the supernet and the
/// strategies know), the trials asked over `space` through `wrap` (a strategy over `inner` ->
/// one over `space`) and scored by `shared` (over `space`'s architectures); see one_shot_search.
template <class Space, class Inner, class S, class Shared, class Wrap, class... Callbacks>
study<typename Space::architecture>
one_shot_search(const options& o, const prepared_data& d, const Space& space, const Inner& inner,
                S& s, Shared& shared, Wrap&& wrap, const search_options& opt_in, std::ostream& log,
                Callbacks&... callbacks) {
    const std::string& method = o.strategy;
    if (!one_shot(method))
        throw std::invalid_argument("xnas::experiment::one_shot_search: --strategy " + method +
                                    " is not a one-shot method (spos, random-ws, enas, darts)");
    supernet_training_options so = supernet_options(o);
    // ENAS's controller is checkpointed with the shared weights: its weights after the
    // supernet's, its baseline in the header. Like the supernet's, its optimizer restarts and its
    // generator is drawn afresh every epoch, so an epoch depends only on what the checkpoint
    // holds.
    const bool enas = method == "enas";
    reinforce<Inner, lstm_policy> controller({.objective = primary_objective(o)},
                                             lstm_policy({.learning_rate = 0.01}));
    const controller_training_options co{.steps = 50, .batch_size = 128};
    std::vector<nn::parameter<float>> tensors = s.network().parameters();
    constexpr bool differentiable = std::is_same_v<S, cell_supernet>;
    if constexpr (differentiable)
        tensors.push_back(s.alpha());
    if (enas) {
        rng init(o.seed ^ 0xC0FFEEULL);
        controller.prepare(inner, init);
        for (auto& t : controller.policy().parameters())
            tensors.push_back({"controller." + t.name, t.value, t.gradient});
    }
    auto about = [&](double seconds) {
        auto a = json::value::object({{"strategy", method},
                                      {"seed", o.seed},
                                      {"training_seconds", seconds},
                                      {"planned_epochs", so.epochs}});
        if (enas) {
            const auto b = controller.baseline_snapshot();
            a["controller"] = json::value::object(
                {{"baseline", b.baseline}, {"variance", b.variance}, {"told", b.told}});
        }
        return a;
    };
    const auto checkpoint = std::filesystem::path(o.out) / supernet_checkpoint_file;
    std::size_t done = 0;
    double trained_seconds = 0;                        // supernet training, a killed run's included
    std::vector<typename Inner::architecture> sampled; // ENAS: the trained controller's draws
    std::error_code ec;
    if (o.resume && std::filesystem::exists(checkpoint, ec)) {
        const supernet_checkpoint_info info = load_supernet_checkpoint(tensors, checkpoint);
        done = info.epochs_done;
        try {
            trained_seconds = info.about.get_or("training_seconds", 0.0);
            so.epochs = std::min(so.epochs, info.about.get_or("planned_epochs", so.epochs));
            if (enas && done > 0) {
                const json::value& c = info.about.at("controller");
                controller.restore_baseline({c.at("baseline").template get<double>(),
                                             c.at("variance").template get<double>(),
                                             c.at("told").template get<std::uint64_t>()});
            }
        } catch (const std::exception& e) {
            throw file_error(checkpoint.string() + ": bad controller state: " + e.what());
        }
        log << "resumed the supernet after " << done << " of " << so.epochs << " epochs from "
            << checkpoint.string() << "\n";
        // The candidates are the trained controller's: only a finished training has them.
        if (done == so.epochs && info.about.contains("candidates"))
            for (const auto& text :
                 info.about.at("candidates").template get<std::vector<std::string>>()) {
                try {
                    sampled.push_back(inner.parse(text));
                } catch (const std::exception& e) {
                    throw file_error(checkpoint.string() + ": candidate '" + text +
                                     "' is not an architecture of the space: " + e.what());
                }
            }
    }
    auto uniform = [&inner](rng& g) { return inner.sample(g); };
    for (std::size_t e = done; e < so.epochs; ++e) {
        const auto start = std::chrono::steady_clock::now();
        train::epoch_result r;
        double reward = -1;
        if constexpr (differentiable) {
            if (method == "darts")
                r = train_darts_epoch(s, *d.train, *d.validation, so, e);
        }
        if (enas) {
            auto from_controller = [&](rng& g) { return controller.sample(inner, g); };
            r = train_single_path_epoch(s, from_controller, *d.train, so, e);
            controller.policy().restart_optimizer();
            rng draws = xnas::detail::epoch_rng(o.seed ^ 0xC0FFEEULL, e, 1);
            reward = train_controller(s, inner, controller, draws, *d.validation, co, e * co.steps);
        } else if (method != "darts") {
            bool trained = false;
            if constexpr (std::is_same_v<S, cell_supernet>) {
                if (method == "spos") {
                    r = train_single_path_epoch(s, cell_path_sampler(s), *d.train, so, e);
                    trained = true;
                }
            }
            if (!trained)
                r = train_single_path_epoch(s, uniform, *d.train, so, e);
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        trained_seconds += seconds;
        const std::size_t planned = so.epochs;
        so.epochs =
            std::min(planned, supernet_epochs_within_limit(o, d.seconds, trained_seconds, e + 1));
        save_supernet_checkpoint(tensors, e + 1, checkpoint, about(trained_seconds));
        char line[200];
        std::snprintf(line, sizeof line,
                      "supernet epoch %zu/%zu (%s): loss %.4f, train accuracy %.4f", e + 1, planned,
                      method.c_str(), r.loss, r.accuracy);
        log << line;
        if (reward >= 0) {
            std::snprintf(line, sizeof line, ", controller reward %.4f", reward);
            log << line;
        }
        std::snprintf(line, sizeof line, ", %.1f s\n", seconds);
        log << line;
        if (so.epochs < planned) {
            std::snprintf(line, sizeof line,
                          "supernet: %zu of its %zu epochs fit in %g %% of --time-limit %g (%.1f "
                          "s an epoch); the learning rate anneals over %zu\n",
                          so.epochs, planned, 100 * supernet_share_of_time_limit, o.time_limit,
                          trained_seconds / double(e + 1), so.epochs);
            log << line;
        }
        log << std::flush;
    }

    // --minutes (or --time-limit) bounds the whole one-shot search, the supernet's training
    // included: the candidates get what training left. When it left (almost) nothing, the search
    // scores one round of candidates, whatever the clock says, so that a trained supernet yields a
    // winner.
    const objective ranking = differentiable ? cell_shared_weight_ranking : primary_objective(o);
    search_options opt = one_shot_search_options(opt_in, ranking);
    // Under a whole run's limit the candidates get at most their share of it as well.
    if (opt.max_seconds > 0) {
        const double left = opt.max_seconds - trained_seconds;
        const double share = candidate_seconds_within_limit(o, d.seconds, trained_seconds);
        if (left < 0.05 * opt.max_seconds || share <= 0) {
            char line[200];
            std::snprintf(line, sizeof line,
                          "warning: supernet training took %.1f s of the %.1f s budget "
                          "(--minutes or --time-limit); the search scores one round of "
                          "candidates. Lower --supernet-epochs or raise the budget\n",
                          trained_seconds, opt.max_seconds);
            log << line;
            opt.max_trials = opt.max_trials ? std::min(opt.max_trials, opt.window()) : opt.window();
            opt.max_seconds = 0;
        } else {
            opt.max_seconds = std::min(left, share);
        }
    }

    // The final selection trains networks from scratch; a time reserve (selection_reserve)
    // cannot tell its cost from the shared-weight scores it sees, so it gets one from the
    // supernet's training speed per image, which a single path trains at about a network's.
    // DARTS's epochs run every op of the mixture and step the logits besides, several times a
    // cell's cost: its derived cell is timed alone instead.
    if (o.select && d.select_train && !d.train->empty()) {
        double per_image = trained_seconds / static_cast<double>(so.epochs * d.train->size());
        if constexpr (differentiable) {
            if (method == "darts")
                per_image = path_seconds_per_sample(s, derive_darts(s), *d.train, so);
        }
        const double candidate_seconds =
            per_image * static_cast<double>(selection_epochs(o) * d.select_train->size());
        (set_selection_candidate_seconds(callbacks, candidate_seconds), ...);
    }

    if constexpr (differentiable) {
        if (method == "darts") {
            const auto derived = derive_darts(s);
            log << "DARTS derived " << space.to_string(derived) << "\n";
            auto strategy =
                warm_started<cell_space>(logit_sampler(edge_probabilities(s)), {derived});
            derived_flagging<Shared> flagging{&shared, derived};
            return xnas::search(space, strategy, flagging, opt, callbacks...);
        }
    }
    if (method == "enas") {
        // As Pham et al. derive: the candidates are draws of the trained controller (distinct,
        // up to the trial budget), scored under the shared weights; random ones follow if the
        // budget is time.
        if (sampled.empty()) {
            const std::size_t want = o.trials ? o.trials : 1000;
            std::set<std::string> seen;
            json::value texts = json::value::array();
            rng draws = xnas::detail::epoch_rng(o.seed ^ 0xC0FFEEULL, so.epochs, 1);
            for (std::size_t k = 0; k < 20 * want && sampled.size() < want; ++k) {
                auto a = controller.ask(inner, draws).architecture;
                if (seen.insert(inner.to_string(a)).second) {
                    texts.push_back(inner.to_string(a));
                    sampled.push_back(std::move(a));
                }
            }
            json::value with_candidates = about(trained_seconds);
            with_candidates["candidates"] = std::move(texts);
            save_supernet_checkpoint(tensors, so.epochs, checkpoint, with_candidates);
        }
        auto draws =
            warm_started<Inner>(random_search<Inner>({.unique = true}), std::move(sampled));
        auto strategy = wrap(draws);
        return xnas::search(space, strategy, shared, opt, callbacks...);
    }
    if (method == "random-ws") {
        random_search<Inner> inner_strategy({.unique = true});
        auto strategy = wrap(inner_strategy);
        return xnas::search(space, strategy, shared, opt, callbacks...);
    }
    regularized_evolution<Inner> inner_strategy(
        {.population_size = 20, .sample_size = 5, .objective = ranking});
    auto strategy = wrap(inner_strategy);
    return xnas::search(space, strategy, shared, opt, callbacks...);
}

/// The first shared_weight_validation_samples samples of the validation split.
inline data::dataset<float> shared_weight_validation(const prepared_data& d) {
    return d.validation->size() > shared_weight_validation_samples
               ? d.validation->first(shared_weight_validation_samples)
               : *d.validation;
}

inline constexpr shared_weight_evaluator_options shared_weight_scoring{.recalibration_batches = 8,
                                                                       .batch_size = 128};

} // namespace detail

/// The one-shot search of the cell space `space` (o.strategy spos, random-ws, enas or darts) on
/// d's search split, as described at the top of this header, with the search options `opt` (its
/// journal, budget, workers and seed) and `callbacks` (progress): supernet training logged one
/// line per epoch to `log`, then xnas::search over a shared_weight_evaluator, whose trials carry
/// the metric shared_weights = 1. A --resume continues from the checkpoint's epochs and replays
/// the journal. Throws std::invalid_argument for another strategy, xnas::file_error for an
/// unreadable checkpoint.
template <class... Callbacks>
study<cell_space::architecture>
one_shot_search(const options& o, const prepared_data& d, const cell_space& space,
                const cell_builder& builder, const search_options& opt, std::ostream& log,
                Callbacks&... callbacks) {
    cell_supernet s(space, builder.options(), {}, o.seed);
    const data::dataset<float> scored_on = detail::shared_weight_validation(d);
    shared_weight_evaluator<cell_supernet> shared(s, *d.train, scored_on,
                                                  detail::shared_weight_scoring);
    auto same = [](auto& strategy) -> auto& {
        return strategy;
    };
    return detail::one_shot_search(o, d, space, space, s, shared, same, opt, log, callbacks...);
}

/// The one-shot search of the main job's chain space (layers x training parameters; spos,
/// random-ws or enas): a chain_supernet of the layers (Once-for-All slicing) trained and searched
/// as for the cell space, the candidates' training parameters pinned to the supernet's recipe
/// (SGD, lr 0.05, batches of 64), which the final selection and the retrain then use.
template <class... Callbacks>
study<product_space<chain_space, param_space>::architecture>
one_shot_search(const options& o, const prepared_data& d,
                const product_space<chain_space, param_space>& space,
                const with_training_params<chain_builder>& builder, const search_options& opt,
                std::ostream& log, Callbacks&... callbacks) {
    using product = product_space<chain_space, param_space>;
    if (o.strategy == "darts")
        throw std::invalid_argument("--strategy darts needs --space cell");
    chain_supernet s(space.first(), builder.inner().options(), o.seed);
    first_factor_supernet<chain_supernet, product::architecture> over_product(s);
    const data::dataset<float> scored_on = detail::shared_weight_validation(d);
    shared_weight_evaluator<first_factor_supernet<chain_supernet, product::architecture>> shared(
        over_product, *d.train, scored_on, detail::shared_weight_scoring);
    const supernet_training_options so = supernet_options(o);
    const param_space::architecture recipe{{"optimizer", std::string("sgd")},
                                           {"lr", so.lr},
                                           {"batch_size", std::to_string(so.batch_size)}};
    auto pinned = [&recipe](auto& strategy) {
        return first_factor_strategy<std::remove_reference_t<decltype(strategy)>, product>(strategy,
                                                                                           recipe);
    };
    return detail::one_shot_search(o, d, space, space.first(), s, shared, pinned, opt, log,
                                   callbacks...);
}

} // namespace xnas::experiment
