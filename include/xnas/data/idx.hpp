#pragma once
// Reader for IDX files (the MNIST / Fashion-MNIST container: a 4-byte magic 00 00 <type>
// <ndims>, ndims big-endian 32-bit sizes, then the values row-major and big-endian), raw or
// gzip-compressed. Compression is detected by the gzip magic 1f 8b, never by the file name.

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <zlib.h>

namespace xnas::data {

/// Element types of the IDX format (third magic byte).
enum class idx_type : std::uint8_t {
    u8 = 0x08,  ///< unsigned byte (MNIST images and labels)
    i8 = 0x09,  ///< signed byte
    i16 = 0x0B, ///< big-endian int16
    i32 = 0x0C, ///< big-endian int32
    f32 = 0x0D, ///< big-endian IEEE float
    f64 = 0x0E, ///< big-endian IEEE double
};

/// Bytes per element of `t`, or 0 for a byte that is not an IDX type.
inline std::size_t idx_type_size(std::uint8_t t) {
    switch (t) {
    case 0x08:
    case 0x09:
        return 1;
    case 0x0B:
        return 2;
    case 0x0C:
    case 0x0D:
        return 4;
    case 0x0E:
        return 8;
    default:
        return 0;
    }
}

/// "unsigned byte", "int32", ... for messages.
inline std::string idx_type_name(std::uint8_t t) {
    switch (t) {
    case 0x08:
        return "unsigned byte";
    case 0x09:
        return "signed byte";
    case 0x0B:
        return "int16";
    case 0x0C:
        return "int32";
    case 0x0D:
        return "float32";
    case 0x0E:
        return "float64";
    default:
        return "unknown type";
    }
}

/// The contents of one IDX file: element type, dimensions, and the values exactly as stored
/// (big-endian for multi-byte types; values<T>() converts).
struct idx_array {
    idx_type type = idx_type::u8;
    std::vector<std::size_t> dims;
    std::vector<std::uint8_t> bytes;

    /// Number of elements (product of dims).
    std::size_t count() const {
        std::size_t n = 1;
        for (auto d : dims)
            n *= d;
        return n;
    }

    /// All elements converted to T, row-major.
    template <class T>
    std::vector<T> values() const {
        std::vector<T> out(count());
        copy_to(out.data());
        return out;
    }

    /// Writes the count() elements converted to T to `out`, row-major. T must hold every value
    /// (double always does): a float beyond T's range is undefined behaviour, as static_cast.
    template <class T>
    void copy_to(T* out) const {
        const std::size_t n = count();
        const std::uint8_t* p = bytes.data();
        auto be = [](const std::uint8_t* q, std::size_t width) {
            std::uint64_t v = 0;
            for (std::size_t k = 0; k < width; ++k)
                v = (v << 8) | q[k];
            return v;
        };
        for (std::size_t i = 0; i < n; ++i) {
            switch (type) {
            case idx_type::u8:
                out[i] = static_cast<T>(p[i]);
                break;
            case idx_type::i8:
                out[i] = static_cast<T>(static_cast<std::int8_t>(p[i]));
                break;
            case idx_type::i16:
                out[i] = static_cast<T>(static_cast<std::int16_t>(be(p + 2 * i, 2)));
                break;
            case idx_type::i32:
                out[i] = static_cast<T>(static_cast<std::int32_t>(be(p + 4 * i, 4)));
                break;
            case idx_type::f32:
                out[i] = static_cast<T>(
                    std::bit_cast<float>(static_cast<std::uint32_t>(be(p + 4 * i, 4))));
                break;
            case idx_type::f64:
                out[i] = static_cast<T>(std::bit_cast<double>(be(p + 8 * i, 8)));
                break;
            }
        }
    }
};

namespace detail {

/// "(3, 28, 28)".
inline std::string dims_string(const std::vector<std::size_t>& dims) {
    std::string s = "(";
    for (std::size_t i = 0; i < dims.size(); ++i)
        s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + ")";
}

/// The shortest text that reads back as v ("3", "1.5", "-inf"), for messages.
inline std::string number_text(double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

/// "00 00 08 03".
inline std::string hex_bytes(const std::uint8_t* b, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        if (i)
            s += ' ';
        s += digits[b[i] >> 4];
        s += digits[b[i] & 15];
    }
    return s;
}

/// Sequential reader over a raw or gzip file (decided by the first two bytes). Every failure
/// throws xnas::file_error prefixed with "<where>: <path>: ".
class byte_source {
  public:
    byte_source(const std::filesystem::path& path, std::string where)
        : prefix_(std::move(where) + ": " + path.string() + ": ") {
        std::error_code ec;
        const auto st = std::filesystem::status(path, ec);
        if (!std::filesystem::exists(st))
            fail("file not found");
        if (std::filesystem::is_directory(st))
            fail("is a directory, expected a file");
        file_ = std::fopen(path.c_str(), "rb");
        if (!file_)
            fail(std::string("cannot open for reading (") + std::strerror(errno) + ")");
        unsigned char magic[2] = {0, 0};
        const std::size_t got = std::fread(magic, 1, 2, file_);
        if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            std::fclose(file_);
            file_ = nullptr;
            gz_ = gzopen(path.c_str(), "rb");
            if (!gz_)
                fail(std::string("cannot open gzip file for reading (") + std::strerror(errno) +
                     ")");
            gzbuffer(gz_, 1u << 17);
        } else {
            std::rewind(file_);
        }
    }
    byte_source(const byte_source&) = delete;
    byte_source& operator=(const byte_source&) = delete;
    ~byte_source() {
        if (file_)
            std::fclose(file_);
        if (gz_)
            gzclose(gz_);
    }

    bool gzip() const { return gz_ != nullptr; }

    /// Reads up to n bytes; fewer only at the end of the (decompressed) data.
    std::size_t read(void* buf, std::size_t n) {
        auto* out = static_cast<unsigned char*>(buf);
        std::size_t total = 0;
        while (total < n) {
            const std::size_t want = std::min<std::size_t>(n - total, std::size_t(1) << 30);
            std::size_t got = 0;
            if (gz_) {
                const int r = gzread(gz_, out + total, static_cast<unsigned>(want));
                int err = Z_OK;
                const char* msg = gzerror(gz_, &err);
                if (r < 0 || (err != Z_OK && err != Z_STREAM_END))
                    fail("corrupt gzip stream after " + std::to_string(offset_ + total) +
                         " decompressed bytes (zlib: " + (msg ? msg : "unknown error") + ")");
                got = static_cast<std::size_t>(r);
            } else {
                got = std::fread(out + total, 1, want, file_);
                if (got < want && std::ferror(file_))
                    fail("read error at offset " + std::to_string(offset_ + total + got) + " (" +
                         std::strerror(errno) + ")");
            }
            total += got;
            if (got < want)
                break;
        }
        offset_ += total;
        return total;
    }

    /// Bytes delivered so far.
    std::size_t offset() const { return offset_; }

    [[noreturn]] void fail(const std::string& what) const { throw file_error(prefix_ + what); }

    /// Reads up to `expected` bytes into `bytes` (resized to what arrived) and returns how many
    /// came. The buffer grows with the data, doubling from 1 MiB, so a header that declares far
    /// more than the file holds costs no more memory than the file.
    std::size_t read_growing(std::vector<std::uint8_t>& bytes, std::size_t expected) {
        std::size_t have = 0;
        while (have < expected) {
            const std::size_t step =
                std::min(expected - have, std::max<std::size_t>(have, 1u << 20));
            bytes.resize(have + step);
            const std::size_t n = read(bytes.data() + have, step);
            have += n;
            if (n < step)
                break;
        }
        bytes.resize(have);
        return have;
    }

  private:
    std::string prefix_;
    std::FILE* file_ = nullptr;
    gzFile gz_ = nullptr;
    std::size_t offset_ = 0;
};

} // namespace detail

/// Reads an IDX file, raw or gzip-compressed.
///
/// Throws xnas::file_error naming the file and the problem: file not found or unreadable,
/// corrupt gzip stream, wrong magic (bytes found and expected), unsupported element type,
/// truncated header or data (bytes expected and found), or bytes after the data.
/// O(file size); memory is the decompressed size.
inline idx_array read_idx(const std::filesystem::path& path) {
    detail::byte_source in(path, "xnas::data::read_idx");
    std::uint8_t magic[4] = {0, 0, 0, 0};
    const std::size_t got = in.read(magic, 4);
    if (got < 4)
        in.fail("truncated header: an IDX file starts with a 4-byte magic, found only " +
                std::to_string(got) + " bytes");
    if (magic[0] != 0 || magic[1] != 0)
        in.fail("wrong magic: found bytes " + detail::hex_bytes(magic, 4) +
                ", expected 00 00 <type> <ndims> (e.g. 00 00 08 03 for MNIST images)");
    const std::size_t width = idx_type_size(magic[2]);
    if (width == 0)
        in.fail("unsupported element type 0x" + detail::hex_bytes(magic + 2, 1) + " in magic " +
                detail::hex_bytes(magic, 4) +
                "; expected 08 (unsigned byte), 09 (signed byte), 0b (int16), 0c (int32), 0d "
                "(float32) or 0e (float64)");
    const std::size_t ndims = magic[3];
    if (ndims == 0)
        in.fail("magic " + detail::hex_bytes(magic, 4) + " declares 0 dimensions, expected >= 1");

    idx_array out;
    out.type = static_cast<idx_type>(magic[2]);
    const std::size_t header = 4 + 4 * ndims;
    std::vector<std::uint8_t> raw(4 * ndims);
    const std::size_t got_dims = in.read(raw.data(), raw.size());
    if (got_dims < raw.size())
        in.fail("truncated header: " + std::to_string(ndims) + " dimensions need a " +
                std::to_string(header) + "-byte header, file has only " +
                std::to_string(4 + got_dims) + " bytes");
    // A corrupt header must not make us allocate terabytes: the size is checked for overflow
    // here and the buffer only grows as data actually arrives below.
    constexpr std::size_t limit = std::size_t(1) << 48;
    std::size_t expected = width;
    for (std::size_t d = 0; d < ndims; ++d) {
        const std::size_t v = (std::size_t(raw[4 * d]) << 24) |
                              (std::size_t(raw[4 * d + 1]) << 16) |
                              (std::size_t(raw[4 * d + 2]) << 8) | std::size_t(raw[4 * d + 3]);
        out.dims.push_back(v);
        if (v != 0 && expected > limit / v)
            in.fail("dimensions " + detail::dims_string(out.dims) +
                    "... declare more than 2^48 bytes");
        expected *= v;
    }

    const std::size_t have = in.read_growing(out.bytes, expected);
    if (have < expected)
        in.fail("truncated data: dimensions " + detail::dims_string(out.dims) + " of " +
                idx_type_name(magic[2]) + " need " + std::to_string(expected) +
                " data bytes after the " + std::to_string(header) + "-byte header, found " +
                std::to_string(have) + " (data ends at offset " + std::to_string(header + have) +
                ", expected " + std::to_string(header + expected) + ")");

    // Reading past the end also makes zlib verify the gzip trailer (CRC and length).
    std::size_t extra = 0;
    std::uint8_t sink[4096];
    for (std::size_t n; (n = in.read(sink, sizeof sink)) > 0;)
        extra += n;
    if (extra)
        in.fail(std::to_string(extra) + " unexpected bytes after the data, which ends at offset " +
                std::to_string(header + expected) + " for dimensions " +
                detail::dims_string(out.dims) + " of " + idx_type_name(magic[2]));
    return out;
}

} // namespace xnas::data
