// custom_strategy: writing your own search strategy. A strategy is any type with
//   trial<A> ask(const Space&, rng&)   and   void tell(const trial<A>&, const evaluation&)
// (the xnas::strategy concept); it never calls the evaluator, so xnas::search can run it serially
// or on a thread pool. Here: simulated annealing over NAS-Bench-201 cells, on a synthetic score
// whose optimum is found by enumerating all 15,625 cells, compared with random search.
//
//   custom_strategy [--trials N] [--seeds S]

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/run/search.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/strategy/random_search.hpp>

/// Options of simulated_annealing: start temperature (in units of the objective) and the factor
/// it is multiplied by after each tell.
struct annealing_options {
    std::string objective = "objective"; ///< maximised
    double start_temperature = 0.5;
    double cooling = 0.97;
};

/// Simulated annealing (Kirkpatrick, Gelatt & Vecchi, 1983, Science 220:671): each ask mutates
/// the current architecture; a told result replaces it when better, or when worse with
/// probability exp(-loss / temperature). Several asks may precede their tells (they all mutate
/// the same current state), and tells may come in any order.
template <xnas::search_space Space>
class simulated_annealing {
  public:
    using architecture = typename Space::architecture;

    explicit simulated_annealing(annealing_options o = {})
        : o_(std::move(o))
        , temperature_(o_.start_temperature) {}

    xnas::trial<architecture> ask(const Space& space, xnas::rng& g) {
        xnas::trial<architecture> t;
        t.id = next_id_++;
        if (current_) {
            t.architecture = space.mutate(current_->arch, g);
            t.parents = {current_->id};
        } else {
            t.architecture = space.sample(g); // nothing told yet: start anywhere
        }
        coin_[t.id] = g.uniform(); // the acceptance draw: taken here so that only g is random
        return t;
    }

    void tell(const xnas::trial<architecture>& t, const xnas::evaluation& e) {
        const double u = coin_.at(t.id);
        coin_.erase(t.id);
        const double s = e.value(o_.objective); // NaN for a failed trial: never accepted
        if (std::isnan(s))
            return;
        if (!current_ || s >= current_->score || u < std::exp((s - current_->score) / temperature_))
            current_ = state{t.id, t.architecture, s};
        temperature_ *= o_.cooling;
    }

  private:
    struct state {
        std::uint64_t id;
        architecture arch;
        double score;
    };
    annealing_options o_;
    double temperature_;
    std::optional<state> current_;
    std::map<std::uint64_t, double> coin_; // asked, not yet told
    std::uint64_t next_id_ = 0;
};

static_assert(xnas::strategy<simulated_annealing<xnas::cell_space>, xnas::cell_space>);

namespace {

/// A synthetic objective: each (edge, op) pair adds a fixed weight, and a cell whose output does
/// not depend on its input loses 3. Cheap, deterministic, and with one known best cell.
struct synthetic_score {
    const xnas::cell_space& space;
    std::vector<std::vector<double>> w;

    explicit synthetic_score(const xnas::cell_space& s)
        : space(s) {
        xnas::rng g(7);
        for (std::size_t e = 0; e < s.edges(); ++e) {
            w.emplace_back();
            for (std::size_t o = 0; o < s.ops().size(); ++o)
                w.back().push_back(g.uniform());
        }
    }
    double operator()(const xnas::cell_space::architecture& a) const {
        double s = space.is_disconnected(a) ? -3.0 : 0.0;
        for (std::size_t e = 0; e < a.ops.size(); ++e)
            s += w[e][a.ops[e]];
        return s;
    }
};

} // namespace

int main(int argc, char** argv) {
    std::size_t trials = 150, seeds = 10;
    for (int i = 1; i < argc; i += 2) {
        const std::string key = argv[i];
        if ((key != "--trials" && key != "--seeds") || i + 1 >= argc) {
            std::fprintf(stderr, "usage: custom_strategy [--trials N] [--seeds S]\n");
            return 2;
        }
        (key == "--seeds" ? seeds : trials) = std::stoul(argv[i + 1]);
    }

    const auto space = xnas::cell_space::nb201();
    const synthetic_score score(space);
    double optimum = -1e9;
    xnas::cell_space::architecture best_cell;
    for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(space.cardinality()); ++i)
        if (const auto a = space.at(i); score(a) > optimum) {
            optimum = score(a);
            best_cell = a;
        }
    std::printf("optimum %.4f at %s (by enumerating %.0f cells)\n", optimum,
                space.to_string(best_cell).c_str(), space.cardinality());
    std::printf("budget %zu trials, %zu seeds\n", trials, seeds);

    auto run = [&](const char* name, auto make_strategy) {
        double regret = 0;
        std::size_t hits = 0;
        for (std::uint64_t seed = 0; seed < seeds; ++seed) {
            const auto study =
                xnas::search(space, make_strategy(), xnas::function_evaluator(std::cref(score)),
                             {.objectives = {{"objective"}}, .max_trials = trials, .seed = seed});
            const double best = study.best().e.value("objective");
            regret += optimum - best;
            hits += best == optimum;
        }
        std::printf("%-20s mean regret %.4f, optimum found in %zu of %zu runs\n", name,
                    regret / static_cast<double>(seeds), hits, seeds);
        return regret;
    };
    const double annealing =
        run("simulated annealing", [] { return simulated_annealing<xnas::cell_space>(); });
    const double random =
        run("random search", [] { return xnas::random_search<xnas::cell_space>(); });
    return annealing <= random ? 0 : 1; // as a CI check: the strategy must beat the baseline
}
