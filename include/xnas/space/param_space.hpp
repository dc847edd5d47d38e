#pragma once
// xnas::param_space: a hyperparameter search space of categorical, integer (with step), float
// and log-float parameters, with conditional parameters (active only when a parent takes given
// values) and constraints (reject-and-resample or repair).

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/space/decisions.hpp>

namespace xnas {

/// The value of one parameter: an integer, a real number, or a categorical choice's label.
using param_value = std::variant<std::int64_t, double, std::string>;

/// Shortest text that reads back to the same value (doubles round-trip exactly).
inline std::string to_string(const param_value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v))
        return std::to_string(*i);
    if (const auto* d = std::get_if<double>(&v)) {
        char buf[64];
        const auto r = std::to_chars(buf, buf + sizeof buf, *d);
        return std::string(buf, r.ptr);
    }
    return std::get<std::string>(v);
}

enum class param_kind { categorical, integer, real, log_real };

/// Makes a parameter active only when parameter `parent` (declared earlier, categorical or
/// integer) takes one of `values`: `when("optimizer", {"sgd"})`, `when("layers", {3, 4})`.
struct param_condition {
    std::string parent;
    std::vector<param_value> values;
};

inline param_condition when(std::string parent, std::vector<param_value> values) {
    return {std::move(parent), std::move(values)};
}

/// One parameter's definition (see the param_space::add_* functions).
struct param_def {
    std::string name;
    param_kind kind = param_kind::categorical;
    std::vector<std::string> choices{};      ///< categorical labels
    std::int64_t ilo = 0, ihi = 0, step = 1; ///< integer: lo, lo + step, ... <= hi
    double lo = 0, hi = 0;                   ///< real and log_real bounds (inclusive)
    std::optional<param_condition> condition{};

    /// Number of distinct values; +infinity for a real range.
    double count() const {
        switch (kind) {
        case param_kind::categorical:
            return static_cast<double>(choices.size());
        case param_kind::integer:
            return static_cast<double>((ihi - ilo) / step + 1);
        default:
            return hi > lo ? std::numeric_limits<double>::infinity() : 1.0;
        }
    }
};

/// A hyperparameter space. Architectures are `std::map<name, param_value>` holding exactly the
/// active parameters (an inactive conditional parameter is absent): integers as std::int64_t,
/// reals as double, categoricals as their label (std::string). Read them with param_get<T>.
///
/// Built by chaining: `param_space{}.add_log_float("lr", 1e-4, 1e-1).add_categorical("opt",
/// {"sgd", "adam"}).add_float("momentum", 0, 0.99, when("opt", {"sgd"}))`. Parameters are
/// drawn in declaration order, so a parent must be declared before the parameters it governs.
///
/// Text form: `name=value;name=value` in declaration order, doubles printed shortest-exact,
/// so parse(to_string(a)) == a. Encoding: a one-hot block per categorical, one number in [0, 1]
/// per numeric parameter (log-scaled for log floats); an inactive parameter encodes as zeros.
class param_space {
  public:
    using architecture = std::map<std::string, param_value>;

    /// A categorical parameter over `choices` (non-empty, distinct labels without ';' or '=').
    param_space& add_categorical(std::string name, std::vector<std::string> choices,
                                 std::optional<param_condition> cond = {}) {
        param_def p;
        p.name = std::move(name);
        p.kind = param_kind::categorical;
        p.choices = std::move(choices);
        p.condition = std::move(cond);
        const std::string fn = "xnas::param_space::add_categorical: '" + p.name + "': ";
        if (p.choices.empty())
            throw std::invalid_argument(fn + "no choices, expected at least one");
        std::set<std::string> seen;
        for (const auto& c : p.choices) {
            if (c.empty() || c.find_first_of(";=") != std::string::npos)
                throw std::invalid_argument(fn + "choice '" + c +
                                            "' must be non-empty without ';' or '='");
            if (!seen.insert(c).second)
                throw std::invalid_argument(fn + "choice '" + c + "' appears twice");
        }
        return add(std::move(p));
    }

    /// An integer parameter taking lo, lo + step, ..., up to hi.
    param_space& add_int(std::string name, std::int64_t lo, std::int64_t hi, std::int64_t step = 1,
                         std::optional<param_condition> cond = {}) {
        if (hi < lo || step <= 0)
            throw std::invalid_argument("xnas::param_space::add_int: '" + name + "': range [" +
                                        std::to_string(lo) + ", " + std::to_string(hi) + "] step " +
                                        std::to_string(step) + ", expected lo <= hi and step > 0");
        param_def p;
        p.name = std::move(name);
        p.kind = param_kind::integer;
        p.ilo = lo;
        p.ihi = hi;
        p.step = step;
        p.condition = std::move(cond);
        return add(std::move(p));
    }

    /// An integer parameter without step, with a condition.
    param_space& add_int(std::string name, std::int64_t lo, std::int64_t hi, param_condition cond) {
        return add_int(std::move(name), lo, hi, 1, std::move(cond));
    }

    /// A real parameter, uniform in [lo, hi].
    param_space& add_float(std::string name, double lo, double hi,
                           std::optional<param_condition> cond = {}) {
        if (!(std::isfinite(lo) && std::isfinite(hi) && lo <= hi))
            throw std::invalid_argument("xnas::param_space::add_float: '" + name + "': range [" +
                                        xnas::to_string(lo) + ", " + xnas::to_string(hi) +
                                        "], expected finite lo <= hi");
        return add_real(std::move(name), param_kind::real, lo, hi, std::move(cond));
    }

    /// A real parameter, log-uniform in [lo, hi] (0 < lo <= hi): learning rates, weight decay.
    param_space& add_log_float(std::string name, double lo, double hi,
                               std::optional<param_condition> cond = {}) {
        if (!(std::isfinite(lo) && std::isfinite(hi) && lo > 0 && lo <= hi))
            throw std::invalid_argument("xnas::param_space::add_log_float: '" + name +
                                        "': range [" + xnas::to_string(lo) + ", " +
                                        xnas::to_string(hi) + "], expected finite 0 < lo <= hi");
        return add_real(std::move(name), param_kind::log_real, lo, hi, std::move(cond));
    }

    /// Rejects architectures failing `pred`: sample, mutate and crossover retry (up to
    /// max_attempts, then throw std::runtime_error); neighbours skips them. Several predicates
    /// must all hold.
    param_space& add_constraint(std::function<bool(const architecture&)> pred) {
        constraints_.push_back(std::move(pred));
        return *this;
    }

    /// Maps every drawn architecture to a valid one (applied before the constraints). It must
    /// return an architecture of the space (checked; std::logic_error otherwise).
    param_space& set_repair(std::function<architecture(architecture)> fn) {
        repair_ = std::move(fn);
        return *this;
    }

    /// Attempts before sample/mutate/crossover give up on the constraints (default 100).
    param_space& set_max_attempts(std::size_t n) {
        max_attempts_ = n == 0 ? 1 : n;
        return *this;
    }

    const std::vector<param_def>& parameters() const { return params_; }

    architecture sample(rng& g) const {
        require_params("sample");
        for (std::size_t attempt = 0; attempt < max_attempts_; ++attempt) {
            architecture a;
            resolve(a, &g);
            if (finish(a))
                return a;
        }
        throw give_up("sample");
    }

    /// Changes one active parameter (a parameter with a single value never changes); children
    /// that become active are drawn, those that become inactive dropped. Returns a copy of `a`
    /// when no parameter can change.
    architecture mutate(const architecture& a, rng& g) const {
        std::vector<std::size_t> movable;
        for (std::size_t i = 0; i < params_.size(); ++i)
            if (a.count(params_[i].name) && params_[i].count() > 1)
                movable.push_back(i);
        if (movable.empty())
            return a;
        for (std::size_t attempt = 0; attempt < max_attempts_; ++attempt) {
            architecture b = a;
            const param_def& p = params_[movable[g.below(movable.size())]];
            b[p.name] = perturb(p, b.at(p.name), g);
            resolve(b, &g);
            if (b != a && finish(b))
                return b;
        }
        throw give_up("mutate");
    }

    /// Architectures one edit away, deterministic, excluding `a`: every other choice of each
    /// active categorical, the integer values one step either side, and reals moved by a tenth
    /// of their (log) range either side. Newly active children take their default (first
    /// choice, lower integer bound, middle of a real range); constraints filter.
    std::vector<architecture> neighbours(const architecture& a) const {
        std::vector<architecture> out;
        auto consider = [&](const param_def& p, param_value v) {
            architecture b = a;
            b[p.name] = std::move(v);
            resolve(b, nullptr);
            if (b != a && finish(b) && std::find(out.begin(), out.end(), b) == out.end())
                out.push_back(std::move(b));
        };
        for (const auto& p : params_) {
            const auto it = a.find(p.name);
            if (it == a.end())
                continue;
            switch (p.kind) {
            case param_kind::categorical:
                for (const auto& c : p.choices)
                    if (c != std::get<std::string>(it->second))
                        consider(p, c);
                break;
            case param_kind::integer: {
                const std::int64_t v = std::get<std::int64_t>(it->second);
                if (v - p.step >= p.ilo)
                    consider(p, v - p.step);
                if (v + p.step <= p.ihi)
                    consider(p, v + p.step);
                break;
            }
            default: {
                const double u = to_unit(p, std::get<double>(it->second));
                for (double du : {-0.1, 0.1})
                    consider(p, from_unit(p, std::clamp(u + du, 0.0, 1.0)));
            }
            }
        }
        return out;
    }

    /// Uniform crossover: each active parameter comes from one parent chosen by a fair coin
    /// (from the parent that has it, when only one does; drawn afresh when neither does).
    architecture crossover(const architecture& a, const architecture& b, rng& g) const {
        for (std::size_t attempt = 0; attempt < max_attempts_; ++attempt) {
            architecture c;
            for (const auto& p : params_) {
                if (!active(p, c))
                    continue;
                const auto ia = a.find(p.name), ib = b.find(p.name);
                if (ia != a.end() && ib != b.end())
                    c[p.name] = g.bernoulli(0.5) ? ia->second : ib->second;
                else if (ia != a.end())
                    c[p.name] = ia->second;
                else if (ib != b.end())
                    c[p.name] = ib->second;
                else
                    c[p.name] = draw(p, g);
            }
            if (finish(c))
                return c;
        }
        throw give_up("crossover");
    }

    std::size_t encoding_size() const {
        std::size_t n = 0;
        for (const auto& p : params_)
            n += p.kind == param_kind::categorical ? p.choices.size() : 1;
        return n;
    }

    std::vector<double> encode(const architecture& a) const {
        std::vector<double> v(encoding_size(), 0.0);
        std::size_t at = 0;
        for (const auto& p : params_) {
            const auto it = a.find(p.name);
            if (p.kind == param_kind::categorical) {
                if (it != a.end())
                    v[at + choice_index(p, std::get<std::string>(it->second))] = 1.0;
                at += p.choices.size();
                continue;
            }
            if (it != a.end())
                v[at] =
                    p.kind == param_kind::integer
                        ? (p.ihi > p.ilo
                               ? static_cast<double>(std::get<std::int64_t>(it->second) - p.ilo) /
                                     static_cast<double>(p.ihi - p.ilo)
                               : 0.0)
                        : to_unit(p, std::get<double>(it->second));
            ++at;
        }
        return v;
    }

    std::string to_string(const architecture& a) const {
        std::string s;
        for (const auto& p : params_) {
            const auto it = a.find(p.name);
            if (it == a.end())
                continue;
            if (!s.empty())
                s += ';';
            s += p.name;
            s += '=';
            s += xnas::to_string(it->second);
        }
        return s;
    }

    /// Inverse of to_string. Throws xnas::parse_error naming the offending token and its offset:
    /// a token without '=', an unknown or repeated name, a value outside the parameter's domain,
    /// an active parameter missing or an inactive one present.
    architecture parse(const std::string& text) const {
        const std::string fn = "xnas::param_space::parse: ";
        architecture a;
        std::size_t pos = 0;
        while (pos < text.size()) {
            std::size_t end = text.find(';', pos);
            if (end == std::string::npos)
                end = text.size();
            const std::string tok = text.substr(pos, end - pos);
            const std::string where = "token '" + tok + "' at offset " + std::to_string(pos);
            const auto eq = tok.find('=');
            if (eq == std::string::npos)
                throw parse_error(fn + where + ": expected name=value");
            const std::string name = tok.substr(0, eq), val = tok.substr(eq + 1);
            const param_def* p = find(name);
            if (!p)
                throw parse_error(fn + where + ": no parameter named '" + name + "'");
            if (a.count(name))
                throw parse_error(fn + where + ": parameter '" + name + "' given twice");
            a[name] = parse_value(*p, val, fn + where);
            pos = end + 1;
        }
        if (const auto why = structure_error(a); !why.empty())
            throw parse_error(fn + "'" + text + "': " + why);
        return a;
    }

    /// True when `a` is an architecture of the space (structure, domains and constraints).
    bool contains(const architecture& a) const {
        if (!structure_error(a).empty())
            return false;
        for (const auto& c : constraints_)
            if (!c(a))
                return false;
        return true;
    }

    /// Number of architectures when every parameter is discrete (+infinity otherwise),
    /// counting conditional parameters only where active. Constraints are not counted (it is
    /// then an upper bound). Exponential only in the number of parent parameters.
    double cardinality() const {
        for (const auto& p : params_)
            if (std::isinf(p.count()))
                return std::numeric_limits<double>::infinity();
        architecture partial;
        return count_from(0, partial);
    }

    // ---- decision view (xnas/space/decisions.hpp) ------------------------------------------

    /// Bins of a real range, and the most integer values kept exact, in the decision view.
    static constexpr std::size_t decision_bins = 64, max_exact_int_decisions = 64;

    /// One categorical decision per parameter in declaration order: a categorical's choices; an
    /// integer's values when there are at most 64 of them, else 64 bins of the range; a real or
    /// log-real range cut into 64 bins (of the log range for log-real) whose centre is the value.
    /// An inactive conditional parameter reads -1. The round trip is exact for categorical and
    /// small integer parameters, and up to the bin for the others. Constraints are not applied:
    /// check contains(a) (reinforce and tpe do).
    std::vector<std::size_t> decisions() const {
        std::vector<std::size_t> out;
        for (const auto& p : params_)
            out.push_back(decision_choices(p));
        return out;
    }

    /// Every parameter but a categorical one is an ordered decision.
    std::vector<bool> ordered_decisions() const {
        std::vector<bool> out;
        for (const auto& p : params_)
            out.push_back(p.kind != param_kind::categorical);
        return out;
    }

    architecture from_decisions(const std::vector<int>& d) const {
        const auto& ps = params_;
        if (d.size() != ps.size())
            throw std::invalid_argument(
                "xnas::from_decisions(param_space): " + std::to_string(d.size()) +
                " decisions, expected " + std::to_string(ps.size()));
        architecture a;
        for (std::size_t i = 0; i < ps.size(); ++i) {
            const param_def& p = ps[i];
            if (p.condition) {
                const auto it = a.find(p.condition->parent);
                if (it == a.end() ||
                    std::find(p.condition->values.begin(), p.condition->values.end(), it->second) ==
                        p.condition->values.end())
                    continue;
            }
            const std::size_t k = d[i] < 0 ? 0 : static_cast<std::size_t>(d[i]);
            const std::size_t n = decision_choices(p);
            switch (p.kind) {
            case param_kind::categorical:
                a[p.name] = p.choices[std::min(k, n - 1)];
                break;
            case param_kind::integer: {
                const std::int64_t values = (p.ihi - p.ilo) / p.step + 1;
                std::int64_t j = static_cast<std::int64_t>(k);
                if (n != static_cast<std::size_t>(values)) // binned: centre of bin k
                    j = static_cast<std::int64_t>((static_cast<double>(k) + 0.5) *
                                                  static_cast<double>(values) /
                                                  static_cast<double>(n));
                a[p.name] = p.ilo + std::clamp<std::int64_t>(j, 0, values - 1) * p.step;
                break;
            }
            default: {
                const double u = (static_cast<double>(k) + 0.5) / static_cast<double>(n);
                double v = p.kind == param_kind::log_real
                               ? std::exp(std::log(p.lo) + u * (std::log(p.hi) - std::log(p.lo)))
                               : p.lo + u * (p.hi - p.lo);
                a[p.name] = std::clamp(v, p.lo, p.hi);
            }
            }
        }
        return a;
    }

    std::vector<int> to_decisions(const architecture& a) const {
        std::vector<int> out;
        for (const auto& p : params_) {
            const auto it = a.find(p.name);
            if (it == a.end()) {
                out.push_back(-1);
                continue;
            }
            const std::size_t n = decision_choices(p);
            std::size_t k = 0;
            switch (p.kind) {
            case param_kind::categorical:
                k = static_cast<std::size_t>(std::find(p.choices.begin(), p.choices.end(),
                                                       std::get<std::string>(it->second)) -
                                             p.choices.begin());
                break;
            case param_kind::integer: {
                const std::int64_t values = (p.ihi - p.ilo) / p.step + 1;
                const std::int64_t j = (std::get<std::int64_t>(it->second) - p.ilo) / p.step;
                k = n == static_cast<std::size_t>(values)
                        ? static_cast<std::size_t>(j)
                        : static_cast<std::size_t>(static_cast<double>(j) * static_cast<double>(n) /
                                                   static_cast<double>(values));
                break;
            }
            default: {
                const double v = std::get<double>(it->second);
                double u = 0;
                if (p.hi > p.lo)
                    u = p.kind == param_kind::log_real
                            ? (std::log(v) - std::log(p.lo)) / (std::log(p.hi) - std::log(p.lo))
                            : (v - p.lo) / (p.hi - p.lo);
                k = static_cast<std::size_t>(std::max(0.0, u * static_cast<double>(n)));
            }
            }
            out.push_back(static_cast<int>(std::min(k, n - 1)));
        }
        return out;
    }

    /// One named decision per active parameter, its value as text. A real value is binned into
    /// half-decades ("3e-3..1e-2"): left continuous, every trial would be a group of its own and
    /// the parameter would seem to explain all the variance in a decision importance table.
    decision_map named_decisions(const architecture& a) const {
        decision_map d;
        for (const auto& [name, value] : a) {
            if (const auto* x = std::get_if<double>(&value); x && *x != 0.0 && std::isfinite(*x)) {
                const double lo = std::floor(2.0 * std::log10(std::abs(*x))) / 2.0;
                char bin[64];
                std::snprintf(bin, sizeof bin, "%s%.0e..%.0e", *x < 0 ? "-" : "",
                              std::pow(10.0, lo), std::pow(10.0, lo + 0.5));
                d[name] = bin;
            } else {
                d[name] = xnas::to_string(value);
            }
        }
        return d;
    }

  private:
    // Choices of p's decision (see decisions()).
    static std::size_t decision_choices(const param_def& p) {
        switch (p.kind) {
        case param_kind::categorical:
            return p.choices.size();
        case param_kind::integer: {
            const auto n = static_cast<std::size_t>((p.ihi - p.ilo) / p.step + 1);
            return n <= max_exact_int_decisions ? n : decision_bins;
        }
        default:
            return p.hi > p.lo ? decision_bins : 1;
        }
    }

    param_space& add_real(std::string name, param_kind kind, double lo, double hi,
                          std::optional<param_condition> cond) {
        param_def p;
        p.name = std::move(name);
        p.kind = kind;
        p.lo = lo;
        p.hi = hi;
        p.condition = std::move(cond);
        return add(std::move(p));
    }

    param_space& add(param_def p) {
        const std::string fn = "xnas::param_space: parameter '" + p.name + "': ";
        if (p.name.empty() || p.name.find_first_of(";=") != std::string::npos)
            throw std::invalid_argument(fn + "the name must be non-empty without ';' or '='");
        if (find(p.name))
            throw std::invalid_argument(fn + "declared twice");
        if (p.condition) {
            const param_def* parent = find(p.condition->parent);
            if (!parent)
                throw std::invalid_argument(fn + "condition on '" + p.condition->parent +
                                            "', which is not declared before it");
            if (parent->kind != param_kind::categorical && parent->kind != param_kind::integer)
                throw std::invalid_argument(fn + "condition on '" + parent->name +
                                            "', expected a categorical or integer parent");
            if (p.condition->values.empty())
                throw std::invalid_argument(fn + "condition on '" + parent->name +
                                            "' lists no values");
            for (const auto& v : p.condition->values)
                if (!valid_value(*parent, v))
                    throw std::invalid_argument(fn + "condition value '" + xnas::to_string(v) +
                                                "' is not a value of '" + parent->name + "'");
        }
        params_.push_back(std::move(p));
        return *this;
    }

    void require_params(const char* fn) const {
        if (params_.empty())
            throw std::invalid_argument(std::string("xnas::param_space::") + fn +
                                        ": the space has no parameters");
    }

    std::runtime_error give_up(const char* fn) const {
        return std::runtime_error(std::string("xnas::param_space::") + fn + ": no architecture " +
                                  "met the constraints in " + std::to_string(max_attempts_) +
                                  " attempts; loosen them, add a repair, or set_max_attempts");
    }

    const param_def* find(const std::string& name) const {
        for (const auto& p : params_)
            if (p.name == name)
                return &p;
        return nullptr;
    }

    /// Whether p is active given the values already in `a` (its parent comes earlier).
    static bool active(const param_def& p, const architecture& a) {
        if (!p.condition)
            return true;
        const auto it = a.find(p.condition->parent);
        if (it == a.end())
            return false;
        const auto& vs = p.condition->values;
        return std::find(vs.begin(), vs.end(), it->second) != vs.end();
    }

    /// Adds newly active parameters (drawn with g, or defaults when g is null) and drops
    /// inactive ones, in declaration order.
    void resolve(architecture& a, rng* g) const {
        for (const auto& p : params_) {
            if (active(p, a)) {
                if (!a.count(p.name))
                    a[p.name] = g ? draw(p, *g) : default_value(p);
            } else {
                a.erase(p.name);
            }
        }
    }

    /// Applies the repair and the constraints; false when a constraint rejects.
    bool finish(architecture& a) const {
        if (repair_) {
            a = repair_(std::move(a));
            if (const auto why = structure_error(a); !why.empty())
                throw std::logic_error("xnas::param_space: the repair function returned an "
                                       "architecture outside the space: " +
                                       why);
        }
        for (const auto& c : constraints_)
            if (!c(a))
                return false;
        return true;
    }

    static param_value draw(const param_def& p, rng& g) {
        switch (p.kind) {
        case param_kind::categorical:
            return p.choices[g.below(p.choices.size())];
        case param_kind::integer:
            return p.ilo + p.step * static_cast<std::int64_t>(g.below(
                                        static_cast<std::uint64_t>((p.ihi - p.ilo) / p.step) + 1));
        default:
            return from_unit(p, g.uniform());
        }
    }

    static param_value default_value(const param_def& p) {
        switch (p.kind) {
        case param_kind::categorical:
            return p.choices.front();
        case param_kind::integer:
            return p.ilo;
        default:
            return from_unit(p, 0.5);
        }
    }

    /// A different value of p, drawn near the current one for reals (Gaussian step of a fifth
    /// of the (log) range, clamped), uniformly among the others for discrete parameters.
    static param_value perturb(const param_def& p, const param_value& v, rng& g) {
        switch (p.kind) {
        case param_kind::categorical: {
            const std::size_t n = p.choices.size();
            const std::size_t i = choice_index(p, std::get<std::string>(v));
            return p.choices[(i + 1 + g.below(n - 1)) % n];
        }
        case param_kind::integer: {
            const auto n = static_cast<std::uint64_t>((p.ihi - p.ilo) / p.step) + 1;
            const auto i = static_cast<std::uint64_t>((std::get<std::int64_t>(v) - p.ilo) / p.step);
            return p.ilo + p.step * static_cast<std::int64_t>((i + 1 + g.below(n - 1)) % n);
        }
        default: {
            const double u = to_unit(p, std::get<double>(v));
            return from_unit(p, std::clamp(u + 0.2 * g.normal(), 0.0, 1.0));
        }
        }
    }

    /// Position of a real value in its (log) range, in [0, 1].
    static double to_unit(const param_def& p, double v) {
        if (!(p.hi > p.lo))
            return 0.0;
        if (p.kind == param_kind::log_real)
            return (std::log(v) - std::log(p.lo)) / (std::log(p.hi) - std::log(p.lo));
        return (v - p.lo) / (p.hi - p.lo);
    }

    static double from_unit(const param_def& p, double u) {
        const double v = p.kind == param_kind::log_real
                             ? std::exp(std::log(p.lo) + u * (std::log(p.hi) - std::log(p.lo)))
                             : p.lo + u * (p.hi - p.lo);
        return std::clamp(v, p.lo, p.hi); // rounding in exp/log may step outside
    }

    static std::size_t choice_index(const param_def& p, const std::string& c) {
        const auto it = std::find(p.choices.begin(), p.choices.end(), c);
        if (it == p.choices.end())
            throw std::invalid_argument("xnas::param_space: '" + c + "' is not a choice of '" +
                                        p.name + "'");
        return static_cast<std::size_t>(it - p.choices.begin());
    }

    static bool valid_value(const param_def& p, const param_value& v) {
        switch (p.kind) {
        case param_kind::categorical: {
            const auto* s = std::get_if<std::string>(&v);
            return s && std::find(p.choices.begin(), p.choices.end(), *s) != p.choices.end();
        }
        case param_kind::integer: {
            const auto* i = std::get_if<std::int64_t>(&v);
            return i && *i >= p.ilo && *i <= p.ihi && (*i - p.ilo) % p.step == 0;
        }
        default: {
            const auto* d = std::get_if<double>(&v);
            return d && *d >= p.lo && *d <= p.hi;
        }
        }
    }

    static param_value parse_value(const param_def& p, const std::string& text,
                                   const std::string& where) {
        param_value v;
        if (p.kind == param_kind::categorical) {
            v = text;
        } else if (p.kind == param_kind::integer) {
            std::int64_t i = 0;
            const auto r = std::from_chars(text.data(), text.data() + text.size(), i);
            if (r.ec != std::errc{} || r.ptr != text.data() + text.size())
                throw parse_error(where + ": '" + text + "' is not an integer");
            v = i;
        } else {
            double d = 0;
            const auto r = std::from_chars(text.data(), text.data() + text.size(), d);
            if (r.ec != std::errc{} || r.ptr != text.data() + text.size())
                throw parse_error(where + ": '" + text + "' is not a number");
            v = d;
        }
        if (!valid_value(p, v))
            throw parse_error(where + ": '" + text + "' is not a value of '" + p.name + "' (" +
                              domain(p) + ")");
        return v;
    }

    static std::string domain(const param_def& p) {
        switch (p.kind) {
        case param_kind::categorical: {
            std::string s = "one of ";
            for (std::size_t i = 0; i < p.choices.size(); ++i) {
                s += i ? ", " : "";
                s += p.choices[i];
            }
            return s;
        }
        case param_kind::integer:
            return "integers " + std::to_string(p.ilo) + ".." + std::to_string(p.ihi) + " step " +
                   std::to_string(p.step);
        default:
            return "reals in [" + xnas::to_string(p.lo) + ", " + xnas::to_string(p.hi) + "]";
        }
    }

    /// Empty when `a` has exactly the active parameters, each with a valid value; else why not.
    std::string structure_error(const architecture& a) const {
        for (const auto& [name, v] : a) {
            const param_def* p = find(name);
            if (!p)
                return "no parameter named '" + name + "'";
            if (!valid_value(*p, v))
                return std::string("'").append(xnas::to_string(v)) + "' is not a value of '" +
                       name + "' (" + domain(*p) + ")";
        }
        for (const auto& p : params_) {
            const bool is_active = active(p, a), present = a.count(p.name) > 0;
            if (is_active && !present)
                return "active parameter '" + p.name + "' is missing";
            if (!is_active && present)
                return "parameter '" + p.name + "' is given but inactive (its condition on '" +
                       p.condition->parent + "' does not hold)";
        }
        return {};
    }

    bool is_parent(const param_def& p) const {
        for (const auto& q : params_)
            if (q.condition && q.condition->parent == p.name)
                return true;
        return false;
    }

    double count_from(std::size_t i, architecture& partial) const {
        if (i == params_.size())
            return 1.0;
        const param_def& p = params_[i];
        if (!active(p, partial))
            return count_from(i + 1, partial);
        if (!is_parent(p))
            return p.count() * count_from(i + 1, partial);
        double total = 0;
        const auto n = static_cast<std::size_t>(p.count());
        for (std::size_t k = 0; k < n; ++k) {
            partial[p.name] = p.kind == param_kind::categorical
                                  ? param_value(p.choices[k])
                                  : param_value(p.ilo + p.step * static_cast<std::int64_t>(k));
            total += count_from(i + 1, partial);
        }
        partial.erase(p.name);
        return total;
    }

    std::vector<param_def> params_;
    std::vector<std::function<bool(const architecture&)>> constraints_;
    std::function<architecture(architecture)> repair_;
    std::size_t max_attempts_ = 100;
};

/// The value of parameter `name` in `a` as T (std::int64_t, double or std::string). Throws
/// std::out_of_range when it is absent (inactive or unknown), std::invalid_argument when it
/// holds another type.
template <class T>
const T& param_get(const param_space::architecture& a, const std::string& name) {
    const auto it = a.find(name);
    if (it == a.end())
        throw std::out_of_range("xnas::param_get: parameter '" + name +
                                "' is not in the architecture (inactive or unknown)");
    const T* v = std::get_if<T>(&it->second);
    if (!v)
        throw std::invalid_argument("xnas::param_get: parameter '" + name + "' holds '" +
                                    to_string(it->second) + "', not the requested type");
    return *v;
}

static_assert(serializable_space<param_space>);
static_assert(neighbourhood_space<param_space>);
static_assert(encodable_space<param_space>);
static_assert(crossover_space<param_space>);
static_assert(finite_space<param_space>);
static_assert(decision_space<param_space> && has_named_members<param_space>);

} // namespace xnas
