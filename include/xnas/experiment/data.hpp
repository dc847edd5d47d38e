#pragma once
// The main job's data: Fashion-MNIST or a user's data set (IDX, CIFAR, NumPy or CSV files;
// images, sequences or tabular features; class labels or regression targets) split into the
// search's training and validation parts, the final selection's and the retrain's training sets
// and the test set, all standardised with the search's training statistics; and the
// augmentation the retrain and the trials train under.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/data/augment.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/data/load.hpp>
#include <xnas/data/mnist.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/data/split.hpp>
#include <xnas/experiment/options.hpp>

namespace xnas::experiment {

/// The data sets of a main job, shared read-only by the evaluators.
struct prepared_data {
    /// The search's: the first o.train_subset samples of the training split, and the split's
    /// validation part.
    std::shared_ptr<data::dataset<float>> train, validation;
    /// The whole training set (training split and validation together): the retrain's.
    std::shared_ptr<data::dataset<float>> full_train;
    std::shared_ptr<data::dataset<float>> test;
    /// The final selection's: the first o.select_subset samples of the training split (null
    /// without a final selection).
    std::shared_ptr<data::dataset<float>> select_train;
    data::split_indices split;
    /// The inputs' standardisation, from the search's training samples: one (mean, stddev) for
    /// single-channel images and sequences, one per channel of colour images and per feature of
    /// tabular data.
    data::normalization stats;
    /// Regression: the targets' one global (mean, stddev), which every target was standardised
    /// by (a network's outputs times stddev plus mean are in the data's units); empty otherwise.
    data::normalization target_stats;
    nn::shape input;         ///< one sample as the networks read it: (C, H, W), (T, F) or (F)
    std::size_t outputs = 0; ///< classes, or the values per regression target
    bool sequences = false;  ///< images were turned into sequences of their rows
    bool regression = false; ///< the samples carry real-valued targets
    std::string format;      ///< the format the data was read as (idx, cifar10, npy, ...)
    double seconds = 0;      ///< spent reading and preparing it (a run's time limit counts it)

    /// Whether samples are images (C, H, W): what crops, flips and erasing apply to.
    bool images() const { return input.size() == 3; }
    /// RMSE in standardised target units times this is RMSE in the data's units (1 for
    /// classification).
    double target_scale() const {
        return target_stats.stddev.empty() ? 1.0 : target_stats.stddev[0];
    }
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

/// Images (N, C, H, W) as sequences (N, H, C * W) of their rows, each row the C channels'
/// pixels side by side (a reshape when C = 1).
inline void images_as_rows(data::dataset<float>& ds) {
    const auto& sh = ds.x.shape();
    const std::size_t n = sh[0], c = sh[1], h = sh[2], w = sh[3];
    if (c == 1) {
        ds.x.reshape({n, h, w});
        return;
    }
    auto rows = nn::array<float>::from_shape({n, h, c * w});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < c; ++k)
            for (std::size_t r = 0; r < h; ++r)
                std::copy_n(ds.x.data() + ((i * c + k) * h + r) * w, w,
                            rows.data() + (i * h + r) * c * w + k * w);
    ds.x = std::move(rows);
}

/// A data set as read, with the format it was read as.
struct loaded_data {
    data::train_test<float> data;
    std::string format;
};

/// The data set of o.data in o.data_format (data::load_train_test; the Fashion-MNIST files
/// through load_data(dir), whose errors say how to install or restore them), for o.task.
/// Throws xnas::file_error naming the file (and the offset or element where it applies),
/// xnas::parse_error for a bad CSV file, std::invalid_argument when the data does not fit the
/// task.
inline loaded_data load_data(const options& o) {
    namespace fs = std::filesystem;
    data::load_options lo{.format = data::parse_data_format(o.data_format),
                          .kind =
                              regression(o) ? data::task::regression : data::task::classification,
                          .label = o.label};
    std::error_code ec;
    const bool fashion_mnist =
        !regression(o) && (o.data_format == "auto" || o.data_format == "idx") &&
        (data_files_present(o.data) || (!fs::exists(o.data, ec) && o.data == default_data_dir));
    if (fashion_mnist)
        return {load_data(o.data), "idx"};
    // Detected once here, so the loader does not list the folder again.
    if (lo.format == data::data_format::automatic)
        lo.format = data::detect_format(o.data);
    return {data::load_train_test<float>(o.data, lo), data::to_string(lo.format)};
}

/// Loads o.data and splits it: a validation split of o.validation_fraction seeded by o.seed
/// (stratified for classification), the search's first o.train_subset training samples, the
/// selection's first o.select_subset. Statistics come from the search's training samples only,
/// so nothing of validation or test leaks in; regression targets are standardised by theirs.
/// With `sequences` every image (C, H, W) becomes H rows of C x W features (samples that are
/// already (T, F) stay as they are). Throws xnas::file_error for unusable files and
/// std::invalid_argument when the data does not fit the task (class labels for regression).
inline prepared_data prepare_data(const options& o, bool sequences) {
    const auto start = std::chrono::steady_clock::now();
    auto tt = load_data(o);
    rng g(o.seed ^ 0x5EED5EEDULL);
    prepared_data p;
    p.format = tt.format;
    p.regression = tt.data.train.regression();
    p.split = data::split_of(tt.data.train, o.validation_fraction, g);
    auto train = tt.data.train.subset(p.split.train);
    auto validation = tt.data.train.subset(p.split.validation);
    data::dataset<float> select_train;
    if (o.select) {
        select_train = train;
        keep_first(select_train, o.select_subset);
    }
    keep_first(train, o.train_subset);
    const nn::shape sample = train.sample_shape();
    // Colour channels differ in brightness; a grey image's one channel and a sequence's steps
    // are one kind of value; tabular features each have their own units.
    const bool per_channel = (sample.size() == 3 && sample[0] > 1) || sample.size() == 1;
    p.stats = data::compute_normalization(train, per_channel ? data::norm_scope::channel
                                                             : data::norm_scope::global);
    if (p.regression)
        p.target_stats = data::compute_normalization(train.targets, data::norm_scope::global);
    std::vector<data::dataset<float>*> all{&train, &validation, &tt.data.train, &tt.data.test};
    if (o.select)
        all.push_back(&select_train);
    p.sequences = sequences && sample.size() == 3;
    for (auto* ds : all) {
        data::normalize(*ds, p.stats);
        if (p.regression)
            data::normalize(ds->targets, p.target_stats);
        if (p.sequences)
            images_as_rows(*ds);
    }
    p.input = train.sample_shape();
    p.outputs = p.regression ? train.target_size() : train.num_classes;
    if (o.select)
        p.select_train = std::make_shared<data::dataset<float>>(std::move(select_train));
    p.train = std::make_shared<data::dataset<float>>(std::move(train));
    p.validation = std::make_shared<data::dataset<float>>(std::move(validation));
    p.full_train = std::make_shared<data::dataset<float>>(std::move(tt.data.train));
    p.test = std::make_shared<data::dataset<float>>(std::move(tt.data.test));
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return p;
}

/// One line describing the prepared data: "data: npy, 30000 training samples (5000 searched,
/// 3000 validating), 5000 test samples, each (1, 28, 28), 10 classes".
inline std::string describe(const prepared_data& d) {
    std::string text = "data: " + d.format + ", " + std::to_string(d.full_train->size()) +
                       " training samples (" + std::to_string(d.train->size()) + " searched, " +
                       std::to_string(d.validation->size()) + " validating), " +
                       std::to_string(d.test->size()) + " test samples, each " +
                       nn::to_string(d.input) + ", " + std::to_string(d.outputs);
    if (!d.regression)
        return text + " classes\n";
    return text + (d.outputs == 1 ? " target value\n" : " target values\n");
}

/// prepare_data with images read as rows for the rnn space.
inline prepared_data prepare_data(const options& o) {
    return prepare_data(o, o.space == "rnn");
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
