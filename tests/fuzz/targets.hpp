#pragma once
// The fuzz targets: one function per reader of outside input, each fed arbitrary bytes. A target
// accepts the errors its reader documents (and checks that their messages name the input) and
// lets anything else escape: a crash, a sanitizer report, an exception of another type, or a
// broken round trip, which it reports with abort(). libfuzzer_main.cpp runs one target under
// libFuzzer; replay.cpp runs the corpus files through the same functions in the test suite.

#include "../../examples/xnas_search_cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <unistd.h>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/json.hpp>
#include <xnas/data/cifar.hpp>
#include <xnas/data/csv.hpp>
#include <xnas/data/idx.hpp>
#include <xnas/data/load.hpp>
#include <xnas/data/mnist.hpp>
#include <xnas/data/npy.hpp>
#include <xnas/evaluate/function_evaluator.hpp>
#include <xnas/evaluate/tabular_evaluator.hpp>
#include <xnas/evaluate/training_params.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/experiment/warm_start.hpp>
#include <xnas/nn/serialize.hpp>
#include <xnas/run/journal.hpp>
#include <xnas/run/search.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/space/chain_space.hpp>
#include <xnas/strategy/random_search.hpp>
#include <zlib.h>

namespace xnas_fuzz {

namespace fs = std::filesystem;

/// Stops the run on a broken expectation: libFuzzer saves the input, the replay test fails.
inline void require(bool ok, const std::string& what) {
    if (!ok) {
        std::fprintf(stderr, "xnas fuzz: %s\n", what.c_str());
        std::abort();
    }
}

/// A documented error must say which input it is about.
inline void require_names(const std::exception& e, const std::string& name) {
    const std::string what = e.what();
    require(what.find(name) != std::string::npos,
            "the error \"" + what + "\" does not name \"" + name + "\"");
}

/// A documented error about a pair of files must name one of them.
inline void require_names_either(const std::exception& e, const fs::path& a, const fs::path& b) {
    const std::string what = e.what();
    require(what.find(a.string()) != std::string::npos ||
                what.find(b.string()) != std::string::npos,
            "the error \"" + what + "\" names neither " + a.string() + " nor " + b.string());
}

/// A per-process scratch directory: readers that only take a path read the input from a file.
inline const fs::path& scratch() {
    static const fs::path dir = [] {
        fs::path d = fs::temp_directory_path() / ("xnas-fuzz-" + std::to_string(::getpid()));
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

inline fs::path write_file(const std::string& name, std::string_view bytes) {
    const fs::path p = scratch() / name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    require(static_cast<bool>(out), "cannot write " + p.string());
    return p;
}

/// Writes `bytes` gzip-compressed, so that the IDX reader's gzip path sees the fuzzed content.
inline fs::path write_gzip(const std::string& name, std::string_view bytes) {
    const fs::path p = scratch() / name;
    gzFile gz = gzopen(p.c_str(), "wb1");
    require(gz != nullptr, "cannot write " + p.string());
    if (!bytes.empty())
        require(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) ==
                    static_cast<int>(bytes.size()),
                "cannot compress into " + p.string());
    require(gzclose(gz) == Z_OK, "cannot close " + p.string());
    return p;
}

// ---- xnas::json ---------------------------------------------------------------------------------

/// Any text: parse throws json::syntax_error naming the offset, or the value's dump reads back
/// to the same dump.
inline void json(std::string_view text) {
    xnas::json::value v;
    try {
        v = xnas::json::value::parse(text);
    } catch (const xnas::json::syntax_error& e) {
        require_names(e, "offset");
        return;
    }
    const std::string once = v.dump();
    std::string twice;
    try {
        twice = xnas::json::value::parse(once).dump();
    } catch (const xnas::json::syntax_error& e) {
        require(false, std::string("json: the dump of a parsed value does not parse: ") + e.what());
    }
    require(once == twice, "json: the dump of a parsed value reads back as another value");
    (void)v.dump(2);
}

// ---- the journal: --resume (search's replay) and --warm-start ---------------------------------

/// A journal file, read as --resume reads it (read_journal, then search's replay of a
/// random_search over the image space) and as --warm-start reads it (best_from_journal for the
/// chain and cell spaces). Every error is one of the documented types and names the file.
inline void journal(std::string_view bytes) {
    const std::string path = write_file("journal.jsonl", bytes).string();
    try {
        const auto j = xnas::read_journal(path);
        for (const auto& r : j.records) {
            if (r.data.at("event").get<std::string>() != "result")
                continue;
            try {
                (void)xnas::journal_evaluation(r.data);
            } catch (const std::invalid_argument&) {
                // documented: json::type_error or std::invalid_argument; the caller names the line
            }
        }
    } catch (const xnas::parse_error& e) {
        require_names(e, path);
    }

    // Resume: the replay re-asks every journaled trial, then the search goes on to 4 trials.
    try {
        xnas::search_options opt;
        opt.objectives = {{"val_accuracy", xnas::direction::maximize}};
        opt.max_trials = 4;
        opt.seed = 1;
        opt.journal = path;
        opt.resume = true;
        opt.fsync = false;
        xnas::function_evaluator ev(
            [](const xnas::chain_space::architecture& a) {
                return 1.0 / static_cast<double>(1 + a.layers.size());
            },
            {.objective = "val_accuracy"});
        (void)xnas::search(xnas::chain_space::image(), xnas::random_search<xnas::chain_space>(), ev,
                           opt);
    } catch (const xnas::parse_error& e) {
        require_names(e, path);
    } catch (const xnas::file_error& e) {
        require_names(e, path);
    }

    auto warm = [&](const auto& space, const std::string& name) {
        try {
            (void)xnas::experiment::best_from_journal(space, name, path, 3);
        } catch (const xnas::parse_error& e) {
            require_names(e, path);
        } catch (const xnas::file_error& e) {
            require_names(e, path);
        } catch (const std::invalid_argument& e) {
            require_names(e, path);
        }
    };
    write_file("journal.jsonl", bytes); // the resumed search appended to it
    warm(xnas::chain_space::image(), "chain");
    warm(xnas::cell_space::nb201(), "cell");
}

// ---- IDX, raw and gzip, alone and as an MNIST image/label pair --------------------------------

/// Byte 0 chooses: bit 0 gzip-compresses the file(s), bit 1 reads an image/label pair with
/// load_idx_pair (then byte 1 is num_classes, bytes 2-3 the label file's length, little-endian,
/// then the label file, then the image file); otherwise the rest is one file for read_idx.
inline void idx(std::string_view bytes) {
    if (bytes.empty())
        return;
    const unsigned mode = static_cast<unsigned char>(bytes[0]);
    bytes.remove_prefix(1);
    auto put = [&](const std::string& name, std::string_view content) {
        return (mode & 1) ? write_gzip(name, content) : write_file(name, content);
    };
    if (!(mode & 2)) {
        const fs::path p = put("data.idx", bytes);
        try {
            const xnas::data::idx_array a = xnas::data::read_idx(p);
            require(a.bytes.size() ==
                        a.count() * xnas::data::idx_type_size(static_cast<std::uint8_t>(a.type)),
                    "idx: the data is not as long as the dimensions say");
            (void)a.values<double>();
        } catch (const xnas::file_error& e) {
            require_names(e, p.string());
        }
        return;
    }
    if (bytes.size() < 3)
        return;
    const std::size_t classes = static_cast<unsigned char>(bytes[0]);
    const std::size_t label_bytes = std::min<std::size_t>(
        bytes.size() - 3, static_cast<unsigned char>(bytes[1]) |
                              (std::size_t(static_cast<unsigned char>(bytes[2])) << 8));
    const fs::path labels = put("labels.idx", bytes.substr(3, label_bytes));
    const fs::path images = put("images.idx", bytes.substr(3 + label_bytes));
    try {
        const auto ds = xnas::data::load_idx_pair<float>(images, labels, classes);
        require(ds.labels.size() == ds.x.shape()[0], "idx: a label per image");
        std::size_t largest = 0;
        for (const auto l : ds.labels) {
            require(l >= 0 && static_cast<std::size_t>(l) < ds.num_classes,
                    "idx: a label outside [0, num_classes)");
            largest = std::max(largest, static_cast<std::size_t>(l));
        }
        require(classes || ds.labels.empty() || ds.num_classes == largest + 1,
                "idx: num_classes is not the largest label + 1");
        ds.validate();
    } catch (const xnas::file_error& e) {
        require_names_either(e, labels, images);
    }
    // The same pair as regression targets.
    try {
        const auto ds = xnas::data::load_idx_regression<float>(images, labels);
        require(ds.regression() && ds.targets.shape()[0] == ds.x.shape()[0],
                "idx: a row of targets per sample");
        ds.validate();
    } catch (const xnas::file_error& e) {
        require_names_either(e, labels, images);
    }
}

// ---- NumPy .npy, alone and as load_train_test's folder -------------------------------------

/// Equal values, NaN equal to NaN.
inline bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))))
            return false;
    return true;
}

/// An .npy file: read_npy throws xnas::file_error naming it, or the array holds as many bytes
/// as its shape says and write_npy writes it back (in its own type) to the same shape, type and
/// values. Then the file serves as all four arrays of an npy folder for load_train_test, for
/// classification and regression: it names one of the files, or the sets validate.
inline void npy(std::string_view bytes) {
    const fs::path p = write_file("data.npy", bytes);
    xnas::data::npy_array a;
    try {
        a = xnas::data::read_npy(p);
    } catch (const xnas::file_error& e) {
        require_names(e, p.string());
        return;
    }
    require(a.bytes.size() == a.count() * a.item_size(),
            "npy: the data is not as long as the shape says");
    const std::vector<double> v = a.values<double>();
    const fs::path again = scratch() / "again.npy";
    auto write_as = [&](auto zero) {
        using T = decltype(zero);
        if constexpr (std::is_same_v<T, bool>) { // vector<bool> has no data()
            const auto bytes01 = a.values<std::uint8_t>();
            const std::unique_ptr<bool[]> flat(new bool[bytes01.size() + 1]);
            for (std::size_t i = 0; i < bytes01.size(); ++i)
                flat[i] = bytes01[i] != 0;
            xnas::data::write_npy(again, a.shape, flat.get());
        } else {
            xnas::data::write_npy(again, a.shape, a.values<T>().data());
        }
    };
    switch (a.type) {
    case xnas::data::npy_type::b1:
        write_as(false);
        break;
    case xnas::data::npy_type::u1:
        write_as(std::uint8_t{});
        break;
    case xnas::data::npy_type::i1:
        write_as(std::int8_t{});
        break;
    case xnas::data::npy_type::u2:
        write_as(std::uint16_t{});
        break;
    case xnas::data::npy_type::i2:
        write_as(std::int16_t{});
        break;
    case xnas::data::npy_type::u4:
        write_as(std::uint32_t{});
        break;
    case xnas::data::npy_type::i4:
        write_as(std::int32_t{});
        break;
    case xnas::data::npy_type::u8:
        write_as(std::uint64_t{});
        break;
    case xnas::data::npy_type::i8:
        write_as(std::int64_t{});
        break;
    case xnas::data::npy_type::f4:
        write_as(float{});
        break;
    case xnas::data::npy_type::f8:
        write_as(double{});
        break;
    }
    const auto b = xnas::data::read_npy(again); // an error here is a finding
    require(b.type == a.type && b.shape == a.shape && same_values(b.values<double>(), v),
            "npy: write_npy's file reads back to another array");

    const fs::path dir = scratch() / "npy-folder";
    fs::create_directories(dir);
    const char* names[] = {"x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy"};
    for (const char* name : names)
        fs::copy_file(p, dir / name, fs::copy_options::overwrite_existing);
    for (const auto kind : {xnas::data::task::classification, xnas::data::task::regression}) {
        xnas::data::load_options o;
        o.kind = kind;
        try {
            const auto tt = xnas::data::load_train_test<float>(dir, o);
            require(tt.train.size() == tt.test.size() &&
                        tt.train.num_classes == tt.test.num_classes,
                    "npy: the same files give two different sets");
        } catch (const xnas::file_error& e) {
            require_names(e, dir.string());
        }
    }
}

// ---- CIFAR batches and folders ---------------------------------------------------------------

/// Byte 0 chooses: bit 0 CIFAR-100 (else CIFAR-10), bit 1 coarse labels, bit 2 gzip; with bit
/// 3 the rest is a folder (bytes 1-2 the length of the class names file, little-endian, that
/// file, then a batch serving as every batch file of the folder), otherwise a batch file for
/// load_cifar_batch. A batch that loads must have the records the file holds, its labels in
/// range and its pixels scaled from its bytes; every error is xnas::file_error naming the file.
inline void cifar(std::string_view bytes) {
    if (bytes.empty())
        return;
    using xnas::data::cifar_labels;
    using xnas::data::cifar_version;
    const unsigned mode = static_cast<unsigned char>(bytes[0]);
    bytes.remove_prefix(1);
    const cifar_version v = (mode & 1) ? cifar_version::cifar100 : cifar_version::cifar10;
    const cifar_labels which = (mode & 2) ? cifar_labels::coarse : cifar_labels::fine;
    auto put = [&](const fs::path& name, std::string_view content) {
        return (mode & 4) ? write_gzip(name.string(), content) : write_file(name.string(), content);
    };
    if (!(mode & 8)) {
        const fs::path p = put("batch.bin", bytes);
        try {
            const auto ds = xnas::data::load_cifar_batch<float>(p, v, which);
            const std::size_t rec = xnas::data::cifar_record_size(v);
            require(ds.size() * rec == bytes.size(), "cifar: not one sample per record");
            require(ds.x.shape() == std::vector<std::size_t>{ds.size(), 3, 32, 32},
                    "cifar: samples are not (N, 3, 32, 32)");
            ds.validate();
            for (std::size_t i = 0; i < ds.size(); ++i) {
                const auto* r = reinterpret_cast<const unsigned char*>(bytes.data()) + i * rec;
                const std::size_t label_at =
                    v == cifar_version::cifar100 && which == cifar_labels::fine;
                require(ds.labels[i] == r[label_at], "cifar: a label is not its record's byte");
                for (std::size_t k = 0; k < xnas::data::cifar_image_bytes; ++k)
                    require(ds.sample(i)[k] == static_cast<float>(r[rec - 3072 + k]) / 255.0f,
                            "cifar: a pixel is not its byte / 255");
            }
        } catch (const xnas::file_error& e) {
            require_names(e, p.string());
        }
        return;
    }
    if (bytes.size() < 2)
        return;
    const std::size_t names_len = std::min<std::size_t>(
        bytes.size() - 2, static_cast<unsigned char>(bytes[0]) |
                              (std::size_t(static_cast<unsigned char>(bytes[1])) << 8));
    const fs::path dir = scratch() / "cifar-folder";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string_view names = bytes.substr(2, names_len);
    const std::string_view batch = bytes.substr(2 + names_len);
    xnas::data::load_options o;
    o.cifar100_labels = which;
    if (v == cifar_version::cifar10) {
        o.format = xnas::data::data_format::cifar10;
        write_file("cifar-folder/batches.meta.txt", names);
        put(fs::path("cifar-folder") / "data_batch_1.bin", batch);
        put(fs::path("cifar-folder") / "data_batch_2.bin", batch);
        put(fs::path("cifar-folder") / "test_batch.bin", batch);
    } else {
        o.format = xnas::data::data_format::cifar100;
        write_file(which == cifar_labels::fine ? "cifar-folder/fine_label_names.txt"
                                               : "cifar-folder/coarse_label_names.txt",
                   names);
        put(fs::path("cifar-folder") / "train.bin", batch);
        put(fs::path("cifar-folder") / "test.bin", batch);
    }
    require(xnas::data::detect_format(dir) == o.format,
            "cifar: the folder's format is not detected");
    try {
        const auto tt = xnas::data::load_train_test<float>(dir, o);
        require(tt.train.size() == (v == cifar_version::cifar10 ? 2 : 1) * tt.test.size(),
                "cifar: the training set is not its batches");
        require(tt.train.class_names.empty() ||
                    tt.train.class_names.size() == xnas::data::cifar_classes(v, which),
                "cifar: the class names are not one per class");
    } catch (const xnas::file_error& e) {
        require_names(e, dir.string());
    }
}

// ---- CSV: parse_csv, to_dataset, and the tabular evaluator's table ---------------------------

/// A CSV table as data::load_csv reads it (parse_csv, to_dataset) and as xnas-tabular reads it
/// (the tabular evaluator's table, its numeric cells). Errors are xnas::parse_error naming it.
inline void csv(std::string_view text) {
    const std::string source = "fuzz.csv";
    xnas::data::csv_table table;
    try {
        table = xnas::data::parse_csv(text, source);
    } catch (const xnas::parse_error& e) {
        require_names(e, source);
        return;
    }
    for (std::size_t r = 0; r < table.rows(); ++r)
        for (std::size_t c = 0; c < table.columns(); ++c)
            try {
                (void)table.number(r, c);
            } catch (const xnas::parse_error& e) {
                require_names(e, source);
            }
    try {
        const auto ds = xnas::data::to_dataset<float>(table);
        std::size_t largest = 0;
        for (const auto l : ds.labels) {
            require(l >= 0 && static_cast<std::size_t>(l) < ds.num_classes,
                    "csv: a label outside [0, num_classes)");
            largest = std::max(largest, static_cast<std::size_t>(l));
        }
        require(ds.labels.empty() || ds.num_classes == largest + 1,
                "csv: num_classes is not the largest label + 1");
    } catch (const xnas::parse_error& e) {
        require_names(e, source);
    }
    xnas::tabular_options opt; // xnas-tabular's defaults for the NAS-Bench-201 table
    opt.objectives = {"val_acc"};
    opt.cost_column = "train_time";
    opt.fidelities = {{0.5, "_12"}, {1.0, "_200"}};
    try {
        xnas::tabular_evaluator<> ev(table, {}, opt);
        for (std::size_t r = 0; r < table.rows(); ++r) {
            xnas::trial<std::string> t;
            t.architecture = table.cell(r, table.column_index(opt.arch_column));
            t.fidelity = r % 2 ? 0.5 : 1.0;
            (void)ev.evaluate(t);
        }
    } catch (const xnas::parse_error& e) {
        require_names(e, source);
    }
}

// ---- xnas-search --config -------------------------------------------------------------------

/// Parses `--config <file>` with xnas-search's options; returns false on a CLI11 parse error.
inline bool parse_config(const fs::path& file, xnas::experiment::options& c, std::string& toml,
                         std::string& error) {
    CLI::App app{"xnas-search"};
    (void)xnas_search::add_options(app, c);
    const std::string name = file.string();
    const char* argv[] = {"xnas-search", "--config", name.c_str()};
    try {
        app.parse(3, argv);
    } catch (const CLI::ParseError& e) {
        error = e.what();
        return false;
    }
    toml = app.config_to_str();
    return true;
}

/// A config file as xnas-search --config reads it: CLI11's TOML reader into the tool's options,
/// then the library's checks. Options that pass are written as command.toml is, and must read
/// back to the same options (--resume reads them so).
inline void config(std::string_view text) {
    const fs::path file = write_file("config.toml", text);
    xnas::experiment::options c;
    std::string toml, error;
    if (!parse_config(file, c, toml, error))
        return;
    try {
        xnas::experiment::validate(c);
    } catch (const std::invalid_argument&) {
        return; // the tool stops here, before it writes command.toml
    }
    const fs::path again = write_file("command.toml", toml);
    xnas::experiment::options c2;
    std::string toml2;
    require(parse_config(again, c2, toml2, error),
            "config: the written command.toml does not read back: " + error + "\n" + toml);
    require(toml == toml2,
            "config: command.toml reads back as other options:\n" + toml + "\n---\n" + toml2);
}

// ---- architecture strings of the shipped spaces ------------------------------------------------

/// Byte 0 chooses the space (chain image, rnn = chain sequence, the NAS-Bench-201 cells, and
/// xnas-search's chain x training parameters); the rest is an architecture string. parse throws
/// xnas::parse_error, or the architecture prints back to a string that parses to it.
inline void space(std::string_view bytes) {
    if (bytes.empty())
        return;
    const unsigned which = static_cast<unsigned char>(bytes[0]) % 4;
    const std::string text(bytes.substr(1));
    auto check = [&](const auto& s) {
        try {
            const auto a = s.parse(text);
            const std::string printed = s.to_string(a);
            require(s.parse(printed) == a, "space: \"" + printed + "\" (printed from \"" + text +
                                               "\") parses to another architecture");
            require(s.to_string(s.parse(printed)) == printed,
                    "space: \"" + printed + "\" prints differently once read");
            if constexpr (requires { s.contains(a); })
                require(s.contains(a), "space: \"" + text + "\" parses outside the space");
        } catch (const xnas::parse_error&) {
        }
    };
    switch (which) {
    case 0:
        check(xnas::chain_space::image());
        break;
    case 1:
        check(xnas::chain_space::sequence());
        break;
    case 2:
        check(xnas::cell_space::nb201());
        break;
    default:
        check(xnas::image_search_space());
        break;
    }
}

// ---- nn::load -------------------------------------------------------------------------------

/// A saved network: load throws xnas::file_error naming it, or the network saves and loads
/// back.
inline void nn_load(std::string_view bytes) {
    const std::string source = "fuzz.xnas";
    std::istringstream in{std::string(bytes)};
    try {
        const auto net = xnas::nn::load<float>(in, source);
        std::stringstream again;
        xnas::nn::save(net, again, "memory");
        (void)xnas::nn::load<float>(again, "memory");
    } catch (const xnas::file_error& e) {
        require_names(e, source);
    }
}

// ---- registry -------------------------------------------------------------------------------

struct target {
    const char* name;
    void (*run)(std::string_view);
};

inline constexpr target targets[] = {
    {"json", json}, {"journal", journal}, {"idx", idx},     {"npy", npy},         {"cifar", cifar},
    {"csv", csv},   {"config", config},   {"space", space}, {"nn_load", nn_load},
};

inline const target* find_target(std::string_view name) {
    for (const auto& t : targets)
        if (name == t.name)
            return &t;
    return nullptr;
}

inline std::string target_names() {
    std::string s;
    for (const auto& t : targets)
        s += (s.empty() ? "" : ", ") + std::string(t.name);
    return s;
}

} // namespace xnas_fuzz
