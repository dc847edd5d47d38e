#pragma once
// Test helpers for strategies: a small ask/tell loop (serial, or k asks before their tells in
// shuffled order to mimic asynchronous workers), and a generated NAS-Bench-201-like problem
// with a known optimum (6 edges, 5 ops each, score = per-edge-op contributions + small
// interactions of neighbouring edges).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>

namespace xnas_test {

/// The one objective of the single-objective test problems, maximised.
inline const xnas::objective score{"score"};

template <class A>
struct record {
    xnas::trial<A> t;
    xnas::evaluation e;
};

/// Runs `budget` trials: batches of `parallel` asks, then their tells in a shuffled order.
/// f(trial) -> evaluation.
template <class St, class Space, class F>
std::vector<record<typename Space::architecture>> run(St& st, const Space& space, F&& f,
                                                      std::size_t budget, std::uint64_t seed,
                                                      std::size_t parallel = 1) {
    xnas::rng g(seed);
    xnas::rng order(seed ^ 0x5555);
    std::vector<record<typename Space::architecture>> out;
    while (out.size() < budget) {
        const std::size_t k = std::min(parallel, budget - out.size());
        std::vector<record<typename Space::architecture>> batch;
        for (std::size_t i = 0; i < k; ++i) {
            auto t = st.ask(space, g);
            auto e = f(t);
            batch.push_back({std::move(t), std::move(e)});
        }
        order.shuffle(batch.begin(), batch.end());
        for (auto& r : batch) {
            st.tell(r.t, r.e);
            out.push_back(std::move(r));
        }
    }
    return out;
}

/// Serial asks and tells until the evaluations' costs (evaluation::cost) add up to `budget`: a
/// search within a time budget, where cheap candidates buy more trials. A strategy that takes
/// the budget share spent gets it before each ask, as xnas::search gives it.
template <class St, class Space, class F>
std::vector<record<typename Space::architecture>>
run_within_cost(St& st, const Space& space, F&& f, double budget, std::uint64_t seed) {
    xnas::rng g(seed);
    std::vector<record<typename Space::architecture>> out;
    for (double spent = 0; spent < budget;) {
        if constexpr (requires { st.set_progress(0.5); })
            st.set_progress(spent / budget);
        auto t = st.ask(space, g);
        auto e = f(t);
        st.tell(t, e);
        spent += e.cost;
        out.push_back({std::move(t), std::move(e)});
    }
    return out;
}

/// Best value of objective `name` among records (at fidelity >= min_fidelity), maximized.
template <class A>
double best_of(const std::vector<record<A>>& rs, const std::string& name = "score",
               double min_fidelity = 0.0) {
    double best = -1e300;
    for (const auto& r : rs)
        if (r.e.ok() && r.t.fidelity >= min_fidelity)
            best = std::max(best, r.e.value(name));
    return best;
}

/// A toy cell space: 6 edges, each one of 5 ops (NAS-Bench-201's shape, 15,625 cells). Models
/// every space refinement the strategies use.
struct toy_cell_space {
    static constexpr std::size_t edges = 6, ops = 5;
    using architecture = std::array<std::uint8_t, edges>;

    architecture sample(xnas::rng& g) const {
        architecture a{};
        for (auto& x : a)
            x = static_cast<std::uint8_t>(g.below(ops));
        return a;
    }
    architecture mutate(architecture a, xnas::rng& g) const {
        const auto e = g.below(edges);
        a[e] = static_cast<std::uint8_t>((a[e] + 1 + g.below(ops - 1)) % ops);
        return a;
    }
    std::vector<architecture> neighbours(const architecture& a) const {
        std::vector<architecture> out;
        for (std::size_t e = 0; e < edges; ++e)
            for (std::uint8_t o = 0; o < ops; ++o)
                if (o != a[e]) {
                    auto b = a;
                    b[e] = o;
                    out.push_back(b);
                }
        return out;
    }
    std::vector<double> encode(const architecture& a) const {
        std::vector<double> v(edges * ops, 0.0);
        for (std::size_t e = 0; e < edges; ++e)
            v[e * ops + a[e]] = 1.0;
        return v;
    }
    std::size_t encoding_size() const { return edges * ops; }
    architecture crossover(const architecture& a, const architecture& b, xnas::rng& g) const {
        architecture c{};
        for (std::size_t e = 0; e < edges; ++e)
            c[e] = g.bernoulli(0.5) ? a[e] : b[e];
        return c;
    }
    std::vector<std::size_t> decisions() const { return std::vector<std::size_t>(edges, ops); }
    architecture from_decisions(const std::vector<int>& d) const {
        architecture a{};
        for (std::size_t e = 0; e < edges; ++e)
            a[e] = static_cast<std::uint8_t>(d[e]);
        return a;
    }
    std::vector<int> to_decisions(const architecture& a) const {
        return std::vector<int>(a.begin(), a.end());
    }
    double cardinality() const { return 15625.0; }
};

/// Generated NB201-like problem: ops 0..4 = none, skip, conv1x1, conv3x3, avgpool. Each edge
/// has its own contribution per op (conv3x3 best on average, none worst) plus interactions of
/// neighbouring edges; the optimum is found by enumeration.
struct nb201_like {
    std::array<std::array<double, 5>, 6> unary{};
    std::array<std::array<std::array<double, 5>, 5>, 5> pair{};
    double optimum = -1e300;
    toy_cell_space::architecture argmax{};

    explicit nb201_like(std::uint64_t seed, double interaction = 0.6) {
        xnas::rng g(seed);
        const double base[5] = {-6.0, -1.0, 0.5, 2.0, -2.0};
        for (auto& e : unary)
            for (std::size_t o = 0; o < 5; ++o)
                e[o] = base[o] + g.normal(0, 1.0);
        for (auto& p : pair)
            for (auto& row : p)
                for (auto& x : row)
                    x = g.normal(0, interaction);
        toy_cell_space::architecture a{};
        for (std::size_t i = 0; i < 15625; ++i) {
            std::size_t k = i;
            for (auto& x : a) {
                x = static_cast<std::uint8_t>(k % 5);
                k /= 5;
            }
            const double v = (*this)(a);
            if (v > optimum) {
                optimum = v;
                argmax = a;
            }
        }
    }

    double operator()(const toy_cell_space::architecture& a) const {
        double v = 70.0;
        for (std::size_t e = 0; e < 6; ++e)
            v += unary[e][a[e]];
        for (std::size_t e = 0; e + 1 < 6; ++e)
            v += pair[e][a[e]][a[e + 1]];
        return v;
    }

    xnas::evaluation evaluate(const xnas::trial<toy_cell_space::architecture>& t) const {
        xnas::evaluation e;
        e.objectives["score"] = (*this)(t.architecture);
        e.cost = t.fidelity;
        return e;
    }
};

/// The reference point of a two-objective hypervolume over toy cells whose first objective is
/// `first` (maximised) and second `-second` (minimised): the worst of each over 4,000 cells.
inline std::vector<double> worst_point(const nb201_like& first, const nb201_like& second) {
    double worst_a = 1e300, worst_b = -1e300;
    xnas::rng all(0);
    for (int i = 0; i < 4000; ++i) {
        const auto a = toy_cell_space{}.sample(all);
        worst_a = std::min(worst_a, first(a));
        worst_b = std::max(worst_b, -second(a));
    }
    return {worst_a, worst_b};
}

/// Mean regret (optimum minus best score found) over 20 seeded nb201_like problems, with
/// `queries` evaluations each and every other seed run with 4 trials in flight: the measure
/// the strategy quality tests compare against random search. `make()` builds a fresh strategy.
template <class Make>
double mean_nb201_regret(Make make, std::size_t queries) {
    double total = 0;
    for (std::uint64_t s = 0; s < 20; ++s) {
        const nb201_like problem(1000 + s);
        auto st = make();
        const auto rs = run(
            st, toy_cell_space{}, [&](const auto& t) { return problem.evaluate(t); }, queries,
            77 + s, s % 2 ? 4 : 1);
        total += problem.optimum - best_of(rs);
    }
    return total / 20;
}

} // namespace xnas_test
