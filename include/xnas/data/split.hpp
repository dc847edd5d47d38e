#pragma once
// Seeded train/validation split: for classification stratified, each class divided in the
// requested proportion, so a validation set drawn for architecture search has the training
// set's class balance; for regression a uniform random share.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/data/dataset.hpp>

namespace xnas::data {

/// Sample indices of the two parts of a split, each in increasing order.
struct split_indices {
    std::vector<std::size_t> train;
    std::vector<std::size_t> validation;
};

/// Splits sample indices by class: for each class c with n_c samples, round(fraction * n_c)
/// randomly chosen samples go to validation, the rest to train. Draws from `g` in a fixed order
/// (class 0 first), so the same seed gives the same split. Throws std::invalid_argument for a
/// fraction outside [0, 1] or a negative label. O(N).
inline split_indices stratified_split(const std::vector<std::int32_t>& labels,
                                      double validation_fraction, rng& g) {
    if (!(validation_fraction >= 0.0 && validation_fraction <= 1.0))
        throw std::invalid_argument("xnas::data::stratified_split: validation_fraction " +
                                    std::to_string(validation_fraction) + " is outside [0, 1]");
    std::vector<std::vector<std::size_t>> by_class;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0)
            throw std::invalid_argument("xnas::data::stratified_split: label " +
                                        std::to_string(labels[i]) + " of sample " +
                                        std::to_string(i) + " is negative");
        const auto c = static_cast<std::size_t>(labels[i]);
        if (c >= by_class.size())
            by_class.resize(c + 1);
        by_class[c].push_back(i);
    }
    split_indices out;
    for (auto& members : by_class) {
        g.shuffle(members.begin(), members.end());
        const auto k = static_cast<std::size_t>(
            std::llround(validation_fraction * static_cast<double>(members.size())));
        out.validation.insert(out.validation.end(), members.begin(), members.begin() + k);
        out.train.insert(out.train.end(), members.begin() + k, members.end());
    }
    std::sort(out.train.begin(), out.train.end());
    std::sort(out.validation.begin(), out.validation.end());
    return out;
}

/// A training part and a validation part of one data set.
template <class T = float>
struct train_validation {
    dataset<T> train;
    dataset<T> validation;
};

/// The split of a data set's samples: stratified_split of its labels for classification; for
/// regression round(fraction * N) samples drawn at random from `g` go to validation.
template <class T>
split_indices split_of(const dataset<T>& ds, double validation_fraction, rng& g) {
    if (!ds.regression())
        return stratified_split(ds.labels, validation_fraction, g);
    // One class holding every sample: the same draws as a stratified split of a single class.
    return stratified_split(std::vector<std::int32_t>(ds.size(), 0), validation_fraction, g);
}

/// The two data sets of split_of(ds, validation_fraction, g).
template <class T>
train_validation<T> split_dataset(const dataset<T>& ds, double validation_fraction, rng& g) {
    const split_indices idx = split_of(ds, validation_fraction, g);
    return {ds.subset(idx.train), ds.subset(idx.validation)};
}

} // namespace xnas::data
