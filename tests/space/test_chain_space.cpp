#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/space/chain_space.hpp>

using namespace xnas;
using chain = chain_space;

namespace {

// Stage "s": 0..3 layers of a(x = 1|2) or b(), with skips; stage "t": 1..2 layers of c(y = p|q|r).
chain tiny_space() {
    return chain(
        {chain::stage{"s", 0, 3, {{"a", {chain::choice::ints("x", {1, 2})}}, {"b", {}}}, true, 0.5},
         chain::stage{"t", 1, 2, {{"c", {chain::choice::of("y", {"p", "q", "r"})}}}, false, 0.5}});
}

// Every architecture of a space, by brute force: each stage's depth, each layer's op, values
// and skip source, independent of the space's own counting.
std::vector<chain::architecture> enumerate(const chain& space) {
    std::vector<chain::architecture> out;
    std::function<void(chain::architecture&, std::size_t, std::size_t, std::size_t, std::size_t)>
        rec = [&](chain::architecture& a, std::size_t s, std::size_t begin, std::size_t p,
                  std::size_t depth) {
            const auto& stages = space.stages();
            if (p ==
                depth) { // stage done: the chain is complete, or go on with every depth of the next
                if (s + 1 == stages.size())
                    out.push_back(a);
                else
                    for (std::size_t d = stages[s + 1].min_layers; d <= stages[s + 1].max_layers;
                         ++d)
                        rec(a, s + 1, a.layers.size(), 0, d);
                return;
            }
            const auto& st = stages[s];
            for (std::size_t o = 0; o < st.ops.size(); ++o) {
                const auto& choices = st.ops[o].choices;
                std::vector<std::size_t> v(choices.size(), 0);
                for (;;) {
                    const std::size_t skips = st.skip ? p + 1 : 1;
                    for (std::size_t k = 0; k < skips; ++k) {
                        chain::layer l{s, o, v, std::nullopt};
                        if (k > 0)
                            l.skip = begin + k - 1;
                        a.layers.push_back(l);
                        rec(a, s, begin, p + 1, depth);
                        a.layers.pop_back();
                    }
                    std::size_t c = 0; // odometer over the choices' values
                    while (c < choices.size() && ++v[c] == choices[c].values.size())
                        v[c++] = 0;
                    if (c == choices.size())
                        break;
                }
            }
        };
    chain::architecture a;
    for (std::size_t d = space.stages()[0].min_layers; d <= space.stages()[0].max_layers; ++d)
        rec(a, 0, 0, 0, d);
    return out;
}

bool valid_ranges(const chain& space, const chain::architecture& a) {
    std::vector<std::size_t> count(space.stages().size(), 0);
    for (std::size_t j = 0; j < a.layers.size(); ++j) {
        const auto& l = a.layers[j];
        if (l.stage >= count.size() || (j > 0 && l.stage < a.layers[j - 1].stage))
            return false;
        ++count[l.stage];
        const auto& st = space.stages()[l.stage];
        if (l.op >= st.ops.size() || l.values.size() != st.ops[l.op].choices.size())
            return false;
        for (std::size_t k = 0; k < l.values.size(); ++k)
            if (l.values[k] >= st.ops[l.op].choices[k].values.size())
                return false;
        if (l.skip && (!st.skip || *l.skip >= j || a.layers[*l.skip].stage != l.stage))
            return false;
    }
    for (std::size_t s = 0; s < count.size(); ++s)
        if (count[s] < space.stages()[s].min_layers || count[s] > space.stages()[s].max_layers)
            return false;
    return true;
}

} // namespace

TEST_CASE("chain_space models every search-space concept", "[space][chain]") {
    STATIC_REQUIRE(search_space<chain_space>);
    STATIC_REQUIRE(serializable_space<chain_space>);
    STATIC_REQUIRE(neighbourhood_space<chain_space>);
    STATIC_REQUIRE(encodable_space<chain_space>);
    STATIC_REQUIRE(crossover_space<chain_space>);
    STATIC_REQUIRE(finite_space<chain_space>);
}

TEST_CASE("chain samples stay within depth and choice ranges and are seed-deterministic",
          "[space][chain]") {
    for (const auto& space : {chain::image(), chain::sequence(), tiny_space()}) {
        std::set<std::size_t> depths;
        for (std::uint64_t seed = 0; seed < 300; ++seed) {
            rng g(seed), h(seed);
            const auto a = space.sample(g);
            REQUIRE(valid_ranges(space, a));
            REQUIRE(space.contains(a));
            REQUIRE(a == space.sample(h));
            REQUIRE(space.mutate(a, g) == space.mutate(a, h));
            REQUIRE(space.crossover(a, a, g) == space.crossover(a, a, h));
            depths.insert(a.layers.size());
        }
        CHECK(depths.size() == space.max_depth() - space.min_depth() + 1); // every depth shows up
    }
    const auto image = chain::image();
    CHECK(image.min_depth() == 1);
    CHECK(image.max_depth() == 6);
}

TEST_CASE("chain mutate returns a different valid chain, one edit away", "[space][chain]") {
    for (const auto& space : {chain::image(), chain::sequence(), tiny_space()}) {
        rng g(21);
        for (int t = 0; t < 300; ++t) {
            const auto a = space.sample(g);
            const auto b = space.mutate(a, g);
            REQUIRE(b != a);
            REQUIRE(valid_ranges(space, b));
            const auto da = static_cast<long>(a.layers.size()),
                       db = static_cast<long>(b.layers.size());
            REQUIRE(std::abs(da - db) <= 1);
            if (da == db) { // a change: exactly one layer differs
                std::size_t diff = 0;
                for (std::size_t j = 0; j < a.layers.size(); ++j)
                    diff += a.layers[j] != b.layers[j] ? 1 : 0;
                REQUIRE(diff == 1);
            }
        }
    }
}

TEST_CASE("chain neighbours are valid, distinct, exclude the origin, and count as expected",
          "[space][chain]") {
    const auto space = tiny_space();
    // s: a(x=1) | b(skip=0); t: c(y=q).
    const auto a = space.parse("a(x=1)|b(skip=0)+c(y=q)");
    const auto ns = space.neighbours(a);
    // Changes: layer 0: op -> b (1), x (1); layer 1: op -> a (1), skip -> none (1);
    // layer 2: y (2). Adds: copy of layer 0 after 0, copy of 1 after 1, copy of c (3).
    // Removes: layer 0 or 1 of s (2); t is at its min. Total 11.
    CHECK(ns.size() == 11);
    for (std::size_t i = 0; i < ns.size(); ++i) {
        REQUIRE(valid_ranges(space, ns[i]));
        CHECK(ns[i] != a);
        for (std::size_t k = 0; k < i; ++k)
            CHECK(ns[k] != ns[i]);
    }
    std::set<std::string> texts;
    for (const auto& n : ns)
        texts.insert(space.to_string(n));
    CHECK(texts.count("b()|b(skip=0)+c(y=q)") == 1);
    CHECK(texts.count("a(x=1)|a(x=1)|b(skip=0)+c(y=q)") == 1); // skip follows its source's index
    CHECK(texts.count("a(x=1)|b(skip=0)|b()+c(y=q)") == 1);
    CHECK(texts.count("b()+c(y=q)") == 1); // removing the source drops the skip
    CHECK(texts.count("a(x=1)+c(y=q)") == 1);
    CHECK(texts.count("a(x=1)|b(skip=0)+c(y=q)|c(y=q)") == 1);

    for (const auto& big : {chain::image(), chain::sequence()}) {
        rng g(4);
        for (int t = 0; t < 40; ++t) {
            const auto x = big.sample(g);
            const auto nx = big.neighbours(x);
            REQUIRE_FALSE(nx.empty());
            std::set<std::string> distinct;
            for (const auto& n : nx) {
                REQUIRE(valid_ranges(big, n));
                distinct.insert(big.to_string(n));
            }
            CHECK(distinct.size() == nx.size());
            CHECK(distinct.count(big.to_string(x)) == 0);
        }
    }
}

TEST_CASE("chain cardinality matches brute-force enumeration of a tiny space", "[space][chain]") {
    const auto space = tiny_space();
    // s: 3 fillings per layer times 1, 2, 3 skip options by position: 1 + 3 + 3*6 + 3*6*9 = 184;
    // t: 3 + 9 = 12.
    CHECK(space.cardinality() == 184.0 * 12.0);
    const auto all = enumerate(space);
    std::set<std::string> texts;
    for (const auto& a : all) {
        REQUIRE(space.contains(a));
        texts.insert(space.to_string(a));
    }
    CHECK(all.size() == 2208);
    CHECK(texts.size() == all.size());
    // The neighbour graph is connected: a breadth-first walk from one chain reaches them all.
    std::set<std::string> seen{space.to_string(all.front())};
    std::deque<chain::architecture> queue{all.front()};
    while (!queue.empty()) {
        const auto a = queue.front();
        queue.pop_front();
        for (const auto& n : space.neighbours(a))
            if (seen.insert(space.to_string(n)).second)
                queue.push_back(n);
    }
    CHECK(seen == texts);
    // Without skips and with a single stage: 2 ops x 2 values, depth 1..2 -> 4 + 16.
    const chain plain(1, 2, {{"u", {chain::choice::flag("f")}}, {"v", {chain::choice::flag("g")}}});
    CHECK(plain.cardinality() == 20.0);
    CHECK(enumerate(plain).size() == 20);
}

TEST_CASE("chain to_string and parse round-trip exactly", "[space][chain]") {
    for (const auto& space : {chain::image(), chain::sequence(), tiny_space()}) {
        rng g(77);
        for (int t = 0; t < 300; ++t) {
            const auto a = space.sample(g);
            const auto text = space.to_string(a);
            REQUIRE(space.parse(text) == a);
            REQUIRE(space.to_string(space.parse(text)) == text);
        }
    }
    const auto image = chain::image();
    const std::string text =
        "conv(k=3,c=32,act=relu,bn=1,pool=max)|conv(k=5,c=64,act=gelu,bn=0,pool=none,skip=0)+"
        "dense(w=128,act=relu,drop=0.2)";
    const auto a = image.parse(text);
    REQUIRE(a.layers.size() == 3);
    CHECK(image.to_string(a) == text);
    CHECK(image.op_name(a.layers[0]) == "conv");
    CHECK(image.int_value(a.layers[0], "c") == 32);
    CHECK(image.value(a.layers[1], "act") == "gelu");
    CHECK(image.value(a.layers[0], "pool") == "max");
    CHECK(a.layers[1].skip == 0u);
    CHECK_FALSE(a.layers[0].skip.has_value());
    CHECK(a.layers[2].stage == 1);
    CHECK(image.real_value(a.layers[2], "drop") == 0.2);
    CHECK(image.has(a.layers[2], "w"));
    CHECK_FALSE(image.has(a.layers[2], "k"));
    CHECK_THROWS_AS(image.value(a.layers[2], "k"), std::out_of_range);
    CHECK_THROWS_AS(image.int_value(a.layers[0], "act"), parse_error);
    // Lenient on order, spacing and numeric spelling; prints canonically.
    const auto b = image.parse(" conv( c=32, k=3,pool=max , bn=1,act=relu ) | "
                               "conv(k=5,c=64,skip=0,act=gelu,bn=0,pool=none)"
                               " + dense(drop=0.20,w=128,act=relu)");
    CHECK(b == a);
    // An empty later stage prints as nothing after its '+'.
    const auto c = image.parse("conv(k=3,c=8,act=relu,bn=0,pool=none)+");
    CHECK(image.to_string(c) == "conv(k=3,c=8,act=relu,bn=0,pool=none)+");
}

TEST_CASE("chain parse errors name the token and its offset", "[space][chain]") {
    using Catch::Matchers::Contains;
    const auto image = chain::image();
    const std::string conv = "conv(k=3,c=32,act=relu,bn=1,pool=max)";
    auto throws = [&](const std::string& text) {
        CHECK_THROWS_AS(image.parse(text), parse_error);
        try {
            image.parse(text);
        } catch (const parse_error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    CHECK_THAT(throws("conx(k=3)+"),
               Contains("unknown op") && Contains("'conx'") && Contains("offset 0"));
    CHECK_THAT(throws(conv + "|dense(w=128,act=relu,drop=0.2)"),
               Contains("'dense'") && Contains("offset 38") && Contains("separated by '+'"));
    CHECK_THAT(throws("conv(k=3,c=32,act=relu,bn=1,pool=max,q=1)+"),
               Contains("unknown choice") && Contains("'q'") && Contains("offset 37"));
    CHECK_THAT(throws("conv(k=7,c=32,act=relu,bn=1,pool=max)+"),
               Contains("value not allowed for conv.k") && Contains("'7'") &&
                   Contains("offset 7") && Contains("3, 5"));
    CHECK_THAT(throws("conv(k=3,c=32,act=relu,bn=1)+"),
               Contains("missing choice 'pool'") && Contains("'conv'"));
    CHECK_THAT(throws("conv(k=3,c=32,act=relu,bn=1,pool=max,k=5)+"),
               Contains("'k' given twice") && Contains("offset 37"));
    CHECK_THAT(throws(conv + "|conv(k=3,c=32,act=relu,bn=1,pool=max,skip=1)+"),
               Contains("bad skip source") && Contains("'1'") && Contains("offset 80"));
    CHECK_THAT(throws("conv(k=3,c=32,act=relu,bn=1,pool=max,skip=0)+"),
               Contains("bad skip source"));
    CHECK_THAT(throws(conv + "+dense(w=128,act=relu,drop=0.2,skip=0)"),
               Contains("no skip connections") && Contains("'skip'"));
    CHECK_THAT(throws("conv(k=3,c=32,act=relu,bn=1,pool=max"),
               Contains("expected ')' or ','") && Contains("end of text"));
    CHECK_THAT(throws("conv k=3)+"),
               Contains("expected '('") && Contains("'k'") && Contains("offset 5"));
    CHECK_THAT(throws("conv(k 3)+"), Contains("expected '='") && Contains("'3'"));
    CHECK_THAT(throws(conv), Contains("expected '+'") && Contains("end of text"));
    CHECK_THAT(throws(conv + "++"), Contains("too many stages") && Contains("offset 38"));
    CHECK_THAT(throws("+"),
               Contains("stage 'conv' has 0 layers, expected 1..4") && Contains("offset 0"));
    CHECK_THAT(throws(conv + "|" + conv + "|" + conv + "|" + conv + "|" + conv + "+"),
               Contains("stage 'conv' has 5 layers, expected 1..4"));
    CHECK_THAT(throws(conv + ")+"), Contains("expected '|' or '+'") || Contains("expected '+'"));
}

TEST_CASE("chain constraints reject and resample, repair fixes, impossible ones throw",
          "[space][chain]") {
    using Catch::Matchers::Contains;
    const auto image = chain::image();
    auto at_most_two = [](const chain::architecture& a) { return a.layers.size() <= 2; };
    const auto small = image.with_constraint(at_most_two);
    rng g(8);
    for (int t = 0; t < 200; ++t) {
        const auto a = small.sample(g);
        REQUIRE(a.layers.size() <= 2);
        REQUIRE(small.mutate(a, g).layers.size() <= 2);
        REQUIRE(small.crossover(a, small.sample(g), g).layers.size() <= 2);
        for (const auto& n : small.neighbours(a))
            REQUIRE(n.layers.size() <= 2);
    }
    CHECK(small.contains(small.parse("conv(k=3,c=8,act=relu,bn=0,pool=none)+")));
    const auto three =
        image.parse("conv(k=3,c=8,act=relu,bn=0,pool=none)|conv(k=3,c=8,act=relu,bn=0,pool=none)+"
                    "dense(w=32,act=relu,drop=0)");
    CHECK(image.contains(three));
    CHECK_FALSE(small.contains(three));
    CHECK(small.cardinality() == image.cardinality()); // documented: counts the unconstrained space

    const auto never = image.with_constraint([](const chain::architecture&) { return false; }, 7);
    CHECK_THROWS_AS(never.sample(g), std::runtime_error);
    CHECK_THROWS_WITH(never.sample(g), Contains("7 attempts"));

    // Repair: drop every skip; sampled and mutated chains then never have one.
    const auto no_skips = image.with_repair([](chain::architecture a) {
        for (auto& l : a.layers)
            l.skip.reset();
        return a;
    });
    for (int t = 0; t < 100; ++t) {
        const auto a = no_skips.mutate(no_skips.sample(g), g);
        for (const auto& l : a.layers)
            REQUIRE_FALSE(l.skip.has_value());
    }
    // A repair that leaves the space is a bug in user code, reported as such.
    const auto broken = image.with_repair([](chain::architecture a) {
        a.layers.clear();
        return a;
    });
    CHECK_THROWS_AS(broken.sample(g), std::logic_error);
}

TEST_CASE("chain crossover splices valid children from both parents", "[space][chain]") {
    for (const auto& space : {chain::image(), tiny_space()}) {
        rng g(13);
        for (int t = 0; t < 300; ++t) {
            const auto a = space.sample(g), b = space.sample(g);
            const auto c = space.crossover(a, b, g);
            REQUIRE(valid_ranges(space, c));
            // The child starts with a prefix of a (possibly empty) and ends with a suffix of b.
            std::size_t prefix = 0;
            while (prefix < c.layers.size() && prefix < a.layers.size() &&
                   c.layers[prefix].op == a.layers[prefix].op &&
                   c.layers[prefix].values == a.layers[prefix].values)
                ++prefix;
            std::size_t suffix = 0;
            while (suffix < c.layers.size() && suffix < b.layers.size() &&
                   c.layers[c.layers.size() - 1 - suffix].values ==
                       b.layers[b.layers.size() - 1 - suffix].values &&
                   c.layers[c.layers.size() - 1 - suffix].op ==
                       b.layers[b.layers.size() - 1 - suffix].op)
                ++suffix;
            REQUIRE(prefix + suffix >= c.layers.size());
        }
    }
}

TEST_CASE("chain encodings have a fixed length with one-hots per present layer",
          "[space][chain][encoding]") {
    const auto image = chain::image();
    // conv slot: 1 op + (2 + 4 + 2 + 2 + 3) values + 3 skip sources = 17, x 4; dense slot:
    // 1 + (4 + 2 + 3) = 10, x 2.
    CHECK(image.encoding_size() == 4 * 17 + 2 * 10);
    rng g(2);
    for (int t = 0; t < 200; ++t) {
        const auto a = image.sample(g);
        const auto x = image.encode(a);
        REQUIRE(x.size() == image.encoding_size());
        std::size_t ones = 0, skips = 0;
        for (const auto& l : a.layers) {
            ones += 1 + image.op_of(l).choices.size();
            skips += l.skip ? 1 : 0;
        }
        CHECK(static_cast<std::size_t>(std::count(x.begin(), x.end(), 1.0)) == ones + skips);
        CHECK(static_cast<std::size_t>(std::count(x.begin(), x.end(), 0.0)) ==
              x.size() - ones - skips);
    }
    const auto a = image.parse("conv(k=5,c=8,act=relu,bn=0,pool=none)+");
    const auto x = image.encode(a);
    CHECK(x[0] == 1.0);                                   // op conv
    CHECK(x[2] == 1.0);                                   // k = 5 (second value)
    CHECK(x[3] == 1.0);                                   // c = 8
    CHECK(std::count(x.begin() + 17, x.end(), 1.0) == 0); // absent layers are zeros
}

TEST_CASE("users add their own ops; bad definitions are rejected with the name", "[space][chain]") {
    using Catch::Matchers::Contains;
    const chain mine(
        1, 3,
        {{"attention",
          {chain::choice::ints("heads", {2, 4, 8}), chain::choice::reals("drop", {0.0, 0.1})}},
         {"identity", {}}},
        true);
    rng g(5);
    for (int t = 0; t < 100; ++t) {
        const auto a = mine.sample(g);
        REQUIRE(mine.parse(mine.to_string(a)) == a);
    }
    CHECK(mine.to_string(mine.parse("identity()|attention(heads=4,drop=0.1,skip=0)")) ==
          "identity()|attention(heads=4,drop=0.1,skip=0)");
    CHECK(mine.to_string(mine.parse("identity()|identity(skip=0)")) ==
          "identity()|identity(skip=0)");
    CHECK(chain::choice::range("c", 8, 20, 4).values ==
          std::vector<std::string>{"8", "12", "16", "20"});
    CHECK(chain::choice::doubling("c", 8, 64).values ==
          std::vector<std::string>{"8", "16", "32", "64"});
    CHECK(chain::choice::reals("d", {0.0, 0.25, 1e-3}).values ==
          std::vector<std::string>{"0", "0.25", "0.001"});

    CHECK_THROWS_WITH(chain(std::vector<chain::stage>{}), Contains("no stages"));
    CHECK_THROWS_WITH(chain(3, 1, {{"x", {}}}), Contains("min_layers 3 > max_layers 1"));
    CHECK_THROWS_WITH(chain(1, 2, {}), Contains("no op"));
    CHECK_THROWS_WITH(chain(1, 2, {{"x", {}}, {"x", {}}}), Contains("op 'x' listed twice"));
    CHECK_THROWS_WITH(chain(1, 2, {{"x(", {}}}), Contains("'x('"));
    CHECK_THROWS_WITH(chain(1, 2, {{"x", {chain::choice::of("skip", {"1"})}}}), Contains("'skip'"));
    CHECK_THROWS_WITH(chain(1, 2, {{"x", {chain::choice::of("k", {})}}}),
                      Contains("choice 'k'") && Contains("no values"));
    CHECK_THROWS_WITH(chain(1, 2, {{"x", {chain::choice::of("k", {"a b"})}}}), Contains("'a b'"));
    CHECK_THROWS_WITH(chain(1, 2, {{"x", {chain::choice::of("k", {"1", "1"})}}}),
                      Contains("'1' listed twice"));
    // Architectures from elsewhere are rejected at the boundary, naming what is wrong.
    chain::architecture foreign;
    foreign.layers.push_back({0, 5, {}, std::nullopt});
    CHECK_THROWS_WITH(mine.mutate(foreign, g), Contains("layer 0 has op 5"));
    CHECK_FALSE(mine.contains(foreign));
}
