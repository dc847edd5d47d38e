#include "data_test_files.hpp"

#include <catch2/catch.hpp>
#include <xnas/core/error.hpp>
#include <xnas/data/csv.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

TEST_CASE("parse_csv handles quotes, commas and line breaks in quotes, CRLF", "[data][csv]") {
    const std::string text = "\xEF\xBB\xBF"
                             "name,\"width, px\",note\r\n"
                             "a,1.5,plain\r\n"
                             "\"b, c\",2,\"say \"\"hi\"\"\"\r\n"
                             "\r\n"
                             "d,-3e2,\"two\nlines\"\n"
                             "e, 4 ,\n";
    const data::csv_table t = data::parse_csv(text, "mem.csv");
    CHECK(t.header() == std::vector<std::string>{"name", "width, px", "note"});
    REQUIRE(t.rows() == 4);
    CHECK(t.columns() == 3);
    CHECK(t.cell(1, 0) == "b, c");
    CHECK(t.cell(1, 2) == "say \"hi\"");
    CHECK(t.cell(2, 2) == "two\nlines");
    CHECK(t.cell(3, 2).empty());
    CHECK(t.number(0, 1) == 1.5);
    CHECK(t.number(2, 1) == -300.0);
    CHECK(t.number(3, "width, px") == 4.0); // surrounding blanks ignored
    CHECK(t.column_index("note") == 2);
    CHECK(t.line(2) == 5);
    CHECK(t.line(3) == 7);                      // the quoted line break counts
    CHECK(data::parse_csv("x\n1").rows() == 1); // no final newline
    CHECK(data::parse_csv("x,y\n1,\n").cell(0, 1).empty());
}

TEST_CASE("read_csv round-trips a generated file", "[data][csv]") {
    test::temp_dir dir;
    std::string text = "id,value,label\n";
    for (int i = 0; i < 50; ++i)
        text += std::to_string(i) + "," + std::to_string(i * 0.25) + ",\"c" +
                std::to_string(i % 3) + "\"\n";
    test::write_text(dir / "t.csv", text);
    const data::csv_table t = data::read_csv(dir / "t.csv");
    CHECK(t.source() == (dir / "t.csv").string());
    REQUIRE(t.rows() == 50);
    for (std::size_t r = 0; r < 50; ++r) {
        REQUIRE(t.number(r, 0) == static_cast<double>(r));
        REQUIRE(t.number(r, "value") == Approx(r * 0.25));
        REQUIRE(t.cell(r, 2) == std::string(1, 'c') + std::to_string(r % 3));
    }
}

TEST_CASE("CSV errors name the file, line, column and problem", "[data][csv]") {
    test::temp_dir dir;
    const auto p = dir / "bad.csv";
    const std::string name = p.string();

    SECTION("missing file") {
        CHECK_THROWS_AS(data::read_csv(dir / "none.csv"), file_error);
        CHECK_THROWS_WITH(data::read_csv(dir / "none.csv"),
                          Contains((dir / "none.csv").string()) && Contains("file not found"));
    }
    SECTION("non-numeric cell") {
        test::write_text(p, "a,b,c\n1,2,3\n\"4\nstill 4\",x7,9\n");
        const auto t = data::read_csv(p);
        CHECK_THROWS_AS(t.number(1, 1), parse_error);
        CHECK_THROWS_WITH(t.number(1, 1), Contains(name) && Contains("line 3") &&
                                              Contains("column 2") && Contains("\"b\"") &&
                                              Contains("\"x7\" is not a number"));
        CHECK_THROWS_WITH(t.number(1, 0), Contains("line 3, column 1"));
    }
    SECTION("missing column") {
        test::write_text(p, "a,b\n1,2\n");
        const auto t = data::read_csv(p);
        CHECK_THROWS_AS(t.column_index("label"), parse_error);
        CHECK_THROWS_WITH(t.column_index("label"), Contains(name) &&
                                                       Contains("no column \"label\"") &&
                                                       Contains("\"a\", \"b\""));
        CHECK_THROWS_WITH(data::load_csv(p), Contains(name) && Contains("no column \"label\""));
    }
    SECTION("wrong field count") {
        test::write_text(p, "a,b\n1,2\n3\n");
        CHECK_THROWS_AS(data::read_csv(p), parse_error);
        CHECK_THROWS_WITH(data::read_csv(p), Contains(name) && Contains("line 3 has 1 fields") &&
                                                 Contains("header has 2"));
    }
    SECTION("unterminated quote") {
        test::write_text(p, "a,b\n1,\"2\n3,4\n");
        CHECK_THROWS_WITH(data::read_csv(p),
                          Contains(name) && Contains("line 2, column 2") && Contains("not closed"));
    }
    SECTION("text after a closing quote") {
        test::write_text(p, "a,b\n1,\"2\"x\n");
        CHECK_THROWS_WITH(data::read_csv(p), Contains(name) && Contains("line 2, column 2") &&
                                                 Contains("after a closing quote"));
    }
    SECTION("empty file") {
        test::write_text(p, "");
        CHECK_THROWS_WITH(data::read_csv(p), Contains(name) && Contains("no header"));
    }
    SECTION("non-numeric feature in load_csv") {
        test::write_text(p, "f1,f2,label\n1,2,0\n3,?,1\n");
        CHECK_THROWS_WITH(data::load_csv(p), Contains(name) && Contains("line 3, column 2") &&
                                                 Contains("\"?\" is not a number"));
    }
}

TEST_CASE("load_csv builds a tabular dataset from features and a label column", "[data][csv]") {
    test::temp_dir dir;
    test::write_text(dir / "num.csv", "x1,label,x2,unused\n0.5,2,1,a\n1.5,0,2,b\n2.5,1,3,c\n");
    data::csv_dataset_options opts{.label_column = "label", .feature_columns = {"x2", "x1"}};
    const auto ds = data::load_csv(dir / "num.csv", opts);
    CHECK(ds.x.shape() == std::vector<std::size_t>{3, 2});
    CHECK(ds.x(1, 0) == 2.0f);
    CHECK(ds.x(1, 1) == 1.5f);
    CHECK(ds.labels == std::vector<std::int32_t>{2, 0, 1});
    CHECK(ds.num_classes == 3);
    CHECK(ds.class_names.empty());

    test::write_text(dir / "names.csv",
                     "f,species\n1,setosa\n2,virginica\n3,setosa\n4,\"versi, color\"\n");
    const auto named = data::load_csv<double>(dir / "names.csv", {.label_column = "species"});
    CHECK(named.x.shape() == std::vector<std::size_t>{4, 1});
    CHECK(named.class_names == std::vector<std::string>{"setosa", "versi, color", "virginica"});
    CHECK(named.labels == std::vector<std::int32_t>{0, 2, 0, 1});
    CHECK(named.num_classes == 3);
    named.validate();
}

TEST_CASE("to_dataset counts the classes of the largest int32 label without overflow",
          "[data][csv]") {
    const auto ds = data::to_dataset<float>(data::parse_csv("x,label\n1,2147483647\n2,0\n"));
    CHECK(ds.labels == std::vector<std::int32_t>{0x7fffffff, 0});
    CHECK(ds.num_classes == std::size_t(1) << 31);
}
