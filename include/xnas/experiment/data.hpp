#pragma once
// The main job's data: Fashion-MNIST (or any IDX image set of its shape) split into the search's
// training and validation parts, the final selection's and the retrain's training sets and the
// test set, all normalised with the search's training statistics; and the augmentation the
// retrain and the trials train under.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/data/augment.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/data/mnist.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/data/split.hpp>
#include <xnas/experiment/options.hpp>

namespace xnas::experiment {

/// The data sets of a main job, shared read-only by the evaluators.
struct prepared_data {
    /// The search's: the first o.train_subset images of the training split, and the split's
    /// validation part.
    std::shared_ptr<data::dataset<float>> train, validation;
    /// The whole training set (training split and validation together): the retrain's.
    std::shared_ptr<data::dataset<float>> full_train;
    std::shared_ptr<data::dataset<float>> test;
    /// The final selection's: the first o.select_subset images of the training split (null
    /// without a final selection).
    std::shared_ptr<data::dataset<float>> select_train;
    data::split_indices split;
    data::normalization stats; ///< one global (mean, stddev) of the search's training images
};

/// Cuts `ds` to its first k samples (k = 0 or k >= size: all of them, uncopied).
inline void keep_first(data::dataset<float>& ds, std::size_t k) {
    if (k && k < ds.size())
        ds = ds.first(k);
}

/// Whether `dir` holds all four Fashion-MNIST files, raw or gzipped.
inline bool data_files_present(const std::filesystem::path& dir) {
    std::error_code ec;
    for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
        if (!std::filesystem::exists(dir / name, ec) &&
            !std::filesystem::exists(dir / (std::string(name) + ".gz"), ec))
            return false;
    return true;
}

/// Fashion-MNIST from `dir`. The library names a damaged file and its fault, but only a missing
/// file's error says how to get the data; these are the Debian package's files, so a damaged
/// one's error says how to restore it too. Throws xnas::file_error.
inline data::train_test<float> load_data(const std::string& dir) {
    try {
        return data::load_fashion_mnist<float>(dir);
    } catch (const file_error& e) {
        if (!data_files_present(dir))
            throw; // a missing file: the message already says what to install
        const std::string package = "apt-get install --reinstall dataset-fashion-mnist";
        std::error_code ec;
        const bool packaged = std::filesystem::equivalent(dir, default_data_dir, ec);
        throw file_error(
            std::string(e.what()) +
            (packaged ? "; to restore the file, reinstall the package: " + package
                      : "; to replace it with an intact copy, install the Debian package (" +
                            package + ") and pass --data " + default_data_dir));
    }
}

/// Loads o.data and splits it: a stratified validation split of o.validation_fraction seeded by
/// o.seed, the search's first o.train_subset training images, the selection's first
/// o.select_subset. Statistics come from the search's training images only, so nothing of
/// validation or test leaks in. With `sequences` every image becomes 28 rows of 28 features.
inline prepared_data prepare_data(const options& o, bool sequences) {
    auto tt = load_data(o.data);
    rng g(o.seed ^ 0x5EED5EEDULL);
    prepared_data p;
    p.split = data::stratified_split(tt.train.labels, o.validation_fraction, g);
    auto train = tt.train.subset(p.split.train);
    auto validation = tt.train.subset(p.split.validation);
    data::dataset<float> select_train;
    if (o.select) {
        select_train = train;
        keep_first(select_train, o.select_subset);
    }
    keep_first(train, o.train_subset);
    p.stats = data::compute_normalization(train, data::norm_scope::global);
    std::vector<data::dataset<float>*> all{&train, &validation, &tt.train, &tt.test};
    if (o.select)
        all.push_back(&select_train);
    for (auto* ds : all) {
        data::normalize(*ds, p.stats);
        if (sequences)
            ds->x.reshape({ds->size(), 28, 28});
    }
    if (o.select)
        p.select_train = std::make_shared<data::dataset<float>>(std::move(select_train));
    p.train = std::make_shared<data::dataset<float>>(std::move(train));
    p.validation = std::make_shared<data::dataset<float>>(std::move(validation));
    p.full_train = std::make_shared<data::dataset<float>>(std::move(tt.train));
    p.test = std::make_shared<data::dataset<float>>(std::move(tt.test));
    return p;
}

/// Crops (2 pixels) and flips when `crop_flip`, random erasing with probability `erase`, for
/// images normalised by `stats`: a black pixel (the background a crop should shift in) is
/// -mean / stddev, and the raw range [0, 1] bounds the values erasing draws.
inline data::augment_options augmentation(bool crop_flip, double erase,
                                          const data::normalization& stats) {
    const double black = -stats.mean[0] / stats.stddev[0];
    const double white = (1 - stats.mean[0]) / stats.stddev[0];
    return {.crop_padding = crop_flip ? 2u : 0u,
            .flip_probability = crop_flip ? 0.5 : 0.0,
            .fill = black,
            .erase_probability = erase,
            .erase_low = black,
            .erase_high = white};
}

} // namespace xnas::experiment
