#pragma once
// A small JSON value with its reader and writer, for the files xnas keeps: the search journal
// and the header of a saved network. It reads all of RFC 8259, and rejects strings that are not
// UTF-8 as the RFC requires; it writes compact or indented text, integers exactly (64-bit), reals
// as the shortest text that reads back to the same double, non-finite reals as null, and invalid
// UTF-8 replaced by U+FFFD (a failure message may carry any bytes; a journal line must stay
// valid JSON).
//
// Why not nlohmann/json: it costs every translation unit that includes <xnas/xnas.hpp> about
// 2 s of g++ time (parsing plus the instantiations the journal needs), a fifth of the budget;
// this header costs a tenth of that. Objects keep their keys in insertion order.

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/core/named_values.hpp>

namespace xnas::json {

/// A text that is not JSON; what() gives the byte offset and what was expected there.
struct syntax_error : parse_error {
    using parse_error::parse_error;
};

/// A value read as what it is not: a missing field, a string read as a number, a number out of
/// the requested type's range. what() names the field or the kinds involved.
struct type_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

namespace detail {
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class T>
struct is_string_map<std::map<std::string, T>> : std::true_type {};
template <>
struct is_string_map<named_values> : std::true_type {};
} // namespace detail

class value {
  public:
    enum class kind : unsigned char {
        null,
        boolean,
        integer,          ///< a negative integer (int64)
        unsigned_integer, ///< a non-negative integer (uint64)
        real,
        string,
        array,
        object
    };

    value() = default;
    value(std::nullptr_t) {}
    value(bool b)
        : kind_(kind::boolean)
        , b_(b) {}
    template <std::integral I>
    requires(!std::same_as<I, bool> && !std::same_as<I, char>) value(I i) {
        if constexpr (std::is_signed_v<I>) {
            if (i < 0) {
                kind_ = kind::integer;
                i_ = static_cast<std::int64_t>(i);
                return;
            }
        }
        kind_ = kind::unsigned_integer;
        u_ = static_cast<std::uint64_t>(i);
    }
    template <std::floating_point F>
    value(F d)
        : kind_(kind::real)
        , d_(static_cast<double>(d)) {}
    value(const char* s)
        : kind_(kind::string)
        , s_(s) {}
    value(std::string s)
        : kind_(kind::string)
        , s_(std::move(s)) {}
    value(std::string_view s)
        : kind_(kind::string)
        , s_(s) {}
    template <class T>
    value(const std::vector<T>& v)
        : kind_(kind::array) {
        items_.reserve(v.size());
        for (const auto& x : v)
            items_.emplace_back(x);
    }
    template <class M>
    requires detail::is_string_map<M>::value value(const M& m)
        : kind_(kind::object) {
        keys_.reserve(m.size());
        items_.reserve(m.size());
        for (const auto& [k, x] : m) {
            keys_.push_back(k);
            items_.emplace_back(x);
        }
    }

    /// An object with these members, in this order: object({{"id", 3}, {"name", "x"}}).
    static value object(std::initializer_list<std::pair<std::string, value>> members = {}) {
        value v;
        v.kind_ = kind::object;
        for (const auto& [k, x] : members)
            v[k] = x;
        return v;
    }
    /// An empty array.
    static value array() {
        value v;
        v.kind_ = kind::array;
        return v;
    }

    kind type() const { return kind_; }
    bool is_null() const { return kind_ == kind::null; }
    bool is_bool() const { return kind_ == kind::boolean; }
    bool is_integer() const { return kind_ == kind::integer || kind_ == kind::unsigned_integer; }
    bool is_number() const { return is_integer() || kind_ == kind::real; }
    bool is_string() const { return kind_ == kind::string; }
    bool is_array() const { return kind_ == kind::array; }
    bool is_object() const { return kind_ == kind::object; }

    /// Elements of an array or members of an object; 0 for anything else.
    std::size_t size() const { return items_.size(); }
    /// An array's elements, or an object's values (in the order of keys()).
    const std::vector<value>& elements() const { return items_; }
    const std::vector<std::string>& keys() const { return keys_; }
    auto begin() const { return items_.begin(); }
    auto end() const { return items_.end(); }

    /// The member `key` of an object, or null when absent (or when this is not an object).
    const value* find(std::string_view key) const {
        if (kind_ != kind::object)
            return nullptr;
        for (std::size_t i = 0; i < keys_.size(); ++i)
            if (keys_[i] == key)
                return &items_[i];
        return nullptr;
    }
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    /// The member `key`; throws type_error naming it when absent or when this is not an object.
    const value& at(std::string_view key) const {
        if (kind_ != kind::object)
            throw type_error("xnas::json: field '" + std::string(key) + "' of " + kind_name() +
                             ", expected an object");
        if (const value* v = find(key))
            return *v;
        throw type_error("xnas::json: missing field '" + std::string(key) + "'");
    }
    /// Element i of an array; throws type_error when out of range or not an array.
    const value& at(std::size_t i) const {
        if (kind_ != kind::array)
            throw type_error("xnas::json: element " + std::to_string(i) + " of " + kind_name() +
                             ", expected an array");
        if (i >= items_.size())
            throw type_error("xnas::json: element " + std::to_string(i) + " of an array of " +
                             std::to_string(items_.size()));
        return items_[i];
    }
    /// The member `key`, added as null when absent; a null value becomes an object first.
    value& operator[](std::string_view key) {
        if (kind_ == kind::null)
            kind_ = kind::object;
        if (kind_ != kind::object)
            throw type_error("xnas::json: cannot set field '" + std::string(key) + "' of " +
                             kind_name());
        for (std::size_t i = 0; i < keys_.size(); ++i)
            if (keys_[i] == key)
                return items_[i];
        keys_.emplace_back(key);
        return items_.emplace_back();
    }
    /// Appends to an array; a null value becomes an array first.
    void push_back(value v) {
        if (kind_ == kind::null)
            kind_ = kind::array;
        if (kind_ != kind::array)
            throw type_error("xnas::json: push_back on " + kind_name());
        items_.push_back(std::move(v));
    }

    /// The value as T: bool, an integer type (range-checked; a real must be integral), a
    /// floating-point type (null reads as NaN: non-finite numbers are written as null),
    /// std::string, std::vector<U> or std::map<std::string, U> of those. Throws type_error.
    template <class T>
    T get() const {
        if constexpr (std::is_same_v<T, bool>) {
            if (kind_ != kind::boolean)
                throw mismatch("a boolean");
            return b_;
        } else if constexpr (std::is_integral_v<T>) {
            return get_integral<T>();
        } else if constexpr (std::is_floating_point_v<T>) {
            switch (kind_) {
            case kind::integer:
                return static_cast<T>(i_);
            case kind::unsigned_integer:
                return static_cast<T>(u_);
            case kind::real:
                return static_cast<T>(d_);
            case kind::null:
                return std::numeric_limits<T>::quiet_NaN();
            default:
                throw mismatch("a number");
            }
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (kind_ != kind::string)
                throw mismatch("a string");
            return s_;
        } else if constexpr (detail::is_vector<T>::value) {
            if (kind_ != kind::array)
                throw mismatch("an array");
            T out;
            out.reserve(items_.size());
            for (const auto& x : items_)
                out.push_back(x.template get<typename T::value_type>());
            return out;
        } else {
            static_assert(detail::is_string_map<T>::value,
                          "xnas::json::value::get: unsupported type");
            if (kind_ != kind::object)
                throw mismatch("an object");
            // Assigned in order, so the last of a repeated key wins.
            T out;
            if constexpr (requires { out.reserve(keys_.size()); })
                out.reserve(keys_.size());
            for (std::size_t i = 0; i < keys_.size(); ++i)
                out[keys_[i]] = items_[i].template get<typename T::mapped_type>();
            return out;
        }
    }

    /// The member `key` as T, or `fallback` when this object has no such member.
    template <class T>
    T get_or(std::string_view key, T fallback) const {
        const value* v = find(key);
        return v ? v->template get<T>() : std::move(fallback);
    }

    /// JSON text: compact with indent < 0, else one member per line indented by `indent`.
    std::string dump(int indent = -1) const {
        std::string out;
        write(out, indent, 0);
        return out;
    }

    /// Parses a whole JSON text (surrounding white space allowed). Throws syntax_error naming
    /// the byte offset of the first problem.
    static value parse(std::string_view text) {
        reader r{text};
        r.skip_space();
        value v = r.read(0);
        r.skip_space();
        if (r.pos != text.size())
            r.fail("end of text after the value");
        return v;
    }

  private:
    std::string kind_name() const {
        switch (kind_) {
        case kind::null:
            return "null";
        case kind::boolean:
            return "a boolean";
        case kind::integer:
        case kind::unsigned_integer:
        case kind::real:
            return "a number";
        case kind::string:
            return "a string";
        case kind::array:
            return "an array";
        case kind::object:
            return "an object";
        }
        return "?";
    }
    type_error mismatch(const char* expected) const {
        return type_error(std::string("xnas::json: expected ") + expected + ", got " + kind_name() +
                          " (" + dump().substr(0, 40) + ")");
    }

    template <class T>
    T get_integral() const {
        auto out_of_range = [&] {
            return type_error("xnas::json: " + dump() + " is out of range for a " +
                              std::to_string(8 * sizeof(T)) + "-bit " +
                              (std::is_signed_v<T> ? "signed" : "unsigned") + " integer");
        };
        if (kind_ == kind::unsigned_integer) {
            if (u_ > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
                throw out_of_range();
            return static_cast<T>(u_);
        }
        if (kind_ == kind::integer) {
            if constexpr (std::is_unsigned_v<T>)
                throw out_of_range();
            else if (i_ < static_cast<std::int64_t>(std::numeric_limits<T>::min()))
                throw out_of_range();
            return static_cast<T>(i_);
        }
        if (kind_ == kind::real) {
            if (!(d_ == std::floor(d_)))
                throw mismatch("an integer");
            if (d_ < static_cast<double>(std::numeric_limits<T>::min()) ||
                d_ >= std::ldexp(1.0, std::numeric_limits<T>::digits))
                throw out_of_range();
            return static_cast<T>(d_);
        }
        throw mismatch("an integer");
    }

    static void write_string(std::string& out, std::string_view s) {
        static constexpr char hex[] = "0123456789abcdef";
        out += '"';
        for (std::size_t i = 0; i < s.size();) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c < 0x80) {
                switch (c) {
                case '"':
                    out += "\\\"";
                    break;
                case '\\':
                    out += "\\\\";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                case '\b':
                    out += "\\b";
                    break;
                case '\f':
                    out += "\\f";
                    break;
                default:
                    if (c < 0x20) {
                        out += "\\u00";
                        out += hex[c >> 4];
                        out += hex[c & 15];
                    } else {
                        out += static_cast<char>(c);
                    }
                }
                ++i;
                continue;
            }
            const std::size_t n = utf8_sequence_length(s, i);
            if (n == 0) {
                out += "\xEF\xBF\xBD"; // U+FFFD for a byte that starts no valid sequence
                ++i;
            } else {
                out.append(s.substr(i, n));
                i += n;
            }
        }
        out += '"';
    }

    // Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0.
    static std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
        const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
        const unsigned char c = b(0);
        std::size_t n;
        std::uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
            cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            cp = c & 0x07u;
        } else {
            return 0;
        }
        if (i + n > s.size())
            return 0;
        for (std::size_t k = 1; k < n; ++k) {
            if ((b(k) & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (b(k) & 0x3Fu);
        }
        const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
        const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        return overlong || surrogate || cp > 0x10FFFF ? 0 : n;
    }

    static void write_real(std::string& out, double d) {
        if (!std::isfinite(d)) {
            out += "null";
            return;
        }
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, d); // shortest round-trip form
        const std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
        out += text;
        // Keep a real a real when read back: 1.0, not 1.
        if (text.find_first_of(".e") == std::string_view::npos)
            out += ".0";
    }

    void write(std::string& out, int indent, int depth) const {
        auto newline = [&](int d) {
            if (indent >= 0) {
                out += '\n';
                out.append(static_cast<std::size_t>(indent * d), ' ');
            }
        };
        switch (kind_) {
        case kind::null:
            out += "null";
            return;
        case kind::boolean:
            out += b_ ? "true" : "false";
            return;
        case kind::integer:
            out += std::to_string(i_);
            return;
        case kind::unsigned_integer:
            out += std::to_string(u_);
            return;
        case kind::real:
            write_real(out, d_);
            return;
        case kind::string:
            write_string(out, s_);
            return;
        case kind::array:
        case kind::object: {
            const bool obj = kind_ == kind::object;
            out += obj ? '{' : '[';
            for (std::size_t i = 0; i < items_.size(); ++i) {
                if (i)
                    out += ',';
                newline(depth + 1);
                if (obj) {
                    write_string(out, keys_[i]);
                    out += indent >= 0 ? ": " : ":";
                }
                items_[i].write(out, indent, depth + 1);
            }
            if (!items_.empty())
                newline(depth);
            out += obj ? '}' : ']';
            return;
        }
        }
    }

    struct reader {
        std::string_view text;
        std::size_t pos = 0;
        static constexpr int max_depth = 512;

        [[noreturn]] void fail(const std::string& expected) const {
            std::string got = "end of text";
            if (pos < text.size()) {
                const auto c = static_cast<unsigned char>(text[pos]);
                static const char* hex = "0123456789abcdef";
                got = c >= 0x20 && c < 0x7f ? std::string{'\'', text[pos], '\''}
                                            : std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
            }
            throw syntax_error("xnas::json::parse: at offset " + std::to_string(pos) +
                               ": expected " + expected + ", got " + got);
        }
        void skip_space() {
            while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                         text[pos] == '\n' || text[pos] == '\r'))
                ++pos;
        }
        bool eat(char c) {
            if (pos < text.size() && text[pos] == c) {
                ++pos;
                return true;
            }
            return false;
        }
        void expect_word(std::string_view w) {
            if (text.substr(pos, w.size()) != w) {
                // Appended, not "'" + std::string(w): GCC 12 warns falsely there (-Wrestrict,
                // bug 105329).
                std::string quoted(1, '\'');
                quoted.append(w).push_back('\'');
                fail(quoted);
            }
            pos += w.size();
        }

        value read(int depth) {
            if (depth > max_depth)
                fail("at most " + std::to_string(max_depth) + " levels of nesting");
            if (pos >= text.size())
                fail("a value");
            switch (text[pos]) {
            case 'n':
                expect_word("null");
                return value();
            case 't':
                expect_word("true");
                return value(true);
            case 'f':
                expect_word("false");
                return value(false);
            case '"':
                return value(read_string());
            case '[': {
                ++pos;
                value v = array();
                skip_space();
                if (eat(']'))
                    return v;
                for (;;) {
                    skip_space();
                    v.items_.push_back(read(depth + 1));
                    skip_space();
                    if (eat(']'))
                        return v;
                    if (!eat(','))
                        fail("',' or ']'");
                }
            }
            case '{': {
                ++pos;
                value v = object();
                skip_space();
                if (eat('}'))
                    return v;
                for (;;) {
                    skip_space();
                    if (pos >= text.size() || text[pos] != '"')
                        fail("a string key");
                    std::string key = read_string();
                    skip_space();
                    if (!eat(':'))
                        fail("':'");
                    skip_space();
                    v[key] = read(depth + 1); // a repeated key: the last one wins
                    skip_space();
                    if (eat('}'))
                        return v;
                    if (!eat(','))
                        fail("',' or '}'");
                }
            }
            default:
                return read_number();
            }
        }

        value read_number() {
            const std::size_t start = pos;
            auto digits = [&] {
                const std::size_t from = pos;
                while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
                    ++pos;
                return pos - from;
            };
            const bool negative = eat('-');
            if (pos < text.size() && text[pos] == '0')
                ++pos;
            else if (digits() == 0)
                fail("a value");
            bool integral = true;
            if (eat('.')) {
                integral = false;
                if (digits() == 0)
                    fail("a digit after '.'");
            }
            if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
                integral = false;
                ++pos;
                if (!eat('+'))
                    eat('-');
                if (digits() == 0)
                    fail("a digit in the exponent");
            }
            const char* first = text.data() + start;
            const char* last = text.data() + pos;
            if (integral) {
                if (negative) {
                    std::int64_t i = 0;
                    if (std::from_chars(first, last, i).ec == std::errc())
                        return value(i);
                } else {
                    std::uint64_t u = 0;
                    if (std::from_chars(first, last, u).ec == std::errc())
                        return value(u);
                }
            } // an integer beyond 64 bits reads as the nearest double
            double d = 0;
            const auto r = std::from_chars(first, last, d);
            if (r.ec == std::errc::result_out_of_range)
                return value(negative ? -std::numeric_limits<double>::infinity()
                                      : std::numeric_limits<double>::infinity());
            return value(d);
        }

        unsigned read_hex4() {
            unsigned cp = 0;
            for (int k = 0; k < 4; ++k, ++pos) {
                if (pos >= text.size())
                    fail("4 hex digits after \\u");
                const char c = text[pos];
                cp <<= 4;
                if (c >= '0' && c <= '9')
                    cp |= static_cast<unsigned>(c - '0');
                else if (c >= 'a' && c <= 'f')
                    cp |= static_cast<unsigned>(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                    cp |= static_cast<unsigned>(c - 'A' + 10);
                else
                    fail("4 hex digits after \\u");
            }
            return cp;
        }

        static void append_utf8(std::string& out, unsigned cp) {
            if (cp < 0x80) {
                out += static_cast<char>(cp);
            } else if (cp < 0x800) {
                out += static_cast<char>(0xC0 | (cp >> 6));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                out += static_cast<char>(0xE0 | (cp >> 12));
                out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            } else {
                out += static_cast<char>(0xF0 | (cp >> 18));
                out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
                out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (cp & 0x3F));
            }
        }

        std::string read_string() {
            ++pos; // the opening quote
            std::string out;
            for (;;) {
                if (pos >= text.size())
                    fail("'\"' closing the string");
                const char c = text[pos++];
                if (c == '"')
                    return out;
                if (static_cast<unsigned char>(c) < 0x20) {
                    --pos;
                    fail("an escaped control character");
                }
                if (static_cast<unsigned char>(c) >= 0x80) {
                    // RFC 8259 text is UTF-8, and the writer replaces invalid bytes by U+FFFD:
                    // accepting them here let two keys that differ only in invalid bytes be
                    // written as one key twice, which reads back as another object.
                    const std::size_t n = utf8_sequence_length(text, pos - 1);
                    if (n == 0) {
                        --pos;
                        fail("valid UTF-8");
                    }
                    out.append(text.substr(pos - 1, n));
                    pos += n - 1;
                    continue;
                }
                if (c != '\\') {
                    out += c;
                    continue;
                }
                if (pos >= text.size())
                    fail("an escape after '\\'");
                switch (text[pos++]) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    unsigned cp = read_hex4();
                    if (cp >= 0xD800 && cp <= 0xDBFF) { // a high surrogate needs its low half
                        if (!(eat('\\') && eat('u')))
                            fail("the low half of a UTF-16 surrogate pair");
                        const unsigned low = read_hex4();
                        if (low < 0xDC00 || low > 0xDFFF)
                            fail("the low half of a UTF-16 surrogate pair");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        fail("a high surrogate before a low one");
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    --pos;
                    fail("one of \" \\ / b f n r t u after '\\'");
                }
            }
        }
    };

    kind kind_ = kind::null;
    bool b_ = false;
    std::int64_t i_ = 0;
    std::uint64_t u_ = 0;
    double d_ = 0;
    std::string s_;
    std::vector<value> items_; ///< array elements, or object values in key order
    std::vector<std::string> keys_;
};

} // namespace xnas::json
