#include "../nn/gradient_check.hpp"
#include "oneshot/fixtures.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <xnas/data/dataset.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/mixed_op.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/oneshot/cell_supernet.hpp>
#include <xnas/train/recalibrate.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace cell_supernet_tests {

using oneshot_fixtures::small_cells;

nn::network<double> dense_op(std::size_t in, std::size_t out, rng& g) {
    nn::network<double> net({in});
    net.add(nn::dense<double>(in, out));
    net.add(nn::tanh<double>());
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    return net;
}

nn::mixed_op<double> three_ops(rng& g) {
    std::vector<std::optional<nn::network<double>>> c;
    c.emplace_back(dense_op(3, 3, g));
    c.emplace_back(nn::network<double>({3})); // identity
    c.emplace_back();                         // none
    c.emplace_back(dense_op(3, 3, g));
    return nn::mixed_op<double>({3}, std::move(c));
}

nn::array<float> input_batch(std::size_t n, const nn::shape& sample, rng& g) {
    nn::array<float> x = nn::array<float>::from_shape(nn::with_batch(n, sample));
    for (auto& v : x)
        v = static_cast<float>(g.uniform(-1, 1));
    return x;
}

double largest_difference(const nn::array<float>& a, const nn::array<float>& b) {
    REQUIRE(a.shape() == b.shape());
    double d = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        d = std::max(d, std::abs(static_cast<double>(a.data()[i]) - b.data()[i]));
    return d;
}

// A few SGD steps along random paths, so that weights and batch-norm statistics are not the
// initial ones.
void train_paths(cell_supernet& s, rng& g, std::size_t steps) {
    nn::sgd<float> opt({.lr = 0.05});
    auto params = s.network().parameters();
    for (std::size_t k = 0; k < steps; ++k) {
        s.activate(s.space().sample(g));
        const nn::array<float> x = input_batch(6, s.network().input_shape(), g);
        nn::array<float> dy = s.network().forward(x, nn::mode::train);
        s.network().backward(dy);
        opt.step(params);
    }
}

} // namespace cell_supernet_tests

using namespace cell_supernet_tests;

TEST_CASE("mixed_op: weight, input and logit gradients of the mixture match finite differences",
          "[oneshot][mixed_op]") {
    rng g(3);
    nn::mixed_op<double> m = three_ops(g);
    const std::vector<double> alpha{0.3, -0.2, 0.5, 0.1};
    m.mix(alpha);
    const nn::array<double> x = test::uniform_array({4, 3}, g);
    test::check_layer_gradients(m, x, g, 1e-6);

    // dL/dalpha for L = <r, y>, against central differences of the logits
    nn::array<double> y;
    m.forward(x, y, nn::mode::train);
    const nn::array<double> r = test::uniform_array({4, 3}, g);
    nn::array<double> dx;
    m.backward(x, y, r, &dx);
    const nn::array<double> analytic = m.alpha_gradient();
    for (std::size_t k = 0; k < alpha.size(); ++k) {
        auto loss = [&](double shift) {
            std::vector<double> a = alpha;
            a[k] += shift;
            nn::mixed_op<double> copy = m;
            copy.mix(a);
            nn::array<double> out;
            copy.forward(x, out, nn::mode::train);
            double s = 0;
            for (std::size_t i = 0; i < out.size(); ++i)
                s += out.data()[i] * r.data()[i];
            return s;
        };
        const double numeric = (loss(1e-6) - loss(-1e-6)) / 2e-6;
        INFO("logit " << k << ": analytic " << analytic.data()[k] << ", numeric " << numeric);
        CHECK(test::relative_error(analytic.data()[k], numeric) < 1e-6);
    }
}

TEST_CASE("mixed_op: a single path runs the chosen candidate and zeroes the others' gradients",
          "[oneshot][mixed_op]") {
    rng g(4);
    nn::mixed_op<double> m = three_ops(g);
    const nn::array<double> x = test::uniform_array({2, 3}, g);
    for (std::size_t k : {0u, 3u}) {
        m.choose(k);
        nn::array<double> y;
        m.forward(x, y, nn::mode::train);
        const nn::array<double>& alone = m.candidate(k)->forward(x, nn::mode::train);
        for (std::size_t i = 0; i < y.size(); ++i)
            CHECK(y.data()[i] == alone.data()[i]);
        for (auto& p : m.parameters())
            std::fill(p.gradient->begin(), p.gradient->end(), 7.0);
        m.forward(x, y, nn::mode::train);
        m.backward(x, y, y, nullptr);
        const std::string own = std::to_string(k) + ".";
        for (auto& p : m.parameters()) {
            const bool chosen = p.name.rfind(own, 0) == 0;
            double sum = 0;
            for (double v : *p.gradient)
                sum += std::abs(v);
            INFO(p.name);
            CHECK((chosen ? sum > 0 : sum == 0));
        }
    }
    m.choose(2); // none: zeros out, zero input gradient
    nn::array<double> y, dx;
    m.forward(x, y, nn::mode::train);
    m.backward(x, y, y, &dx);
    for (double v : y)
        CHECK(v == 0);
    for (double v : dx)
        CHECK(v == 0);
    CHECK_THROWS_AS(m.choose(4), std::out_of_range);
    CHECK_THROWS_WITH(m.mix(std::vector<double>{1, 2}), Contains("2 logits for 4 candidates"));
}

TEST_CASE("cell_supernet: an extracted path computes the supernet's output",
          "[oneshot][cell_supernet]") {
    for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
        rng g(seed);
        cell_supernet s(cell_space::nb201(), small_cells(), {}, seed);
        train_paths(s, g, 5);
        for (int k = 0; k < 6; ++k) {
            const cell_space::architecture a = s.space().sample(g);
            INFO("seed " << seed << ", " << s.space().to_string(a));
            nn::network<float> alone = s.extract(a);
            rng unused(0);
            CHECK(alone.parameter_count() == s.builder().build(a, unused).parameter_count());
            const nn::array<float> x = input_batch(5, alone.input_shape(), g);
            for (nn::mode m : {nn::mode::eval, nn::mode::train}) {
                s.activate(a);
                const nn::array<float> want = s.network().forward(x, m);
                CHECK(largest_difference(alone.forward(x, m), want) <= 1e-6);
            }
        }
    }
}

TEST_CASE("cell_supernet: training one path changes the weights another path uses, and only the "
          "path's own",
          "[oneshot][cell_supernet]") {
    rng g(5);
    cell_supernet s(cell_space::nb201(), small_cells(), {}, 5);
    const cell_space& space = s.space();
    // a and b share nor_conv_3x3 on edge 0 -> 1; c has nor_conv_1x1 there
    const auto a = space.make(
        {"nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "skip_connect", "none"});
    const auto b = space.make(
        {"nor_conv_3x3", "none", "nor_conv_1x1", "skip_connect", "none", "nor_conv_3x3"});
    const auto c = space.make({"nor_conv_1x1", "none", "none", "none", "none", "skip_connect"});
    nn::network<float> b_before = s.extract(b);
    nn::network<float> c_before = s.extract(c);

    s.activate(a);
    const nn::array<float> x = input_batch(6, s.network().input_shape(), g);
    nn::array<float> dy = s.network().forward(x, nn::mode::train);
    s.network().backward(dy);
    nn::sgd<float> opt({.lr = 0.1});
    opt.step(s.network().parameters());

    // Compare weights only: batch-norm statistics move with any forward in train mode.
    auto changed = [](nn::network<float>& before, nn::network<float> after, std::size_t node) {
        auto p = before.layer(node).parameters();
        auto q = after.layer(node).parameters();
        REQUIRE(p.size() == q.size());
        return *p[0].value != *q[0].value; // the layer's weight
    };
    // b's edge 0 -> 1 conv (node 4 of its network: stem conv, bn, relu, conv) is a's
    CHECK(changed(b_before, s.extract(b), 4));
    // c's nor_conv_1x1 on that edge is off a's path: bit-identical
    CHECK_FALSE(changed(c_before, s.extract(c), 4));
    // the stem is on every path
    CHECK(changed(c_before, s.extract(c), 1));
}

TEST_CASE("cell_supernet: the same seed gives the same weights", "[oneshot][cell_supernet]") {
    cell_supernet one(cell_space::nb201(), small_cells(), {}, 8),
        two(cell_space::nb201(), small_cells(), {}, 8),
        other(cell_space::nb201(), small_cells(), {}, 9);
    auto p = one.network().parameters(), q = two.network().parameters(),
         r = other.network().parameters();
    REQUIRE(p.size() == q.size());
    bool all_equal = true, any_differs = false;
    for (std::size_t k = 0; k < p.size(); ++k) {
        all_equal = all_equal && *p[k].value == *q[k].value;
        any_differs = any_differs || *p[k].value != *r[k].value;
    }
    CHECK(all_equal);
    CHECK(any_differs);
}

TEST_CASE("cell_supernet: a user op that cannot share weights is refused",
          "[oneshot][cell_supernet]") {
    const cell_space space(3, {"none", "skip_connect", "shifty"});
    std::size_t calls = 0;
    // every build of the op has another width: no path could inherit a fixed weight
    cell_builder::edge_op shifty = [&calls](std::size_t c) {
        ++calls;
        std::vector<nn::any_layer<float>> layers;
        for (std::size_t k = 0; k < calls % 2 + 1; ++k)
            layers.emplace_back(nn::conv2d<float>(
                {.in_channels = c, .out_channels = c, .kernel_h = 1, .kernel_w = 1}));
        return layers;
    };
    CHECK_THROWS_WITH(cell_supernet(space, small_cells(), {{"shifty", shifty}}),
                      Contains("op \"shifty\" cannot share weights"));
    cell_builder::edge_op fixed = [](std::size_t c) {
        return std::vector<nn::any_layer<float>>{
            nn::conv2d<float>({.in_channels = c, .out_channels = c, .kernel_h = 1, .kernel_w = 1})};
    };
    cell_supernet ok(space, small_cells(), {{"shifty", fixed}});
    rng g(1);
    const auto a = space.make({"shifty", "skip_connect", "shifty"});
    nn::network<float> alone = ok.extract(a);
    const nn::array<float> x = input_batch(3, alone.input_shape(), g);
    ok.activate(a);
    CHECK(largest_difference(alone.forward(x, nn::mode::eval),
                             ok.network().forward(x, nn::mode::eval)) <= 1e-6);
}

TEST_CASE("recalibrate_batch_norm: running statistics become the average of the batches'",
          "[oneshot][recalibrate]") {
    rng g(6);
    nn::network<float> net({2});
    net.add(nn::batch_norm<float>(2, 1e-5, 0.3));
    data::dataset<float> ds;
    ds.x = nn::array<float>::from_shape({10, 2});
    for (auto& v : ds.x)
        v = static_cast<float>(g.uniform(-2, 3));
    ds.labels.assign(10, 0);
    ds.num_classes = 1;
    // batches of 4: rows 0-3 and 4-7 (2 batches asked for; the last, rows 8-9, unused)
    REQUIRE(train::recalibrate_batch_norm(net, ds, 4, 2) == 2);
    auto* bn = net.layer(1).target<nn::batch_norm<float>>();
    for (std::size_t ch = 0; ch < 2; ++ch) {
        double mean_of_means = 0, mean_of_vars = 0;
        for (std::size_t b = 0; b < 2; ++b) {
            double m = 0, q = 0;
            for (std::size_t i = 0; i < 4; ++i)
                m += ds.x(4 * b + i, ch) / 4.0;
            for (std::size_t i = 0; i < 4; ++i)
                q += (ds.x(4 * b + i, ch) - m) * (ds.x(4 * b + i, ch) - m) / 3.0;
            mean_of_means += m / 2;
            mean_of_vars += q / 2;
        }
        CHECK(bn->running_mean()(ch) == Approx(mean_of_means).epsilon(1e-5));
        CHECK(bn->running_var()(ch) == Approx(mean_of_vars).epsilon(1e-5));
    }
    CHECK(bn->options().momentum == 0.3); // restored
}
