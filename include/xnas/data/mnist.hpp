#pragma once
// Loaders for MNIST-format image classification sets: an IDX image file and an IDX label file
// into a data::dataset (pixels scaled to [0, 1], shape (N, 1, H, W)), and the train/test pair
// of Fashion-MNIST (Debian package dataset-fashion-mnist) or MNIST from a directory.

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/data/idx.hpp>

namespace xnas::data {

/// A training set and a test set (the test set is for the final report only; draw validation
/// data from train with data::stratified_split).
template <class T = float>
struct train_test {
    dataset<T> train;
    dataset<T> test;
};

/// Loads images (IDX unsigned bytes, N x H x W, or N x C x H x W) and labels (IDX integers,
/// N) into a dataset of shape (N, 1, H, W) (or (N, C, H, W)) with pixels scaled to [0, 1].
/// `num_classes` = 0 takes the largest label + 1.
///
/// Throws xnas::file_error naming the file: everything read_idx reports, plus wrong magic for
/// the role (found and expected bytes), image/label count mismatch, label >= num_classes
/// (with its byte offset).
template <class T = float>
dataset<T> load_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels,
                         std::size_t num_classes = 0) {
    const std::string fn = "xnas::data::load_idx_pair: ";
    const idx_array lab = read_idx(labels); // the small file first: fail fast when it is bad
    const idx_array img = read_idx(images);
    const auto magic = [](const idx_array& a) {
        const std::uint8_t m[4] = {0, 0, static_cast<std::uint8_t>(a.type),
                                   static_cast<std::uint8_t>(a.dims.size())};
        return detail::hex_bytes(m, 4);
    };
    if (img.type != idx_type::u8 || (img.dims.size() != 3 && img.dims.size() != 4))
        throw file_error(fn + images.string() + ": wrong magic for an image file: found bytes " +
                         magic(img) +
                         ", expected 00 00 08 03 (unsigned-byte images, N x rows x cols) or "
                         "00 00 08 04 (N x channels x rows x cols)");
    const bool integral = lab.type == idx_type::u8 || lab.type == idx_type::i8 ||
                          lab.type == idx_type::i16 || lab.type == idx_type::i32;
    if (!integral || lab.dims.size() != 1)
        throw file_error(fn + labels.string() + ": wrong magic for a label file: found bytes " +
                         magic(lab) + ", expected 00 00 08 01 (unsigned-byte labels, N)");
    const std::size_t n = img.dims[0];
    if (lab.dims[0] != n)
        throw file_error(fn + "count mismatch: " + images.string() + " holds " + std::to_string(n) +
                         " images, " + labels.string() + " holds " + std::to_string(lab.dims[0]) +
                         " labels");

    dataset<T> ds;
    const std::vector<std::int32_t> values = lab.values<std::int32_t>();
    std::int32_t largest = -1;
    const std::size_t width = idx_type_size(static_cast<std::uint8_t>(lab.type));
    for (std::size_t i = 0; i < n; ++i) {
        const std::int32_t v = values[i];
        if (v < 0 || (num_classes && static_cast<std::size_t>(v) >= num_classes))
            throw file_error(fn + labels.string() + ": label " + std::to_string(v) + " of sample " +
                             std::to_string(i) + " (byte offset " + std::to_string(8 + i * width) +
                             ") is outside [0, " +
                             (num_classes ? std::to_string(num_classes) : std::string("inf")) +
                             ")");
        largest = std::max(largest, v);
    }
    ds.labels = values;
    // In size_t: the largest int32 label is a valid label, and int32 has no room for its + 1.
    ds.num_classes = num_classes ? num_classes : static_cast<std::size_t>(largest) + 1;

    nn::shape sample(img.dims.begin() + 1, img.dims.end());
    if (sample.size() == 2)
        sample.insert(sample.begin(), 1);
    ds.x = nn::array<T>::from_shape(nn::with_batch(n, sample));
    // A 256-entry table keeps the conversion exact (255 -> 1) and branch-free.
    std::array<T, 256> scale{};
    for (std::size_t v = 0; v < 256; ++v)
        scale[v] = static_cast<T>(v) / static_cast<T>(255);
    const std::uint8_t* src = img.bytes.data();
    T* dst = ds.x.data();
    const std::size_t total = img.count();
    for (std::size_t i = 0; i < total; ++i)
        dst[i] = scale[src[i]];
    return ds;
}

namespace detail {

/// dir/name, or dir/name.gz when only that exists; throws naming both and `hint` otherwise.
inline std::filesystem::path find_idx(const std::filesystem::path& dir, const std::string& name,
                                      const std::string& fn, const std::string& hint) {
    auto plain = dir / name; // not const, so `return plain` moves
    auto gz = plain;
    gz += ".gz";
    std::error_code ec;
    if (std::filesystem::exists(plain, ec))
        return plain;
    if (std::filesystem::exists(gz, ec))
        return gz;
    if (!std::filesystem::is_directory(dir, ec))
        throw file_error(fn + ": directory " + dir.string() + " not found (looking for " +
                         gz.string() + ")" + hint);
    throw file_error(fn + ": " + gz.string() + " not found (nor " + plain.string() + ")" + hint);
}

template <class T>
train_test<T> load_mnist_dir(const std::filesystem::path& dir, const std::string& fn,
                             const std::string& hint, const std::vector<std::string>& names) {
    train_test<T> out;
    const std::string set[2] = {"train", "t10k"};
    for (int k = 0; k < 2; ++k) {
        const auto images = find_idx(dir, set[k] + "-images-idx3-ubyte", fn, hint);
        const auto labels = find_idx(dir, set[k] + "-labels-idx1-ubyte", fn, hint);
        auto& ds = k == 0 ? out.train : out.test;
        ds = load_idx_pair<T>(images, labels, names.size());
        ds.class_names = names;
    }
    return out;
}

} // namespace detail

/// Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017, arXiv:1708.07747): 60000 training and 10000
/// test images of 10 clothing classes, (N, 1, 28, 28) in [0, 1], from
/// dir/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (Debian: dataset-fashion-mnist).
/// Throws xnas::file_error naming the missing or bad file; a missing file or directory also
/// says which package to install.
template <class T = float>
train_test<T>
load_fashion_mnist(const std::filesystem::path& dir = "/usr/share/datasets/fashion-mnist") {
    return detail::load_mnist_dir<T>(
        dir, "xnas::data::load_fashion_mnist",
        "; install the Debian package dataset-fashion-mnist (apt-get install "
        "dataset-fashion-mnist)",
        {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
         "Ankle boot"});
}

/// MNIST digits (LeCun et al., 1998) from the same file layout as load_fashion_mnist.
template <class T = float>
train_test<T> load_mnist(const std::filesystem::path& dir) {
    return detail::load_mnist_dir<T>(dir, "xnas::data::load_mnist", "",
                                     {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
}

} // namespace xnas::data
