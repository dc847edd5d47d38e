#pragma once
// Study export: the history as CSV, one row per trial, for spreadsheets and plotting.

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <ostream>
#include <set>
#include <string>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/study.hpp>

namespace xnas {

namespace detail {

/// RFC 4180 quoting: a field with a comma, quote or line break is quoted, quotes doubled.
inline std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos)
        return s;
    std::string q = "\"";
    for (char c : s) {
        if (c == '"')
            q += '"';
        q += c;
    }
    return q + '"';
}

/// Shortest text that reads back to the same double; empty for NaN (a missing value). A whole
/// number below 1e15 (a parameter or FLOP count) is written in full: 25000000, not 2.5e+07.
inline std::string csv_number(double v) {
    if (std::isnan(v))
        return {};
    char buf[64];
    const bool whole = v == std::round(v) && std::abs(v) < 1e15;
    const auto r = whole ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                         : std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

} // namespace detail

/// Writes `s.history` as CSV with columns id, architecture, status, message, fidelity, cost,
/// then one column per objective (study objectives first, then any other reported objective,
/// by name), then one per metric not already a column. Missing values are empty cells; numbers
/// are printed shortest-exact. The architecture column is `space.to_string(a)`.
template <serializable_space Space>
void write_csv(std::ostream& os, const study<typename Space::architecture>& s, const Space& space) {
    std::vector<std::string> obj_cols;
    std::set<std::string> seen;
    for (const auto& o : s.objectives)
        if (seen.insert(o.name).second)
            obj_cols.push_back(o.name);
    std::set<std::string> more;
    for (const auto& r : s.history)
        for (const auto& [k, v] : r.e.objectives)
            if (!seen.count(k))
                more.insert(k);
    for (const auto& k : more) {
        obj_cols.push_back(k);
        seen.insert(k);
    }
    std::set<std::string> metric_cols;
    for (const auto& r : s.history)
        for (const auto& [k, v] : r.e.metrics)
            if (!seen.count(k))
                metric_cols.insert(k);

    os << "id,architecture,status,message,fidelity,cost";
    for (const auto& c : obj_cols)
        os << ',' << detail::csv_field(c);
    for (const auto& c : metric_cols)
        os << ',' << detail::csv_field(c);
    os << '\n';
    auto cell = [](const named_values& m, const std::string& k) {
        const auto it = m.find(k);
        return it == m.end() ? std::string{} : detail::csv_number(it->second);
    };
    for (const auto& r : s.history) {
        // std::to_string, not <<: the caller's stream may group digits ("1.234") by its locale.
        os << std::to_string(r.t.id) << ',' << detail::csv_field(space.to_string(r.t.architecture))
           << ',' << to_string(r.e.state) << ',' << detail::csv_field(r.e.message) << ','
           << detail::csv_number(r.t.fidelity) << ',' << detail::csv_number(r.e.cost);
        for (const auto& c : obj_cols) {
            // A study objective may be reported as a metric; show it in its column either way.
            std::string v = cell(r.e.objectives, c);
            if (v.empty())
                v = cell(r.e.metrics, c);
            os << ',' << v;
        }
        for (const auto& c : metric_cols)
            os << ',' << cell(r.e.metrics, c);
        os << '\n';
    }
}

/// write_csv to file `path`; throws xnas::file_error when it cannot be written.
template <serializable_space Space>
void save_csv(const std::string& path, const study<typename Space::architecture>& s,
              const Space& space) {
    std::ofstream os(path, std::ios::binary);
    if (!os)
        throw file_error("xnas::save_csv: cannot open '" + path +
                         "' for writing: " + std::strerror(errno));
    write_csv(os, s, space);
    os.flush();
    if (!os)
        throw file_error("xnas::save_csv: writing '" + path + "' failed");
}

} // namespace xnas
