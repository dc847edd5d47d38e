#pragma once
// The fuzz targets: one function per reader of outside input, each fed arbitrary bytes. A target
// accepts the errors its reader documents (and checks that their messages name the input) and
// lets anything else escape: a crash, a sanitizer report, an exception of another type, or a
// broken round trip, which it reports with abort(). libfuzzer_main.cpp runs one target under
// libFuzzer; replay.cpp runs the corpus files through the same functions in the test suite.

#include "../../examples/xnas_search_cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/json.hpp>
#include <xnas/data/csv.hpp>
#include <xnas/data/idx.hpp>
#include <xnas/data/mnist.hpp>
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
    } catch (const xnas::file_error& e) {
        const std::string what = e.what();
        require(what.find(labels.string()) != std::string::npos ||
                    what.find(images.string()) != std::string::npos,
                "idx: the error \"" + what + "\" names neither file");
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
    {"json", json},     {"journal", journal}, {"idx", idx},         {"csv", csv},
    {"config", config}, {"space", space},     {"nn_load", nn_load},
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
