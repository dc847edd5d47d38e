// The names and value texts of the decisions of the shipped spaces, fingerprinted over many
// sampled architectures: xnas-search prints them in its decision importance table and report, so
// a change of wording shows here as a changed number (a deliberate change updates it).

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/report/decisions.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/space/chain_space.hpp>
#include <xnas/space/param_space.hpp>
#include <xnas/space/product_space.hpp>

namespace {

std::uint64_t fnv1a(std::uint64_t h, const std::string& text) {
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001B3ULL;
    }
    return h;
}

// Hashes the decisions of 300 sampled architectures ("name=value;" each, in the map's order).
template <class Space>
std::uint64_t fingerprint(const Space& space) {
    xnas::rng g(29);
    std::uint64_t h = 0xCBF29CE484222325ULL;
    for (int i = 0; i < 300; ++i) {
        for (const auto& [name, value] : xnas::report::decisions(space, space.sample(g)))
            h = fnv1a(h, name + "=" + value + ";");
        h = fnv1a(h, "|");
    }
    return h;
}

xnas::param_space params() {
    return xnas::param_space{}
        .add_categorical("opt", {"sgd", "adam"})
        .add_float("momentum", 0, 0.99, xnas::when("opt", {"sgd"}))
        .add_float("shift", -1, 1)
        .add_int("layers", 1, 6)
        .add_int("batch", 16, 512)
        .add_log_float("lr", 1e-4, 1e-1);
}

} // namespace

TEST_CASE("decision names and values of the shipped spaces stay the same",
          "[report][decisions][reproducible]") {
    CHECK(fingerprint(xnas::cell_space::nb201()) == 15867175921956523050u);
    CHECK(fingerprint(xnas::cell_space(3, {"a", "b", "c"})) == 5108194580208629369u);
    CHECK(fingerprint(xnas::chain_space::image()) == 16663547176588662337u);
    CHECK(fingerprint(xnas::chain_space::sequence()) == 8248469502339171907u);
    CHECK(fingerprint(params()) == 14581546861835300461u);
    CHECK(fingerprint(xnas::product_space<xnas::chain_space, xnas::param_space>(
              xnas::chain_space::image(), params())) == 14259796533394816163u);
}

namespace {
// A user's space that names its decisions: the report reads its names, not positions.
struct depth_space {
    using architecture = int;
    architecture sample(xnas::rng& g) const { return 1 + static_cast<int>(g.below(3)); }
    architecture mutate(architecture a, xnas::rng&) const { return a % 3 + 1; }
    std::vector<std::size_t> decisions() const { return {3}; }
    architecture from_decisions(const std::vector<int>& d) const { return d[0] + 1; }
    std::vector<int> to_decisions(architecture a) const { return {a - 1}; }
    xnas::decision_map named_decisions(architecture a) const {
        return {{"depth", std::to_string(a)}};
    }
};
} // namespace

TEST_CASE("the report reads a user's space through its decision view", "[report][decisions]") {
    CHECK(xnas::report::decisions(depth_space{}, 2) == xnas::decision_map{{"depth", "2"}});
}
