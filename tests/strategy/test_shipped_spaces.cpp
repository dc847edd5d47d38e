// Every strategy runs on the shipped spaces (cell_space::nb201(), chain_space::image()), each
// constrained only on the space abilities it needs, with unique ids and reproducible trials.

#include "loop.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <xnas/space/cell_space.hpp>
#include <xnas/space/chain_space.hpp>
#include <xnas/space/param_space.hpp>
#include <xnas/strategy.hpp>

namespace {

// A score on NB201 cells: conv3x3 best, none worst, per edge.
double cell_score(const xnas::cell_space::architecture& a) {
    const double w[5] = {-3, 0, 1, 2, -1};
    double v = 0;
    for (std::size_t e = 0; e < a.ops.size(); ++e)
        v += w[a.ops[e]] * (1.0 + 0.1 * static_cast<double>(e));
    return v;
}

// A score on chains: reward depth, penalise width.
double chain_score(const xnas::chain_space& s, const xnas::chain_space::architecture& a) {
    double v = static_cast<double>(a.layers.size());
    for (const auto& l : a.layers)
        if (s.has(l, "c"))
            v -= 0.01 * static_cast<double>(s.int_value(l, "c"));
    return v;
}

template <class Space, class St, class F>
void exercise(const Space& space, St make_st, F score) {
    for (std::size_t parallel : {1, 6}) {
        auto a = make_st();
        auto b = make_st();
        auto f = [&](const auto& t) {
            xnas::evaluation e;
            e.objectives["score"] = score(t.architecture) * (0.5 + 0.5 * t.fidelity);
            e.objectives["size"] = 1.0; // a constant second objective for nsga2
            return e;
        };
        const auto ra = xnas_test::run(a, space, f, 120, 21, parallel);
        const auto rb = xnas_test::run(b, space, f, 120, 21, parallel);
        std::set<std::uint64_t> ids;
        bool same = true;
        for (std::size_t i = 0; i < ra.size(); ++i) {
            ids.insert(ra[i].t.id);
            same = same && ra[i].t == rb[i].t;
        }
        CHECK(ids.size() == ra.size());
        CHECK(same);
        CHECK(xnas_test::best_of(ra) > -1e300);
    }
}

using xnas_test::score;

template <class Space, class F>
void exercise_all(const Space& space, F f) {
    exercise(
        space, [] { return xnas::random_search<Space>({.unique = true}); }, f);
    exercise(
        space,
        [] {
            return xnas::regularized_evolution<Space>({.population_size = 20,
                                                       .sample_size = 5,
                                                       .crossover_probability = 0.5,
                                                       .objective = score});
        },
        f);
    exercise(
        space, [] { return xnas::local_search<Space>({.objective = score}); }, f);
    exercise(
        space, [] { return xnas::reinforce<Space>({.objective = score}); }, f);
    exercise(
        space,
        [] {
            return xnas::nsga2<Space>({.population_size = 20,
                                       .objectives = {score, {"size", xnas::direction::minimize}}});
        },
        f);
    exercise(
        space, [] { return xnas::successive_halving<Space>({.objective = score}); }, f);
    exercise(
        space, [] { return xnas::hyperband<Space>({.objective = score}); }, f);
    exercise(
        space, [] { return xnas::asha<Space>({.objective = score}); }, f);
}

} // namespace

TEST_CASE("every strategy searches cell_space::nb201()", "[strategy][spaces]") {
    exercise_all(xnas::cell_space::nb201(), cell_score);
}

TEST_CASE("every strategy searches chain_space::image()", "[strategy][spaces]") {
    const auto s = xnas::chain_space::image();
    exercise_all(s, [&](const auto& a) { return chain_score(s, a); });
}

TEST_CASE("local search on cell_space climbs to the known optimum", "[strategy][spaces][local]") {
    const auto s = xnas::cell_space::nb201();
    xnas::local_search<xnas::cell_space> ls;
    const auto rs = xnas_test::run(
        ls, s,
        [](const auto& t) {
            xnas::evaluation e;
            e.objectives["score"] = cell_score(t.architecture);
            return e;
        },
        150, 3);
    CHECK(xnas_test::best_of(rs) ==
          Approx(cell_score(s.make(std::vector<std::string>(6, "nor_conv_3x3")))));
}

TEST_CASE("every strategy searches a param_space", "[strategy][spaces]") {
    const auto s = xnas::param_space{}
                       .add_categorical("opt", {"sgd", "adam"})
                       .add_float("momentum", 0, 0.99, xnas::when("opt", {"sgd"}))
                       .add_int("layers", 1, 6)
                       .add_log_float("lr", 1e-4, 1e-1);
    exercise_all(s, [](const xnas::param_space::architecture& a) {
        return static_cast<double>(std::get<std::int64_t>(a.at("layers"))) -
               std::abs(std::log10(std::get<double>(a.at("lr"))) + 2.5);
    });
}
