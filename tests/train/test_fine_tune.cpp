// Transfer: frozen layers keep their weights bit for bit through training (one and two
// threads), a replaced head keeps the trunk and classifies the new task's classes, and
// fine_tune trains a new head on a frozen trunk, then the whole network, respecting what the
// caller froze.

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/batch_norm.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/dropout.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/optim/adam.hpp>
#include <xnas/nn/transfer.hpp>
#include <xnas/train/fine_tune.hpp>
#include <xnas/train/trainer.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {

/// n samples of 16 features: class c of `classes` puts a bump on features [4c, 4c + 4).
data::dataset<float> bumps(std::size_t n, std::size_t classes, std::size_t first_class,
                           std::uint64_t seed) {
    data::dataset<float> ds;
    ds.x = nn::array<float>::from_shape({n, 16});
    ds.labels.resize(n);
    ds.num_classes = classes;
    rng g(seed);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t c = i % classes;
        ds.labels[i] = static_cast<std::int32_t>(c);
        for (std::size_t k = 0; k < 16; ++k)
            ds.x.data()[i * 16 + k] = static_cast<float>(0.3 * g.normal());
        for (std::size_t k = 0; k < 4; ++k)
            ds.x.data()[i * 16 + 4 * (c + first_class) % 16 + k] += 1.5f;
    }
    return ds;
}

/// dense 16->24, batch norm, relu, dropout, dense 24->classes.
nn::network<float> trunk_and_head(std::size_t classes, std::uint64_t seed) {
    nn::network<float> net({16});
    net.add(nn::dense<float>(16, 24));
    net.add(nn::batch_norm<float>(24));
    net.add(nn::relu<float>());
    net.add(nn::dropout<float>(0.1, seed));
    net.add(nn::dense<float>(24, classes));
    rng g(seed);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    return net;
}

/// The learnable values of node `id` (running statistics left out), in order.
std::vector<float> learned_values(nn::network<float>& net, std::size_t id) {
    std::vector<float> v;
    const std::string prefix = std::to_string(id) + ".";
    for (const auto& p : net.parameters())
        if (p.name.rfind(prefix, 0) == 0 && !nn::is_running_state(p.name))
            v.insert(v.end(), p.value->begin(), p.value->end());
    return v;
}

bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
    // memcmp of two empty vectors would pass it their null data().
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

} // namespace

TEST_CASE("frozen layers keep their weights bit for bit while the others train",
          "[train][transfer]") {
    const auto train = bumps(256, 3, 0, 1);
    for (std::size_t threads : {1, 2}) {
        CAPTURE(threads);
        auto net = trunk_and_head(3, 2);
        net.freeze(1);
        net.freeze(2);
        CHECK(net.frozen(1));
        CHECK(!net.frozen(5));
        CHECK(net.trainable_parameters().size() == 2); // node 5's weight and bias
        const auto dense_before = learned_values(net, 1), bn_before = learned_values(net, 2),
                   head_before = learned_values(net, 5);
        nn::adam<float> opt({.lr = 0.01});
        train::fit(net, nn::softmax_cross_entropy<float>(), opt, train,
                   {.epochs = 2, .batch_size = 32, .seed = 3, .threads = threads});
        CHECK(bit_identical(learned_values(net, 1), dense_before));
        CHECK(bit_identical(learned_values(net, 2), bn_before));
        CHECK(!bit_identical(learned_values(net, 5), head_before));
        // Thawed, the same layer trains again (with an optimizer for the new parameter list).
        net.freeze(1, false);
        nn::adam<float> thawed({.lr = 0.01});
        train::fit(net, nn::softmax_cross_entropy<float>(), thawed, train,
                   {.epochs = 1, .batch_size = 32, .seed = 4, .threads = threads});
        CHECK(!bit_identical(learned_values(net, 1), dense_before));
    }
    auto net = trunk_and_head(3, 2);
    CHECK_THROWS_WITH(net.freeze(9), Contains("no layer node 9"));
    CHECK_THROWS_WITH(net.freeze(0), Contains("no layer node 0"));
}

TEST_CASE("replace_head keeps the trunk and its frozen state and outputs the new classes",
          "[train][transfer]") {
    auto base = trunk_and_head(3, 5);
    base.freeze(1);
    rng g(6);
    auto net = nn::replace_head(base, 4, g);
    REQUIRE(net.size() == base.size());
    CHECK(net.node_shape(net.size() - 1) == nn::shape{4});
    CHECK(net.frozen(1));
    CHECK(!net.frozen(2));
    for (std::size_t id = 1; id < 5; ++id)
        CHECK(bit_identical(learned_values(net, id), learned_values(base, id)));
    nn::array<float> x = nn::array<float>::from_shape({2, 16});
    std::fill(x.begin(), x.end(), 0.5f);
    CHECK(net.forward(x, nn::mode::eval).shape()[1] == 4);

    nn::network<float> no_dense({16});
    no_dense.add(nn::dense<float>(16, 3));
    no_dense.add(nn::relu<float>());
    CHECK_THROWS_WITH(nn::replace_head(no_dense, 2, g), Contains("node 2, relu) is not dense"));
    CHECK_THROWS_WITH(nn::replace_head(base, 0, g), Contains("classes is 0"));
}

TEST_CASE("fine_tune trains a new head on the frozen trunk, then the whole network",
          "[train][transfer]") {
    // The trunk learns classes 0-2 (bumps on features 0-11); the new task has two classes with
    // bumps on features 4-11, which the trunk's features already separate.
    auto base = trunk_and_head(3, 7);
    nn::adam<float> opt({.lr = 0.01});
    train::fit(base, nn::softmax_cross_entropy<float>(), opt, bumps(512, 3, 0, 8),
               {.epochs = 3, .batch_size = 32, .seed = 9});
    const auto task = bumps(256, 2, 1, 10), task_test = bumps(256, 2, 1, 11);

    SECTION("the head alone") {
        auto net = base;
        const auto trunk_before = learned_values(net, 1);
        const auto h = train::fine_tune(net, task, {.head_epochs = 3, .epochs = 0, .seed = 12});
        CHECK(h.epochs.size() == 3);
        CHECK(net.node_shape(net.size() - 1) == nn::shape{2});
        CHECK(bit_identical(learned_values(net, 1), trunk_before));
        CHECK(bit_identical(learned_values(net, 2), learned_values(base, 2)));
        const double acc =
            train::evaluate(net, nn::softmax_cross_entropy<float>(), task_test).accuracy;
        CHECK(acc > 0.9);
        CHECK(h.epochs.back().loss < h.epochs.front().loss);
    }
    SECTION("head first, then everything but what the caller froze") {
        auto net = base;
        net.freeze(2);
        const auto h = train::fine_tune(net, task, {.head_epochs = 1, .epochs = 2, .seed = 12});
        CHECK(h.epochs.size() == 3);
        CHECK(!bit_identical(learned_values(net, 1), learned_values(base, 1)));
        CHECK(bit_identical(learned_values(net, 2), learned_values(base, 2)));
        CHECK(net.frozen(2));
        CHECK(!net.frozen(1));
        CHECK(train::evaluate(net, nn::softmax_cross_entropy<float>(), task_test).accuracy > 0.9);
    }
    SECTION("same seed, same network") {
        auto a = base, b = base;
        train::fine_tune(a, task, {.seed = 13});
        train::fine_tune(b, task, {.seed = 13});
        for (std::size_t id = 1; id < a.size(); ++id)
            CHECK(bit_identical(learned_values(a, id), learned_values(b, id)));
    }
    auto net = base;
    CHECK_THROWS_WITH(train::fine_tune(net, task, {.head_epochs = 0, .epochs = 0}),
                      Contains("both 0"));
}
