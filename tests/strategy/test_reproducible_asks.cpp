// The asks of the shipped strategies on the shipped spaces, fingerprinted: the same seed must give
// the same study across releases (a resumed or re-run search relies on it). Each fingerprint hashes
// every asked trial (id, architecture as text, fidelity, parents) of a run with asynchronous tells
// and failures; a change to a strategy's draws, its parent choice or a space's decision view shows
// here as a changed number. A deliberate change of behaviour updates the numbers in its commit.

#include "loop.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <xnas/space/cell_space.hpp>
#include <xnas/space/chain_space.hpp>
#include <xnas/space/param_space.hpp>
#include <xnas/space/product_space.hpp>
#include <xnas/strategy.hpp>

namespace {

std::uint64_t fnv1a(std::uint64_t h, const std::string& text) {
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001B3ULL;
    }
    return h;
}

constexpr std::uint64_t fnv_basis = 0xCBF29CE484222325ULL;

// A landscape drawn from the architecture's text: a score, a small integer "size" (many ties, to
// exercise crowding-distance ties), a cost, and a failure for about one trial in eleven.
template <class Space>
xnas::evaluation landscape(const Space& space, const typename Space::architecture& a) {
    const std::uint64_t h = fnv1a(fnv_basis, space.to_string(a));
    if (h % 11 == 0)
        return xnas::evaluation::failure(xnas::status::failed, "unlucky");
    xnas::evaluation e;
    e.objectives["score"] = static_cast<double>(h % 10007) / 10007.0;
    e.objectives["size"] = static_cast<double>((h >> 20) % 5);
    e.cost = 1.0 + static_cast<double>((h >> 32) % 50) / 10.0;
    return e;
}

// Runs `trials` asks (4 in flight, tells shuffled) and hashes them. `score_only`: evaluations
// have the one objective "score" (for strategies that read an unnamed objective).
template <class Space, class St>
std::uint64_t fingerprint(const Space& space, St st, std::size_t trials = 80,
                          bool score_only = false) {
    auto evaluate = [&](const auto& t) {
        auto e = landscape(space, t.architecture);
        if (score_only)
            e.objectives.erase("size");
        return e;
    };
    const auto records = xnas_test::run(st, space, evaluate, trials, 17, 4);
    std::uint64_t h = fnv_basis;
    for (const auto& r : records) {
        char fidelity[64];
        std::snprintf(fidelity, sizeof fidelity, "%a", r.t.fidelity);
        std::string text =
            std::to_string(r.t.id) + "|" + space.to_string(r.t.architecture) + "|" + fidelity + "|";
        for (auto p : r.t.parents)
            text += std::to_string(p) + ",";
        h = fnv1a(h, text + ";");
    }
    return h;
}

using xnas_test::score;
const xnas::objective size_min{"size", xnas::direction::minimize};

xnas::param_space params() {
    return xnas::param_space{}
        .add_categorical("opt", {"sgd", "adam"})
        .add_float("momentum", 0, 0.99, xnas::when("opt", {"sgd"}))
        .add_int("layers", 1, 6)
        .add_int("batch", 16, 512)
        .add_log_float("lr", 1e-4, 1e-1);
}

// Fingerprints of every strategy whose parent choice or decisions go through a customisation
// point, on one space.
template <class Space>
std::vector<std::uint64_t> fingerprints(const Space& space) {
    using namespace xnas;
    std::vector<std::uint64_t> out;
    out.push_back(
        fingerprint(space, regularized_evolution<Space>(
                               {.population_size = 12, .sample_size = 4, .objective = score})));
    out.push_back(fingerprint(space, regularized_evolution<Space>({.population_size = 10,
                                                                   .sample_size = 10,
                                                                   .crossover_probability = 0.5,
                                                                   .objective = size_min})));
    out.push_back(fingerprint(space, regularized_evolution<Space>(), 80, true));
    out.push_back(fingerprint(space, nsga2<Space>({.population_size = 8,
                                                   .objectives = {score, size_min},
                                                   .crossover_probability = 0.5})));
    out.push_back(fingerprint(space, tpe<Space>({.objective = score})));
    out.push_back(fingerprint(space, tpe<Space>({.objective = score, .multivariate = true})));
    out.push_back(fingerprint(
        space, tpe<Space>({.objective = score, .cost_exponent = 1, .cost_cooling = true})));
    out.push_back(
        fingerprint(space, reinforce<Space>({.entropy_weight = 0.01, .objective = score})));
    // Fields set one by one: g++ 12 takes a nested designated initializer's string for
    // maybe-uninitialized.
    bohb_options b;
    b.model.startup_trials = 4;
    b.objective = score;
    out.push_back(fingerprint(space, bohb<Space>(b), 120));
    return out;
}

// The fingerprints in the form the expectations below take, shown on failure for a deliberate
// update.
std::string listing(const std::vector<std::uint64_t>& v) {
    std::string line;
    for (auto x : v)
        line += std::to_string(x) + "u, ";
    return line;
}

} // namespace

TEST_CASE("strategies ask the same trials on cell_space::nb201()", "[strategy][reproducible]") {
    const auto got = fingerprints(xnas::cell_space::nb201());
    INFO(listing(got));
    const std::vector<std::uint64_t> expected{
        1449500594888897370u,  6850099794460489317u, 482772767504688489u,
        9159256992743880261u,  9839877198351846488u, 11233705722481015942u,
        10852911241416861922u, 1212876089900493744u, 6409124492346481752u};
    CHECK(got == expected);
}

TEST_CASE("strategies ask the same trials on chain_space::image()", "[strategy][reproducible]") {
    const auto got = fingerprints(xnas::chain_space::image());
    INFO(listing(got));
    const std::vector<std::uint64_t> expected{
        8758782864980707472u,  13010933959251371711u, 13605100789785452331u,
        2335888236595732844u,  2055992959259395130u,  4531672842360700600u,
        10084106643222698264u, 11482350203255613843u, 9320965066155648429u};
    CHECK(got == expected);
}

TEST_CASE("strategies ask the same trials on a constrained chain_space",
          "[strategy][reproducible]") {
    const auto space = xnas::chain_space::image().with_constraint(
        [](const xnas::chain_space::architecture& a) { return a.layers.size() <= 3; });
    const auto got = fingerprints(space);
    INFO(listing(got));
    const std::vector<std::uint64_t> expected{
        9406076926627524103u,  10553426707909218214u, 17119584855648211954u,
        16077891350667460762u, 10749875762214213885u, 9800558531793621927u,
        16295182178787259466u, 5437476469729268149u,  4900120539864098208u};
    CHECK(got == expected);
}

TEST_CASE("strategies ask the same trials on a param_space", "[strategy][reproducible]") {
    const auto got = fingerprints(params());
    INFO(listing(got));
    const std::vector<std::uint64_t> expected{
        8192921180830373321u, 963060675372740738u,   12774329377815012012u,
        3003092632760599041u, 10361473306407805555u, 10059477748370256859u,
        5118392630407870683u, 262989216640786494u,   10444441941067725542u};
    CHECK(got == expected);
}

TEST_CASE("strategies ask the same trials on a product_space", "[strategy][reproducible]") {
    const auto got = fingerprints(xnas::product_space<xnas::chain_space, xnas::param_space>(
        xnas::chain_space::image(), params()));
    INFO(listing(got));
    const std::vector<std::uint64_t> expected{
        11987623601047081319u, 3465007352303243697u, 1538814220128629035u,
        15693254437900674340u, 1986253013850649931u, 13435889730268140561u,
        4325049365787689873u,  1788569280569511003u, 9458563103632922938u};
    CHECK(got == expected);
}
