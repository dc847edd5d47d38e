#pragma once
// Test doubles for the driver: a tiny serializable space of digit vectors, two deterministic
// strategies written here (the shipped strategies live in another area), and a hyperparameter
// space with a loss for the shipped ones.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/space/param_space.hpp>

namespace test {

/// The objective "score", maximised, as a search's objectives.
inline const std::vector<xnas::objective> score_max{{"score", xnas::direction::maximize}};

/// Architectures: `length` digits, each in [0, base).
struct digit_space {
    using architecture = std::vector<int>;
    int length = 3;
    int base = 10;

    architecture sample(xnas::rng& g) const {
        architecture a(static_cast<std::size_t>(length));
        for (auto& d : a)
            d = static_cast<int>(g.below(static_cast<std::uint64_t>(base)));
        return a;
    }
    architecture mutate(architecture a, xnas::rng& g) const {
        auto& d = a[g.below(a.size())];
        d = (d + 1 + static_cast<int>(g.below(static_cast<std::uint64_t>(base - 1)))) % base;
        return a;
    }
    std::string to_string(const architecture& a) const {
        std::string s;
        for (int d : a) {
            s += s.empty() ? "" : "-";
            s += std::to_string(d);
        }
        return s;
    }
    architecture parse(const std::string& text) const {
        architecture a;
        std::size_t pos = 0;
        while (pos <= text.size()) {
            const auto dash = text.find('-', pos);
            const auto tok =
                text.substr(pos, dash == std::string::npos ? std::string::npos : dash - pos);
            a.push_back(std::stoi(tok));
            if (dash == std::string::npos)
                break;
            pos = dash + 1;
        }
        if (a.size() != static_cast<std::size_t>(length))
            throw xnas::parse_error("digit_space::parse: '" + text + "'");
        return a;
    }
};
static_assert(xnas::serializable_space<digit_space>);

/// Random search.
struct random_strategy {
    std::uint64_t next = 0;
    template <class S>
    xnas::trial<typename S::architecture> ask(const S& s, xnas::rng& g) {
        return {next++, s.sample(g), 1.0, {}};
    }
    template <class A>
    void tell(const xnas::trial<A>&, const xnas::evaluation&) {}
};

/// A tiny regularized evolution (Real et al., 2019): a population of the last `population`
/// results; children mutate the best of three random members by `objective` (maximized).
struct tiny_evolution {
    std::size_t population = 6;
    std::string objective = "score";
    std::uint64_t next = 0;
    std::vector<xnas::scored<std::vector<int>>> pop{};
    std::size_t told = 0;

    template <class S>
    xnas::trial<std::vector<int>> ask(const S& s, xnas::rng& g) {
        if (pop.size() < population)
            return {next++, s.sample(g), 1.0, {}};
        // Tournament of 3 (with replacement) among the living population.
        const auto* p = &pop[g.below(pop.size())];
        for (int i = 0; i < 2; ++i) {
            const auto& c = pop[g.below(pop.size())];
            if (xnas::better(c.e.value(objective), p->e.value(objective),
                             xnas::direction::maximize))
                p = &c;
        }
        return {next++, s.mutate(p->t.architecture, g), 1.0, {p->t.id}};
    }
    void tell(const xnas::trial<std::vector<int>>& t, const xnas::evaluation& e) {
        ++told;
        pop.push_back({t, e});
        if (pop.size() > population)
            pop.erase(pop.begin());
    }
};

/// Score: maximal (0) at all digits == 7.
inline double score(const std::vector<int>& a) {
    double s = 0;
    for (int d : a)
        s -= (d - 7) * (d - 7);
    return s;
}

/// Hyperparameters with a log-scale float, a conditional float, an int and two categoricals, and
/// a loss over them (minimal at lr 1e-2, 4 layers, sgd with momentum near 0.99).
inline xnas::param_space hp_space() {
    xnas::param_space s;
    s.add_log_float("lr", 1e-5, 1.0)
        .add_categorical("opt", {"sgd", "adam", "rmsprop"})
        .add_float("momentum", 0.0, 0.99, xnas::when("opt", {"sgd"}))
        .add_int("layers", 1, 8)
        .add_categorical("act", {"relu", "tanh"});
    return s;
}

inline double loss(const xnas::param_space::architecture& a) {
    double l = std::abs(std::log10(xnas::param_get<double>(a, "lr")) + 2.0);
    l += std::abs(static_cast<double>(xnas::param_get<std::int64_t>(a, "layers")) - 4) * 0.3;
    if (xnas::param_get<std::string>(a, "opt") == "sgd")
        l += 1 - xnas::param_get<double>(a, "momentum");
    else
        l += 0.5;
    return l;
}

} // namespace test
