#include "file_size_limit.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>
#include <xnas/core/durable_file.hpp>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

fs::path durable_dir(const std::string& name) {
    const fs::path dir =
        fs::temp_directory_path() / ("xnas_durable_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

std::string durable_read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

using xnas_test::file_size_limit;

} // namespace

TEST_CASE("write_file_atomically replaces a file whole and leaves no temporary file",
          "[core][durable]") {
    const fs::path dir = durable_dir("replace");
    xnas::write_file_atomically(dir / "a.txt", "first");
    xnas::write_file_atomically(dir / "a.txt", "second");
    CHECK(durable_read(dir / "a.txt") == "second");
    CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
    CHECK_THROWS_WITH(xnas::write_file_atomically(dir / "missing" / "b.txt", "x"),
                      Contains("cannot write " + (dir / "missing" / "b.txt").string()));
    fs::remove_all(dir);
}

TEST_CASE("write_file_atomically on a full disk names the file, keeps the old one and removes "
          "its temporary file",
          "[core][durable]") {
    const fs::path dir = durable_dir("full");
    xnas::write_file_atomically(dir / "a.txt", "old");
    {
        file_size_limit limit(4096);
        CHECK_THROWS_WITH(xnas::write_file_atomically(dir / "a.txt", std::string(10000, 'x')),
                          Contains("cannot write " + (dir / "a.txt").string()));
    }
    CHECK(durable_read(dir / "a.txt") == "old");
    CHECK(!fs::exists(xnas::temporary_path(dir / "a.txt")));
    fs::remove_all(dir);
}

TEST_CASE("remove_temporaries removes what a killed writer left and nothing else",
          "[core][durable]") {
    CHECK(xnas::is_temporary_name("best.json.tmp1234"));
    CHECK(xnas::is_temporary_name(xnas::temporary_path("report.html").string()));
    CHECK(!xnas::is_temporary_name("best.json"));
    CHECK(!xnas::is_temporary_name("best.json.tmp"));
    CHECK(!xnas::is_temporary_name("notes.tmp12a"));
    CHECK(!xnas::is_temporary_name(".tmp12"));
    const fs::path dir = durable_dir("leftovers");
    for (const char* name :
         {"best.json", "best.json.tmp4242", "report.html.tmp17", "notes.tmp", "notes.txt.tmp9"})
        std::ofstream(dir / name) << "x";
    const std::vector<std::string> targets{"best.json", "report.html"};
    const auto removed = xnas::remove_temporaries(dir, targets);
    CHECK(removed.size() == 2);
    CHECK(fs::exists(dir / "best.json"));
    CHECK(fs::exists(dir / "notes.tmp"));
    CHECK(fs::exists(dir / "notes.txt.tmp9")); // another program's, not a target's
    CHECK(!fs::exists(dir / "best.json.tmp4242"));
    CHECK(!fs::exists(dir / "report.html.tmp17"));
    CHECK(xnas::remove_temporaries(dir / "missing", targets).empty());
    fs::remove_all(dir);
}
