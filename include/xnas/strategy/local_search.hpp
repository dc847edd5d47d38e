#pragma once
// xnas::local_search: hill climbing over the space's neighbourhood with random restarts (White,
// Nolen, Savani & Hutter, 2020/2021, "Local Search is State of the Art for Neural Architecture
// Search Benchmarks", arXiv:2005.02960).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>
#include <xnas/core/concepts.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/strategy/detail/archetype.hpp>
#include <xnas/strategy/detail/common.hpp>

namespace xnas {

/// Options of local_search.
struct local_search_options {
    /// n: random architectures evaluated at each (re)start; the climb starts from their best.
    std::size_t initial_samples = 10;
    /// false (the paper's main variant): evaluate every neighbour, then move to the best one if
    /// it improves. true: move as soon as a neighbour improves on the current architecture.
    bool first_improvement = false;
    /// The objective to maximize (or minimize, by its direction); empty name: the evaluation's
    /// only objective.
    xnas::objective objective{};
    /// Fidelity of every asked trial.
    double fidelity = 1.0;
};

/// Local search. A climb starts from the best of `initial_samples` random architectures, asks
/// all neighbours of the current architecture (skipping ones already asked in this climb), and
/// moves to the best improving neighbour; at a local optimum it restarts with new random
/// samples. Asynchronous use: when every trial of the current step is asked but not all are
/// told, ask returns a random architecture that joins the step (a cheap way to keep workers
/// busy; serial use never hits this). Tells of an earlier climb, and of trials it did not ask,
/// are ignored; observe takes the latter.
template <neighbourhood_space Space>
class local_search {
  public:
    using architecture = typename Space::architecture;

    explicit local_search(local_search_options options = {})
        : options_(std::move(options)) {
        init_left_ = std::max<std::size_t>(options_.initial_samples, 1);
    }

    trial<architecture> ask(const Space& space, rng& g) {
        trial<architecture> t;
        t.id = next_id_++;
        t.fidelity = options_.fidelity;
        if (need_neighbours_) {
            need_neighbours_ = false;
            for (auto& a : space.neighbours(current_->arch))
                if (!visited_.contains(space, a))
                    queue_.push_back(std::move(a));
            detail::shuffle(queue_.begin(), queue_.end(), g);
            if (queue_.empty() && outstanding_ == 0) // every neighbour already seen: optimum
                restart();
        }
        if (init_left_ == 0 && !queue_.empty()) {
            t.architecture = std::move(queue_.front());
            queue_.pop_front();
            t.parents = {current_->id};
        } else {
            if (init_left_ > 0)
                --init_left_;
            t.architecture = space.sample(g);
            for (int i = 0; i < 20 && visited_.contains(space, t.architecture); ++i)
                t.architecture = space.sample(g);
        }
        visited_.insert(space, t.architecture);
        ++outstanding_;
        pending_.emplace(t.id, origin{climb_, step_});
        return t;
    }

    void tell(const trial<architecture>& t, const evaluation& e) {
        const auto it = pending_.find(t.id);
        if (it == pending_.end())
            return; // not asked by this strategy, or told twice
        const origin o = it->second;
        pending_.erase(it);
        if (o.climb != climb_)
            return;
        if (o.step == step_)
            --outstanding_;
        const double s = detail::score_of(e, options_.objective, "xnas::local_search::tell");
        if (!std::isnan(s) && (!step_best_ || s > step_best_->score))
            step_best_ = member{t.id, t.architecture, s};
        if (options_.first_improvement && current_ && step_best_ &&
            step_best_->score > current_->score) {
            move();
            return;
        }
        if (outstanding_ == 0 && init_left_ == 0 && queue_.empty() && !need_neighbours_)
            finish_step();
    }

    /// The result of a trial this strategy did not ask (a warm start's seeds) competes with the
    /// current step's results as one of them: while a climb picks its start it replaces one of
    /// the initial random samples, so the best seed is where the climb starts when it beats
    /// them; during a climb, one better than the current architecture is where the climb moves
    /// next (at once with first_improvement). It is not asked again in this climb; a failed one
    /// is ignored.
    void observe(const Space& space, const trial<architecture>& t, const evaluation& e) {
        const double s = detail::score_of(e, options_.objective, "xnas::local_search::observe");
        if (std::isnan(s))
            return;
        visited_.insert(space, t.architecture);
        if (!step_best_ || s > step_best_->score)
            step_best_ = member{t.id, t.architecture, s};
        if (!current_ && init_left_ > 0)
            --init_left_;
        if (options_.first_improvement && current_ && step_best_->score > current_->score) {
            move();
            return;
        }
        // Only reached when this result was the last initial sample the step waited for.
        if (outstanding_ == 0 && init_left_ == 0 && queue_.empty() && !need_neighbours_)
            finish_step();
    }

    /// Number of random restarts so far (each after reaching a local optimum).
    std::size_t restarts() const { return climb_; }
    const local_search_options& options() const { return options_; }

  private:
    struct member {
        std::uint64_t id;
        architecture arch;
        double score;
    };
    struct origin {
        std::size_t climb, step;
    };

    void finish_step() {
        if (step_best_ && (!current_ || step_best_->score > current_->score))
            move();
        else
            restart();
    }

    void move() {
        current_ = std::move(step_best_);
        step_best_.reset();
        queue_.clear();
        ++step_;
        outstanding_ = 0;
        need_neighbours_ = true;
    }

    void restart() {
        ++climb_;
        ++step_;
        current_.reset();
        step_best_.reset();
        queue_.clear();
        visited_.clear();
        outstanding_ = 0;
        need_neighbours_ = false;
        init_left_ = std::max<std::size_t>(options_.initial_samples, 1);
    }

    local_search_options options_;
    std::optional<member> current_, step_best_;
    std::deque<architecture> queue_;
    detail::arch_set<Space> visited_;
    std::unordered_map<std::uint64_t, origin> pending_;
    std::size_t init_left_ = 0, outstanding_ = 0, climb_ = 0, step_ = 0;
    bool need_neighbours_ = false;
    std::uint64_t next_id_ = 0;
};

static_assert(observing_strategy<local_search<detail::archetype_space>, detail::archetype_space>);

} // namespace xnas
