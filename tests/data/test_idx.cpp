#include "data_test_files.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <xnas/core/error.hpp>
#include <xnas/data/idx.hpp>
#include <xnas/data/mnist.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

TEST_CASE("read_idx round-trips raw and gzip files alike", "[data][idx]") {
    test::temp_dir dir;
    const std::vector<std::uint8_t> data = {0, 1, 2, 127, 128, 200, 254, 255, 9, 8, 7, 6};
    const auto bytes = test::idx_bytes(0x08, {2, 3, 2}, data);
    test::write_bytes(dir / "raw.idx", bytes);
    test::write_gzip(dir / "packed.bin", bytes); // no .gz suffix: detection is by magic
    test::write_gzip(dir / "named.gz", bytes);
    for (const char* name : {"raw.idx", "packed.bin", "named.gz"}) {
        INFO(name);
        const data::idx_array a = data::read_idx(dir / name);
        CHECK(a.type == data::idx_type::u8);
        CHECK(a.dims == std::vector<std::size_t>{2, 3, 2});
        CHECK(a.count() == 12);
        CHECK(a.bytes == data);
        CHECK(a.values<int>()[7] == 255);
    }
}

TEST_CASE("read_idx decodes big-endian multi-byte types", "[data][idx]") {
    test::temp_dir dir;
    // int32 -2 and 258; float32 1.5 (0x3fc00000); int16 -1; signed byte -3.
    test::write_bytes(dir / "i32",
                      test::idx_bytes(0x0C, {2}, {0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 2}));
    test::write_bytes(dir / "f32", test::idx_bytes(0x0D, {1}, {0x3f, 0xc0, 0, 0}));
    test::write_gzip(dir / "i16", test::idx_bytes(0x0B, {1, 1}, {0xff, 0xff}));
    test::write_bytes(dir / "i8", test::idx_bytes(0x09, {1}, {0xfd}));
    CHECK(data::read_idx(dir / "i32").values<int>() == std::vector<int>{-2, 258});
    CHECK(data::read_idx(dir / "f32").values<double>() == std::vector<double>{1.5});
    CHECK(data::read_idx(dir / "i16").values<int>() == std::vector<int>{-1});
    CHECK(data::read_idx(dir / "i8").values<int>() == std::vector<int>{-3});
}

TEST_CASE("read_idx reports every bad file with its name and the problem", "[data][idx]") {
    test::temp_dir dir;
    const auto good = test::idx_bytes(0x08, {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});

    SECTION("missing file") {
        const auto p = dir / "nope.idx";
        CHECK_THROWS_AS(data::read_idx(p), file_error);
        CHECK_THROWS_WITH(data::read_idx(p), Contains(p.string()) && Contains("file not found"));
    }
    SECTION("unreadable file") {
        const auto p = dir / "locked.idx";
        test::write_bytes(p, good);
        std::filesystem::permissions(p, std::filesystem::perms::none);
        if (std::FILE* f = std::fopen(p.c_str(), "rb")) { // root reads anything: nothing to test
            std::fclose(f);
            SUCCEED("root can read a mode-000 file; unreadable case not testable here");
        } else {
            CHECK_THROWS_WITH(data::read_idx(p), Contains(p.string()) && Contains("cannot open"));
        }
    }
    SECTION("a directory") {
        CHECK_THROWS_WITH(data::read_idx(dir.path()),
                          Contains(dir.path().string()) && Contains("is a directory"));
    }
    SECTION("wrong magic names the bytes found and expected") {
        auto bytes = good;
        bytes[0] = 0x50;
        bytes[1] = 0x4b;
        test::write_bytes(dir / "zip.idx", bytes);
        CHECK_THROWS_AS(data::read_idx(dir / "zip.idx"), file_error);
        CHECK_THROWS_WITH(data::read_idx(dir / "zip.idx"),
                          Contains((dir / "zip.idx").string()) && Contains("wrong magic") &&
                              Contains("found bytes 50 4b 08 02") && Contains("expected 00 00"));
    }
    SECTION("unsupported element type") {
        test::write_bytes(dir / "t.idx", test::idx_bytes(0x0A, {1}, {0}));
        CHECK_THROWS_WITH(data::read_idx(dir / "t.idx"),
                          Contains((dir / "t.idx").string()) &&
                              Contains("unsupported element type 0x0a"));
    }
    SECTION("truncated data says expected and found byte counts") {
        auto bytes = good;
        bytes.resize(bytes.size() - 3); // 12-byte header + 5 of 8 data bytes
        for (bool gz : {false, true}) {
            const auto p = dir / (gz ? "short.gz" : "short.idx");
            gz ? test::write_gzip(p, bytes) : test::write_bytes(p, bytes);
            CHECK_THROWS_AS(data::read_idx(p), file_error);
            CHECK_THROWS_WITH(data::read_idx(p), Contains(p.string()) &&
                                                     Contains("truncated data") &&
                                                     Contains("need 8 data bytes") &&
                                                     Contains("found 5") && Contains("offset 17"));
        }
    }
    SECTION("truncated header") {
        auto bytes = good;
        bytes.resize(6);
        test::write_bytes(dir / "h.idx", bytes);
        CHECK_THROWS_WITH(data::read_idx(dir / "h.idx"),
                          Contains((dir / "h.idx").string()) && Contains("truncated header") &&
                              Contains("12-byte header") && Contains("only 6 bytes"));
        test::write_bytes(dir / "empty.idx", {});
        CHECK_THROWS_WITH(data::read_idx(dir / "empty.idx"),
                          Contains("truncated header") && Contains("found only 0 bytes"));
    }
    SECTION("bytes after the data") {
        auto bytes = good;
        bytes.push_back(0);
        bytes.push_back(0);
        test::write_bytes(dir / "long.idx", bytes);
        CHECK_THROWS_WITH(data::read_idx(dir / "long.idx"),
                          Contains((dir / "long.idx").string()) &&
                              Contains("2 unexpected bytes after the data") &&
                              Contains("offset 20"));
    }
    SECTION("corrupt gzip stream") {
        test::write_gzip(dir / "ok.gz", good);
        auto gz = test::read_bytes(dir / "ok.gz");
        REQUIRE(gz.size() > 20);
        for (std::size_t i = 10; i < gz.size() - 8; ++i)
            gz[i] = static_cast<std::uint8_t>(0xff - gz[i]); // mangle the deflate body
        test::write_bytes(dir / "bad.gz", gz);
        CHECK_THROWS_AS(data::read_idx(dir / "bad.gz"), file_error);
        CHECK_THROWS_WITH(data::read_idx(dir / "bad.gz"),
                          Contains((dir / "bad.gz").string()) && Contains("corrupt gzip stream"));
        // gzip magic followed by garbage
        test::write_bytes(dir / "junk", {0x1f, 0x8b, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                         0x42, 0x42, 0x42, 0x42});
        CHECK_THROWS_WITH(data::read_idx(dir / "junk"),
                          Contains((dir / "junk").string()) && Contains("corrupt gzip stream"));
    }
    SECTION("gzip file cut short") {
        test::write_gzip(dir / "ok.gz", good);
        auto gz = test::read_bytes(dir / "ok.gz");
        gz.resize(gz.size() - 6); // the CRC/length trailer is incomplete
        test::write_bytes(dir / "cut.gz", gz);
        CHECK_THROWS_AS(data::read_idx(dir / "cut.gz"), file_error);
        CHECK_THROWS_WITH(data::read_idx(dir / "cut.gz"),
                          Contains((dir / "cut.gz").string()) && Contains("gzip"));
    }
}

TEST_CASE("load_idx_pair scales pixels to [0, 1] with shape (N, 1, H, W)", "[data][idx][mnist]") {
    test::temp_dir dir;
    test::mnist_like m(6, 28, 28, 3);
    m.pixels[1] = 255;
    test::write_bytes(dir / "img", m.image_file());
    test::write_gzip(dir / "lab.gz", m.label_file());
    const data::dataset<float> ds = data::load_idx_pair(dir / "img", dir / "lab.gz");
    CHECK(ds.size() == 6);
    CHECK(ds.x.shape() == std::vector<std::size_t>{6, 1, 28, 28});
    CHECK(ds.sample_shape() == nn::shape{1, 28, 28});
    CHECK(ds.num_classes == 3);
    CHECK(ds.labels == std::vector<std::int32_t>{0, 1, 2, 0, 1, 2});
    for (std::size_t i = 0; i < m.pixels.size(); ++i)
        REQUIRE(ds.x.data()[i] == Approx(m.pixels[i] / 255.0));
    float lo = 1, hi = 0;
    for (float v : ds.x) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    CHECK(lo == 0.0f);
    CHECK(hi == 1.0f); // 255 maps exactly to 1
    CHECK(data::load_idx_pair(dir / "img", dir / "lab.gz", 10).num_classes == 10);
    CHECK(data::load_idx_pair<double>(dir / "img", dir / "lab.gz").x(5, 0, 27, 26) ==
          Approx(((5 * 7 + 27 * 3 + 26) % 256) / 255.0));
}

TEST_CASE("load_idx_pair rejects mismatched or misused files", "[data][idx][mnist]") {
    test::temp_dir dir;
    const test::mnist_like m(5, 4, 3, 2);
    const test::mnist_like fewer(4, 4, 3, 2);
    test::write_bytes(dir / "img", m.image_file());
    test::write_bytes(dir / "lab", m.label_file());
    test::write_bytes(dir / "lab4", fewer.label_file());

    CHECK_THROWS_AS(data::load_idx_pair(dir / "img", dir / "lab4"), file_error);
    CHECK_THROWS_WITH(data::load_idx_pair(dir / "img", dir / "lab4"),
                      Contains("count mismatch") && Contains((dir / "img").string()) &&
                          Contains("5 images") && Contains((dir / "lab4").string()) &&
                          Contains("4 labels"));
    // Swapped arguments: the label file is not an image file.
    CHECK_THROWS_WITH(data::load_idx_pair(dir / "lab", dir / "img"),
                      Contains((dir / "lab").string()) && Contains("wrong magic") &&
                          Contains("found bytes 00 00 08 01") && Contains("expected 00 00 08 03"));
    test::write_bytes(dir / "img2", test::idx_bytes(0x08, {5, 12}, m.pixels));
    CHECK_THROWS_WITH(data::load_idx_pair(dir / "img", dir / "img2"),
                      Contains((dir / "img2").string()) && Contains("found bytes 00 00 08 02") &&
                          Contains("expected 00 00 08 01"));
    CHECK_THROWS_WITH(data::load_idx_pair(dir / "img", dir / "lab", 1),
                      Contains((dir / "lab").string()) && Contains("label 1 of sample 1") &&
                          Contains("byte offset 9") && Contains("[0, 1)"));
    CHECK_THROWS_WITH(data::load_idx_pair(dir / "img", dir / "missing"),
                      Contains((dir / "missing").string()) && Contains("file not found"));
}

TEST_CASE("load_idx_pair counts the classes of the largest int32 label without overflow",
          "[data][idx][mnist]") {
    test::temp_dir dir;
    test::write_bytes(dir / "img", test::idx_bytes(0x08, {2, 1, 1}, {0, 255}));
    // int32 labels 1 and 2^31 - 1, big-endian.
    test::write_bytes(dir / "lab",
                      test::idx_bytes(0x0C, {2}, {0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff}));
    const auto ds = data::load_idx_pair(dir / "img", dir / "lab");
    CHECK(ds.labels == std::vector<std::int32_t>{1, 0x7fffffff});
    CHECK(ds.num_classes == std::size_t(1) << 31);
}

TEST_CASE("load_fashion_mnist finds raw or gzip files and says what to install", "[data][mnist]") {
    test::temp_dir dir;
    const test::mnist_like train(20, 28, 28, 10), test_set(10, 28, 28, 10);
    test::write_gzip(dir / "train-images-idx3-ubyte.gz", train.image_file());
    test::write_bytes(dir / "train-labels-idx1-ubyte", train.label_file());
    test::write_gzip(dir / "t10k-images-idx3-ubyte.gz", test_set.image_file());

    const std::string hint =
        "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)";
    CHECK_THROWS_AS(data::load_fashion_mnist(dir.path()), file_error);
    CHECK_THROWS_WITH(data::load_fashion_mnist(dir.path()),
                      Contains((dir / "t10k-labels-idx1-ubyte.gz").string()) &&
                          Contains("not found") && Contains(hint));
    CHECK_THROWS_WITH(data::load_fashion_mnist(dir / "absent"),
                      Contains((dir / "absent").string()) && Contains("directory") &&
                          Contains("train-images-idx3-ubyte") && Contains(hint));

    test::write_gzip(dir / "t10k-labels-idx1-ubyte.gz", test_set.label_file());
    const auto sets = data::load_fashion_mnist(dir.path());
    CHECK(sets.train.size() == 20);
    CHECK(sets.test.size() == 10);
    CHECK(sets.train.x.shape() == std::vector<std::size_t>{20, 1, 28, 28});
    CHECK(sets.train.num_classes == 10);
    CHECK(sets.test.class_names.at(9) == "Ankle boot");
    CHECK(sets.test.labels[3] == 3);
}

TEST_CASE("the real Fashion-MNIST files load when installed", "[data][mnist][.slow]") {
    const std::filesystem::path dir = "/usr/share/datasets/fashion-mnist";
    if (!std::filesystem::exists(dir / "train-images-idx3-ubyte.gz")) {
        WARN("Fashion-MNIST not installed at " << dir << "; skipped");
        return;
    }
    const auto sets = data::load_fashion_mnist(dir);
    CHECK(sets.train.x.shape() == std::vector<std::size_t>{60000, 1, 28, 28});
    CHECK(sets.test.x.shape() == std::vector<std::size_t>{10000, 1, 28, 28});
    CHECK(sets.train.class_counts() == std::vector<std::size_t>(10, 6000));
    CHECK(sets.test.class_counts() == std::vector<std::size_t>(10, 1000));
}
TEST_CASE("load_idx_pair reads samples of any shape and element type", "[data][idx]") {
    test::temp_dir dir;
    // (3, 2) int16 features, big-endian: -1, 2, 300, -400, 5, 6.
    test::write_bytes(
        dir / "feat",
        test::idx_bytes(0x0B, {3, 2}, {0xff, 0xff, 0, 2, 1, 0x2c, 0xfe, 0x70, 0, 5, 0, 6}));
    // Float labels of whole values are class indices.
    test::write_bytes(dir / "flab",
                      test::idx_bytes(0x0D, {3}, {0x40, 0, 0, 0, 0, 0, 0, 0, 0x3f, 0x80, 0, 0}));
    const auto ds = data::load_idx_pair(dir / "feat", dir / "flab");
    CHECK(ds.x.shape() == std::vector<std::size_t>{3, 2});
    CHECK(std::vector<float>(ds.x.begin(), ds.x.end()) ==
          std::vector<float>{-1, 2, 300, -400, 5, 6});
    CHECK(ds.labels == std::vector<std::int32_t>{2, 0, 1});
    CHECK(ds.num_classes == 3);

    // (2, 3, 1, 1) float32 images keep their shape and values; 1.5 is (0x3fc00000).
    std::vector<std::uint8_t> f32;
    for (int i = 0; i < 6; ++i)
        f32.insert(f32.end(), {0x3f, 0xc0, 0, static_cast<std::uint8_t>(i)});
    test::write_bytes(dir / "img4", test::idx_bytes(0x0D, {2, 3, 1, 1}, f32));
    test::write_bytes(dir / "lab", test::idx_bytes(0x08, {2}, {1, 0}));
    const auto im = data::load_idx_pair<double>(dir / "img4", dir / "lab");
    CHECK(im.x.shape() == std::vector<std::size_t>{2, 3, 1, 1});
    for (std::size_t i = 0; i < 6; ++i) {
        std::uint32_t bits = 0x3fc00000u | static_cast<std::uint32_t>(i);
        float want;
        std::memcpy(&want, &bits, 4);
        CHECK(im.x.data()[i] == static_cast<double>(want));
    }

    // Errors: a label that is not whole, a non-finite sample; each with its byte offset.
    test::write_bytes(dir / "half",
                      test::idx_bytes(0x0D, {3}, {0, 0, 0, 0, 0x3f, 0xc0, 0, 0, 0, 0, 0, 0}));
    CHECK_THROWS_WITH(data::load_idx_pair(dir / "feat", dir / "half"),
                      Contains((dir / "half").string()) && Contains("label 1.5 of sample 1") &&
                          Contains("byte offset 12") && Contains("not a whole number"));
    test::write_bytes(dir / "nan", test::idx_bytes(0x0D, {2, 1}, {0, 0, 0, 0, 0x7f, 0xc0, 0, 0}));
    CHECK_THROWS_WITH(data::load_idx_pair(dir / "nan", dir / "lab"),
                      Contains((dir / "nan").string()) && Contains("element 1") &&
                          Contains("byte offset 16") && Contains("not a finite number"));
    test::write_bytes(dir / "neg", test::idx_bytes(0x09, {3}, {0, 0xff, 0}));
    CHECK_THROWS_WITH(data::load_idx_pair(dir / "feat", dir / "neg"),
                      Contains("label -1 of sample 1") && Contains("byte offset 9"));
}

TEST_CASE("load_idx_regression reads (N) and (N, K) targets", "[data][idx]") {
    test::temp_dir dir;
    test::write_bytes(dir / "x", test::idx_bytes(0x08, {2, 2, 2}, {0, 51, 102, 255, 1, 2, 3, 4}));
    // float64 targets 0.5 and -2 (0x3fe0..., 0xc000...).
    test::write_bytes(
        dir / "y1",
        test::idx_bytes(0x0E, {2}, {0x3f, 0xe0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0}));
    const auto one = data::load_idx_regression(dir / "x", dir / "y1");
    CHECK(one.regression());
    CHECK(one.targets.shape() == std::vector<std::size_t>{2, 1});
    CHECK(one.targets(0, 0) == 0.5f);
    CHECK(one.targets(1, 0) == -2.0f);
    CHECK(one.labels.empty());
    CHECK(one.num_classes == 0);
    CHECK(one.x.shape() == std::vector<std::size_t>{2, 1, 2, 2});
    CHECK(one.x(0, 0, 0, 1) == 0.2f);
    one.validate();
    // Unsigned-byte targets keep their values (they are not pixels).
    test::write_bytes(dir / "y2", test::idx_bytes(0x08, {2, 3}, {1, 2, 3, 200, 5, 6}));
    const auto k3 = data::load_idx_regression(dir / "x", dir / "y2");
    CHECK(k3.targets.shape() == std::vector<std::size_t>{2, 3});
    CHECK(k3.targets(1, 0) == 200.0f);
    CHECK(k3.target_size() == 3);
    test::write_bytes(dir / "yinf", test::idx_bytes(0x0D, {2}, {0, 0, 0, 0, 0x7f, 0x80, 0, 0}));
    CHECK_THROWS_WITH(data::load_idx_regression(dir / "x", dir / "yinf"),
                      Contains((dir / "yinf").string()) && Contains("target 1") &&
                          Contains("byte offset 12"));
    test::write_bytes(dir / "y3", test::idx_bytes(0x08, {3}, {1, 2, 3}));
    CHECK_THROWS_WITH(data::load_idx_regression(dir / "x", dir / "y3"),
                      Contains("count mismatch") && Contains((dir / "x").string()) &&
                          Contains((dir / "y3").string()) && Contains("3 targets"));
}
