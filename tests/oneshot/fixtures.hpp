#pragma once
// Shared by the one-shot tests: a small cell-network configuration and a small image task it
// learns within an epoch or two.

#include <cstddef>
#include <cstdint>
#include <xnas/core/rng.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/evaluate/cell_builder.hpp>

namespace oneshot_fixtures {

/// 8x8 grey images, 3 classes, 4 channels, 2 stages.
inline xnas::cell_builder_options small_cells() {
    return {.input = {1, 8, 8}, .classes = 3, .channels = 4, .stages = 2};
}

/// Images of 3 classes told apart by where a bright square sits.
inline xnas::data::dataset<float> position_task(std::size_t n, xnas::rng& g) {
    xnas::data::dataset<float> ds;
    ds.x = xnas::nn::array<float>::from_shape({n, 1, 8, 8});
    ds.labels.resize(n);
    ds.num_classes = 3;
    for (std::size_t i = 0; i < n; ++i) {
        ds.labels[i] = static_cast<std::int32_t>(i % 3);
        for (std::size_t p = 0; p < 64; ++p)
            ds.x.data()[i * 64 + p] = static_cast<float>(g.uniform(-0.3, 0.3));
        const std::size_t r0 = 2 * static_cast<std::size_t>(ds.labels[i]);
        for (std::size_t r = r0; r < r0 + 2; ++r)
            for (std::size_t c = r0; c < r0 + 2; ++c)
                ds.x.data()[i * 64 + r * 8 + c] += 1.0f;
    }
    return ds;
}

} // namespace oneshot_fixtures
