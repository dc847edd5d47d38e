#pragma once
// A file-size limit stands in for a full disk in the tests: a write past it fails (EFBIG)
// part-way, as one past the free space fails with ENOSPC, and it needs no privilege to set up.

#include <csignal>
#include <sys/resource.h>

namespace xnas_test {

/// Limits the size of files this process writes to `bytes` while it lives.
struct file_size_limit {
    rlimit old{};
    void (*old_handler)(int) = nullptr;
    explicit file_size_limit(rlim_t bytes) {
        ::getrlimit(RLIMIT_FSIZE, &old);
        old_handler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit lim = old;
        lim.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &lim);
    }
    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;
    ~file_size_limit() {
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, old_handler);
    }
};

} // namespace xnas_test
