#include "nn/gradient_check.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>
#include <xnas/data/dataset.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/oneshot/chain_supernet.hpp>
#include <xnas/train/trainer.hpp>

using namespace xnas;

namespace chain_supernet_tests {

nn::array<float> random_batch(std::size_t n, const nn::shape& sample, rng& g) {
    nn::array<float> x = nn::array<float>::from_shape(nn::with_batch(n, sample));
    for (auto& v : x)
        v = static_cast<float>(g.uniform(-1, 1));
    return x;
}

float max_difference(const nn::array<float>& a, const nn::array<float>& b) {
    REQUIRE(a.shape() == b.shape());
    float d = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        d = std::max(d, std::abs(a.data()[i] - b.data()[i]));
    return d;
}

// A's copy with every dense layer's dropout set to 0 (train-mode outputs are then
// deterministic).
chain_space::architecture without_dropout(const chain_space& s, chain_space::architecture a) {
    for (auto& l : a.layers) {
        const auto& o = s.op_of(l);
        for (std::size_t k = 0; k < o.choices.size(); ++k)
            if (o.choices[k].name == "drop")
                l.values[k] = 0; // the stock dense op's drop values start with 0
    }
    return a;
}

// Spec with the dropout seed left out: extract seeds its dropout layers from the supernet.
nn::layer_spec comparable(nn::layer_spec s) {
    if (s.type == "dropout")
        s.attributes.erase("seed");
    return s;
}

// One step of plain SGD on every learnable parameter, loss sum(y * r).
void sgd_step(nn::network<float>& net, const nn::array<float>& x, rng& g, float lr = 0.05f) {
    const nn::array<float> y = net.forward(x, nn::mode::train);
    nn::array<float> r = y;
    for (auto& v : r)
        v = static_cast<float>(g.uniform(-1, 1));
    net.backward(r);
    for (const auto& p : net.parameters())
        if (!nn::is_running_state(p.name))
            for (std::size_t i = 0; i < p.value->size(); ++i)
                p.value->data()[i] -= lr * p.gradient->data()[i];
}

std::map<std::string, nn::array<float>> snapshot(nn::network<float>& net) {
    std::map<std::string, nn::array<float>> out;
    for (const auto& p : net.parameters())
        out[p.name] = *p.value;
    return out;
}

// Checks that extract(a) is the builder's network and that it computes what the supernet's
// network computes along a (eval mode, and train mode without dropout).
void check_path(chain_supernet& sn, const chain_builder& builder,
                const chain_space::architecture& a, rng& g) {
    INFO(sn.space().to_string(a));
    rng build_rng(99);
    nn::network<float> built = builder.build(a, build_rng);
    nn::network<float> extracted = sn.extract(a);
    REQUIRE(extracted.size() == built.size());
    for (std::size_t j = 1; j < built.size(); ++j) {
        CHECK(comparable(extracted.layer(j).spec()) == comparable(built.layer(j).spec()));
        CHECK(extracted.inputs(j) == built.inputs(j));
        CHECK(extracted.node_shape(j) == built.node_shape(j));
    }
    const auto pe = extracted.parameters(), pb = built.parameters();
    REQUIRE(pe.size() == pb.size());
    for (std::size_t k = 0; k < pe.size(); ++k) {
        CHECK(pe[k].name == pb[k].name);
        CHECK(pe[k].value->shape() == pb[k].value->shape());
    }

    const nn::array<float> x = random_batch(3, builder.options().input, g);
    sn.activate(a);
    const nn::array<float> y_super = sn.network().forward(x, nn::mode::eval);
    const nn::array<float> y_extracted = extracted.forward(x, nn::mode::eval);
    CHECK(max_difference(y_super, y_extracted) <= 1e-6f);

    const auto a0 = without_dropout(sn.space(), a);
    nn::network<float> e0 = sn.extract(a0);
    sn.activate(a0);
    const nn::array<float> t_super = sn.network().forward(x, nn::mode::train);
    const nn::array<float> t_extracted = e0.forward(x, nn::mode::train);
    CHECK(max_difference(t_super, t_extracted) <= 1e-6f);
    // The supernet kept the running statistics its path's batch norms moved.
    nn::network<float> moved = sn.extract(a0);
    const auto pm = moved.parameters(), p0 = e0.parameters();
    for (std::size_t k = 0; k < pm.size(); ++k)
        if (nn::is_running_state(pm[k].name)) {
            INFO(pm[k].name);
            CHECK(max_difference(*pm[k].value, *p0[k].value) == 0.0f);
        }
}

// A small space for finite differences: kernels 1 and 3, 2 or 4 channels, batch norm, average
// pooling, skips, a dense layer of 2 or 4, smooth activations.
chain_space tiny_space() {
    using C = chain_space::choice;
    const chain_space::op conv{"conv",
                               {C::ints("k", {1, 3}), C::ints("c", {2, 4}), C::of("act", {"gelu"}),
                                C::flag("bn"), C::of("pool", {"none", "avg"})}};
    const chain_space::op dense{
        "dense", {C::ints("w", {2, 4}), C::of("act", {"tanh"}), C::reals("drop", {0.0})}};
    return chain_space({chain_space::stage{"conv", 1, 2, {conv}, true, 0.5},
                        chain_space::stage{"dense", 0, 1, {dense}, false, 0.5}});
}

} // namespace chain_supernet_tests

using namespace chain_supernet_tests;

TEST_CASE("chain_supernet extracts the builder's network, which computes what the active path "
          "computes",
          "[oneshot][chain_supernet]") {
    const chain_builder_options options{.input = {3, 8, 8}, .classes = 5};
    const chain_builder builder(chain_space::image(), options);
    chain_supernet sn(chain_space::image(), options, 1);
    std::size_t checked = 0;
    for (std::uint64_t seed : {1, 2, 3, 4}) {
        rng g(seed);
        for (int i = 0; i < 6; ++i) {
            // Train a random path first, so that weights and running statistics are not the
            // initial ones.
            sn.activate(sn.space().sample(g));
            sgd_step(sn.network(), random_batch(4, options.input, g), g);
            check_path(sn, builder, sn.space().sample(g), g);
            ++checked;
        }
    }
    CHECK(checked >= 20);

    const chain_builder_options flat{.input = {12}, .classes = 3};
    const chain_builder tabular(chain_space::tabular(), flat);
    chain_supernet st(chain_space::tabular(), flat, 2);
    rng g(11);
    for (int i = 0; i < 8; ++i) {
        st.activate(st.space().sample(g));
        sgd_step(st.network(), random_batch(4, flat.input, g), g);
        check_path(st, tabular, st.space().sample(g), g);
    }
}

TEST_CASE("chain_supernet: training one path changes the weights another path shares, and only "
          "the trained slice",
          "[oneshot][chain_supernet]") {
    const chain_builder_options options{.input = {3, 8, 8}, .classes = 5};
    chain_supernet sn(chain_space::image(), options, 3);
    const auto a = sn.space().parse("conv(k=5,c=32,act=relu,bn=1,pool=max)"
                                    "|conv(k=3,c=16,act=gelu,bn=0,pool=none,skip=0)"
                                    "+dense(w=64,act=relu,drop=0)");
    const auto b = sn.space().parse("conv(k=3,c=8,act=gelu,bn=0,pool=none)+");
    nn::network<float> b_before = sn.extract(b);
    const auto before = snapshot(sn.network());

    rng g(5);
    sn.activate(a);
    sgd_step(sn.network(), random_batch(4, options.input, g), g);
    const auto after = snapshot(sn.network());

    // b's first conv is the centre 3 x 3 of a's first 8 channels: trained by a.
    nn::network<float> b_after = sn.extract(b);
    auto& w_before = *b_before.parameters()[0].value;
    auto& w_after = *b_after.parameters()[0].value;
    REQUIRE(w_before.shape() == std::vector<std::size_t>{8, 3, 3, 3});
    CHECK(max_difference(w_before, w_after) > 0.0f);

    // Weights outside a's slices are unchanged bit for bit; inside, a's step changed them.
    const auto unchanged_outside = [&](const std::string& name, std::vector<std::size_t> lo,
                                       std::vector<std::size_t> hi) {
        INFO(name);
        const auto& x = before.at(name);
        const auto& y = after.at(name);
        REQUIRE(x.dimension() == lo.size());
        std::size_t inside_changed = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            std::size_t rest = i;
            bool inside = true;
            for (std::size_t d = x.dimension(); d-- > 0;) {
                const std::size_t at = rest % x.shape()[d];
                rest /= x.shape()[d];
                inside = inside && at >= lo[d] && at < hi[d];
            }
            if (inside)
                inside_changed += x.data()[i] != y.data()[i];
            else if (x.data()[i] != y.data()[i])
                FAIL_CHECK("element " << i << " outside the slice changed");
        }
        CHECK(inside_changed > 0);
    };
    unchanged_outside("1.stage0.layer0.conv.weight", {0, 0, 0, 0}, {32, 3, 5, 5});
    unchanged_outside("1.stage0.layer0.conv.bn.weight", {0}, {32});
    unchanged_outside("1.stage0.layer1.conv.weight", {0, 0, 1, 1}, {16, 32, 4, 4});
    unchanged_outside("1.stage0.layer1.conv.bias", {0}, {16});
    // 8 x 8 max-pooled to 4 x 4: the dense layer reads 16 channels x 16 positions.
    unchanged_outside("1.stage1.layer0.dense.in_4x4.weight", {0, 0}, {64, 256});
    unchanged_outside("1.stage1.layer0.dense.bias", {0}, {64});
    unchanged_outside("1.head.in_flat.weight", {0, 0}, {5, 64});
    // Off the path entirely: the first conv's bias (a's has batch norm), deeper positions, the
    // weights for other map sizes.
    for (const char* name :
         {"1.stage0.layer0.conv.bias", "1.stage0.layer1.conv.bn.weight",
          "1.stage0.layer2.conv.weight", "1.stage0.layer3.conv.weight",
          "1.stage1.layer0.dense.in_8x8.weight", "1.stage1.layer0.dense.in_2x2.weight",
          "1.stage1.layer1.dense.in_flat.weight", "1.head.in_4x4.weight"}) {
        INFO(name);
        CHECK(max_difference(before.at(name), after.at(name)) == 0.0f);
    }
}

TEST_CASE("chain_supernet's gradients along a path are the extracted network's",
          "[oneshot][chain_supernet]") {
    const chain_builder_options options{.input = {3, 8, 8}, .classes = 5};
    chain_supernet sn(chain_space::image(), options, 4);
    rng g(17);
    for (int i = 0; i < 6; ++i) {
        const auto a = without_dropout(sn.space(), sn.space().sample(g));
        INFO(sn.space().to_string(a));
        nn::network<float> extracted = sn.extract(a);
        const nn::array<float> x = random_batch(4, options.input, g);
        nn::array<float> r = nn::array<float>::from_shape({4, options.classes});
        for (auto& v : r)
            v = static_cast<float>(g.uniform(-1, 1));
        sn.activate(a);
        sn.network().forward(x, nn::mode::train);
        sn.network().backward(r);
        extracted.forward(x, nn::mode::train);
        extracted.backward(r);

        // The supernet's gradients, sliced as its weights are: swap them into the weights and
        // extract.
        auto params = sn.network().parameters();
        for (auto& p : params)
            std::swap(*p.value, *p.gradient);
        nn::network<float> sliced = sn.extract(a);
        for (auto& p : params)
            std::swap(*p.value, *p.gradient);

        double inside = 0, everywhere = 0;
        const auto ps = sliced.parameters(), pe = extracted.parameters();
        for (std::size_t k = 0; k < pe.size(); ++k) {
            if (nn::is_running_state(pe[k].name))
                continue;
            INFO(pe[k].name);
            CHECK(max_difference(*ps[k].value, *pe[k].gradient) <= 1e-6f);
            for (float v : *pe[k].gradient)
                inside += std::abs(v);
        }
        for (const auto& p : params)
            for (float v : *p.gradient)
                everywhere += std::abs(v);
        // Nothing outside the path's slices.
        CHECK(everywhere == Approx(inside).epsilon(1e-5));
        CHECK(inside > 0);
    }
}

TEST_CASE("chain_supernet's sliced gradients match finite differences",
          "[oneshot][chain_supernet]") {
    const chain_builder_options options{.input = {2, 4, 4}, .classes = 3};
    chain_supernet sn(tiny_space(), options, 5);
    rng g(23);
    for (const char* path : {"conv(k=1,c=2,act=gelu,bn=1,pool=none)"
                             "|conv(k=3,c=2,act=gelu,bn=0,pool=avg,skip=0)+dense(w=2,act=tanh,"
                             "drop=0)",
                             "conv(k=3,c=4,act=gelu,bn=0,pool=avg)+"}) {
        INFO(path);
        sn.activate(sn.space().parse(path));
        nn::network<float> net = sn.network();
        test::check_layer_gradients(net, random_batch(3, options.input, g), g, 2e-2, 1e-2,
                                    nn::mode::train);
    }
}

TEST_CASE("chain_supernet: same seed, same weights, and ops it cannot slice are refused",
          "[oneshot][chain_supernet]") {
    using Catch::Matchers::Contains;
    const chain_builder_options options{.input = {1, 8, 8}, .classes = 4};
    chain_supernet a(chain_space::image(), options, 7), b(chain_space::image(), options, 7),
        c(chain_space::image(), options, 8);
    const auto pa = a.network().parameters(), pb = b.network().parameters(),
               pc = c.network().parameters();
    REQUIRE(pa.size() == pb.size());
    bool differs = false;
    for (std::size_t k = 0; k < pa.size(); ++k) {
        INFO(pa[k].name);
        CHECK(pa[k].name == pb[k].name);
        CHECK(max_difference(*pa[k].value, *pb[k].value) == 0.0f);
        differs = differs || max_difference(*pa[k].value, *pc[k].value) > 0.0f;
    }
    CHECK(differs);

    chain_space custom({chain_space::stage{
        "conv",
        1,
        2,
        {chain_space::conv_op(), chain_space::op{"sepconv", {chain_space::choice::ints("k", {3})}}},
        false,
        0.5}});
    CHECK_THROWS_AS(chain_supernet(custom, options), std::invalid_argument);
    CHECK_THROWS_WITH(chain_supernet(custom, options),
                      Contains("\"sepconv\"") && Contains("slices only conv and dense"));
    chain_space even({chain_space::stage{
        "conv",
        1,
        1,
        {chain_space::op{
            "conv", {chain_space::choice::ints("k", {2, 5}), chain_space::choice::ints("c", {4})}}},
        false,
        0.5}});
    CHECK_THROWS_WITH(chain_supernet(even, options), Contains("centre crop"));

    // Paths outside the space, and a network run before any path is active.
    rng g(1);
    CHECK_THROWS_AS(a.network().forward(random_batch(2, options.input, g), nn::mode::eval),
                    std::logic_error);
    auto outside = a.space().parse("conv(k=3,c=8,act=relu,bn=0,pool=none)+");
    outside.layers[0].values[1] = 9; // no tenth channel count
    CHECK_THROWS_AS(a.activate(outside), std::invalid_argument);
    CHECK_THROWS_WITH(a.extract(outside), Contains("not an architecture"));
    CHECK_THROWS_AS(a.activate(chain_space::tabular().sample(g)), std::invalid_argument);
}

TEST_CASE("chain_supernet trains data-parallel as on one thread", "[oneshot][chain_supernet]") {
    // Batch norm, and a dense layer with more weights than nn::dense's split_min_weights, from
    // which data-parallel shards compute it together.
    const chain_builder_options options{.input = {3, 8, 8}, .classes = 3};
    rng g(31);
    data::dataset<float> ds;
    ds.num_classes = 3;
    ds.x = random_batch(64, options.input, g);
    for (std::size_t i = 0; i < 64; ++i)
        ds.labels.push_back(static_cast<std::int32_t>(g.below(3)));
    const nn::array<float> warm_up = random_batch(8, options.input, g);
    std::vector<nn::network<float>> trained;
    for (std::size_t threads : {1, 2}) {
        chain_supernet sn(chain_space::image(), options, 9);
        const auto a =
            sn.space().parse("conv(k=3,c=64,act=relu,bn=1,pool=none)+dense(w=256,act=relu,drop=0)");
        REQUIRE(256 * 64 * 8 * 8 >= nn::dense<float>::split_min_weights);
        sn.activate(a);
        rng step(4);
        sgd_step(sn.network(), warm_up, step); // the replicas copy a path with gradients
        nn::sgd<float> opt({.lr = 0.05});
        nn::softmax_cross_entropy<float> ce;
        const auto h =
            train::fit(sn.network(), ce, opt, ds,
                       {.epochs = 2, .batch_size = 32, .shuffle = false, .threads = threads});
        CHECK(h.epochs.size() == 2);
        trained.push_back(sn.extract(a));
    }
    const auto p1 = trained[0].parameters(), p2 = trained[1].parameters();
    REQUIRE(p1.size() == p2.size());
    for (std::size_t k = 0; k < p1.size(); ++k) {
        INFO(p1[k].name);
        CHECK(max_difference(*p1[k].value, *p2[k].value) <= 1e-4f);
    }
}
