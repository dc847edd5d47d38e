#pragma once
// Test helpers for the data area: a self-deleting temporary directory and writers for small
// IDX (raw or gzip), .npy, CIFAR batch and text files.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>
#include <xnas/core/rng.hpp>
#include <zlib.h>

namespace xnas::test {

/// A fresh directory under temp_directory_path(), removed with its contents on destruction.
class temp_dir {
  public:
    temp_dir() {
        static int counter = 0;
        const auto base = std::filesystem::temp_directory_path();
        for (;;) {
            path_ = base / ("xnas-data-test-" + std::to_string(::getpid()) + "-" +
                            std::to_string(counter++));
            if (std::filesystem::create_directory(path_))
                break;
        }
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

/// The bytes of an IDX file: magic 00 00 type ndims, big-endian dims, then `data`.
inline std::vector<std::uint8_t> idx_bytes(std::uint8_t type,
                                           const std::vector<std::uint32_t>& dims,
                                           const std::vector<std::uint8_t>& data) {
    std::vector<std::uint8_t> out = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
    for (auto d : dims)
        for (int s = 24; s >= 0; s -= 8)
            out.push_back(static_cast<std::uint8_t>(d >> s));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

inline void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out)
        throw std::runtime_error("test: cannot write " + p.string());
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
    if (!out)
        throw std::runtime_error("test: cannot write " + p.string());
}

/// gzip-compresses `bytes` into p with zlib.
inline void write_gzip(const std::filesystem::path& p, const std::vector<std::uint8_t>& bytes) {
    gzFile f = gzopen(p.c_str(), "wb");
    if (!f)
        throw std::runtime_error("test: cannot gzopen " + p.string());
    const int n = bytes.empty() ? 0 : gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    const int closed = gzclose(f);
    if (n != static_cast<int>(bytes.size()) || closed != Z_OK)
        throw std::runtime_error("test: gzwrite failed for " + p.string());
}

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// n images of h x w with pixel (i, r, c) = (i * 7 + r * 3 + c) % 256, and labels i % classes.
struct mnist_like {
    std::vector<std::uint8_t> pixels, labels;
    std::uint32_t n, h, w;
    mnist_like(std::uint32_t n_, std::uint32_t h_, std::uint32_t w_, std::uint32_t classes)
        : n(n_)
        , h(h_)
        , w(w_) {
        for (std::uint32_t i = 0; i < n; ++i) {
            labels.push_back(static_cast<std::uint8_t>(i % classes));
            for (std::uint32_t r = 0; r < h; ++r)
                for (std::uint32_t c = 0; c < w; ++c)
                    pixels.push_back(static_cast<std::uint8_t>((i * 7 + r * 3 + c) % 256));
        }
    }
    std::vector<std::uint8_t> image_file() const { return idx_bytes(0x08, {n, h, w}, pixels); }
    std::vector<std::uint8_t> label_file() const { return idx_bytes(0x08, {n}, labels); }
};

/// The bytes of a .npy file as NumPy writes them: magic, version major.0, the header length (2
/// bytes for 1.0, else 4), `dict` padded with spaces and a newline so that the data starts at
/// a multiple of 64 bytes, then `data`.
inline std::vector<std::uint8_t> npy_file(const std::string& dict,
                                          const std::vector<std::uint8_t>& data, int major = 1) {
    const std::size_t prefix = major == 1 ? 10 : 12;
    std::string header = dict;
    while ((prefix + header.size() + 1) % 64)
        header += ' ';
    header += '\n';
    std::vector<std::uint8_t> out = {
        0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
    for (std::size_t k = 0; k < (major == 1 ? 2u : 4u); ++k)
        out.push_back(static_cast<std::uint8_t>(header.size() >> (8 * k)));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

/// The file offset in an npy_file(dict, ...) of dict[at].
inline std::size_t npy_dict_offset(std::size_t at, int major = 1) {
    return (major == 1 ? 10 : 12) + at;
}

/// The bytes of `values`, little-endian (big-endian with `big`).
template <class T>
std::vector<std::uint8_t> le_bytes(const std::vector<T>& values, bool big = false) {
    std::vector<std::uint8_t> out;
    for (const T& v : values) {
        std::uint8_t b[sizeof(T)];
        std::memcpy(b, &v, sizeof(T));
        if (big != (std::endian::native == std::endian::big))
            std::reverse(b, b + sizeof(T));
        out.insert(out.end(), b, b + sizeof(T));
    }
    return out;
}

/// Pixel (i, c, r, q) of record i of the generated CIFAR batch `seed`.
inline std::uint8_t cifar_pixel(std::size_t seed, std::size_t i, std::size_t c, std::size_t r,
                                std::size_t q) {
    return static_cast<std::uint8_t>((seed * 101 + i * 31 + c * 7 + r * 3 + q) % 256);
}

/// A CIFAR batch: per record its label bytes (1 for CIFAR-10, coarse and fine for CIFAR-100),
/// then 3072 pixels cifar_pixel(seed, ...), the red, green and blue 32 x 32 planes.
inline std::vector<std::uint8_t> cifar_batch(std::size_t seed,
                                             const std::vector<std::vector<std::uint8_t>>& labels) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        out.insert(out.end(), labels[i].begin(), labels[i].end());
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t r = 0; r < 32; ++r)
                for (std::size_t q = 0; q < 32; ++q)
                    out.push_back(cifar_pixel(seed, i, c, r, q));
    }
    return out;
}

/// How many values of samples [first, first + n) of `x` (N, 3, 32, 32) differ from records
/// 0..n-1 of cifar_batch(seed, ...) scaled to [0, 1].
template <class Array>
std::size_t cifar_mismatches(const Array& x, std::size_t first, std::size_t seed, std::size_t n) {
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t r = 0; r < 32; ++r)
                for (std::size_t q = 0; q < 32; ++q)
                    bad += x(first + i, c, r, q) !=
                           static_cast<float>(cifar_pixel(seed, i, c, r, q)) / 255.0f;
    return bad;
}

/// The text of the exception f throws (empty when it throws none).
template <class F>
std::string message_of(F f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

} // namespace xnas::test
