// The strategy registry: each shipped name makes its strategy with the settings, an unknown
// name's error lists the known ones, a space offers only the strategies it supports, and copies
// (of a registry or of a type-erased strategy) are independent of the original, and a
// type-erased strategy passes on what it observes and retires.

#include <catch2/catch.hpp>
#include <string>
#include <vector>
#include <xnas/experiment/strategy_registry.hpp>
#include <xnas/space/cell_space.hpp>

using xnas::cell_space;
using namespace xnas::experiment;
using Catch::Matchers::Contains;

namespace {

/// A space with only what every strategy needs: sample and mutate.
struct bare_space {
    using architecture = int;
    architecture sample(xnas::rng& g) const { return static_cast<int>(g.below(100)); }
    architecture mutate(architecture a, xnas::rng& g) const {
        return (a + 1 + static_cast<int>(g.below(98))) % 100;
    }
};

xnas::evaluation scored_as(double v) {
    xnas::evaluation e;
    e.objectives["val_accuracy"] = v;
    e.objectives["params"] = 1000 - 10 * v;
    return e;
}

} // namespace

TEST_CASE("each shipped name makes its strategy", "[experiment][registry]") {
    const auto r = shipped_strategies<cell_space>();
    CHECK(r.names() == std::vector<std::string>{"random", "evolution", "local", "reinforce", "tpe",
                                                "tpe-multivariate", "bananas", "nsga2", "hyperband",
                                                "asha", "bohb"});
    CHECK(r.describe() == "random, evolution, local, reinforce, tpe, tpe-multivariate (decisions "
                          "modelled jointly), bananas, nsga2, hyperband, asha, bohb (hyperband "
                          "with TPE proposals)");
    const strategy_settings s{.primary = {"acc", xnas::direction::maximize},
                              .secondary = {"size", xnas::direction::minimize},
                              .budget = 40,
                              .min_fidelity = 1.0 / 9,
                              .cost_exponent = 0.5,
                              .cost_cooling = true};
    CHECK(r.make("random", s).target<xnas::random_search<cell_space>>());
    const auto evolution = r.make("evolution", s);
    REQUIRE(evolution.target<xnas::regularized_evolution<cell_space>>());
    const auto& eo = evolution.target<xnas::regularized_evolution<cell_space>>()->options();
    CHECK(eo.population_size == 10); // budget / 4
    CHECK(eo.sample_size == 3);
    CHECK(eo.objective.name == "acc");
    const auto local = r.make("local", s);
    CHECK(local.target<xnas::local_search<cell_space>>()->options().objective.name == "acc");
    CHECK(r.make("reinforce", s).target<xnas::reinforce<cell_space>>());
    CHECK(r.make("tpe", s).target<xnas::tpe<cell_space>>());
    CHECK(r.make("tpe-multivariate", s).target<xnas::tpe<cell_space>>());
    const auto bananas = r.make("bananas", s);
    CHECK(bananas.target<xnas::bananas<cell_space>>()->options().initial_samples == 10);
    const auto nsga2 = r.make("nsga2", s);
    const auto& no = nsga2.target<xnas::nsga2<cell_space>>()->options();
    CHECK(no.population_size == 10);
    REQUIRE(no.objectives.size() == 2);
    CHECK(no.objectives[1].name == "size");
    CHECK(no.objectives[1].dir == xnas::direction::minimize);
    const auto hyperband = r.make("hyperband", s);
    CHECK(hyperband.target<xnas::hyperband<cell_space>>()->options().min_fidelity ==
          Approx(1.0 / 9));
    const auto asha = r.make("asha", s);
    CHECK(asha.target<xnas::asha<cell_space>>()->options().min_fidelity == Approx(1.0 / 9));
    const auto bohb = r.make("bohb", s);
    const auto& bo = bohb.target<xnas::bohb<cell_space>>()->options();
    CHECK(bo.model.cost_exponent == 0.5);
    CHECK(bo.model.cost_cooling);
    CHECK(bo.objective.name == "acc");
    // Another type is not the target.
    CHECK(!r.make("random", s).target<xnas::tpe<cell_space>>());
}

TEST_CASE("several objectives reach the strategies that rank by several",
          "[experiment][registry]") {
    const auto r = shipped_strategies<cell_space>();
    const std::vector<xnas::objective> three{{"acc", xnas::direction::maximize},
                                             {"size", xnas::direction::minimize},
                                             {"ms", xnas::direction::minimize}};
    const strategy_settings s{.primary = three[0], .objectives = three};
    CHECK(r.make("asha", s).target<xnas::asha<cell_space>>()->options().objectives == three);
    CHECK(r.make("hyperband", s).target<xnas::hyperband<cell_space>>()->options().objectives ==
          three);
    CHECK(r.make("bohb", s).target<xnas::bohb<cell_space>>()->options().objectives == three);
    CHECK(r.make("tpe", s).target<xnas::tpe<cell_space>>()->options().objectives == three);
    CHECK(r.make("nsga2", s).target<xnas::nsga2<cell_space>>()->options().objectives == three);
    // One objective named: the single-objective strategies as before.
    const strategy_settings one{.primary = three[0], .objectives = {three[0]}};
    CHECK(r.make("asha", one).target<xnas::asha<cell_space>>()->options().objectives.empty());
    CHECK(r.make("nsga2", one).target<xnas::nsga2<cell_space>>()->options().objectives.size() == 2);
}

TEST_CASE("a zero budget and fidelity keep each strategy's defaults", "[experiment][registry]") {
    const auto r = shipped_strategies<cell_space>();
    const auto evolution = r.make("evolution");
    const auto& eo = evolution.target<xnas::regularized_evolution<cell_space>>()->options();
    CHECK(eo.population_size == xnas::regularized_evolution_options{}.population_size);
    CHECK(eo.sample_size == xnas::regularized_evolution_options{}.sample_size);
    const auto hyperband = r.make("hyperband");
    CHECK(hyperband.target<xnas::hyperband<cell_space>>()->options().min_fidelity ==
          Approx(xnas::hyperband_options{}.min_fidelity));
    const auto bananas = r.make("bananas");
    CHECK(bananas.target<xnas::bananas<cell_space>>()->options().initial_samples ==
          xnas::bananas_options{}.initial_samples);
}

TEST_CASE("an unknown name's error lists the names the space offers", "[experiment][registry]") {
    const auto bare = shipped_strategies<bare_space>();
    // Without neighbours, decisions or an encoding: no local, reinforce, tpe, bananas or bohb.
    CHECK(bare.names() ==
          std::vector<std::string>{"random", "evolution", "nsga2", "hyperband", "asha"});
    CHECK_THROWS_WITH(bare.make("tpe"), Contains("unknown strategy \"tpe\"") &&
                                            Contains("random, evolution, nsga2, hyperband, asha"));
    CHECK_THROWS_AS(shipped_strategies<cell_space>().make("anneal"), std::invalid_argument);
}

TEST_CASE("a user adds a strategy; names are unique", "[experiment][registry]") {
    auto r = shipped_strategies<bare_space>();
    const auto original = r;
    r.add("evolution-small", "population 4", [](const strategy_settings& s) {
        return any_strategy<bare_space>(xnas::regularized_evolution<bare_space>(
            {.population_size = 4, .sample_size = 2, .objective = s.primary}));
    });
    CHECK(r.contains("evolution-small"));
    CHECK(!original.contains("evolution-small")); // the copy was independent
    CHECK_THAT(r.describe(" | "), Contains("asha | evolution-small (population 4)"));
    const auto small = r.make("evolution-small");
    CHECK(small.target<xnas::regularized_evolution<bare_space>>()->options().population_size == 4);
    CHECK_THROWS_WITH(r.add("random", "", r.find("random")->make), Contains("taken"));
    CHECK_THROWS_WITH(r.add("", "", r.find("random")->make), Contains("empty name"));
}

TEST_CASE("a copy of a type-erased strategy asks and learns on its own", "[experiment][registry]") {
    const auto space = cell_space::nb201();
    for (const std::string name : {"random", "evolution", "tpe"}) {
        CAPTURE(name);
        auto original = shipped_strategies<cell_space>().make(name, {.budget = 16});
        auto twin = shipped_strategies<cell_space>().make(name, {.budget = 16});
        xnas::rng g_original(3), g_twin(3);
        for (int i = 0; i < 12; ++i) { // past evolution's population and tpe's random start
            const auto a = original.ask(space, g_original);
            const auto b = twin.ask(space, g_twin);
            REQUIRE(a.id == b.id);
            original.tell(a, scored_as(i % 5));
            twin.tell(b, scored_as(i % 5));
        }
        // The copy asks, is told, asks again: were it sharing state with the original, the
        // original's next ask would come after the copy's and differ from the twin's.
        auto copy = original;
        xnas::rng g_copy(9);
        for (int i = 0; i < 4; ++i) {
            const auto t = copy.ask(space, g_copy);
            copy.tell(t, scored_as(90));
        }
        auto assigned = twin;
        assigned = copy; // copy assignment clones too
        (void)assigned.ask(space, g_copy);
        const auto a = original.ask(space, g_original);
        const auto b = twin.ask(space, g_twin);
        CHECK(a.id == b.id);
        CHECK(a.id == 12);
        CHECK(a.architecture == b.architecture);
    }
}

TEST_CASE("any_strategy observes when the strategy can and tells otherwise",
          "[experiment][registry]") {
    const auto r = shipped_strategies<cell_space>();
    CHECK(r.make("evolution").observes());
    CHECK(r.make("tpe").observes());
    CHECK(!r.make("random").observes());
    // Evolution with a population of 4 observes 4 seeds: it is full, so its first ask is a
    // mutation with a parent, where a told (unobserved) result would leave it sampling.
    const auto space = cell_space::nb201();
    auto evolution = r.make("evolution", {.budget = 16});
    xnas::rng g(1);
    for (std::uint64_t i = 0; i < 4; ++i)
        evolution.observe(space, {~std::uint64_t(0) - i, space.sample(g)},
                          scored_as(static_cast<double>(i)));
    const auto t = evolution.ask(space, g);
    REQUIRE(t.parents.size() == 1);
    CHECK(t.parents[0] >= ~std::uint64_t(0) - 3);
}

TEST_CASE("any_strategy hands out the trials a bracket strategy retires",
          "[experiment][registry]") {
    const auto r = shipped_strategies<cell_space>();
    const auto space = cell_space::nb201();
    // Hyperband's first rung (27 trials at 1/27) keeps 9: the other 18 are retired once its
    // last result is told; a strategy without rungs retires nothing.
    auto hb = r.make("hyperband");
    auto random = r.make("random");
    xnas::rng g(2);
    std::vector<std::uint64_t> retired;
    for (int i = 0; i < 27; ++i) {
        const auto t = hb.ask(space, g);
        hb.tell(t, scored_as(static_cast<double>(i)));
        for (const auto id : hb.take_retired())
            retired.push_back(id);
        const auto u = random.ask(space, g);
        random.tell(u, scored_as(static_cast<double>(i)));
        CHECK(random.take_retired().empty());
    }
    CHECK(retired.size() == 18);
}
