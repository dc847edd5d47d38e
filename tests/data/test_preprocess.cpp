#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/data/split.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {

/// n samples of shape (2, 3) with sample i holding i * 10 + k, labels by `label_of`.
template <class F>
data::dataset<float> make_dataset(std::size_t n, std::size_t classes, F label_of) {
    data::dataset<float> ds;
    ds.x = nn::array<float>::from_shape({n, 2, 3});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = 0; k < 6; ++k)
            ds.x.data()[i * 6 + k] = static_cast<float>(i * 10 + k);
        ds.labels.push_back(static_cast<std::int32_t>(label_of(i)));
    }
    ds.num_classes = classes;
    return ds;
}

} // namespace

TEST_CASE("dataset subset copies samples and labels; class_counts counts", "[data][dataset]") {
    const auto ds = make_dataset(10, 4, [](std::size_t i) { return i % 3; });
    CHECK(ds.size() == 10);
    CHECK(ds.sample_shape() == nn::shape{2, 3});
    CHECK(ds.sample_size() == 6);
    CHECK(ds.class_counts() == std::vector<std::size_t>{4, 3, 3, 0});
    const std::vector<std::size_t> idx = {7, 2, 7};
    const auto sub = ds.subset(idx);
    CHECK(sub.x.shape() == std::vector<std::size_t>{3, 2, 3});
    CHECK(sub.labels == std::vector<std::int32_t>{1, 2, 1});
    CHECK(sub.num_classes == 4);
    CHECK(sub.x(0, 1, 2) == 75.0f);
    CHECK(sub.x(1, 0, 0) == 20.0f);
    CHECK(sub.x(2, 1, 0) == 73.0f);
    const auto head = ds.first(3);
    CHECK(head.labels == std::vector<std::int32_t>{0, 1, 2});
    CHECK(head.x(2, 1, 2) == 25.0f);
    CHECK(ds.first(50).size() == 10);
    const std::vector<std::size_t> bad = {1, 10};
    CHECK_THROWS_WITH(ds.subset(bad), Contains("index 10") && Contains("10 samples"));
    ds.validate();
    auto broken = ds;
    broken.labels.push_back(0);
    CHECK_THROWS_AS(broken.validate(), shape_error);
    broken.labels.pop_back();
    broken.labels[3] = 4;
    CHECK_THROWS_WITH(broken.validate(), Contains("label 4 of sample 3") && Contains("[0, 4)"));
}

TEST_CASE("stratified split keeps class proportions", "[data][split]") {
    // Unbalanced classes: 100, 40, 10 samples, interleaved.
    std::vector<std::int32_t> labels;
    for (int i = 0; i < 100; ++i) {
        labels.push_back(0);
        if (i % 10 < 4)
            labels.push_back(1);
        if (i % 10 == 0)
            labels.push_back(2);
    }
    rng g(42);
    const auto s = data::stratified_split(labels, 0.2, g);
    CHECK(s.validation.size() == 30);
    CHECK(s.train.size() == 120);
    std::vector<int> val_counts(3, 0), train_counts(3, 0);
    for (auto i : s.validation)
        ++val_counts[static_cast<std::size_t>(labels[i])];
    for (auto i : s.train)
        ++train_counts[static_cast<std::size_t>(labels[i])];
    CHECK(val_counts == std::vector<int>{20, 8, 2});
    CHECK(train_counts == std::vector<int>{80, 32, 8});
    // Disjoint, complete, sorted.
    std::set<std::size_t> all(s.train.begin(), s.train.end());
    all.insert(s.validation.begin(), s.validation.end());
    CHECK(all.size() == labels.size());
    CHECK(*all.rbegin() == labels.size() - 1);
    CHECK(std::is_sorted(s.train.begin(), s.train.end()));
    CHECK(std::is_sorted(s.validation.begin(), s.validation.end()));

    rng same(42), other(43);
    CHECK(data::stratified_split(labels, 0.2, same).validation == s.validation);
    CHECK(data::stratified_split(labels, 0.2, other).validation != s.validation);

    rng h(1);
    CHECK(data::stratified_split(labels, 0.0, h).validation.empty());
    CHECK(data::stratified_split(labels, 1.0, h).train.empty());
    CHECK_THROWS_WITH(data::stratified_split(labels, 1.5, h),
                      Contains("1.5") && Contains("[0, 1]"));
    CHECK_THROWS_WITH(data::stratified_split({0, -1}, 0.5, h), Contains("label -1 of sample 1"));
}

TEST_CASE("split_dataset returns the two subsets", "[data][split]") {
    const auto ds = make_dataset(50, 2, [](std::size_t i) { return i < 10 ? 1 : 0; });
    rng g(5);
    const auto parts = data::split_dataset(ds, 0.3, g);
    CHECK(parts.train.size() == 35);
    CHECK(parts.validation.size() == 15);
    CHECK(parts.validation.class_counts() == std::vector<std::size_t>{12, 3});
    for (std::size_t k = 0; k < parts.validation.size(); ++k) {
        // Each copied sample still carries its own label: sample i has x[0] = 10 i.
        const auto i = static_cast<std::size_t>(parts.validation.x(k, 0, 0)) / 10;
        CHECK(parts.validation.labels[k] == (i < 10 ? 1 : 0));
    }
}

TEST_CASE("normalisation gives mean 0 and std 1", "[data][normalize]") {
    rng g(3);
    data::dataset<double> ds;
    ds.x = nn::array<double>::from_shape({40, 3, 4, 5});
    for (std::size_t i = 0; i < ds.x.size(); ++i) {
        const std::size_t c = (i / 20) % 3;
        ds.x.data()[i] = g.normal(static_cast<double>(c) * 5.0 - 2.0, 0.5 + static_cast<double>(c));
    }
    ds.labels.assign(40, 0);
    ds.num_classes = 1;
    auto copy = ds;

    const auto stats = data::standardize(ds);
    REQUIRE(stats.mean.size() == 3);
    CHECK(stats.mean[2] == Approx(8.0).margin(0.3));
    CHECK(stats.stddev[2] == Approx(2.5).margin(0.3));
    const auto after = data::compute_normalization(ds);
    for (std::size_t c = 0; c < 3; ++c) {
        CHECK(after.mean[c] == Approx(0.0).margin(1e-12));
        CHECK(after.stddev[c] == Approx(1.0).epsilon(1e-12));
    }

    data::normalize(copy, data::compute_normalization(copy, data::norm_scope::global));
    const auto global = data::compute_normalization(copy, data::norm_scope::global);
    REQUIRE(global.mean.size() == 1);
    CHECK(global.mean[0] == Approx(0.0).margin(1e-12));
    CHECK(global.stddev[0] == Approx(1.0).epsilon(1e-12));

    // Given statistics, tabular (N, F): features are the channels.
    nn::array<float> tab = {{1, 10}, {3, 30}};
    data::normalize(tab, data::normalization{{2, 20}, {1, 10}});
    CHECK(static_cast<bool>(tab == nn::array<float>{{-1, -1}, {1, 1}}));
    // A constant feature maps to 0 instead of dividing by zero.
    nn::array<float> flat = {{7, 1}, {7, 2}};
    data::normalize(flat, data::compute_normalization(flat));
    CHECK(flat(0, 0) == 0.0f);
    CHECK(flat(1, 1) == 1.0f);

    CHECK_THROWS_AS(data::normalize(tab, data::normalization{{0, 0, 0}, {1, 1, 1}}), shape_error);
    CHECK_THROWS_WITH(data::normalize(tab, data::normalization{{0}, {0}}),
                      Contains("stddev 0") && Contains("stddev > 0"));
    CHECK_THROWS_AS(data::compute_normalization(nn::array<float>::from_shape({0, 3})),
                    std::invalid_argument);
}
