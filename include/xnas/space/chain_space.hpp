#pragma once
// xnas::chain_space: a macro search space of layer chains. A chain is a sequence of stages (e.g.
// "1-4 conv layers, then 0-2 dense layers"); each stage has a depth range and a set of ops; an
// op is data, a name plus the hyperparameter choices it takes, so users add their own ops
// without touching the library. Layers may add a residual from an earlier layer of their stage.
// The space knows nothing of networks: a builder in xnas/evaluate/ maps architectures to them.

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/space/decisions.hpp>
#include <xnas/space/detail/text.hpp>

namespace xnas {

/// A space of layer chains, made of stages that each hold a variable number of layers.
///
/// String form (to_string / parse, exact round trip):
/// ```
///   chain  := stage ('+' stage)*      exactly one '+' between consecutive stages
///   stage  := empty | layer ('|' layer)*
///   layer  := op '(' [arg (',' arg)*] ')'
///   arg    := choice '=' value | 'skip' '=' index
/// ```
/// e.g. (one line, broken here for width)
/// ```
///   conv(k=3,c=32,act=relu,bn=1,pool=max)|conv(k=5,c=64,act=gelu,bn=0,pool=none,skip=0)
///   +dense(w=128,act=relu,drop=0.2)
/// ```
/// A stage with no layers is empty text: `conv(...)+` is one conv layer and no dense layer.
/// to_string prints every choice in the op's order and `skip` last when present; parse accepts
/// the arguments in any order, spaces between tokens, and a numeric value spelled differently
/// (`0.20` for `0.2`), but every choice of the op exactly once. `skip=i` names the 0-based index
/// of a layer in the whole chain (an earlier layer of the same stage) whose output is added to
/// this layer's output; the builder checks that the shapes agree.
class chain_space {
  public:
    /// One hyperparameter of an op: a name and its allowed values, spelled as they print.
    /// `ordered`: the values form a scale (numbers in rising order), so value k lies between
    /// k - 1 and k + 1; models that know it (tpe) let a good value lend weight to its neighbours.
    /// The numeric factories set it; `of` and `flag` leave it false.
    struct choice {
        std::string name;
        std::vector<std::string> values;
        bool ordered = false;

        /// Values given as text (`act`: relu, gelu, ...).
        static choice of(std::string name, std::vector<std::string> values) {
            return {std::move(name), std::move(values), false};
        }
        /// Integer values, ordered when they rise.
        static choice ints(std::string name, const std::vector<std::int64_t>& values) {
            choice c{std::move(name), {}, std::is_sorted(values.begin(), values.end())};
            for (auto v : values)
                c.values.push_back(std::to_string(v));
            return c;
        }
        /// lo, lo + step, ..., up to hi inclusive.
        static choice range(std::string name, std::int64_t lo, std::int64_t hi,
                            std::int64_t step = 1) {
            if (step <= 0 || hi < lo)
                throw std::invalid_argument("xnas::chain_space::choice::range: '" + name +
                                            "' needs lo <= hi and step > 0, got " +
                                            std::to_string(lo) + ".." + std::to_string(hi) +
                                            " step " + std::to_string(step));
            choice c{std::move(name), {}, true};
            for (std::int64_t v = lo; v <= hi; v += step)
                c.values.push_back(std::to_string(v));
            return c;
        }
        /// lo, 2 lo, 4 lo, ..., up to hi inclusive (channel and width ladders: 8..64).
        static choice doubling(std::string name, std::int64_t lo, std::int64_t hi) {
            if (lo <= 0 || hi < lo)
                throw std::invalid_argument("xnas::chain_space::choice::doubling: '" + name +
                                            "' needs 0 < lo <= hi, got " + std::to_string(lo) +
                                            ".." + std::to_string(hi));
            choice c{std::move(name), {}, true};
            for (std::int64_t v = lo; v <= hi; v *= 2)
                c.values.push_back(std::to_string(v));
            return c;
        }
        /// Real values, printed in the shortest form that reads back exactly; ordered when they
        /// rise.
        static choice reals(std::string name, const std::vector<double>& values) {
            choice c{std::move(name), {}, std::is_sorted(values.begin(), values.end())};
            for (double v : values)
                c.values.push_back(detail::format_double(v));
            return c;
        }
        /// On/off, printed 0 and 1.
        static choice flag(std::string name) { return {std::move(name), {"0", "1"}, false}; }
    };

    /// An op: a name and the choices it takes. A layer of this op fixes one value per choice.
    struct op {
        std::string name;
        std::vector<choice> choices{};
    };

    /// A run of layers with its own depth range and op set.
    struct stage {
        std::string name;
        std::size_t min_layers = 1;
        std::size_t max_layers = 1;
        std::vector<op> ops{};
        bool skip = false; ///< layers may add a residual from an earlier layer of the stage
        double skip_probability =
            0.5; ///< chance that sample() gives a layer (not the first) a skip
    };

    /// One layer: indices into the space's tables (decode with op_name() and value()).
    struct layer {
        std::size_t stage = 0;             ///< index into stages()
        std::size_t op = 0;                ///< index into stages()[stage].ops
        std::vector<std::size_t> values{}; ///< one value index per choice of the op
        std::optional<std::size_t> skip{}; ///< index in the chain of the residual's source layer
        bool operator==(const layer&) const = default;
    };

    /// A chain: its layers in order, stage by stage.
    struct architecture {
        std::vector<layer> layers{};
        bool operator==(const architecture&) const = default;
    };

    using predicate = std::function<bool(const architecture&)>;
    using repair_function = std::function<architecture(architecture)>;

    /// A space of the given stages, in order. Throws std::invalid_argument for an empty stage
    /// list, min_layers > max_layers, a stage that may hold layers but has no op, duplicate op or
    /// choice names, a choice without values, names or values containing spaces or any of
    /// `()=,|+`, or a choice named `skip` (reserved).
    explicit chain_space(std::vector<stage> stages)
        : stages_(std::move(stages)) {
        validate_definition();
    }

    /// A single-stage space of min_depth..max_depth layers drawn from `ops`.
    chain_space(std::size_t min_depth, std::size_t max_depth, std::vector<op> ops,
                bool skip = false)
        : chain_space(std::vector<stage>{
              stage{"layers", min_depth, max_depth, std::move(ops), skip, 0.5}}) {}

    // ---- stock ops and spaces ---------------------------------------------------------------

    /// conv(k = 3|5, c = 8..64 doubling, act, bn = 0|1, pool = none|max|avg).
    static op conv_op() {
        return {"conv",
                {choice::ints("k", {3, 5}), choice::doubling("c", 8, 64),
                 choice::of("act", {"relu", "gelu"}), choice::flag("bn"),
                 choice::of("pool", {"none", "max", "avg"})}};
    }
    /// dense(w = 32..256 doubling, act, drop = 0|0.2|0.5).
    static op dense_op() {
        return {"dense",
                {choice::doubling("w", 32, 256), choice::of("act", {"relu", "gelu"}),
                 choice::reals("drop", {0.0, 0.2, 0.5})}};
    }
    /// lstm(h = 32|64|128).
    static op lstm_op() { return {"lstm", {choice::doubling("h", 32, 128)}}; }
    /// gru(h = 32|64|128).
    static op gru_op() { return {"gru", {choice::doubling("h", 32, 128)}}; }

    /// Images: 1-4 conv layers (with skips), then 0-2 dense layers before the classifier head.
    static chain_space image() {
        return chain_space({stage{"conv", 1, 4, {conv_op()}, true, 0.5},
                            stage{"dense", 0, 2, {dense_op()}, false, 0.5}});
    }
    /// Flat features (tabular data): 1-3 dense layers, with skips, before the head.
    static chain_space tabular() {
        return chain_space({stage{"dense", 1, 3, {dense_op()}, true, 0.5}});
    }
    /// Sequences: 1-2 recurrent layers (lstm or gru), then 0-1 dense layers.
    static chain_space sequence() {
        return chain_space({stage{"recurrent", 1, 2, {lstm_op(), gru_op()}, false, 0.5},
                            stage{"dense", 0, 1, {dense_op()}, false, 0.5}});
    }

    // ---- constraints ------------------------------------------------------------------------

    /// A copy that only yields architectures satisfying `p`: sample, mutate and crossover draw
    /// again, up to `max_attempts` times, then throw std::runtime_error; neighbours drops the
    /// failing ones. cardinality() still counts the unconstrained space.
    chain_space with_constraint(predicate p, std::size_t max_attempts = 1000) const {
        if (max_attempts == 0)
            throw std::invalid_argument(
                "xnas::chain_space::with_constraint: max_attempts must be positive");
        chain_space s = *this;
        s.constraint_ = std::move(p);
        s.max_attempts_ = max_attempts;
        return s;
    }

    /// A copy that passes every generated architecture through `r` (before any constraint). `r`
    /// must return an architecture of this space; it is checked and std::logic_error thrown if not.
    chain_space with_repair(repair_function r) const {
        chain_space s = *this;
        s.repair_ = std::move(r);
        return s;
    }

    // ---- structure and decoding -------------------------------------------------------------

    const std::vector<stage>& stages() const { return stages_; }

    /// Smallest and largest number of layers of a chain.
    std::size_t min_depth() const {
        std::size_t n = 0;
        for (const auto& s : stages_)
            n += s.min_layers;
        return n;
    }
    std::size_t max_depth() const {
        std::size_t n = 0;
        for (const auto& s : stages_)
            n += s.max_layers;
        return n;
    }

    /// The op of layer `l`. Throws std::out_of_range when l does not belong to this space.
    const op& op_of(const layer& l) const {
        if (l.stage >= stages_.size() || l.op >= stages_[l.stage].ops.size())
            throw std::out_of_range("xnas::chain_space::op_of: layer has stage " +
                                    std::to_string(l.stage) + ", op " + std::to_string(l.op) +
                                    ", not in this space");
        return stages_[l.stage].ops[l.op];
    }
    const std::string& op_name(const layer& l) const { return op_of(l).name; }

    /// True when l's op takes choice `name`.
    bool has(const layer& l, std::string_view name) const {
        for (const auto& c : op_of(l).choices)
            if (c.name == name)
                return true;
        return false;
    }

    /// The value (as text) of choice `name` of layer `l`. Throws std::out_of_range naming the
    /// op and the choice when the op has no such choice.
    const std::string& value(const layer& l, std::string_view name) const {
        const op& o = op_of(l);
        for (std::size_t k = 0; k < o.choices.size(); ++k)
            if (o.choices[k].name == name) {
                if (k >= l.values.size() || l.values[k] >= o.choices[k].values.size())
                    throw std::out_of_range("xnas::chain_space::value: layer of op '" + o.name +
                                            "' has no valid value for '" + std::string(name) + "'");
                return o.choices[k].values[l.values[k]];
            }
        throw std::out_of_range("xnas::chain_space::value: op '" + o.name + "' has no choice '" +
                                std::string(name) + "'");
    }

    /// value() read as an integer; throws xnas::parse_error naming op, choice and text otherwise.
    std::int64_t int_value(const layer& l, std::string_view name) const {
        const std::string& v = value(l, name);
        std::int64_t x = 0;
        const auto res = std::from_chars(v.data(), v.data() + v.size(), x);
        if (res.ec != std::errc() || res.ptr != v.data() + v.size())
            throw parse_error("xnas::chain_space::int_value: " + op_name(l) + "." +
                              std::string(name) + " = '" + v + "' is not an integer");
        return x;
    }

    /// value() read as a real number; throws xnas::parse_error naming op, choice and text
    /// otherwise.
    double real_value(const layer& l, std::string_view name) const {
        const std::string& v = value(l, name);
        double x = 0;
        if (!detail::parse_double(v, x))
            throw parse_error("xnas::chain_space::real_value: " + op_name(l) + "." +
                              std::string(name) + " = '" + v + "' is not a number");
        return x;
    }

    /// True when `a` is a chain of this space (stage order and depths, indices, skips) that
    /// satisfies the constraint, if any.
    bool contains(const architecture& a) const {
        return structure_error(a).empty() && (!constraint_ || constraint_(a));
    }

    // ---- search_space and refinements -------------------------------------------------------

    /// Each stage's depth uniform in its range; each layer's op uniform, each choice uniform; a
    /// layer other than its stage's first gets a skip with the stage's skip_probability, from a
    /// uniformly chosen earlier layer of the stage.
    architecture sample(rng& g) const {
        return generate("sample", [&] {
            architecture a;
            std::size_t begin = 0;
            for (std::size_t s = 0; s < stages_.size(); ++s) {
                const auto d = static_cast<std::size_t>(
                    g.between(static_cast<std::int64_t>(stages_[s].min_layers),
                              static_cast<std::int64_t>(stages_[s].max_layers)));
                for (std::size_t p = 0; p < d; ++p)
                    a.layers.push_back(random_layer(s, p, begin, g));
                begin += d;
            }
            return a;
        });
    }

    /// One edit, chosen with weights 2 : 1 : 1 among those possible: change one choice of one
    /// layer (its op, one hyperparameter, or its skip source) to a different value; add a random
    /// layer at a random position of a stage below its max; remove a layer from a stage above its
    /// min. A changed op keeps the values of same-named choices where allowed and samples the
    /// rest. Skips that pointed past an added layer follow it; skips from a removed layer vanish.
    architecture mutate(const architecture& a, rng& g) const {
        require(a, "mutate");
        return generate("mutate", [&] { return mutate_once(a, g); });
    }

    /// Every architecture one edit away: each single-choice change (op, hyperparameter, skip),
    /// each removal, and each addition of a copy (without skip) of an existing layer right after
    /// it, or of each op with its first values into an empty stage. Deterministic, distinct,
    /// without `a`; with a constraint, only the satisfying ones (after repair, if any).
    std::vector<architecture> neighbours(const architecture& a) const {
        require(a, "neighbours");
        std::vector<architecture> raw;
        const auto ranges = stage_ranges(a);
        for (std::size_t j = 0; j < a.layers.size(); ++j) {
            const layer& l = a.layers[j];
            const stage& st = stages_[l.stage];
            const op& o = st.ops[l.op];
            for (std::size_t n = 0; n < st.ops.size(); ++n)
                if (n != l.op) {
                    raw.push_back(a);
                    layer& m = raw.back().layers[j];
                    m.op = n;
                    m.values = carried_values(l, n, nullptr);
                }
            for (std::size_t k = 0; k < o.choices.size(); ++k)
                for (std::size_t v = 0; v < o.choices[k].values.size(); ++v)
                    if (v != l.values[k]) {
                        raw.push_back(a);
                        raw.back().layers[j].values[k] = v;
                    }
            if (st.skip) {
                const std::size_t begin = ranges[l.stage].first;
                if (l.skip) {
                    raw.push_back(a);
                    raw.back().layers[j].skip.reset();
                }
                for (std::size_t src = begin; src < j; ++src)
                    if (l.skip != src) {
                        raw.push_back(a);
                        raw.back().layers[j].skip = src;
                    }
            }
        }
        for (std::size_t s = 0; s < stages_.size(); ++s) {
            const auto [begin, end] = ranges[s];
            if (end - begin < stages_[s].max_layers) {
                if (begin == end)
                    for (std::size_t n = 0; n < stages_[s].ops.size(); ++n) {
                        layer fresh{s, n,
                                    std::vector<std::size_t>(stages_[s].ops[n].choices.size(), 0),
                                    std::nullopt};
                        raw.push_back(inserted(a, begin, std::move(fresh)));
                    }
                for (std::size_t j = begin; j < end; ++j) {
                    layer copy = a.layers[j];
                    copy.skip.reset();
                    raw.push_back(inserted(a, j + 1, std::move(copy)));
                }
            }
            if (end - begin > stages_[s].min_layers)
                for (std::size_t j = begin; j < end; ++j)
                    raw.push_back(removed(a, j));
        }
        std::vector<architecture> out;
        out.reserve(raw.size());
        for (auto& n : raw) {
            if (repair_)
                n = repaired(std::move(n));
            if (n == a || (constraint_ && !constraint_(n)))
                continue;
            bool seen = false;
            for (const auto& m : out)
                if (m == n) {
                    seen = true;
                    break;
                }
            if (!seen)
                out.push_back(std::move(n));
        }
        return out;
    }

    /// One-point crossover on layers (cut and splice): a stage is chosen uniformly; the child
    /// takes a's stages before it, a's first i layers of it, b's layers of it from position j on,
    /// and b's later stages, with (i, j) uniform among the cuts that keep the stage's depth in
    /// range. Skips whose source did not come along are dropped.
    architecture crossover(const architecture& a, const architecture& b, rng& g) const {
        require(a, "crossover");
        require(b, "crossover");
        return generate("crossover", [&] { return crossover_once(a, b, g); });
    }

    /// Number of chains, counted exactly (as a double: exact below 2^53). Per stage, a layer
    /// has n = sum over ops of the product of its choices' sizes options, and in a skip stage
    /// the layer at stage position p has p + 1 skip options (none or an earlier layer), so a
    /// stage of depth d has n^d (times d! with skips) fillings. Ignores any constraint.
    double cardinality() const {
        double total = 1;
        for (const auto& st : stages_) {
            double per_layer = 0;
            for (const auto& o : st.ops) {
                double n = 1;
                for (const auto& c : o.choices)
                    n *= static_cast<double>(c.values.size());
                per_layer += n;
            }
            double stage_total = 0, fillings = 1;
            for (std::size_t d = 0; d <= st.max_layers; ++d) {
                if (d > 0)
                    fillings *= per_layer * (st.skip ? static_cast<double>(d) : 1.0);
                if (d >= st.min_layers)
                    stage_total += fillings;
            }
            total *= stage_total;
        }
        return total;
    }

    /// Fixed-length features: stage by stage, max_layers slots; a present layer's slot holds a
    /// one-hot of its op, then for every op of the stage a one-hot per choice (zeros unless it
    /// is the layer's op), then in a skip stage a one-hot of the source's position in the stage
    /// (max_layers - 1 features; zeros for no skip). Absent layers are all zeros.
    std::vector<double> encode(const architecture& a) const {
        require(a, "encode");
        std::vector<double> x(encoding_size(), 0.0);
        const auto ranges = stage_ranges(a);
        std::size_t base = 0;
        for (std::size_t s = 0; s < stages_.size(); ++s) {
            const stage& st = stages_[s];
            const std::size_t slot = slot_size(st);
            for (std::size_t j = ranges[s].first; j < ranges[s].second; ++j) {
                const layer& l = a.layers[j];
                std::size_t at = base + (j - ranges[s].first) * slot;
                x[at + l.op] = 1.0;
                at += st.ops.size();
                for (std::size_t n = 0; n < st.ops.size(); ++n)
                    for (std::size_t k = 0; k < st.ops[n].choices.size(); ++k) {
                        if (n == l.op)
                            x[at + l.values[k]] = 1.0;
                        at += st.ops[n].choices[k].values.size();
                    }
                if (st.skip && l.skip)
                    x[at + (*l.skip - ranges[s].first)] = 1.0;
            }
            base += st.max_layers * slot;
        }
        return x;
    }

    std::size_t encoding_size() const {
        std::size_t n = 0;
        for (const auto& st : stages_)
            n += st.max_layers * slot_size(st);
        return n;
    }

    /// The canonical string (grammar in the class comment).
    std::string to_string(const architecture& a) const {
        require(a, "to_string");
        std::string out;
        std::size_t s_prev = 0;
        bool first_in_stage = true;
        for (const auto& l : a.layers) {
            for (; s_prev < l.stage; ++s_prev) {
                out += '+';
                first_in_stage = true;
            }
            if (!first_in_stage)
                out += '|';
            first_in_stage = false;
            const op& o = stages_[l.stage].ops[l.op];
            out += o.name;
            out += '(';
            for (std::size_t k = 0; k < o.choices.size(); ++k) {
                if (k > 0)
                    out += ',';
                out += o.choices[k].name;
                out += '=';
                out += o.choices[k].values[l.values[k]];
            }
            if (l.skip) {
                if (!o.choices.empty())
                    out += ',';
                out += "skip=" + std::to_string(*l.skip);
            }
            out += ')';
        }
        for (; s_prev + 1 < stages_.size(); ++s_prev)
            out += '+';
        return out;
    }

    /// Inverse of to_string. Throws xnas::parse_error naming the offending token and its offset
    /// (unknown op or choice, value not allowed, missing or repeated choice, bad skip, a stage's
    /// depth out of range, wrong number of stages, missing punctuation). The constraint is not
    /// checked: a journal may hold architectures of an older constraint.
    architecture parse(std::string_view text) const {
        parser p{*this, text};
        return p.run();
    }

    // ---- decision view (xnas/space/decisions.hpp) ------------------------------------------

    /// The categorical decisions: per stage, its depth (max - min + 1 choices), then per layer
    /// slot up to the stage's max depth: the op, a value for every choice of every op of the stage
    /// (only the chosen op's are used), and in a stage with skips, for slots after the first, the
    /// skip (0: none, i + 1: from the stage's i-th layer). A constraint set by with_constraint is
    /// not applied: check contains(a) (reinforce and tpe do).
    std::vector<std::size_t> decisions() const {
        std::vector<std::size_t> out;
        each_decision([&](std::size_t choices, bool) { out.push_back(choices); });
        return out;
    }

    /// Depths and the choices marked `ordered` (numeric ladders) are ordered decisions; ops, text
    /// choices and skips are not.
    std::vector<bool> ordered_decisions() const {
        std::vector<bool> out;
        each_decision([&](std::size_t, bool is_ordered) { out.push_back(is_ordered); });
        return out;
    }

    architecture from_decisions(const std::vector<int>& d) const {
        architecture a;
        std::size_t at = 0;
        auto next = [&]() -> std::size_t {
            if (at >= d.size())
                throw std::invalid_argument("xnas::from_decisions(chain_space): " +
                                            std::to_string(d.size()) + " decisions, expected more");
            const int v = d[at++];
            return v < 0 ? 0 : static_cast<std::size_t>(v);
        };
        for (std::size_t si = 0; si < stages_.size(); ++si) {
            const auto& st = stages_[si];
            const std::size_t depth = st.min_layers + next();
            const std::size_t begin = a.layers.size();
            for (std::size_t p = 0; p < st.max_layers; ++p) {
                layer l;
                l.stage = si;
                l.op = next();
                for (std::size_t n = 0; n < st.ops.size(); ++n)
                    for (std::size_t k = 0; k < st.ops[n].choices.size(); ++k) {
                        const std::size_t v = next();
                        if (n == l.op)
                            l.values.push_back(v);
                    }
                if (st.skip && p > 0) {
                    const std::size_t v = next();
                    if (v > 0)
                        l.skip = begin + v - 1;
                }
                if (p < depth)
                    a.layers.push_back(std::move(l));
            }
        }
        return a;
    }

    std::vector<int> to_decisions(const architecture& a) const {
        std::vector<int> out;
        std::size_t j = 0;
        for (std::size_t si = 0; si < stages_.size(); ++si) {
            const auto& st = stages_[si];
            const std::size_t begin = j;
            while (j < a.layers.size() && a.layers[j].stage == si)
                ++j;
            const std::size_t depth = j - begin;
            out.push_back(static_cast<int>(depth - st.min_layers));
            for (std::size_t p = 0; p < st.max_layers; ++p) {
                const layer* l = p < depth ? &a.layers[begin + p] : nullptr;
                out.push_back(l ? static_cast<int>(l->op) : -1);
                for (std::size_t n = 0; n < st.ops.size(); ++n)
                    for (std::size_t k = 0; k < st.ops[n].choices.size(); ++k)
                        out.push_back(l && n == l->op ? static_cast<int>(l->values[k]) : -1);
                if (st.skip && p > 0)
                    out.push_back(!l ? -1 : l->skip ? static_cast<int>(*l->skip - begin + 1) : 0);
            }
        }
        return out;
    }

    /// Per stage its depth ("<stage> layers" -> "2"), and per layer its op when the stage has
    /// several ("<stage> <k>.op"), its choices ("<stage> <k>.<choice>", k counted from 1 within
    /// the stage) and in a stage with skips whether it has one ("<stage> <k>.skip" -> "0" or "1").
    decision_map named_decisions(const architecture& a) const {
        decision_map d;
        std::vector<std::size_t> count(stages_.size(), 0);
        for (const auto& l : a.layers) {
            const auto& st = stages_[l.stage];
            const std::string prefix = st.name + " " + std::to_string(++count[l.stage]);
            if (st.ops.size() > 1)
                d[prefix + ".op"] = op_name(l);
            for (const auto& c : op_of(l).choices)
                d[prefix + "." + c.name] = value(l, c.name);
            if (st.skip)
                d[prefix + ".skip"] = l.skip ? "1" : "0";
        }
        for (std::size_t k = 0; k < count.size(); ++k)
            d[stages_[k].name + " layers"] = std::to_string(count[k]);
        return d;
    }

  private:
    static constexpr std::string_view delimiters_ = "()=,|+ \t\r\n";

    // Calls visit(choices, ordered) for each decision, in the order decisions() documents;
    // decisions() and ordered_decisions() both read it, so their slots cannot drift apart.
    template <class Visit>
    void each_decision(Visit visit) const {
        for (const auto& st : stages_) {
            visit(st.max_layers - st.min_layers + 1, true);
            for (std::size_t p = 0; p < st.max_layers; ++p) {
                visit(st.ops.size(), false);
                for (const auto& o : st.ops)
                    for (const auto& c : o.choices)
                        visit(c.values.size(), c.ordered);
                if (st.skip && p > 0)
                    visit(p + 1, false);
            }
        }
    }

    static bool valid_token(const std::string& s) {
        return !s.empty() && s.find_first_of(delimiters_) == std::string::npos;
    }

    void validate_definition() const {
        const std::string fn = "xnas::chain_space: ";
        if (stages_.empty())
            throw std::invalid_argument(fn + "no stages given, expected at least one");
        for (const auto& st : stages_) {
            const std::string where = fn + "stage '" + st.name + "': ";
            if (st.min_layers > st.max_layers)
                throw std::invalid_argument(where + "min_layers " + std::to_string(st.min_layers) +
                                            " > max_layers " + std::to_string(st.max_layers));
            if (st.max_layers > 0 && st.ops.empty())
                throw std::invalid_argument(where + "may hold layers but has no op");
            if (!(st.skip_probability >= 0.0 && st.skip_probability <= 1.0))
                throw std::invalid_argument(where + "skip_probability " +
                                            detail::format_double(st.skip_probability) +
                                            " is outside [0, 1]");
            for (std::size_t n = 0; n < st.ops.size(); ++n) {
                const op& o = st.ops[n];
                if (!valid_token(o.name))
                    throw std::invalid_argument(where + "op name '" + o.name +
                                                "' must be non-empty, without spaces or ()=,|+");
                for (std::size_t m = 0; m < n; ++m)
                    if (st.ops[m].name == o.name)
                        throw std::invalid_argument(where + "op '" + o.name + "' listed twice");
                for (std::size_t k = 0; k < o.choices.size(); ++k) {
                    const choice& c = o.choices[k];
                    const std::string cw = where + "op '" + o.name + "', choice '" + c.name + "': ";
                    if (!valid_token(c.name) || c.name == "skip")
                        throw std::invalid_argument(
                            cw + "name must be non-empty, not 'skip', without spaces or ()=,|+");
                    for (std::size_t m = 0; m < k; ++m)
                        if (o.choices[m].name == c.name)
                            throw std::invalid_argument(cw + "listed twice");
                    if (c.values.empty())
                        throw std::invalid_argument(cw + "has no values");
                    for (std::size_t v = 0; v < c.values.size(); ++v) {
                        if (!valid_token(c.values[v]))
                            throw std::invalid_argument(
                                cw + "value '" + c.values[v] +
                                "' must be non-empty, without spaces or ()=,|+");
                        for (std::size_t w = 0; w < v; ++w)
                            if (c.values[w] == c.values[v])
                                throw std::invalid_argument(cw + "value '" + c.values[v] +
                                                            "' listed twice");
                    }
                }
            }
        }
    }

    // [begin, end) of each stage's layers in a.layers; a must be structurally valid.
    std::vector<std::pair<std::size_t, std::size_t>> stage_ranges(const architecture& a) const {
        std::vector<std::pair<std::size_t, std::size_t>> r(stages_.size());
        std::size_t j = 0;
        for (std::size_t s = 0; s < stages_.size(); ++s) {
            r[s].first = j;
            while (j < a.layers.size() && a.layers[j].stage == s)
                ++j;
            r[s].second = j;
        }
        return r;
    }

    // Empty when a is a chain of this space, else what is wrong with it.
    std::string structure_error(const architecture& a) const {
        std::vector<std::size_t> count(stages_.size(), 0);
        std::size_t begin = 0;
        for (std::size_t j = 0; j < a.layers.size(); ++j) {
            const layer& l = a.layers[j];
            const std::string at = "layer " + std::to_string(j);
            if (l.stage >= stages_.size())
                return at + " has stage " + std::to_string(l.stage) + ", expected < " +
                       std::to_string(stages_.size());
            if (j > 0 && l.stage < a.layers[j - 1].stage)
                return at + " is in stage " + std::to_string(l.stage) + " after a layer of stage " +
                       std::to_string(a.layers[j - 1].stage);
            if (j == 0 || l.stage != a.layers[j - 1].stage)
                begin = j;
            const stage& st = stages_[l.stage];
            if (l.op >= st.ops.size())
                return at + " has op " + std::to_string(l.op) + ", stage '" + st.name + "' has " +
                       std::to_string(st.ops.size());
            const op& o = st.ops[l.op];
            if (l.values.size() != o.choices.size())
                return at + " (" + o.name + ") has " + std::to_string(l.values.size()) +
                       " values, expected " + std::to_string(o.choices.size());
            for (std::size_t k = 0; k < o.choices.size(); ++k)
                if (l.values[k] >= o.choices[k].values.size())
                    return at + " (" + o.name + ") has value index " + std::to_string(l.values[k]) +
                           " for '" + o.choices[k].name + "', expected < " +
                           std::to_string(o.choices[k].values.size());
            if (l.skip && (!st.skip || *l.skip < begin || *l.skip >= j))
                return at + " has skip " + std::to_string(*l.skip) +
                       (st.skip ? ", expected an earlier layer of its stage (" +
                                      std::to_string(begin) + ".." + std::to_string(j) + ")"
                                : ", but stage '" + st.name + "' has no skips");
            ++count[l.stage];
        }
        for (std::size_t s = 0; s < stages_.size(); ++s)
            if (count[s] < stages_[s].min_layers || count[s] > stages_[s].max_layers)
                return "stage '" + stages_[s].name + "' has " + std::to_string(count[s]) +
                       " layers, expected " + std::to_string(stages_[s].min_layers) + ".." +
                       std::to_string(stages_[s].max_layers);
        return {};
    }

    void require(const architecture& a, const char* fn) const {
        if (auto why = structure_error(a); !why.empty())
            throw std::invalid_argument(std::string("xnas::chain_space::") + fn +
                                        ": not an architecture of this space: " + why);
    }

    architecture repaired(architecture a) const {
        architecture r = repair_(std::move(a));
        if (auto why = structure_error(r); !why.empty())
            throw std::logic_error("xnas::chain_space: the repair function returned an "
                                   "architecture outside the space: " +
                                   why);
        return r;
    }

    // Draw with `draw` until the constraint holds (after repair), at most max_attempts_ times.
    template <class Draw>
    architecture generate(const char* fn, Draw draw) const {
        const std::size_t attempts = constraint_ ? max_attempts_ : 1;
        for (std::size_t i = 0; i < attempts; ++i) {
            architecture a = draw();
            if (repair_)
                a = repaired(std::move(a));
            if (!constraint_ || constraint_(a))
                return a;
        }
        throw std::runtime_error(std::string("xnas::chain_space::") + fn +
                                 ": no architecture satisfying the constraint in " +
                                 std::to_string(max_attempts_) + " attempts");
    }

    layer random_layer(std::size_t s, std::size_t position, std::size_t begin, rng& g) const {
        const stage& st = stages_[s];
        layer l;
        l.stage = s;
        l.op = g.below(st.ops.size());
        for (const auto& c : st.ops[l.op].choices)
            l.values.push_back(g.below(c.values.size()));
        if (st.skip && position > 0 && g.bernoulli(st.skip_probability))
            l.skip = begin + g.below(position);
        return l;
    }

    // Values for l switched to op n: same-named choices keep their value where n allows it; the
    // rest are sampled from g, or take their first value when g is null.
    std::vector<std::size_t> carried_values(const layer& l, std::size_t n, rng* g) const {
        const stage& st = stages_[l.stage];
        const op& from = st.ops[l.op];
        const op& to = st.ops[n];
        std::vector<std::size_t> v(to.choices.size(), 0);
        for (std::size_t k = 0; k < to.choices.size(); ++k) {
            bool kept = false;
            for (std::size_t m = 0; m < from.choices.size() && !kept; ++m)
                if (from.choices[m].name == to.choices[k].name)
                    for (std::size_t x = 0; x < to.choices[k].values.size(); ++x)
                        if (to.choices[k].values[x] == from.choices[m].values[l.values[m]]) {
                            v[k] = x;
                            kept = true;
                            break;
                        }
            if (!kept && g)
                v[k] = g->below(to.choices[k].values.size());
        }
        return v;
    }

    // a with `l` inserted at chain index `at`; skips at or past `at` shift by one.
    static architecture inserted(const architecture& a, std::size_t at, layer l) {
        architecture b = a;
        for (auto& m : b.layers)
            if (m.skip && *m.skip >= at)
                ++*m.skip;
        b.layers.insert(b.layers.begin() + static_cast<std::ptrdiff_t>(at), std::move(l));
        return b;
    }

    // a without layer `at`; skips from it vanish, later ones shift down.
    static architecture removed(const architecture& a, std::size_t at) {
        architecture b = a;
        b.layers.erase(b.layers.begin() + static_cast<std::ptrdiff_t>(at));
        for (auto& m : b.layers)
            if (m.skip) {
                if (*m.skip == at)
                    m.skip.reset();
                else if (*m.skip > at)
                    --*m.skip;
            }
        return b;
    }

    architecture mutate_once(const architecture& a, rng& g) const {
        const auto ranges = stage_ranges(a);
        // Change sites: (layer, what) with what = 0 for the op, 1 + k for choice k, and
        // 1 + choices for the skip; only those with an alternative value.
        std::vector<std::pair<std::size_t, std::size_t>> sites;
        for (std::size_t j = 0; j < a.layers.size(); ++j) {
            const layer& l = a.layers[j];
            const stage& st = stages_[l.stage];
            const op& o = st.ops[l.op];
            if (st.ops.size() > 1)
                sites.emplace_back(j, 0);
            for (std::size_t k = 0; k < o.choices.size(); ++k)
                if (o.choices[k].values.size() > 1)
                    sites.emplace_back(j, 1 + k);
            if (st.skip && j > ranges[l.stage].first)
                sites.emplace_back(j, 1 + o.choices.size());
        }
        std::size_t addable = 0, removable = 0;
        for (std::size_t s = 0; s < stages_.size(); ++s) {
            const std::size_t n = ranges[s].second - ranges[s].first;
            addable += n < stages_[s].max_layers ? 1 : 0;
            removable += n > stages_[s].min_layers ? n : 0;
        }
        const std::vector<double> weights{sites.empty() ? 0.0 : 2.0, addable ? 1.0 : 0.0,
                                          removable ? 1.0 : 0.0};
        if (sites.empty() && !addable && !removable)
            return a; // a one-architecture space: nothing to change
        switch (g.categorical(weights)) {
        case 0: {
            const auto [j, what] = sites[g.below(sites.size())];
            architecture b = a;
            layer& l = b.layers[j];
            const stage& st = stages_[l.stage];
            const std::size_t nchoices = st.ops[l.op].choices.size();
            if (what == 0) {
                std::size_t n = g.below(st.ops.size() - 1);
                n += n >= l.op ? 1 : 0;
                l.values = carried_values(a.layers[j], n, &g);
                l.op = n;
            } else if (what <= nchoices) {
                const std::size_t k = what - 1;
                std::size_t v = g.below(st.ops[l.op].choices[k].values.size() - 1);
                v += v >= l.values[k] ? 1 : 0;
                l.values[k] = v;
            } else {
                // Options: 0 = no skip, 1 + p = skip from the stage's p-th layer.
                const std::size_t begin = ranges[l.stage].first;
                const std::size_t current = l.skip ? *l.skip - begin + 1 : 0;
                std::size_t x = g.below(j - begin);
                x += x >= current ? 1 : 0;
                if (x == 0)
                    l.skip.reset();
                else
                    l.skip = begin + x - 1;
            }
            return b;
        }
        case 1: {
            std::size_t pick = g.below(addable);
            for (std::size_t s = 0; s < stages_.size(); ++s) {
                const auto [begin, end] = ranges[s];
                if (end - begin >= stages_[s].max_layers)
                    continue;
                if (pick-- > 0)
                    continue;
                const std::size_t p = g.below(end - begin + 1);
                return inserted(a, begin + p, random_layer(s, p, begin, g));
            }
            return a; // unreachable: pick < addable
        }
        default: {
            std::size_t pick = g.below(removable);
            for (std::size_t s = 0; s < stages_.size(); ++s) {
                const auto [begin, end] = ranges[s];
                if (end - begin <= stages_[s].min_layers)
                    continue;
                if (pick >= end - begin) {
                    pick -= end - begin;
                    continue;
                }
                return removed(a, begin + pick);
            }
            return a; // unreachable: pick < removable
        }
        }
    }

    architecture crossover_once(const architecture& a, const architecture& b, rng& g) const {
        const auto ra = stage_ranges(a), rb = stage_ranges(b);
        const std::size_t s = g.below(stages_.size());
        const std::size_t na = ra[s].second - ra[s].first, nb = rb[s].second - rb[s].first;
        std::vector<std::pair<std::size_t, std::size_t>> cuts;
        for (std::size_t i = 0; i <= na; ++i)
            for (std::size_t j = 0; j <= nb; ++j) {
                const std::size_t n = i + nb - j;
                if (n >= stages_[s].min_layers && n <= stages_[s].max_layers)
                    cuts.emplace_back(i, j);
            }
        const auto [i, j] = cuts[g.below(cuts.size())]; // never empty: (na, nb) keeps a's depth
        architecture c;
        // a's layers up to the cut keep their indices, so their skips stay valid.
        c.layers.assign(a.layers.begin(),
                        a.layers.begin() + static_cast<std::ptrdiff_t>(ra[s].first + i));
        // b's layers from the cut on: stage s shifts by (ra.first + i) - (rb.first + j); later
        // stages by the difference of the stage starts. A skip into b's dropped part vanishes.
        const std::size_t cut_b = rb[s].first + j;
        for (std::size_t k = cut_b; k < b.layers.size(); ++k) {
            layer l = b.layers[k];
            const std::size_t new_index = c.layers.size();
            if (l.skip) {
                if (l.stage == s && *l.skip < cut_b)
                    l.skip.reset();
                else
                    *l.skip = *l.skip + new_index - k; // same distance back
            }
            c.layers.push_back(std::move(l));
        }
        return c;
    }

    static std::size_t slot_size(const stage& st) {
        std::size_t n = st.ops.size();
        for (const auto& o : st.ops)
            for (const auto& c : o.choices)
                n += c.values.size();
        if (st.skip && st.max_layers > 0)
            n += st.max_layers - 1;
        return n;
    }

    // Recursive-descent parser over the grammar in the class comment.
    struct parser {
        const chain_space& space;
        std::string_view text;
        std::size_t pos = 0;

        parse_error fail(std::size_t at, const std::string& what) const {
            return parse_error("xnas::chain_space::parse: " + what + ": " +
                               detail::token_at(text, at, delimiters_) + " at offset " +
                               std::to_string(at) + " in \"" + std::string(text) + "\"");
        }
        void skip_spaces() {
            while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                         text[pos] == '\r' || text[pos] == '\n'))
                ++pos;
        }
        bool at_char(char c) {
            skip_spaces();
            return pos < text.size() && text[pos] == c;
        }
        // The word at pos (possibly empty) and its offset.
        std::pair<std::string_view, std::size_t> word() {
            skip_spaces();
            const std::size_t start = pos;
            while (pos < text.size() && delimiters_.find(text[pos]) == std::string_view::npos)
                ++pos;
            return {text.substr(start, pos - start), start};
        }
        void expect(char c, const std::string& context) {
            if (!at_char(c))
                throw fail(pos, "expected '" + std::string(1, c) + "' " + context);
            ++pos;
        }

        static bool same_value(std::string_view given, const std::string& allowed) {
            if (given == allowed)
                return true;
            double x = 0, y = 0;
            return detail::parse_double(given, x) && detail::parse_double(allowed, y) && x == y;
        }

        layer parse_layer(std::size_t s, std::size_t begin, std::size_t index) {
            const stage& st = space.stages_[s];
            const auto [name, at] = word();
            std::size_t n = st.ops.size();
            for (std::size_t m = 0; m < st.ops.size(); ++m)
                if (st.ops[m].name == name)
                    n = m;
            if (n == st.ops.size()) {
                std::string names;
                for (const auto& o : st.ops)
                    names += (names.empty() ? "" : ", ") + o.name;
                std::string hint;
                for (std::size_t later = s + 1; later < space.stages_.size(); ++later)
                    for (const auto& o : space.stages_[later].ops)
                        if (o.name == name && hint.empty())
                            hint = "; '" + o.name + "' belongs to stage '" +
                                   space.stages_[later].name + "', and stages are separated by '+'";
                throw fail(at, "unknown op for stage '" + st.name + "' (expected one of: " + names +
                                   ")" + hint);
            }
            const op& o = st.ops[n];
            layer l{s, n, std::vector<std::size_t>(o.choices.size(), 0), std::nullopt};
            std::vector<char> given(o.choices.size(), 0);
            expect('(', "after op '" + o.name + "'");
            if (at_char(')'))
                ++pos;
            else
                for (;;) {
                    const auto [key, key_at] = word();
                    if (key.empty())
                        throw fail(key_at, "expected a choice name in the arguments of op '" +
                                               o.name + "'");
                    expect('=', "after '" + std::string(key) + "'");
                    const auto [val, val_at] = word();
                    if (val.empty())
                        throw fail(val_at, "expected a value for '" + std::string(key) + "'");
                    if (key == "skip") {
                        if (!st.skip)
                            throw fail(key_at, "stage '" + st.name + "' has no skip connections");
                        if (l.skip)
                            throw fail(key_at, "'skip' given twice");
                        std::size_t src = 0;
                        if (!detail::parse_size(val, src) || src < begin || src >= index)
                            throw fail(val_at,
                                       "bad skip source for layer " + std::to_string(index) +
                                           " (expected the index of an earlier layer of stage '" +
                                           st.name + "'" +
                                           (begin < index
                                                ? ", " + std::to_string(begin) + ".." +
                                                      std::to_string(index - 1)
                                                : std::string(", but it is the stage's first")) +
                                           ")");
                        l.skip = src;
                    } else {
                        std::size_t k = o.choices.size();
                        for (std::size_t m = 0; m < o.choices.size(); ++m)
                            if (o.choices[m].name == key)
                                k = m;
                        if (k == o.choices.size()) {
                            std::string names;
                            for (const auto& c : o.choices)
                                names += (names.empty() ? "" : ", ") + c.name;
                            throw fail(key_at, "unknown choice of op '" + o.name +
                                                   "' (expected one of: " + names +
                                                   (st.skip ? ", skip" : "") + ")");
                        }
                        if (given[k])
                            throw fail(key_at, "choice '" + o.choices[k].name + "' given twice");
                        given[k] = 1;
                        const auto& values = o.choices[k].values;
                        std::size_t v = values.size();
                        for (std::size_t x = 0; x < values.size() && v == values.size(); ++x)
                            if (same_value(val, values[x]))
                                v = x;
                        if (v == values.size()) {
                            std::string allowed;
                            for (const auto& x : values)
                                allowed += (allowed.empty() ? "" : ", ") + x;
                            throw fail(val_at, "value not allowed for " + o.name + "." +
                                                   o.choices[k].name +
                                                   " (expected one of: " + allowed + ")");
                        }
                        l.values[k] = v;
                    }
                    if (at_char(',')) {
                        ++pos;
                        continue;
                    }
                    expect(')', "or ',' in the arguments of op '" + o.name + "'");
                    break;
                }
            for (std::size_t k = 0; k < o.choices.size(); ++k)
                if (!given[k])
                    throw fail(at,
                               "op '" + o.name + "' is missing choice '" + o.choices[k].name + "'");
            return l;
        }

        architecture run() {
            architecture a;
            const auto& stages = space.stages_;
            for (std::size_t s = 0; s < stages.size(); ++s) {
                if (s > 0)
                    expect('+', "before stage '" + stages[s].name + "' (the space has " +
                                    std::to_string(stages.size()) + " stages, separated by '+')");
                skip_spaces();
                const std::size_t stage_at = pos, begin = a.layers.size();
                if (pos < text.size() && text[pos] != '+')
                    for (;;) {
                        a.layers.push_back(parse_layer(s, begin, a.layers.size()));
                        if (!at_char('|'))
                            break;
                        ++pos;
                    }
                const std::size_t n = a.layers.size() - begin;
                if (n < stages[s].min_layers || n > stages[s].max_layers)
                    throw fail(stage_at, "stage '" + stages[s].name + "' has " + std::to_string(n) +
                                             " layers, expected " +
                                             std::to_string(stages[s].min_layers) + ".." +
                                             std::to_string(stages[s].max_layers));
            }
            skip_spaces();
            if (pos < text.size())
                throw fail(pos, text[pos] == '+'
                                    ? "too many stages (the space has " +
                                          std::to_string(stages.size()) + ")"
                                    : std::string("expected '|' or the end after a layer"));
            return a;
        }
    };

    std::vector<stage> stages_;
    predicate constraint_{};
    repair_function repair_{};
    std::size_t max_attempts_ = 1000;
};

static_assert(search_space<chain_space>);
static_assert(serializable_space<chain_space>);
static_assert(neighbourhood_space<chain_space>);
static_assert(encodable_space<chain_space>);
static_assert(crossover_space<chain_space>);
static_assert(finite_space<chain_space>);
static_assert(decision_space<chain_space> && has_named_members<chain_space>);

} // namespace xnas
