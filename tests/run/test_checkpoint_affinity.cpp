#include <catch2/catch.hpp>
#include <deque>
#include <vector>
#include <xnas/parallel/checkpoint_affinity.hpp>

namespace {

// A trial whose architecture is `arch` (its own key, for these tests).
xnas::trial<int> child(std::uint64_t id, int arch, std::vector<std::uint64_t> parents) {
    xnas::trial<int> t;
    t.id = id;
    t.architecture = arch;
    t.parents = std::move(parents);
    return t;
}

std::uint64_t key(const xnas::trial<int>& t) {
    return static_cast<std::uint64_t>(t.architecture);
}

} // namespace

TEST_CASE("checkpoint_affinity: a promotion belongs to its parent's worker, which takes it before "
          "fresh trials",
          "[run][affinity]") {
    xnas::detail::checkpoint_affinity where;
    where.ran(1, 3, 100);
    where.ran(2, 1, 200);
    where.ran(5, 2, 500);
    const auto holder = [&](const xnas::trial<int>& t) { return where.holder(t, key(t)); };
    CHECK(holder(child(9, 100, {1})) == 3);
    CHECK(holder(child(9, 200, {2})) == 1);
    CHECK_FALSE(holder(child(9, 100, {})));     // a fresh trial
    CHECK_FALSE(holder(child(9, 100, {7})));    // a parent no worker ran
    CHECK_FALSE(holder(child(9, 101, {1})));    // a mutation: another architecture
    CHECK_FALSE(holder(child(9, 100, {1, 2}))); // a crossover

    // A worker that comes free takes the first waiting trial whose parent it ran, else the
    // first that continues nothing; another worker's promotions wait for that worker, mutations
    // of its trials do not.
    const std::deque<xnas::trial<int>> waiting{child(10, 200, {2}), child(11, 300, {}),
                                               child(12, 100, {1}), child(13, 400, {})};
    CHECK(where.pick_trial(3, waiting, key) == 2u);
    CHECK(where.pick_trial(1, waiting, key) == 0u);
    CHECK(where.pick_trial(2, waiting, key) == 1u);
    const std::deque<xnas::trial<int>> only_promotions{child(10, 200, {2}), child(12, 100, {1})};
    CHECK_FALSE(where.pick_trial(2, only_promotions, key));
    CHECK(where.pick_trial(3, only_promotions, key) == 1u);
    const std::deque<xnas::trial<int>> mutations{child(14, 201, {2}), child(15, 501, {5})};
    CHECK(where.pick_trial(3, mutations, key) == 0u);

    // Retired trials are forgotten, grouped by their worker; unknown ids are skipped.
    where.ran(4, 3, 400);
    const std::vector<std::uint64_t> retired{1, 2, 4, 8};
    const auto by_worker = where.forget(retired);
    REQUIRE(by_worker.size() == 2);
    CHECK(by_worker.at(3) == std::vector<std::uint64_t>{1, 4});
    CHECK(by_worker.at(1) == std::vector<std::uint64_t>{2});
    CHECK_FALSE(holder(child(9, 100, {1})));
    CHECK(where.forget(retired).empty());
}
