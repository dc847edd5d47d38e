#pragma once
// Readers of the binary versions of CIFAR-10 and CIFAR-100 (Krizhevsky, 2009, "Learning
// multiple layers of features from tiny images"): batch files of fixed-size records (the label
// byte, or CIFAR-100's coarse and fine label bytes, then 3072 pixel bytes: the red, green and
// blue 32 x 32 planes, row-major) into data sets (N, 3, 32, 32) in [0, 1], and the published
// folder layouts into a train/test pair. The records carry no header, so the file size and the
// label bytes are all that can be checked: both are, naming the file and the byte offset.

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/data/idx.hpp>
#include <xnas/data/mnist.hpp>

namespace xnas::data {

/// Which of the two record layouts a batch file holds.
enum class cifar_version {
    cifar10,  ///< 1 label byte + 3072 pixel bytes (3073-byte records), 10 classes
    cifar100, ///< coarse label byte, fine label byte + 3072 pixel bytes (3074), 20 / 100 classes
};

/// CIFAR-100's two labellings: the 100 classes or their 20 superclasses.
enum class cifar_labels { fine, coarse };

/// Pixel bytes of one CIFAR image (3 x 32 x 32).
inline constexpr std::size_t cifar_image_bytes = 3 * 32 * 32;

/// Bytes of one record: the label byte(s) and the pixels.
inline constexpr std::size_t cifar_record_size(cifar_version v) {
    return (v == cifar_version::cifar10 ? 1 : 2) + cifar_image_bytes;
}

/// Classes of a labelling: 10 for CIFAR-10, 100 fine or 20 coarse for CIFAR-100.
inline constexpr std::size_t cifar_classes(cifar_version v, cifar_labels which) {
    return v == cifar_version::cifar10 ? 10 : which == cifar_labels::fine ? 100 : 20;
}

namespace detail {

inline const char* cifar_name(cifar_version v) {
    return v == cifar_version::cifar10 ? "CIFAR-10" : "CIFAR-100";
}

/// Reads every byte of a raw or gzip file. The size of a raw file is known before reading: a
/// bad one fails before its contents are allocated (`check`, given the size, throws).
template <class Check>
std::vector<std::uint8_t> read_all(byte_source& in, const std::filesystem::path& path,
                                   Check check) {
    std::size_t hint = std::size_t(1) << 20;
    if (!in.gzip()) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(path, ec);
        if (!ec) {
            check(static_cast<std::size_t>(size));
            hint = static_cast<std::size_t>(size) + 1; // + 1: the read that finds the end
        }
    }
    std::vector<std::uint8_t> bytes;
    std::size_t have = 0;
    for (;;) {
        const std::size_t step = std::max(have, hint);
        bytes.resize(have + step);
        const std::size_t n = in.read(bytes.data() + have, step);
        have += n;
        if (n < step)
            break;
    }
    bytes.resize(have);
    check(have);
    return bytes;
}

/// Appends the pixels and labels of a batch file to `pixels` and `labels`.
inline void read_cifar_file(const std::filesystem::path& path, cifar_version v, cifar_labels which,
                            std::vector<std::uint8_t>& pixels, std::vector<std::int32_t>& labels) {
    byte_source in(path, "xnas::data::load_cifar_batch");
    const std::size_t rec = cifar_record_size(v);
    const std::size_t other = cifar_record_size(
        v == cifar_version::cifar10 ? cifar_version::cifar100 : cifar_version::cifar10);
    const auto check = [&](std::size_t size) {
        if (size == 0)
            in.fail(std::string("the file is empty; a ") + cifar_name(v) + " batch holds " +
                    std::to_string(rec) + "-byte records");
        if (size % rec != 0)
            in.fail("size " + std::to_string(size) + " bytes is not a multiple of the " +
                    std::to_string(rec) + "-byte " + cifar_name(v) + " record (" +
                    (v == cifar_version::cifar10 ? "1 label byte" : "2 label bytes") +
                    " + 3072 pixel bytes): " + std::to_string(size / rec) + " whole records and " +
                    std::to_string(size % rec) + " bytes over" +
                    (size % other == 0
                         ? std::string("; the size is a multiple of the ") +
                               cifar_name(v == cifar_version::cifar10 ? cifar_version::cifar100
                                                                      : cifar_version::cifar10) +
                               " record (" + std::to_string(other) + " bytes): is it that format?"
                         : std::string()));
    };
    const std::vector<std::uint8_t> bytes = read_all(in, path, check);
    const std::size_t n = bytes.size() / rec;
    const std::size_t label_bytes = rec - cifar_image_bytes;
    pixels.reserve(pixels.size() + n * cifar_image_bytes);
    labels.reserve(labels.size() + n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* r = bytes.data() + i * rec;
        for (std::size_t k = 0; k < label_bytes; ++k) {
            const std::size_t limit = v == cifar_version::cifar10 ? 10 : k == 0 ? 20 : 100;
            if (r[k] >= limit)
                in.fail(std::string(v == cifar_version::cifar10 ? "label"
                                    : k == 0                    ? "coarse label"
                                                                : "fine label") +
                        " byte " + std::to_string(r[k]) + " at offset " +
                        std::to_string(i * rec + k) + " (record " + std::to_string(i) +
                        ") is outside [0, " + std::to_string(limit) + ")");
        }
        labels.push_back(r[v == cifar_version::cifar100 && which == cifar_labels::fine ? 1 : 0]);
        pixels.insert(pixels.end(), r + label_bytes, r + rec);
    }
}

/// A data set of CIFAR images from the pixels and labels read_cifar_file collected.
template <class T>
dataset<T> cifar_dataset(const std::vector<std::uint8_t>& pixels, std::vector<std::int32_t> labels,
                         std::size_t classes) {
    dataset<T> ds;
    const std::size_t n = labels.size();
    ds.x = nn::array<T>::from_shape({n, 3, 32, 32});
    std::array<T, 256> scale{};
    for (std::size_t v = 0; v < 256; ++v)
        scale[v] = static_cast<T>(v) / static_cast<T>(255);
    T* dst = ds.x.data();
    for (std::size_t i = 0; i < n * cifar_image_bytes; ++i)
        dst[i] = scale[pixels[i]];
    ds.labels = std::move(labels);
    ds.num_classes = classes;
    return ds;
}

/// The class names listed one per line in `file` (blank lines and trailing blanks ignored), or
/// none when it does not exist; throws naming the file when it lists another number than
/// `classes`.
inline std::vector<std::string> read_class_names(const std::filesystem::path& file,
                                                 std::size_t classes) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
        return {};
    byte_source in(file, "xnas::data::load_cifar");
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = in.read(buf, sizeof buf)) > 0;) {
        text.append(buf, n);
        if (text.size() > (std::size_t(1) << 20))
            in.fail("more than 1 MiB; expected " + std::to_string(classes) +
                    " class names, one per line");
    }
    std::vector<std::string> names;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos)
            end = text.size();
        std::string line = text.substr(start, end - start);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.pop_back();
        if (!line.empty())
            names.push_back(std::move(line));
        start = end + 1;
    }
    if (names.size() != classes)
        in.fail("lists " + std::to_string(names.size()) + " class names, expected " +
                std::to_string(classes) + " (one per line)");
    return names;
}

/// `dir`, or its subfolder `sub` (the name the published archive extracts to) when `dir` has
/// none of `markers` and the subfolder exists.
inline std::filesystem::path cifar_folder(const std::filesystem::path& dir, const char* sub,
                                          std::initializer_list<const char*> markers,
                                          const std::string& fn) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw file_error(fn + ": directory " + dir.string() + " not found");
    for (const char* m : markers)
        if (std::filesystem::exists(dir / m, ec))
            return dir;
    if (std::filesystem::is_directory(dir / sub, ec))
        return dir / sub;
    return dir;
}

inline std::filesystem::path require_file(const std::filesystem::path& p, const std::string& fn,
                                          const std::string& layout) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec))
        throw file_error(fn + ": " + p.string() + " not found (" + layout + ")");
    return p;
}

/// The number n of a file named data_batch_<n>.bin, or -1 for any other name.
inline long cifar_batch_number(const std::string& name) {
    const std::string_view pre = "data_batch_", suf = ".bin";
    if (name.size() <= pre.size() + suf.size() || name.compare(0, pre.size(), pre) != 0 ||
        name.compare(name.size() - suf.size(), suf.size(), suf) != 0)
        return -1;
    const char* b = name.data() + pre.size();
    const char* e = name.data() + name.size() - suf.size();
    long v = -1;
    const auto r = std::from_chars(b, e, v);
    return r.ec == std::errc{} && r.ptr == e && v >= 0 ? v : -1;
}

} // namespace detail

/// Loads one batch file (raw, or gzip-compressed: detected by the gzip magic) into a data set
/// (N, 3, 32, 32) with pixels scaled to [0, 1]: CIFAR-10 labels (10 classes), or CIFAR-100's
/// fine (100) or coarse (20) labels.
///
/// Throws xnas::file_error naming the file: not found or unreadable, empty, a size that is not
/// a multiple of the record size (with both sizes), or a label byte out of range (with its
/// value and byte offset). O(file size).
template <class T = float>
dataset<T> load_cifar_batch(const std::filesystem::path& file, cifar_version version,
                            cifar_labels which = cifar_labels::fine) {
    std::vector<std::uint8_t> pixels;
    std::vector<std::int32_t> labels;
    detail::read_cifar_file(file, version, which, pixels, labels);
    return detail::cifar_dataset<T>(pixels, std::move(labels), cifar_classes(version, which));
}

/// The training batches of a CIFAR-10 folder: every data_batch_<n>.bin, by increasing n.
inline std::vector<std::filesystem::path> cifar10_train_batches(const std::filesystem::path& dir) {
    std::vector<std::pair<long, std::filesystem::path>> found;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (const long n = detail::cifar_batch_number(it->path().filename().string()); n >= 0)
            found.emplace_back(n, it->path());
    std::sort(found.begin(), found.end());
    std::vector<std::filesystem::path> out;
    for (auto& f : found)
        out.push_back(std::move(f.second));
    return out;
}

/// CIFAR-10 from the folder of its binary version (cifar-10-batches-bin, or the folder it was
/// extracted into): the training set from every data_batch_<n>.bin (n = 1 to 5 as published)
/// in increasing n, the test set from test_batch.bin, and the class names from
/// batches.meta.txt when present.
///
/// Throws xnas::file_error naming the missing folder or file, or the bad file (see
/// load_cifar_batch; batches.meta.txt must list 10 names).
template <class T = float>
train_test<T> load_cifar10(const std::filesystem::path& dir) {
    const std::string fn = "xnas::data::load_cifar10";
    const std::string layout = "a CIFAR-10 folder holds data_batch_1.bin ... data_batch_5.bin "
                               "and test_batch.bin";
    const auto root = detail::cifar_folder(dir, "cifar-10-batches-bin",
                                           {"data_batch_1.bin", "test_batch.bin"}, fn);
    const auto batches = cifar10_train_batches(root);
    if (batches.empty())
        throw file_error(fn + ": " + (root / "data_batch_1.bin").string() +
                         " not found, nor any other data_batch_<n>.bin (" + layout + ")");
    const auto test_file = detail::require_file(root / "test_batch.bin", fn, layout);
    const auto names = detail::read_class_names(root / "batches.meta.txt", 10);
    train_test<T> out;
    std::vector<std::uint8_t> pixels;
    std::vector<std::int32_t> labels;
    for (const auto& b : batches)
        detail::read_cifar_file(b, cifar_version::cifar10, cifar_labels::fine, pixels, labels);
    out.train = detail::cifar_dataset<T>(pixels, std::move(labels), 10);
    pixels = {};
    labels = {};
    detail::read_cifar_file(test_file, cifar_version::cifar10, cifar_labels::fine, pixels, labels);
    out.test = detail::cifar_dataset<T>(pixels, std::move(labels), 10);
    out.train.class_names = out.test.class_names = names;
    return out;
}

/// CIFAR-100 from the folder of its binary version (cifar-100-binary, or the folder it was
/// extracted into): train.bin and test.bin, with the fine labels (100 classes, names from
/// fine_label_names.txt when present) or the coarse ones (20 superclasses,
/// coarse_label_names.txt).
///
/// Throws xnas::file_error naming the missing folder or file, or the bad file (see
/// load_cifar_batch; a names file must list 100 or 20 names).
template <class T = float>
train_test<T> load_cifar100(const std::filesystem::path& dir,
                            cifar_labels which = cifar_labels::fine) {
    const std::string fn = "xnas::data::load_cifar100";
    const std::string layout = "a CIFAR-100 folder holds train.bin and test.bin";
    const auto root = detail::cifar_folder(dir, "cifar-100-binary", {"train.bin", "test.bin"}, fn);
    const auto train_file = detail::require_file(root / "train.bin", fn, layout);
    const auto test_file = detail::require_file(root / "test.bin", fn, layout);
    const std::size_t classes = cifar_classes(cifar_version::cifar100, which);
    const auto names = detail::read_class_names(
        root / (which == cifar_labels::fine ? "fine_label_names.txt" : "coarse_label_names.txt"),
        classes);
    train_test<T> out;
    out.train = load_cifar_batch<T>(train_file, cifar_version::cifar100, which);
    out.test = load_cifar_batch<T>(test_file, cifar_version::cifar100, which);
    out.train.class_names = out.test.class_names = names;
    return out;
}

} // namespace xnas::data
