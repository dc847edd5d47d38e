// libFuzzer entry point of every target in targets.hpp, one binary for all: the environment
// variable XNAS_FUZZ_TARGET names the target to run (tests/fuzz/run_fuzzers.sh sets it). One
// binary keeps the sanitizer build to one compile of the library.

#include "targets.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace {
const xnas_fuzz::target* chosen = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* name = std::getenv("XNAS_FUZZ_TARGET");
    chosen = name ? xnas_fuzz::find_target(name) : nullptr;
    if (!chosen) {
        std::fprintf(stderr, "set XNAS_FUZZ_TARGET to one of: %s\n",
                     xnas_fuzz::target_names().c_str());
        std::exit(2);
    }
    // Fork mode starts a process per job, each with its own scratch directory. Created before
    // the handler is registered, so that it is destroyed after the handler ran.
    (void)xnas_fuzz::scratch();
    std::atexit([] {
        std::error_code ec;
        std::filesystem::remove_all(xnas_fuzz::scratch(), ec);
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    chosen->run(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
