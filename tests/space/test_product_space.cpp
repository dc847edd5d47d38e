#include <catch2/catch.hpp>
#include <set>
#include <xnas/core/error.hpp>
#include <xnas/space/product_space.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {
// A digit 0..n-1 with every optional ability, to exercise product_space's forwarding.
struct digit_space {
    using architecture = int;
    int n = 10;
    int sample(rng& g) const { return static_cast<int>(g.below(static_cast<std::uint64_t>(n))); }
    int mutate(int a, rng& g) const {
        return (a + 1 + static_cast<int>(g.below(static_cast<std::uint64_t>(n - 1)))) % n;
    }
    std::vector<int> neighbours(int a) const {
        std::vector<int> out;
        for (int v = 0; v < n; ++v)
            if (v != a)
                out.push_back(v);
        return out;
    }
    std::vector<double> encode(int a) const {
        std::vector<double> e(static_cast<std::size_t>(n), 0.0);
        e[static_cast<std::size_t>(a)] = 1.0;
        return e;
    }
    std::size_t encoding_size() const { return static_cast<std::size_t>(n); }
    std::string to_string(int a) const { return std::string(1, 'd').append(std::to_string(a)); }
    int parse(const std::string& s) const {
        if (s.size() < 2 || s[0] != 'd')
            throw parse_error("digit_space: bad token \"" + s + "\"");
        return std::stoi(s.substr(1));
    }
    double cardinality() const { return n; }
};
// Only the three required members: the product still works, optional abilities vanish.
struct bare_space {
    using architecture = int;
    int sample(rng& g) const { return static_cast<int>(g.below(3)); }
    int mutate(int a, rng&) const { return (a + 1) % 3; }
};
// Even digits only: a factor with contains.
struct even_space : digit_space {
    bool contains(int a) const { return a >= 0 && a < n && a % 2 == 0; }
};
} // namespace

static_assert(!has_contains<product_space<digit_space, bare_space>>);

TEST_CASE("product_space contains asks the factors that can tell", "[space][product]") {
    const product_space<even_space, digit_space> left(even_space{}, digit_space{});
    CHECK(left.contains({4, 7}));
    CHECK_FALSE(left.contains({3, 7}));
    const product_space<digit_space, even_space> right(digit_space{}, even_space{});
    CHECK(right.contains({3, 8}));
    CHECK_FALSE(right.contains({3, 9}));
    const product_space<even_space, even_space> both_sides(even_space{}, even_space{});
    CHECK_FALSE(both_sides.contains({2, 1}));
    CHECK(both_sides.contains({2, 0}));
}

using both = product_space<digit_space, digit_space>;
static_assert(search_space<both> && neighbourhood_space<both> && encodable_space<both> &&
              serializable_space<both> && finite_space<both>);
static_assert(search_space<product_space<digit_space, bare_space>>);
static_assert(!serializable_space<product_space<digit_space, bare_space>>);
static_assert(!neighbourhood_space<product_space<bare_space, digit_space>>);

TEST_CASE("product_space round-trips, counts and encodes both factors", "[space][product]") {
    both s(digit_space{10}, digit_space{4});
    rng g(3);
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const auto a = s.sample(g);
        const auto text = s.to_string(a);
        CHECK(s.parse(text) == a);
        seen.insert(text);
        const auto e = s.encode(a);
        REQUIRE(e.size() == s.encoding_size());
        CHECK(e[static_cast<std::size_t>(a.first)] == 1.0);
        CHECK(e[10 + static_cast<std::size_t>(a.second)] == 1.0);
    }
    CHECK(seen.size() == 40); // 200 draws cover all 10 x 4 combinations
    CHECK(s.cardinality() == 40.0);
    CHECK(s.neighbours({2, 1}).size() == 9 + 3);
}

TEST_CASE("product_space mutates exactly one factor, each with its share", "[space][product]") {
    both s(digit_space{10}, digit_space{10}, 0.25);
    rng g(11);
    int first_changed = 0;
    for (int i = 0; i < 4000; ++i) {
        const both::architecture a{3, 7};
        const auto m = s.mutate(a, g);
        CHECK((m.first != a.first) != (m.second != a.second));
        first_changed += m.first != a.first;
    }
    CHECK(first_changed > 850);
    CHECK(first_changed < 1150);
}

TEST_CASE("product_space names bad input", "[space][product]") {
    both s(digit_space{}, digit_space{});
    CHECK_THROWS_AS(s.parse("d1 d2"), parse_error);
    CHECK_THROWS_WITH(s.parse("d1 d2"), Contains("separating"));
    CHECK_THROWS_WITH(s.parse("d1 ; x2"), Contains("\"x2\""));
    CHECK_THROWS_AS(both(digit_space{}, digit_space{}, 1.5), std::invalid_argument);
}
