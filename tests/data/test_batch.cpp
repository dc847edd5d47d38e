#include <catch2/catch.hpp>
#include <cstring>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/data/augment.hpp>
#include <xnas/data/batch.hpp>
#include <xnas/data/split.hpp>
#include <xtensor/xview.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {

/// n images (n, 2, 3, 4) whose every value encodes (sample, channel, row, column).
data::dataset<float> images(std::size_t n) {
    data::dataset<float> ds;
    ds.x = nn::array<float>::from_shape({n, 2, 3, 4});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < 2; ++c)
            for (std::size_t r = 0; r < 3; ++r)
                for (std::size_t q = 0; q < 4; ++q)
                    ds.x(i, c, r, q) = static_cast<float>(1000 * i + 100 * c + 10 * r + q + 1);
    for (std::size_t i = 0; i < n; ++i)
        ds.labels.push_back(static_cast<std::int32_t>(i % 5));
    ds.num_classes = 5;
    return ds;
}

} // namespace

TEST_CASE("batches cover every index exactly once per epoch", "[data][batch]") {
    const auto ds = images(23);
    data::batcher<float> b(ds, 5);
    CHECK(b.batch_count() == 5);
    CHECK(b.size_of(4) == 3);
    rng g(11);
    nn::array<float> x;
    std::vector<std::int32_t> y;
    std::vector<std::size_t> first_order;
    for (int epoch = 0; epoch < 3; ++epoch) {
        b.new_epoch(g);
        std::vector<int> seen(23, 0);
        for (std::size_t k = 0; k < b.batch_count(); ++k) {
            b.copy(k, x, y);
            const auto idx = b.indices(k);
            REQUIRE(x.shape() == std::vector<std::size_t>{idx.size(), 2, 3, 4});
            REQUIRE(y.size() == idx.size());
            for (std::size_t j = 0; j < idx.size(); ++j) {
                ++seen[idx[j]];
                // The copied row is sample idx[j], with its label.
                CHECK(x(j, 1, 2, 3) == ds.x(idx[j], 1, 2, 3));
                CHECK(x(j, 0, 0, 0) == static_cast<float>(1000 * idx[j] + 1));
                CHECK(y[j] == ds.labels[idx[j]]);
            }
        }
        CHECK(seen == std::vector<int>(23, 1));
        if (epoch == 0)
            first_order = b.order();
        else
            CHECK(b.order() != first_order); // reshuffled every epoch
    }
    // Same seed, same epochs.
    data::batcher<float> again(ds, 5);
    rng g2(11);
    again.new_epoch(g2);
    CHECK(again.order() == first_order);
    CHECK_THROWS_AS(b.copy(5, x, y), std::out_of_range);
}

TEST_CASE("batcher drops the last partial batch on request and keeps order unshuffled",
          "[data][batch]") {
    const auto ds = images(23);
    data::batcher<float> b(ds, 5, {.shuffle = false, .drop_last = true});
    CHECK(b.batch_count() == 4);
    rng g(1);
    b.new_epoch(g);
    CHECK(b.indices(3)[4] == 19);
    nn::array<float> x;
    std::vector<std::int32_t> y;
    b.copy(3, x, y);
    CHECK(x.shape()[0] == 5);
    CHECK(y == std::vector<std::int32_t>{0, 1, 2, 3, 4});
    CHECK_THROWS_WITH(b.copy(4, x, y), Contains("batch 4") && Contains("4 batches"));
    CHECK_THROWS_AS(data::batcher<float>(ds, 0), std::invalid_argument);
    data::batcher<float> exact(ds, 23, {.shuffle = true, .drop_last = true});
    CHECK(exact.batch_count() == 1);
}

TEST_CASE("flip twice is the identity and mirrors columns", "[data][augment]") {
    auto ds = images(3);
    const nn::array<float> original = ds.x;
    data::flip_horizontal(ds.x, 1);
    CHECK(ds.x(1, 1, 2, 0) == original(1, 1, 2, 3));
    CHECK(ds.x(1, 0, 1, 1) == original(1, 0, 1, 2));
    CHECK(static_cast<bool>(xt::view(ds.x, 0) == xt::view(original, 0))); // others untouched
    data::flip_horizontal(ds.x, 1);
    CHECK(static_cast<bool>(ds.x == original));

    rng g(9);
    data::random_flip(ds.x, g, 1.0);
    for (std::size_t i = 0; i < 3; ++i)
        CHECK(ds.x(i, 0, 0, 0) == original(i, 0, 0, 3));
    data::random_flip(ds.x, g, 1.0);
    CHECK(static_cast<bool>(ds.x == original));
    data::random_flip(ds.x, g, 0.0);
    CHECK(static_cast<bool>(ds.x == original));

    nn::array<float> flat = nn::array<float>::from_shape({2, 5});
    CHECK_THROWS_AS(data::random_flip(flat, g), shape_error);
    CHECK_THROWS_WITH(data::flip_horizontal(ds.x, 3), Contains("image 3"));
}

TEST_CASE("shift moves pixels and fills with the fill value", "[data][augment]") {
    for (std::ptrdiff_t dy = -3; dy <= 3; ++dy)
        for (std::ptrdiff_t dx = -4; dx <= 4; ++dx) {
            auto ds = images(2);
            const nn::array<float> original = ds.x;
            data::shift(ds.x, 1, dy, dx, -7.0f);
            for (std::size_t c = 0; c < 2; ++c)
                for (std::ptrdiff_t r = 0; r < 3; ++r)
                    for (std::ptrdiff_t q = 0; q < 4; ++q) {
                        const std::ptrdiff_t sr = r - dy, sq = q - dx;
                        const bool inside = sr >= 0 && sr < 3 && sq >= 0 && sq < 4;
                        const float want = inside ? original(1, c, static_cast<std::size_t>(sr),
                                                             static_cast<std::size_t>(sq))
                                                  : -7.0f;
                        INFO("dy " << dy << " dx " << dx << " c " << c << " r " << r << " q " << q);
                        REQUIRE(ds.x(1, c, static_cast<std::size_t>(r),
                                     static_cast<std::size_t>(q)) == want);
                    }
            REQUIRE(static_cast<bool>(xt::view(ds.x, 0) == xt::view(original, 0)));
        }
}

TEST_CASE("random crop keeps the shape and shifts each image by at most the padding",
          "[data][augment]") {
    auto ds = images(40);
    const nn::array<float> original = ds.x;
    rng g(21);
    data::random_crop(ds.x, 0, g);
    CHECK(static_cast<bool>(ds.x == original));
    data::random_crop(ds.x, 1, g);
    CHECK(ds.x.shape() == original.shape());
    int moved = 0;
    for (std::size_t i = 0; i < 40; ++i) {
        // Recover the shift from where the (non-zero, unique) values landed.
        bool found = false;
        for (std::ptrdiff_t dy = -1; dy <= 1 && !found; ++dy)
            for (std::ptrdiff_t dx = -1; dx <= 1 && !found; ++dx) {
                nn::array<float> one = xt::view(original, xt::range(i, i + 1));
                data::shift(one, 0, dy, dx);
                if (static_cast<bool>(xt::view(one, 0) == xt::view(ds.x, i))) {
                    found = true;
                    moved += (dy != 0 || dx != 0);
                }
            }
        CHECK(found);
    }
    CHECK(moved > 20); // 8 of 9 shifts move the image

    // Same seed, same augmentation; crop then flip through augment().
    auto a = images(8), b = images(8);
    rng ga(4), gb(4);
    data::augment(a.x, {.crop_padding = 2, .flip_probability = 0.5}, ga);
    data::augment(b.x, {.crop_padding = 2, .flip_probability = 0.5}, gb);
    CHECK(static_cast<bool>(a.x == b.x));
    CHECK(a.x.shape() == std::vector<std::size_t>{8, 2, 3, 4});
}

TEST_CASE("random erasing replaces one rectangle per chosen image, the same in every channel",
          "[data][augment]") {
    // Pixel values 1..200 and an erase range [500, 600] tell erased pixels apart.
    auto make = [] {
        nn::array<float> x = nn::array<float>::from_shape({60, 2, 10, 10});
        for (std::size_t k = 0; k < x.size(); ++k)
            x.data()[k] = static_cast<float>(k % 200 + 1);
        return x;
    };
    const nn::array<float> original = make();
    nn::array<float> x = make();
    rng g(8);
    data::random_erase(x, g, 0.5, 500, 600);
    std::size_t erased_images = 0;
    for (std::size_t i = 0; i < 60; ++i) {
        std::size_t r0 = 10, r1 = 0, q0 = 10, q1 = 0, count = 0;
        for (std::size_t r = 0; r < 10; ++r)
            for (std::size_t q = 0; q < 10; ++q) {
                const bool e0 = x(i, 0, r, q) != original(i, 0, r, q);
                const bool e1 = x(i, 1, r, q) != original(i, 1, r, q);
                REQUIRE(e0 == e1); // the same rectangle in every channel
                if (!e0)
                    continue;
                for (std::size_t c = 0; c < 2; ++c) {
                    CHECK(x(i, c, r, q) >= 500);
                    CHECK(x(i, c, r, q) <= 600);
                }
                ++count;
                r0 = std::min(r0, r), r1 = std::max(r1, r), q0 = std::min(q0, q),
                q1 = std::max(q1, q);
            }
        if (count == 0)
            continue;
        ++erased_images;
        INFO("image " << i);
        CHECK(count == (r1 - r0 + 1) * (q1 - q0 + 1)); // a full rectangle
        CHECK(count >= 1);
        CHECK(count <= 45); // 40 % of 100, plus rounding of each side
        CHECK(r1 - r0 + 1 < 10);
        CHECK(q1 - q0 + 1 < 10);
    }
    // About half the images, each erased with probability 0.5.
    CHECK(erased_images >= 18);
    CHECK(erased_images <= 42);

    // Same seed, same erasing; probability 0 changes nothing; an empty range is an error.
    nn::array<float> a = make(), b = make();
    rng ga(3), gb(3);
    data::augment(
        a, {.flip_probability = 0, .erase_probability = 1, .erase_low = 500, .erase_high = 600},
        ga);
    data::augment(
        b, {.flip_probability = 0, .erase_probability = 1, .erase_low = 500, .erase_high = 600},
        gb);
    CHECK(static_cast<bool>(a == b));
    CHECK_FALSE(static_cast<bool>(a == original));
    nn::array<float> untouched = make();
    data::random_erase(untouched, g, 0.0);
    CHECK(static_cast<bool>(untouched == original));
    CHECK_THROWS_WITH(data::random_erase(untouched, g, 1.0, 2.0, 1.0), Contains("high"));
}

TEST_CASE("augment pads the crop with the fill value", "[data][augment]") {
    // A constant image: after any non-zero shift, exactly the pixels shifted in hold the fill.
    nn::array<float> x = nn::array<float>::from_shape({30, 1, 6, 6});
    std::fill(x.begin(), x.end(), 1.0f);
    rng g(5);
    data::augment(x, {.crop_padding = 2, .flip_probability = 0, .fill = -0.8}, g);
    std::size_t filled = 0;
    for (float v : x) {
        CHECK((v == 1.0f || v == -0.8f));
        filled += v == -0.8f;
    }
    CHECK(filled > 0);
}

TEST_CASE("a batcher takes back an order it gave, and only a permutation", "[data][batch]") {
    const auto ds = images(10);
    data::batcher<float> a(ds, 4), b(ds, 4);
    rng g(3);
    a.new_epoch(g);
    b.set_order(a.order());
    CHECK(b.order() == a.order());
    rng ga(5), gb(5); // the same next shuffle from the same order
    a.new_epoch(ga);
    b.new_epoch(gb);
    CHECK(b.order() == a.order());
    CHECK_THROWS_WITH(b.set_order({0, 1, 2}), Contains("permutation of the 10 sample indices"));
    CHECK_THROWS_WITH(b.set_order({0, 1, 2, 3, 4, 5, 6, 7, 8, 8}), Contains("not one"));
    CHECK_THROWS_WITH(b.set_order({0, 1, 2, 3, 4, 5, 6, 7, 8, 10}), Contains("not one"));
}

TEST_CASE("a regression set's subsets, split and batches carry each sample's target row",
          "[data][batch]") {
    data::dataset<float> ds;
    const std::size_t n = 17;
    ds.x = nn::array<float>::from_shape({n, 3});
    ds.targets = nn::array<float>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t f = 0; f < 3; ++f)
            ds.x(i, f) = static_cast<float>(10 * i + f);
        ds.targets(i, 0) = static_cast<float>(i);
        ds.targets(i, 1) = -static_cast<float>(i);
    }
    REQUIRE(ds.regression());
    CHECK(ds.size() == n);
    CHECK(ds.target_size() == 2);
    CHECK_NOTHROW(ds.validate());

    const auto sub = ds.subset(std::vector<std::size_t>{4, 1, 4});
    REQUIRE(sub.size() == 3);
    CHECK(sub.targets(0, 0) == 4.0f);
    CHECK(sub.targets(1, 1) == -1.0f);
    CHECK(sub.x(2, 2) == 42.0f);
    CHECK(sub.labels.empty());

    rng g(3);
    const auto parts = data::split_dataset(ds, 0.3, g);
    CHECK(parts.validation.size() == 5); // round(0.3 * 17)
    CHECK(parts.train.size() == 12);
    for (const auto* part : {&parts.train, &parts.validation})
        for (std::size_t i = 0; i < part->size(); ++i)
            CHECK(part->x(i, 0) == 10 * part->targets(i, 0));

    data::batcher<float> b(ds, 5);
    g = rng(9);
    b.new_epoch(g);
    nn::array<float> x, t;
    std::size_t seen = 0;
    for (std::size_t k = 0; k < b.batch_count(); ++k) {
        b.copy(k, x, t);
        REQUIRE(t.shape()[0] == x.shape()[0]);
        for (std::size_t i = 0; i < t.shape()[0]; ++i) {
            CHECK(x(i, 1) == 10 * t(i, 0) + 1);
            CHECK(t(i, 1) == -t(i, 0));
        }
        seen += t.shape()[0];
    }
    CHECK(seen == n);

    ds.labels.push_back(1); // a regression set with labels is malformed
    CHECK_THROWS_WITH(ds.validate(), Contains("targets (N, K)"));
}
