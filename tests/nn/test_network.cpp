#include "gradient_check.hpp"
#include "network_test_layers.hpp"

#include <catch2/catch.hpp>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/network.hpp>

using namespace xnas;

namespace {

template <class T>
void randomize(nn::network<T>& net, rng& g) {
    for (auto& p : net.parameters())
        test::fill_uniform(*p.value, g, -0.8, 0.8);
}

// input(4) -> 1 dense(4,5) -> 2 tanh -> 3 dense(5,5) [from 1; node 1 has two consumers]
// -> 4 scale(add of 2, 3) -> 5 dense(10,3) (concat of 4, 2; node 2 has two consumers) -> 6 tanh
nn::network<double> make_dag() {
    nn::network<double> net({4});
    auto n1 = net.add(nn::dense<double>(4, 5));
    auto n2 = net.add(test::tanh_layer<double>{});
    auto n3 = net.add(nn::dense<double>(5, 5), {n1});
    auto n4 = net.add(test::scale_layer<double>{}, {n2, n3}, nn::merge_op::add);
    net.add(nn::dense<double>(10, 3), {n4, n2}, nn::merge_op::concat);
    net.add(test::tanh_layer<double>{});
    return net;
}

} // namespace

TEST_CASE("network gradients through a DAG match finite differences", "[nn][network]") {
    rng g(11);
    auto net = make_dag();
    randomize(net, g);
    REQUIRE(net.size() == 7);
    REQUIRE(net.output_shape() == nn::shape{3});
    nn::array<double> x = nn::array<double>::from_shape({3, 4});
    test::fill_uniform(x, g);
    // the network models nn::layer, so the layer checker drives it (input gradient included)
    test::check_layer_gradients(net, x, g, 1e-6);
}

TEST_CASE("network gradients with the input used twice and a dead branch", "[nn][network]") {
    rng g(12);
    nn::network<double> net({3});
    auto a = net.add(nn::dense<double>(3, 3));
    net.add(nn::dense<double>(3, 2), {0}); // dead branch: nothing consumes it
    auto c = net.add(test::tanh_layer<double>{}, {a, 0, a}, nn::merge_op::add);
    net.add(nn::dense<double>(6, 2), {c, 0}, nn::merge_op::concat);
    randomize(net, g);
    nn::array<double> x = nn::array<double>::from_shape({2, 3});
    test::fill_uniform(x, g);
    test::check_layer_gradients(net, x, g, 1e-6);
    // the dead branch gets zero gradients
    nn::array<double> dy = net.forward(x, nn::mode::train);
    dy.fill(1.0);
    net.backward(dy);
    for (auto& p : net.layer(2).parameters())
        for (double v : *p.gradient)
            CHECK(v == 0.0);
}

namespace {

// Wraps a layer to record, per backward call, whether it was asked for the input gradient.
template <class Layer>
struct recording : Layer {
    std::vector<bool>* dx_asked;
    recording(Layer l, std::vector<bool>* log)
        : Layer(std::move(l))
        , dx_asked(log) {}
    void backward(const nn::array<double>& x, const nn::array<double>& y,
                  const nn::array<double>& dy, nn::array<double>* dx) {
        dx_asked->push_back(dx != nullptr);
        Layer::backward(x, y, dy, dx);
    }
};

} // namespace

TEST_CASE("backward without dx skips work that no parameter needs", "[nn][network]") {
    // input -> tanh (no parameters) -> dense -> tanh: without dx nothing upstream of the dense
    // layer needs a gradient, so the first tanh is not run backward and the dense layer skips
    // its input-gradient GEMM; with dx every layer passes the gradient on.
    std::vector<bool> first, middle, last;
    nn::network<double> net({2});
    net.add(recording<test::tanh_layer<double>>({}, &first));
    net.add(recording<nn::dense<double>>(nn::dense<double>(2, 3), &middle));
    net.add(recording<test::tanh_layer<double>>({}, &last));
    rng g(5);
    randomize(net, g);
    nn::array<double> x = {{0.1, 0.2}}, dx;
    nn::array<double> dy = net.forward(x, nn::mode::train);
    net.backward(dy);
    CHECK(first.empty());
    CHECK(middle == std::vector<bool>{false});
    CHECK(last == std::vector<bool>{true});
    net.backward(dy, &dx);
    CHECK(first == std::vector<bool>{true});
    CHECK(middle == std::vector<bool>{false, true});
    CHECK(dx.shape() == x.shape());
}

TEST_CASE("skipped input gradients leave parameter gradients unchanged", "[nn][network]") {
    rng g(6);
    nn::network<double> net({3});
    net.add(test::tanh_layer<double>{});
    net.add(nn::dense<double>(3, 4));
    net.add(test::tanh_layer<double>{});
    net.add(nn::dense<double>(4, 2));
    randomize(net, g);
    nn::array<double> x = nn::array<double>::from_shape({5, 3}), dx;
    test::fill_uniform(x, g);
    nn::array<double> dy = net.forward(x, nn::mode::train);
    dy.fill(0.5);
    net.backward(dy, &dx);
    std::vector<nn::array<double>> with_dx;
    for (auto& p : net.parameters())
        with_dx.push_back(*p.gradient);
    net.backward(dy);
    std::size_t k = 0;
    for (auto& p : net.parameters()) {
        const bool same = *p.gradient == with_dx[k++];
        CHECK(same);
    }
    test::check_layer_gradients(net, x, g, 1e-6);
}

TEST_CASE("a sequential network computes the composition of its layers", "[nn][network]") {
    nn::network<float> net({2});
    nn::dense<float> d1(2, 2), d2(2, 1);
    d1.weight() = {{1, 2}, {3, 4}};
    d1.bias() = {1, -1};
    d2.weight() = {{1, -1}};
    d2.bias() = {0.5f};
    net.add(d1);
    net.add(d2);
    nn::array<float> x = {{1, 1}, {2, 0}};
    const auto& y = net.forward(x, nn::mode::eval);
    // d1: (4, 6), (3, 5); d2: -2 + .5, -2 + .5
    REQUIRE(y.shape() == std::vector<std::size_t>{2, 1});
    CHECK(y(0, 0) == -1.5f);
    CHECK(y(1, 0) == -1.5f);
    CHECK(net.parameter_count() == 6 + 3);
    CHECK(net.flops() == (2 * 2 * 2 + 2) + (2 * 2 * 1 + 1));
    CHECK(net.layer(1).spec().type == "dense");
    CHECK(net.layer(1).target<nn::dense<float>>() != nullptr);
    CHECK(net.layer_count() == 2);
}

TEST_CASE("parameters are prefixed by node id in a stable order", "[nn][network]") {
    auto net = make_dag();
    auto ps = net.parameters();
    std::vector<std::string> names;
    for (auto& p : ps)
        names.push_back(p.name);
    CHECK(names == std::vector<std::string>{"1.weight", "1.bias", "3.weight", "3.bias", "4.alpha",
                                            "5.weight", "5.bias"});
    CHECK(net.parameter_count() == (20 + 5) + (25 + 5) + 1 + (30 + 3));
    // flops: dense 2*in*out+out; tanh, scale: volume; add merge of two 5-vectors: 5
    CHECK(net.flops() == (40 + 5) + 5 + (50 + 5) + (5 + 5) + (60 + 3) + 3);
}

TEST_CASE("a user layer without spec plugs in and trains", "[nn][network]") {
    nn::network<double> net({3});
    net.add(test::scale_layer<double>{});
    CHECK(net.layer(1).spec().type == "custom");
    nn::array<double> x = {{1, 2, 3}};
    nn::array<double> y = net.forward(x, nn::mode::train);
    CHECK(y(0, 2) == 3.0);
    nn::array<double> dy = {{1, 1, 1}};
    net.backward(dy);
    CHECK((*net.parameters()[0].gradient)(0) == 6.0);
}

TEST_CASE("add reports shape errors naming the node, the layer type and the shapes",
          "[nn][network]") {
    nn::network<float> net({8});
    auto a = net.add(nn::dense<float>(8, 4));
    CHECK_THROWS_AS(net.add(nn::dense<float>(5, 2)), shape_error);
    CHECK_THROWS_WITH(net.add(nn::dense<float>(5, 2)),
                      Catch::Matchers::Contains("node 2 (dense)") &&
                          Catch::Matchers::Contains("(4)") &&
                          Catch::Matchers::Contains("expects (5)"));
    CHECK_THROWS_WITH(net.add(test::image_only_layer<float>{}),
                      Catch::Matchers::Contains("node 2 (image_only)") &&
                          Catch::Matchers::Contains("(C, H, W)"));
    CHECK_THROWS_WITH(net.add(test::tanh_layer<float>{}, {a, 0}, nn::merge_op::add),
                      Catch::Matchers::Contains("node 2 (test_tanh)") &&
                          Catch::Matchers::Contains("cannot add") &&
                          Catch::Matchers::Contains("(8)"));
    CHECK_THROWS_AS(net.add(test::tanh_layer<float>{}, {2}), std::out_of_range);
    CHECK_THROWS_AS(net.add(test::tanh_layer<float>{}, {}), std::invalid_argument);
    CHECK(net.size() == 2); // failed adds leave the network unchanged
    nn::array<float> x = nn::array<float>::from_shape({2, 7});
    CHECK_THROWS_WITH(net.forward(x, nn::mode::eval), Catch::Matchers::Contains("(N, 8)"));
    CHECK_THROWS_AS(net.backward(nn::array<float>::from_shape({2, 4})), std::logic_error);
}

TEST_CASE("forward and backward reuse buffers across batches of one size", "[nn][network]") {
    rng g(9);
    auto net = make_dag();
    randomize(net, g);
    nn::array<double> x = nn::array<double>::from_shape({5, 4}), dx;
    test::fill_uniform(x, g);
    auto pass = [&] {
        nn::array<double> dy = net.forward(x, nn::mode::train);
        net.backward(dy, &dx);
        std::vector<const double*> where;
        for (std::size_t id = 0; id < net.size(); ++id)
            where.push_back(net.activation(id).data());
        for (auto& p : net.parameters())
            where.push_back(p.gradient->data());
        return where;
    };
    const auto first = pass();
    const double* dx_at = dx.data();
    CHECK(pass() == first); // no activation or gradient buffer moved: nothing was reallocated
    CHECK(dx.data() == dx_at);
    CHECK(net.activation(0).data() != x.data()); // the input is kept by value for backward
}

TEST_CASE("networks copy deeply", "[nn][network]") {
    rng g(5);
    auto a = make_dag();
    randomize(a, g);
    auto b = a;
    nn::array<double> x = nn::array<double>::from_shape({2, 4});
    test::fill_uniform(x, g);
    nn::array<double> ya = a.forward(x, nn::mode::eval);
    (*b.parameters()[0].value)(0, 0) += 1.0;
    nn::array<double> ya2 = a.forward(x, nn::mode::eval);
    nn::array<double> yb = b.forward(x, nn::mode::eval);
    CHECK(static_cast<bool>(ya == ya2));
    CHECK_FALSE(static_cast<bool>(ya == yb));
}

TEST_CASE("a network nests as a layer of another network", "[nn][network]") {
    rng g(6);
    auto inner = make_dag();
    randomize(inner, g);
    nn::network<double> outer({4});
    outer.add(inner);
    outer.add(nn::dense<double>(3, 2));
    randomize(outer, g);
    CHECK(outer.parameter_count() == inner.parameter_count() + 8);
    nn::array<double> x = nn::array<double>::from_shape({2, 4});
    test::fill_uniform(x, g);
    test::check_layer_gradients(outer, x, g, 1e-6);
}
