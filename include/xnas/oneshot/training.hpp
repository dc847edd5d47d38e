#pragma once
// Supernet training, one epoch per call (so callers checkpoint between epochs):
//  - train_single_path_epoch: every batch trains one path drawn by a sampler; uniform draws are
//    SPOS (Guo et al. 2020, arXiv:1904.00420) and random weight sharing (Li & Talwalkar 2019,
//    arXiv:1902.07638), a controller's draws ENAS's shared-weight phase (Pham et al. 2018,
//    arXiv:1802.03268); cell_path_sampler draws the cell space's ops that hold weights more
//    often;
//  - train_fair_paths_epoch: the cell space's paths in strictly fair groups, each group's
//    gradients one step (FairNAS, Chu et al. 2021, arXiv:1907.01845);
//  - train_controller: ENAS's controller phase, rewarded by validation accuracy under shared
//    weights;
//  - train_darts_epoch and derive_darts: first-order DARTS (Liu et al. 2019, arXiv:1806.09055),
//    the architecture logits stepped on validation batches between weight steps on training
//    ones, and the discrete cell read off the logits.
//
// Every epoch starts with a fresh optimizer state and generators drawn from (seed, epoch), so
// epoch e depends on nothing but the weights (and logits) after epoch e - 1: a run resumed from a
// checkpoint taken between epochs continues exactly as the uninterrupted run. The price is a
// momentum restart per epoch, which hundreds of batches per epoch make negligible.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/data/batch.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/nn/optim/adam.hpp>
#include <xnas/nn/optim/optimizer.hpp>
#include <xnas/nn/optim/schedule.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/oneshot/cell_supernet.hpp>
#include <xnas/oneshot/supernet.hpp>
#include <xnas/train/loss.hpp>
#include <xnas/train/trainer.hpp>

namespace xnas {

/// How a supernet's shared weights train: SGD with momentum and weight decay, the learning rate
/// annealed by a cosine over `epochs` (as SPOS and the NAS-Bench-201 one-shot baselines do).
struct supernet_training_options {
    std::size_t epochs = 10;
    std::size_t batch_size = 64;
    double lr = 0.05;
    double momentum = 0.9;
    double weight_decay = 3e-4;
    double clip_grad_norm = 5; ///< 0: no clipping
    std::uint64_t seed = 0;

    /// Throws std::invalid_argument naming the first bad field.
    void validate() const {
        auto bad = [](const char* field, const std::string& v, const char* want) {
            return std::invalid_argument(std::string("xnas::supernet_training_options: ") + field +
                                         " is " + v + ", expected " + want);
        };
        if (epochs == 0)
            throw bad("epochs", "0", "> 0");
        if (batch_size == 0)
            throw bad("batch_size", "0", "> 0");
        if (!(lr > 0) || !std::isfinite(lr))
            throw bad("lr", std::to_string(lr), "> 0");
        if (!(momentum >= 0 && momentum < 1))
            throw bad("momentum", std::to_string(momentum), "in [0, 1)");
        if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
            throw bad("weight_decay", std::to_string(weight_decay), ">= 0");
        if (!(clip_grad_norm >= 0))
            throw bad("clip_grad_norm", std::to_string(clip_grad_norm), ">= 0");
    }
};

namespace detail {

/// The generator of stream `stream` of epoch `epoch` of a run seeded `seed`.
inline rng epoch_rng(std::uint64_t seed, std::size_t epoch, std::uint64_t stream) {
    return rng(seed ^ (0x9E3779B97F4A7C15ULL * (epoch + 1)) ^ (0xD1B54A32D192ED03ULL * stream));
}

inline nn::sgd<float> supernet_optimizer(const supernet_training_options& o) {
    return nn::sgd<float>({.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay});
}

inline double cosine_lr(const supernet_training_options& o, std::size_t epoch, std::size_t batch,
                        std::size_t batches) {
    return nn::lr_at(nn::cosine_schedule{.base_lr = o.lr, .period = o.epochs}, epoch, batch,
                     batches);
}

// Activates a freshly drawn path after every batch, so each batch trains its own.
template <class S, class Sampler>
struct path_resampler {
    S* supernet;
    Sampler* sample;
    rng* g;
    void on_batch_end(const train::batch_result&) { supernet->activate((*sample)(*g)); }
};

// Throws what o.validate() throws, and std::invalid_argument naming `who` for an epoch past
// o.epochs.
inline void check_epoch(const char* who, const supernet_training_options& o, std::size_t epoch) {
    o.validate();
    if (epoch >= o.epochs)
        throw std::invalid_argument(std::string(who) + ": epoch " + std::to_string(epoch) + " of " +
                                    std::to_string(o.epochs));
}

// Epoch `epoch` of `s`'s network on `train` with `opt` under o's cosine schedule and clipping,
// its shuffle and augmentation drawn from (o.seed, epoch); `callback` hears every batch.
template <supernet S, class Opt, class Callback>
train::epoch_result fit_supernet_epoch(S& s, Opt& opt, const data::dataset<float>& train,
                                       const supernet_training_options& o, std::size_t epoch,
                                       Callback& callback) {
    train::fit_state state{.epochs_done = epoch,
                           .shuffle = epoch_rng(o.seed, epoch, 1),
                           .augment = epoch_rng(o.seed, epoch, 2)};
    const train::history h = train::fit(
        s.network(), train::default_loss<float>{}, opt, train,
        {.epochs = epoch + 1,
         .batch_size = o.batch_size,
         .schedule = nn::any_schedule(nn::cosine_schedule{.base_lr = o.lr, .period = o.epochs}),
         .clip_grad_norm = o.clip_grad_norm,
         .state = &state},
        callback);
    return h.last();
}

} // namespace detail

/// Trains epoch `epoch` (0-based, < o.epochs) of `s` on `train`: each batch goes through the
/// path `sample(g)` returns (an S::architecture; g a generator of the epoch), forward, backward
/// and one SGD step of network().parameters() (off-path weights get zero gradients: only weight
/// decay and the epoch's momentum move them). Returns the epoch's loss and accuracy, over the
/// paths it trained. Throws what o.validate() and train::fit throw (xnas::numerical_error when a
/// path diverges).
template <supernet S, class Sampler>
train::epoch_result train_single_path_epoch(S& s, Sampler&& sample,
                                            const data::dataset<float>& train,
                                            const supernet_training_options& o, std::size_t epoch) {
    detail::check_epoch("xnas::train_single_path_epoch", o, epoch);
    rng paths = detail::epoch_rng(o.seed, epoch, 0);
    s.activate(sample(paths));
    nn::sgd<float> opt = detail::supernet_optimizer(o);
    detail::path_resampler<S, std::remove_reference_t<Sampler>> resample{&s, &sample, &paths};
    return detail::fit_supernet_epoch(s, opt, train, o, epoch, resample);
}

/// Seconds a training sample of path `a` of `s` takes once extracted as a network of its own
/// (s.extract(a)) and trained under `o`'s recipe, timed on about `probe_seconds` of batches of
/// `train` and thrown away; the supernet's weights are untouched. 0 when no batch was trained.
/// What a network of the path will cost to train from scratch, where the supernet's own epochs
/// do not tell (DARTS's run every op of every edge).
template <supernet S>
double path_seconds_per_sample(S& s, const typename S::architecture& a,
                               const data::dataset<float>& train,
                               const supernet_training_options& o, double probe_seconds = 2) {
    o.validate();
    nn::network<float> net = s.extract(a);
    nn::sgd<float> opt = detail::supernet_optimizer(o);
    const train::history h =
        train::fit(net, train::default_loss<float>{}, opt, train,
                   {.epochs = 1, .batch_size = o.batch_size, .time_limit_seconds = probe_seconds});
    return h.images ? h.seconds / static_cast<double>(h.images) : 0.0;
}

/// Single paths of a cell supernet drawn with each edge's op chosen in proportion to a weight:
/// ops that hold weights (the convolutions, and a user op with parameters) `weighted_share`
/// times as often as ops that hold none (none, skip_connect, pooling). Under uniform draws a
/// convolution trains on a fifth of the batches while the weightless ops, with nothing of their
/// own to learn, take three fifths; the convolutions then stay further from their trained
/// selves than the weightless ops, and the supernet underrates the cells that have more of
/// them. Drawing them more often gives their weights the batches.
class cell_path_sampler {
  public:
    /// Throws std::invalid_argument unless weighted_share is finite and > 0.
    explicit cell_path_sampler(const cell_supernet& s, double weighted_share = 4)
        : edges_(s.space().edges()) {
        if (!(weighted_share > 0) || !std::isfinite(weighted_share))
            throw std::invalid_argument("xnas::cell_path_sampler: weighted_share is " +
                                        std::to_string(weighted_share) + ", expected > 0");
        double total = 0;
        for (const auto& name : s.space().ops()) {
            bool holds_weights = false;
            for (auto& layer : s.builder().op_layers(name, 4))
                holds_weights = holds_weights || !layer.parameters().empty();
            total += holds_weights ? weighted_share : 1.0;
            cumulative_.push_back(total);
        }
        for (auto& c : cumulative_)
            c /= total;
    }

    /// The probability of op `op` (space order) on an edge.
    double probability(std::size_t op) const {
        return cumulative_.at(op) - (op == 0 ? 0.0 : cumulative_[op - 1]);
    }

    cell_space::architecture operator()(rng& g) const {
        cell_space::architecture a;
        a.ops.resize(edges_);
        for (auto& o : a.ops) {
            const double u = g.uniform();
            const auto k = static_cast<std::size_t>(
                std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin());
            o = static_cast<std::uint8_t>(std::min(k, cumulative_.size() - 1));
        }
        return a;
    }

  private:
    std::size_t edges_;
    std::vector<double> cumulative_; // op k is drawn when u < cumulative_[k]
};

/// Strict fairness over the cell space (FairNAS: Chu et al. 2021, arXiv:1907.01845): as many
/// paths as the space has ops, each edge's ops dealt out over them in an order drawn from `g`,
/// so that every op of every edge is on exactly one path of the group.
inline std::vector<cell_space::architecture> fair_paths(const cell_space& space, rng& g) {
    const std::size_t m = space.ops().size();
    std::vector<cell_space::architecture> paths(m);
    for (auto& p : paths)
        p.ops.resize(space.edges());
    std::vector<std::uint8_t> order(m);
    for (std::size_t e = 0; e < space.edges(); ++e) {
        for (std::size_t k = 0; k < m; ++k)
            order[k] = static_cast<std::uint8_t>(k);
        g.shuffle(order.begin(), order.end());
        for (std::size_t k = 0; k < m; ++k)
            paths[k].ops[e] = order[k];
    }
    return paths;
}

namespace detail {

// An optimizer that sums the gradients of `group` steps and steps `inner` once with the sum
// (flush() steps a partial group). Running batch-norm statistics are not summed.
template <class Opt>
class gradient_accumulator {
  public:
    using value_type = typename Opt::value_type;
    gradient_accumulator(Opt inner, std::size_t group)
        : inner_(std::move(inner))
        , group_(group) {}

    void step(std::span<const nn::parameter<value_type>> params) {
        if (sums_.size() != params.size()) {
            sums_.clear();
            for (const auto& p : params)
                sums_.push_back(nn::array<value_type>::from_shape(p.gradient->shape()));
            for (auto& a : sums_)
                a.fill(value_type(0));
        }
        for (std::size_t k = 0; k < params.size(); ++k)
            if (!nn::detail::is_running_state(params[k])) {
                const value_type* g = params[k].gradient->data();
                value_type* sum = sums_[k].data();
                for (std::size_t i = 0, n = sums_[k].size(); i < n; ++i)
                    sum[i] += g[i];
            }
        params_ = params;
        if (++pending_ == group_)
            flush();
    }

    void flush() {
        if (pending_ == 0)
            return;
        for (std::size_t k = 0; k < params_.size(); ++k)
            if (!nn::detail::is_running_state(params_[k])) {
                std::copy(sums_[k].begin(), sums_[k].end(), params_[k].gradient->begin());
                sums_[k].fill(value_type(0));
            }
        inner_.step(params_);
        pending_ = 0;
    }

    void reset() {
        inner_.reset();
        sums_.clear();
        pending_ = 0;
    }
    double learning_rate() const { return inner_.learning_rate(); }
    void set_learning_rate(double lr) { inner_.set_learning_rate(lr); }

  private:
    Opt inner_;
    std::size_t group_;
    std::size_t pending_ = 0;
    std::vector<nn::array<value_type>> sums_;
    std::span<const nn::parameter<value_type>> params_;
};

// Activates the next path of a fair group after every batch, a fresh group after the last, and
// steps the partial group the epoch ends on.
struct fair_path_dealer {
    cell_supernet* supernet;
    gradient_accumulator<nn::sgd<float>>* optimizer;
    rng* g;
    std::vector<cell_space::architecture> group;
    std::size_t next = 1;
    void on_batch_end(const train::batch_result& b) {
        if (b.batch + 1 == b.batch_count) {
            optimizer->flush();
            return;
        }
        if (next == group.size()) {
            group = fair_paths(supernet->space(), *g);
            next = 0;
        }
        supernet->activate(group[next++]);
    }
};

} // namespace detail

/// Epoch `epoch` (0-based, < o.epochs) of strictly fair single-path training of `s` on `train`
/// (FairNAS): the batches go through the paths of fair_paths groups in turn, and a group's
/// gradients, one batch per path, are summed into one SGD step, so that every op of every edge
/// trains on as many batches as every other and all of them step together from the same
/// weights. Single-path training trains each op on a random share of the batches and steps it
/// alone, its other steps moving it by momentum and decay only. The same forward and backward
/// passes as train_single_path_epoch, a group's size fewer steps; weight decay is multiplied by
/// the group's size, so that an epoch decays the weights as much as single paths do. Returns
/// the epoch's loss and accuracy. Throws what train_single_path_epoch throws.
inline train::epoch_result train_fair_paths_epoch(cell_supernet& s,
                                                  const data::dataset<float>& train,
                                                  const supernet_training_options& o,
                                                  std::size_t epoch) {
    detail::check_epoch("xnas::train_fair_paths_epoch", o, epoch);
    rng paths = detail::epoch_rng(o.seed, epoch, 0);
    const std::size_t m = s.space().ops().size();
    detail::gradient_accumulator<nn::sgd<float>> opt(
        nn::sgd<float>({.lr = o.lr,
                        .momentum = o.momentum,
                        .weight_decay = o.weight_decay * static_cast<double>(m)}),
        m);
    detail::fair_path_dealer deal{&s, &opt, &paths, fair_paths(s.space(), paths)};
    s.activate(deal.group.front());
    return detail::fit_supernet_epoch(s, opt, train, o, epoch, deal);
}

/// How ENAS's controller phase runs.
struct controller_training_options {
    std::size_t steps = 50;       ///< controller updates per call
    std::size_t batch_size = 128; ///< validation samples per reward
};

/// ENAS's controller phase: `steps` times, asks `controller` (a strategy over `space`, e.g.
/// reinforce with lstm_policy) for an architecture, rewards it with its accuracy on the next
/// validation batch under the shared weights (batch norm on the batch's statistics, as ENAS
/// does; the weights do not change) and tells the controller. Validation batches are taken in
/// turn from `first_batch` on. Returns the mean reward.
template <supernet S, class Space, class Controller>
double train_controller(S& s, const Space& space, Controller& controller, rng& g,
                        const data::dataset<float>& validation,
                        const controller_training_options& o, std::size_t first_batch = 0) {
    if (o.steps == 0 || o.batch_size == 0)
        throw std::invalid_argument(
            "xnas::train_controller: steps and batch_size must be positive");
    data::batcher<float> batches(validation, o.batch_size, {.shuffle = false});
    nn::array<float> x;
    std::vector<std::int32_t> labels;
    double total = 0;
    for (std::size_t k = 0; k < o.steps; ++k) {
        auto t = controller.ask(space, g);
        s.activate(t.architecture);
        batches.copy((first_batch + k) % batches.batch_count(), x, labels);
        const nn::array<float>& out = s.network().forward(x, nn::mode::train);
        const double reward = train::detail::batch_accuracy(out, labels);
        evaluation e;
        e.objectives["val_accuracy"] = reward;
        e.metrics["shared_weights"] = 1;
        controller.tell(t, e);
        total += reward;
    }
    return total / static_cast<double>(o.steps);
}

/// How first-order DARTS steps the architecture logits: Adam as in Liu et al. (lr 3e-4,
/// betas (0.5, 0.999), weight decay 1e-3); lr is higher by default, as a small supernet trained
/// for few epochs takes fewer logit steps.
struct darts_options {
    double alpha_lr = 3e-3;
    double alpha_beta1 = 0.5;
    double alpha_weight_decay = 1e-3;
};

/// Epoch `epoch` of first-order DARTS on `s`: for every training batch, one Adam step of the
/// logits s.alpha() on the next validation batch (the mixture's loss gradient), then one SGD step
/// of the weights on the training batch, both through the mixture of every edge's ops. Returns
/// the epoch's training loss and accuracy. Throws xnas::numerical_error when the loss diverges.
inline train::epoch_result train_darts_epoch(cell_supernet& s, const data::dataset<float>& train,
                                             const data::dataset<float>& validation,
                                             const supernet_training_options& o, std::size_t epoch,
                                             const darts_options& d = {}) {
    detail::check_epoch("xnas::train_darts_epoch", o, epoch);
    if (train.regression() || validation.regression())
        throw std::invalid_argument("xnas::train_darts_epoch: DARTS here classifies; the data "
                                    "set has regression targets");
    data::batcher<float> weights_batches(train, o.batch_size),
        alpha_batches(validation, o.batch_size);
    rng shuffle = detail::epoch_rng(o.seed, epoch, 1);
    weights_batches.new_epoch(shuffle);
    alpha_batches.new_epoch(shuffle);
    nn::sgd<float> w_opt = detail::supernet_optimizer(o);
    nn::adam<float> a_opt(
        {.lr = d.alpha_lr, .beta1 = d.alpha_beta1, .weight_decay = d.alpha_weight_decay});
    const auto weights = s.network().parameters();
    const std::vector<nn::parameter<float>> alpha{s.alpha()};
    nn::softmax_cross_entropy<float> loss;
    nn::array<float> x, dy;
    std::vector<std::int32_t> labels;
    train::epoch_result r;
    r.epoch = epoch;
    double loss_sum = 0, correct = 0;
    const std::size_t count = weights_batches.batch_count();
    s.mix();
    for (std::size_t b = 0; b < count; ++b) {
        alpha_batches.copy(b % alpha_batches.batch_count(), x, labels);
        (void)loss(s.network().forward(x, nn::mode::train), labels, &dy);
        s.network().backward(dy);
        s.gather_alpha_gradient();
        a_opt.step(alpha);
        s.mix();

        w_opt.set_learning_rate(detail::cosine_lr(o, epoch, b, count));
        weights_batches.copy(b, x, labels);
        const nn::array<float>& out = s.network().forward(x, nn::mode::train);
        const double v = loss(out, labels, &dy);
        if (!std::isfinite(v))
            throw numerical_error("xnas::train_darts_epoch: diverged at epoch " +
                                  std::to_string(epoch) + ", batch " + std::to_string(b));
        correct += train::detail::batch_accuracy(out, labels) * static_cast<double>(labels.size());
        loss_sum += v * static_cast<double>(labels.size());
        r.images += labels.size();
        s.network().backward(dy);
        if (o.clip_grad_norm > 0)
            train::detail::clip_gradients<float>(weights, o.clip_grad_norm);
        w_opt.step(weights);
    }
    r.loss = loss_sum / static_cast<double>(r.images);
    r.accuracy = correct / static_cast<double>(r.images);
    return r;
}

/// The discrete cell of DARTS's logits. Each edge takes the op of largest logit among the ops
/// other than none: as Liu et al. argue, the zero op's weight grows to scale the mixture down,
/// not because cutting the edge helps, so an argmax that includes it returns empty cells. And
/// at most `max_skips` edges keep skip_connect, those where it wins by the largest margin; the
/// others take their best op that is neither none nor skip_connect. First-order DARTS is known
/// to drift towards parameter-free skips (its weights train faster through them, Zela et al.
/// 2020, arXiv:1909.09656); capping them, as P-DARTS does (Chen et al. 2019), keeps the cell
/// from collapsing into one that is all skips. With no none op or no skip_connect in the space
/// the respective rule does nothing.
inline cell_space::architecture derive_darts(cell_supernet& s, std::size_t max_skips = 2) {
    const cell_space& space = s.space();
    const std::size_t ops = space.ops().size(), edges = space.edges();
    const float* alpha = s.alpha().value->data();
    std::size_t skip = ops;
    for (std::size_t k = 0; k < ops; ++k)
        if (space.ops()[k] == "skip_connect")
            skip = k;
    auto best = [&](std::size_t e, bool allow_skip) {
        std::size_t pick = ops;
        for (std::size_t k = 0; k < ops; ++k) {
            if (k == space.none_index() || (k == skip && !allow_skip))
                continue;
            if (pick == ops || alpha[e * ops + k] > alpha[e * ops + pick])
                pick = k;
        }
        return pick;
    };
    cell_space::architecture a;
    a.ops.resize(edges);
    std::vector<std::pair<float, std::size_t>> skips; // (margin, edge)
    for (std::size_t e = 0; e < edges; ++e) {
        std::size_t k = best(e, true);
        if (k == ops) // the space has only none (and perhaps skip_connect)
            k = space.none_index() < ops ? space.none_index() : 0;
        a.ops[e] = static_cast<std::uint8_t>(k);
        if (k == skip) {
            const std::size_t other = best(e, false);
            const float margin =
                other == ops ? INFINITY : alpha[e * ops + skip] - alpha[e * ops + other];
            skips.emplace_back(margin, e);
        }
    }
    std::sort(skips.begin(), skips.end(), [](const auto& x, const auto& y) { return x > y; });
    for (std::size_t k = max_skips; k < skips.size(); ++k) {
        const std::size_t other = best(skips[k].second, false);
        if (other != ops)
            a.ops[skips[k].second] = static_cast<std::uint8_t>(other);
    }
    return a;
}

} // namespace xnas
