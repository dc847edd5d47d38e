#include <catch2/catch.hpp>
#include <cmath>
#include <xnas/evaluate/cell_builder.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/zero_cost.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/identity.hpp>

using namespace xnas;

namespace {
// A user-side ReLU (spec type "relu"): NASWOT finds ReLU layers by their spec.
struct test_relu {
    using value_type = double;
    void forward(const nn::array<double>& x, nn::array<double>& y, nn::mode) {
        nn::ensure_shape(y, {x.shape().begin(), x.shape().end()});
        for (std::size_t i = 0; i < x.size(); ++i)
            y.data()[i] = x.data()[i] > 0 ? x.data()[i] : 0.0;
    }
    void backward(const nn::array<double>& x, const nn::array<double>&, const nn::array<double>& dy,
                  nn::array<double>* dx) {
        if (!dx)
            return;
        nn::ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        for (std::size_t i = 0; i < x.size(); ++i)
            dx->data()[i] = x.data()[i] > 0 ? dy.data()[i] : 0.0;
    }
    std::vector<nn::parameter<double>> parameters() { return {}; }
    nn::shape output_shape(const nn::shape& in) const { return in; }
    std::size_t parameter_count() const { return 0; }
    std::size_t flops(const nn::shape& in) const { return nn::volume(in); }
    nn::layer_spec spec() const { return {"relu", {}}; }
};

/// NASWOT as Mellor et al. define it, written independently of evaluate::naswot: codes are
/// the ReLU layers' outputs > 0 (not their inputs), every other layer is skipped.
template <class T>
double naswot_of_relu_outputs(const nn::network<T>& net, const nn::array<T>& x) {
    nn::network<T> probe = net;
    probe.forward(x, nn::mode::train);
    const std::size_t n = x.shape()[0];
    std::vector<double> k(n * n, 0.0);
    for (std::size_t id = 1; id < probe.size(); ++id) {
        if (probe.layer(id).spec().type != "relu")
            continue;
        const auto& a = probe.activation(id);
        const std::size_t per = a.size() / n;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j)
                for (std::size_t u = 0; u < per; ++u)
                    k[i * n + j] += (a.data()[i * per + u] > 0) == (a.data()[j * per + u] > 0);
    }
    return evaluate::detail::log_abs_det(k, n);
}

template <class B, class A>
nn::network<float> initialised(const B& builder, const A& a, std::uint64_t seed) {
    rng g(seed);
    nn::network<float> net = builder.build(a, g);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    return net;
}

nn::array<float> gaussian(std::vector<std::size_t> shape, std::uint64_t seed) {
    rng g(seed);
    nn::array<float> x = nn::array<float>::from_shape(shape);
    for (auto& v : x)
        v = static_cast<float>(g.normal());
    return x;
}
} // namespace

TEST_CASE("log_abs_det matches hand-computed determinants", "[evaluate][zero_cost]") {
    CHECK(evaluate::detail::log_abs_det({2, 1, 1, 3}, 2) == Approx(std::log(5.0)));
    CHECK(evaluate::detail::log_abs_det({0, 2, 3, 0}, 2) == Approx(std::log(6.0))); // needs a pivot
    CHECK(std::isinf(evaluate::detail::log_abs_det({1, 2, 2, 4}, 2)));
}

TEST_CASE("synflow of a bias-free linear chain is twice its synaptic flow",
          "[evaluate][zero_cost]") {
    // R(theta) is homogeneous of degree 2 in (W1, W2), so sum theta dR/dtheta = 2 R (Euler).
    nn::network<double> net({2});
    nn::dense<double> a(2, 3, false), b(3, 1, false);
    a.weight() = {{1, -2}, {0.5, 1}, {-1, 3}};
    b.weight() = {{2, -1, 0.5}};
    net.add(a);
    net.add(b);
    // |W2| |W1| 1 = 2*3 + 1*1.5 + 0.5*4 = 9.5
    CHECK(evaluate::synflow(net) == Approx(2 * 9.5));
    CHECK(net.layer(1).target<nn::dense<double>>()->weight()(0, 1) ==
          -2.0); // the original is untouched
}

TEST_CASE("NASWOT scores activation-pattern diversity", "[evaluate][zero_cost]") {
    nn::network<double> net({2});
    nn::dense<double> d(2, 2, false);
    d.weight() = {{1, 0}, {0, 1}}; // codes are the signs of the inputs
    net.add(d);
    net.add(test_relu{});
    // Codes (1,1) and (1,0): K = [[2,1],[1,2]], det 3.
    nn::array<double> x = {{1, 1}, {1, -1}};
    CHECK(evaluate::naswot(net, x) == Approx(std::log(3.0)));
    // Identical codes make K singular: the least diverse network scores -infinity.
    nn::array<double> same = {{1, 1}, {2, 3}};
    CHECK(std::isinf(evaluate::naswot(net, same)));

    nn::network<double> linear({2});
    linear.add(d);
    CHECK_THROWS_WITH(evaluate::naswot(linear, x),
                      Catch::Matchers::Contains("no element-wise activation"));
    CHECK_THROWS_AS(evaluate::naswot(net, nn::array<double>{{1, 1}}), std::invalid_argument);
}

TEST_CASE("NASWOT codes every shipped activation by the sign of its pre-activation",
          "[evaluate][zero_cost]") {
    // Pre-activations W x of the three samples: (1, 1, 2), (1, -2, -1), (-1, 2, 1), so the codes
    // are 111, 100, 011 and K = 3 - Hamming = [[3,1,2],[1,3,0],[2,0,3]], det 27 - 3 - 12 = 12.
    nn::dense<double> d(2, 3, false);
    d.weight() = {{1, 0}, {0, 1}, {1, 1}};
    const nn::array<double> x = {{1, 1}, {1, -2}, {-1, 2}};
    auto score = [&](nn::any_layer<double> act) {
        nn::network<double> net({2});
        net.add(d);
        net.add(std::move(act));
        return evaluate::naswot(net, x);
    };
    CHECK(score(nn::relu<double>()) == Approx(std::log(12.0)));
    const double gelu = score(nn::gelu<double>());
    CHECK(std::isfinite(gelu));
    CHECK(gelu == Approx(std::log(12.0)));
    CHECK(score(nn::leaky_relu<double>(0.1)) == Approx(std::log(12.0)));
    CHECK(score(nn::tanh<double>()) == Approx(std::log(12.0)));
    // Coding sigmoid's outputs (all > 0) would make K all 3s, singular: the input's sign is not.
    CHECK(score(nn::sigmoid<double>()) == Approx(std::log(12.0)));
}

TEST_CASE("NASWOT codes an activation fed by several nodes by the merged input",
          "[evaluate][zero_cost]") {
    rng g(3);
    nn::dense<float> a(4, 16), b(4, 16);
    nn::init::apply(a, nn::init::scheme::pytorch_default, g);
    nn::init::apply(b, nn::init::scheme::pytorch_default, g);
    const nn::array<float> x = gaussian({8, 4}, 4);
    for (const auto m : {nn::merge_op::add, nn::merge_op::concat}) {
        // The activation merges its inputs itself, or an identity node merges them first.
        nn::network<float> direct({4}), staged({4});
        for (auto* net : {&direct, &staged}) {
            net->add(a, {0});
            net->add(b, {0});
        }
        direct.add(nn::gelu<float>(), {1, 2}, m);
        staged.add(nn::identity<float>(), {1, 2}, m);
        staged.add(nn::gelu<float>());
        const double s = evaluate::naswot(direct, x);
        CHECK(std::isfinite(s));
        CHECK(s == evaluate::naswot(staged, x));
    }
}

TEST_CASE("NASWOT of ReLU networks is Mellor et al.'s, coded by the ReLU outputs",
          "[evaluate][zero_cost]") {
    const nn::array<float> x = gaussian({16, 1, 8, 8}, 42);
    chain_space chains(
        {{"conv",
          1,
          2,
          {{"conv",
            {chain_space::choice::ints("k", {1, 3}), chain_space::choice::ints("c", {4, 8})}}}},
         {"dense", 1, 2, {{"dense", {chain_space::choice::ints("w", {8, 16})}}}}});
    const chain_builder cb(chains, {.input = {1, 8, 8}, .classes = 3});
    const cell_space cells = cell_space::nb201();
    const cell_builder clb(cells, {.input = {1, 8, 8}, .classes = 3, .channels = 4, .stages = 2});
    rng g(42);
    for (int i = 0; i < 4; ++i) {
        const auto net = initialised(cb, chains.sample(g), 7);
        const double s = evaluate::naswot(net, x);
        CHECK(std::isfinite(s));
        CHECK(s == naswot_of_relu_outputs(net, x));
        const auto cell_net = initialised(clb, cells.sample(g), 9);
        CHECK(evaluate::naswot(cell_net, x) == naswot_of_relu_outputs(cell_net, x));
    }
}
