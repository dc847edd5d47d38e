#pragma once
// data::batcher, shuffled mini-batches over a data set: each epoch permutes the sample order
// with an xnas::rng, and batch b is copied row by row (memcpy) into caller-owned buffers, so
// steady-state training allocates nothing.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/data/dataset.hpp>

namespace xnas::data {

/// How an epoch is cut into batches.
struct batch_options {
    bool shuffle = true;    ///< permute the order at every new_epoch (false: dataset order)
    bool drop_last = false; ///< drop the last batch when it is smaller than batch_size
};

/// Mini-batches of a data set. Holds a pointer to the data set, which must outlive it and keep
/// its size (rebuild the batcher after changing the data set).
/// Until the first new_epoch() the order is the data set's order.
template <class T = float>
class batcher {
  public:
    /// Throws std::invalid_argument when batch_size is 0, and what dataset::validate throws.
    batcher(const dataset<T>& ds, std::size_t batch_size, batch_options options = {})
        : ds_(&ds)
        , batch_size_(batch_size)
        , options_(options)
        , order_(ds.size()) {
        ds.validate();
        if (batch_size == 0)
            throw std::invalid_argument("xnas::data::batcher: batch_size must be positive, got 0");
        std::iota(order_.begin(), order_.end(), std::size_t(0));
        const nn::shape sample = ds.sample_shape();
        row_ = ds.sample_size();
        full_shape_ = nn::with_batch(batch_size, sample);
        last_shape_ = nn::with_batch(batch_count() ? size_of(batch_count() - 1) : 0, sample);
    }
    batcher(dataset<T>&&, std::size_t, batch_options = {}) = delete; // would dangle

    /// Samples per full batch.
    std::size_t batch_size() const { return batch_size_; }

    /// Batches per epoch: ceil(N / batch_size), or floor with drop_last.
    std::size_t batch_count() const {
        const std::size_t n = order_.size();
        return options_.drop_last ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
    }

    /// Samples in batch b (batch_size, or fewer for a kept last batch).
    std::size_t size_of(std::size_t b) const {
        check(b);
        return std::min(batch_size_, order_.size() - b * batch_size_);
    }

    /// Starts an epoch: reshuffles the order with `g` (a Fisher-Yates permutation of the
    /// previous order) when shuffling is on; draws nothing otherwise.
    void new_epoch(rng& g) {
        if (options_.shuffle)
            g.shuffle(order_.begin(), order_.end());
    }

    /// The current epoch's sample order.
    const std::vector<std::size_t>& order() const { return order_; }

    /// Replaces the sample order, e.g. by one order() returned earlier, so that a training
    /// continued later reshuffles as if it had not stopped. Throws std::invalid_argument unless
    /// `order` is a permutation of the data set's indices.
    void set_order(std::vector<std::size_t> order) {
        std::vector<char> seen(order_.size(), 0);
        bool permutation = order.size() == order_.size();
        for (std::size_t i = 0; i < order.size() && permutation; ++i) {
            permutation = order[i] < seen.size() && !seen[order[i]];
            if (permutation)
                seen[order[i]] = 1;
        }
        if (!permutation)
            throw std::invalid_argument("xnas::data::batcher::set_order: expected a permutation of "
                                        "the " +
                                        std::to_string(order_.size()) + " sample indices, got " +
                                        std::to_string(order.size()) + " values that are not one");
        order_ = std::move(order);
    }

    /// Data set indices of batch b in the current epoch.
    std::span<const std::size_t> indices(std::size_t b) const {
        return std::span<const std::size_t>(order_).subspan(b * batch_size_, size_of(b));
    }

    /// Copies batch b into x (resized to (size_of(b), sample_shape...) only when its shape
    /// differs) and labels. Throws std::out_of_range for b >= batch_count().
    void copy(std::size_t b, nn::array<T>& x, std::vector<std::int32_t>& labels) const {
        const std::span<const std::size_t> idx = indices(b);
        nn::ensure_shape(x, idx.size() == batch_size_ ? full_shape_ : last_shape_);
        labels.resize(idx.size());
        const T* src = ds_->x.data();
        T* dst = x.data();
        for (std::size_t k = 0; k < idx.size(); ++k) {
            std::memcpy(dst + k * row_, src + idx[k] * row_, row_ * sizeof(T));
            labels[k] = ds_->labels[idx[k]];
        }
    }

    /// Copies batch b of a regression set into x and targets (resized to (size_of(b), K) only
    /// when its shape differs). Throws std::out_of_range for b >= batch_count().
    void copy(std::size_t b, nn::array<T>& x, nn::array<T>& targets) const {
        const std::span<const std::size_t> idx = indices(b);
        nn::ensure_shape(x, idx.size() == batch_size_ ? full_shape_ : last_shape_);
        const std::size_t k_out = ds_->target_size();
        nn::ensure_shape(targets, {idx.size(), k_out});
        const T* src = ds_->x.data();
        const T* tsrc = ds_->targets.data();
        T* dst = x.data();
        T* tdst = targets.data();
        for (std::size_t k = 0; k < idx.size(); ++k) {
            std::memcpy(dst + k * row_, src + idx[k] * row_, row_ * sizeof(T));
            std::memcpy(tdst + k * k_out, tsrc + idx[k] * k_out, k_out * sizeof(T));
        }
    }

  private:
    void check(std::size_t b) const {
        if (b >= batch_count())
            throw std::out_of_range("xnas::data::batcher: batch " + std::to_string(b) +
                                    " is out of range, an epoch has " +
                                    std::to_string(batch_count()) + " batches");
    }

    const dataset<T>* ds_;
    std::size_t batch_size_;
    batch_options options_;
    std::vector<std::size_t> order_;
    std::size_t row_ = 0;
    std::vector<std::size_t> full_shape_, last_shape_;
};

} // namespace xnas::data
