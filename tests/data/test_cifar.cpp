#include "data_test_files.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/data/cifar.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {

std::string cifar_name_lines(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names)
        s += n + "\n";
    return s;
}

std::vector<std::string> cifar_numbered_names(const std::string& stem, std::size_t n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(stem + std::to_string(i));
    return out;
}

} // namespace

TEST_CASE("load_cifar_batch reads CIFAR-10 and CIFAR-100 records into (N, 3, 32, 32)",
          "[data][cifar]") {
    test::temp_dir dir;
    test::write_bytes(dir / "c10.bin", test::cifar_batch(1, {{3}, {9}, {0}}));
    test::write_gzip(dir / "c10.gz", test::cifar_batch(1, {{3}, {9}, {0}}));
    for (const char* name : {"c10.bin", "c10.gz"}) {
        INFO(name);
        const auto ds = data::load_cifar_batch(dir / name, data::cifar_version::cifar10);
        CHECK(ds.x.shape() == std::vector<std::size_t>{3, 3, 32, 32});
        CHECK(ds.labels == std::vector<std::int32_t>{3, 9, 0});
        CHECK(ds.num_classes == 10);
        CHECK(test::cifar_mismatches(ds.x, 0, 1, 3) == 0);
        ds.validate();
    }
    test::write_bytes(dir / "c100.bin", test::cifar_batch(2, {{19, 99}, {0, 5}}));
    const auto fine = data::load_cifar_batch(dir / "c100.bin", data::cifar_version::cifar100);
    CHECK(fine.labels == std::vector<std::int32_t>{99, 5});
    CHECK(fine.num_classes == 100);
    CHECK(test::cifar_mismatches(fine.x, 0, 2, 2) == 0);
    const auto coarse = data::load_cifar_batch(dir / "c100.bin", data::cifar_version::cifar100,
                                               data::cifar_labels::coarse);
    CHECK(coarse.labels == std::vector<std::int32_t>{19, 0});
    CHECK(coarse.num_classes == 20);
    CHECK(test::cifar_mismatches(coarse.x, 0, 2, 2) == 0);
    CHECK(data::load_cifar_batch<double>(dir / "c10.bin", data::cifar_version::cifar10)
              .x(2, 2, 31, 30) == static_cast<double>(test::cifar_pixel(1, 2, 2, 31, 30)) / 255.0);
}

TEST_CASE("load_cifar_batch errors name the file, sizes and byte offsets", "[data][cifar]") {
    test::temp_dir dir;
    const auto p = dir / "b.bin";
    const std::string name = p.string();
    const auto error = [&](const std::vector<std::uint8_t>& bytes, data::cifar_version v,
                           data::cifar_labels which = data::cifar_labels::fine) {
        test::write_bytes(p, bytes);
        CHECK_THROWS_AS(data::load_cifar_batch(p, v, which), file_error);
        return test::message_of([&] { (void)data::load_cifar_batch(p, v, which); });
    };
    auto two = test::cifar_batch(0, {{1}, {2}});
    two.resize(two.size() + 4);
    CHECK_THAT(error(two, data::cifar_version::cifar10),
               Contains(name) && Contains("size 6150 bytes") && Contains("3073-byte CIFAR-10") &&
                   Contains("2 whole records and 4 bytes over"));
    // Two CIFAR-100 records read as CIFAR-10: the size says which format it is.
    CHECK_THAT(error(test::cifar_batch(0, {{1, 2}, {3, 4}}), data::cifar_version::cifar10),
               Contains("size 6148 bytes") && Contains("multiple of the CIFAR-100 record"));
    CHECK_THAT(error(test::cifar_batch(0, {{1}, {10}}), data::cifar_version::cifar10),
               Contains(name) && Contains("label byte 10 at offset 3073 (record 1)") &&
                   Contains("[0, 10)"));
    CHECK_THAT(error(test::cifar_batch(0, {{5, 5}, {20, 5}}), data::cifar_version::cifar100),
               Contains(name) && Contains("coarse label byte 20 at offset 3074") &&
                   Contains("[0, 20)"));
    CHECK_THAT(error(test::cifar_batch(0, {{5, 100}}), data::cifar_version::cifar100,
                     data::cifar_labels::coarse),
               Contains("fine label byte 100 at offset 1") && Contains("[0, 100)"));
    CHECK_THAT(error({}, data::cifar_version::cifar10), Contains(name) && Contains("empty"));
    test::write_gzip(dir / "b.gz", two);
    CHECK_THROWS_WITH(data::load_cifar_batch(dir / "b.gz", data::cifar_version::cifar10),
                      Contains((dir / "b.gz").string()) && Contains("size 6150 bytes"));
    CHECK_THROWS_WITH(data::load_cifar_batch(dir / "none.bin", data::cifar_version::cifar10),
                      Contains((dir / "none.bin").string()) && Contains("file not found"));
}

TEST_CASE("load_cifar10 reads the batches in numeric order, and the class names", "[data][cifar]") {
    test::temp_dir top;
    const auto dir = top / "cifar-10-batches-bin";
    std::filesystem::create_directory(dir);
    // data_batch_10 after data_batch_2: numeric, not text, order.
    test::write_bytes(dir / "data_batch_1.bin", test::cifar_batch(1, {{0}, {1}}));
    test::write_bytes(dir / "data_batch_2.bin", test::cifar_batch(2, {{2}}));
    test::write_bytes(dir / "data_batch_10.bin", test::cifar_batch(10, {{9}, {8}, {7}}));
    test::write_bytes(dir / "test_batch.bin", test::cifar_batch(5, {{4}, {5}}));
    test::write_text(dir / "data_batch_x.bin", "not a batch: not named data_batch_<n>.bin");
    const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                            "dog",      "frog",       "horse", "ship", "truck"};
    test::write_text(dir / "batches.meta.txt", cifar_name_lines(names) + "\n\n");
    CHECK(data::cifar10_train_batches(dir) ==
          std::vector<std::filesystem::path>{dir / "data_batch_1.bin", dir / "data_batch_2.bin",
                                             dir / "data_batch_10.bin"});

    // The folder itself, or the one it was extracted into.
    for (const auto& d : {dir, top.path()}) {
        INFO(d);
        const auto tt = data::load_cifar10(d);
        CHECK(tt.train.x.shape() == std::vector<std::size_t>{6, 3, 32, 32});
        CHECK(tt.train.labels == std::vector<std::int32_t>{0, 1, 2, 9, 8, 7});
        CHECK(test::cifar_mismatches(tt.train.x, 0, 1, 2) == 0);
        CHECK(test::cifar_mismatches(tt.train.x, 2, 2, 1) == 0);
        CHECK(test::cifar_mismatches(tt.train.x, 3, 10, 3) == 0);
        CHECK(tt.test.labels == std::vector<std::int32_t>{4, 5});
        CHECK(test::cifar_mismatches(tt.test.x, 0, 5, 2) == 0);
        CHECK(tt.train.class_names == names);
        CHECK(tt.test.class_names == names);
        CHECK(tt.test.num_classes == 10);
    }
    std::filesystem::remove(dir / "batches.meta.txt");
    CHECK(data::load_cifar10(dir).train.class_names.empty());

    test::write_text(dir / "batches.meta.txt", "a\nb\r\n");
    CHECK_THROWS_WITH(data::load_cifar10(dir), Contains((dir / "batches.meta.txt").string()) &&
                                                   Contains("lists 2 class names, expected 10"));
    std::filesystem::remove(dir / "batches.meta.txt");
    std::filesystem::remove(dir / "test_batch.bin");
    CHECK_THROWS_AS(data::load_cifar10(dir), file_error);
    CHECK_THROWS_WITH(data::load_cifar10(dir),
                      Contains((dir / "test_batch.bin").string()) && Contains("not found"));
    test::write_bytes(dir / "test_batch.bin", test::cifar_batch(5, {{4}}));
    for (const char* b : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_10.bin"})
        std::filesystem::remove(dir / b);
    CHECK_THROWS_WITH(data::load_cifar10(dir),
                      Contains((dir / "data_batch_1.bin").string()) && Contains("not found"));
    CHECK_THROWS_WITH(data::load_cifar10(top / "absent"),
                      Contains((top / "absent").string()) && Contains("not found"));
}

TEST_CASE("load_cifar100 reads fine or coarse labels and their names", "[data][cifar]") {
    test::temp_dir dir;
    test::write_bytes(dir / "train.bin", test::cifar_batch(3, {{1, 10}, {2, 20}, {19, 99}}));
    test::write_bytes(dir / "test.bin", test::cifar_batch(4, {{0, 0}}));
    test::write_text(dir / "fine_label_names.txt",
                     cifar_name_lines(cifar_numbered_names("fine", 100)));
    test::write_text(dir / "coarse_label_names.txt",
                     cifar_name_lines(cifar_numbered_names("coarse", 20)));
    const auto fine = data::load_cifar100(dir.path());
    CHECK(fine.train.labels == std::vector<std::int32_t>{10, 20, 99});
    CHECK(fine.train.num_classes == 100);
    CHECK(fine.train.class_names.at(99) == "fine99");
    CHECK(fine.test.class_names.size() == 100);
    CHECK(test::cifar_mismatches(fine.train.x, 0, 3, 3) == 0);
    CHECK(test::cifar_mismatches(fine.test.x, 0, 4, 1) == 0);
    const auto coarse = data::load_cifar100(dir.path(), data::cifar_labels::coarse);
    CHECK(coarse.train.labels == std::vector<std::int32_t>{1, 2, 19});
    CHECK(coarse.test.num_classes == 20);
    CHECK(coarse.test.class_names.at(19) == "coarse19");
    std::filesystem::remove(dir / "test.bin");
    CHECK_THROWS_WITH(data::load_cifar100(dir.path()),
                      Contains((dir / "test.bin").string()) && Contains("not found"));
}
