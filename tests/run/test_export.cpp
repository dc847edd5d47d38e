#include "comma_locale.hpp"
#include "run/fixtures.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <xnas/run/export.hpp>

TEST_CASE("study history exports to CSV", "[run][export]") {
    const test::digit_space space{2, 10};
    xnas::study<std::vector<int>> s;
    s.objectives = {{"score", xnas::direction::maximize}};
    xnas::scored<std::vector<int>> a{{0, {1, 2}, 1.0, {}}, {}};
    a.e.objectives["score"] = -3.5;
    a.e.metrics["params"] = 100;
    a.e.cost = 0.25;
    xnas::scored<std::vector<int>> b{{1, {3, 4}, 1.0, {0}},
                                     xnas::evaluation::failure(xnas::status::failed, "bad, \"x\"")};
    xnas::scored<std::vector<int>> c{{2, {5, 6}, 0.5, {0, 1}}, {}};
    c.e.objectives["score"] = 0.1;
    c.e.objectives["extra"] = 2;
    c.e.metrics["params"] = 1e-7;
    s.history = {a, b, c};

    std::ostringstream os;
    xnas::write_csv(os, s, space);
    CHECK(os.str() == "id,architecture,status,message,fidelity,cost,score,extra,params\n"
                      "0,1-2,ok,,1,0.25,-3.5,,100\n"
                      "1,3-4,failed,\"bad, \"\"x\"\"\",1,0,,,\n"
                      "2,5-6,ok,,0.5,0,0.1,2,1e-07\n");

    const auto path = (std::filesystem::temp_directory_path() /
                       ("xnas_test_export_" + std::to_string(::getpid()) + ".csv"))
                          .string();
    xnas::save_csv(path, s, space);
    std::ifstream in(path);
    std::stringstream back;
    back << in.rdbuf();
    CHECK(back.str() == os.str());
    std::filesystem::remove(path);
    CHECK_THROWS_AS(xnas::save_csv("/nonexistent-dir/x.csv", s, space), xnas::file_error);
}

TEST_CASE("the CSV export is the same in a locale that groups digits and writes decimal commas",
          "[run][export][locale]") {
    const test::digit_space space{2, 10};
    xnas::study<std::vector<int>> s;
    s.objectives = {{"score", xnas::direction::maximize}};
    xnas::scored<std::vector<int>> a{{12345, {1, 2}, 0.5, {}}, {}};
    a.e.objectives["score"] = 1234.5;
    a.e.cost = 0.25;
    s.history = {a};
    const std::string expected = "id,architecture,status,message,fidelity,cost,score\n"
                                 "12345,1-2,ok,,0.5,0.25,1234.5\n";
    std::ostringstream in_c;
    xnas::write_csv(in_c, s, space);
    CHECK(in_c.str() == expected);
    xnas_test::comma_locale de;
    std::ostringstream in_de; // takes the global locale: << 12345 gives "12.345"
    xnas::write_csv(in_de, s, space);
    CHECK(in_de.str() == expected);
}
