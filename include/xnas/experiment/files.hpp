#pragma once
// Files of a results folder written atomically and durably (<xnas/core/durable_file.hpp>): a
// reader, or a run killed mid-write, sees the old file or the new one, never half of one.

#include <filesystem>
#include <string>
#include <vector>
#include <xnas/core/durable_file.hpp>

namespace xnas::experiment {

using xnas::temporary_path;

/// The files a main job writes to its results folder atomically (the journal is appended).
inline const std::vector<std::string> results_folder_files{
    "options.json", "command.toml", "split.json",      "trials.csv",      "pareto.csv",
    "best.json",    "report.html",  "best_model.xnas", "best_model.onnx", "supernet.ckpt"};

/// Writes `text` to `path` atomically. Throws xnas::file_error naming the path when it cannot
/// (the temporary file is removed).
inline void write_atomically(const std::filesystem::path& path, const std::string& text) {
    write_file_atomically(path, text);
}

} // namespace xnas::experiment
