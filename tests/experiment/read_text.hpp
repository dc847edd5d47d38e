#pragma once
// The whole of a file the tests' runs wrote, as text ("" when it is missing).

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace xnas_test {

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace xnas_test
