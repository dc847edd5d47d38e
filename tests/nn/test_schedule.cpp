#include <catch2/catch.hpp>
#include <cmath>
#include <vector>
#include <xnas/nn/optim/schedule.hpp>

using namespace xnas;

TEST_CASE("constant and step schedules", "[nn][schedule]") {
    CHECK(nn::constant_schedule{.base_lr = 0.05}.lr(1000) == 0.05);
    nn::step_schedule s{.base_lr = 0.1, .step_size = 3, .gamma = 0.5};
    const double expected[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025};
    for (int t = 0; t < 7; ++t)
        CHECK(s.lr(t) == Approx(expected[t]));
    CHECK(s.lr(2.9) == Approx(0.1));
    CHECK_THROWS_AS((nn::step_schedule{.step_size = 0}.lr(1)), std::invalid_argument);
}

TEST_CASE("cosine annealing reaches the minimum and stays there", "[nn][schedule]") {
    nn::cosine_schedule c{.base_lr = 1.0, .period = 4, .min_lr = 0.2};
    CHECK(c.lr(0) == Approx(1.0));
    CHECK(c.lr(1) == Approx(0.2 + 0.8 * (1 + std::sqrt(0.5)) / 2)); // cos(pi/4)
    CHECK(c.lr(2) == Approx(0.6));
    CHECK(c.lr(3) == Approx(0.2 + 0.8 * (1 - std::sqrt(0.5)) / 2));
    CHECK(c.lr(4) == Approx(0.2));
    CHECK(c.lr(10) == Approx(0.2));
    CHECK_THROWS_AS((nn::cosine_schedule{.period = 0}.lr(0)), std::invalid_argument);
}

TEST_CASE("linear warm-up in front of another schedule", "[nn][schedule]") {
    auto w =
        nn::with_warmup(4, nn::cosine_schedule{.base_lr = 0.4, .period = 2, .min_lr = 0}, 0.25);
    // ramp 0.25 -> 1 of 0.4 over 4 steps, then the cosine from its own t = 0
    const double expected[] = {0.1, 0.175, 0.25, 0.325, 0.4, 0.2, 0.0, 0.0};
    for (int t = 0; t < 8; ++t)
        CHECK(w.lr(t) == Approx(expected[t]).margin(1e-12));
    auto none = nn::with_warmup(0, nn::step_schedule{.base_lr = 1, .step_size = 1, .gamma = 0.5});
    CHECK(none.lr(0) == Approx(1));
    CHECK(none.lr(2) == Approx(0.25));
}

TEST_CASE("any_schedule holds any schedule; lr_at gives fractional epochs", "[nn][schedule]") {
    std::vector<nn::any_schedule> all = {
        nn::constant_schedule{.base_lr = 0.3},
        nn::step_schedule{.base_lr = 1, .step_size = 1, .gamma = 0.1},
        nn::with_warmup(2, nn::constant_schedule{.base_lr = 1}, 0.0)};
    CHECK(all[0].lr(5) == Approx(0.3));
    CHECK(all[1].lr(2) == Approx(0.01));
    CHECK(all[2].lr(1) == Approx(0.5));
    nn::any_schedule copy = all[2];
    CHECK(copy.lr(2) == Approx(1));
    nn::cosine_schedule c{.base_lr = 1, .period = 2, .min_lr = 0};
    CHECK(nn::lr_at(c, 0, 1, 2) == Approx(c.lr(0.5)));
    CHECK(nn::lr_at(c, 1, 0, 2) == Approx(0.5));
    CHECK_THROWS_AS(nn::lr_at(c, 1, 0, 0), std::invalid_argument);
    STATIC_REQUIRE(nn::schedule<nn::any_schedule>);
    STATIC_REQUIRE_FALSE(nn::schedule<int>);
}

TEST_CASE("a rescaled schedule reaches its end at a fractional length", "[nn][schedule]") {
    const nn::cosine_schedule five{.base_lr = 0.2, .period = 5};
    const nn::rescaled_schedule<nn::cosine_schedule> fitted{five, 5 / 4.6};
    CHECK(fitted.lr(0) == Approx(0.2));
    CHECK(fitted.lr(2.3) == Approx(0.1)); // half-way through 4.6 is half the rate
    CHECK(fitted.lr(4.6) == Approx(0).margin(1e-12));
    CHECK(fitted.lr(4.9) == Approx(0).margin(1e-12)); // stays at the minimum
    CHECK(fitted.lr(1.7) == Approx(five.lr(1.7 * 5 / 4.6)));
    const nn::rescaled_schedule<nn::cosine_schedule> same{five, 1};
    for (double t : {0.0, 0.5, 3.25, 5.0})
        CHECK(same.lr(t) == five.lr(t));
    CHECK_THROWS_WITH((nn::rescaled_schedule<nn::cosine_schedule>{five, 0}.lr(1)),
                      Catch::Matchers::Contains("rate is 0"));
    CHECK_THROWS_AS((nn::rescaled_schedule<nn::cosine_schedule>{five, std::nan("")}.lr(1)),
                    std::invalid_argument);
    STATIC_REQUIRE(nn::schedule<nn::rescaled_schedule<nn::cosine_schedule>>);
}
