#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/space/cell_space.hpp>

using namespace xnas;

TEST_CASE("cell_space models every search-space concept", "[space][cell]") {
    STATIC_REQUIRE(search_space<cell_space>);
    STATIC_REQUIRE(serializable_space<cell_space>);
    STATIC_REQUIRE(neighbourhood_space<cell_space>);
    STATIC_REQUIRE(encodable_space<cell_space>);
    STATIC_REQUIRE(crossover_space<cell_space>);
    STATIC_REQUIRE(finite_space<cell_space>);
}

TEST_CASE("nb201 has 15,625 distinct cells and every string round-trips", "[space][cell][nb201]") {
    const auto s = cell_space::nb201();
    CHECK(s.nodes() == 4);
    CHECK(s.edges() == 6);
    CHECK(s.ops() == std::vector<std::string>{"none", "skip_connect", "nor_conv_1x1",
                                              "nor_conv_3x3", "avg_pool_3x3"});
    REQUIRE(s.cardinality() == 15625.0);
    std::set<std::string> strings;
    std::size_t bad_round_trips = 0, bad_indices = 0, disconnected = 0;
    for (std::uint64_t x = 0; x < 15625; ++x) {
        const auto a = s.at(x);
        const auto text = s.to_string(a);
        strings.insert(text);
        bad_round_trips += s.parse(text) == a ? 0 : 1;
        bad_indices += s.index(a) == x ? 0 : 1;
        disconnected += s.is_disconnected(a) ? 1 : 0;
    }
    CHECK(strings.size() == 15625);
    CHECK(bad_round_trips == 0);
    CHECK(bad_indices == 0);
    // Connected cells, counted by hand: node 3 is reached from 0 directly (edge 0->3 not none),
    // or via 1 or 2. Complement count: cells where no non-none path exists. With 5 ops and 1 of
    // them none, a brute-force count below must agree with the reachability helper.
    std::size_t brute = 0;
    for (std::uint64_t x = 0; x < 15625; ++x) {
        const auto a = s.at(x);
        auto on = [&](std::size_t i, std::size_t j) { return a.ops[s.edge_index(i, j)] != 0; };
        const bool r1 = on(0, 1);
        const bool r2 = on(0, 2) || (r1 && on(1, 2));
        const bool r3 = on(0, 3) || (r1 && on(1, 3)) || (r2 && on(2, 3));
        brute += r3 ? 0 : 1;
    }
    CHECK(disconnected == brute);
    CHECK(disconnected > 0);
    CHECK_THROWS_AS(s.at(15625), std::out_of_range);
}

TEST_CASE("known nb201 strings parse to known edges", "[space][cell][nb201]") {
    const auto s = cell_space::nb201();
    const std::string text =
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|";
    const auto a = s.parse(text);
    CHECK(s.op(a, 0, 1) == "nor_conv_3x3");
    CHECK(s.op(a, 0, 2) == "none");
    CHECK(s.op(a, 1, 2) == "skip_connect");
    CHECK(s.op(a, 0, 3) == "avg_pool_3x3");
    CHECK(s.op(a, 1, 3) == "nor_conv_1x1");
    CHECK(s.op(a, 2, 3) == "none");
    CHECK(a.ops == std::vector<std::uint8_t>{3, 0, 1, 4, 2, 0});
    for (std::size_t e = 0; e < s.edges(); ++e) {
        const auto [i, j] = s.edge(e);
        CHECK(s.edge_index(i, j) == e);
    }
    CHECK(s.edge(5) == std::pair<std::size_t, std::size_t>{2, 3});
    CHECK_THROWS_AS(s.edge(6), std::out_of_range);
    CHECK(s.to_string(a) == text);
    CHECK(a ==
          s.make({"nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "none"}));
    // Index order is lexicographic in edge order with the benchmark's op order.
    CHECK(s.index(s.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")) == 0);
    CHECK(s.index(s.parse("|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")) == 1);
    CHECK(s.index(s.parse(
              "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|"
              "avg_pool_3x3~2|")) == 15624);
    CHECK(s.is_disconnected(
        s.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|")));
    CHECK_FALSE(s.is_disconnected(
        s.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|")));
    CHECK_FALSE(
        s.is_disconnected(s.parse("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")));
}

TEST_CASE("live() drops the edges the output never sees", "[space][cell][nb201]") {
    const auto s = cell_space::nb201();
    // node 2 reaches the output only through none~2: the edges into it are dead
    const auto dead_branch = s.parse(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|");
    CHECK(s.to_string(s.live(dead_branch)) ==
          "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|");
    const auto other_dead_branch = s.parse(
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|");
    CHECK(s.live(other_dead_branch) == s.live(dead_branch));
    CHECK(s.live(s.live(dead_branch)) == s.live(dead_branch));
    // node 1 feeds the output through node 2: nothing is dead
    const auto chain =
        s.parse("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|");
    CHECK(s.live(chain) == chain);
    // node 1 feeds nothing: its incoming edge is dead, whatever feeds node 2 and 3
    const auto unused_first =
        s.parse("|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|avg_pool_3x3~0|none~1|skip_connect~2|");
    CHECK(s.to_string(s.live(unused_first)) ==
          "|none~0|+|nor_conv_3x3~0|none~1|+|avg_pool_3x3~0|none~1|skip_connect~2|");
}

TEST_CASE("malformed nb201 strings are parse errors naming the token", "[space][cell][nb201]") {
    using Catch::Matchers::Contains;
    const auto s = cell_space::nb201();
    const std::string good =
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|";
    REQUIRE_NOTHROW(s.parse(good));
    // Bad op name.
    CHECK_THROWS_AS(s.parse("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|"), parse_error);
    CHECK_THROWS_WITH(s.parse("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
                      Contains("unknown op") && Contains("'conv_5x5'") && Contains("offset 1"));
    // Bad source index.
    CHECK_THROWS_WITH(
        s.parse("|nor_conv_3x3~0|+|none~0|skip_connect~2|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"),
        Contains("source index") && Contains("'2'") && Contains("offset 38"));
    CHECK_THROWS_WITH(s.parse("|none~x|+|none~0|none~1|+|none~0|none~1|none~2|"),
                      Contains("'x'") && Contains("offset 6"));
    // Too few edges in a node group, too many, too few and too many groups.
    CHECK_THROWS_WITH(s.parse("|nor_conv_3x3~0|+|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"),
                      Contains("node 2 expects 2 edges, found 1") && Contains("'+'") &&
                          Contains("offset 25"));
    CHECK_THROWS_WITH(s.parse("|nor_conv_3x3~0|none~1|+|none~0|none~1|+|none~0|none~1|none~2|"),
                      Contains("node 1 expects 1 edges, found more") && Contains("'none~1'") &&
                          Contains("offset 16"));
    CHECK_THROWS_WITH(s.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|none~3|"),
                      Contains("node 3 expects 3 edges, found more") && Contains("'none~3'"));
    CHECK_THROWS_WITH(s.parse("|nor_conv_3x3~0|+|none~0|none~1|"),
                      Contains("expected '+'") && Contains("end of text"));
    CHECK_THROWS_WITH(s.parse(good + "+|none~0|"),
                      Contains("too many node groups") && Contains("'+'"));
    // Missing pipes.
    CHECK_THROWS_WITH(s.parse("nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
                      Contains("expected '|'") && Contains("'nor_conv_3x3'") &&
                          Contains("offset 0"));
    CHECK_THROWS_WITH(s.parse("|nor_conv_3x3~0+|none~0|none~1|+|none~0|none~1|none~2|"),
                      Contains("expected '|' closing edge 0 -> 1") && Contains("'+'") &&
                          Contains("offset 15"));
    CHECK_THROWS_WITH(s.parse("|nor_conv_3x3|+|none~0|none~1|+|none~0|none~1|none~2|"),
                      Contains("expected '~'") && Contains("offset 13"));
    CHECK_THROWS_AS(s.parse(""), parse_error);
}

TEST_CASE("nb201 mutate changes exactly one edge; neighbours are the 24 single-edge changes",
          "[space][cell]") {
    const auto s = cell_space::nb201();
    rng g(11);
    for (int t = 0; t < 500; ++t) {
        const auto a = s.sample(g);
        const auto b = s.mutate(a, g);
        std::size_t diff = 0;
        for (std::size_t e = 0; e < s.edges(); ++e)
            diff += a.ops[e] != b.ops[e] ? 1 : 0;
        REQUIRE(diff == 1);
    }
    const auto a =
        s.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|");
    const auto ns = s.neighbours(a);
    REQUIRE(ns.size() == 24);
    std::set<std::uint64_t> distinct;
    for (const auto& n : ns) {
        distinct.insert(s.index(n));
        std::size_t diff = 0;
        for (std::size_t e = 0; e < s.edges(); ++e)
            diff += a.ops[e] != n.ops[e] ? 1 : 0;
        CHECK(diff == 1);
    }
    CHECK(distinct.size() == 24);
    CHECK(distinct.count(s.index(a)) == 0);
}

TEST_CASE("cell_space sampling, crossover and determinism", "[space][cell]") {
    const auto s = cell_space::nb201();
    rng g1(5), g2(5);
    for (int t = 0; t < 20; ++t)
        CHECK(s.sample(g1) == s.sample(g2));
    // Each op appears on each edge at roughly 1/5 of draws.
    std::vector<std::size_t> count(5, 0);
    rng g(3);
    for (int t = 0; t < 5000; ++t)
        ++count[s.sample(g).ops[2]];
    for (auto c : count)
        CHECK(c > 850);
    const auto a = s.make({"none", "none", "none", "none", "none", "none"});
    const auto b = s.make({"nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3",
                           "nor_conv_3x3", "nor_conv_3x3"});
    bool mixed = false;
    for (int t = 0; t < 50; ++t) {
        const auto c = s.crossover(a, b, g);
        for (std::size_t e = 0; e < 6; ++e)
            REQUIRE((c.ops[e] == a.ops[e] || c.ops[e] == b.ops[e]));
        mixed = mixed || (c != a && c != b);
    }
    CHECK(mixed);
}

TEST_CASE("cell encodings have fixed length; equal path sets give equal path encodings",
          "[space][cell][encoding]") {
    const auto s = cell_space::nb201();
    CHECK(s.encoding_size() == 30);
    CHECK(s.path_encoding_size() == 4 + 16 + 64);
    rng g(9);
    for (int t = 0; t < 200; ++t) {
        const auto a = s.sample(g);
        const auto x = s.encode(a);
        REQUIRE(x.size() == 30);
        CHECK(std::count(x.begin(), x.end(), 1.0) == 6);
        CHECK(s.path_encoding(a).size() == 84);
    }
    // Same labelled paths through different nodes: 0->1->3 vs 0->2->3, both (conv3x3, skip).
    const auto p = s.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|");
    const auto q = s.parse("|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|");
    REQUIRE(p != q);
    CHECK(s.adjacency_encoding(p) != s.adjacency_encoding(q));
    CHECK(s.path_encoding(p) == s.path_encoding(q));
    const auto px = s.path_encoding(p);
    CHECK(std::count(px.begin(), px.end(), 1.0) == 1);
    // Labels skip none: skip_connect = 0, nor_conv_1x1 = 1, nor_conv_3x3 = 2, avg_pool = 3;
    // a length-2 path (conv3x3, skip) sits at 4 + 2 * 4 + 0.
    CHECK(px[12] == 1.0);
    // All-none cell has no path; an all-conv cell has every one of its 4 paths.
    const auto empty = s.path_encoding(s.at(0));
    CHECK(std::count(empty.begin(), empty.end(), 1.0) == 0);
    const auto full = s.path_encoding(s.make(std::vector<std::string>(6, "nor_conv_1x1")));
    CHECK(std::count(full.begin(), full.end(), 1.0) == 3); // lengths 1, 2 (two paths, one label), 3
    CHECK(full[1] == 1.0);
    CHECK(full[4 + 1 * 4 + 1] == 1.0);
    CHECK(full[20 + 1 * 16 + 1 * 4 + 1] == 1.0);
    // Truncation keeps the shortest paths; with_encoding switches what encode() returns.
    const auto t = s.with_encoding(cell_space::encoding::path, 20);
    CHECK(t.encoding_size() == 20);
    CHECK(t.encode(p) == std::vector<double>(px.begin(), px.begin() + 20));
    CHECK(s.with_encoding(cell_space::encoding::path).encode(p) == px);
}

TEST_CASE("cell_space of other sizes and bad definitions", "[space][cell]") {
    using Catch::Matchers::Contains;
    const cell_space s(3, {"conv", "pool"}); // no "none": every edge exists
    CHECK(s.edges() == 3);
    CHECK(s.cardinality() == 8.0);
    CHECK(s.none_index() == 2);
    CHECK(s.to_string(s.at(5)) == "|pool~0|+|conv~0|pool~1|");
    CHECK(s.parse("|pool~0|+|conv~0|pool~1|") == s.at(5));
    CHECK_FALSE(s.is_disconnected(s.at(0)));
    CHECK(s.path_encoding_size() == 2 + 4);
    CHECK_THROWS_AS(cell_space(1, {"a"}), std::invalid_argument);
    CHECK_THROWS_AS(cell_space(4, {}), std::invalid_argument);
    CHECK_THROWS_WITH(cell_space(4, {"a", "a"}), Contains("'a' listed twice"));
    CHECK_THROWS_WITH(cell_space(4, {"a|b"}), Contains("'a|b'"));
    CHECK_THROWS_AS(s.to_string(cell_space::architecture{{0, 1}}), shape_error);
    rng g(1);
    CHECK_THROWS_AS(s.mutate(cell_space::architecture{{0, 1, 7}}, g), std::invalid_argument);
}
