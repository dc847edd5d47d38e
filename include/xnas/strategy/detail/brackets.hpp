#pragma once
// The bracket machinery shared by successive_halving and hyperband: a bracket evaluates n
// architectures at a low fidelity, keeps the best 1/eta at each rung and re-asks them at eta
// times the fidelity, up to the maximum. Several brackets run at once so that asks never wait.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/strategy/detail/common.hpp>

namespace xnas::detail {

/// One bracket's shape: n architectures start at rung 0; rung i runs at fidelity
/// max_fidelity * eta^(i - (rungs - 1)) with floor(n / eta^i) architectures.
struct bracket_shape {
    std::size_t n;
    std::size_t rungs;
};

/// Number of times the fidelity can be multiplied by eta from min to max: floor(log_eta(max/min)).
inline std::size_t max_halvings(double min_fidelity, double max_fidelity, double eta,
                                const char* who) {
    if (!(eta > 1))
        throw std::invalid_argument(std::string(who) + ": eta is " + std::to_string(eta) +
                                    "; expected > 1");
    if (!(min_fidelity > 0) || !(max_fidelity <= 1) || !(min_fidelity <= max_fidelity))
        throw std::invalid_argument(
            std::string(who) + ": fidelities [" + std::to_string(min_fidelity) + ", " +
            std::to_string(max_fidelity) + "]; expected 0 < min_fidelity <= max_fidelity <= 1");
    return static_cast<std::size_t>(
        std::floor(std::log(max_fidelity / min_fidelity) / std::log(eta) + 1e-9));
}

/// Hyperband's cycle of brackets: with s_max = max_halvings(...), bracket s = s_max, ..., 0
/// starts ceil((s_max + 1) / (s + 1) * eta^s) architectures and has s + 1 rungs.
inline std::vector<bracket_shape> hyperband_cycle(double min_fidelity, double max_fidelity,
                                                  double eta, const char* who) {
    const std::size_t s_max = max_halvings(min_fidelity, max_fidelity, eta, who);
    std::vector<bracket_shape> cycle;
    for (std::size_t s = s_max + 1; s-- > 0;) {
        const double n = static_cast<double>(s_max + 1) / static_cast<double>(s + 1) *
                         std::pow(eta, static_cast<double>(s));
        cycle.push_back({static_cast<std::size_t>(std::ceil(n - 1e-9)), s + 1});
    }
    return cycle;
}

template <class Space>
class bracket_scheduler {
  public:
    using architecture = typename Space::architecture;

    /// `objs`: one objective ranks a rung by its score; several by non-dominated front, then
    /// crowding distance (MO-Hyperband after Schmucker et al., 2021).
    bracket_scheduler(std::vector<bracket_shape> cycle, double max_fidelity, double eta,
                      std::vector<objective> objs, const char* who)
        : cycle_(std::move(cycle))
        , max_fidelity_(max_fidelity)
        , eta_(eta)
        , objectives_(std::move(objs))
        , who_(who) {}

    trial<architecture> ask(const Space& space, rng& g) {
        return ask(space, g, [](const Space& s, rng& gg) { return s.sample(gg); });
    }

    /// As ask(space, g), with fresh(space, g) drawing each bracket's new architectures.
    template <class Fresh>
    trial<architecture> ask(const Space& space, rng& g, Fresh&& fresh) {
        for (auto& [no, b] : brackets_)
            if (auto t = ask_from(no, b, space, g, fresh); t.first)
                return std::move(t.second);
        const std::uint64_t no = next_bracket_++;
        auto& b = brackets_[no];
        const bracket_shape shape = cycle_[no % cycle_.size()];
        b.rungs.resize(shape.rungs);
        for (std::size_t i = 0; i < shape.rungs; ++i)
            b.rungs[i].fidelity =
                max_fidelity_ *
                std::pow(eta_, static_cast<double>(i) - static_cast<double>(shape.rungs - 1));
        b.fresh = std::max<std::size_t>(shape.n, 1);
        b.rungs[0].size = b.fresh;
        return std::move(ask_from(no, b, space, g, fresh).second);
    }

    void tell(const trial<architecture>& t, const evaluation& e) {
        const auto it = pending_.find(t.id);
        if (it == pending_.end())
            return;
        const auto [no, r] = it->second;
        pending_.erase(it);
        auto bit = brackets_.find(no);
        if (bit == brackets_.end())
            return;
        bracket& b = bit->second;
        rung& ru = b.rungs[r];
        ++ru.done;
        std::vector<double> scores = scores_of(e, objectives_, who_);
        if (std::none_of(scores.begin(), scores.end(), [](double v) { return std::isnan(v); }))
            ru.results.push_back({t.id, t.architecture, scores[0], std::move(scores)});
        if (ru.done < ru.size)
            return;
        if (r + 1 == b.rungs.size()) {
            for (const result& x : ru.results)
                retired_.push_back(x.id);
            brackets_.erase(bit);
            ++completed_;
            return;
        }
        // Promote the best floor(size / eta) (at least one) to the next rung.
        auto& res = ru.results;
        if (objectives_.size() == 1) {
            std::stable_sort(res.begin(), res.end(),
                             [](const result& a, const result& b2) { return a.score > b2.score; });
        } else {
            sort_by_pareto(res);
        }
        const std::size_t keep =
            std::min(res.size(),
                     std::max<std::size_t>(
                         1, static_cast<std::size_t>(static_cast<double>(ru.size) / eta_ + 1e-9)));
        rung& next = b.rungs[r + 1];
        for (std::size_t i = 0; i < keep; ++i)
            next.queue.push_back(res[i]);
        for (std::size_t i = keep; i < res.size(); ++i)
            retired_.push_back(res[i].id);
        next.size = keep;
        if (keep == 0) { // every trial of the rung failed: the bracket ends here
            brackets_.erase(bit);
            ++completed_;
        }
    }

    std::size_t completed_brackets() const { return completed_; }

    /// The trials no rung will promote any more: those left out of a decided rung's promotions
    /// and those of a bracket's last rung (see retiring_strategy).
    std::vector<std::uint64_t> take_retired() { return std::exchange(retired_, {}); }

  private:
    struct result {
        std::uint64_t id;
        architecture arch;
        double score;
        std::vector<double> scores; // one per objective
    };
    struct rung {
        double fidelity = 1;
        std::size_t size = 0, done = 0;
        std::deque<result> queue; // promoted, waiting to be asked
        std::vector<result> results;
    };
    struct bracket {
        std::vector<rung> rungs;
        std::size_t fresh = 0; // rung-0 architectures still to sample
    };

    template <class Fresh>
    std::pair<bool, trial<architecture>> ask_from(std::uint64_t no, bracket& b, const Space& space,
                                                  rng& g, Fresh& fresh) {
        trial<architecture> t;
        for (std::size_t r = b.rungs.size(); r-- > 0;) {
            rung& ru = b.rungs[r];
            if (r == 0 && b.fresh > 0) {
                --b.fresh;
                t.architecture = fresh(space, g);
            } else if (!ru.queue.empty()) {
                t.architecture = std::move(ru.queue.front().arch);
                t.parents = {ru.queue.front().id};
                ru.queue.pop_front();
            } else {
                continue;
            }
            t.id = next_id_++;
            t.fidelity = ru.fidelity;
            pending_.emplace(t.id, std::pair<std::uint64_t, std::size_t>{no, r});
            return {true, std::move(t)};
        }
        return {false, std::move(t)};
    }

    std::vector<bracket_shape> cycle_;
    double max_fidelity_, eta_;
    std::vector<objective> objectives_;
    const char* who_;
    std::map<std::uint64_t, bracket> brackets_; // active, oldest first
    std::unordered_map<std::uint64_t, std::pair<std::uint64_t, std::size_t>> pending_;
    std::uint64_t next_id_ = 0, next_bracket_ = 0;
    std::size_t completed_ = 0;
    std::vector<std::uint64_t> retired_;
};

} // namespace xnas::detail
