#pragma once
// Which worker a trial goes to when workers keep state per trial that they do not share: an
// evaluator that continues a promoted trial from its parent's checkpoint (train_evaluator) holds
// the checkpoint in the memory of the process that trained the parent, so on MPI ranks a
// promotion continues only on its parent's rank. The executor always sends it there, waiting
// for the rank if it is busy: continued or trained afresh, a promotion ends with other weights,
// so where it runs must not depend on timing. And it tells a rank when the strategy retires
// trials it holds checkpoints of.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>
#include <xnas/core/trial.hpp>

namespace xnas::detail {

class checkpoint_affinity {
  public:
    /// Records that worker `w` evaluates trial `id`.
    void ran(std::uint64_t id, int w) { where_[id] = w; }

    /// The worker that ran a parent of `t`, if any: where its checkpoint is.
    template <class A>
    std::optional<int> holder(const trial<A>& t) const {
        for (std::uint64_t p : t.parents)
            if (const auto it = where_.find(p); it != where_.end())
                return it->second;
        return std::nullopt;
    }

    /// The position in `waiting` of the trial worker `w` takes next: the first whose parent w
    /// ran, else the first whose parents no worker holds (a fresh trial); none when every
    /// waiting trial is a promotion whose parent another worker holds, which waits for it.
    template <class A>
    std::optional<std::size_t> pick_trial(int w, const std::deque<trial<A>>& waiting) const {
        std::optional<std::size_t> fresh;
        for (std::size_t k = 0; k < waiting.size(); ++k) {
            const std::optional<int> h = holder(waiting[k]);
            if (h == w)
                return k;
            if (!h && !fresh)
                fresh = k;
        }
        return fresh;
    }

    /// Forgets `ids` and returns those it knew, by the worker that ran them.
    std::map<int, std::vector<std::uint64_t>> forget(std::span<const std::uint64_t> ids) {
        std::map<int, std::vector<std::uint64_t>> by_worker;
        for (std::uint64_t id : ids)
            if (const auto it = where_.find(id); it != where_.end()) {
                by_worker[it->second].push_back(id);
                where_.erase(it);
            }
        return by_worker;
    }

  private:
    std::unordered_map<std::uint64_t, int> where_;
};

} // namespace xnas::detail
