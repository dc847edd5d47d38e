#pragma once
// Synchronised batch norm under data parallelism: the group of shards that train one batch
// together, a sum over them (all-reduce) that batch norm calls in train mode, and the thread-local
// handle through which a layer finds its shard. Without it every shard of a split batch would
// normalise by its own few samples (PyTorch's DataParallel without SyncBatchNorm), and threads
// would change what a network learns, not just how fast.

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
        , parity_(shards, 0) {}

    /// Starts a step of `participants` shards (0 .. participants - 1) and clears an abort.
    void begin_step(std::size_t participants) {
        if (participants == 0 || participants > parity_.size())
            throw std::invalid_argument(
                "xnas::nn::detail::shard_group: " + std::to_string(participants) +
                " participants, expected 1.." + std::to_string(parity_.size()));
        std::lock_guard lock(mutex_);
        participants_ = participants;
        arrived_ = 0;
        aborted_ = false;
        for (auto& p : parity_)
            p = 0;
    }

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

    /// Releases every waiting shard with shard_aborted; a shard that fails or stops early calls
    /// it so the others do not wait for it forever.
    void abort() {
        std::lock_guard lock(mutex_);
        aborted_ = true;
        changed_.notify_all();
    }

  private:
    void arrive_and_wait() {
        std::unique_lock lock(mutex_);
        if (aborted_)
            throw shard_aborted("xnas: another shard of the batch failed");
        const std::uint64_t generation = generation_;
        if (++arrived_ == participants_) {
            arrived_ = 0;
            ++generation_;
            changed_.notify_all();
            return;
        }
        changed_.wait(lock, [&] { return generation_ != generation || aborted_; });
        if (generation_ == generation)
            throw shard_aborted("xnas: another shard of the batch failed");
    }

    std::vector<std::vector<double>> slots_[2];
    std::vector<int> parity_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t participants_ = 1, arrived_ = 0;
    std::uint64_t generation_ = 0;
    bool aborted_ = false;
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
