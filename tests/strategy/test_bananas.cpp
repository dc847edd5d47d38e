// bananas: the MLP ensemble learns a separable function, BANANAS beats random search on the
// generated NB201-like problem, runs on cell_space with the path encoding, and honours the
// ask/tell contract.

#include "loop.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <set>
#include <xnas/space/cell_space.hpp>
#include <xnas/strategy/bananas.hpp>
#include <xnas/strategy/random_search.hpp>

using xnas_test::nb201_like;
using xnas_test::toy_cell_space;

TEST_CASE("the MLP ensemble fits a smooth function and is unsure away from data",
          "[strategy][bananas]") {
    xnas::rng g(1);
    std::vector<std::vector<double>> x;
    std::vector<double> y;
    for (int i = 0; i < 60; ++i) {
        const double a = g.uniform(-1, 1), b = g.uniform(-1, 1);
        x.push_back({a, b});
        y.push_back(3 * a - 2 * b + 10);
    }
    xnas::detail::mlp_ensemble e({.epochs = 200});
    e.fit(x, y, g);
    std::vector<double> mean, sd;
    e.predict({{0.5, -0.5}, {0.0, 0.0}, {8.0, 8.0}}, mean, sd);
    CHECK(mean[0] == Approx(12.5).margin(0.4));
    CHECK(mean[1] == Approx(10.0).margin(0.4));
    CHECK(sd[2] > sd[1]); // extrapolation far from the data: members disagree more
}

TEST_CASE("bananas beats random search", "[strategy][quality][bananas]") {
    auto regret = [](auto make) { return xnas_test::mean_nb201_regret(make, 60); };
    const double r_random = regret([] { return xnas::random_search<toy_cell_space>{}; });
    const double r_its = regret([] {
        return xnas::bananas<toy_cell_space>({.ensemble = 3, .hidden = {16, 16}, .epochs = 20});
    });
    const double r_ucb = regret([] {
        return xnas::bananas<toy_cell_space>({.acquisition = xnas::acquisition::ucb,
                                              .ensemble = 3,
                                              .hidden = {16, 16},
                                              .epochs = 20});
    });
    std::printf("bananas mean regret its %.3f ucb %.3f, random %.3f\n", r_its, r_ucb, r_random);
    CHECK(r_its < 0.6 * r_random);
    CHECK(r_ucb < 0.6 * r_random);
}

TEST_CASE("bananas on cell_space with the path encoding", "[strategy][bananas][spaces]") {
    const auto space = xnas::cell_space::nb201().with_encoding(xnas::cell_space::encoding::path);
    auto f = [](const xnas::trial<xnas::cell_space::architecture>& t) {
        const double w[5] = {-3, 0, 1, 2, -1};
        xnas::evaluation e;
        double v = 0;
        for (auto o : t.architecture.ops)
            v += w[o];
        e.objectives["score"] = v;
        return e;
    };
    xnas::bananas<xnas::cell_space> a({.epochs = 30}), b({.epochs = 30});
    const auto ra = xnas_test::run(a, space, f, 40, 3, 3);
    const auto rb = xnas_test::run(b, space, f, 40, 3, 3);
    std::set<std::uint64_t> ids;
    std::set<std::uint64_t> archs;
    bool same = true;
    for (std::size_t i = 0; i < ra.size(); ++i) {
        ids.insert(ra[i].t.id);
        archs.insert(space.index(ra[i].t.architecture));
        same = same && ra[i].t == rb[i].t;
    }
    CHECK(ids.size() == ra.size());
    CHECK(archs.size() == ra.size()); // never re-asks an architecture
    CHECK(same);
    CHECK(a.trainings() >= 2);
}
