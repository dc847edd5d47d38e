#pragma once
// Files of a results folder written atomically: the text goes to a temporary file beside the
// target, which is then renamed over it, so a reader (or a run killed mid-write) sees the old
// file or the new one, never half of one.

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <unistd.h>
#include <xnas/core/error.hpp>

namespace xnas::experiment {

/// The temporary name write_atomically writes `path` under before the rename: in the same
/// directory (a rename across file systems is not atomic), marked with the process id so two
/// processes writing the same file do not share it.
inline std::filesystem::path temporary_path(const std::filesystem::path& path) {
    return path.string() + ".tmp" + std::to_string(::getpid());
}

/// Writes `text` to `path` atomically. Throws xnas::file_error naming the path when it cannot
/// (the temporary file is removed).
inline void write_atomically(const std::filesystem::path& path, const std::string& text) {
    const std::filesystem::path tmp = temporary_path(path);
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out) {
            const std::string why = std::strerror(errno);
            std::error_code ec;
            std::filesystem::remove(tmp, ec);
            throw file_error("cannot write " + path.string() + ": " + why);
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        throw file_error("cannot write " + path.string() + ": " + ec.message());
    }
}

} // namespace xnas::experiment
