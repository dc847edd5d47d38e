#pragma once
// Loaders for IDX sample/label pairs, the MNIST format generalised: a sample file of any shape
// and element type and a label file into a data::dataset (unsigned-byte pixels scaled to
// [0, 1], (N, H, W) images given a channel: (N, 1, H, W)), class labels or regression targets,
// and the train/test pair of Fashion-MNIST (Debian package dataset-fashion-mnist) or MNIST.

#include <algorithm>
#include <array>
#include <cmath>
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

namespace detail {

/// "00 00 08 03": the magic of an IDX file as read, for messages.
inline std::string idx_magic(const idx_array& a) {
    const std::uint8_t m[4] = {0, 0, static_cast<std::uint8_t>(a.type),
                               static_cast<std::uint8_t>(a.dims.size())};
    return hex_bytes(m, 4);
}

/// Byte offset of element i of an IDX file (after its 4 + 4 * ndims header bytes).
inline std::size_t idx_offset(const idx_array& a, std::size_t i) {
    return 4 + 4 * a.dims.size() + i * idx_type_size(static_cast<std::uint8_t>(a.type));
}

inline bool idx_integral(idx_type t) {
    return t == idx_type::u8 || t == idx_type::i8 || t == idx_type::i16 || t == idx_type::i32;
}

/// Throws unless `img` holds samples: N then at least one dimension.
inline void require_idx_samples(const idx_array& img, const std::filesystem::path& path,
                                const std::string& fn) {
    if (img.dims.size() < 2)
        throw file_error(fn + path.string() + ": wrong magic for an image file: found bytes " +
                         idx_magic(img) +
                         ", expected 00 00 08 03 (unsigned-byte images, N x rows x cols), "
                         "00 00 08 04 (N x channels x rows x cols) or 00 00 <type> 02 (N x "
                         "features): N then the dimensions of one sample");
}

/// The samples of an IDX file as x (N, sample...): N then one sample's dimensions, with a
/// channel of 1 inserted before two (rows x cols) so that images are (N, C, H, W). Unsigned
/// bytes are pixels, scaled to [0, 1]; other types keep their values, which must be finite.
template <class T>
nn::array<T> idx_samples(const idx_array& img, const std::filesystem::path& path,
                         const std::string& fn) {
    require_idx_samples(img, path, fn);
    const std::size_t n = img.dims[0];
    nn::shape sample(img.dims.begin() + 1, img.dims.end());
    if (sample.size() == 2)
        sample.insert(sample.begin(), 1);
    auto x = nn::array<T>::from_shape(nn::with_batch(n, sample));
    T* dst = x.data();
    const std::size_t total = img.count();
    if (img.type == idx_type::u8) {
        // A 256-entry table keeps the conversion exact (255 -> 1) and branch-free.
        std::array<T, 256> scale{};
        for (std::size_t v = 0; v < 256; ++v)
            scale[v] = static_cast<T>(v) / static_cast<T>(255);
        const std::uint8_t* src = img.bytes.data();
        for (std::size_t i = 0; i < total; ++i)
            dst[i] = scale[src[i]];
        return x;
    }
    img.copy_to(dst);
    if (!idx_integral(img.type))
        for (std::size_t i = 0; i < total; ++i)
            if (!std::isfinite(dst[i]))
                throw file_error(
                    fn + path.string() + ": element " + std::to_string(i) + " (byte offset " +
                    std::to_string(idx_offset(img, i)) +
                    ") is not a finite number (nan, inf, or beyond the sample type's range)");
    return x;
}

[[noreturn]] inline void idx_count_mismatch(const std::string& fn, const idx_array& img,
                                            const std::filesystem::path& images,
                                            const std::filesystem::path& labels, std::size_t m,
                                            const char* what) {
    throw file_error(fn + "count mismatch: " + images.string() + " holds " +
                     std::to_string(img.dims[0]) +
                     (img.dims.size() > 2 ? " images, " : " samples, ") + labels.string() +
                     " holds " + std::to_string(m) + " " + what);
}

} // namespace detail

/// Loads samples and class labels from an IDX pair. The sample file holds N then one sample's
/// dimensions, of any IDX element type: N x F becomes (N, F), N x H x W (MNIST) becomes
/// (N, 1, H, W), N x C x H x W stays as it is. Unsigned bytes are pixels, scaled to [0, 1];
/// other types keep their values. Labels are N integers, or N floats of whole values.
/// `num_classes` = 0 takes the largest label + 1.
///
/// Throws xnas::file_error naming the file: everything read_idx reports, plus wrong magic for
/// the role (found and expected bytes), sample/label count mismatch, a label that is negative,
/// not whole or >= num_classes, or a non-finite float sample (each with its byte offset).
template <class T = float>
dataset<T> load_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels,
                         std::size_t num_classes = 0) {
    const std::string fn = "xnas::data::load_idx_pair: ";
    const idx_array lab = read_idx(labels); // the small file first: fail fast when it is bad
    const idx_array img = read_idx(images);
    detail::require_idx_samples(img, images, fn); // first: a swapped pair is named as such
    if (lab.dims.size() != 1)
        throw file_error(fn + labels.string() + ": wrong magic for a label file: found bytes " +
                         detail::idx_magic(lab) +
                         ", expected 00 00 08 01 (unsigned-byte labels, N)");
    const std::size_t n = img.dims[0];
    if (lab.dims[0] != n)
        detail::idx_count_mismatch(fn, img, images, labels, lab.dims[0], "labels");

    dataset<T> ds;
    const std::vector<double> values = lab.values<double>();
    ds.labels.resize(n);
    std::int32_t largest = -1;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = values[i];
        const auto where = [&] {
            return fn + labels.string() + ": label " + detail::number_text(v) + " of sample " +
                   std::to_string(i) + " (byte offset " +
                   std::to_string(detail::idx_offset(lab, i)) + ")";
        };
        if (!(v == std::floor(v)))
            throw file_error(where() + " is not a whole number; class labels are integers "
                                       "(load_idx_regression reads real-valued targets)");
        if (v < 0 || v > 2147483647.0 ||
            (num_classes && static_cast<std::size_t>(v) >= num_classes))
            throw file_error(where() + " is outside [0, " +
                             (num_classes ? std::to_string(num_classes) : std::string("inf")) +
                             ")");
        ds.labels[i] = static_cast<std::int32_t>(v);
        largest = std::max(largest, ds.labels[i]);
    }
    // In size_t: the largest int32 label is a valid label, and int32 has no room for its + 1.
    ds.num_classes = num_classes ? num_classes : static_cast<std::size_t>(largest) + 1;
    ds.x = detail::idx_samples<T>(img, images, fn);
    return ds;
}

/// Loads samples and real-valued regression targets from an IDX pair: the samples as
/// load_idx_pair reads them, the targets N values (targets (N, 1)) or N x K (targets (N, K))
/// of any IDX element type, kept as they are (unsigned bytes too). The set has no labels and
/// num_classes 0.
///
/// Throws xnas::file_error naming the file: everything read_idx reports, plus wrong magic for
/// the role, sample/target count mismatch, or a non-finite value (with its byte offset).
template <class T = float>
dataset<T> load_idx_regression(const std::filesystem::path& samples,
                               const std::filesystem::path& targets) {
    const std::string fn = "xnas::data::load_idx_regression: ";
    const idx_array tar = read_idx(targets);
    const idx_array img = read_idx(samples);
    detail::require_idx_samples(img, samples, fn);
    if (tar.dims.size() > 2)
        throw file_error(fn + targets.string() + ": wrong magic for a target file: found bytes " +
                         detail::idx_magic(tar) +
                         ", expected 00 00 <type> 01 (N targets) or 00 00 <type> 02 (N x K "
                         "targets)");
    const std::size_t n = img.dims[0];
    if (tar.dims[0] != n)
        detail::idx_count_mismatch(fn, img, samples, targets, tar.dims[0], "targets");
    dataset<T> ds;
    const std::size_t k = tar.dims.size() == 2 ? tar.dims[1] : 1;
    ds.targets = nn::array<T>::from_shape({n, k});
    tar.copy_to(ds.targets.data());
    for (std::size_t i = 0; i < n * k; ++i)
        if (!std::isfinite(ds.targets.data()[i]))
            throw file_error(fn + targets.string() + ": target " + std::to_string(i) + " (sample " +
                             std::to_string(i / std::max<std::size_t>(k, 1)) + ", byte offset " +
                             std::to_string(detail::idx_offset(tar, i)) +
                             ") is not a finite number");
    ds.x = detail::idx_samples<T>(img, samples, fn);
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
