#pragma once
// A hyper-parameter problem with a known optimum for strategies over param_space: score 1 at
// opt = adam, layers = 5, lr = 3e-3, less 0.2 per layer and 0.5 per decade of lr away from it.
// The space must have the categorical "opt" (sgd, adam, ...), the int "layers" and the log-real
// "lr"; other parameters do not count. tuning_space() is such a space, with a conditional
// momentum.

#include <cmath>
#include <cstdint>
#include <string>
#include <variant>
#include <xnas/core/trial.hpp>
#include <xnas/space/param_space.hpp>

namespace xnas_test {

/// The conditional space the tpe tests tune: opt, momentum (sgd only), layers 1-8, lr.
inline xnas::param_space tuning_space() {
    return xnas::param_space{}
        .add_categorical("opt", {"sgd", "adam", "rmsprop"})
        .add_float("momentum", 0, 0.99, xnas::when("opt", {"sgd"}))
        .add_int("layers", 1, 8)
        .add_log_float("lr", 1e-4, 1e-1);
}

inline xnas::evaluation tuning_score(const xnas::trial<xnas::param_space::architecture>& t) {
    const auto& a = t.architecture;
    double v = std::get<std::string>(a.at("opt")) == "adam" ? 1.0 : 0.0;
    v -= 0.2 * std::abs(static_cast<double>(std::get<std::int64_t>(a.at("layers")) - 5));
    v -= 0.5 * std::abs(std::log10(std::get<double>(a.at("lr"))) - std::log10(3e-3));
    xnas::evaluation e;
    e.objectives["score"] = v;
    return e;
}

} // namespace xnas_test
