#include "file_size_limit.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <xnas/core/json.hpp>
#include <xnas/run/journal.hpp>

namespace {

using xnas_test::file_size_limit;

} // namespace

TEST_CASE("a journal append that fails part-way is cut off, so the journal ends on a whole "
          "record",
          "[run][journal]") {
    const auto path = (std::filesystem::temp_directory_path() /
                       ("xnas_test_full_disk_" + std::to_string(::getpid()) + ".jsonl"))
                          .string();
    std::filesystem::remove(path);
    const auto record = [](std::size_t bytes) {
        return xnas::json::value::object({{"event", "result"}, {"pad", std::string(bytes, 'x')}});
    };
    {
        xnas::journal_writer w(path, false);
        w.append(record(100));
        const auto whole = std::filesystem::file_size(path);
        {
            file_size_limit limit(4096);
            CHECK_THROWS_WITH(w.append(record(10000)), Catch::Matchers::Contains(path));
        }
        CHECK(std::filesystem::file_size(path) == whole);
        // Once there is space again the journal goes on.
        w.append(record(10));
    }
    const auto j = xnas::read_journal(path);
    CHECK(j.warnings.empty());
    CHECK(j.records.size() == 2);
    std::filesystem::remove(path);
}
