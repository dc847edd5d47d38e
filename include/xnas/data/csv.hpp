#pragma once
// CSV reading (RFC 4180: quoted fields, commas, quotes and line breaks inside quotes, LF or
// CRLF line ends) into a csv_table of text cells with a header row and typed numeric access,
// and a loader turning numeric feature columns plus a label column into a data::dataset.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/data/dataset.hpp>

namespace xnas::data {

/// A parsed CSV file: a header row and rows of text cells, all rows as wide as the header.
/// Cells are stored as text; number() parses on access, so a table of mixed columns costs
/// nothing for the columns never read.
class csv_table {
  public:
    csv_table() = default;

    /// `cells` holds rows() * header.size() cells row by row; `lines[r]` is the 1-based line
    /// of the file where row r starts (for messages).
    csv_table(std::string source, std::vector<std::string> header, std::vector<std::string> cells,
              std::vector<std::size_t> lines)
        : source_(std::move(source))
        , header_(std::move(header))
        , cells_(std::move(cells))
        , lines_(std::move(lines)) {}

    /// The file name (or "<string>") used in messages.
    const std::string& source() const { return source_; }
    /// Column names, in file order.
    const std::vector<std::string>& header() const { return header_; }
    /// Number of data rows (the header excluded).
    std::size_t rows() const { return lines_.size(); }
    /// Number of columns.
    std::size_t columns() const { return header_.size(); }
    /// 1-based line of the file where data row `row` starts.
    std::size_t line(std::size_t row) const { return lines_.at(row); }

    /// True when a column is named `name`.
    bool has_column(std::string_view name) const {
        return std::find(header_.begin(), header_.end(), name) != header_.end();
    }

    /// Index of the first column named `name`. Throws xnas::parse_error naming the file, the
    /// missing column and the columns present.
    std::size_t column_index(std::string_view name) const {
        const auto it = std::find(header_.begin(), header_.end(), name);
        if (it != header_.end())
            return static_cast<std::size_t>(it - header_.begin());
        std::string present;
        for (const auto& h : header_)
            present += (present.empty() ? "\"" : ", \"") + h + "\"";
        throw parse_error("xnas::data::csv_table::column_index: " + source_ + " has no column \"" +
                          std::string(name) + "\" (columns: " + present + ")");
    }

    /// The text of a cell (quotes removed, "" unescaped). Throws std::out_of_range.
    const std::string& cell(std::size_t row, std::size_t col) const {
        check(row, col, "cell");
        return cells_[row * header_.size() + col];
    }

    /// The cell as a number (surrounding blanks ignored; "nan" and "inf" accepted). Throws
    /// xnas::parse_error naming the file, line, column and text when it is not a number.
    double number(std::size_t row, std::size_t col) const {
        check(row, col, "number");
        const std::string& s = cells_[row * header_.size() + col];
        const char* b = s.data();
        const char* e = s.data() + s.size();
        while (b < e && (*b == ' ' || *b == '\t'))
            ++b;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            --e;
        if (b < e && *b == '+')
            ++b;
        double v = 0;
        const auto r = std::from_chars(b, e, v);
        if (b == e || r.ec != std::errc{} || r.ptr != e)
            throw parse_error("xnas::data::csv_table::number: " + where(row, col) + ": \"" + s +
                              "\" is not a number" +
                              (r.ec == std::errc::result_out_of_range ? " (out of range)" : ""));
        return v;
    }

    /// number(row, column_index(name)).
    double number(std::size_t row, std::string_view name) const {
        return number(row, column_index(name));
    }

    /// "file.csv: line 3, column 2 (\"width\")" for messages.
    std::string where(std::size_t row, std::size_t col) const {
        return source_ + ": line " + std::to_string(lines_.at(row)) + ", column " +
               std::to_string(col + 1) + " (\"" + header_.at(col) + "\")";
    }

  private:
    void check(std::size_t row, std::size_t col, const char* fn) const {
        if (row >= rows() || col >= columns())
            throw std::out_of_range(std::string("xnas::data::csv_table::") + fn + ": " + source_ +
                                    ": cell (" + std::to_string(row) + ", " + std::to_string(col) +
                                    ") is outside " + std::to_string(rows()) + " rows x " +
                                    std::to_string(columns()) + " columns");
    }

    std::string source_ = "<string>";
    std::vector<std::string> header_;
    std::vector<std::string> cells_;
    std::vector<std::size_t> lines_;
};

/// Parses CSV text; `source` names it in messages. The first record is the header. Empty
/// lines are skipped; a UTF-8 byte-order mark is dropped. Throws xnas::parse_error naming the
/// source and line for an unterminated quote, text after a closing quote, or a row whose
/// field count differs from the header's.
inline csv_table parse_csv(std::string_view text, std::string source = "<string>") {
    const std::string fn = "xnas::data::parse_csv: ";
    std::size_t pos = 0;
    const std::size_t n = text.size();
    if (text.substr(0, 3) == "\xEF\xBB\xBF")
        pos = 3;
    std::size_t line = 1;
    std::vector<std::string> header;
    std::vector<std::string> cells;
    std::vector<std::size_t> lines;
    std::vector<std::string> fields;
    while (pos < n) {
        const std::size_t record_line = line;
        fields.clear();
        bool any_quoted = false;
        for (;;) {
            std::string field;
            const std::size_t column = fields.size() + 1;
            if (pos < n && text[pos] == '"') {
                any_quoted = true;
                const std::size_t start_line = line;
                ++pos;
                for (;;) {
                    if (pos >= n)
                        throw parse_error(fn + source + ": line " + std::to_string(start_line) +
                                          ", column " + std::to_string(column) +
                                          ": quoted field is not closed before the end of file");
                    const char c = text[pos];
                    if (c == '"') {
                        if (pos + 1 < n && text[pos + 1] == '"') {
                            field += '"';
                            pos += 2;
                            continue;
                        }
                        ++pos;
                        break;
                    }
                    if (c == '\n')
                        ++line;
                    field += c;
                    ++pos;
                }
                if (pos < n && text[pos] != ',' && text[pos] != '\n' &&
                    !(text[pos] == '\r' && (pos + 1 == n || text[pos + 1] == '\n')))
                    throw parse_error(fn + source + ": line " + std::to_string(line) + ", column " +
                                      std::to_string(column) + ": unexpected '" +
                                      std::string(1, text[pos]) +
                                      "' after a closing quote (expected ',' or end of line)");
            } else {
                const std::size_t start = pos;
                while (pos < n && text[pos] != ',' && text[pos] != '\n' &&
                       !(text[pos] == '\r' && (pos + 1 == n || text[pos + 1] == '\n')))
                    ++pos;
                field.assign(text.substr(start, pos - start));
            }
            fields.push_back(std::move(field));
            if (pos >= n)
                break;
            if (text[pos] == ',') {
                ++pos;
                continue;
            }
            if (text[pos] == '\r')
                ++pos;
            if (pos < n && text[pos] == '\n') {
                ++pos;
                ++line;
            }
            break;
        }
        if (fields.size() == 1 && fields[0].empty() && !any_quoted)
            continue; // blank line
        if (lines.empty() && header.empty()) {
            header = fields;
            continue;
        }
        if (fields.size() != header.size())
            throw parse_error(fn + source + ": line " + std::to_string(record_line) + " has " +
                              std::to_string(fields.size()) + " fields, the header has " +
                              std::to_string(header.size()));
        for (auto& f : fields)
            cells.push_back(std::move(f));
        lines.push_back(record_line);
    }
    if (header.empty())
        throw parse_error(fn + source + ": no header row (the file is empty)");
    return csv_table(std::move(source), std::move(header), std::move(cells), std::move(lines));
}

/// Reads and parses a CSV file (see parse_csv). Throws xnas::file_error when the file is
/// missing or unreadable, xnas::parse_error for malformed content.
inline csv_table read_csv(const std::filesystem::path& path) {
    const std::string fn = "xnas::data::read_csv: ";
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(st))
        throw file_error(fn + path.string() + ": file not found");
    if (std::filesystem::is_directory(st))
        throw file_error(fn + path.string() + ": is a directory, expected a CSV file");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw file_error(fn + path.string() + ": cannot open for reading (" + std::strerror(errno) +
                         ")");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw file_error(fn + path.string() + ": read error");
    return parse_csv(text, path.string());
}

/// Which columns make a data set: one label column, and numeric features.
struct csv_dataset_options {
    std::string label_column = "label";
    std::vector<std::string> feature_columns = {}; ///< empty: every column except the label
};

/// A tabular dataset (N, F) from a table. Labels that are all non-negative integers are used
/// as class indices (num_classes = largest + 1); otherwise each distinct label text becomes a
/// class, numbered in sorted order, and class_names lists them. Throws xnas::parse_error naming
/// the file, line and column of a missing column, a non-numeric or non-finite feature.
template <class T = float>
dataset<T> to_dataset(const csv_table& table, const csv_dataset_options& options = {}) {
    const std::size_t label_col = table.column_index(options.label_column);
    std::vector<std::size_t> cols;
    if (options.feature_columns.empty()) {
        for (std::size_t c = 0; c < table.columns(); ++c)
            if (c != label_col)
                cols.push_back(c);
    } else {
        for (const auto& name : options.feature_columns)
            cols.push_back(table.column_index(name));
    }
    const std::size_t n = table.rows();
    const std::size_t f = cols.size();
    dataset<T> ds;
    ds.x = nn::array<T>::from_shape({n, f});
    T* out = ds.x.data();
    for (std::size_t r = 0; r < n; ++r)
        for (std::size_t k = 0; k < f; ++k) {
            const double v = table.number(r, cols[k]);
            if (!std::isfinite(v))
                throw parse_error("xnas::data::to_dataset: " + table.where(r, cols[k]) + ": \"" +
                                  table.cell(r, cols[k]) + "\" is not a finite number");
            out[r * f + k] = static_cast<T>(v);
        }

    ds.labels.resize(n);
    bool integral = true;
    std::int32_t largest = -1;
    for (std::size_t r = 0; r < n && integral; ++r) {
        const std::string& s = table.cell(r, label_col);
        std::int32_t v = -1;
        const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
        integral = !s.empty() && res.ec == std::errc{} && res.ptr == s.data() + s.size() && v >= 0;
        ds.labels[r] = v;
        largest = std::max(largest, v);
    }
    if (integral) {
        // In size_t: int32 has no room for the largest label + 1.
        ds.num_classes = static_cast<std::size_t>(largest) + 1;
        return ds;
    }
    std::map<std::string, std::int32_t> names;
    for (std::size_t r = 0; r < n; ++r)
        names.emplace(table.cell(r, label_col), 0);
    std::int32_t next = 0;
    for (auto& [name, index] : names) {
        index = next++;
        ds.class_names.push_back(name);
    }
    for (std::size_t r = 0; r < n; ++r)
        ds.labels[r] = names.at(table.cell(r, label_col));
    ds.num_classes = names.size();
    return ds;
}

/// read_csv then to_dataset.
template <class T = float>
dataset<T> load_csv(const std::filesystem::path& path, const csv_dataset_options& options = {}) {
    return to_dataset<T>(read_csv(path), options);
}

} // namespace xnas::data
