#pragma once
// data::dataset, a batch-first sample array (images (N, C, H, W), sequences (N, T, F), tabular
// (N, F)) with integer class labels or real-valued regression targets, and the small operations
// every loader and splitter shares.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/tensor.hpp>

namespace xnas::data {

/// A data set: `x` holds the samples batch first and contiguous (row-major), so sample i is the
/// `sample_size()` values starting at `x.data() + i * sample_size()`. A classification set gives
/// sample i the class `labels[i]` in [0, num_classes); a regression set leaves labels empty and
/// num_classes 0 and gives it the row i of `targets` (N, K) instead.
template <class T = float>
struct dataset {
    using value_type = T;

    nn::array<T> x;                       ///< (N, sample_shape...)
    std::vector<std::int32_t> labels;     ///< N class indices (classification)
    std::size_t num_classes = 0;          ///< may exceed the classes present (a subset keeps it)
    std::vector<std::string> class_names; ///< empty, or num_classes names
    nn::array<T> targets;                 ///< (N, K) real targets (regression); else empty

    /// True when the samples carry real-valued targets rather than class labels.
    bool regression() const { return targets.dimension() != 0; }

    /// Values per sample of `targets` (K); 0 for a classification set.
    std::size_t target_size() const {
        return targets.dimension() < 2
                   ? 0
                   : nn::volume({targets.shape().begin() + 1, targets.shape().end()});
    }

    /// Number of samples N.
    std::size_t size() const { return regression() ? targets.shape()[0] : labels.size(); }
    bool empty() const { return size() == 0; }

    /// Shape of one sample: x's shape without the batch dimension.
    nn::shape sample_shape() const {
        if (x.dimension() == 0)
            return {};
        return nn::shape(x.shape().begin() + 1, x.shape().end());
    }

    /// Values per sample (the volume of sample_shape()).
    std::size_t sample_size() const { return x.dimension() == 0 ? 0 : nn::volume(sample_shape()); }

    /// Pointer to the first value of sample i (no bounds check).
    const T* sample(std::size_t i) const { return x.data() + i * sample_size(); }
    T* sample(std::size_t i) { return x.data() + i * sample_size(); }

    /// Throws xnas::shape_error when x and labels (or targets) disagree on N, a regression set
    /// has labels or targets not of shape (N, K), or std::out_of_range when a label lies outside
    /// [0, num_classes) or class_names has the wrong length.
    void validate() const {
        const std::size_t n = x.dimension() == 0 ? 0 : x.shape()[0];
        if (regression()) {
            if (targets.dimension() != 2 || targets.shape()[0] != n || !labels.empty() ||
                num_classes != 0)
                throw shape_error("xnas::data::dataset::validate: x has " + std::to_string(n) +
                                  " samples, targets have shape " +
                                  nn::to_string({targets.shape().begin(), targets.shape().end()}) +
                                  ", labels " + std::to_string(labels.size()) + ", classes " +
                                  std::to_string(num_classes) +
                                  "; a regression set has targets (N, K), no labels, 0 classes");
            return;
        }
        if (n != labels.size())
            throw shape_error("xnas::data::dataset::validate: x has " + std::to_string(n) +
                              " samples (shape " +
                              nn::to_string({x.shape().begin(), x.shape().end()}) +
                              "), labels has " + std::to_string(labels.size()));
        for (std::size_t i = 0; i < labels.size(); ++i)
            if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= num_classes)
                throw std::out_of_range("xnas::data::dataset::validate: label " +
                                        std::to_string(labels[i]) + " of sample " +
                                        std::to_string(i) + " is outside [0, " +
                                        std::to_string(num_classes) + ")");
        if (!class_names.empty() && class_names.size() != num_classes)
            throw std::out_of_range(
                "xnas::data::dataset::validate: " + std::to_string(class_names.size()) +
                " class names for " + std::to_string(num_classes) + " classes");
    }

    /// The samples at `indices`, in that order (repeats allowed), with the same num_classes and
    /// class names. Throws std::out_of_range naming the first index >= size(). O(k * sample_size).
    dataset subset(std::span<const std::size_t> indices) const {
        dataset out;
        out.num_classes = num_classes;
        out.class_names = class_names;
        const nn::shape s = sample_shape();
        out.x = nn::array<T>::from_shape(nn::with_batch(indices.size(), s));
        const bool reg = regression();
        const std::size_t k_out = target_size();
        if (reg)
            out.targets = nn::array<T>::from_shape({indices.size(), k_out});
        else
            out.labels.resize(indices.size());
        const std::size_t row = sample_size();
        for (std::size_t k = 0; k < indices.size(); ++k) {
            const std::size_t i = indices[k];
            if (i >= size())
                throw std::out_of_range("xnas::data::dataset::subset: index " + std::to_string(i) +
                                        " at position " + std::to_string(k) +
                                        " is out of range for a data set of " +
                                        std::to_string(size()) + " samples");
            if (row)
                std::memcpy(out.x.data() + k * row, sample(i), row * sizeof(T));
            if (reg)
                std::memcpy(out.targets.data() + k * k_out, targets.data() + i * k_out,
                            k_out * sizeof(T));
            else
                out.labels[k] = labels[i];
        }
        return out;
    }

    dataset subset(const std::vector<std::size_t>& indices) const {
        return subset(std::span<const std::size_t>(indices));
    }

    /// The first min(k, size()) samples: subset({0, 1, ..., k - 1}).
    dataset first(std::size_t k) const {
        std::vector<std::size_t> indices(std::min(k, size()));
        std::iota(indices.begin(), indices.end(), std::size_t(0));
        return subset(indices);
    }

    /// Samples per class, num_classes entries (labels outside the range are not counted; call
    /// validate() to reject them).
    std::vector<std::size_t> class_counts() const {
        std::vector<std::size_t> counts(num_classes, 0);
        for (auto l : labels)
            if (l >= 0 && static_cast<std::size_t>(l) < num_classes)
                ++counts[static_cast<std::size_t>(l)];
        return counts;
    }
};

} // namespace xnas::data
