#pragma once
// Training hyper-parameters as part of the search: a param_space of optimizer, learning rate
// and batch size; a builder adapter that builds from the layer part of a product_space
// architecture and reads the training recipe from its parameter part; and the default image
// search space of xnas-search (chain_space::image() x training_params()).

#include <string>
#include <utility>
#include <variant>
#include <xnas/core/error.hpp>
#include <xnas/evaluate/builder.hpp>
#include <xnas/evaluate/train_evaluator.hpp>
#include <xnas/space/chain_space.hpp>
#include <xnas/space/detail/text.hpp>
#include <xnas/space/param_space.hpp>
#include <xnas/space/product_space.hpp>

namespace xnas {

/// optimizer in {sgd (momentum 0.9), adam}, lr log-uniform in [3e-4, 0.1], batch_size in
/// {32, 64, 128}: 2 x continuous x 3.
inline param_space training_params() {
    param_space p;
    p.add_categorical("optimizer", {"sgd", "adam"});
    p.add_log_float("lr", 3e-4, 0.1);
    p.add_categorical("batch_size", {"32", "64", "128"});
    return p;
}

/// The image space of xnas-search --space chain: 1-4 conv layers (kernel 3/5, 8-64 channels,
/// batch norm, activation, pooling, residual skips), 0-2 dense layers (width, activation,
/// dropout), and the training hyper-parameters above. `layers` replaces the layer part, e.g.
/// chain_space::image() with a constraint.
inline product_space<chain_space, param_space>
image_search_space(chain_space layers = chain_space::image()) {
    return product_space<chain_space, param_space>(std::move(layers), training_params(), 0.75);
}

/// Builds networks from the first part of a product architecture with `Inner`, and reads the
/// training recipe from its second part, a param_space architecture: parameters named
/// optimizer, lr, momentum, weight_decay, label_smoothing, batch_size override the defaults
/// when present.
template <class Inner>
class with_training_params {
  public:
    explicit with_training_params(Inner inner)
        : inner_(std::move(inner)) {}
    const Inner& inner() const { return inner_; }

    template <class PA>
    requires requires(const PA& a) {
        a.first;
        { a.second } -> std::convertible_to<param_space::architecture>;
    }
    nn::network<float> build(const PA& a, rng& g) const { return inner_.build(a.first, g); }

    template <class PA>
    training_recipe recipe(const PA& a, const training_recipe& defaults) const {
        training_recipe r = defaults;
        for (const auto& [name, value] : a.second) {
            if (name == "optimizer")
                r.optimizer = text(name, value);
            else if (name == "lr")
                r.lr = number(name, value);
            else if (name == "momentum")
                r.momentum = number(name, value);
            else if (name == "weight_decay")
                r.weight_decay = number(name, value);
            else if (name == "label_smoothing")
                r.label_smoothing = number(name, value);
            else if (name == "batch_size")
                r.batch_size = static_cast<std::size_t>(number(name, value));
        }
        return r;
    }

  private:
    static std::string text(const std::string& name, const param_value& v) {
        if (const auto* s = std::get_if<std::string>(&v))
            return *s;
        throw parse_error("xnas::with_training_params: parameter '" + name +
                          "' must be categorical");
    }
    static double number(const std::string& name, const param_value& v) {
        if (const auto* i = std::get_if<std::int64_t>(&v))
            return static_cast<double>(*i);
        if (const auto* d = std::get_if<double>(&v))
            return *d;
        const auto& s = std::get<std::string>(v);
        if (double x = 0; detail::parse_double(s, x)) // std::stod would follow the C locale
            return x;
        throw parse_error("xnas::with_training_params: parameter '" + name + "' = '" + s +
                          "' is not a number");
    }

    Inner inner_;
};

} // namespace xnas
