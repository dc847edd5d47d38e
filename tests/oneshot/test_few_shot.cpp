#include "oneshot/fixtures.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <xnas/data/dataset.hpp>
#include <xnas/nn/layers/identity.hpp>
#include <xnas/oneshot/few_shot.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace few_shot_tests {

using oneshot_fixtures::position_task;
using oneshot_fixtures::small_cells;

std::vector<nn::array<float>> parameter_values(std::vector<nn::parameter<float>> params) {
    std::vector<nn::array<float>> out;
    for (const auto& p : params)
        out.push_back(*p.value);
    return out;
}

std::vector<nn::array<float>> few_shot_weights(nn::network<float> net) {
    return parameter_values(net.parameters());
}

constexpr std::size_t split_edge = 2;

// A cell supernet trained for an epoch on the thirds task, split by the op of edge 2.
struct trained_parent {
    rng g{11};
    data::dataset<float> train = position_task(96, g);
    cell_supernet parent{cell_space::nb201(), small_cells(), {}, 11};
    supernet_training_options o{.epochs = 2, .batch_size = 16, .weight_decay = 0, .seed = 3};
    trained_parent() {
        train_single_path_epoch(
            parent, [this](rng& r) { return parent.space().sample(r); }, train, o, 0);
    }
    few_shot_supernet<cell_supernet, cell_edge_split> split() const {
        return {parent, cell_edge_split{split_edge, parent.space().ops().size()}};
    }
};

} // namespace few_shot_tests

using namespace few_shot_tests;

TEST_CASE("few_shot_supernet: sub-supernets start as the parent and each trains only its own op "
          "of the split edge",
          "[oneshot][few_shot]") {
    trained_parent t;
    auto few = t.split();
    REQUIRE(few.size() == 5);
    const cell_space& space = t.parent.space();
    rng g(4);
    for (int k = 0; k < 5; ++k) {
        const auto a = space.sample(g);
        INFO(space.to_string(a));
        CHECK(few_shot_weights(few.extract(a)) == few_shot_weights(t.parent.extract(a)));
    }

    const std::size_t conv3 = space.op_index("nor_conv_3x3"),
                      conv1 = space.op_index("nor_conv_1x1");
    const auto edge_before = parameter_values(few.child(conv3).edge_parameters(split_edge));
    const auto other_before = parameter_values(few.child(conv1).edge_parameters(split_edge));
    auto uniform = [&space](rng& r) { return space.sample(r); };
    const auto epochs = train_few_shot_epoch(few, uniform, t.train, t.o, 1);
    REQUIRE(epochs.size() == 5);
    for (const auto& e : epochs)
        CHECK(std::isfinite(e.loss));

    // In the nor_conv_3x3 sub-supernet the split edge trained nor_conv_3x3 alone (no weight
    // decay here: an op no path used is bit-identical); the nor_conv_1x1 one trained its own.
    const auto params = few.child(conv3).edge_parameters(split_edge);
    const auto after = parameter_values(few.child(conv3).edge_parameters(split_edge));
    const auto other_after = parameter_values(few.child(conv1).edge_parameters(split_edge));
    bool conv3_moved = false, conv1_moved_in_conv3 = false, conv1_moved_in_conv1 = false;
    for (std::size_t k = 0; k < params.size(); ++k) {
        const bool moved = after[k] != edge_before[k];
        if (params[k].name.starts_with(std::to_string(conv3) + "."))
            conv3_moved = conv3_moved || moved;
        if (params[k].name.starts_with(std::to_string(conv1) + ".")) {
            conv1_moved_in_conv3 = conv1_moved_in_conv3 || moved;
            conv1_moved_in_conv1 = conv1_moved_in_conv1 || other_after[k] != other_before[k];
        }
    }
    CHECK(conv3_moved);
    CHECK_FALSE(conv1_moved_in_conv3);
    CHECK(conv1_moved_in_conv1);

    // An architecture goes to the sub-supernet of its op on the split edge.
    auto a = space.sample(g);
    a.ops[split_edge] = static_cast<std::uint8_t>(conv1);
    CHECK(few_shot_weights(few.extract(a)) == few_shot_weights(few.child(conv1).extract(a)));
    CHECK(few_shot_weights(few.extract(a)) != few_shot_weights(few.child(conv3).extract(a)));
    few.activate(a);
    CHECK(&few.network() == &few.child(conv1).network());
}

TEST_CASE("train_few_shot_epoch: the same seed gives the same sub-supernets",
          "[oneshot][few_shot]") {
    trained_parent t;
    auto one = t.split(), two = t.split();
    auto uniform = [&t](rng& r) { return t.parent.space().sample(r); };
    train_few_shot_epoch(one, uniform, t.train, t.o, 1);
    train_few_shot_epoch(two, uniform, t.train, t.o, 1);
    for (std::size_t k = 0; k < one.size(); ++k)
        CHECK(parameter_values(one.child(k).network().parameters()) ==
              parameter_values(two.child(k).network().parameters()));
}

TEST_CASE("cell_edge_split: an edge past the architecture's is refused", "[oneshot][few_shot]") {
    const cell_edge_split split{9, 5};
    auto a = cell_space::nb201().make(
        {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "none"});
    CHECK(cell_edge_split{3, 5}.choice(a) == 3);
    CHECK_THROWS_WITH(split.choice(a), Contains("edge 9") && Contains("6 edges"));
    CHECK_THROWS_WITH(split.assign(a, 1), Contains("edge 9"));
    CHECK_THROWS_WITH(least_agreeing_edge({}), Contains("no edges"));
}

TEST_CASE("edge_gradient_agreement: identical ops agree fully, different ones less, and the "
          "supernet is left as it was",
          "[oneshot][few_shot]") {
    rng g(2);
    const auto train = position_task(64, g);
    auto keep = [](std::size_t) {
        return std::vector<nn::any_layer<float>>{nn::identity<float>()};
    };
    cell_supernet twins(cell_space(4, {"keep", "same"}), small_cells(),
                        {{"keep", keep}, {"same", keep}}, 5);
    for (double a : edge_gradient_agreement(twins, train, {.batch_size = 16}))
        CHECK(a == Approx(1.0).margin(1e-9));

    trained_parent t;
    const auto before = parameter_values(t.parent.network().parameters());
    const auto agreement = edge_gradient_agreement(t.parent, t.train, {.batch_size = 16});
    REQUIRE(agreement.size() == 6);
    for (double a : agreement) {
        CHECK(a >= -1.0);
        CHECK(a < 0.999);
    }
    CHECK(parameter_values(t.parent.network().parameters()) ==
          before); // weights and running statistics
    CHECK(edge_gradient_agreement(t.parent, t.train, {.batch_size = 16}) == agreement);
    const std::size_t least = least_agreeing_edge(agreement);
    for (double a : agreement)
        CHECK(agreement[least] <= a);
    CHECK_THROWS_WITH(edge_gradient_agreement(t.parent, t.train, {.paths = 0}), Contains("paths"));
}
