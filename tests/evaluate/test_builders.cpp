#include "comma_locale.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <xnas/evaluate/cell_builder.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/nn/init.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {
// Builds, initialises and runs a forward and backward pass on a random batch; returns logits.
nn::array<float> run_once(nn::network<float>& net, rng& g, std::size_t n = 3) {
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    nn::array<float> x = nn::array<float>::from_shape(nn::with_batch(n, net.input_shape()));
    for (auto& v : x)
        v = static_cast<float>(g.uniform(-1, 1));
    nn::array<float> y = net.forward(x, nn::mode::train);
    nn::array<float> dy = y;
    net.backward(dy);
    return y;
}

bool all_finite(const nn::array<float>& a) {
    for (auto v : a)
        if (!std::isfinite(v))
            return false;
    return true;
}
} // namespace

TEST_CASE("chain_builder builds every sampled image architecture", "[evaluate][builder]") {
    chain_builder b(chain_space::image());
    rng g(5);
    for (int i = 0; i < 25; ++i) {
        const auto a = b.space().sample(g);
        auto net = b.build(a, g);
        INFO(b.space().to_string(a));
        CHECK(net.output_shape() == nn::shape{10});
        const auto y = run_once(net, g);
        CHECK(y.shape()[0] == 3);
        CHECK(all_finite(y));
        CHECK(net.parameter_count() > 0);
    }
}

TEST_CASE("chain_builder realises the layers the string names", "[evaluate][builder]") {
    chain_builder b(chain_space::image());
    const auto a = b.space().parse(
        "conv(k=3,c=8,act=relu,bn=1,pool=max)|conv(k=3,c=8,act=relu,bn=0,pool=none,skip=0)"
        "+dense(w=32,act=relu,drop=0)");
    rng g(1);
    auto net = b.build(a, g);
    // conv 1->8 (3x3, no bias: bn) 72 + bn 16 + conv 8->8 with bias 584 + dense 8*14*14->32
    // 50208 + head 32->10 330.
    CHECK(net.parameter_count() == 72 + 16 + 584 + (8 * 14 * 14 * 32 + 32) + 330);
    std::size_t adds = 0;
    for (std::size_t id = 1; id < net.size(); ++id)
        adds += net.inputs(id).size() == 2;
    CHECK(adds == 1); // the residual fits: same shape after the second conv
}

TEST_CASE("chain_builder builds recurrent chains over (T, F) sequences", "[evaluate][builder]") {
    chain_builder b(chain_space::sequence(), {.input = {28, 28}, .classes = 10});
    rng g(2);
    for (int i = 0; i < 6; ++i) {
        const auto a = b.space().sample(g);
        auto net = b.build(a, g);
        INFO(b.space().to_string(a));
        CHECK(net.output_shape() == nn::shape{10});
        CHECK(all_finite(run_once(net, g, 2)));
    }
}

TEST_CASE("chain_builder names an op it cannot build", "[evaluate][builder]") {
    chain_space s(1, 1, {{"mystery", {}}});
    chain_builder b(s);
    rng g(1);
    CHECK_THROWS_WITH(b.build(s.sample(g), g), Contains("\"mystery\"") && Contains("custom_ops"));
    chain_builder with(s, {},
                       {{"mystery", [](nn::network<float>& net, std::size_t from,
                                       const chain_space&, const chain_space::layer&,
                                       rng&) { return net.add(nn::relu<float>(), {from}); }}});
    CHECK(with.build(s.sample(g), g).output_shape() == nn::shape{10});
}

TEST_CASE("cell_builder stacks NAS-Bench-201 cells", "[evaluate][builder]") {
    cell_builder b(cell_space::nb201(), {.channels = 4, .stages = 2});
    rng g(3);
    const auto& s = b.space();
    for (int i = 0; i < 15; ++i) {
        const auto a = s.sample(g);
        auto net = b.build(a, g);
        INFO(s.to_string(a));
        CHECK(net.output_shape() == nn::shape{10});
        CHECK(all_finite(run_once(net, g, 2)));
    }
    // All-none cell: the output is disconnected, every cell outputs zeros, logits are the bias.
    const auto empty = s.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
    auto net = b.build(empty, g);
    const auto y = run_once(net, g, 2);
    CHECK(y(0, 3) == y(1, 3));
    // More conv edges, more parameters.
    const auto convs = s.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|"
                               "nor_conv_3x3~1|nor_conv_3x3~2|");
    const auto skips = s.parse("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|"
                               "skip_connect~1|skip_connect~2|");
    CHECK(b.build(convs, g).parameter_count() > b.build(skips, g).parameter_count());
}

TEST_CASE("cell_builder rejects ops it has no layers for", "[evaluate][builder]") {
    CHECK_THROWS_WITH(cell_builder(cell_space(3, {"none", "sep_conv"})), Contains("\"sep_conv\""));
}

#include <xnas/evaluate/training_params.hpp>

TEST_CASE("with_training_params builds the layers and reads the recipe of a product architecture",
          "[evaluate][builder]") {
    const auto space = image_search_space();
    with_training_params<chain_builder> b(chain_builder(space.first()));
    static_assert(builder<decltype(b), decltype(space)::architecture>);
    rng g(4);
    for (int i = 0; i < 10; ++i) {
        const auto a = space.sample(g);
        INFO(space.to_string(a));
        CHECK(space.parse(space.to_string(a)) == a);
        CHECK(b.build(a, g).output_shape() == nn::shape{10});
        const training_recipe r = b.recipe(a, {});
        CHECK((r.optimizer == "sgd" || r.optimizer == "adam"));
        CHECK(r.lr >= 3e-4);
        CHECK(r.lr <= 0.1);
        CHECK((r.batch_size == 32 || r.batch_size == 64 || r.batch_size == 128));
    }
    param_space bad;
    bad.add_categorical("lr", {"fast"});
    with_training_params<chain_builder> b2{chain_builder(chain_space::image())};
    product_space<chain_space, param_space> s2(chain_space::image(), bad);
    CHECK_THROWS_WITH(b2.recipe(s2.sample(g), {}), Contains("'lr' = 'fast' is not a number"));

    param_space regularisers;
    regularisers.add_float("weight_decay", 0.25, 0.25).add_categorical("label_smoothing", {"0.1"});
    product_space<chain_space, param_space> s3(chain_space::image(), regularisers);
    const training_recipe r = b2.recipe(s3.sample(g), {.optimizer = "adamw"});
    CHECK(r.optimizer == "adamw");
    CHECK(r.weight_decay == 0.25);
    CHECK(r.label_smoothing == 0.1);
}

TEST_CASE("with_training_params reads a categorical number with a decimal point in any locale",
          "[evaluate][builder][locale]") {
    param_space recipe;
    recipe.add_categorical("label_smoothing", {"0.1"}).add_categorical("lr", {"0.25"});
    with_training_params<chain_builder> b{chain_builder(chain_space::image())};
    product_space<chain_space, param_space> s(chain_space::image(), recipe);
    rng g(5);
    const auto a = s.sample(g);
    xnas_test::comma_locale de; // std::stod read "0.1" as 0 and stopped at the point
    const training_recipe r = b.recipe(a, {});
    CHECK(r.label_smoothing == 0.1);
    CHECK(r.lr == 0.25);
}
