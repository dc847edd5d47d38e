#pragma once
// Warm start: a search seeded with known architectures (an earlier search's best, a zero-cost
// pre-screen's picks). warm_start asks the seeds first and hands over to the inner strategy,
// which learns from the seeds' results; best_from_journal reads the seeds from a journal.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/json.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/run/journal.hpp>

namespace xnas::experiment {

/// A strategy that schedules by the share of its budget spent (xnas::search calls it before
/// every ask).
template <class St>
concept takes_progress = requires(St& st) {
    st.set_progress(0.5);
};

/// A strategy that asks `seeds` first, as trials 0 .. k-1, then hands over to `inner`. The
/// inner strategy observes the seeds' results when it can (observing_strategy: tpe models them,
/// evolution starts with them in its population) and is told them otherwise. Its own trials are
/// shifted to ids k, k+1, ...; it knows the seeds by ids from the top of the id range (seed i is
/// ~0 - i), which no strategy reaches, and its trials' parents that are seeds are mapped back to
/// the seeds' ids.
template <search_space Space, class St>
requires strategy<St, Space>
class warm_start {
  public:
    using architecture = typename Space::architecture;

    warm_start(St inner, std::vector<architecture> seeds)
        : inner_(std::move(inner))
        , seeds_(std::move(seeds)) {}

    trial<architecture> ask(const Space& space, rng& g) {
        space_ = &space;
        if (next_ < seeds_.size()) {
            trial<architecture> t;
            t.id = next_;
            t.architecture = seeds_[next_++];
            return t;
        }
        trial<architecture> t = inner_.ask(space, g);
        t.id += k();
        for (auto& p : t.parents)
            p = p > top - k() ? top - p : p + k();
        return t;
    }

    void tell(const trial<architecture>& t, const evaluation& e) {
        trial<architecture> inner_trial = t;
        inner_trial.id = t.id < k() ? top - t.id : t.id - k();
        for (auto& p : inner_trial.parents)
            p = p < k() ? top - p : p - k();
        if constexpr (observing_strategy<St, Space>) {
            if (t.id < k()) {
                if (!space_)
                    throw std::logic_error("xnas::experiment::warm_start::tell: seed " +
                                           std::to_string(t.id) + " told before it was asked");
                inner_.observe(*space_, inner_trial, e);
                return;
            }
        }
        inner_.tell(inner_trial, e);
    }

    /// Passed on to the inner strategy, when it takes one.
    void set_progress(double share) requires takes_progress<St> { inner_.set_progress(share); }

    const St& inner() const { return inner_; }
    const std::vector<architecture>& seeds() const { return seeds_; }

  private:
    static constexpr std::uint64_t top = ~std::uint64_t(0);
    std::uint64_t k() const { return seeds_.size(); }

    St inner_;
    std::vector<architecture> seeds_;
    std::size_t next_ = 0;
    /// The asking search's space, for observe: a seed's result arrives after its ask.
    const Space* space_ = nullptr;
};

/// `inner` seeded with `seeds` (warm_start); Space is named, St deduced:
/// `warm_started<chain_space>(evolution, seeds)`.
template <search_space Space, class St>
requires strategy<St, Space> warm_start<Space, St>
warm_started(St inner, std::vector<typename Space::architecture> seeds) {
    return warm_start<Space, St>(std::move(inner), std::move(seeds));
}

/// The k best distinct architectures of the journal at `path` by `by`, best first (ok
/// results only; ties keep journal order), parsed with `space`. `space_name` names the space in
/// the error of a journal of another space. Errors name the journal as the --warm-start option:
/// xnas::file_error when it cannot be read, xnas::parse_error naming the line of a malformed
/// record (a field missing or of the wrong type, a result for a trial never asked) or of an
/// architecture that is not of the space, std::invalid_argument when no trial succeeded.
template <serializable_space Space>
std::vector<typename Space::architecture>
best_from_journal(const Space& space, const std::string& space_name, const std::string& path,
                  std::size_t k, const objective& by = {"val_accuracy", direction::maximize}) {
    const auto j = read_journal(path);
    struct asked {
        std::string text;
        std::size_t line; ///< of the ask record, for the error of an architecture that won't parse
    };
    std::map<std::uint64_t, asked> arch;
    std::vector<std::pair<double, asked>> scored_archs;
    for (const auto& r : j.records) {
        const auto& d = r.data;
        // A field's type_error names the field only: the message must say where it is.
        const std::string where = "--warm-start " + path + ":" + std::to_string(r.line) + ": ";
        try {
            const auto event = d.at("event").get<std::string>();
            if (event == "ask") {
                arch[d.at("id").get<std::uint64_t>()] = {d.at("architecture").get<std::string>(),
                                                         r.line};
            } else if (event == "result" && d.get_or("status", std::string()) == "ok") {
                const json::value* objectives = d.find("objectives");
                const json::value* acc = objectives ? objectives->find(by.name) : nullptr;
                if (acc && !acc->is_null()) {
                    const auto id = d.at("id").get<std::uint64_t>();
                    const auto it = arch.find(id);
                    if (it == arch.end())
                        throw parse_error(where + "result for trial " + std::to_string(id) +
                                          " which was not asked before");
                    scored_archs.emplace_back(acc->get<double>(), it->second);
                }
            }
        } catch (const json::type_error& e) {
            throw parse_error(where + "malformed record: " + e.what());
        }
    }
    std::stable_sort(scored_archs.begin(), scored_archs.end(), [&](const auto& a, const auto& b) {
        return better(a.first, b.first, by.dir);
    });
    std::vector<typename Space::architecture> out;
    for (const auto& entry : scored_archs) {
        // Not a structured binding: clang 14 cannot capture one in the lambda below.
        const asked& asked_arch = entry.second;
        auto a = [&] {
            try {
                return space.parse(asked_arch.text);
            } catch (const std::invalid_argument& e) {
                // The journal does not record its space, and a bare parse message does not say
                // that the journal, not the --space, is the thing to change.
                throw parse_error("--warm-start " + path + ":" + std::to_string(asked_arch.line) +
                                  ": the journal's architectures are not of the --space " +
                                  space_name + " space; warm-start from a journal of a " +
                                  space_name + " search (" + e.what() + ")");
            }
        }();
        if (std::find(out.begin(), out.end(), a) == out.end())
            out.push_back(std::move(a));
        if (out.size() == k)
            break;
    }
    if (out.empty())
        throw std::invalid_argument("--warm-start " + path + ": no successful trial with " +
                                    by.name);
    return out;
}

} // namespace xnas::experiment
