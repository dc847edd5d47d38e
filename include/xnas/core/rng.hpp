#pragma once
// xnas::rng, the one random generator every random choice in xnas takes explicitly, with
// distributions implemented here (not <random>'s, whose output differs between standard
// libraries) so that the same seed gives the same study on every platform.

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <vector>

namespace xnas {

/// xoshiro256** (Blackman & Vigna, 2018, arXiv:1805.01407), seeded through splitmix64.
/// Satisfies std::uniform_random_bit_generator. Copying a generator copies its stream.
class rng {
  public:
    using result_type = std::uint64_t;

    explicit rng(std::uint64_t seed = 0x9E3779B97F4A7C15ULL) { reseed(seed); }

    void reseed(std::uint64_t seed) {
        for (auto& word : state_) {
            seed += 0x9E3779B97F4A7C15ULL;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
            word = z ^ (z >> 31);
        }
    }

    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

    result_type operator()() {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    /// An independent generator for a sub-task (a worker, a trial), derived deterministically.
    rng split() { return rng((*this)() ^ 0xD1B54A32D192ED03ULL); }

    /// Uniform integer in [0, n). Throws std::invalid_argument when n == 0.
    std::uint64_t below(std::uint64_t n) {
        if (n == 0)
            throw std::invalid_argument("xnas::rng::below: n must be positive");
        // Lemire's nearly-divisionless method would be faster; rejection keeps it obviously
        // unbiased.
        const std::uint64_t limit = max() - max() % n;
        std::uint64_t x;
        do {
            x = (*this)();
        } while (x >= limit);
        return x % n;
    }

    /// Uniform integer in [lo, hi] (inclusive).
    std::int64_t between(std::int64_t lo, std::int64_t hi) {
        if (hi < lo)
            throw std::invalid_argument("xnas::rng::between: hi < lo");
        return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
    }

    /// Uniform double in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

    /// Uniform double in [lo, hi).
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

    /// Standard normal by Box-Muller (one value per call; the pair's twin is discarded so the
    /// generator carries no hidden state beyond its four words).
    double normal() {
        double u1;
        do {
            u1 = uniform();
        } while (u1 <= 0.0);
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }

    double normal(double mean, double stddev) { return mean + stddev * normal(); }

    /// True with probability p.
    bool bernoulli(double p) { return uniform() < p; }

    /// In-place Fisher-Yates shuffle.
    template <class RandomIt>
    void shuffle(RandomIt first, RandomIt last) {
        const auto n = last - first;
        for (auto i = n - 1; i > 0; --i) {
            const auto j = static_cast<decltype(i)>(below(static_cast<std::uint64_t>(i) + 1));
            std::swap(first[i], first[j]);
        }
    }

    /// Index drawn with probability proportional to weights (non-negative, not all zero).
    std::size_t categorical(const std::vector<double>& weights) {
        double total = 0;
        for (double w : weights) {
            if (!(w >= 0) || !std::isfinite(w))
                throw std::invalid_argument(
                    "xnas::rng::categorical: weights must be finite and >= 0");
            total += w;
        }
        if (!(total > 0))
            throw std::invalid_argument("xnas::rng::categorical: weights sum to zero");
        double r = uniform() * total;
        for (std::size_t i = 0; i < weights.size(); ++i) {
            if (r < weights[i])
                return i;
            r -= weights[i];
        }
        for (std::size_t i = weights.size(); i-- > 0;)
            if (weights[i] > 0)
                return i;
        return 0;
    }

    /// The generator's full state, for checkpoints (journals restore strategies by replay instead).
    const std::uint64_t* state() const { return state_; }

  private:
    static constexpr std::uint64_t rotl(std::uint64_t x, int k) {
        return (x << k) | (x >> (64 - k));
    }
    std::uint64_t state_[4]{};
};

} // namespace xnas
