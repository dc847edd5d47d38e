// custom_optimizer: searching with your own optimizer. An optimizer is any type with the members
// of the xnas::nn::optimizer concept (step, reset, learning_rate, set_learning_rate); it inherits
// from nothing. train_evaluator makes one per candidate from the training recipe through a
// factory, its third template argument (a fourth makes the loss the same way).
//
// Here: Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms",
// arXiv:2302.06675), a random search over small MLPs on three generated spirals.
//
//   custom_optimizer [TRIALS]

#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <numbers>
#include <span>
#include <string>
#include <vector>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/run/search.hpp>
#include <xnas/strategy/random_search.hpp>

using namespace xnas;

/// Lion: with g the gradient and m the momentum,
///     p -= lr * (sign(beta1 m + (1 - beta1) g) + weight_decay p),   m = beta2 m + (1 - beta2) g.
/// Every update has the same size per element, so it wants a smaller rate than Adam.
class lion {
  public:
    using value_type = float;

    struct options {
        double lr = 1e-3;
        double beta1 = 0.9;
        double beta2 = 0.99;
        double weight_decay = 0; ///< decoupled, as in AdamW
    };

    explicit lion(options o)
        : o_(o) {}

    void step(std::span<const nn::parameter<float>> params) {
        if (momentum_.empty())
            for (const auto& p : params)
                momentum_.emplace_back(p.value->size(), 0.0f);
        const auto lr = static_cast<float>(o_.lr), b1 = static_cast<float>(o_.beta1),
                   b2 = static_cast<float>(o_.beta2), wd = static_cast<float>(o_.weight_decay);
        for (std::size_t k = 0; k < params.size(); ++k) {
            if (nn::is_running_state(params[k].name)) // batch-norm statistics are not learned
                continue;
            float* w = params[k].value->data();
            const float* g = params[k].gradient->data();
            std::vector<float>& m = momentum_[k];
            for (std::size_t i = 0; i < m.size(); ++i) {
                const float c = b1 * m[i] + (1 - b1) * g[i];
                const float sign = c > 0 ? 1.0f : (c < 0 ? -1.0f : 0.0f);
                w[i] -= lr * (sign + wd * w[i]);
                m[i] = b2 * m[i] + (1 - b2) * g[i];
            }
        }
    }
    void reset() { momentum_.clear(); }
    double learning_rate() const { return o_.lr; }
    void set_learning_rate(double lr) { o_.lr = lr; }

  private:
    options o_;
    std::vector<std::vector<float>> momentum_; // keyed by parameter position
};

static_assert(nn::optimizer<lion>);

/// The factory: a fresh Lion per candidate from its recipe's rate and weight decay.
struct make_lion {
    lion operator()(const training_recipe& r) const {
        return lion({.lr = r.lr, .weight_decay = r.weight_decay});
    }
};

/// `n` points on three interleaved spiral arms with Gaussian noise, labelled by arm.
std::shared_ptr<const data::dataset<float>> spirals(std::size_t n, rng& g) {
    auto ds = std::make_shared<data::dataset<float>>();
    ds->x = nn::array<float>::from_shape({n, 2});
    ds->labels.resize(n);
    ds->num_classes = 3;
    for (std::size_t i = 0; i < n; ++i) {
        const auto arm = static_cast<std::int32_t>(i % 3);
        const double r = g.uniform(0.1, 1.0);
        const double angle = 2 * std::numbers::pi * (arm / 3.0 + 1.2 * r);
        ds->x(i, 0) = static_cast<float>(r * std::cos(angle) + 0.04 * g.normal());
        ds->x(i, 1) = static_cast<float>(r * std::sin(angle) + 0.04 * g.normal());
        ds->labels[i] = arm;
    }
    return ds;
}

int main(int argc, char** argv) try {
    const std::size_t trials = argc > 1 ? std::stoul(argv[1]) : 6;
    rng g(1);
    const auto train = spirals(900, g), val = spirals(300, g);
    using choice = chain_space::choice;
    const chain_space space(
        {{"dense",
          1,
          2,
          {{"dense", {choice::doubling("w", 16, 64), choice::of("act", {"relu", "gelu"})}}}}});

    const chain_builder builder(space, {.input = {2}, .classes = 3});
    const train_evaluator_options options{
        .epochs = 30,
        .recipe = {.optimizer = "lion", .lr = 3e-3, .weight_decay = 0.01, .batch_size = 32},
        .measure_latency = false};
    // The same search twice, same seed, same trials: with Lion, then with the shipped AdamW at
    // a rate ten times higher (Lion's sign updates are larger).
    auto best_of = [&](auto evaluator) {
        random_search<chain_space> strategy;
        const auto study =
            search(space, strategy, evaluator,
                   {.objectives = {{"val_accuracy", direction::maximize}}, .max_trials = trials});
        return study.best();
    };
    const auto best = best_of(train_evaluator<chain_space::architecture, chain_builder, make_lion>(
        builder, train, val, options));
    train_evaluator_options adamw = options;
    adamw.recipe.optimizer = "adamw";
    adamw.recipe.lr = 3e-2;
    const auto reference = best_of(
        train_evaluator<chain_space::architecture, chain_builder>(builder, train, val, adamw));
    std::printf("best of %zu with Lion:  %s, val_accuracy %.3f\n", trials,
                space.to_string(best.t.architecture).c_str(), best.e.value("val_accuracy"));
    std::printf("best of %zu with AdamW: %s, val_accuracy %.3f\n", trials,
                space.to_string(reference.t.architecture).c_str(),
                reference.e.value("val_accuracy"));
    // Chance is 1/3; an optimizer that did not train would stay near it.
    return best.e.value("val_accuracy") > 0.8 ? 0 : 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "custom_optimizer: %s\n", e.what());
    return 1;
}
