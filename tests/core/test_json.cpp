#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>
#include <xnas/core/json.hpp>

using Catch::Matchers::Contains;
using xnas::json::value;

TEST_CASE("json: objects keep insertion order and round-trip through text", "[core][json]") {
    value v = value::object({{"event", "ask"}, {"id", 3}, {"fidelity", 0.5}});
    v["parents"] = std::vector<std::uint64_t>{1, 2};
    v["ok"] = true;
    v["none"] = nullptr;
    const std::string text = v.dump();
    CHECK(text == R"({"event":"ask","id":3,"fidelity":0.5,"parents":[1,2],"ok":true,"none":null})");
    const value back = value::parse(text);
    CHECK(back.dump() == text);
    CHECK(back.at("event").get<std::string>() == "ask");
    CHECK(back.at("id").get<std::uint64_t>() == 3);
    CHECK(back.at("parents").get<std::vector<std::uint64_t>>() == std::vector<std::uint64_t>{1, 2});
    CHECK(back.keys() ==
          std::vector<std::string>{"event", "id", "fidelity", "parents", "ok", "none"});
    // Indented text reads back to the same value.
    CHECK(value::parse(v.dump(2)).dump() == text);
    CHECK_THAT(v.dump(2), Contains("\n  \"event\": \"ask\""));
}

TEST_CASE("json: integers are exact over 64 bits, reals round-trip", "[core][json]") {
    const auto big = std::numeric_limits<std::uint64_t>::max();
    const auto low = std::numeric_limits<std::int64_t>::min();
    CHECK(value::parse(value(big).dump()).get<std::uint64_t>() == big);
    CHECK(value::parse(value(low).dump()).get<std::int64_t>() == low);
    for (double d : {0.1, 1.0 / 3, 1e-300, 6.02214076e23, -2.5, 1.0, 0.0}) {
        const value back = value::parse(value(d).dump());
        CHECK(back.type() == value::kind::real); // 1.0 stays a real, not the integer 1
        CHECK(back.get<double>() == d);
    }
    CHECK(value(0.1).dump() == "0.1"); // the shortest text, not 0.10000000000000001
    // Non-finite numbers have no JSON form: written as null, read back as NaN.
    CHECK(value(std::nan("")).dump() == "null");
    CHECK(std::isnan(value::parse("null").get<double>()));
    // An integer beyond 64 bits reads as the nearest double.
    CHECK(value::parse("123456789012345678901234").get<double>() == Approx(1.2345678901234568e23));
}

TEST_CASE("json: strings escape, decode \\u escapes and replace invalid UTF-8", "[core][json]") {
    const std::string s = "quote \" backslash \\ tab \t nl \n bell \x07 \xC3\xA9";
    const std::string text = value(s).dump();
    CHECK(text == "\"quote \\\" backslash \\\\ tab \\t nl \\n bell \\u0007 \xC3\xA9\"");
    CHECK(value::parse(text).get<std::string>() == s);
    // \u escapes, a surrogate pair among them (U+1F600), become UTF-8.
    CHECK(value::parse(R"("\u00e9\ud83d\ude00\/")").get<std::string>() ==
          "\xC3\xA9\xF0\x9F\x98\x80/");
    // Invalid bytes (a lone 0xFF, a truncated sequence, an overlong '/') become U+FFFD, so the
    // output is always valid JSON.
    CHECK(value("a\xFF"
                "b\xE2\x82"
                "c\xC0\xAF")
              .dump() == "\"a\xEF\xBF\xBD"
                         "b\xEF\xBF\xBD\xEF\xBF\xBD"
                         "c\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

namespace {

/// The syntax error parse gives for `text`, or "no error".
std::string error_of(const std::string& text) {
    try {
        value::parse(text);
    } catch (const xnas::json::syntax_error& e) {
        return e.what();
    }
    return "no error";
}

} // namespace

TEST_CASE("json: malformed text names the offset and what was expected", "[core][json]") {
    CHECK_THAT(error_of(R"({"a":1,"b")"), Contains("offset 10") && Contains("':'"));
    CHECK_THAT(error_of(R"({"a":1} x)"), Contains("offset 8") && Contains("end of text"));
    CHECK_THAT(error_of(R"([1,2)"), Contains("offset 4") && Contains("',' or ']'"));
    CHECK_THAT(error_of(R"("abc)"), Contains("closing the string"));
    CHECK_THAT(error_of("01"), Contains("offset 1"));
    CHECK_THAT(error_of("1."), Contains("a digit after '.'"));
    CHECK_THAT(error_of("tru"), Contains("'true'"));
    CHECK_THAT(error_of(R"("\ud83d")"), Contains("surrogate"));
    CHECK_THAT(error_of("\"a\nb\""), Contains("control character"));
    CHECK_THAT(error_of(std::string(600, '[')), Contains("nesting"));
    CHECK_THAT(error_of(""), Contains("offset 0") && Contains("a value"));
    CHECK(error_of(" [1, {\"x\": [true, false, null]}] ") == "no error");
}

TEST_CASE("json: strings that are not UTF-8 are rejected at their offset", "[core][json]") {
    // Two keys differing only in invalid bytes used to be written as one key twice (the writer
    // replaces invalid bytes by U+FFFD), which read back as another object.
    CHECK_THAT(error_of("{\"\x9b\":1,\"\xbe\":2}"),
               Contains("offset 2") && Contains("valid UTF-8") && Contains("byte 0x9b"));
    CHECK_THAT(error_of("\"ab\xE2\x82\""), Contains("offset 3"));   // truncated sequence
    CHECK_THAT(error_of("\"\xC0\xAF\""), Contains("offset 1"));     // overlong '/'
    CHECK_THAT(error_of("\"\xED\xA0\x80\""), Contains("offset 1")); // encoded surrogate
    // Valid multi-byte sequences, up to 4 bytes, read as they are.
    CHECK(value::parse("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"").get<std::string>() ==
          "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST_CASE("json: reading a value as the wrong type throws type_error naming it", "[core][json]") {
    const value v = value::parse(R"({"n":-1,"s":"x","r":2.5,"big":300,"whole":4.0})");
    CHECK_THROWS_AS(v.at("missing"), xnas::json::type_error);
    CHECK_THROWS_WITH(v.at("missing"), Contains("missing field 'missing'"));
    CHECK_THROWS_WITH(v.at("s").get<double>(), Contains("expected a number"));
    CHECK_THROWS_WITH(v.at("n").get<std::uint64_t>(), Contains("out of range"));
    CHECK_THROWS_WITH(v.at("big").get<std::uint8_t>(), Contains("out of range"));
    CHECK_THROWS_WITH(v.at("r").get<int>(), Contains("expected an integer"));
    CHECK(v.at("whole").get<int>() == 4);
    CHECK_THROWS_WITH(v.at("s").at("x"), Contains("expected an object"));
    CHECK_THROWS_WITH(v.at("s").at(0), Contains("expected an array"));
    CHECK(v.get_or("absent", std::string("fallback")) == "fallback");
    CHECK(v.get_or("s", std::string("fallback")) == "x");
    const auto m = value::parse(R"({"a":1,"r":2.5,"n":null})").get<std::map<std::string, double>>();
    CHECK(m.at("a") == 1);
    CHECK(m.at("r") == 2.5);
    CHECK(std::isnan(m.at("n")));
}
