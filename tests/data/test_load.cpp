#include "data_test_files.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/data/load.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

TEST_CASE("data formats and tasks print and parse", "[data][load]") {
    for (auto f : {data::data_format::automatic, data::data_format::idx, data::data_format::cifar10,
                   data::data_format::cifar100, data::data_format::npy, data::data_format::csv})
        CHECK(data::parse_data_format(data::to_string(f)) == f);
    CHECK(data::to_string(data::data_format::automatic) == "auto");
    CHECK(data::to_string(data::data_format::cifar100) == "cifar100");
    CHECK_THROWS_AS(data::parse_data_format("npz"), parse_error);
    CHECK_THROWS_WITH(data::parse_data_format("npz"),
                      Contains("\"npz\"") && Contains("auto, idx, cifar10, cifar100, npy or csv"));
    CHECK(data::parse_task("regression") == data::task::regression);
    CHECK(data::to_string(data::task::classification) == "classification");
    CHECK_THROWS_AS(data::parse_task("ranking"), parse_error);
}

TEST_CASE("detect_format recognises each layout by its file names", "[data][load]") {
    test::temp_dir top;
    const auto make = [&](const std::string& sub, const std::vector<std::string>& files) {
        const auto d = top / sub;
        std::filesystem::create_directories(d);
        for (const auto& f : files) {
            std::filesystem::create_directories((d / f).parent_path());
            test::write_text(d / f, "");
        }
        return d;
    };
    using data::data_format;
    CHECK(data::detect_format(make("idx", {"train-images-idx3-ubyte.gz"})) == data_format::idx);
    CHECK(data::detect_format(make("idx4", {"test-labels-idx1-ubyte"})) == data_format::idx);
    CHECK(data::detect_format(make("c10", {"data_batch_3.bin"})) == data_format::cifar10);
    CHECK(data::detect_format(make("c10up", {"cifar-10-batches-bin/test_batch.bin"})) ==
          data_format::cifar10);
    CHECK(data::detect_format(make("c100", {"test.bin", "fine_label_names.txt"})) ==
          data_format::cifar100);
    CHECK(data::detect_format(make("npy", {"x_train.npy", "notes.txt"})) == data_format::npy);
    CHECK(data::detect_format(make("csv", {"train.csv"})) == data_format::csv);

    const auto none = make("none", {"readme.txt", "train-images.idx", "x_train.npz"});
    CHECK_THROWS_AS(data::detect_format(none), file_error);
    CHECK_THROWS_WITH(data::detect_format(none),
                      Contains(none.string()) && Contains("none of the data layouts") &&
                          Contains("train-images-idx3-ubyte") && Contains("data_batch_1.bin") &&
                          Contains("train.bin") && Contains("x_train.npy") &&
                          Contains("train.csv"));
    const auto both = make("both", {"x_train.npy", "train.csv"});
    CHECK_THROWS_WITH(data::detect_format(both),
                      Contains(both.string()) && Contains("several data layouts (npy, csv)"));
    CHECK_THROWS_WITH(data::detect_format(top / "absent"),
                      Contains((top / "absent").string()) && Contains("not found"));
    CHECK_THROWS_WITH(data::detect_format(top / "csv" / "train.csv"),
                      Contains("is not a directory"));
}

TEST_CASE("load_train_test reads an IDX folder of any shape and counts classes over both",
          "[data][load][idx]") {
    test::temp_dir dir;
    // (4, 3) int32 features, test- file names, gzip for one of them.
    std::vector<std::uint8_t> feats;
    for (std::uint8_t v = 0; v < 12; ++v)
        feats.insert(feats.end(), {0, 0, 0, static_cast<std::uint8_t>(v * 3)});
    test::write_bytes(dir / "train-images-idx2-ubyte", test::idx_bytes(0x0C, {4, 3}, feats));
    test::write_bytes(dir / "train-labels-idx1-ubyte", test::idx_bytes(0x08, {4}, {0, 1, 2, 1}));
    test::write_gzip(dir / "test-images-idx2-ubyte.gz",
                     test::idx_bytes(0x0C, {2, 3}, {feats.begin(), feats.begin() + 24}));
    test::write_bytes(dir / "test-labels-idx1-ubyte", test::idx_bytes(0x08, {2}, {4, 0}));
    const auto tt = data::load_train_test(dir.path());
    CHECK(tt.train.x.shape() == std::vector<std::size_t>{4, 3});
    CHECK(tt.train.x(3, 2) == 33.0f);
    CHECK(tt.test.x(1, 0) == 9.0f);
    CHECK(tt.train.labels == std::vector<std::int32_t>{0, 1, 2, 1});
    CHECK(tt.test.labels == std::vector<std::int32_t>{4, 0});
    CHECK(tt.train.num_classes == 5); // the test set's label 4 counts
    CHECK(tt.test.num_classes == 5);

    // Regression: the label files become targets (N, 1).
    data::load_options reg;
    reg.kind = data::task::regression;
    const auto rt = data::load_train_test(dir.path(), reg);
    CHECK(rt.train.targets.shape() == std::vector<std::size_t>{4, 1});
    CHECK(rt.test.targets(0, 0) == 4.0f);
    CHECK(rt.train.num_classes == 0);

    // Test samples of another shape: both files and shapes named.
    test::write_gzip(dir / "test-images-idx2-ubyte.gz",
                     test::idx_bytes(0x0C, {2, 2}, {feats.begin(), feats.begin() + 16}));
    CHECK_THROWS_AS(data::load_train_test(dir.path()), file_error);
    CHECK_THROWS_WITH(data::load_train_test(dir.path()),
                      Contains((dir / "train-images-idx2-ubyte").string()) && Contains("(3)") &&
                          Contains((dir / "test-images-idx2-ubyte.gz").string()) &&
                          Contains("(2)"));
    // Two candidate files for one role.
    test::write_bytes(dir / "train-images-idx3-ubyte", test::idx_bytes(0x08, {4, 1, 3}, {}));
    CHECK_THROWS_WITH(data::load_train_test(dir.path()),
                      Contains((dir / "train-images-idx2-ubyte").string()) &&
                          Contains((dir / "train-images-idx3-ubyte").string()) &&
                          Contains("keep one"));
    std::filesystem::remove(dir / "train-images-idx3-ubyte");
    std::filesystem::remove(dir / "test-labels-idx1-ubyte");
    CHECK_THROWS_WITH(data::load_train_test(dir.path()),
                      Contains((dir / "t10k-labels-idx1-ubyte").string()) && Contains("not found"));
}

TEST_CASE("load_train_test reads a folder of .npy arrays for classification and regression",
          "[data][load][npy]") {
    test::temp_dir dir;
    std::vector<float> xtr(4 * 2 * 3);
    for (std::size_t i = 0; i < xtr.size(); ++i)
        xtr[i] = static_cast<float>(i) * 0.5f - 3.0f;
    data::write_npy(dir / "x_train.npy", {4, 2, 3}, xtr.data());
    const std::vector<std::int64_t> ytr = {0, 2, 1, 2};
    data::write_npy(dir / "y_train.npy", {4}, ytr.data());
    // The test set: float64 in Fortran order, labels as whole floats of shape (N, 1).
    std::vector<double> xte_f(2 * 2 * 3);
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 2; ++j)
            for (std::size_t k = 0; k < 3; ++k)
                xte_f[i + 2 * (j + 2 * k)] = static_cast<double>(100 * i + 10 * j + k);
    test::write_bytes(
        dir / "x_test.npy",
        test::npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2, 3), }",
                       test::le_bytes(xte_f)));
    const std::vector<double> yte = {3, 0};
    data::write_npy(dir / "y_test.npy", {2, 1}, yte.data());

    REQUIRE(data::detect_format(dir.path()) == data::data_format::npy);
    const auto tt = data::load_train_test(dir.path());
    CHECK(tt.train.x.shape() == std::vector<std::size_t>{4, 2, 3});
    CHECK(std::vector<float>(tt.train.x.begin(), tt.train.x.end()) == xtr);
    CHECK(tt.test.x.shape() == std::vector<std::size_t>{2, 2, 3});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 2; ++j)
            for (std::size_t k = 0; k < 3; ++k)
                REQUIRE(tt.test.x(i, j, k) == static_cast<float>(100 * i + 10 * j + k));
    CHECK(tt.train.labels == std::vector<std::int32_t>{0, 2, 1, 2});
    CHECK(tt.test.labels == std::vector<std::int32_t>{3, 0});
    CHECK(tt.train.num_classes == 4); // over train and test together
    CHECK(tt.test.num_classes == 4);
    CHECK_FALSE(tt.train.regression());

    // Regression: y (N) gives targets (N, 1), y (N, K) targets (N, K).
    data::load_options reg;
    reg.kind = data::task::regression;
    const std::vector<float> ytr2 = {0.5f, -1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f};
    data::write_npy(dir / "y_train.npy", {4, 2}, ytr2.data());
    const std::vector<float> yte2 = {1.25f, 2.0f, -3.0f, 4.0f};
    data::write_npy(dir / "y_test.npy", {2, 2}, yte2.data());
    const auto rt = data::load_train_test(dir.path(), reg);
    CHECK(rt.train.targets.shape() == std::vector<std::size_t>{4, 2});
    CHECK(std::vector<float>(rt.train.targets.begin(), rt.train.targets.end()) == ytr2);
    CHECK(std::vector<float>(rt.test.targets.begin(), rt.test.targets.end()) == yte2);
    CHECK(rt.train.labels.empty());
    CHECK(rt.test.num_classes == 0);
    data::write_npy(dir / "y_test.npy", {2}, yte2.data());
    CHECK_THROWS_WITH(data::load_train_test(dir.path(), reg),
                      Contains((dir / "y_train.npy").string()) &&
                          Contains((dir / "y_test.npy").string()) && Contains("2 per sample") &&
                          Contains(" 1"));
    // One-hot rows are not class labels.
    CHECK_THROWS_WITH(data::load_train_test(dir.path()), Contains((dir / "y_train.npy").string()) &&
                                                             Contains("(4, 2)") &&
                                                             Contains("(N) or (N, 1)"));
    data::write_npy(dir / "y_train.npy", {4}, ytr.data());
    data::write_npy(dir / "y_test.npy", {2}, yte.data());

    // Unsigned-byte samples are pixels, scaled to [0, 1].
    const std::vector<std::uint8_t> pixels = {0, 255, 51, 102, 0, 0, 0, 0, 0, 0,  0,  0,
                                              1, 2,   3,  4,   5, 6, 7, 8, 9, 10, 11, 12};
    data::write_npy(dir / "x_train.npy", {4, 6}, pixels.data());
    data::write_npy(dir / "x_test.npy", {2, 6}, pixels.data());
    const auto px = data::load_train_test(dir.path());
    CHECK(px.train.x(0, 1) == 1.0f);
    CHECK(px.train.x(0, 2) == 0.2f);
    CHECK(px.test.x(1, 0) == 0.0f);
}

TEST_CASE("load_train_test errors on .npy folders name the files and element indices",
          "[data][load][npy]") {
    test::temp_dir dir;
    const std::vector<float> x = {1, 2, 3, 4, 5, 6};
    data::write_npy(dir / "x_train.npy", {3, 2}, x.data());
    data::write_npy(dir / "x_test.npy", {2, 3}, x.data());
    const std::vector<double> y = {0, 1, 2};
    data::write_npy(dir / "y_train.npy", {3}, y.data());
    data::write_npy(dir / "y_test.npy", {2}, y.data());
    const std::string xtr = (dir / "x_train.npy").string(), xte = (dir / "x_test.npy").string();
    const std::string ytr = (dir / "y_train.npy").string();

    CHECK_THROWS_AS(data::load_train_test(dir.path()), file_error);
    CHECK_THROWS_WITH(data::load_train_test(dir.path()), Contains(xtr) && Contains("shape (2)") &&
                                                             Contains(xte) &&
                                                             Contains("shape (3)"));
    data::write_npy(dir / "x_test.npy", {3, 2}, x.data());
    CHECK_THROWS_WITH(data::load_train_test(dir.path()),
                      Contains("count mismatch") && Contains(xte) && Contains("3 samples") &&
                          Contains((dir / "y_test.npy").string()) && Contains("holds 2"));
    data::write_npy(dir / "x_test.npy", {2, 2}, x.data());

    const std::vector<double> half = {0, 1.5, 2};
    data::write_npy(dir / "y_train.npy", {3}, half.data());
    CHECK_THROWS_WITH(data::load_train_test(dir.path()), Contains(ytr) &&
                                                             Contains("element 1 is 1.5") &&
                                                             Contains("not a whole number"));
    const std::vector<std::int32_t> neg = {0, 1, -3};
    data::write_npy(dir / "y_train.npy", {3}, neg.data());
    CHECK_THROWS_WITH(data::load_train_test(dir.path()),
                      Contains(ytr) && Contains("element 2 is -3"));
    const std::vector<float> nan = {0, 1, std::nanf("")};
    data::write_npy(dir / "y_train.npy", {3}, y.data());
    data::write_npy(dir / "x_train.npy", {3, 1}, nan.data());
    CHECK_THROWS_WITH(data::load_train_test(dir.path()),
                      Contains(xtr) && Contains("element 2") && Contains("not a finite number"));
    data::write_npy(dir / "x_train.npy", {3, 2}, x.data());

    // A forced format names the file it misses.
    std::filesystem::remove(dir / "y_test.npy");
    data::load_options npy;
    npy.format = data::data_format::npy;
    CHECK_THROWS_WITH(data::load_train_test(dir.path(), npy),
                      Contains((dir / "y_test.npy").string()) && Contains("not found"));
    data::load_options c100;
    c100.format = data::data_format::cifar100;
    CHECK_THROWS_WITH(data::load_train_test(dir.path(), c100),
                      Contains((dir / "train.bin").string()) && Contains("not found"));
    data::load_options csv;
    csv.format = data::data_format::csv;
    CHECK_THROWS_WITH(data::load_train_test(dir.path(), csv),
                      Contains((dir / "train.csv").string()) && Contains("not found"));
    CHECK_THROWS_WITH(data::load_train_test(dir / "absent"),
                      Contains((dir / "absent").string()) && Contains("not found"));
}

TEST_CASE("load_train_test reads a CSV folder with one class numbering for both files",
          "[data][load][csv]") {
    test::temp_dir dir;
    test::write_text(dir / "train.csv", "a,label,b\n1,cat,2\n3,dog,4.5\n5,cat,6\n");
    // The test file's columns in another order, and a class the training file lacks.
    test::write_text(dir / "test.csv", "b,a,label\n-1,7,bird\n8,9,dog\n");
    const auto tt = data::load_train_test(dir.path());
    const std::vector<std::string> names = {"bird", "cat", "dog"};
    CHECK(tt.train.class_names == names);
    CHECK(tt.test.class_names == names);
    CHECK(tt.train.labels == std::vector<std::int32_t>{1, 2, 1});
    CHECK(tt.test.labels == std::vector<std::int32_t>{0, 2});
    CHECK(tt.train.num_classes == 3);
    CHECK(tt.test.num_classes == 3);
    CHECK(std::vector<float>(tt.train.x.begin(), tt.train.x.end()) ==
          std::vector<float>{1, 2, 3, 4.5f, 5, 6});
    CHECK(std::vector<float>(tt.test.x.begin(), tt.test.x.end()) ==
          std::vector<float>{7, -1, 9, 8}); // a then b, as in train.csv

    // Integer labels: classes counted over both files.
    test::write_text(dir / "train.csv", "a,label,b\n1,0,2\n3,1,4\n");
    test::write_text(dir / "test.csv", "a,label,b\n1,6,2\n");
    const auto it = data::load_train_test(dir.path());
    CHECK(it.train.num_classes == 7);
    CHECK(it.test.labels == std::vector<std::int32_t>{6});
    CHECK(it.train.class_names.empty());

    // Regression on another column.
    test::write_text(dir / "train.csv", "a,y,b\n1,0.5,2\n3,-1e3,4\n");
    test::write_text(dir / "test.csv", "a,y,b\n1,7.25,2\n");
    data::load_options reg;
    reg.kind = data::task::regression;
    reg.label = "y";
    const auto rt = data::load_train_test(dir.path(), reg);
    CHECK(rt.train.targets.shape() == std::vector<std::size_t>{2, 1});
    CHECK(rt.train.targets(1, 0) == -1000.0f);
    CHECK(rt.test.targets(0, 0) == 7.25f);
    CHECK(rt.train.labels.empty());
    CHECK(rt.train.x(1, 1) == 4.0f);

    test::write_text(dir / "test.csv", "a,y\n1,7.25\n");
    CHECK_THROWS_AS(data::load_train_test(dir.path(), reg), parse_error);
    CHECK_THROWS_WITH(data::load_train_test(dir.path(), reg),
                      Contains((dir / "test.csv").string()) && Contains("no column \"b\""));
    test::write_text(dir / "test.csv", "a,y,b\n1,nan,2\n");
    CHECK_THROWS_WITH(data::load_train_test(dir.path(), reg),
                      Contains((dir / "test.csv").string()) && Contains("line 2") &&
                          Contains("not a finite number"));
    CHECK_THROWS_WITH(data::load_train_test(dir.path()),
                      Contains((dir / "train.csv").string()) && Contains("no column \"label\""));
}

TEST_CASE("load_train_test reads CIFAR folders, for classification only", "[data][load][cifar]") {
    test::temp_dir dir;
    test::write_bytes(dir / "data_batch_1.bin", test::cifar_batch(1, {{0}, {7}}));
    test::write_bytes(dir / "test_batch.bin", test::cifar_batch(2, {{9}}));
    const auto tt = data::load_train_test(dir.path());
    CHECK(tt.train.labels == std::vector<std::int32_t>{0, 7});
    CHECK(tt.test.labels == std::vector<std::int32_t>{9});
    CHECK(tt.train.num_classes == 10);
    CHECK(test::cifar_mismatches(tt.test.x, 0, 2, 1) == 0);
    data::load_options reg;
    reg.kind = data::task::regression;
    CHECK_THROWS_AS(data::load_train_test(dir.path(), reg), std::invalid_argument);
    CHECK_THROWS_WITH(data::load_train_test(dir.path(), reg),
                      Contains(dir.path().string()) && Contains("class labels only"));

    test::temp_dir d100;
    test::write_bytes(d100 / "train.bin", test::cifar_batch(3, {{4, 44}}));
    test::write_bytes(d100 / "test.bin", test::cifar_batch(4, {{5, 55}}));
    data::load_options coarse;
    coarse.cifar100_labels = data::cifar_labels::coarse;
    CHECK(data::load_train_test(d100.path()).test.labels == std::vector<std::int32_t>{55});
    const auto ct = data::load_train_test(d100.path(), coarse);
    CHECK(ct.train.labels == std::vector<std::int32_t>{4});
    CHECK(ct.train.num_classes == 20);
}
