// Replays fuzz corpora through the fuzz targets without libFuzzer, as a regression test:
//   xnas_fuzz_replay <target> <file or directory>...
// runs every file (a directory: every file in it, in name order) through the target, and fails
// on what the fuzzer would report: a crash, a broken expectation (abort), or an exception the
// reader does not document.

#include "targets.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    const xnas_fuzz::target* t = argc >= 3 ? xnas_fuzz::find_target(argv[1]) : nullptr;
    if (!t) {
        std::fprintf(stderr, "usage: %s <target> <file or directory>...\ntargets: %s\n", argv[0],
                     xnas_fuzz::target_names().c_str());
        return 2;
    }
    std::vector<fs::path> files;
    for (int i = 2; i < argc; ++i) {
        if (fs::is_directory(argv[i])) {
            for (const auto& e : fs::directory_iterator(argv[i]))
                if (e.is_regular_file())
                    files.push_back(e.path());
        } else {
            files.emplace_back(argv[i]);
        }
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
        std::fprintf(stderr, "%s: no input files\n", t->name);
        return 1;
    }
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "%s: cannot read %s\n", t->name, f.c_str());
            return 1;
        }
        const std::string bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
        try {
            t->run(bytes);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s: undocumented exception: %s\n", t->name, f.c_str(),
                         e.what());
            return 1;
        } catch (...) {
            std::fprintf(stderr, "%s: %s: exception of unknown type\n", t->name, f.c_str());
            return 1;
        }
    }
    std::printf("%s: %zu inputs replayed\n", t->name, files.size());
    std::error_code ec;
    fs::remove_all(xnas_fuzz::scratch(), ec);
    return 0;
}
