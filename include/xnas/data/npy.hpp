#pragma once
// Reader and writer of NumPy .npy files (format versions 1.0, 2.0 and 3.0), the format Python
// pipelines save arrays in. Arrays come back in C order and little-endian whatever the file's
// order, so callers see one layout; every fault of a file is an xnas::file_error naming it, the
// byte offset and what was expected, and sizes are checked before anything is allocated.

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/data/idx.hpp>

namespace xnas::data {

/// The element types read_npy accepts (NumPy's dtype codes without the byte order).
enum class npy_type : std::uint8_t { b1, u1, i1, u2, i2, u4, i4, u8, i8, f4, f8 };

/// Bytes per element.
inline std::size_t npy_type_size(npy_type t) {
    switch (t) {
    case npy_type::b1:
    case npy_type::u1:
    case npy_type::i1:
        return 1;
    case npy_type::u2:
    case npy_type::i2:
        return 2;
    case npy_type::u4:
    case npy_type::i4:
    case npy_type::f4:
        return 4;
    default:
        return 8;
    }
}

/// The dtype as NumPy spells it little-endian: "|b1", "<i4", "<f8", ...
inline std::string npy_type_name(npy_type t) {
    static const char* names[] = {"|b1", "|u1", "|i1", "<u2", "<i2", "<u4",
                                  "<i4", "<u8", "<i8", "<f4", "<f8"};
    return names[static_cast<std::size_t>(t)];
}

namespace detail {

/// A little-endian U at p, on any host.
template <class U>
U load_le(const std::uint8_t* p) {
    if constexpr (std::is_same_v<U, float>) {
        return std::bit_cast<float>(load_le<std::uint32_t>(p));
    } else if constexpr (std::is_same_v<U, double>) {
        return std::bit_cast<double>(load_le<std::uint64_t>(p));
    } else {
        using W = std::make_unsigned_t<U>;
        W v = 0;
        if constexpr (std::endian::native == std::endian::little) {
            std::memcpy(&v, p, sizeof v);
        } else {
            for (std::size_t k = 0; k < sizeof v; ++k)
                v = static_cast<W>(v | (W(p[k]) << (8 * k)));
        }
        return static_cast<U>(v);
    }
}

template <class U, class T>
void convert_le(const std::uint8_t* src, T* dst, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        dst[i] = static_cast<T>(load_le<U>(src + i * sizeof(U)));
}

/// Reverses the bytes of each `width`-byte element.
inline void swap_bytes(std::vector<std::uint8_t>& bytes, std::size_t width) {
    if (width > 1)
        for (std::size_t i = 0; i + width <= bytes.size(); i += width)
            std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(i),
                         bytes.begin() + static_cast<std::ptrdiff_t>(i + width));
}

/// `text` quoted for a message, non-printable bytes as \xNN, cut after `max` characters.
inline std::string printable(std::string_view text, std::size_t max = 160) {
    static const char* digits = "0123456789abcdef";
    std::string s = "\"";
    for (std::size_t i = 0; i < text.size() && i < max; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            s += static_cast<char>(c);
        } else if (c == '\n') {
            s += "\\n";
        } else {
            s += "\\x";
            s += digits[c >> 4];
            s += digits[c & 15];
        }
    }
    return s + (text.size() > max ? "\"..." : "\"");
}

/// The fields of a .npy header dict, a Python literal such as
/// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
struct npy_header {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::size_t> shape;
};

/// A parser of the header dict's Python-literal subset; `base` is the header's offset in the
/// file, so that errors give file offsets.
class npy_header_parser {
  public:
    npy_header_parser(std::string_view text, std::size_t base, const byte_source& in)
        : text_(text)
        , base_(base)
        , in_(in) {}

    npy_header parse() {
        npy_header h;
        bool seen[3] = {false, false, false};
        skip();
        expect('{', "'{' opening the header dict");
        for (;;) {
            skip();
            if (peek() == '}')
                break;
            const std::size_t key_at = pos_;
            const std::string key =
                quoted_string("a quoted key ('descr', 'fortran_order' or 'shape')");
            skip();
            expect(':', "':' after the key '" + key + "'");
            skip();
            int which = key == "descr" ? 0 : key == "fortran_order" ? 1 : key == "shape" ? 2 : -1;
            if (which < 0)
                fail(key_at, "unexpected key '" + key +
                                 "'; a .npy header holds exactly 'descr', 'fortran_order' and "
                                 "'shape'");
            if (seen[which])
                fail(key_at, "the key '" + key + "' appears twice");
            seen[which] = true;
            if (which == 0) {
                if (peek() == '[')
                    fail(pos_, "'descr' is a list of fields (a structured dtype); only plain "
                               "numeric arrays are supported");
                h.descr = quoted_string("a quoted dtype such as '<f4' for 'descr'");
            } else if (which == 1) {
                h.fortran_order = boolean();
            } else {
                h.shape = tuple();
            }
            skip();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() != '}')
                fail(pos_,
                     "expected ',' or '}' after the value of '" + key + "', found " + found());
        }
        ++pos_;
        skip();
        if (pos_ != text_.size())
            fail(pos_, "unexpected " + found() + " after the header dict's closing '}'");
        static const char* names[3] = {"descr", "fortran_order", "shape"};
        for (int k = 0; k < 3; ++k)
            if (!seen[k])
                fail(text_.size(), std::string("the header dict has no '") + names[k] +
                                       "' key; it needs 'descr', 'fortran_order' and 'shape'");
        return h;
    }

  private:
    [[noreturn]] void fail(std::size_t at, const std::string& what) const {
        in_.fail("malformed header dict at offset " + std::to_string(base_ + at) + ": " + what +
                 "; the header reads " + printable(text_));
    }

    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

    std::string found() const {
        return pos_ < text_.size() ? printable(text_.substr(pos_, 1)) : "the end of the header";
    }

    void skip() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                       text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }

    void expect(char c, const std::string& what) {
        if (peek() != c)
            fail(pos_, "expected " + what + ", found " + found());
        ++pos_;
    }

    std::string quoted_string(const std::string& what) {
        const char q = peek();
        if (q != '\'' && q != '"')
            fail(pos_, "expected " + what + ", found " + found());
        const std::size_t start = ++pos_;
        while (pos_ < text_.size() && text_[pos_] != q) {
            if (text_[pos_] == '\\')
                fail(pos_, "escapes in quoted strings are not supported");
            ++pos_;
        }
        if (pos_ >= text_.size())
            fail(start - 1, "the quoted string is not closed");
        return std::string(text_.substr(start, pos_++ - start));
    }

    bool boolean() {
        for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}})
            if (text_.substr(pos_, std::strlen(word)) == word) {
                pos_ += std::strlen(word);
                return value;
            }
        fail(pos_, "expected True or False for 'fortran_order', found " + found());
    }

    std::vector<std::size_t> tuple() {
        std::vector<std::size_t> dims;
        expect('(', "a tuple of dimensions such as (2, 3) for 'shape'");
        for (;;) {
            skip();
            if (peek() == ')')
                break;
            const std::size_t at = pos_;
            if (peek() < '0' || peek() > '9')
                fail(pos_,
                     "expected a non-negative integer dimension in 'shape', found " + found());
            std::size_t v = 0;
            while (peek() >= '0' && peek() <= '9') {
                const std::size_t d = static_cast<std::size_t>(peek() - '0');
                if (v > (std::size_t(1) << 62) / 10)
                    fail(at, "dimension " + printable(text_.substr(at, 24)) + " is too large");
                v = v * 10 + d;
                ++pos_;
            }
            if (peek() == 'L') // Python 2 wrote long integers as 3L
                ++pos_;
            dims.push_back(v);
            skip();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() != ')')
                fail(pos_, "expected ',' or ')' in 'shape', found " + found());
        }
        ++pos_;
        return dims;
    }

    std::string_view text_;
    std::size_t base_;
    const byte_source& in_;
    std::size_t pos_ = 0;
};

/// The element type of a dtype string and whether its bytes are big-endian; fails naming it.
inline npy_type parse_npy_descr(const std::string& descr, bool& big_endian, const byte_source& in,
                                std::size_t offset) {
    const std::string expected = "; expected one of |b1, |u1, |i1, <u2, <i2, <u4, <i4, <u8, <i8, "
                                 "<f4, <f8 (or with the byte order > or =)";
    std::string_view code = descr;
    char order = '=';
    if (!code.empty() && std::string_view("<>=|").find(code[0]) != std::string_view::npos) {
        order = code[0];
        code.remove_prefix(1);
    }
    static const std::pair<const char*, npy_type> known[] = {
        {"b1", npy_type::b1}, {"?", npy_type::b1},  {"u1", npy_type::u1}, {"i1", npy_type::i1},
        {"u2", npy_type::u2}, {"i2", npy_type::i2}, {"u4", npy_type::u4}, {"i4", npy_type::i4},
        {"u8", npy_type::u8}, {"i8", npy_type::i8}, {"f4", npy_type::f4}, {"f8", npy_type::f8}};
    for (const auto& [name, type] : known)
        if (code == name) {
            big_endian = order == '>' || ((order == '=' || order == '|') &&
                                          std::endian::native == std::endian::big);
            return type;
        }
    const std::string at =
        "dtype " + printable(descr) + " in the header at offset " + std::to_string(offset);
    if (!code.empty() && code[0] == 'O')
        in.fail("object arrays are refused: " + at +
                " holds pickled Python objects, not numbers; save a numeric array" + expected);
    in.fail("unsupported " + at + expected);
}

} // namespace detail

/// The contents of one .npy file: element type, shape, and the values in C order, each stored
/// little-endian (values<T>() converts).
struct npy_array {
    npy_type type = npy_type::f8;
    std::vector<std::size_t> shape;  ///< () for a 0-d array (one value)
    std::vector<std::uint8_t> bytes; ///< count() * item_size() bytes

    /// Number of elements (the product of shape; 1 for a 0-d array).
    std::size_t count() const {
        std::size_t n = 1;
        for (auto d : shape)
            n *= d;
        return n;
    }

    std::size_t item_size() const { return npy_type_size(type); }

    /// True for the boolean and integer types.
    bool integral() const { return type != npy_type::f4 && type != npy_type::f8; }

    /// All elements converted to T by static_cast (bool as 0 or 1), in C order. T must hold
    /// every value: double always does (64-bit integers beyond 2^53 rounded).
    template <class T>
    std::vector<T> values() const {
        static_assert(!std::is_same_v<T, bool>, "npy_array::values: std::vector<bool> has no "
                                                "data(); read booleans as std::uint8_t");
        std::vector<T> out(std::min(count(), bytes.size() / item_size()));
        copy_to(out.data(), out.size());
        return out;
    }

    /// Writes the first n elements converted to T (as values()) to `out`; n <= count().
    template <class T>
    void copy_to(T* out, std::size_t n) const {
        const std::uint8_t* p = bytes.data();
        switch (type) {
        case npy_type::b1:
            for (std::size_t i = 0; i < n; ++i)
                out[i] = static_cast<T>(p[i] != 0);
            break;
        case npy_type::u1:
            detail::convert_le<std::uint8_t>(p, out, n);
            break;
        case npy_type::i1:
            detail::convert_le<std::int8_t>(p, out, n);
            break;
        case npy_type::u2:
            detail::convert_le<std::uint16_t>(p, out, n);
            break;
        case npy_type::i2:
            detail::convert_le<std::int16_t>(p, out, n);
            break;
        case npy_type::u4:
            detail::convert_le<std::uint32_t>(p, out, n);
            break;
        case npy_type::i4:
            detail::convert_le<std::int32_t>(p, out, n);
            break;
        case npy_type::u8:
            detail::convert_le<std::uint64_t>(p, out, n);
            break;
        case npy_type::i8:
            detail::convert_le<std::int64_t>(p, out, n);
            break;
        case npy_type::f4:
            detail::convert_le<float>(p, out, n);
            break;
        case npy_type::f8:
            detail::convert_le<double>(p, out, n);
            break;
        }
    }
};

/// Reads a .npy file (raw, or gzip-compressed: detected by the gzip magic). Big-endian data is
/// converted to little-endian and Fortran-ordered data to C order.
///
/// Throws xnas::file_error naming the file, the byte offset and what was expected: file not
/// found or unreadable, wrong magic, unsupported format version, header length beyond 1 MiB,
/// truncated or malformed header dict, unknown dtype (object arrays and structured dtypes are
/// refused), a shape declaring more than 2^48 bytes or more data than the file holds (checked
/// before allocating), truncated data (bytes expected and found), or bytes after the data.
/// O(file size); memory is the data size.
inline npy_array read_npy(const std::filesystem::path& path) {
    detail::byte_source in(path, "xnas::data::read_npy");
    static const std::uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    std::uint8_t pre[12] = {};
    std::size_t got = in.read(pre, 8);
    if (got < 6 || std::memcmp(pre, magic, 6) != 0) {
        const bool zip = got >= 4 && pre[0] == 'P' && pre[1] == 'K' && pre[2] == 3 && pre[3] == 4;
        in.fail("wrong magic at offset 0: found bytes " +
                detail::hex_bytes(pre, std::min(got, std::size_t(6))) +
                (got < 6 ? " (the file has only " + std::to_string(got) + " bytes)" : "") +
                ", expected 93 4e 55 4d 50 59 (\"\\x93NUMPY\")" +
                (zip ? "; this is a zip archive, as a .npz is: extract its .npy files" : ""));
    }
    if (got < 8)
        in.fail("truncated header: the file ends at offset " + std::to_string(got) +
                ", inside the format version at offsets 6-7");
    const unsigned major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0)
        in.fail("unsupported format version " + std::to_string(major) + "." +
                std::to_string(minor) + " at offset 6; expected 1.0, 2.0 or 3.0");
    const std::size_t len_bytes = major == 1 ? 2 : 4;
    got = in.read(pre + 8, len_bytes);
    if (got < len_bytes)
        in.fail("truncated header: the file ends at offset " + std::to_string(8 + got) +
                ", inside the " + std::to_string(len_bytes) + "-byte header length at offset 8");
    std::size_t header_len = 0;
    for (std::size_t k = len_bytes; k-- > 0;)
        header_len = (header_len << 8) | pre[8 + k];
    const std::size_t base = 8 + len_bytes;
    // NumPy itself refuses headers over 10000 bytes by default; a length far beyond that is
    // a corrupt file, and must not make us allocate gigabytes.
    constexpr std::size_t max_header = std::size_t(1) << 20;
    if (header_len > max_header)
        in.fail("header length " + std::to_string(header_len) +
                " at offset 8 exceeds 1 MiB; a header dict takes a few dozen bytes");
    std::string header(header_len, '\0');
    got = in.read(header.data(), header_len);
    if (got < header_len)
        in.fail("truncated header: the header length at offset 8 declares " +
                std::to_string(header_len) + " bytes (offsets " + std::to_string(base) + " to " +
                std::to_string(base + header_len) + "), the file ends at offset " +
                std::to_string(base + got));
    const detail::npy_header h = detail::npy_header_parser(header, base, in).parse();

    npy_array out;
    bool big_endian = false;
    out.type = detail::parse_npy_descr(h.descr, big_endian, in, base);
    out.shape = h.shape;
    const std::size_t width = out.item_size();
    const std::size_t data_at = base + header_len;
    constexpr std::size_t limit = std::size_t(1) << 48;
    std::size_t expected = width;
    for (std::size_t d = 0; d < out.shape.size(); ++d) {
        const std::size_t v = out.shape[d];
        if (v != 0 && expected > limit / v)
            in.fail("shape " + detail::dims_string(out.shape) + " of " + h.descr +
                    " declares more than 2^48 bytes of data");
        expected *= v;
    }
    const std::string what = "shape " + detail::dims_string(out.shape) + " of " + h.descr;
    const std::string need = what + " needs " + std::to_string(expected) +
                             " data bytes from offset " + std::to_string(data_at);
    if (!in.gzip()) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(path, ec);
        if (!ec && size < data_at + expected)
            in.fail("truncated data: " + need + ", found " +
                    std::to_string(size > data_at ? size - data_at : 0) +
                    " (the file ends at offset " + std::to_string(size) + ", expected " +
                    std::to_string(data_at + expected) + ")");
    }
    const std::size_t have = in.read_growing(out.bytes, expected);
    if (have < expected)
        in.fail("truncated data: " + need + ", found " + std::to_string(have) +
                " (the data ends at offset " + std::to_string(data_at + have) + ", expected " +
                std::to_string(data_at + expected) + ")");
    std::size_t extra = 0;
    std::uint8_t sink[4096];
    for (std::size_t n; (n = in.read(sink, sizeof sink)) > 0;)
        extra += n;
    if (extra)
        in.fail(std::to_string(extra) + " unexpected bytes after the data, which ends at offset " +
                std::to_string(data_at + expected) + " for " + what);

    if (big_endian)
        detail::swap_bytes(out.bytes, width);
    if (h.fortran_order && out.shape.size() > 1 && expected > 0) {
        // Element (i0, ..., ik) is at i0 + d0 * (i1 + d1 * (...)) in Fortran order; walk the C
        // order with a multi-index, moving the Fortran offset by that dimension's stride.
        const std::size_t nd = out.shape.size();
        std::vector<std::size_t> stride(nd), index(nd, 0);
        for (std::size_t d = 0, s = 1; d < nd; s *= out.shape[d], ++d)
            stride[d] = s;
        std::vector<std::uint8_t> c(out.bytes.size());
        const std::size_t n = out.count();
        std::size_t f = 0;
        for (std::size_t i = 0; i < n; ++i) {
            std::memcpy(c.data() + i * width, out.bytes.data() + f * width, width);
            for (std::size_t d = nd; d-- > 0;) {
                f += stride[d];
                if (++index[d] < out.shape[d])
                    break;
                f -= stride[d] * out.shape[d];
                index[d] = 0;
            }
        }
        out.bytes.swap(c);
    }
    return out;
}

namespace detail {

template <class T>
constexpr const char* npy_descr() {
    if constexpr (std::is_same_v<T, bool>)
        return "|b1";
    else if constexpr (std::is_same_v<T, std::uint8_t>)
        return "|u1";
    else if constexpr (std::is_same_v<T, std::int8_t>)
        return "|i1";
    else if constexpr (std::is_same_v<T, std::uint16_t>)
        return "<u2";
    else if constexpr (std::is_same_v<T, std::int16_t>)
        return "<i2";
    else if constexpr (std::is_same_v<T, std::uint32_t>)
        return "<u4";
    else if constexpr (std::is_same_v<T, std::int32_t>)
        return "<i4";
    else if constexpr (std::is_same_v<T, std::uint64_t>)
        return "<u8";
    else if constexpr (std::is_same_v<T, std::int64_t>)
        return "<i8";
    else if constexpr (std::is_same_v<T, float>)
        return "<f4";
    else if constexpr (std::is_same_v<T, double>)
        return "<f8";
    else
        return nullptr;
}

} // namespace detail

/// Writes `data` (the product of `shape` values, C order) as a .npy file NumPy loads, format
/// 1.0 (2.0 when the header needs it). T is bool, a fixed-width integer, float or double.
/// Throws xnas::file_error naming the file when it cannot be written.
template <class T>
void write_npy(const std::filesystem::path& path, const std::vector<std::size_t>& shape,
               const T* data) {
    static_assert(detail::npy_descr<T>() != nullptr,
                  "write_npy: T must be bool, a fixed-width integer, float or double");
    const std::string fn = "xnas::data::write_npy: " + path.string() + ": ";
    std::size_t n = 1;
    std::string dims;
    for (std::size_t d = 0; d < shape.size(); ++d) {
        n *= shape[d];
        dims += (d ? ", " : "") + std::to_string(shape[d]);
    }
    if (shape.size() == 1)
        dims += ",";
    std::string header = std::string("{'descr': '") + detail::npy_descr<T>() +
                         "', 'fortran_order': False, 'shape': (" + dims + "), }";
    // Data starts at a multiple of 64 bytes, as NumPy writes it, so that it can be mapped.
    const bool v2 = header.size() + 64 > 65535;
    const std::size_t prefix = v2 ? 12 : 10;
    header.append(63 - (prefix + header.size()) % 64, ' ');
    header += '\n';
    std::string head = "\x93NUMPY";
    head += static_cast<char>(v2 ? 2 : 1);
    head += '\0';
    for (std::size_t k = 0; k < (v2 ? 4u : 2u); ++k)
        head += static_cast<char>((header.size() >> (8 * k)) & 0xff);
    head += header;

    std::vector<std::uint8_t> body(n * sizeof(T));
    if (n) {
        if constexpr (std::is_same_v<T, bool>) {
            for (std::size_t i = 0; i < n; ++i)
                body[i] = data[i] ? 1 : 0;
        } else {
            std::memcpy(body.data(), data, body.size());
            if constexpr (std::endian::native == std::endian::big)
                detail::swap_bytes(body, sizeof(T));
        }
    }
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f)
        throw file_error(fn + "cannot open for writing (" + std::strerror(errno) + ")");
    bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size();
    ok = ok && (body.empty() || std::fwrite(body.data(), 1, body.size(), f) == body.size());
    ok = (std::fclose(f) == 0) && ok;
    if (!ok)
        throw file_error(fn + "write error (" + std::strerror(errno) + ")");
}

} // namespace xnas::data
