// The decision view: every shipped space supplies it in its own header (categorical decisions,
// ordered flags, names with value texts), a user's space with the three decision members gets
// ordered flags and names by default, an adapter supplies the view for a type one cannot change,
// and a product names its decisions when both factors do.

#include <array>
#include <catch2/catch.hpp>
#include <string>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/space/chain_space.hpp>
#include <xnas/space/decisions.hpp>
#include <xnas/space/param_space.hpp>
#include <xnas/space/product_space.hpp>

namespace {

// A user's space with only the three decision members: two decisions of 3 and 2 choices.
struct pair_space {
    using architecture = std::array<int, 2>;
    architecture sample(xnas::rng& g) const {
        return {static_cast<int>(g.below(3)), static_cast<int>(g.below(2))};
    }
    architecture mutate(architecture a, xnas::rng& g) const {
        a[0] = static_cast<int>(g.below(3));
        return a;
    }
    std::vector<std::size_t> decisions() const { return {3, 2}; }
    architecture from_decisions(const std::vector<int>& d) const { return {d[0], d[1]}; }
    std::vector<int> to_decisions(const architecture& a) const { return {a[0], a[1]}; }
};

// A type whose owner cannot add members: its view comes from an adapter.
struct sealed_space {
    using architecture = int;
    architecture sample(xnas::rng& g) const { return static_cast<int>(g.below(4)); }
    architecture mutate(architecture a, xnas::rng&) const { return (a + 1) % 4; }
};

} // namespace

template <>
struct xnas::decision_adapter<sealed_space> {
    static std::vector<std::size_t> decisions(const sealed_space&) { return {4}; }
    static int from_decisions(const sealed_space&, const std::vector<int>& d) { return d[0]; }
    static std::vector<int> to_decisions(const sealed_space&, int a) { return {a}; }
    static std::vector<bool> ordered(const sealed_space&) { return {true}; }
    static xnas::decision_map named(const sealed_space&, int a) {
        return {{"width", std::to_string(8 << a)}};
    }
};

TEST_CASE("shipped spaces supply the whole decision view", "[space][decisions]") {
    using namespace xnas;
    STATIC_REQUIRE(decision_space<cell_space>);
    STATIC_REQUIRE(decision_space<chain_space>);
    STATIC_REQUIRE(decision_space<param_space>);
    STATIC_REQUIRE(decision_space<product_space<chain_space, param_space>>);
    STATIC_REQUIRE(has_decision_names<cell_space>);
    STATIC_REQUIRE(has_decision_names<chain_space>);
    STATIC_REQUIRE(has_decision_names<param_space>);
    STATIC_REQUIRE(has_decision_names<product_space<cell_space, param_space>>);
    STATIC_REQUIRE(has_ordered_members<chain_space>);
    STATIC_REQUIRE(has_ordered_members<product_space<chain_space, param_space>>);

    const auto cells = cell_space::nb201();
    const auto a = cells.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|"
                               "avg_pool_3x3~0|none~1|nor_conv_1x1~2|");
    const auto named = named_decisions(cells, a);
    CHECK(named.size() == decisions(cells).size());
    CHECK(named.at("edge 1->2") == "skip_connect");
}

TEST_CASE("a space with the three decision members gets ordered flags and names",
          "[space][decisions]") {
    using namespace xnas;
    STATIC_REQUIRE(decision_space<pair_space>);
    STATIC_REQUIRE(!has_decision_names<pair_space>);
    STATIC_REQUIRE(named_decision_space<pair_space>);
    const pair_space s;
    CHECK(ordered_decisions(s) == std::vector<bool>{false, false});
    CHECK(named_decisions(s, {2, 1}) == decision_map{{"decision 0", "2"}, {"decision 1", "1"}});
}

TEST_CASE("an adapter supplies the view of a type without members", "[space][decisions]") {
    using namespace xnas;
    STATIC_REQUIRE(has_decision_adapter<sealed_space>);
    STATIC_REQUIRE(has_decision_names<sealed_space>);
    const sealed_space s;
    CHECK(decisions(s) == std::vector<std::size_t>{4});
    CHECK(from_decisions(s, to_decisions(s, 3)) == 3);
    CHECK(ordered_decisions(s) == std::vector<bool>{true});
    CHECK(named_decisions(s, 2) == decision_map{{"width", "32"}});
}

TEST_CASE("a product names its decisions when both factors do", "[space][decisions]") {
    using namespace xnas;
    const product_space<sealed_space, cell_space> named(sealed_space{}, cell_space(3, {"a", "b"}));
    const auto d = named_decisions(named, {1, cell_space(3, {"a", "b"}).parse("|a~0|+|b~0|a~1|")});
    CHECK(d == decision_map{
                   {"width", "16"}, {"edge 0->1", "a"}, {"edge 0->2", "b"}, {"edge 1->2", "a"}});
    // A factor without names: the product is read by its decisions' positions.
    const product_space<pair_space, sealed_space> mixed(pair_space{}, sealed_space{});
    STATIC_REQUIRE(!has_decision_names<product_space<pair_space, sealed_space>>);
    CHECK(named_decisions(mixed, {{0, 1}, 3}) ==
          decision_map{{"decision 0", "0"}, {"decision 1", "1"}, {"decision 2", "3"}});
}
