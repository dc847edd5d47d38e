#pragma once
// train_evaluator: evaluates an architecture by building its network, training it on a
// training split and measuring it on a validation split cut from the training set (the test
// set is never seen during search). Reports validation accuracy (or, on a regression set,
// validation RMSE and R^2), parameters, FLOPs and measured inference latency; turns every
// failure of a candidate into a recorded evaluation. The optimizer and the loss come from
// factories of the training recipe: the shipped ones by default (sgd, adam, adamw by name;
// softmax cross-entropy on class labels, mean squared error on regression targets), any
// nn::optimizer and any train::classification_loss or train::regression_loss of the user's
// otherwise.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/evaluate/builder.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/optim/adam.hpp>
#include <xnas/nn/optim/optimizer.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/train/loss.hpp>
#include <xnas/train/trainer.hpp>

namespace xnas {

/// How to train one candidate. An architecture may carry its own (see train_evaluator).
struct training_recipe {
    /// sgd (with momentum), adam or adamw for the shipped optimizers; a user's optimizer factory
    /// reads it as it likes
    std::string optimizer = "sgd";
    double lr = 0.05;
    double momentum = 0.9;     ///< sgd only
    double weight_decay = 0.0; ///< L2 for sgd and adam, decoupled for adamw
    /// Of the cross-entropy's targets, in [0, 1); class labels only: a trial with a value > 0 on
    /// a regression set fails (there are no classes to smooth).
    double label_smoothing = 0.0;
    std::size_t batch_size = 64;
};

/// Which resource a trial's fidelity (0, 1] scales.
enum class fidelity_axis {
    epochs, ///< round(epochs * fidelity) epochs, at least 1
    data    ///< the first round(fidelity * N) samples of the training split, every epoch
};

struct train_evaluator_options {
    std::size_t epochs = 1; ///< epochs at fidelity 1
    fidelity_axis fidelity = fidelity_axis::epochs;
    training_recipe recipe{}; ///< used when the builder supplies none
    /// 0: no limit; larger candidates fail before their weights are allocated (the shipped
    /// layers allocate on first use, so building a network only counts)
    std::size_t max_params = 0;
    std::size_t max_flops = 0; ///< 0: no limit; forward FLOPs per sample, checked before training
    /// 0: no limit; estimated before any weight or activation is allocated
    std::size_t max_memory_mb = 0;
    double time_limit_seconds = 0; ///< 0: no limit; checked between batches (cooperative)
    bool measure_latency = true;   ///< time single-image inference (median of 15 runs)
    nn::init::scheme init = nn::init::scheme::pytorch_default;
    std::uint64_t seed = 0; ///< with the trial id, seeds initialisation and shuffling
    /// Augmentation of each candidate's training (none: train on the images as they are). Not
    /// for regression sets: augmentation changes inputs whose targets it cannot change, and the
    /// evaluator refuses it there (std::invalid_argument from the constructor).
    std::optional<data::augment_options> augment{};
    /// Anneal each trial's learning rate to 0 over its epochs (cosine), as a final retrain
    /// usually does. A constant rate ends a short trial wherever the last steps bounced it,
    /// noise that reorders candidates close in accuracy.
    bool cosine = false;
    /// User metrics: called after a successful evaluation with the trained network, the
    /// validation set and the complete evaluation, to which it adds entries (e.metrics, or
    /// e.objectives for a value to search on; search_options::objectives may name either). An
    /// exception it throws turns the trial into a failed evaluation with its message. Runs
    /// concurrently on the one shared evaluator when a search has several workers (the evaluator
    /// is thread-safe, so it is not copied): keep it free of unsynchronised shared state.
    std::function<void(nn::network<float>&, const data::dataset<float>& validation, evaluation&)>
        extra_metrics{};
    /// Threads that train one candidate (train::fit_options::threads): each batch is split into
    /// shards trained at once, batch norm statistics shared across them, so every layer's work is
    /// spread, not only the GEMMs OpenBLAS would thread. Same seed and threads, same weights; other
    /// thread counts differ by rounding.
    std::size_t threads = 1;
    /// Promotions continue training: a trial that re-asks its one parent's architecture at a
    /// higher fidelity (a multi-fidelity strategy's promotion) resumes the parent's training from
    /// a checkpoint kept in memory (network, optimizer and fit_state) and trains only the epochs
    /// it adds. The result is the parent's training run for the promoted trial's epochs in one
    /// go. Applies with fidelity_axis::epochs and without cosine (whose schedule depends on the
    /// total epochs); a promotion without a checkpoint trains from scratch. A checkpoint is
    /// dropped when its promotion takes it, when the strategy retires its trial (hyperband,
    /// successive halving and bohb once the trial's rung is decided; see retiring_strategy),
    /// or, oldest first, when the kept ones exceed max_checkpoint_mb (asha, whose rungs may
    /// promote any trial later, keeps them until then).
    bool continue_promotions = true;
    std::size_t max_checkpoint_mb = 1024; ///< memory for promotions' checkpoints
};

/// Makes the optimizer a candidate trains with from its recipe (train_evaluator's
/// MakeOptimizer). Any callable will do: a lambda, a struct with operator().
///
/// Semantic requirements:
///  1. Every call returns a fresh optimizer, sharing no state with those returned before (a
///     search trains several candidates at once, each with its own).
///  2. Callable concurrently from several threads (train_evaluator is thread-safe).
///  3. Deterministic: the same recipe gives an optimizer that makes the same updates.
template <class F>
concept optimizer_factory = std::copy_constructible<F> &&
    requires(const F& make, const training_recipe& r) {
    { make(r) } -> nn::optimizer;
    requires std::same_as<typename decltype(make(r))::value_type, float>;
};

/// Makes the loss a candidate trains with from its recipe (train_evaluator's MakeLoss): any
/// train::classification_loss over float logits, train::regression_loss over float outputs, or
/// both (train::default_loss); it must be of the data's kind, or every trial fails naming the
/// kind expected. Requirements as for optimizer_factory; the loss made is also the one the
/// validation pass computes (its accuracy, RMSE and R^2 do not depend on it).
template <class F>
concept loss_factory = std::copy_constructible<F> &&
    requires(const F& make, const training_recipe& r) {
    { make(r) } -> train::loss_function<float>;
};

/// The shipped optimizer recipe.optimizer names: nn::sgd (with the recipe's momentum), nn::adam
/// or nn::adamw, each with the recipe's learning rate and weight decay. An nn::optimizer itself,
/// dispatching each call to the one it holds.
class named_optimizer {
  public:
    using value_type = float;

    /// Throws std::invalid_argument naming the optimizer and the known names when
    /// recipe.optimizer is none of sgd, adam, adamw, and what the optimizer's constructor throws
    /// for options out of range.
    explicit named_optimizer(const training_recipe& r)
        : optimizer_(make(r)) {}

    void step(std::span<const nn::parameter<float>> params) {
        std::visit([&](auto& o) { o.step(params); }, optimizer_);
    }
    // Partitioned like every optimizer it holds, so a data-parallel step updates the
    // parameters on all its threads instead of on one.
    void begin_step(std::span<const nn::parameter<float>> params) {
        std::visit([&](auto& o) { o.begin_step(params); }, optimizer_);
    }
    void step_part(std::span<const nn::parameter<float>> params, std::size_t part,
                   std::size_t parts) {
        std::visit([&](auto& o) { o.step_part(params, part, parts); }, optimizer_);
    }
    void reset() {
        std::visit([](auto& o) { o.reset(); }, optimizer_);
    }
    double learning_rate() const {
        return std::visit([](const auto& o) { return o.learning_rate(); }, optimizer_);
    }
    void set_learning_rate(double lr) {
        std::visit([&](auto& o) { o.set_learning_rate(lr); }, optimizer_);
    }

  private:
    using any = std::variant<nn::sgd<float>, nn::adam<float>, nn::adamw<float>>;

    static any make(const training_recipe& r) {
        if (r.optimizer == "sgd")
            return nn::sgd<float>(
                {.lr = r.lr, .momentum = r.momentum, .weight_decay = r.weight_decay});
        if (r.optimizer == "adam")
            return nn::adam<float>({.lr = r.lr, .weight_decay = r.weight_decay});
        if (r.optimizer == "adamw")
            return nn::adamw<float>({.lr = r.lr, .weight_decay = r.weight_decay});
        throw std::invalid_argument("xnas::training_recipe: unknown optimizer \"" + r.optimizer +
                                    "\" (known: sgd, adam, adamw)");
    }

    any optimizer_;
};

static_assert(nn::partitioned_optimizer<named_optimizer>);

/// The default optimizer factory: the shipped optimizer recipe.optimizer names.
struct shipped_optimizers {
    named_optimizer operator()(const training_recipe& r) const { return named_optimizer(r); }
};

/// Softmax cross-entropy with the recipe's label smoothing (class labels only).
struct cross_entropy_loss {
    nn::softmax_cross_entropy<float> operator()(const training_recipe& r) const {
        return {.label_smoothing = r.label_smoothing};
    }
};

/// The default loss factory: train::default_loss with the recipe's label smoothing, i.e.
/// softmax cross-entropy on class labels and mean squared error on a regression set, whichever
/// the data set being trained or validated has.
struct shipped_losses {
    train::default_loss<float> operator()(const training_recipe& r) const {
        return {.label_smoothing = r.label_smoothing};
    }
};

static_assert(optimizer_factory<shipped_optimizers>);
static_assert(loss_factory<cross_entropy_loss>);
static_assert(loss_factory<shipped_losses>);

/// The objective a train_evaluator ranks candidates by first: val_accuracy (maximize) on a data
/// set with class labels, val_rmse (minimize) on a regression set.
inline objective primary_objective(bool regression) {
    return regression ? objective{"val_rmse", direction::minimize}
                      : objective{"val_accuracy", direction::maximize};
}

/// Every objective a train_evaluator reports, with its direction: the primary one
/// (primary_objective), on a regression set val_r2 (maximize), then params, flops and, when
/// latency is measured, latency_ms (minimize).
inline std::vector<objective> reported_objectives(bool regression, bool latency = true) {
    std::vector<objective> out{primary_objective(regression)};
    if (regression)
        out.push_back({"val_r2", direction::maximize});
    out.push_back({"params", direction::minimize});
    out.push_back({"flops", direction::minimize});
    if (latency)
        out.push_back({"latency_ms", direction::minimize});
    return out;
}

namespace detail {

/// Bytes a training step needs, estimated from shapes before anything large is allocated:
/// parameters with gradient and two optimizer moments, and per node its output and output
/// gradient plus one more buffer for layer caches (im2col columns, masks, merged inputs).
inline double training_bytes(const nn::network<float>& net, std::size_t batch) {
    double values = 4.0 * static_cast<double>(net.parameter_count());
    for (std::size_t id = 0; id < net.size(); ++id)
        values +=
            3.0 * static_cast<double>(batch) * static_cast<double>(nn::volume(net.node_shape(id)));
    return values * sizeof(float);
}

} // namespace detail

/// Trains `net` (already initialised) with the optimizer and loss `make_optimizer` and
/// `make_loss` make of `recipe`, in batches of the recipe's size, through train::fit; every
/// other choice (epochs, seed, schedule, augmentation, threads, deadline) comes from `o`, whose
/// batch_size is replaced by the recipe's. Throws xnas::numerical_error naming the epoch and
/// batch when the loss is not finite. `callbacks` go to fit() unchanged (progress lines, early
/// stopping; see train/callbacks.hpp).
template <optimizer_factory MakeOptimizer, loss_factory MakeLoss, class... Callbacks>
requires(train::callback<std::remove_cvref_t<Callbacks>>&&...) train::history
    train_network(nn::network<float>& net, const data::dataset<float>& train,
                  const training_recipe& recipe, const MakeOptimizer& make_optimizer,
                  const MakeLoss& make_loss, train::fit_options o, Callbacks&&... callbacks) {
    auto optimizer = make_optimizer(recipe);
    o.batch_size = recipe.batch_size;
    return train::fit(net, make_loss(recipe), optimizer, train, o,
                      std::forward<Callbacks>(callbacks)...);
}

/// As above with the shipped optimizer recipe.optimizer names and the shipped loss (softmax
/// cross-entropy on class labels, mean squared error on a regression set).
template <class... Callbacks>
requires(train::callback<std::remove_cvref_t<Callbacks>>&&...) train::history
    train_network(nn::network<float>& net, const data::dataset<float>& train,
                  const training_recipe& recipe, train::fit_options o, Callbacks&&... callbacks) {
    return train_network(net, train, recipe, shipped_optimizers{}, shipped_losses{}, std::move(o),
                         std::forward<Callbacks>(callbacks)...);
}

/// The candidate training of a search: `epochs` epochs, shuffled with a seed drawn from `g`,
/// stopping between batches at `deadline`, one thread.
inline train::history train_network(
    nn::network<float>& net, const data::dataset<float>& train, const training_recipe& recipe,
    std::size_t epochs, rng& g,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max()) {
    return train_network(net, train, recipe, {.epochs = epochs, .seed = g(), .deadline = deadline});
}

/// Median seconds of a single-sample forward pass in eval mode (after 3 warm-up runs).
inline double latency_seconds(nn::network<float>& net, std::size_t runs = 15) {
    nn::array<float> x = nn::array<float>::from_shape(nn::with_batch(1, net.input_shape()));
    std::fill(x.begin(), x.end(), 0.5f);
    std::vector<double> t;
    for (std::size_t i = 0; i < runs + 3; ++i) {
        const auto s = std::chrono::steady_clock::now();
        net.forward(x, nn::mode::eval);
        if (i >= 3)
            t.push_back(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
    }
    std::nth_element(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(t.size() / 2), t.end());
    return t[t.size() / 2];
}

/// Evaluates architectures of type A by training the network `builder` makes of them.
///
/// Objectives reported (reported_objectives lists them with their directions): on a data set
/// with class labels val_accuracy (maximise); on a regression set (data::dataset::regression(),
/// the network's outputs as wide as the targets) val_rmse (minimise; root mean squared error
/// over all validation target values) and val_r2 (maximise; R^2, see train::r_squared) instead;
/// then params, flops (per sample) and latency_ms (single-image inference where the search
/// runs; minimise). primary_objective(regression()) is the one to rank by. Metrics: train_loss,
/// train_seconds, epochs, train_images, and whatever options.extra_metrics adds. Cost:
/// wall-clock seconds of the evaluation.
///
/// The builder may supply the training recipe per architecture with a member
/// `training_recipe recipe(const A&, const training_recipe& defaults) const`; otherwise
/// options.recipe is used. `MakeOptimizer` and `MakeLoss` make each candidate's optimizer and
/// loss from that recipe: by default the shipped optimizer recipe.optimizer names and
/// train::default_loss (softmax cross-entropy on class labels, mean squared error on a
/// regression set), otherwise the user's own (examples/custom_optimizer.cpp):
///
///     auto lion = [](const training_recipe& r) { return my_lion({.lr = r.lr}); };
///     train_evaluator<A, B, decltype(lion)> ev(builder, train, val, options, lion);
///
/// Failures are evaluations, never exceptions: a builder or layer that throws -> failed with
/// the message; parameter, FLOP or memory budget exceeded -> failed, checked right after the
/// structure is built and before any activation or optimizer state exists; non-finite loss ->
/// diverged; past the per-trial time limit -> timed_out (the network trained so far is not
/// measured); extra_metrics throws -> failed with its message; so does a factory that throws
/// (an optimizer name it does not know), a loss of the other kind than the data's, a network
/// whose outputs are not as wide as a regression set's targets, and a recipe with
/// label_smoothing > 0 on a regression set. Thread-safe: evaluate keeps all state local, the data
/// sets are shared read-only, the factories are called concurrently (see optimizer_factory).
namespace detail {

/// The checkpoints of trials a promotion may continue (train_evaluator_options::
/// continue_promotions), by trial id: thread-safe, bounded in memory, oldest dropped first.
template <class A, class Optimizer>
class checkpoint_store {
  public:
    struct checkpoint {
        A architecture;
        nn::network<float> net;
        Optimizer optimizer;
        train::fit_state state;
        std::uint64_t seed; // fit_options::seed of the training it continues
        double bytes;
    };

    explicit checkpoint_store(double max_bytes)
        : max_bytes_(max_bytes) {}

    void put(std::uint64_t id, checkpoint c) {
        std::lock_guard lock(mutex_);
        if (c.bytes > max_bytes_)
            return;
        bytes_ += c.bytes;
        if (auto it = kept_.find(id); it != kept_.end()) {
            bytes_ -= it->second.bytes;
            kept_.erase(it);
        }
        kept_.emplace(id, std::move(c));
        age_.push_back(id);
        while (bytes_ > max_bytes_ && !age_.empty()) {
            if (auto it = kept_.find(age_.front()); it != kept_.end()) {
                bytes_ -= it->second.bytes;
                kept_.erase(it);
            }
            age_.pop_front();
        }
    }

    /// Removes and returns trial `id`'s checkpoint if it trained `a`.
    std::optional<checkpoint> take(std::uint64_t id, const A& a) {
        std::lock_guard lock(mutex_);
        auto it = kept_.find(id);
        if (it == kept_.end() || !(it->second.architecture == a))
            return std::nullopt;
        checkpoint c = std::move(it->second);
        bytes_ -= c.bytes;
        kept_.erase(it);
        return c;
    }

    /// Drops the checkpoints of trials `ids` (no promotion will continue them).
    void drop(std::span<const std::uint64_t> ids) {
        std::lock_guard lock(mutex_);
        for (const std::uint64_t id : ids)
            if (auto it = kept_.find(id); it != kept_.end()) {
                bytes_ -= it->second.bytes;
                kept_.erase(it);
            }
    }

    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return kept_.size();
    }

  private:
    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, checkpoint> kept_;
    std::deque<std::uint64_t> age_; // ids in the order they were put (may hold taken ones)
    double bytes_ = 0, max_bytes_;
};

} // namespace detail

template <class A, builder<A> B, optimizer_factory MakeOptimizer = shipped_optimizers,
          loss_factory MakeLoss = shipped_losses>
class train_evaluator {
    using optimizer_type = decltype(std::declval<const MakeOptimizer&>()(training_recipe{}));
    using store = detail::checkpoint_store<A, optimizer_type>;

  public:
    static constexpr bool thread_safe = true;

    train_evaluator(B b, std::shared_ptr<const data::dataset<float>> train,
                    std::shared_ptr<const data::dataset<float>> validation,
                    train_evaluator_options options = {}, MakeOptimizer make_optimizer = {},
                    MakeLoss make_loss = {})
        : builder_(std::move(b))
        , train_(std::move(train))
        , val_(std::move(validation))
        , options_(std::move(options))
        , make_optimizer_(std::move(make_optimizer))
        , make_loss_(std::move(make_loss)) {
        if (!train_ || train_->empty() || !val_ || val_->empty())
            throw std::invalid_argument(
                "xnas::train_evaluator: training and validation sets must be non-empty");
        if (train_->regression() != val_->regression() ||
            train_->target_size() != val_->target_size())
            throw std::invalid_argument(
                "xnas::train_evaluator: the training set " +
                (train_->regression()
                     ? "is a regression set of " + std::to_string(train_->target_size()) +
                           " targets per sample"
                     : std::string("has class labels")) +
                ", the validation set " +
                (val_->regression()
                     ? "is a regression set of " + std::to_string(val_->target_size()) +
                           " targets per sample"
                     : std::string("has class labels")) +
                "; expected both of one kind");
        if (train_->regression() && options_.augment)
            throw std::invalid_argument(
                "xnas::train_evaluator: augmentation is set on a regression set; it changes "
                "inputs whose targets it cannot change, expected no augmentation");
        if (options_.epochs == 0)
            throw std::invalid_argument("xnas::train_evaluator: epochs must be positive");
        if (options_.threads == 0)
            throw std::invalid_argument("xnas::train_evaluator: threads must be positive");
        if (options_.continue_promotions && options_.fidelity == fidelity_axis::epochs &&
            !options_.cosine)
            checkpoints_ = std::make_shared<store>(static_cast<double>(options_.max_checkpoint_mb) *
                                                   1024.0 * 1024.0);
    }

    /// True when the data are a regression set: the evaluations report val_rmse and val_r2
    /// instead of val_accuracy.
    bool regression() const { return train_->regression(); }

    /// The objective to rank this evaluator's candidates by first: primary_objective(
    /// regression()), val_rmse (minimize) or val_accuracy (maximize).
    objective primary_objective() const { return xnas::primary_objective(regression()); }

    /// Every objective evaluate reports, with its direction (see reported_objectives).
    std::vector<objective> objectives() const {
        return reported_objectives(regression(), options_.measure_latency);
    }

    /// Checkpoints kept for promotions to continue (0 when promotions do not continue).
    std::size_t checkpoints() const { return checkpoints_ ? checkpoints_->size() : 0; }

    /// Drops the checkpoints of trials the strategy retired (see releasing_evaluator): a
    /// hyperband bracket's checkpoints go as its rungs are decided, not when memory runs out.
    void release(std::span<const std::uint64_t> ids) {
        if (checkpoints_)
            checkpoints_->drop(ids);
    }

    const B& builder() const { return builder_; }
    const train_evaluator_options& options() const { return options_; }
    /// The factories of every candidate's optimizer and loss, to retrain one as it was trained
    /// here: train_network(net, data, recipe(a), make_optimizer(), make_loss(), options).
    const MakeOptimizer& make_optimizer() const { return make_optimizer_; }
    const MakeLoss& make_loss() const { return make_loss_; }

    /// The recipe the architecture trains with.
    training_recipe recipe(const A& a) const {
        if constexpr (requires { builder_.recipe(a, options_.recipe); })
            return builder_.recipe(a, options_.recipe);
        else
            return options_.recipe;
    }

    evaluation evaluate(const trial<A>& t) const {
        const auto start = std::chrono::steady_clock::now();
        auto elapsed = [&] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        };
        try {
            rng g(options_.seed * 0x9E3779B97F4A7C15ULL + t.id + 1);
            const training_recipe r = recipe(t.architecture);
            if (regression() && r.label_smoothing != 0)
                return evaluation::failure(
                    status::failed,
                    "label_smoothing is " + std::to_string(r.label_smoothing) +
                        " on a regression set, expected 0 (label smoothing applies to class "
                        "labels only)",
                    elapsed());
            const double f = std::clamp(t.fidelity, 1e-6, 1.0);
            std::size_t epochs = options_.epochs;
            if (options_.fidelity == fidelity_axis::epochs)
                epochs = std::max<std::size_t>(
                    1, static_cast<std::size_t>(std::lround(f * static_cast<double>(epochs))));
            // A promotion continues its parent's checkpoint when it adds epochs to it.
            std::optional<typename store::checkpoint> resumed;
            if (checkpoints_ && t.parents.size() == 1)
                resumed = checkpoints_->take(t.parents[0], t.architecture);
            if (resumed && resumed->state.epochs_done >= epochs)
                resumed.reset();
            nn::network<float> net =
                resumed ? std::move(resumed->net) : builder_.build(t.architecture, g);
            const std::size_t params = net.parameter_count();
            if (options_.max_params && params > options_.max_params)
                return evaluation::failure(status::failed,
                                           "parameter budget: " + std::to_string(params) +
                                               " parameters > max_params " +
                                               std::to_string(options_.max_params),
                                           elapsed());
            if (options_.max_flops && net.flops() > options_.max_flops)
                return evaluation::failure(status::failed,
                                           "FLOP budget: " + std::to_string(net.flops()) +
                                               " forward FLOPs per sample > max_flops " +
                                               std::to_string(options_.max_flops),
                                           elapsed());
            const double mb = detail::training_bytes(net, r.batch_size) / (1024.0 * 1024.0);
            if (options_.max_memory_mb && mb > static_cast<double>(options_.max_memory_mb))
                return evaluation::failure(
                    status::failed,
                    "memory budget: about " + std::to_string(std::lround(mb)) +
                        " MiB > max_memory_mb " + std::to_string(options_.max_memory_mb),
                    elapsed());
            const data::dataset<float>* train = train_.get();
            data::dataset<float> part;
            if (options_.fidelity == fidelity_axis::data && f < 1.0) {
                part = train_->first(
                    std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(
                                                 f * static_cast<double>(train_->size())))));
                train = &part;
            }
            train::fit_state state;
            std::optional<optimizer_type> optimizer;
            std::uint64_t seed = 0;
            if (resumed) {
                state = std::move(resumed->state);
                optimizer.emplace(std::move(resumed->optimizer));
                seed = resumed->seed;
            } else {
                nn::init::apply(net, options_.init, g);
                optimizer.emplace(make_optimizer_(r));
                seed = g();
            }
            const auto deadline =
                options_.time_limit_seconds > 0
                    ? start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>(options_.time_limit_seconds))
                    : std::chrono::steady_clock::time_point::max();
            const std::size_t epochs_before = state.epochs_done;
            train::fit_options fit{.epochs = epochs,
                                   .batch_size = r.batch_size,
                                   .seed = seed,
                                   .augment = options_.augment,
                                   .deadline = deadline,
                                   .threads = options_.threads,
                                   .state = &state};
            if (options_.cosine)
                fit.schedule = nn::cosine_schedule{.base_lr = r.lr, .period = epochs};
            const train::history h = train::fit(net, make_loss_(r), *optimizer, *train, fit);
            if (h.stop == train::stop_reason::deadline)
                return evaluation::failure(
                    status::timed_out,
                    "time limit: stopped after " + std::to_string(elapsed()) +
                        " s > time_limit_seconds " + std::to_string(options_.time_limit_seconds),
                    elapsed());
            evaluation e;
            const train::eval_result v = train::evaluate(net, make_loss_(r), *val_);
            if (regression()) {
                e.objectives["val_rmse"] = v.rmse;
                e.objectives["val_r2"] = v.r2;
            } else {
                e.objectives["val_accuracy"] = v.accuracy;
            }
            e.objectives["params"] = static_cast<double>(params);
            e.objectives["flops"] = static_cast<double>(net.flops());
            if (options_.measure_latency)
                e.objectives["latency_ms"] = 1000.0 * latency_seconds(net);
            e.metrics["train_loss"] = h.last().loss;
            e.metrics["train_seconds"] = h.seconds;
            e.metrics["epochs"] = static_cast<double>(state.epochs_done);
            e.metrics["train_images"] = static_cast<double>(h.images);
            if (resumed) {
                e.metrics["continued_from"] = static_cast<double>(t.parents[0]);
                e.metrics["epochs_continued"] = static_cast<double>(epochs_before);
            }
            if (options_.extra_metrics) {
                try {
                    options_.extra_metrics(net, *val_, e);
                } catch (const std::exception& ex) {
                    // Caught here so that a numerical_error from the user's code is not
                    // mistaken for a diverged training.
                    return evaluation::failure(
                        status::failed, std::string("extra_metrics: ") + ex.what(), elapsed());
                }
            }
            if (checkpoints_ && t.fidelity < 1.0) { // a top-fidelity trial is never promoted
                const double bytes = detail::training_bytes(net, r.batch_size);
                checkpoints_->put(t.id, {t.architecture, std::move(net), std::move(*optimizer),
                                         std::move(state), seed, bytes});
            }
            e.cost = elapsed();
            return e;
        } catch (const numerical_error& ex) {
            return evaluation::failure(status::diverged, ex.what(), elapsed());
        } catch (const std::exception& ex) {
            return evaluation::failure(status::failed, ex.what(), elapsed());
        }
    }

  private:
    B builder_;
    std::shared_ptr<const data::dataset<float>> train_, val_;
    train_evaluator_options options_;
    MakeOptimizer make_optimizer_;
    MakeLoss make_loss_;
    std::shared_ptr<store> checkpoints_; // shared by copies: a promotion may run on any worker
};

} // namespace xnas
