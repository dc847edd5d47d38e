#pragma once
// Small text helpers shared by the architecture-string parsers of the spaces: quoting the
// offending token of a parse error, and printing numbers so that they read back exactly.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace xnas::detail {

/// The token that starts at `pos`: a run of characters up to (not including) the next character
/// of `delims`, or the single delimiter character itself when `pos` sits on one. "end of text"
/// when pos is past the end, so a message always has something to name.
inline std::string token_at(std::string_view text, std::size_t pos, std::string_view delims) {
    if (pos >= text.size())
        return "end of text";
    if (delims.find(text[pos]) != std::string_view::npos)
        return "'" + std::string(1, text[pos]) + "'";
    std::size_t end = pos;
    while (end < text.size() && delims.find(text[end]) == std::string_view::npos)
        ++end;
    return "'" + std::string(text.substr(pos, end - pos)) + "'";
}

/// Shortest decimal text that parses back to exactly `v` (std::to_chars round-trip guarantee).
inline std::string format_double(double v) {
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
}

/// Parses all of `s` as a double; false when it is not exactly one number.
inline bool parse_double(std::string_view s, double& out) {
    if (s.empty())
        return false;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), out);
    return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

/// Parses all of `s` as a non-negative decimal integer; false otherwise (signs, overflow, junk).
inline bool parse_size(std::string_view s, std::size_t& out) {
    if (s.empty())
        return false;
    std::uint64_t v = 0;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
    if (res.ec != std::errc() || res.ptr != s.data() + s.size())
        return false;
    out = static_cast<std::size_t>(v);
    return true;
}

} // namespace xnas::detail
