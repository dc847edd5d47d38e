#include "gradient_check.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/nn/layers/merge.hpp>

using namespace xnas;

namespace {

// L = sum(merge(a, b) * r): the gradient for input i, against central differences.
template <class T, class Forward, class Backward>
void check_merge_gradients(std::vector<nn::array<T>> in, Forward fwd, Backward bwd, rng& g) {
    auto ptrs = [&] {
        std::vector<const nn::array<T>*> p;
        for (auto& a : in)
            p.push_back(&a);
        return p;
    };
    nn::array<T> y;
    fwd(ptrs(), y);
    nn::array<T> r = y;
    test::fill_uniform(r, g);
    auto loss = [&] {
        nn::array<T> out;
        fwd(ptrs(), out);
        double s = 0;
        for (std::size_t e = 0; e < out.size(); ++e)
            s += out.data()[e] * r.data()[e];
        return s;
    };
    const double eps = 1e-6;
    for (std::size_t i = 0; i < in.size(); ++i) {
        nn::array<T> dx;
        bwd(r, i, dx, false);
        REQUIRE(dx.shape() == in[i].shape());
        for (std::size_t e = 0; e < in[i].size(); ++e) {
            const T saved = in[i].data()[e];
            in[i].data()[e] = saved + eps;
            const double up = loss();
            in[i].data()[e] = saved - eps;
            const double down = loss();
            in[i].data()[e] = saved;
            CHECK(test::relative_error(dx.data()[e], (up - down) / (2 * eps)) < 1e-6);
        }
        // accumulate adds on top of what is there
        nn::array<T> acc = dx;
        bwd(r, i, acc, true);
        for (std::size_t e = 0; e < dx.size(); ++e)
            CHECK(acc.data()[e] == Approx(2 * dx.data()[e]));
    }
}

} // namespace

TEST_CASE("residual add sums inputs and passes dy to each", "[nn][merge]") {
    rng g(3);
    std::vector<nn::array<double>> in(3, nn::array<double>::from_shape({2, 3, 2, 2}));
    for (auto& a : in)
        test::fill_uniform(a, g);
    nn::array<double> y;
    std::vector<const nn::array<double>*> p{&in[0], &in[1], &in[2]};
    nn::residual_add<double>::forward(p, y);
    for (std::size_t e = 0; e < y.size(); ++e)
        CHECK(y.data()[e] == Approx(in[0].data()[e] + in[1].data()[e] + in[2].data()[e]));
    check_merge_gradients<double>(
        in, [](auto p, auto& y) { nn::residual_add<double>::forward(p, y); },
        [](const auto& dy, std::size_t i, auto& dx, bool acc) {
            nn::residual_add<double>::backward(dy, i, dx, acc);
        },
        g);
    std::array<nn::shape, 3> shapes{nn::shape{3, 2, 2}, nn::shape{3, 2, 2}, nn::shape{3, 2, 2}};
    CHECK(nn::residual_add<double>::output_shape(shapes) == nn::shape{3, 2, 2});
    CHECK(nn::residual_add<double>::flops(shapes) == 24);
}

TEST_CASE("concat joins along dim 1 and splits the gradient back", "[nn][merge]") {
    rng g(4);
    std::vector<nn::array<double>> in{nn::array<double>::from_shape({2, 1, 2, 3}),
                                      nn::array<double>::from_shape({2, 3, 2, 3})};
    for (auto& a : in)
        test::fill_uniform(a, g);
    nn::array<double> y;
    std::vector<const nn::array<double>*> p{&in[0], &in[1]};
    nn::concat<double>::forward(p, y);
    REQUIRE(y.shape() == std::vector<std::size_t>{2, 4, 2, 3});
    for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t c = 0; c < 4; ++c)
            for (std::size_t h = 0; h < 2; ++h)
                for (std::size_t w = 0; w < 3; ++w)
                    CHECK(y(n, c, h, w) == (c < 1 ? in[0](n, c, h, w) : in[1](n, c - 1, h, w)));
    const std::vector<nn::shape> sample{{1, 2, 3}, {3, 2, 3}};
    check_merge_gradients<double>(
        in, [](auto p, auto& y) { nn::concat<double>::forward(p, y); },
        [&](const auto& dy, std::size_t i, auto& dx, bool acc) {
            nn::concat<double>::backward(dy, i == 0 ? 0 : 1, sample[i], dx, acc);
        },
        g);
    CHECK(nn::concat<double>::output_shape(sample) == nn::shape{4, 2, 3});
}

TEST_CASE("concat of feature vectors", "[nn][merge]") {
    nn::array<float> a = {{1, 2}, {3, 4}}, y;
    nn::array<float> b = nn::array<float>::from_shape({2, 1});
    b(0, 0) = 5;
    b(1, 0) = 6;
    std::vector<const nn::array<float>*> p{&a, &b};
    nn::concat<float>::forward(p, y);
    CHECK(static_cast<bool>(y == nn::array<float>{{1, 2, 5}, {3, 4, 6}}));
}

TEST_CASE("merges reject mismatched shapes naming the input", "[nn][merge]") {
    std::vector<nn::shape> bad_add{{4}, {5}};
    CHECK_THROWS_AS(nn::residual_add<float>::output_shape(bad_add), shape_error);
    CHECK_THROWS_WITH(nn::residual_add<float>::output_shape(bad_add),
                      Catch::Matchers::Contains("input 1 has shape (5)") &&
                          Catch::Matchers::Contains("(4)"));
    std::vector<nn::shape> bad_concat{{2, 4, 4}, {3, 4, 5}};
    CHECK_THROWS_WITH(nn::concat<float>::output_shape(bad_concat),
                      Catch::Matchers::Contains("input 1 has shape (3, 4, 5)"));
    CHECK(nn::parse_merge_op("concat") == nn::merge_op::concat);
    CHECK_THROWS_AS(nn::parse_merge_op("mul"), parse_error);
}
