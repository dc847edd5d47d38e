#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <xnas/space/param_space.hpp>

using Catch::Matchers::Contains;
using xnas::param_get;
using xnas::when;

namespace {

xnas::param_space mixed() {
    xnas::param_space s;
    s.add_categorical("optimizer", {"sgd", "adam"})
        .add_float("momentum", 0.0, 0.99, when("optimizer", {"sgd"}))
        .add_log_float("beta2", 0.9, 0.9999, when("optimizer", {"adam"}))
        .add_int("layers", 1, 7, 2)
        .add_log_float("lr", 1e-4, 1e-1)
        .add_categorical("act", {"relu", "tanh", "gelu"});
    return s;
}

// Discrete only: (sgd: 2 nesterov + adam: 2 amsgrad + rmsprop: 1) * 4 layers = 20.
xnas::param_space discrete() {
    xnas::param_space s;
    s.add_categorical("opt", {"sgd", "adam", "rmsprop"})
        .add_categorical("nesterov", {"yes", "no"}, when("opt", {"sgd"}))
        .add_int("layers", 1, 7, 2)
        .add_categorical("amsgrad", {"on", "off"}, when("opt", {"adam"}));
    return s;
}

} // namespace

TEST_CASE("param_space models every space concept", "[space][param]") {
    STATIC_REQUIRE(xnas::serializable_space<xnas::param_space>);
    STATIC_REQUIRE(xnas::neighbourhood_space<xnas::param_space>);
    STATIC_REQUIRE(xnas::encodable_space<xnas::param_space>);
    STATIC_REQUIRE(xnas::crossover_space<xnas::param_space>);
    STATIC_REQUIRE(xnas::finite_space<xnas::param_space>);
}

TEST_CASE("param_space samples respect domains and conditions", "[space][param]") {
    const auto s = mixed();
    xnas::rng g(1);
    int below_geo_mid = 0;
    const int n = 2000;
    for (int i = 0; i < n; ++i) {
        const auto a = s.sample(g);
        const bool sgd = param_get<std::string>(a, "optimizer") == "sgd";
        CHECK(a.count("momentum") == (sgd ? 1u : 0u));
        CHECK(a.count("beta2") == (sgd ? 0u : 1u));
        const auto layers = param_get<std::int64_t>(a, "layers");
        CHECK((layers == 1 || layers == 3 || layers == 5 || layers == 7));
        const double lr = param_get<double>(a, "lr");
        CHECK(lr >= 1e-4);
        CHECK(lr <= 1e-1);
        below_geo_mid += lr < std::sqrt(1e-4 * 1e-1);
        CHECK(s.contains(a));
    }
    // log-uniform: half the mass lies below the geometric mean
    CHECK(below_geo_mid > n * 0.45);
    CHECK(below_geo_mid < n * 0.55);
    CHECK_THROWS_AS(param_get<double>(s.sample(g), "layers"), std::invalid_argument);
    CHECK_THROWS_AS(param_get<double>(s.sample(g), "nope"), std::out_of_range);
}

TEST_CASE("param_space text round trip is exact", "[space][param]") {
    const auto s = mixed();
    xnas::rng g(2);
    for (int i = 0; i < 300; ++i) {
        const auto a = s.sample(g);
        const auto text = s.to_string(a);
        const auto b = s.parse(text);
        CHECK(b == a);
        CHECK(s.to_string(b) == text);
    }
    xnas::param_space::architecture a{{"optimizer", std::string("sgd")},
                                      {"momentum", 0.1},
                                      {"layers", std::int64_t{3}},
                                      {"lr", 0.001},
                                      {"act", std::string("tanh")}};
    CHECK(s.to_string(a) == "optimizer=sgd;momentum=0.1;layers=3;lr=0.001;act=tanh");
}

TEST_CASE("param_space parse errors name the token", "[space][param]") {
    const auto s = mixed();
    const std::string ok = "optimizer=sgd;momentum=0.5;layers=3;lr=0.01;act=relu";
    CHECK_NOTHROW(s.parse(ok));
    CHECK_THROWS_WITH(s.parse("optimizer=sgd;momentum"), Contains("'momentum' at offset 14"));
    CHECK_THROWS_WITH(s.parse("optimizer=nadam;layers=3;lr=0.01;act=relu"),
                      Contains("'nadam'") && Contains("one of sgd, adam"));
    CHECK_THROWS_WITH(s.parse("optimizer=sgd;momentum=0.5;layers=4;lr=0.01;act=relu"),
                      Contains("'4' is not a value of 'layers'"));
    CHECK_THROWS_WITH(s.parse("optimizer=sgd;momentum=0.5;layers=x;lr=0.01;act=relu"),
                      Contains("not an integer"));
    CHECK_THROWS_WITH(s.parse("optimizer=sgd;momentum=2;layers=3;lr=0.01;act=relu"),
                      Contains("[0, 0.99]"));
    CHECK_THROWS_WITH(s.parse("optimizer=sgd;layers=3;lr=0.01;act=relu"),
                      Contains("active parameter 'momentum' is missing"));
    CHECK_THROWS_WITH(s.parse("optimizer=adam;beta2=0.99;momentum=0.5;layers=3;lr=0.01;act=relu"),
                      Contains("'momentum' is given but inactive"));
    CHECK_THROWS_WITH(s.parse(ok + ";depth=3"), Contains("no parameter named 'depth'"));
    CHECK_THROWS_WITH(s.parse(ok + ";act=tanh"), Contains("given twice"));
    CHECK_THROWS_AS(s.parse("garbage"), xnas::parse_error);
}

TEST_CASE("param_space mutate changes one parameter and keeps conditions", "[space][param]") {
    const auto s = mixed();
    xnas::rng g(3);
    for (int i = 0; i < 300; ++i) {
        const auto a = s.sample(g);
        const auto b = s.mutate(a, g);
        CHECK(b != a);
        CHECK(s.contains(b));
        // Unconditional parameters: at most one differs (optimizer changes bring their children).
        int changed = 0;
        for (const char* name : {"optimizer", "layers", "lr", "act"})
            changed += a.at(name) != b.at(name);
        if (a.at("optimizer") == b.at("optimizer")) {
            int cond_changed = 0;
            for (const char* name : {"momentum", "beta2"})
                cond_changed += a.count(name) && a.at(name) != b.at(name);
            CHECK(changed + cond_changed == 1);
        } else {
            CHECK(changed == 1);
        }
    }
    // same generator state, same mutation
    xnas::rng g1(9), g2(9);
    const auto a = s.sample(g1);
    CHECK(s.mutate(a, g1) == s.mutate(s.sample(g2), g2));
}

TEST_CASE("param_space neighbours are one edit away and deterministic", "[space][param]") {
    const auto s = discrete();
    const auto a = s.parse("opt=sgd;nesterov=no;layers=3");
    const auto ns = s.neighbours(a);
    // nesterov: yes; layers: 1, 5; opt: adam (amsgrad default on, nesterov dropped), rmsprop
    std::set<std::string> texts;
    for (const auto& n : ns)
        texts.insert(s.to_string(n));
    CHECK(texts == std::set<std::string>{"opt=sgd;nesterov=yes;layers=3",
                                         "opt=sgd;nesterov=no;layers=1",
                                         "opt=sgd;nesterov=no;layers=5",
                                         "opt=adam;layers=3;amsgrad=on", "opt=rmsprop;layers=3"});
    CHECK(ns == s.neighbours(a));

    const auto m = mixed();
    const auto b = m.parse("optimizer=adam;beta2=0.9999;layers=7;lr=0.01;act=relu");
    for (const auto& n : m.neighbours(b)) {
        CHECK(n != b);
        CHECK(m.contains(n));
    }
}

TEST_CASE("param_space crossover takes each value from a parent", "[space][param]") {
    const auto s = mixed();
    xnas::rng g(4);
    for (int i = 0; i < 200; ++i) {
        const auto a = s.sample(g), b = s.sample(g);
        const auto c = s.crossover(a, b, g);
        CHECK(s.contains(c));
        for (const auto& [name, v] : c) {
            const bool from_a = a.count(name) && a.at(name) == v;
            const bool from_b = b.count(name) && b.at(name) == v;
            // a child activated by crossover when neither parent had it is drawn afresh
            if (a.count(name) || b.count(name))
                CHECK((from_a || from_b));
        }
    }
}

TEST_CASE("param_space encoding: one-hot, normalised, inactive zero", "[space][param]") {
    const auto s = mixed();
    CHECK(s.encoding_size() == 2 + 1 + 1 + 1 + 1 + 3);
    const auto a = s.parse("optimizer=sgd;momentum=0.495;layers=5;lr=0.001;act=gelu");
    const auto e = s.encode(a);
    REQUIRE(e.size() == 9);
    CHECK(e[0] == 1.0); // sgd
    CHECK(e[1] == 0.0);
    CHECK(e[2] == Approx(0.5));       // momentum in [0, 0.99]
    CHECK(e[3] == 0.0);               // beta2 inactive
    CHECK(e[4] == Approx(4.0 / 6.0)); // layers 5 in [1, 7]
    CHECK(e[5] == Approx(1.0 / 3.0)); // lr 1e-3 on log [1e-4, 1e-1]
    CHECK(e[6] == 0.0);
    CHECK(e[7] == 0.0);
    CHECK(e[8] == 1.0); // gelu
}

TEST_CASE("param_space cardinality counts conditional branches", "[space][param]") {
    const auto s = discrete();
    CHECK(s.cardinality() == 20.0);
    xnas::rng g(5);
    std::set<std::string> seen;
    for (int i = 0; i < 3000; ++i)
        seen.insert(s.to_string(s.sample(g)));
    CHECK(seen.size() == 20);
    CHECK(std::isinf(mixed().cardinality()));
}

TEST_CASE("param_space constraints: reject and resample, or repair", "[space][param]") {
    SECTION("a predicate rejects") {
        auto s = discrete();
        s.add_constraint([](const xnas::param_space::architecture& a) {
            return param_get<std::int64_t>(a, "layers") <= 3;
        });
        xnas::rng g(6);
        for (int i = 0; i < 200; ++i) {
            const auto a = s.sample(g);
            CHECK(param_get<std::int64_t>(a, "layers") <= 3);
            CHECK(param_get<std::int64_t>(s.mutate(a, g), "layers") <= 3);
        }
        for (const auto& n : s.neighbours(s.parse("opt=rmsprop;layers=3")))
            CHECK(param_get<std::int64_t>(n, "layers") <= 3);
    }
    SECTION("an impossible predicate throws after bounded attempts") {
        auto s = discrete();
        s.add_constraint([](const auto&) { return false; }).set_max_attempts(10);
        xnas::rng g(7);
        CHECK_THROWS_WITH(s.sample(g), Contains("10 attempts"));
    }
    SECTION("a repair function maps to valid architectures") {
        auto s = discrete();
        s.set_repair([](xnas::param_space::architecture a) {
            if (param_get<std::int64_t>(a, "layers") > 3)
                a["layers"] = std::int64_t{3};
            return a;
        });
        xnas::rng g(8);
        for (int i = 0; i < 100; ++i)
            CHECK(param_get<std::int64_t>(s.sample(g), "layers") <= 3);
        auto broken = discrete();
        broken.set_repair([](xnas::param_space::architecture a) {
            a["layers"] = std::int64_t{4};
            return a;
        });
        CHECK_THROWS_AS(broken.sample(g), std::logic_error);
    }
}

TEST_CASE("param_space definitions are validated", "[space][param]") {
    xnas::param_space s;
    s.add_categorical("a", {"x", "y"});
    CHECK_THROWS_WITH(s.add_int("a", 0, 1), Contains("declared twice"));
    CHECK_THROWS_WITH(s.add_int("n", 3, 1), Contains("expected lo <= hi"));
    CHECK_THROWS_WITH(s.add_log_float("lr", 0, 1), Contains("0 < lo"));
    CHECK_THROWS_WITH(s.add_float("f", 0, 1, when("later", {"x"})),
                      Contains("not declared before"));
    CHECK_THROWS_WITH(s.add_float("f", 0, 1, when("a", {"z"})), Contains("'z' is not a value"));
    CHECK_THROWS_WITH(s.add_categorical("c", {"p;q"}), Contains("without ';'"));
    CHECK_THROWS_WITH(s.add_categorical("c", {}), Contains("no choices"));
    xnas::rng g(1);
    CHECK_THROWS_WITH(xnas::param_space{}.sample(g), Contains("no parameters"));
}
