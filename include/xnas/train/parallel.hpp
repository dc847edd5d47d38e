#pragma once
// Data parallelism inside train::fit (fit_options::threads > 1): a persistent team of worker
// threads and the per-batch sharded step. Each batch is split into contiguous shards, one per
// thread; every shard runs forward, loss and backward on its own replica of the network (the
// master network itself for shard 0). With an nn::partitioned_optimizer the threads then meet
// at a barrier and each one sums the replicas' gradients into the master's, updates the master's
// parameters and copies them to the replicas for its share of every parameter's elements, so no
// step of a batch runs on one thread alone. Other optimizers: the gradients are summed on the
// calling thread, fit runs the optimizer step there, and replicas copy the master's parameters at
// the start of their next shard. A wide dense layer's weights are left out of both: the shards'
// threads compute that layer together with the master's weights (see nn::dense). A batch's
// targets are class labels or, for a regression set, rows of real values, split alike.

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/nn/detail/blas.hpp>
#include <xnas/nn/detail/shard_sync.hpp>
#include <xnas/nn/layers/dropout.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/optim/optimizer.hpp>
#include <xnas/train/loss.hpp>
#include <xnas/train/metrics.hpp>

#ifndef XNAS_TEAM_SPIN
/// Polls of a waiting team thread before it sleeps (pause instructions, ~30 ns each).
#define XNAS_TEAM_SPIN 2000
#endif

namespace xnas::train::detail {

/// `workers` threads plus the calling one, running one job f(k), k = 0 .. workers, per run()
/// (k = 0 on the caller). Threads are started once; between runs they spin briefly (a batch's
/// optimizer step is short) and then sleep on a condition variable, so a batch costs no thread
/// spawn and, usually, no system call.
class thread_team {
  public:
    explicit thread_team(std::size_t workers) {
        threads_.reserve(workers);
        try {
            for (std::size_t i = 0; i < workers; ++i)
                threads_.emplace_back([this, i] { loop(i + 1); });
        } catch (...) {
            shut_down();
            throw;
        }
    }
    thread_team(const thread_team&) = delete;
    thread_team& operator=(const thread_team&) = delete;
    ~thread_team() { shut_down(); }

    /// Threads, the caller included.
    std::size_t size() const { return threads_.size() + 1; }

    /// Runs f(k) for every k in [0, size()) and returns when all are done. f must not throw
    /// (jobs catch and record their own exceptions).
    template <class F>
    void run(F& f) {
        job_ = [](void* ctx, std::size_t k) { (*static_cast<F*>(ctx))(k); };
        ctx_ = &f;
        pending_.store(threads_.size(), std::memory_order_relaxed);
        {
            std::lock_guard lock(mutex_);
            generation_.fetch_add(1, std::memory_order_release);
        }
        start_.notify_all();
        f(std::size_t{0});
        if (spin([&] { return pending_.load(std::memory_order_acquire) == 0; }))
            return;
        std::unique_lock lock(mutex_);
        done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }

  private:
    // Polls ready() for up to ~50 microseconds; true once it holds.
    template <class Ready>
    static bool spin(Ready ready) {
        for (int i = 0; i < XNAS_TEAM_SPIN; ++i) {
            if (ready())
                return true;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        return ready();
    }

    void loop(std::size_t k) {
        std::uint64_t seen = 0;
        for (;;) {
            auto started = [&] { return generation_.load(std::memory_order_acquire) != seen; };
            if (!spin(started)) {
                std::unique_lock lock(mutex_);
                start_.wait(lock, started);
            }
            seen = generation_.load(std::memory_order_acquire);
            if (stopping_.load(std::memory_order_acquire))
                return;
            job_(ctx_, k);
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard lock(mutex_); // the caller is spinning or waiting under it
                done_.notify_one();
            }
        }
    }

    void shut_down() {
        stopping_.store(true, std::memory_order_release);
        {
            std::lock_guard lock(mutex_);
            generation_.fetch_add(1, std::memory_order_release);
        }
        start_.notify_all();
        for (auto& t : threads_)
            if (t.joinable())
                t.join();
    }

    std::vector<std::thread> threads_;
    std::mutex mutex_;
    std::condition_variable start_, done_;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<std::size_t> pending_{0};
    std::atomic<bool> stopping_{false};
    // Written by the caller before generation_ is bumped (release), read by workers after they
    // see the new generation (acquire).
    void (*job_)(void*, std::size_t) = nullptr;
    void* ctx_ = nullptr;
};

/// Sets OpenBLAS to one thread for its lifetime (the shards already occupy the cores) and
/// restores the previous count.
class single_threaded_blas {
  public:
    single_threaded_blas()
        : previous_(nn::blas_threads()) {
        nn::set_blas_threads(1);
    }
    single_threaded_blas(const single_threaded_blas&) = delete;
    single_threaded_blas& operator=(const single_threaded_blas&) = delete;
    ~single_threaded_blas() { nn::set_blas_threads(previous_); }

  private:
    int previous_;
};

/// splitmix64 finaliser: decorrelates seeds built from small integers.
inline std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) {
    std::uint64_t z = a ^ (b + 0x9E3779B97F4A7C15ULL + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/// Replaces every dropout layer of `net` (nested networks included) by one with the same p
/// and a seed drawn from `seed` and the node id, so replicas do not draw the master's masks.
template <class T>
void reseed_dropout(nn::network<T>& net, std::uint64_t seed) {
    for (std::size_t j = 1; j < net.size(); ++j) {
        nn::any_layer<T>& l = net.layer(j);
        if (auto* d = l.template target<nn::dropout<T>>())
            *d = nn::dropout<T>(d->p(), mix_seed(seed, j));
        else if (auto* inner = l.template target<nn::network<T>>())
            reseed_dropout(*inner, mix_seed(seed, j));
    }
}

/// Loss and accuracy of one sharded batch (sample-weighted means over the shards); for a
/// regression batch accuracy is NaN and squared_error the sum of (y - t)^2 over all its values.
struct shard_totals {
    double loss = 0;
    double accuracy = 0;
    double squared_error = 0;
};

/// Gives `a` the shape (rows, cols) unless it has it already (no allocation then).
template <class T>
void ensure_rows(nn::array<T>& a, std::size_t rows, std::size_t cols) {
    if (a.dimension() != 2 || a.shape()[0] != rows || a.shape()[1] != cols)
        a.resize({rows, cols});
}

/// The sharded forward / loss / backward of fit_options::threads > 1 over a master network.
///
/// Shard k of a batch of n samples holds samples [begin_k, begin_k + n_k), contiguous, sizes
/// differing by at most one; a batch gets min(threads, n / 2) shards (at least one), so every
/// shard of a split batch has two samples or more (batch norm needs more than one in train
/// mode). Shard 0 runs on the master network in the calling thread, shard k > 0 on replica k
/// (a deep copy made at construction) in worker k. Each shard's loss gradient is scaled by
/// n_k / n, so the summed gradients equal the full batch's for per-sample-mean losses.
///
/// Batch norm: with sync_batch_norm (the default) the shards normalise with the whole batch's
/// statistics, summed over them at every batch norm layer, forward and backward (PyTorch's
/// SyncBatchNorm), so threads change the result only by rounding; without it every shard
/// normalises with its own (DataParallel without SyncBatchNorm). A shard that fails or meets a
/// non-finite loss releases the others (shard_group::abort), and its own error is reported. The
/// running statistics kept are the master's, i.e. shard 0's, since replicas take all
/// parameters, running ones included, from the master before every shard. Dropout: the master keeps
/// its own mask stream; replica k's dropout layers are reseeded at every epoch from (fit seed,
/// epoch, k, node id), so shards draw independent masks and the same seed and thread count give the
/// same weights.
template <class T, class Loss>
class data_parallel {
  public:
    data_parallel(nn::network<T>& master, const Loss& loss, std::size_t threads, std::uint64_t seed,
                  bool sync_batch_norm = true)
        : master_(master)
        , seed_(seed)
        , sync_batch_norm_(sync_batch_norm)
        , master_params_(master.parameters())
        , replicas_(threads - 1, master)
        , losses_(threads, loss)
        , shards_(threads)
        , group_(threads) {
        replica_params_.reserve(replicas_.size());
        for (auto& r : replicas_)
            replica_params_.push_back(r.parameters());
        barrier_.emplace(static_cast<std::ptrdiff_t>(threads));
        team_.emplace(threads - 1);
    }

    std::size_t threads() const { return shards_.size(); }

    /// Reseeds the replicas' dropout for epoch `e`.
    void new_epoch(std::size_t e) {
        for (std::size_t k = 0; k < replicas_.size(); ++k)
            reseed_dropout(replicas_[k], mix_seed(mix_seed(seed_, e), k + 1));
    }

    /// Forward, loss and backward of batch (x, labels) over the shards; leaves the summed
    /// gradients in the master's parameters. Throws xnas::numerical_error naming `who`, the
    /// epoch and the batch for a non-finite loss in any shard (the lowest such shard), and
    /// rethrows any other exception of a shard unchanged.
    shard_totals step(const nn::array<T>& x, std::span<const std::int32_t> labels, const char* who,
                      std::size_t epoch, std::size_t batch) {
        return run_step<void>(x, batch_targets<T>{.labels = labels}, who, epoch, batch, nullptr,
                              {});
    }

    /// As step(x, labels, ...) for a regression batch: targets (N, K), rows split as the
    /// samples (a regression_loss).
    shard_totals step(const nn::array<T>& x, const nn::array<T>& targets, const char* who,
                      std::size_t epoch, std::size_t batch) {
        return run_step<void>(x, batch_targets<T>{.values = &targets}, who, epoch, batch, nullptr,
                              {});
    }

    /// As step, then one update by `opt` of the master's parameters `params` (the master
    /// network's parameters(), in order), split over the threads, and the updated values copied
    /// to the replicas. Nothing is updated when a shard fails.
    template <nn::partitioned_optimizer Opt>
    shard_totals step_and_update(const nn::array<T>& x, std::span<const std::int32_t> labels,
                                 const char* who, std::size_t epoch, std::size_t batch, Opt& opt,
                                 std::span<const nn::parameter<T>> params) {
        return run_step(x, batch_targets<T>{.labels = labels}, who, epoch, batch, &opt, params);
    }

    /// step_and_update for a regression batch, targets (N, K).
    template <nn::partitioned_optimizer Opt>
    shard_totals step_and_update(const nn::array<T>& x, const nn::array<T>& targets,
                                 const char* who, std::size_t epoch, std::size_t batch, Opt& opt,
                                 std::span<const nn::parameter<T>> params) {
        return run_step(x, batch_targets<T>{.values = &targets}, who, epoch, batch, &opt, params);
    }

    /// The step of either kind of batch (fit's).
    shard_totals step(const nn::array<T>& x, const batch_targets<T>& targets, const char* who,
                      std::size_t epoch, std::size_t batch) {
        return run_step<void>(x, targets, who, epoch, batch, nullptr, {});
    }
    template <nn::partitioned_optimizer Opt>
    shard_totals step_and_update(const nn::array<T>& x, const batch_targets<T>& targets,
                                 const char* who, std::size_t epoch, std::size_t batch, Opt& opt,
                                 std::span<const nn::parameter<T>> params) {
        return run_step(x, targets, who, epoch, batch, &opt, params);
    }

  private:
    template <class Opt>
    shard_totals run_step(const nn::array<T>& x, const batch_targets<T>& targets, const char* who,
                          std::size_t epoch, std::size_t batch, Opt* opt,
                          std::span<const nn::parameter<T>> params) {
        const std::size_t n = targets.size();
        const bool regression = targets.regression();
        const std::size_t width = regression && n ? targets.values->size() / n : 0;
        const std::size_t count = std::max<std::size_t>(1, std::min(threads(), n / 2));
        const std::size_t sample = n ? x.size() / n : 0;
        const std::size_t base = n / count, extra = n % count;
        for (std::size_t k = 0, begin = 0; k < threads(); ++k) {
            shard& s = shards_[k];
            s.size = k < count ? base + (k < extra ? 1 : 0) : 0;
            s.begin = begin;
            begin += s.size;
            s.error = nullptr;
            s.aborted = false;
        }
        group_.begin_step(count);
        nn::detail::shard_group* group = sync_batch_norm_ && count > 1 ? &group_ : nullptr;
        constexpr bool updates = !std::is_void_v<Opt>;
        if constexpr (updates)
            opt->begin_step(params); // serial; throws here, before any shard runs, on bad params
        const bool replicas_current = replicas_current_;
        replicas_current_ = false;
        auto shard_job = [&](std::size_t k) noexcept {
            shard& s = shards_[k];
            if (s.size == 0)
                return;
            const nn::detail::shard_scope scope(group, k);
            try {
                nn::network<T>& net = k == 0 ? master_ : replicas_[k - 1];
                if (k > 0 && !replicas_current)
                    sync_replica(k - 1, false);
                nn::shape xs(x.shape().begin(), x.shape().end());
                xs[0] = s.size;
                nn::ensure_shape(s.x, xs);
                std::memcpy(s.x.data(), x.data() + s.begin * sample, s.size * sample * sizeof(T));
                batch_targets<T> st;
                if (regression) {
                    ensure_rows(s.targets, s.size, width);
                    std::memcpy(s.targets.data(), targets.values->data() + s.begin * width,
                                s.size * width * sizeof(T));
                    st.values = &s.targets;
                } else {
                    st.labels = targets.labels.subspan(s.begin, s.size);
                }
                const nn::array<T>& out = net.forward(s.x, nn::mode::train);
                s.loss = apply_loss(losses_[k], out, st, &s.dy);
                if (!std::isfinite(s.loss)) {
                    group_.abort(); // this shard's backward will not meet the others'
                    return;
                }
                s.accuracy = !regression && out.dimension() == 2
                                 ? nn::accuracy(out, st.labels)
                                 : std::numeric_limits<double>::quiet_NaN();
                s.squared_error = regression ? squared_error_sum(out, s.targets) : 0.0;
                if (count > 1) {
                    const T scale =
                        static_cast<T>(static_cast<double>(s.size) / static_cast<double>(n));
                    T* d = s.dy.data();
                    for (std::size_t i = 0; i < s.dy.size(); ++i)
                        d[i] *= scale;
                }
                net.backward(s.dy);
            } catch (const nn::detail::shard_aborted&) {
                s.error = std::current_exception();
                s.aborted = true;
            } catch (...) {
                s.error = std::current_exception();
                group_.abort();
            }
        };
        auto job = [&](std::size_t k) noexcept {
            shard_job(k);
            if constexpr (!updates)
                return;
            // Every thread, with a shard or not, updates its share once all shards are done;
            // the barrier also publishes the shards' results and gradients to every thread.
            barrier_->arrive_and_wait();
            for (std::size_t j = 0; j < count; ++j)
                if (shards_[j].error || !std::isfinite(shards_[j].loss))
                    return;
            reduce_part(count, k, threads());
            if constexpr (updates)
                opt->step_part(params, k, threads());
            broadcast_part(k, threads());
        };
        // Running statistics change in the master's forward, so they are copied here, before
        // shard 0 starts; the other parameters are copied by each worker, in parallel (or were
        // copied by the last update).
        for (std::size_t k = 1; k < count; ++k)
            sync_replica(k - 1, true);
        team_->run(job);

        shard_totals t;
        auto where = [&] {
            return std::string(who) + ": diverged at epoch " + std::to_string(epoch) + ", batch " +
                   std::to_string(batch);
        };
        const shard* released = nullptr; // a shard stopped because another one failed
        for (std::size_t k = 0; k < count; ++k) {
            const shard& s = shards_[k];
            if (s.aborted) {
                released = released ? released : &s;
                continue;
            }
            if (s.error) {
                try {
                    std::rethrow_exception(s.error);
                } catch (const numerical_error& ex) {
                    throw numerical_error(where() + ": " + ex.what());
                }
            }
            if (!std::isfinite(s.loss))
                throw numerical_error(where() + ": loss is " + std::to_string(s.loss));
            const double w = static_cast<double>(s.size) / static_cast<double>(n);
            t.loss += s.loss * w;
            t.accuracy += s.accuracy * w;
            t.squared_error += s.squared_error;
        }
        if (released) // no other shard failed: a logic error, not a result
            std::rethrow_exception(released->error);
        if constexpr (updates)
            replicas_current_ = true;
        else
            reduce(count);
        return t;
    }

    struct shard {
        std::size_t begin = 0, size = 0;
        nn::array<T> x, dy, targets; // targets: the shard's rows of a regression batch
        double loss = 0, accuracy = 0, squared_error = 0;
        std::exception_ptr error;
        bool aborted = false; // error is shard_aborted
    };

    // Copies the master's running-state parameters (running) or the others (!running) into
    // replica r.
    void sync_replica(std::size_t r, bool running) {
        auto& dst = replica_params_[r];
        for (std::size_t p = 0; p < dst.size(); ++p)
            if (nn::is_running_state(master_params_[p].name) == running && !shared(p))
                std::memcpy(dst[p].value->data(), master_params_[p].value->data(),
                            master_params_[p].value->size() * sizeof(T));
    }

    // Whether the master's parameter p is one the shards compute with directly (a wide dense
    // layer's, see nn::dense): its replicas' copies and gradients are never used.
    bool shared(std::size_t p) const { return group_.shared(master_params_[p].value); }

    // Part `part` of `parts` of every learnable parameter: the replicas' gradients (shards 1 ..
    // count-1) added to the master's, in shard order, as reduce does for all of them.
    void reduce_part(std::size_t count, std::size_t part, std::size_t parts) {
        for (std::size_t p = 0; p < master_params_.size(); ++p) {
            if (nn::is_running_state(master_params_[p].name) || shared(p))
                continue;
            const auto [lo, hi] =
                nn::detail::part_of(master_params_[p].gradient->size(), part, parts);
            T* __restrict g = master_params_[p].gradient->data();
            for (std::size_t r = 0; r + 1 < count; ++r) {
                const T* __restrict h = replica_params_[r][p].gradient->data();
                for (std::size_t i = lo; i < hi; ++i)
                    g[i] += h[i];
            }
        }
    }

    // Part `part` of `parts` of every learnable parameter's values copied to every replica.
    void broadcast_part(std::size_t part, std::size_t parts) {
        for (std::size_t p = 0; p < master_params_.size(); ++p) {
            if (nn::is_running_state(master_params_[p].name) || shared(p))
                continue;
            const auto [lo, hi] = nn::detail::part_of(master_params_[p].value->size(), part, parts);
            const T* src = master_params_[p].value->data();
            for (auto& replica : replica_params_)
                std::memcpy(replica[p].value->data() + lo, src + lo, (hi - lo) * sizeof(T));
        }
    }

    // Adds the gradients of replicas 1 .. count-1 to the master's, in shard order.
    void reduce(std::size_t count) {
        for (std::size_t p = 0; p < master_params_.size(); ++p) {
            if (nn::is_running_state(master_params_[p].name) || shared(p))
                continue;
            T* __restrict g = master_params_[p].gradient->data();
            const std::size_t size = master_params_[p].gradient->size();
            for (std::size_t r = 0; r + 1 < count; ++r) {
                const T* __restrict h = replica_params_[r][p].gradient->data();
                for (std::size_t i = 0; i < size; ++i)
                    g[i] += h[i];
            }
        }
    }

    nn::network<T>& master_;
    std::uint64_t seed_;
    bool sync_batch_norm_;
    std::vector<nn::parameter<T>> master_params_;
    std::vector<nn::network<T>> replicas_;
    std::vector<std::vector<nn::parameter<T>>> replica_params_;
    std::vector<Loss> losses_; // one per thread: a loss may keep scratch state
    std::vector<shard> shards_;
    nn::detail::shard_group group_;
    std::optional<std::barrier<>> barrier_;
    bool replicas_current_ = false;   // the last step's update copied the parameters to replicas
    std::optional<thread_team> team_; // last: its threads stop before the state above goes
};

} // namespace xnas::train::detail
