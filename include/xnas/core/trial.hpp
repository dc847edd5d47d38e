#pragma once
// The values that flow through a search: objectives with directions, a trial (what a strategy
// asks to have evaluated), an evaluation (what came back) and a scored trial (both together).

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/named_values.hpp>

namespace xnas {

enum class direction { maximize, minimize };

/// "maximize" or "minimize".
inline const char* to_string(direction d) {
    return d == direction::maximize ? "maximize" : "minimize";
}

/// Inverse of to_string(direction); throws std::invalid_argument naming the bad text.
inline direction parse_direction(const std::string& text) {
    if (text == "maximize" || text == "max")
        return direction::maximize;
    if (text == "minimize" || text == "min")
        return direction::minimize;
    throw std::invalid_argument("xnas::parse_direction: '" + text +
                                "' is not a direction; expected 'maximize' or 'minimize'");
}

/// A named objective: "val_accuracy" maximized, "params" minimized, ...
struct objective {
    std::string name;
    direction dir = direction::maximize;
    bool operator==(const objective&) const = default;
};

/// What a strategy asks to have evaluated. `fidelity` is the share of the full training budget
/// (1 = full; multi-fidelity strategies ask for less); `parents` are trial ids it derives from.
template <class A>
struct trial {
    std::uint64_t id = 0;
    A architecture{};
    double fidelity = 1.0;
    std::vector<std::uint64_t> parents{};
    bool operator==(const trial&) const = default;
};

enum class status { ok, failed, diverged, timed_out };

inline const char* to_string(status s) {
    switch (s) {
    case status::ok:
        return "ok";
    case status::failed:
        return "failed";
    case status::diverged:
        return "diverged";
    case status::timed_out:
        return "timed_out";
    }
    return "unknown";
}

/// Inverse of to_string(status); throws std::invalid_argument naming the bad text.
inline status parse_status(const std::string& text) {
    if (text == "ok")
        return status::ok;
    if (text == "failed")
        return status::failed;
    if (text == "diverged")
        return status::diverged;
    if (text == "timed_out")
        return status::timed_out;
    throw std::invalid_argument("xnas::parse_status: '" + text +
                                "' is not a status; expected ok, failed, diverged or timed_out");
}

/// The outcome of evaluating one trial. Objectives are keyed by name; `metrics` holds anything
/// else worth keeping. `cost` is what the trial consumed in budget units (seconds of training,
/// or a table's simulated training time).
struct evaluation {
    status state = status::ok;
    std::string message{}; ///< why it failed; empty when ok
    named_values objectives{};
    named_values metrics{};
    double cost = 0.0;

    bool ok() const { return state == status::ok; }
    bool operator==(const evaluation&) const = default;

    /// The value of objective `name`, or NaN when absent or the evaluation failed.
    double value(const std::string& name) const {
        if (!ok())
            return std::numeric_limits<double>::quiet_NaN();
        if (auto it = objectives.find(name); it != objectives.end())
            return it->second;
        if (auto it = metrics.find(name); it != metrics.end())
            return it->second;
        return std::numeric_limits<double>::quiet_NaN();
    }

    static evaluation failure(status s, std::string why, double cost = 0.0) {
        evaluation e;
        e.state = s;
        e.message = std::move(why);
        e.cost = cost;
        return e;
    }
};

/// A trial with its evaluation: what selectors and strategies rank.
template <class A>
struct scored {
    trial<A> t;
    evaluation e;
};

/// The value of objective `o` in `e` as strategies and selectors read it: e.value(o.name), and for
/// an empty name the evaluation's only objective. NaN when the evaluation failed or lacks the
/// value. Throws std::invalid_argument naming `who` and the evaluation's objectives when the name
/// is empty and there are several.
inline double objective_value(const evaluation& e, const objective& o,
                              const char* who = "xnas::objective_value") {
    if (!o.name.empty() || !e.ok())
        return e.value(o.name);
    if (e.objectives.empty())
        return std::numeric_limits<double>::quiet_NaN();
    if (e.objectives.size() == 1)
        return e.objectives.begin()->second;
    std::string names;
    for (const auto& [name, value] : e.objectives)
        names += (names.empty() ? "" : ", ") + name;
    throw std::invalid_argument(std::string(who) +
                                ": the objective has no name and the evaluation has " +
                                std::to_string(e.objectives.size()) + " (" + names +
                                "); expected one, or a named objective");
}

/// True when `a` is strictly better than `b` on `o`; a failed or missing value is never better.
inline bool better(double a, double b, direction d) {
    if (std::isnan(a))
        return false;
    if (std::isnan(b))
        return true;
    return d == direction::maximize ? a > b : a < b;
}

} // namespace xnas
