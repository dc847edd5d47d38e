#pragma once
// Which worker a trial goes to when workers keep state per trial that they do not share: an
// evaluator that continues a promoted trial from its parent's checkpoint (train_evaluator) holds
// the checkpoint in the memory of the process that trained the parent, so on MPI ranks a
// promotion continues only on its parent's rank. The executor always sends it there, waiting
// for the rank if it is busy: continued or trained afresh, a promotion ends with other weights,
// so where it runs must not depend on timing. Other trials, mutations of a parent included, go to
// any free worker. And it tells a rank when the strategy retires trials it holds checkpoints of.

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
    /// Records that worker `w` evaluates trial `id`, whose architecture has key `key` (the same
    /// architecture, the same key: a hash of its string, say).
    void ran(std::uint64_t id, int w, std::uint64_t key) { where_[id] = {w, key}; }

    /// The worker holding the checkpoint `t` (of architecture key `key`) would continue: the one
    /// that ran t's only parent when that parent had t's architecture, as a promotion's does.
    /// None for a trial that continues nothing: a fresh one, a crossover of several parents, a
    /// mutation (a parent of another architecture), or one whose parent no worker holds.
    template <class A>
    std::optional<int> holder(const trial<A>& t, std::uint64_t key) const {
        if (t.parents.size() != 1)
            return std::nullopt;
        const auto it = where_.find(t.parents.front());
        if (it == where_.end() || it->second.key != key)
            return std::nullopt;
        return it->second.worker;
    }

    /// The position in `waiting` of the trial worker `w` takes next: the first whose parent's
    /// checkpoint w holds, else the first that continues nothing; none when every waiting trial
    /// continues a checkpoint another worker holds, which waits for it. `key_of(trial)` gives a
    /// trial's architecture key.
    template <class A, class KeyOf>
    std::optional<std::size_t> pick_trial(int w, const std::deque<trial<A>>& waiting,
                                          KeyOf&& key_of) const {
        std::optional<std::size_t> fresh;
        for (std::size_t k = 0; k < waiting.size(); ++k) {
            const std::optional<int> h = holder(waiting[k], key_of(waiting[k]));
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
                by_worker[it->second.worker].push_back(id);
                where_.erase(it);
            }
        return by_worker;
    }

  private:
    struct ran_on {
        int worker;
        std::uint64_t key;
    };
    std::unordered_map<std::uint64_t, ran_on> where_;
};

} // namespace xnas::detail
