#pragma once
// xnas::cell_space: a cell-based search space. A cell is a DAG of N nodes (node 0 the input,
// node N-1 the output); every edge i -> j (i < j) carries one operation from a list. The
// preset cell_space::nb201() is the NAS-Bench-201 space (Dong & Yang, 2020, arXiv:2001.00326),
// with its architecture strings, so results can be looked up in the benchmark's tables.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/space/decisions.hpp>
#include <xnas/space/detail/text.hpp>

namespace xnas {

/// A DAG cell space with one operation per edge.
///
/// Edges are numbered in the order of the architecture string: node by node (j = 1..N-1), and
/// within node j by source (i = 0..j-1); edge (i, j) has number j(j-1)/2 + i. An op named
/// "none" means the edge is absent; every other name is opaque here (a builder in evaluate/
/// gives ops their meaning).
///
/// String form (NAS-Bench-201's): one group per node j = 1..N-1, groups joined by '+', a group
/// being `|op~0|op~1|...|op~(j-1)|`, e.g. for N = 4:
/// `|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|`.
class cell_space {
  public:
    /// One op index (into ops()) per edge, in edge-number order.
    struct architecture {
        std::vector<std::uint8_t> ops;
        bool operator==(const architecture&) const = default;
    };

    /// Which numeric features encode() returns.
    enum class encoding {
        adjacency, ///< one-hot op per edge: edges() x ops().size() features
        path       ///< BANANAS path encoding (White et al., 2021, arXiv:1910.11858)
    };

    /// A cell of `nodes` nodes (>= 2) whose edges take one of `ops` (1..255 distinct names made
    /// of characters other than '|', '~', '+'). Throws std::invalid_argument otherwise.
    cell_space(std::size_t nodes, std::vector<std::string> ops)
        : nodes_(nodes)
        , ops_(std::move(ops)) {
        if (nodes_ < 2)
            throw std::invalid_argument("xnas::cell_space: nodes is " + std::to_string(nodes_) +
                                        ", expected at least 2 (input and output)");
        if (ops_.empty() || ops_.size() > 255)
            throw std::invalid_argument("xnas::cell_space: " + std::to_string(ops_.size()) +
                                        " ops given, expected 1..255");
        none_ = ops_.size();
        for (std::size_t k = 0; k < ops_.size(); ++k) {
            const std::string& name = ops_[k];
            if (name.empty() || name.find_first_of("|~+ \t\n") != std::string::npos)
                throw std::invalid_argument("xnas::cell_space: op name '" + name +
                                            "' must be non-empty without '|', '~', '+' or spaces");
            for (std::size_t m = 0; m < k; ++m)
                if (ops_[m] == name)
                    throw std::invalid_argument("xnas::cell_space: op '" + name + "' listed twice");
            if (name == "none")
                none_ = k;
        }
        edges_ = nodes_ * (nodes_ - 1) / 2;
        // Paths from node 0 to node N-1 have 1..N-1 edges; labels use the ops other than none.
        const std::size_t labels = ops_.size() - (none_ < ops_.size() ? 1 : 0);
        std::size_t size = 1, total = 0;
        path_offsets_.assign(nodes_, 0);
        for (std::size_t len = 1; len < nodes_; ++len) {
            path_offsets_[len] = total;
            if (labels != 0 && size > std::numeric_limits<std::size_t>::max() / labels / 2)
                throw std::invalid_argument("xnas::cell_space: path encoding of " +
                                            std::to_string(nodes_) + " nodes and " +
                                            std::to_string(labels) + " ops is too large");
            size *= labels;
            total += size;
        }
        path_size_ = total;
    }

    /// NAS-Bench-201: 4 nodes, 6 edges, ops none, skip_connect, nor_conv_1x1, nor_conv_3x3,
    /// avg_pool_3x3 (in that order, the benchmark's); 5^6 = 15,625 cells.
    static cell_space nb201() {
        return cell_space(4,
                          {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"});
    }

    /// A copy whose encode() returns `e`. For the path encoding, `max_features` > 0 keeps only the
    /// first max_features features; features are ordered shortest path first, so truncation drops
    /// the longest (under uniform sampling, least likely) paths first, as BANANAS does.
    cell_space with_encoding(encoding e, std::size_t max_features = 0) const {
        cell_space s = *this;
        s.encoding_ = e;
        s.path_truncate_ = max_features;
        return s;
    }

    std::size_t nodes() const { return nodes_; }
    std::size_t edges() const { return edges_; }
    const std::vector<std::string>& ops() const { return ops_; }
    /// Index of the op named "none", or ops().size() when the list has no such op.
    std::size_t none_index() const { return none_; }

    /// Edge number of i -> j. Throws std::out_of_range unless i < j < nodes().
    std::size_t edge_index(std::size_t i, std::size_t j) const {
        if (!(i < j && j < nodes_))
            throw std::out_of_range("xnas::cell_space::edge_index: edge " + std::to_string(i) +
                                    " -> " + std::to_string(j) + " is not in a cell of " +
                                    std::to_string(nodes_) + " nodes (expected i < j < nodes)");
        return j * (j - 1) / 2 + i;
    }

    /// The edge with number `e` as (source i, target j), for builders that walk the edges.
    /// Throws std::out_of_range unless e < edges().
    std::pair<std::size_t, std::size_t> edge(std::size_t e) const {
        if (e >= edges_)
            throw std::out_of_range("xnas::cell_space::edge: edge " + std::to_string(e) +
                                    " is not in a cell of " + std::to_string(edges_) + " edges");
        std::size_t j = 1;
        while ((j + 1) * j / 2 <= e)
            ++j;
        return {e - j * (j - 1) / 2, j};
    }

    /// Index of op `name`. Throws std::invalid_argument naming the op when it is not listed.
    std::size_t op_index(std::string_view name) const {
        for (std::size_t k = 0; k < ops_.size(); ++k)
            if (ops_[k] == name)
                return k;
        throw std::invalid_argument("xnas::cell_space::op_index: unknown op '" + std::string(name) +
                                    "', expected one of " + op_list());
    }

    /// Name of the op on edge i -> j.
    const std::string& op(const architecture& a, std::size_t i, std::size_t j) const {
        check(a, "op");
        return ops_[a.ops[edge_index(i, j)]];
    }

    /// The cell with these op names, one per edge in edge-number order.
    architecture make(const std::vector<std::string>& edge_ops) const {
        if (edge_ops.size() != edges_)
            throw std::invalid_argument(
                "xnas::cell_space::make: " + std::to_string(edge_ops.size()) +
                " ops given, expected one per edge (" + std::to_string(edges_) + ")");
        architecture a;
        a.ops.reserve(edges_);
        for (const auto& name : edge_ops)
            a.ops.push_back(static_cast<std::uint8_t>(op_index(name)));
        return a;
    }

    /// Uniform over the space: an independent uniform op per edge.
    architecture sample(rng& g) const {
        architecture a;
        a.ops.resize(edges_);
        for (auto& o : a.ops)
            o = static_cast<std::uint8_t>(g.below(ops_.size()));
        return a;
    }

    /// One uniformly chosen edge gets a uniformly chosen different op (returns `a` unchanged only
    /// when the space has a single op).
    architecture mutate(architecture a, rng& g) const {
        check(a, "mutate");
        if (ops_.size() < 2)
            return a;
        const std::size_t e = g.below(edges_);
        std::size_t o = g.below(ops_.size() - 1);
        if (o >= a.ops[e])
            ++o;
        a.ops[e] = static_cast<std::uint8_t>(o);
        return a;
    }

    /// Every single-edge change, edge by edge, ops in list order: edges() x (ops().size() - 1).
    std::vector<architecture> neighbours(const architecture& a) const {
        check(a, "neighbours");
        std::vector<architecture> out;
        out.reserve(edges_ * (ops_.size() - 1));
        for (std::size_t e = 0; e < edges_; ++e)
            for (std::size_t o = 0; o < ops_.size(); ++o)
                if (o != a.ops[e]) {
                    out.push_back(a);
                    out.back().ops[e] = static_cast<std::uint8_t>(o);
                }
        return out;
    }

    /// Uniform crossover: each edge's op from either parent with probability 1/2.
    architecture crossover(const architecture& a, const architecture& b, rng& g) const {
        check(a, "crossover");
        check(b, "crossover");
        architecture c = a;
        for (std::size_t e = 0; e < edges_; ++e)
            if (g.bernoulli(0.5))
                c.ops[e] = b.ops[e];
        return c;
    }

    /// ops().size() ^ edges(): 15,625 for nb201. Exact while below 2^53.
    double cardinality() const {
        double c = 1;
        for (std::size_t e = 0; e < edges_; ++e)
            c *= static_cast<double>(ops_.size());
        return c;
    }

    /// Index of `a` in 0..cardinality()-1: the edges' op indices read as a base-ops().size()
    /// number, edge 0 most significant, so index order is lexicographic in edge order. (This is
    /// not NAS-Bench-201's own arch index, which follows the order of its data file.)
    /// Throws std::out_of_range when the space has 2^64 cells or more.
    std::uint64_t index(const architecture& a) const {
        check(a, "index");
        check_indexable("index");
        std::uint64_t x = 0;
        for (auto o : a.ops)
            x = x * ops_.size() + o;
        return x;
    }

    /// The cell with index `x`; inverse of index(). Throws std::out_of_range when x is too large.
    architecture at(std::uint64_t x) const {
        check_indexable("at");
        if (static_cast<double>(x) >= cardinality())
            throw std::out_of_range("xnas::cell_space::at: index " + std::to_string(x) +
                                    " is outside 0.." +
                                    std::to_string(static_cast<std::uint64_t>(cardinality()) - 1));
        architecture a;
        a.ops.resize(edges_);
        for (std::size_t e = edges_; e-- > 0;) {
            a.ops[e] = static_cast<std::uint8_t>(x % ops_.size());
            x /= ops_.size();
        }
        return a;
    }

    /// True when no path of non-"none" edges joins the input (node 0) to the output (node N-1):
    /// such a cell's output does not depend on its input. Benchmarks still list these cells.
    bool is_disconnected(const architecture& a) const {
        check(a, "is_disconnected");
        std::vector<char> reach(nodes_, 0);
        reach[0] = 1;
        for (std::size_t j = 1; j < nodes_; ++j)
            for (std::size_t i = 0; i < j && !reach[j]; ++i)
                if (reach[i] && a.ops[j * (j - 1) / 2 + i] != none_)
                    reach[j] = 1;
        return !reach[nodes_ - 1];
    }

    /// The cell as its output sees it: every edge into a node whose value reaches the output
    /// (node N-1) through no chain of non-"none" edges set to "none". Cells with the same live()
    /// compute the same function of their input, however their dead edges differ (their
    /// parameter counts and FLOPs do differ: the dead ops are still built).
    architecture live(const architecture& a) const {
        check(a, "live");
        std::vector<char> feeds(nodes_, 0);
        feeds[nodes_ - 1] = 1;
        for (std::size_t i = nodes_ - 1; i-- > 0;)
            for (std::size_t j = i + 1; j < nodes_ && !feeds[i]; ++j)
                if (feeds[j] && a.ops[j * (j - 1) / 2 + i] != none_)
                    feeds[i] = 1;
        architecture out = a;
        for (std::size_t j = 1; j < nodes_; ++j)
            if (!feeds[j])
                for (std::size_t i = 0; i < j; ++i)
                    out.ops[j * (j - 1) / 2 + i] = static_cast<std::uint8_t>(none_);
        return out;
    }

    /// The encoding chosen by with_encoding() (adjacency by default).
    std::vector<double> encode(const architecture& a) const {
        return encoding_ == encoding::adjacency ? adjacency_encoding(a)
                                                : path_encoding(a, path_truncate_);
    }

    std::size_t encoding_size() const {
        return encoding_ == encoding::adjacency ? adjacency_encoding_size()
                                                : path_encoding_size(path_truncate_);
    }

    /// One-hot op per edge: feature e * ops().size() + o is 1 when edge e carries op o.
    std::vector<double> adjacency_encoding(const architecture& a) const {
        check(a, "adjacency_encoding");
        std::vector<double> x(adjacency_encoding_size(), 0.0);
        for (std::size_t e = 0; e < edges_; ++e)
            x[e * ops_.size() + a.ops[e]] = 1.0;
        return x;
    }

    std::size_t adjacency_encoding_size() const { return edges_ * ops_.size(); }

    /// Path encoding (White, Neiswanger & Savani, BANANAS, AAAI 2021, arXiv:1910.11858): one
    /// feature per possible op sequence of an input-to-output path, 1 when the cell has such a
    /// path. A path through a "none" edge does not exist. Sequences are labelled by the ops other
    /// than none (k of them), shortest first: length 1 (k features), length 2 (k^2), ... up to
    /// length nodes()-1; within a length, base-k order of the ops, first edge most significant.
    /// Two cells with the same set of labelled paths have equal encodings, whatever their edges.
    /// `max_features` > 0 keeps only the first max_features features (truncation).
    std::vector<double> path_encoding(const architecture& a, std::size_t max_features = 0) const {
        check(a, "path_encoding");
        std::vector<double> x(path_size_, 0.0);
        std::vector<std::size_t> stack_node{0}, stack_code{0}, stack_len{0};
        // Depth-first over paths from node 0; a path's code accumulates its labels in base k.
        const std::size_t k = ops_.size() - (none_ < ops_.size() ? 1 : 0);
        while (!stack_node.empty()) {
            const std::size_t i = stack_node.back(), code = stack_code.back(),
                              len = stack_len.back();
            stack_node.pop_back();
            stack_code.pop_back();
            stack_len.pop_back();
            for (std::size_t j = i + 1; j < nodes_; ++j) {
                const std::size_t o = a.ops[j * (j - 1) / 2 + i];
                if (o == none_)
                    continue;
                const std::size_t label = none_ < o ? o - 1 : o;
                const std::size_t c = code * k + label;
                if (j == nodes_ - 1)
                    x[path_offsets_[len + 1] + c] = 1.0;
                else {
                    stack_node.push_back(j);
                    stack_code.push_back(c);
                    stack_len.push_back(len + 1);
                }
            }
        }
        if (max_features > 0 && max_features < x.size())
            x.resize(max_features);
        return x;
    }

    /// Length of path_encoding(a, max_features): sum over L = 1..nodes()-1 of k^L (84 for nb201),
    /// or max_features when that is smaller and positive.
    std::size_t path_encoding_size(std::size_t max_features = 0) const {
        return max_features > 0 && max_features < path_size_ ? max_features : path_size_;
    }

    /// The canonical string, e.g. `|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|`.
    std::string to_string(const architecture& a) const {
        check(a, "to_string");
        std::string s;
        for (std::size_t j = 1; j < nodes_; ++j) {
            if (j > 1)
                s += '+';
            s += '|';
            for (std::size_t i = 0; i < j; ++i) {
                s += ops_[a.ops[j * (j - 1) / 2 + i]];
                s += '~';
                s += std::to_string(i);
                s += '|';
            }
        }
        return s;
    }

    /// Inverse of to_string. Strict: no spaces, sources in order 0..j-1, exactly nodes()-1
    /// groups. Throws xnas::parse_error naming the offending token and its offset.
    architecture parse(std::string_view text) const {
        architecture a;
        a.ops.resize(edges_);
        std::size_t pos = 0;
        // Name a whole edge ("op~i") where the edge is the problem, its parts where they are.
        auto fail = [&](std::size_t at, const std::string& what,
                        std::string_view delims = "|~+") -> parse_error {
            return parse_error("xnas::cell_space::parse: " + what + ": " +
                               detail::token_at(text, at, delims) + " at offset " +
                               std::to_string(at) + " in \"" + std::string(text) + "\"");
        };
        auto expect = [&](char c, const std::string& context) {
            if (pos >= text.size() || text[pos] != c)
                throw fail(pos, "expected '" + std::string(1, c) + "' " + context);
            ++pos;
        };
        for (std::size_t j = 1; j < nodes_; ++j) {
            if (j > 1) {
                if (pos < text.size() && text[pos] != '+' && text[pos - 1] == '|')
                    throw fail(pos,
                               "node " + std::to_string(j - 1) + " expects " +
                                   std::to_string(j - 1) + " edges, found more",
                               "|+");
                expect('+', "before the group of node " + std::to_string(j));
            }
            expect('|', "opening the group of node " + std::to_string(j));
            for (std::size_t i = 0; i < j; ++i) {
                const std::size_t start = pos;
                while (pos < text.size() && text[pos] != '~' && text[pos] != '|' &&
                       text[pos] != '+')
                    ++pos;
                const std::string_view name = text.substr(start, pos - start);
                if (name.empty()) {
                    if (start >= text.size() || text[start] == '+')
                        throw fail(start, "node " + std::to_string(j) + " expects " +
                                              std::to_string(j) + " edges, found " +
                                              std::to_string(i));
                    throw fail(start, "expected an op name for edge " + std::to_string(i) + " -> " +
                                          std::to_string(j));
                }
                std::size_t o = ops_.size();
                for (std::size_t k = 0; k < ops_.size(); ++k)
                    if (ops_[k] == name)
                        o = k;
                if (o == ops_.size())
                    throw fail(start, "unknown op (expected one of " + op_list() + ")");
                expect('~', "after the op name of edge " + std::to_string(i) + " -> " +
                                std::to_string(j));
                const std::size_t src_at = pos;
                while (pos < text.size() && text[pos] != '|' && text[pos] != '+' &&
                       text[pos] != '~')
                    ++pos;
                std::size_t src = 0;
                if (!detail::parse_size(text.substr(src_at, pos - src_at), src) || src != i)
                    throw fail(src_at, "bad source index of node " + std::to_string(j) +
                                           "'s edge " + std::to_string(i) + " (expected " +
                                           std::to_string(i) + ")");
                expect('|', "closing edge " + std::to_string(i) + " -> " + std::to_string(j));
                a.ops[j * (j - 1) / 2 + i] = static_cast<std::uint8_t>(o);
            }
        }
        if (pos < text.size()) {
            if (text[pos] == '+')
                throw fail(pos,
                           "too many node groups (expected " + std::to_string(nodes_ - 1) + ")");
            throw fail(pos,
                       "node " + std::to_string(nodes_ - 1) + " expects " +
                           std::to_string(nodes_ - 1) + " edges, found more",
                       "|+");
        }
        return a;
    }

    // ---- decision view (xnas/space/decisions.hpp) ------------------------------------------

    /// One categorical decision per edge, over the op list (none ordered).
    std::vector<std::size_t> decisions() const {
        return std::vector<std::size_t>(edges_, ops_.size());
    }
    architecture from_decisions(const std::vector<int>& d) const {
        if (d.size() != edges_)
            throw std::invalid_argument(
                "xnas::from_decisions(cell_space): " + std::to_string(d.size()) +
                " decisions, expected " + std::to_string(edges_));
        architecture a;
        a.ops.reserve(d.size());
        for (int v : d)
            a.ops.push_back(static_cast<std::uint8_t>(v));
        return a;
    }
    std::vector<int> to_decisions(const architecture& a) const {
        return std::vector<int>(a.ops.begin(), a.ops.end());
    }
    /// "edge i->j" -> the op's name, per edge.
    decision_map named_decisions(const architecture& a) const {
        decision_map d;
        for (std::size_t e = 0; e < edges_; ++e) {
            const auto [i, j] = edge(e);
            d["edge " + std::to_string(i) + "->" + std::to_string(j)] = op(a, i, j);
        }
        return d;
    }

  private:
    void check(const architecture& a, const char* fn) const {
        if (a.ops.size() != edges_)
            throw shape_error(std::string("xnas::cell_space::") + fn + ": architecture has " +
                              std::to_string(a.ops.size()) + " edges, space has " +
                              std::to_string(edges_));
        for (std::size_t e = 0; e < edges_; ++e)
            if (a.ops[e] >= ops_.size())
                throw std::invalid_argument(std::string("xnas::cell_space::") + fn + ": edge " +
                                            std::to_string(e) + " has op index " +
                                            std::to_string(a.ops[e]) + ", expected < " +
                                            std::to_string(ops_.size()));
    }

    void check_indexable(const char* fn) const {
        if (!(cardinality() < 0x1.0p64))
            throw std::out_of_range(std::string("xnas::cell_space::") + fn + ": the space has " +
                                    detail::format_double(cardinality()) +
                                    " cells, too many to index with 64 bits");
    }

    std::string op_list() const {
        std::string s;
        for (const auto& o : ops_)
            s += (s.empty() ? "" : ", ") + o;
        return s;
    }

    std::size_t nodes_;
    std::vector<std::string> ops_;
    std::size_t edges_ = 0;
    std::size_t none_ = 0;
    std::vector<std::size_t> path_offsets_{};
    std::size_t path_size_ = 0;
    encoding encoding_ = encoding::adjacency;
    std::size_t path_truncate_ = 0;
};

static_assert(search_space<cell_space>);
static_assert(serializable_space<cell_space>);
static_assert(neighbourhood_space<cell_space>);
static_assert(encodable_space<cell_space>);
static_assert(crossover_space<cell_space>);
static_assert(finite_space<cell_space>);
static_assert(decision_space<cell_space> && has_named_members<cell_space>);

} // namespace xnas
