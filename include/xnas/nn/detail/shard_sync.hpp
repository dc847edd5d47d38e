#pragma once
// The group of shards that train one batch together under data parallelism, and the thread-local
// handle through which a layer finds its shard. Layers that must see the whole batch meet in it:
// batch norm sums its statistics over the shards (all_reduce), since otherwise every shard would
// normalise by its own few samples (PyTorch's DataParallel without SyncBatchNorm) and threads would
// change what a network learns; a wide dense layer lets every shard's thread compute a slice of
// its outputs for the whole batch (exchange, wait, share), since otherwise every thread would
// stream all of its weights.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace xnas::nn::detail {

/// Thrown in a shard that waits for the others after one of them failed (shard_group::abort):
/// the failing shard's own error is the one to report.
struct shard_aborted : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The shards of one batch. The owner calls begin_step(participants) while no shard runs; then
/// every participating shard calls all_reduce in the same order with vectors of equal length.
class shard_group {
  public:
    explicit shard_group(std::size_t shards)
        : slots_{std::vector<std::vector<double>>(shards), std::vector<std::vector<double>>(shards)}
        , pointers_{std::vector<void*>(shards), std::vector<void*>(shards)}
        , parity_(shards, 0)
        , pointer_parity_(shards, 0) {}

    /// Starts a step of `participants` shards (0 .. participants - 1) and clears an abort.
    void begin_step(std::size_t participants) {
        if (participants == 0 || participants > parity_.size())
            throw std::invalid_argument(
                "xnas::nn::detail::shard_group: " + std::to_string(participants) +
                " participants, expected 1.." + std::to_string(parity_.size()));
        std::lock_guard lock(mutex_);
        participants_ = participants;
        arrived_ = 0;
        aborted_.store(false, std::memory_order_relaxed);
        std::fill(parity_.begin(), parity_.end(), 0);
        std::fill(pointer_parity_.begin(), pointer_parity_.end(), 0);
    }

    /// Shards in the current step.
    std::size_t participants() const { return participants_; }

    /// Replaces `values` by their sum over the participating shards, added in shard order (the
    /// same bits in every shard). Blocks until all have contributed; throws shard_aborted if a
    /// shard aborted, std::logic_error if the shards' lengths differ.
    void all_reduce(std::size_t shard, std::span<double> values) {
        // Two slot sets used alternately: a shard can only be one call ahead of the slowest
        // (the barrier holds it), so it never overwrites a slot still being read.
        auto& set = slots_[parity_[shard]];
        parity_[shard] ^= 1;
        set[shard].assign(values.begin(), values.end());
        arrive_and_wait();
        for (auto& v : values)
            v = 0;
        for (std::size_t k = 0; k < participants_; ++k) {
            if (set[k].size() != values.size())
                throw std::logic_error("xnas::nn::detail::shard_group: shard " + std::to_string(k) +
                                       " reduced " + std::to_string(set[k].size()) +
                                       " values, shard " + std::to_string(shard) + " " +
                                       std::to_string(values.size()));
            for (std::size_t i = 0; i < values.size(); ++i)
                values[i] += set[k][i];
        }
    }

    /// Publishes `mine` and returns, once every participating shard has published, their
    /// pointers in shard order. The span is valid until the shard's next exchange; throws
    /// shard_aborted if a shard aborted.
    std::span<void* const> exchange(std::size_t shard, void* mine) {
        auto& set = pointers_[pointer_parity_[shard]]; // alternating, as all_reduce's slots
        pointer_parity_[shard] ^= 1;
        set[shard] = mine;
        arrive_and_wait();
        return {set.data(), participants_};
    }

    /// Returns once every participating shard has called it (what each wrote before is then
    /// visible to all); throws shard_aborted if a shard aborted.
    void wait(std::size_t) { arrive_and_wait(); }

    /// Records that the master's parameter `value` is read and updated only through the master
    /// (every shard computes with it directly), so the owner neither sums replicas' gradients
    /// into it nor copies it to them. Kept for the group's lifetime.
    void share(const void* value) {
        std::lock_guard lock(mutex_);
        if (std::find(shared_.begin(), shared_.end(), value) == shared_.end())
            shared_.push_back(value);
    }
    bool shared(const void* value) const {
        std::lock_guard lock(mutex_);
        return std::find(shared_.begin(), shared_.end(), value) != shared_.end();
    }

    /// Releases every waiting shard with shard_aborted; a shard that fails or stops early calls
    /// it so the others do not wait for it forever.
    void abort() {
        std::lock_guard lock(mutex_);
        aborted_.store(true, std::memory_order_release);
        changed_.notify_all();
    }

  private:
    // A wide layer meets its shards several times per batch, microseconds apart: waiters poll
    // briefly before they sleep, so a meeting rarely costs a system call.
    static constexpr int spin_polls = 4000;

    void arrive_and_wait() {
        std::uint64_t generation = 0;
        {
            std::lock_guard lock(mutex_);
            if (aborted_.load(std::memory_order_relaxed))
                throw shard_aborted("xnas: another shard of the batch failed");
            generation = generation_.load(std::memory_order_relaxed);
            if (++arrived_ == participants_) {
                arrived_ = 0;
                generation_.store(generation + 1, std::memory_order_release);
                changed_.notify_all();
                return;
            }
        }
        for (int i = 0; i < spin_polls; ++i) {
            if (generation_.load(std::memory_order_acquire) != generation)
                return;
            if (aborted_.load(std::memory_order_acquire))
                break;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] {
            return generation_.load(std::memory_order_relaxed) != generation ||
                   aborted_.load(std::memory_order_relaxed);
        });
        if (generation_.load(std::memory_order_relaxed) == generation)
            throw shard_aborted("xnas: another shard of the batch failed");
    }

    std::vector<std::vector<double>> slots_[2];
    std::vector<void*> pointers_[2];
    std::vector<int> parity_, pointer_parity_;
    std::vector<const void*> shared_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t participants_ = 1, arrived_ = 0;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<bool> aborted_{false};
};

/// The shard the calling thread is training, or null outside a synchronised step.
struct shard_handle {
    shard_group* group = nullptr;
    std::size_t shard = 0;
};

inline thread_local shard_handle current_shard{};

/// Sets the calling thread's shard for its lifetime.
class shard_scope {
  public:
    shard_scope(shard_group* group, std::size_t shard)
        : previous_(current_shard) {
        current_shard = {group, shard};
    }
    shard_scope(const shard_scope&) = delete;
    shard_scope& operator=(const shard_scope&) = delete;
    ~shard_scope() { current_shard = previous_; }

  private:
    shard_handle previous_;
};

} // namespace xnas::nn::detail
