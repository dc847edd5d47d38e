#include "data_test_files.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/data/npy.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

TEST_CASE("write_npy and read_npy round-trip every written type", "[data][npy]") {
    test::temp_dir dir;
    const std::vector<float> f = {1.5f, -2.25f, 0.0f, 3e-8f, -1e30f, 7.0f};
    data::write_npy(dir / "f.npy", {2, 3}, f.data());
    const std::vector<double> d = {0.1, -1e300, 2.5};
    data::write_npy(dir / "d.npy", {3}, d.data());
    const std::vector<std::int32_t> i32 = {-2147483647 - 1, 2147483647, 0, -5};
    data::write_npy(dir / "i32.npy", {2, 1, 2}, i32.data());
    const std::vector<std::int64_t> i64 = {std::numeric_limits<std::int64_t>::min(), 42};
    data::write_npy(dir / "i64.npy", {2}, i64.data());
    const std::vector<std::uint8_t> u8 = {0, 255, 128, 1};
    data::write_npy(dir / "u8.npy", {4, 1}, u8.data());
    const bool b[3] = {true, false, true};
    data::write_npy(dir / "b.npy", {3}, b);
    const double scalar = 4.5;
    data::write_npy(dir / "scalar.npy", {}, &scalar);
    data::write_npy<float>(dir / "empty.npy", {0, 3}, nullptr);

    const auto fa = data::read_npy(dir / "f.npy");
    CHECK(fa.type == data::npy_type::f4);
    CHECK(fa.shape == std::vector<std::size_t>{2, 3});
    CHECK(fa.values<float>() == f);
    CHECK(data::read_npy(dir / "d.npy").values<double>() == d);
    const auto ia = data::read_npy(dir / "i32.npy");
    CHECK(ia.type == data::npy_type::i4);
    CHECK(ia.shape == std::vector<std::size_t>{2, 1, 2});
    CHECK(ia.values<std::int32_t>() == i32);
    CHECK(data::read_npy(dir / "i64.npy").values<std::int64_t>() == i64);
    const auto ua = data::read_npy(dir / "u8.npy");
    CHECK(ua.type == data::npy_type::u1);
    CHECK(ua.values<int>() == std::vector<int>{0, 255, 128, 1});
    const auto ba = data::read_npy(dir / "b.npy");
    CHECK(ba.type == data::npy_type::b1);
    CHECK(ba.values<int>() == std::vector<int>{1, 0, 1});
    const auto sa = data::read_npy(dir / "scalar.npy");
    CHECK(sa.shape.empty());
    CHECK(sa.count() == 1);
    CHECK(sa.values<double>() == std::vector<double>{4.5});
    const auto ea = data::read_npy(dir / "empty.npy");
    CHECK(ea.shape == std::vector<std::size_t>{0, 3});
    CHECK(ea.values<float>().empty());

    // Byte for byte as NumPy writes them: version 1.0, the header padded with spaces and a
    // newline so that the data starts at a multiple of 64 bytes.
    const auto raw = test::read_bytes(dir / "f.npy");
    CHECK(raw == test::npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                test::le_bytes(f)));
    CHECK(raw.size() == 128 + 24);
    CHECK(test::read_bytes(dir / "d.npy") ==
          test::npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                         test::le_bytes(d)));
    CHECK(test::read_bytes(dir / "scalar.npy") ==
          test::npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                         test::le_bytes(std::vector<double>{4.5})));
    CHECK_THROWS_WITH(data::write_npy(dir / "no" / "x.npy", {1}, f.data()),
                      Contains((dir / "no" / "x.npy").string()) && Contains("cannot open"));
}

TEST_CASE("read_npy reads every dtype, byte order and format version", "[data][npy]") {
    test::temp_dir dir;
    const auto put = [&](const std::string& name, const std::string& descr,
                         const std::string& shape, const std::vector<std::uint8_t>& data,
                         int major = 1) {
        test::write_bytes(dir / name,
                          test::npy_file("{'descr': '" + descr +
                                             "', 'fortran_order': False, 'shape': " + shape + ", }",
                                         data, major));
        return data::read_npy(dir / name);
    };
    CHECK(put("u2", "<u2", "(2,)", test::le_bytes<std::uint16_t>({65535, 7})).values<double>() ==
          std::vector<double>{65535, 7});
    CHECK(put("i2", "<i2", "(2,)", test::le_bytes<std::int16_t>({-32768, 12})).values<double>() ==
          std::vector<double>{-32768, 12});
    CHECK(put("u4", "<u4", "(1,)", test::le_bytes<std::uint32_t>({4294967295u})).values<double>() ==
          std::vector<double>{4294967295.0});
    CHECK(put("u8", "<u8", "(1,)", test::le_bytes<std::uint64_t>({1ull << 40})).values<double>() ==
          std::vector<double>{1099511627776.0});
    CHECK(put("i1", "|i1", "(3,)", {0xff, 0x80, 0x7f}).values<int>() ==
          std::vector<int>{-1, -128, 127});
    CHECK(put("b1", "|b1", "(3,)", {0, 1, 2}).values<int>() == std::vector<int>{0, 1, 1});
    CHECK(put("native", "=i4", "(2,)", test::le_bytes<std::int32_t>({-9, 9})).values<int>() ==
          std::vector<int>{-9, 9});
    CHECK(put("no-order", "f8", "(1,)", test::le_bytes<double>({0.25})).values<double>() ==
          std::vector<double>{0.25});
    // Big-endian data is converted.
    const auto be = put("be-i4", ">i4", "(3,)", test::le_bytes<std::int32_t>({1, -2, 70000}, true));
    CHECK(be.type == data::npy_type::i4);
    CHECK(be.values<int>() == std::vector<int>{1, -2, 70000});
    CHECK(put("be-f8", ">f8", "(2,)", test::le_bytes<double>({-1.5, 1e-300}, true))
              .values<double>() == std::vector<double>{-1.5, 1e-300});
    CHECK(put("be-f4", ">f4", "(1,)", test::le_bytes<float>({3.25f}, true)).values<float>() ==
          std::vector<float>{3.25f});
    // Versions 2.0 and 3.0 (4-byte header length), Python 2's 3L.
    CHECK(put("v2", "<f4", "(2L, 1L)", test::le_bytes<float>({1, 2}), 2).values<float>() ==
          std::vector<float>{1, 2});
    const auto v3 = put("v3", "<i8", "(2, 0)", {}, 3);
    CHECK(v3.shape == std::vector<std::size_t>{2, 0});
    CHECK(v3.count() == 0);
    // Double quotes and no trailing comma are still a Python dict.
    test::write_bytes(dir / "dq", test::npy_file("{\"shape\": (1,), \"fortran_order\": False, "
                                                 "\"descr\": \"<i2\"}",
                                                 test::le_bytes<std::int16_t>({-3})));
    CHECK(data::read_npy(dir / "dq").values<int>() == std::vector<int>{-3});
    // gzip-compressed files are read as raw ones.
    test::write_gzip(dir / "packed.npy",
                     test::npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                    test::le_bytes<double>({2.5, -4})));
    CHECK(data::read_npy(dir / "packed.npy").values<double>() == std::vector<double>{2.5, -4});
}

TEST_CASE("read_npy converts Fortran order to C order", "[data][npy]") {
    test::temp_dir dir;
    // NumPy 1.24's np.save of np.asfortranarray(np.array([[1, -2, 3], [400, -500, 32767]],
    // dtype='>i2')): Fortran order and big-endian at once.
    std::vector<std::uint8_t> numpy =
        test::npy_file("{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }",
                       {0x00, 0x01, 0x01, 0x90, 0xff, 0xfe, 0xfe, 0x0c, 0x00, 0x03, 0x7f, 0xff});
    REQUIRE(numpy.size() == 140);
    test::write_bytes(dir / "numpy.npy", numpy);
    const auto a = data::read_npy(dir / "numpy.npy");
    CHECK(a.shape == std::vector<std::size_t>{2, 3});
    CHECK(a.values<int>() == std::vector<int>{1, -2, 3, 400, -500, 32767});

    // (2, 3, 4) stored column-major: element (i, j, k) at i + 2 * (j + 3 * k) holds 100i+10j+k.
    std::vector<float> fortran(24);
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 4; ++k)
                fortran[static_cast<std::size_t>(i + 2 * (j + 3 * k))] =
                    static_cast<float>(100 * i + 10 * j + k);
    test::write_bytes(
        dir / "f3.npy",
        test::npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }",
                       test::le_bytes(fortran)));
    const auto b = data::read_npy(dir / "f3.npy");
    const auto v = b.values<float>();
    REQUIRE(v.size() == 24);
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 4; ++k)
                REQUIRE(v[static_cast<std::size_t>(12 * i + 4 * j + k)] ==
                        static_cast<float>(100 * i + 10 * j + k));
}

TEST_CASE("read_npy errors name the file, the offset and what was expected", "[data][npy]") {
    test::temp_dir dir;
    const auto p = dir / "bad.npy";
    const std::string name = p.string();
    const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    const auto good_data = test::le_bytes<float>({1, 2});
    const auto error = [&](const std::vector<std::uint8_t>& bytes) {
        test::write_bytes(p, bytes);
        CHECK_THROWS_AS(data::read_npy(p), file_error);
        return test::message_of([&] { (void)data::read_npy(p); });
    };
    const auto dict_error = [&](const std::string& dict) {
        return error(test::npy_file(dict, good_data));
    };

    SECTION("missing file") {
        CHECK_THROWS_WITH(data::read_npy(dir / "none.npy"),
                          Contains((dir / "none.npy").string()) && Contains("file not found"));
    }
    SECTION("wrong magic, and a .npz") {
        CHECK_THAT(error({'P', 'K', 3, 4, 20, 0, 0, 0}),
                   Contains(name) && Contains("wrong magic at offset 0") &&
                       Contains("found bytes 50 4b 03 04 14 00") &&
                       Contains("expected 93 4e 55 4d 50 59") && Contains("zip archive"));
        CHECK_THAT(error({0x93, 'N', 'U'}),
                   Contains(name) && Contains("wrong magic") && Contains("only 3 bytes"));
        CHECK_THAT(error({}), Contains(name) && Contains("wrong magic"));
    }
    SECTION("unsupported version") {
        auto bytes = test::npy_file(good_dict, good_data);
        bytes[6] = 4;
        CHECK_THAT(error(bytes), Contains(name) && Contains("unsupported format version 4.0") &&
                                     Contains("offset 6") && Contains("expected 1.0, 2.0 or 3.0"));
        bytes[6] = 1;
        bytes[7] = 1;
        CHECK_THAT(error(bytes), Contains("unsupported format version 1.1"));
    }
    SECTION("truncated and oversized headers") {
        auto bytes = test::npy_file(good_dict, good_data);
        CHECK_THAT(error({bytes.begin(), bytes.begin() + 9}),
                   Contains(name) && Contains("truncated header") && Contains("offset 9"));
        REQUIRE(test::npy_file(good_dict, {}).size() == 128);
        CHECK_THAT(error({bytes.begin(), bytes.begin() + 40}),
                   Contains(name) && Contains("truncated header") &&
                       Contains("declares 118 bytes") && Contains("ends at offset 40"));
        std::vector<std::uint8_t> huge = {0x93, 'N', 'U',  'M',  'P',  'Y',
                                          2,    0,   0xff, 0xff, 0xff, 0x7f};
        CHECK_THAT(error(huge),
                   Contains(name) && Contains("header length 2147483647") && Contains("offset 8"));
    }
    SECTION("malformed header dicts give the offset of the fault") {
        const std::string missing_comma =
            "{'descr': '<f4' 'fortran_order': False, 'shape': (2,), }";
        CHECK_THAT(
            dict_error(missing_comma),
            Contains(name) &&
                Contains("malformed header dict at offset " +
                         std::to_string(test::npy_dict_offset(missing_comma.find("'fortran")))) &&
                Contains("expected ',' or '}'"));
        const std::string bad_shape = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }";
        CHECK_THAT(
            dict_error(bad_shape),
            Contains("offset " + std::to_string(test::npy_dict_offset(bad_shape.find('x')))) &&
                Contains("non-negative integer"));
        const std::string lower = "{'descr': '<f4', 'fortran_order': false, 'shape': (2,), }";
        CHECK_THAT(
            dict_error(lower),
            Contains("offset " + std::to_string(test::npy_dict_offset(lower.find("false")))) &&
                Contains("True or False"));
        CHECK_THAT(dict_error("{'descr': '<f4', 'shape': (2,), }"),
                   Contains(name) && Contains("no 'fortran_order' key"));
        CHECK_THAT(dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"),
                   Contains("unexpected key 'x'"));
        CHECK_THAT(dict_error("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                              "'shape': (2,), }"),
                   Contains("'descr' appears twice"));
        CHECK_THAT(dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x"),
                   Contains("after the header dict's closing '}'"));
        CHECK_THAT(dict_error("['descr']"), Contains("offset 10") && Contains("expected '{'"));
        CHECK_THAT(dict_error("{'descr: '<f4'"), Contains("malformed header dict"));
        CHECK_THAT(dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': "
                              "(99999999999999999999999,), }"),
                   Contains("is too large"));
    }
    SECTION("unknown, object and structured dtypes") {
        CHECK_THAT(dict_error("{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }"),
                   Contains(name) && Contains("unsupported dtype \"<c16\"") &&
                       Contains("offset 10") && Contains("expected one of |b1"));
        CHECK_THAT(dict_error("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"),
                   Contains(name) && Contains("object arrays are refused"));
        CHECK_THAT(dict_error("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }"),
                   Contains(name) && Contains("structured dtype") &&
                       Contains("offset " + std::to_string(test::npy_dict_offset(10))));
    }
    SECTION("shapes beyond any file are refused before allocating") {
        CHECK_THAT(dict_error("{'descr': '<f8', 'fortran_order': False, "
                              "'shape': (1099511627776, 1099511627776), }"),
                   Contains(name) && Contains("more than 2^48 bytes"));
        const std::string dict =
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }";
        CHECK_THAT(dict_error(dict),
                   Contains(name) && Contains("truncated data") &&
                       Contains("needs 8000000000000 data bytes from offset 128") &&
                       Contains("found 8"));
    }
    SECTION("truncated data, raw and gzip, and bytes after the data") {
        const std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
        const auto bytes = test::npy_file(dict, test::le_bytes<std::int32_t>({1, 2}));
        CHECK_THAT(error(bytes), Contains(name) && Contains("truncated data") &&
                                     Contains("needs 12 data bytes from offset 128") &&
                                     Contains("found 8") && Contains("expected 140"));
        test::write_gzip(dir / "short.gz", bytes);
        CHECK_THROWS_WITH(data::read_npy(dir / "short.gz"),
                          Contains((dir / "short.gz").string()) && Contains("truncated data") &&
                              Contains("found 8") && Contains("ends at offset 136"));
        CHECK_THAT(error(test::npy_file(dict, test::le_bytes<std::int32_t>({1, 2, 3, 4}))),
                   Contains(name) && Contains("4 unexpected bytes after the data") &&
                       Contains("offset 140"));
    }
}
