#pragma once
// xnas::tabular_evaluator: answers evaluations by looking architectures up in a table of
// precomputed results (NAS-Bench style), charging the table's training time as simulated cost.

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/data/csv.hpp>

namespace xnas {

/// Columns of one fidelity level: columns named `<base><suffix>` answer trials of this fidelity
/// under the name `<base>`. E.g. {12.0 / 200, "@12"} and {1.0, "@200"} for columns "acc@12",
/// "acc@200", "time@12", "time@200".
struct fidelity_level {
    double fidelity = 1.0;
    std::string suffix;
};

struct tabular_options {
    /// The column holding the architecture key (space.to_string(a) or the key function's text).
    std::string arch_column = "arch";
    /// Columns (base names) reported as objectives; the other columns go to metrics. Empty:
    /// every column is an objective.
    std::vector<std::string> objectives{};
    /// Column (base name) charged as the evaluation's cost, e.g. training seconds; empty: 0.
    std::string cost_column{};
    /// Optional fidelity levels. A trial of fidelity f reads the level with the smallest
    /// fidelity >= f; columns without any level's suffix answer every fidelity. Empty: the
    /// trial's fidelity is ignored.
    std::vector<fidelity_level> fidelities{};
};

namespace detail {

/// Keys an architecture that already is its table text.
struct identity_key {
    const std::string& operator()(const std::string& a) const { return a; }
};

struct lookup_table {
    std::string source;
    std::vector<std::string> names;     // base name per value column
    std::vector<std::size_t> level;     // fidelity level per value column; npos: every level
    std::vector<bool> is_objective;     // per value column
    std::vector<fidelity_level> levels; // sorted by fidelity
    std::string cost_name;
    std::size_t width = 0;      // value columns per row
    std::vector<double> values; // rows x width
    std::unordered_map<std::string, std::size_t> rows;
};

inline std::shared_ptr<const lookup_table> build_table(const data::csv_table& csv,
                                                       const tabular_options& opt) {
    const std::string fn = "xnas::tabular_evaluator: ";
    auto t = std::make_shared<lookup_table>();
    t->source = csv.source();
    t->levels = opt.fidelities;
    std::sort(
        t->levels.begin(), t->levels.end(),
        [](const fidelity_level& a, const fidelity_level& b) { return a.fidelity < b.fidelity; });
    for (const auto& l : t->levels)
        if (l.suffix.empty() || !(l.fidelity > 0))
            throw std::invalid_argument(fn + "fidelity level '" + l.suffix + "' at " +
                                        std::to_string(l.fidelity) +
                                        ": expected a non-empty suffix and a fidelity > 0");
    if (!csv.has_column(opt.arch_column))
        throw parse_error(fn + csv.source() + ": line 1: no column \"" + opt.arch_column +
                          "\" (the architecture key column, tabular_options::arch_column)");
    const std::size_t arch_col = csv.column_index(opt.arch_column);

    std::vector<std::size_t> value_cols;
    for (std::size_t c = 0; c < csv.columns(); ++c) {
        if (c == arch_col)
            continue;
        const std::string& h = csv.header()[c];
        std::string base = h;
        std::size_t level = static_cast<std::size_t>(-1);
        for (std::size_t l = 0; l < t->levels.size(); ++l) {
            const auto& suf = t->levels[l].suffix;
            if (h.size() > suf.size() && h.compare(h.size() - suf.size(), suf.size(), suf) == 0) {
                base = h.substr(0, h.size() - suf.size());
                level = l;
                break;
            }
        }
        value_cols.push_back(c);
        t->names.push_back(base);
        t->level.push_back(level);
        t->is_objective.push_back(opt.objectives.empty() ||
                                  std::find(opt.objectives.begin(), opt.objectives.end(), base) !=
                                      opt.objectives.end());
    }
    auto require_base = [&](const std::string& base, const char* what) {
        if (std::find(t->names.begin(), t->names.end(), base) == t->names.end()) {
            std::string present;
            for (const auto& h : csv.header()) {
                present += present.empty() ? "" : ", ";
                present += h;
            }
            throw parse_error(fn + csv.source() + ": line 1: no column \"" + base + "\" (" + what +
                              "; columns: " + present + ")");
        }
    };
    for (const auto& o : opt.objectives)
        require_base(o, "an objective in tabular_options::objectives");
    if (!opt.cost_column.empty())
        require_base(opt.cost_column, "tabular_options::cost_column");
    t->cost_name = opt.cost_column;

    t->width = value_cols.size();
    t->values.reserve(csv.rows() * t->width);
    for (std::size_t r = 0; r < csv.rows(); ++r) {
        const std::string& key = csv.cell(r, arch_col);
        const auto [it, fresh] = t->rows.emplace(key, r);
        if (!fresh)
            throw parse_error(fn + csv.where(r, arch_col) + ": duplicate architecture \"" + key +
                              "\" (first at line " + std::to_string(csv.line(it->second)) + ")");
        for (std::size_t c : value_cols)
            t->values.push_back(csv.number(r, c)); // throws naming file, line and column
    }
    return t;
}

} // namespace detail

/// Looks each trial's architecture up by `key(architecture)` in a CSV table with an
/// architecture column and numeric columns (see tabular_options). Copies share the table, and
/// lookups are read-only, so it is thread-safe.
///
/// The constructor throws xnas::file_error for an unreadable file and xnas::parse_error naming
/// the file, line and column for a missing column, a non-numeric cell or a duplicate row.
/// evaluate throws std::out_of_range for an architecture the table lacks (the driver records the
/// trial as failed with that message) or a fidelity above the highest level.
template <class Key = detail::identity_key>
class tabular_evaluator {
  public:
    static constexpr bool thread_safe = true;

    tabular_evaluator(const std::filesystem::path& csv_path, Key key = {}, tabular_options opt = {})
        : tabular_evaluator(data::read_csv(csv_path), std::move(key), std::move(opt)) {}

    tabular_evaluator(const data::csv_table& csv, Key key, tabular_options opt = {})
        : table_(detail::build_table(csv, opt))
        , key_(std::move(key)) {}

    template <class A>
    evaluation evaluate(const trial<A>& t) const {
        const auto& tb = *table_;
        const std::string key(key_(t.architecture));
        const auto it = tb.rows.find(key);
        if (it == tb.rows.end())
            throw std::out_of_range("xnas::tabular_evaluator: architecture \"" + key +
                                    "\" is not in " + tb.source + " (" +
                                    std::to_string(tb.rows.size()) + " rows)");
        std::size_t level = static_cast<std::size_t>(-1);
        if (!tb.levels.empty()) {
            for (std::size_t l = 0; l < tb.levels.size() && level == static_cast<std::size_t>(-1);
                 ++l)
                if (tb.levels[l].fidelity >= t.fidelity * (1 - 1e-12))
                    level = l;
            if (level == static_cast<std::size_t>(-1))
                throw std::out_of_range("xnas::tabular_evaluator: fidelity " +
                                        std::to_string(t.fidelity) + " is above " + tb.source +
                                        "'s highest level " +
                                        std::to_string(tb.levels.back().fidelity));
        }
        const auto answers = [&](std::size_t c) {
            return tb.level[c] == static_cast<std::size_t>(-1) || tb.level[c] == level;
        };
        evaluation e;
        std::size_t objectives = 0, metrics = 0;
        for (std::size_t c = 0; c < tb.width; ++c)
            if (answers(c))
                ++(tb.is_objective[c] ? objectives : metrics);
        e.objectives.reserve(objectives);
        e.metrics.reserve(metrics);
        const double* row = tb.values.data() + it->second * tb.width;
        for (std::size_t c = 0; c < tb.width; ++c) {
            if (!answers(c))
                continue;
            (tb.is_objective[c] ? e.objectives : e.metrics)[tb.names[c]] = row[c];
            if (tb.names[c] == tb.cost_name)
                e.cost = row[c];
        }
        return e;
    }

    /// Number of architectures in the table.
    std::size_t size() const { return table_->rows.size(); }

  private:
    std::shared_ptr<const detail::lookup_table> table_;
    Key key_;
};

/// A tabular_evaluator of `csv` keyed by `space.to_string(a)` (a copy of the space is kept).
template <serializable_space Space>
auto make_tabular_evaluator(const data::csv_table& csv, const Space& space,
                            tabular_options opt = {}) {
    auto key = [space](const typename Space::architecture& a) { return space.to_string(a); };
    return tabular_evaluator<decltype(key)>(csv, std::move(key), std::move(opt));
}

/// A tabular_evaluator of the CSV file at `csv_path` keyed by `space.to_string(a)`.
template <serializable_space Space>
auto make_tabular_evaluator(const std::filesystem::path& csv_path, const Space& space,
                            tabular_options opt = {}) {
    return make_tabular_evaluator(data::read_csv(csv_path), space, std::move(opt));
}

static_assert(evaluator<tabular_evaluator<>, std::string>);
static_assert(is_thread_safe_evaluator<tabular_evaluator<>>);

} // namespace xnas
