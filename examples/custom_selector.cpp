// custom_selector: plugging your own selector into a strategy. A selector is any type with
//   std::vector<std::size_t> select(std::span<const scored<A>> population, std::size_t k, rng&)
// (the xnas::selector concept): the positions of the k members it picks, best first. Evolution
// takes one as its parent selector, nsga2 as its survival step, the final selection as its
// candidates. Here: a tournament that charges each member for its size, so that regularized
// evolution breeds from accurate cells that are also small; compared over several seeds with the
// default parent selector (the paper's tournament by accuracy alone) on NAS-Bench-201 cells with
// a synthetic accuracy.
//
//   custom_selector [--trials N] [--seeds S]

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <vector>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/run/search.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/strategy/regularized_evolution.hpp>

/// Tournament by accuracy minus `penalty` per doubling of the parameter count: `size` members
/// drawn with replacement, the best by that score wins; k picks, each leaving the pool.
struct size_penalised_tournament {
    std::size_t size = 10;
    double penalty = 0.01;

    template <class A>
    std::vector<std::size_t> select(std::span<const xnas::scored<A>> population, std::size_t k,
                                    xnas::rng& g) const {
        std::vector<std::size_t> pool(population.size()), out;
        for (std::size_t i = 0; i < pool.size(); ++i)
            pool[i] = i;
        auto score = [&](std::size_t i) {
            const auto& e = population[i].e;
            return e.value("accuracy") - penalty * std::log2(e.value("params"));
        };
        while (out.size() < k && !pool.empty()) {
            std::size_t winner = g.below(pool.size());
            for (std::size_t j = 1; j < size; ++j)
                if (const auto c = g.below(pool.size()); score(pool[c]) > score(pool[winner]))
                    winner = c;
            out.push_back(pool[winner]);
            pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(winner));
        }
        return out;
    }
};

static_assert(xnas::selector<size_penalised_tournament, xnas::cell_space::architecture>);

int main(int argc, char** argv) {
    std::size_t trials = 300, seeds = 5;
    for (int i = 1; i < argc; i += 2) {
        const std::string key = argv[i];
        if ((key != "--trials" && key != "--seeds") || i + 1 >= argc) {
            std::fprintf(stderr, "usage: custom_selector [--trials N] [--seeds S]\n");
            return 2;
        }
        (key == "--seeds" ? seeds : trials) = std::stoul(argv[i + 1]);
    }
    const auto space = xnas::cell_space::nb201();
    // Convolutions raise the synthetic accuracy a little and the parameter count a lot.
    auto evaluate = [&](const xnas::cell_space::architecture& a) {
        double accuracy = space.is_disconnected(a) ? 0.1 : 0.8, params = 1000;
        for (std::size_t e = 0; e < a.ops.size(); ++e) {
            const std::string& op = space.ops()[a.ops[e]];
            const double weight = 1.0 + 0.1 * static_cast<double>(e);
            accuracy += op == "nor_conv_3x3"   ? 0.012 * weight
                        : op == "nor_conv_1x1" ? 0.01 * weight
                                               : 0;
            params += op == "nor_conv_3x3" ? 9 * 256 : op == "nor_conv_1x1" ? 256 : 0;
        }
        return std::map<std::string, double>{{"accuracy", accuracy}, {"params", params}};
    };
    const xnas::regularized_evolution_options options{
        .population_size = 20, .sample_size = 10, .objective = {"accuracy"}};

    // Mean accuracy and parameters of the last half of each search's trials: where it breeds.
    auto run = [&](const char* name, auto make_strategy) {
        double accuracy = 0, params = 0, n = 0;
        for (std::uint64_t seed = 0; seed < seeds; ++seed) {
            auto strategy = make_strategy();
            const auto study =
                xnas::search(space, strategy, xnas::function_evaluator(evaluate),
                             {.objectives = {{"accuracy"}}, .max_trials = trials, .seed = seed});
            for (std::size_t i = study.history.size() / 2; i < study.history.size(); ++i, ++n) {
                accuracy += study.history[i].e.value("accuracy");
                params += study.history[i].e.value("params");
            }
        }
        std::printf("%-28s late trials: mean accuracy %.4f, mean parameters %.0f\n", name,
                    accuracy / n, params / n);
        return params / n;
    };
    const double plain = run("tournament by accuracy", [&] {
        return xnas::regularized_evolution<xnas::cell_space>(options);
    });
    const double small = run("size-penalised tournament", [&] {
        return xnas::regularized_evolution<xnas::cell_space, size_penalised_tournament>(
            options, size_penalised_tournament{.size = 10, .penalty = 0.01});
    });
    return small < plain ? 0 : 1; // as a CI check: the penalty must steer towards smaller cells
}
