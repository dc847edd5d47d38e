#pragma once
// One entry point for a folder of training and test data in the formats users have: IDX files
// (MNIST's), CIFAR-10 and CIFAR-100 batches, NumPy .npy arrays or CSV tables, the format told
// or detected from the file names, for classification or regression. Train and test are read
// as one: they must agree on the sample shape, and on the class numbers (counted, and text
// labels numbered, over both), so that a network trained on one can be tested on the other.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/data/cifar.hpp>
#include <xnas/data/csv.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/data/idx.hpp>
#include <xnas/data/mnist.hpp>
#include <xnas/data/npy.hpp>

namespace xnas::data {

/// The folder layouts load_train_test reads; `automatic` detects one from the file names.
enum class data_format { automatic, idx, cifar10, cifar100, npy, csv };

/// "auto", "idx", "cifar10", "cifar100", "npy" or "csv".
inline std::string to_string(data_format f) {
    static const char* names[] = {"auto", "idx", "cifar10", "cifar100", "npy", "csv"};
    return names[static_cast<std::size_t>(f)];
}

/// The format named by to_string's text. Throws xnas::parse_error naming the text and the
/// choices.
inline data_format parse_data_format(std::string_view text) {
    for (auto f : {data_format::automatic, data_format::idx, data_format::cifar10,
                   data_format::cifar100, data_format::npy, data_format::csv})
        if (text == to_string(f))
            return f;
    throw parse_error("xnas::data::parse_data_format: unknown data format \"" + std::string(text) +
                      "\"; expected auto, idx, cifar10, cifar100, npy or csv");
}

/// What the targets of a data set are: class labels, or real values to predict.
enum class task { classification, regression };

/// "classification" or "regression".
inline std::string to_string(task t) {
    return t == task::classification ? "classification" : "regression";
}

/// The task named by to_string's text. Throws xnas::parse_error naming the text and the choices.
inline task parse_task(std::string_view text) {
    if (text == "classification")
        return task::classification;
    if (text == "regression")
        return task::regression;
    throw parse_error("xnas::data::parse_task: unknown task \"" + std::string(text) +
                      "\"; expected classification or regression");
}

/// How load_train_test reads a folder.
struct load_options {
    data_format format = data_format::automatic;
    task kind = task::classification;
    std::string label = "label"; ///< CSV: the column of the labels (or of the regression target)
    cifar_labels cifar100_labels = cifar_labels::fine; ///< CIFAR-100: 100 classes or 20
};

namespace detail {

inline const char* layouts_text() {
    return "IDX (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
           "t10k-labels-idx1-ubyte, raw or .gz; test- for t10k- and any idxN accepted), "
           "CIFAR-10 (data_batch_1.bin ... data_batch_5.bin, test_batch.bin), CIFAR-100 "
           "(train.bin, test.bin), NumPy (x_train.npy, y_train.npy, x_test.npy, y_test.npy), "
           "CSV (train.csv, test.csv)";
}

/// Whether `name` is <set>-<role>-idx<digits>-ubyte, with .gz or not.
inline bool idx_file_name(std::string_view name, std::string_view set, std::string_view role) {
    if (name.size() > 3 && name.substr(name.size() - 3) == ".gz")
        name.remove_suffix(3);
    const std::string head = std::string(set) + "-" + std::string(role) + "-idx";
    const std::string_view tail = "-ubyte";
    if (name.size() <= head.size() + tail.size() || name.substr(0, head.size()) != head ||
        name.substr(name.size() - tail.size()) != tail)
        return false;
    const std::string_view digits =
        name.substr(head.size(), name.size() - head.size() - tail.size());
    return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// The names in `dir` that are not folders, sorted (none when it cannot be listed).
inline std::vector<std::string> file_names(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (std::error_code dir_ec; !it->is_directory(dir_ec))
            names.push_back(it->path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

/// The IDX file of one role in `dir` (train-images-idx3-ubyte, t10k-labels-idx1-ubyte.gz,
/// test-images-idx4-ubyte, ...); raw preferred to .gz. Throws naming the file expected when
/// none matches, or the matches when several do.
inline std::filesystem::path find_idx_file(const std::filesystem::path& dir,
                                           const std::vector<std::string>& names, bool train,
                                           std::string_view role, const std::string& fn) {
    std::vector<std::string> bases;
    for (const char* set :
         train ? std::vector<const char*>{"train"} : std::vector<const char*>{"t10k", "test"})
        for (const auto& n : names)
            if (idx_file_name(n, set, role)) {
                std::string base =
                    n.size() > 3 && n.ends_with(".gz") ? n.substr(0, n.size() - 3) : n;
                if (std::find(bases.begin(), bases.end(), base) == bases.end())
                    bases.push_back(std::move(base));
            }
    const std::string expected = std::string(train ? "train-" : "t10k-") + std::string(role) +
                                 (role == "images" ? "-idx3-ubyte" : "-idx1-ubyte");
    if (bases.empty())
        throw file_error(fn + ": " + (dir / expected).string() + "[.gz] not found" +
                         (train ? "" : " (nor a test- file)") + "; an IDX folder holds " +
                         "train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                         "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, raw or .gz "
                         "(test- for t10k-, and any idxN, accepted)");
    if (bases.size() > 1) {
        std::string list;
        for (const auto& b : bases)
            list += (list.empty() ? "" : " and ") + (dir / b).string();
        throw file_error(fn + ": both " + list + " hold the " + (train ? "training " : "test ") +
                         std::string(role) + "; keep one");
    }
    const auto raw = dir / bases[0];
    std::error_code ec;
    return std::filesystem::exists(raw, ec) ? raw : std::filesystem::path(raw.string() + ".gz");
}

/// `dir / name`, or throws naming it and the layout.
inline std::filesystem::path layout_file(const std::filesystem::path& dir, const char* name,
                                         const std::string& fn, const char* layout) {
    std::error_code ec;
    const auto p = dir / name;
    if (!std::filesystem::exists(p, ec))
        throw file_error(fn + ": " + p.string() + " not found (" + layout + ")");
    return p;
}

/// The samples of an .npy array as x (N, sample...): a 1-D array is N features of one value.
/// Unsigned bytes are pixels, scaled to [0, 1] (as IDX and CIFAR pixels are); other types keep
/// their values, which must be finite.
template <class T>
nn::array<T> npy_samples(const npy_array& a, const std::filesystem::path& p,
                         const std::string& fn) {
    if (a.shape.empty())
        throw file_error(fn + ": " + p.string() +
                         " holds a 0-d array (one value), expected samples (N, ...)");
    nn::shape s = a.shape;
    if (s.size() == 1)
        s.push_back(1);
    auto x = nn::array<T>::from_shape(s);
    const std::size_t n = a.count();
    T* dst = x.data();
    if (a.type == npy_type::u1) {
        for (std::size_t i = 0; i < n; ++i)
            dst[i] = static_cast<T>(a.bytes[i]) / static_cast<T>(255);
        return x;
    }
    a.copy_to(dst, n);
    if (!a.integral())
        for (std::size_t i = 0; i < n; ++i)
            if (!std::isfinite(dst[i]))
                throw file_error(fn + ": " + p.string() + ": element " + std::to_string(i) +
                                 " is not a finite number (nan, inf, or beyond the sample "
                                 "type's range)");
    return x;
}

/// Class labels from an .npy array of shape (N) or (N, 1): integers, or floats of whole
/// values, in [0, 2^31).
inline std::vector<std::int32_t> npy_labels(const npy_array& y, const std::filesystem::path& p,
                                            const std::string& fn) {
    if (y.shape.empty() || y.shape.size() > 2 || (y.shape.size() == 2 && y.shape[1] != 1))
        throw file_error(fn + ": " + p.string() + " has shape " + dims_string(y.shape) +
                         "; class labels are of shape (N) or (N, 1) (one-hot rows are not read: "
                         "save their argmax; regression reads (N, K) targets)");
    const std::vector<double> v = y.values<double>();
    std::vector<std::int32_t> labels(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        const std::string at =
            fn + ": " + p.string() + ": element " + std::to_string(i) + " is " + number_text(v[i]);
        if (!(v[i] == std::floor(v[i])))
            throw file_error(at + ", not a whole number; class labels are integers (regression "
                                  "reads real-valued targets)");
        if (v[i] < 0 || v[i] > 2147483647.0)
            throw file_error(at + "; class labels are in [0, 2^31)");
        labels[i] = static_cast<std::int32_t>(v[i]);
    }
    return labels;
}

/// Regression targets (N, K) from an .npy array of shape (N) (K = 1) or (N, K), finite.
template <class T>
nn::array<T> npy_targets(const npy_array& y, const std::filesystem::path& p,
                         const std::string& fn) {
    if (y.shape.empty() || y.shape.size() > 2)
        throw file_error(fn + ": " + p.string() + " has shape " + dims_string(y.shape) +
                         "; regression targets are of shape (N) or (N, K)");
    const nn::shape shape{y.shape[0], y.shape.size() == 2 ? y.shape[1] : 1};
    auto t = nn::array<T>::from_shape(shape);
    const std::size_t n = y.count();
    y.copy_to(t.data(), n);
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(t.data()[i]))
            throw file_error(fn + ": " + p.string() + ": element " + std::to_string(i) +
                             " is not a finite number");
    return t;
}

template <class T>
train_test<T> load_npy_dir(const std::filesystem::path& dir, const load_options& o,
                           const std::string& fn) {
    const char* layout = "a NumPy folder holds x_train.npy, y_train.npy, x_test.npy and y_test.npy";
    train_test<T> out;
    const char* xs[2] = {"x_train.npy", "x_test.npy"};
    const char* ys[2] = {"y_train.npy", "y_test.npy"};
    for (const char* name : {xs[0], ys[0], xs[1], ys[1]})
        (void)layout_file(dir, name, fn, layout);
    for (int k = 0; k < 2; ++k) {
        auto& ds = k == 0 ? out.train : out.test;
        const auto xp = dir / xs[k], yp = dir / ys[k];
        const npy_array y = read_npy(yp); // the small file first: fail fast when it is bad
        const npy_array x = read_npy(xp);
        const std::size_t nx = x.shape.empty() ? 1 : x.shape[0];
        const std::size_t ny = y.shape.empty() ? 1 : y.shape[0];
        if (nx != ny)
            throw file_error(fn + ": count mismatch: " + xp.string() + " holds " +
                             std::to_string(nx) + " samples (shape " + dims_string(x.shape) +
                             "), " + yp.string() + " holds " + std::to_string(ny) + " (shape " +
                             dims_string(y.shape) + ")");
        if (o.kind == task::regression)
            ds.targets = npy_targets<T>(y, yp, fn);
        else
            ds.labels = npy_labels(y, yp, fn);
        ds.x = npy_samples<T>(x, xp, fn);
    }
    return out;
}

template <class T>
train_test<T> load_csv_dir(const std::filesystem::path& dir, const load_options& o,
                           const std::string& fn) {
    const char* layout = "a CSV folder holds train.csv and test.csv";
    const csv_table tables[2] = {read_csv(layout_file(dir, "train.csv", fn, layout)),
                                 read_csv(layout_file(dir, "test.csv", fn, layout))};
    // The training file's feature columns, looked up by name in the test file: a column
    // missing there is named, and columns in another order still line up.
    csv_dataset_options opt{o.label, {}};
    const std::size_t label_col = tables[0].column_index(o.label);
    for (std::size_t c = 0; c < tables[0].columns(); ++c)
        if (c != label_col)
            opt.feature_columns.push_back(tables[0].header()[c]);
    if (opt.feature_columns.empty())
        throw parse_error(fn + ": " + tables[0].source() + " has no feature column besides \"" +
                          o.label + "\"");
    train_test<T> out;
    dataset<T>* sets[2] = {&out.train, &out.test};
    for (int k = 0; k < 2; ++k) {
        *sets[k] = to_dataset<T>(tables[k], opt);
        if (o.kind != task::regression)
            continue;
        const csv_table& t = tables[k];
        const std::size_t col = t.column_index(o.label);
        auto& ds = *sets[k];
        ds.targets = nn::array<T>::from_shape({t.rows(), 1});
        for (std::size_t r = 0; r < t.rows(); ++r) {
            const double v = t.number(r, col);
            if (!std::isfinite(v))
                throw parse_error(fn + ": " + t.where(r, col) + ": \"" + t.cell(r, col) +
                                  "\" is not a finite number");
            ds.targets(r, 0) = static_cast<T>(v);
        }
        ds.labels.clear();
        ds.class_names.clear();
        ds.num_classes = 0;
    }
    if (o.kind == task::regression ||
        (out.train.class_names.empty() && out.test.class_names.empty()))
        return out; // integer labels: load_train_test takes the larger class count
    // Text labels (in either file): one numbering, in sorted order, over both files.
    std::map<std::string, std::int32_t> names;
    for (int k = 0; k < 2; ++k) {
        const std::size_t col = tables[k].column_index(o.label);
        for (std::size_t r = 0; r < tables[k].rows(); ++r)
            names.emplace(tables[k].cell(r, col), 0);
    }
    std::vector<std::string> list;
    for (auto& [name, index] : names) {
        index = static_cast<std::int32_t>(list.size());
        list.push_back(name);
    }
    for (int k = 0; k < 2; ++k) {
        const std::size_t col = tables[k].column_index(o.label);
        for (std::size_t r = 0; r < tables[k].rows(); ++r)
            sets[k]->labels[r] = names.at(tables[k].cell(r, col));
        sets[k]->class_names = list;
        sets[k]->num_classes = list.size();
    }
    return out;
}

template <class T>
train_test<T> load_idx_dir(const std::filesystem::path& dir, const load_options& o,
                           const std::string& fn, std::filesystem::path (&files)[4]) {
    const auto names = file_names(dir);
    train_test<T> out;
    for (int k = 0; k < 2; ++k) {
        const auto images = find_idx_file(dir, names, k == 0, "images", fn);
        const auto labels = find_idx_file(dir, names, k == 0, "labels", fn);
        files[2 * k] = images;
        files[2 * k + 1] = labels;
        (k == 0 ? out.train : out.test) = o.kind == task::regression
                                              ? load_idx_regression<T>(images, labels)
                                              : load_idx_pair<T>(images, labels);
    }
    return out;
}

} // namespace detail

/// The layout of a data folder, from its file names: IDX (train-images-idx3-ubyte[.gz], ...;
/// test-images-... for t10k-images-..., any idxN), CIFAR-10 (data_batch_<n>.bin,
/// test_batch.bin, or a cifar-10-batches-bin subfolder), CIFAR-100 (train.bin, test.bin, or a
/// cifar-100-binary subfolder), npy (x_train.npy, y_train.npy, x_test.npy, y_test.npy) or csv
/// (train.csv, test.csv). One file of a layout is enough to choose it; the loader then names
/// any missing one.
///
/// Throws xnas::file_error naming the folder when it does not exist or is not a folder, when
/// it matches no layout (listing the layouts looked for), or when it matches several (naming
/// them: choose with load_options::format).
inline data_format detect_format(const std::filesystem::path& dir) {
    const std::string fn = "xnas::data::detect_format: ";
    std::error_code ec;
    const auto st = std::filesystem::status(dir, ec);
    if (!std::filesystem::exists(st))
        throw file_error(fn + "directory " + dir.string() + " not found");
    if (!std::filesystem::is_directory(st))
        throw file_error(fn + dir.string() +
                         " is not a directory; give the folder that holds "
                         "the training and test files");
    bool idx = false, c10 = false, c100 = false, npy = false, csv = false;
    for (const auto& n : detail::file_names(dir)) {
        for (const char* set : {"train", "t10k", "test"})
            for (const char* role : {"images", "labels"})
                idx = idx || detail::idx_file_name(n, set, role);
        c10 = c10 || n == "test_batch.bin" || detail::cifar_batch_number(n) >= 0;
        c100 = c100 || n == "train.bin" || n == "test.bin";
        npy = npy || n == "x_train.npy" || n == "y_train.npy" || n == "x_test.npy" ||
              n == "y_test.npy";
        csv = csv || n == "train.csv" || n == "test.csv";
    }
    c10 = c10 || std::filesystem::is_directory(dir / "cifar-10-batches-bin", ec);
    c100 = c100 || std::filesystem::is_directory(dir / "cifar-100-binary", ec);
    std::vector<data_format> found;
    for (auto [hit, f] : {std::pair{idx, data_format::idx}, std::pair{c10, data_format::cifar10},
                          std::pair{c100, data_format::cifar100}, std::pair{npy, data_format::npy},
                          std::pair{csv, data_format::csv}})
        if (hit)
            found.push_back(f);
    if (found.empty())
        throw file_error(fn + dir.string() +
                         " holds none of the data layouts looked for: " + detail::layouts_text());
    if (found.size() > 1) {
        std::string list;
        for (auto f : found)
            list += (list.empty() ? "" : ", ") + to_string(f);
        throw file_error(fn + dir.string() + " holds files of several data layouts (" + list +
                         "); choose one with the data format option (load_options::format)");
    }
    return found[0];
}

/// Loads the training and test sets of a folder in options.format (detect_format's choice for
/// `automatic`):
/// - idx: load_idx_pair (classification) or load_idx_regression of train-images/labels and
///   t10k-images/labels (or test-images/labels), any idxN, raw or .gz;
/// - cifar10, cifar100: load_cifar10, load_cifar100 (options.cifar100_labels), classification
///   only;
/// - npy: x_train.npy, y_train.npy, x_test.npy, y_test.npy. x is (N, sample...) as saved (a
///   1-D x is (N, 1)), unsigned bytes scaled to [0, 1], other types as they are; y is class
///   labels (N) or (N, 1), integers or whole floats, or regression targets (N) or (N, K);
/// - csv: train.csv, test.csv; options.label names the label (or target) column, every other
///   column of train.csv is a feature, looked up by name in test.csv. Text labels are numbered
///   in sorted order over both files.
/// Classification counts the classes over both sets (num_classes = the largest label + 1);
/// regression gives targets (N, K) (K = 1 for a 1-D y or a CSV column), no labels, 0 classes.
///
/// Throws xnas::file_error naming the folder or file: a missing file of the layout, a bad file
/// (the readers' errors, with the byte offset or element index), sample and label counts
/// that differ, train and test samples (or targets) of different shapes, a label that is
/// negative or not whole; xnas::parse_error for a bad CSV file (file, line and column);
/// std::invalid_argument for regression on CIFAR.
template <class T = float>
train_test<T> load_train_test(const std::filesystem::path& dir, const load_options& options = {}) {
    const std::string fn = "xnas::data::load_train_test";
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw file_error(fn + ": " +
                         (std::filesystem::exists(dir, ec)
                              ? dir.string() + " is not a directory"
                              : "directory " + dir.string() + " not found"));
    const data_format format =
        options.format == data_format::automatic ? detect_format(dir) : options.format;
    train_test<T> out;
    // x_train, y_train, x_test, y_test: the files messages name.
    std::filesystem::path files[4] = {dir, dir, dir, dir};
    switch (format) {
    case data_format::idx:
        out = detail::load_idx_dir<T>(dir, options, fn, files);
        break;
    case data_format::cifar10:
    case data_format::cifar100:
        if (options.kind == task::regression)
            throw std::invalid_argument(fn + ": " + dir.string() + ": " + to_string(format) +
                                        " holds class labels only; regression needs real-valued "
                                        "targets (the idx, npy or csv formats)");
        out = format == data_format::cifar10 ? load_cifar10<T>(dir)
                                             : load_cifar100<T>(dir, options.cifar100_labels);
        break;
    case data_format::npy:
        out = detail::load_npy_dir<T>(dir, options, fn);
        files[0] = dir / "x_train.npy";
        files[1] = dir / "y_train.npy";
        files[2] = dir / "x_test.npy";
        files[3] = dir / "y_test.npy";
        break;
    default:
        out = detail::load_csv_dir<T>(dir, options, fn);
        files[0] = files[1] = dir / "train.csv";
        files[2] = files[3] = dir / "test.csv";
        break;
    }
    if (out.train.sample_shape() != out.test.sample_shape())
        throw file_error(
            fn + ": the training and test samples differ in shape: " + files[0].string() +
            " holds samples of shape " + nn::to_string(out.train.sample_shape()) + ", " +
            files[2].string() + " of shape " + nn::to_string(out.test.sample_shape()));
    if (options.kind == task::regression) {
        if (out.train.target_size() != out.test.target_size())
            throw file_error(
                fn + ": the training and test targets differ in shape: " + files[1].string() +
                " holds " + std::to_string(out.train.target_size()) + " per sample, " +
                files[3].string() + " " + std::to_string(out.test.target_size()));
    } else {
        // One class count for both sets, so that a label of either is a class of the network.
        std::size_t classes = std::max(out.train.num_classes, out.test.num_classes);
        for (const auto* ds : {&out.train, &out.test})
            for (const auto l : ds->labels)
                classes = std::max(classes, static_cast<std::size_t>(l) + 1);
        out.train.num_classes = out.test.num_classes = classes;
    }
    out.train.validate();
    out.test.validate();
    return out;
}

} // namespace xnas::data
