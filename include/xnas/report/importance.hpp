#pragma once
// Decision importance: how much of the variance of a search's objective each architectural
// decision explains, from the evaluated trials alone.
//
// Method: a first-order functional ANOVA on the observed data (Hutter, Hoos & Leyton-Brown,
// "An Efficient Approach for Assessing Hyperparameter Importance", ICML 2014, computes it on a
// fitted random forest; here it is computed on the trials directly, which is exact for main
// effects when the search sampled decisions roughly independently, e.g. random search, and an
// approximation otherwise). The main effect of decision d is Var_v(E[y | d = v]), weighted by
// how often each value v occurred, divided by Var(y). Interactions are what is left over.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace xnas::report {

/// One evaluated trial seen as decisions (name -> chosen value, as text) and its objective.
struct decision_row {
    std::map<std::string, std::string> decisions;
    double value = 0.0;
};

/// The share of the objective's variance a decision explains on its own (0..1), with the mean
/// objective per value, best value first.
struct decision_importance {
    std::string decision;
    double share = 0.0; ///< eta squared: between-value variance / total variance
    /// share corrected for chance, as adjusted R^2 of a one-way ANOVA:
    /// 1 - (1 - share) (n - 1) / (n - k) for n trials and k observed values, at least 0. With
    /// few trials per value a decision explains much variance by chance alone; this removes it.
    double adjusted_share = 0.0;
    /// sorted best first: by mean, descending (ascending for a minimised objective)
    std::vector<std::pair<std::string, double>> mean_by_value;
};

/// Main-effect importance of every decision that took two or more values, most important first
/// (by adjusted_share). Rows with a non-finite value are skipped; a decision absent from a row
/// counts as the value "(absent)", so conditional decisions are measured too; `minimize`: lower
/// values are better. Throws std::invalid_argument with fewer than two usable rows.
inline std::vector<decision_importance> main_effects(const std::vector<decision_row>& rows,
                                                     bool minimize = false) {
    std::vector<const decision_row*> usable;
    for (const auto& r : rows)
        if (std::isfinite(r.value))
            usable.push_back(&r);
    if (usable.size() < 2)
        throw std::invalid_argument(
            "xnas::report::main_effects: need at least 2 finite rows, got " +
            std::to_string(usable.size()));
    double mean = 0;
    for (auto* r : usable)
        mean += r->value;
    mean /= static_cast<double>(usable.size());
    double total = 0;
    for (auto* r : usable)
        total += (r->value - mean) * (r->value - mean);
    total /= static_cast<double>(usable.size());

    std::vector<std::string> names;
    for (auto* r : usable)
        for (const auto& [name, value] : r->decisions)
            if (std::find(names.begin(), names.end(), name) == names.end())
                names.push_back(name);

    std::vector<decision_importance> out;
    for (const auto& name : names) {
        std::map<std::string, std::pair<double, std::size_t>> groups; // value -> (sum, count)
        for (auto* r : usable) {
            auto it = r->decisions.find(name);
            auto& g = groups[it == r->decisions.end() ? "(absent)" : it->second];
            g.first += r->value;
            ++g.second;
        }
        // A decision that never varied explains nothing, and a 0% row would read as a measured
        // lack of influence (a space's fixed choice, a slot every trial left absent).
        if (groups.size() < 2)
            continue;
        decision_importance d{name, 0.0, 0.0, {}};
        double between = 0;
        for (const auto& [value, g] : groups) {
            const double m = g.first / static_cast<double>(g.second);
            between += static_cast<double>(g.second) * (m - mean) * (m - mean);
            d.mean_by_value.emplace_back(value, m);
        }
        between /= static_cast<double>(usable.size());
        d.share = total > 0 ? between / total : 0.0;
        const double n = static_cast<double>(usable.size()), k = static_cast<double>(groups.size());
        d.adjusted_share = n > k ? std::max(0.0, 1.0 - (1.0 - d.share) * (n - 1.0) / (n - k)) : 0.0;
        std::sort(d.mean_by_value.begin(), d.mean_by_value.end(),
                  [minimize](const auto& a, const auto& b) {
                      return minimize ? a.second < b.second : a.second > b.second;
                  });
        out.push_back(std::move(d));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.adjusted_share != b.adjusted_share ? a.adjusted_share > b.adjusted_share
                                                    : a.share > b.share;
    });
    return out;
}

} // namespace xnas::report
