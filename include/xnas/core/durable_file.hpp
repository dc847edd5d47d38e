#pragma once
// Files that survive a crash whole: written under a temporary name beside the target, flushed to
// the disk, renamed over the target, and the rename flushed too (fsync of the directory). After a
// kill -9 or a power cut a reader finds the old file or the new one, never part of one. A write
// that fails (a full disk) removes its temporary file and names the target.

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <vector>
#include <xnas/core/error.hpp>

namespace xnas {

/// The temporary name write_file_atomically writes `path` under before the rename: in the same
/// directory (a rename across file systems is not atomic), marked with the process id so two
/// processes writing the same file do not share it.
inline std::filesystem::path temporary_path(const std::filesystem::path& path) {
    return path.string() + ".tmp" + std::to_string(::getpid());
}

/// Whether `name` is one of temporary_path's names: "<target>.tmp<digits>".
inline bool is_temporary_name(std::string_view name) {
    const std::size_t at = name.rfind(".tmp");
    if (at == std::string_view::npos || at == 0 || at + 4 == name.size())
        return false;
    return name.find_first_not_of("0123456789", at + 4) == std::string_view::npos;
}

/// Makes the entries of `dir` (a new file, a rename) durable. Best effort: a file system that
/// cannot open or sync a directory has nothing more to offer.
inline void sync_directory(const std::filesystem::path& dir) {
    const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    ::fsync(fd);
    ::close(fd);
}

/// Writes `bytes` to `path` atomically and durably (see the top of this header). Throws
/// xnas::file_error "cannot write <path>: <reason>" when it cannot, after removing the
/// temporary file, so a full disk keeps no half-written file and gets its space back.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
    const std::filesystem::path tmp = temporary_path(path);
    auto fail = [&](int err) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        throw file_error("cannot write " + path.string() + ": " + std::strerror(err));
    };
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw file_error("cannot write " + path.string() + ": " + std::strerror(errno));
    const char* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : EIO;
            ::close(fd);
            fail(err);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    // Without the fsync a crash of the machine after the rename can leave an empty target.
    if (::fsync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        fail(err);
    }
    if (::close(fd) != 0)
        fail(errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        fail(errno);
    sync_directory(path.parent_path());
}

/// Removes the temporary files a killed writer left in `dir` for the files named `targets`
/// ("<target>.tmp<pid>") and returns their names. Only those: a directory may hold other
/// programs' files whose names look the same. Not for a directory another process is writing
/// the same files to: its temporary files would go too.
inline std::vector<std::string> remove_temporaries(const std::filesystem::path& dir,
                                                   const std::vector<std::string>& targets) {
    std::vector<std::string> removed;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (!is_temporary_name(name))
            continue;
        const std::string target = name.substr(0, name.rfind(".tmp"));
        bool ours = false;
        for (const auto& t : targets)
            ours = ours || t == target;
        std::error_code ignored;
        if (ours && entry.is_regular_file(ignored) &&
            std::filesystem::remove(entry.path(), ignored))
            removed.push_back(name);
    }
    if (!removed.empty())
        sync_directory(dir);
    return removed;
}

} // namespace xnas
