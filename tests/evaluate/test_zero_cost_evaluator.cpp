#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/prescreen.hpp>
#include <xnas/evaluate/zero_cost.hpp>
#include <xnas/nn/init.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {
// Grey 8x8 images of noise: naswot only needs inputs, never labels.
std::shared_ptr<data::dataset<float>> noise(std::size_t n, std::uint64_t seed) {
    auto ds = std::make_shared<data::dataset<float>>();
    ds->x = nn::array<float>::from_shape({n, 1, 8, 8});
    ds->labels.assign(n, 0);
    ds->num_classes = 2;
    rng g(seed);
    for (auto& v : ds->x)
        v = static_cast<float>(g.normal());
    return ds;
}

// 1-2 conv layers with relu or gelu: 8 variants per layer, 72 architectures.
chain_space small_space() {
    return chain_space(
        {{"conv",
          1,
          2,
          {{"conv",
            {chain_space::choice::ints("k", {1, 3}), chain_space::choice::ints("c", {2, 4}),
             chain_space::choice::of("act", {"relu", "gelu"})}}}}});
}

chain_builder small_builder() {
    return chain_builder(small_space(), {.input = {1, 8, 8}});
}

using zc_t = zero_cost_evaluator<chain_space::architecture, chain_builder>;

/// The network zero_cost_evaluator scores for `a` under seed `seed`, rebuilt as it documents.
nn::network<float> as_evaluated(const chain_builder& b, const chain_space::architecture& a,
                                std::uint64_t seed) {
    rng g(seed);
    nn::network<float> net = b.build(a, g);
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    return net;
}

chain_space::architecture parse(const std::string& text) {
    return small_space().parse(text);
}
} // namespace

static_assert(evaluator<zc_t, chain_space::architecture>);
static_assert(is_thread_safe_evaluator<zc_t>);

TEST_CASE("zero_cost_evaluator reports the proxy of the network it builds, params and flops",
          "[evaluate][zero_cost]") {
    const auto data = noise(100, 1);
    const auto a = parse("conv(k=3,c=4,act=gelu)|conv(k=1,c=2,act=relu)");
    SECTION("naswot on a fixed mini-batch of the data") {
        const zc_t ev(small_builder(), data, {.batch_size = 32, .seed = 5});
        REQUIRE(ev.batch().shape()[0] == 32);
        // Every row of the batch is a row of the data.
        for (std::size_t r = 0; r < 32; ++r) {
            bool found = false;
            for (std::size_t i = 0; i < data->size() && !found; ++i)
                found = std::equal(ev.batch().data() + r * 64, ev.batch().data() + (r + 1) * 64,
                                   data->x.data() + i * 64);
            CHECK(found);
        }
        const evaluation e = ev.evaluate({3, a});
        INFO(e.message);
        REQUIRE(e.ok());
        const auto net = as_evaluated(ev.builder(), a, 5);
        CHECK(e.value("naswot") == evaluate::naswot(net, ev.batch()));
        CHECK(std::isfinite(e.value("naswot")));
        CHECK(e.value("params") == static_cast<double>(net.parameter_count()));
        CHECK(e.value("flops") == static_cast<double>(net.flops()));
        CHECK(e.cost >= 0);
        CHECK(ev.objective() == objective{"naswot", direction::maximize});
        // Same seed, same score, whatever the trial id; another seed draws another batch and
        // other weights.
        CHECK(ev.evaluate({99, a}).value("naswot") == e.value("naswot"));
        CHECK(zc_t(small_builder(), data, {.batch_size = 32, .seed = 5})
                  .evaluate({3, a})
                  .value("naswot") == e.value("naswot"));
        CHECK(zc_t(small_builder(), data, {.batch_size = 32, .seed = 6})
                  .evaluate({3, a})
                  .value("naswot") != e.value("naswot"));
        // A batch larger than the data takes all of it.
        CHECK(zc_t(small_builder(), noise(10, 2), {.batch_size = 64}).batch().shape()[0] == 10);
    }
    SECTION("synflow, which needs no data") {
        const zc_t ev(small_builder(), nullptr, {.proxy = zero_cost_proxy::synflow, .seed = 5});
        const evaluation e = ev.evaluate({3, a});
        INFO(e.message);
        REQUIRE(e.ok());
        CHECK(e.value("synflow") == evaluate::synflow(as_evaluated(ev.builder(), a, 5)));
        CHECK(e.value("synflow") > 0);
        CHECK(ev.evaluate({4, a}).value("synflow") == e.value("synflow"));
        CHECK(ev.objective().name == "synflow");
    }
}

TEST_CASE("zero_cost_evaluator records failing candidates instead of throwing",
          "[evaluate][zero_cost]") {
    const auto data = noise(40, 1);
    SECTION("a builder that throws") {
        chain_space s(1, 1, {{"mystery", {}}});
        zero_cost_evaluator<chain_space::architecture, chain_builder> ev(chain_builder(s), data);
        rng g(1);
        const auto e = ev.evaluate({1, s.sample(g)});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("mystery"));
    }
    SECTION("a network without activation layers: naswot is undefined") {
        chain_space s({{"conv",
                        1,
                        1,
                        {{"conv",
                          {chain_space::choice::ints("k", {3}), chain_space::choice::ints("c", {2}),
                           chain_space::choice::of("act", {"identity"})}}}}});
        zero_cost_evaluator<chain_space::architecture, chain_builder> ev(
            chain_builder(s, {.input = {1, 8, 8}}), data);
        rng g(1);
        const auto e = ev.evaluate({1, s.sample(g)});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("no element-wise activation"));
    }
    SECTION("a score that is not finite") {
        // Two copies of one image: both samples share every code, K is singular.
        auto twins = noise(1, 3);
        twins->x = nn::array<float>::from_shape({2, 1, 8, 8});
        std::fill(twins->x.begin(), twins->x.end(), 0.25f);
        twins->labels = {0, 0};
        const zc_t ev(small_builder(), twins);
        const auto e = ev.evaluate({1, parse("conv(k=3,c=4,act=relu)")});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("naswot score is -inf") && Contains("share"));
    }
    SECTION("input shapes that do not fit the data") {
        const zc_t ev(chain_builder(small_space(), {.input = {1, 4, 4}}), data);
        const auto e = ev.evaluate({1, parse("conv(k=3,c=4,act=relu)")});
        CHECK(e.state == status::failed);
        CHECK_THAT(e.message, Contains("shape"));
    }
    CHECK_THROWS_AS(zc_t(small_builder(), nullptr), std::invalid_argument);
    CHECK_THROWS_AS(zc_t(small_builder(), noise(1, 1)), std::invalid_argument);
    CHECK_THROWS_AS(zc_t(small_builder(), data, {.batch_size = 1}), std::invalid_argument);
}

TEST_CASE("prescreen keeps the k best distinct architectures of n draws, best first",
          "[evaluate][zero_cost]") {
    const zc_t ev(small_builder(), noise(64, 1), {.batch_size = 32});
    const chain_space space = small_space();
    const std::size_t n = 40, k = 6;
    rng g(11);
    const auto picked = prescreen(space, ev, n, k, g);
    REQUIRE(picked.size() == k);

    // Score every draw directly: the same generator seed gives the same n draws.
    rng again(11);
    std::map<std::string, double> direct; // distinct architectures and their scores
    for (std::size_t i = 0; i < n; ++i) {
        const auto a = space.sample(again);
        direct[space.to_string(a)] = ev.evaluate({i, a}).value("naswot");
    }
    std::vector<double> best;
    for (const auto& [text, s] : direct)
        if (!std::isnan(s)) // a failed draw (naswot -inf) is not a candidate
            best.push_back(s);
    std::sort(best.rbegin(), best.rend());
    REQUIRE(best.size() > k);

    std::set<std::string> distinct;
    for (std::size_t i = 0; i < k; ++i) {
        const std::string text = space.to_string(picked[i].t.architecture);
        distinct.insert(text);
        CHECK(picked[i].e.value("naswot") == direct.at(text));
        CHECK(picked[i].e.value("naswot") == best[i]);
        if (i > 0)
            CHECK(picked[i].e.value("naswot") <= picked[i - 1].e.value("naswot"));
    }
    CHECK(distinct.size() == k);
    // Deterministic given the generator's state.
    rng same(11);
    const auto repeat = prescreen(space, ev, n, k, same);
    for (std::size_t i = 0; i < k; ++i)
        CHECK(repeat[i].t.architecture == picked[i].t.architecture);
}

TEST_CASE("prescreen evaluates each distinct draw once and leaves failures out",
          "[evaluate][zero_cost]") {
    // Scores the number of conv layers and fails every 1x1 first layer.
    struct counting {
        std::map<std::string, int>* calls;
        evaluation evaluate(const trial<chain_space::architecture>& t) {
            const std::string text = small_space().to_string(t.architecture);
            ++(*calls)[text];
            if (text.starts_with("conv(k=1"))
                return evaluation::failure(status::failed, "1x1 first");
            evaluation e;
            e.objectives["layers"] = static_cast<double>(t.architecture.layers.size());
            e.objectives["channels"] = text.find("c=4") != std::string::npos ? 4 : 2;
            return e;
        }
    };
    std::map<std::string, int> calls;
    counting ev{&calls};
    const chain_space space = small_space();
    rng g(2);
    const auto top = prescreen(space, ev, 200, 100, g, {"layers", direction::minimize});
    // 200 draws of 72 architectures repeat some: each was evaluated once all the same.
    CHECK(calls.size() < 200);
    for (const auto& [text, c] : calls)
        CHECK(c == 1);
    std::size_t failing = 0;
    for (const auto& [text, c] : calls)
        failing += text.starts_with("conv(k=1");
    REQUIRE(failing > 0);
    CHECK(top.size() == calls.size() - failing);
    for (std::size_t i = 0; i < top.size(); ++i) {
        CHECK(top[i].e.ok());
        if (i > 0)
            CHECK(top[i].e.value("layers") >= top[i - 1].e.value("layers"));
    }
    CHECK(top.front().e.value("layers") == 1);
    CHECK(top.back().e.value("layers") == 2);
    rng none(2);
    CHECK(prescreen(space, ev, 10, 0, none, {"layers"}).empty());
}
