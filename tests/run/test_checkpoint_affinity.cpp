#include <catch2/catch.hpp>
#include <deque>
#include <vector>
#include <xnas/parallel/checkpoint_affinity.hpp>

namespace {

xnas::trial<int> promoted(std::uint64_t id, std::vector<std::uint64_t> parents) {
    xnas::trial<int> t;
    t.id = id;
    t.parents = std::move(parents);
    return t;
}

} // namespace

TEST_CASE("checkpoint_affinity: a promotion belongs to its parent's worker, which takes it before "
          "fresh trials",
          "[run][affinity]") {
    xnas::detail::checkpoint_affinity where;
    where.ran(1, 3);
    where.ran(2, 1);
    CHECK(where.holder(promoted(9, {1})) == 3);
    CHECK(where.holder(promoted(9, {2})) == 1);
    CHECK_FALSE(where.holder(promoted(9, {})));  // a fresh trial
    CHECK_FALSE(where.holder(promoted(9, {7}))); // a parent no worker ran

    // A worker that comes free takes the first waiting trial whose parent it ran, else the
    // first fresh one; another worker's promotions wait for that worker.
    const std::deque<xnas::trial<int>> waiting{promoted(10, {2}), promoted(11, {}),
                                               promoted(12, {1}), promoted(13, {})};
    CHECK(where.pick_trial(3, waiting) == 2u);
    CHECK(where.pick_trial(1, waiting) == 0u);
    CHECK(where.pick_trial(2, waiting) == 1u);
    const std::deque<xnas::trial<int>> only_promotions{promoted(10, {2}), promoted(12, {1})};
    CHECK_FALSE(where.pick_trial(2, only_promotions));
    CHECK(where.pick_trial(3, only_promotions) == 1u);

    // Retired trials are forgotten, grouped by their worker; unknown ids are skipped.
    where.ran(4, 3);
    const std::vector<std::uint64_t> retired{1, 2, 4, 8};
    const auto by_worker = where.forget(retired);
    REQUIRE(by_worker.size() == 2);
    CHECK(by_worker.at(3) == std::vector<std::uint64_t>{1, 4});
    CHECK(by_worker.at(1) == std::vector<std::uint64_t>{2});
    CHECK_FALSE(where.holder(promoted(9, {1})));
    CHECK(where.forget(retired).empty());
}
