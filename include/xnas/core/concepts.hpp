#pragma once
// The extension points of xnas as C++20 concepts. Read this header first: to plug in your own
// search space, strategy, evaluator or selector, write a type that models one of these.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/core/trial.hpp>

namespace xnas {

/// A search space: a set of architectures with a way to draw and perturb them.
///
/// Semantic requirements:
///  1. sample(g) and mutate(a, g) are deterministic functions of the generator's state.
///  2. mutate(a, g) returns an architecture of the space, usually different from a.
///  3. Architectures are regular values (copyable, equality comparable).
template <class S>
concept search_space = std::copy_constructible<S> && requires {
    typename S::architecture;
} && std::regular<typename S::architecture> &&
    requires(const S& s, rng& g, const typename S::architecture& a) {
    { s.sample(g) } -> std::same_as<typename S::architecture>;
    { s.mutate(a, g) } -> std::same_as<typename S::architecture>;
};

/// A space whose architectures print and parse with an exact round trip (journals need it).
///  1. parse(to_string(a)) == a; parse throws xnas::parse_error naming the bad token.
template <class S>
concept serializable_space = search_space<S> &&
    requires(const S& s, const typename S::architecture& a, const std::string& text) {
    { s.to_string(a) } -> std::convertible_to<std::string>;
    { s.parse(text) } -> std::same_as<typename S::architecture>;
};

/// A space that lists the architectures one edit away (local search).
///  1. neighbours(a) is deterministic, excludes a, and each element is one mutation of a.
template <class S>
concept neighbourhood_space = search_space<S> &&
    requires(const S& s, const typename S::architecture& a) {
    { s.neighbours(a) } -> std::same_as<std::vector<typename S::architecture>>;
};

/// A space with a fixed-length numeric encoding (predictors).
///  1. encode(a).size() == encoding_size() for every a.
template <class S>
concept encodable_space = search_space<S> &&
    requires(const S& s, const typename S::architecture& a) {
    { s.encode(a) } -> std::same_as<std::vector<double>>;
    { s.encoding_size() } -> std::convertible_to<std::size_t>;
};

/// A space that can recombine two parents (evolution with crossover, NSGA-II).
///  1. crossover(a, b, g) is a deterministic function of the generator's state and returns an
///     architecture of the space built from a's and b's parts.
template <class S>
concept crossover_space = search_space<S> &&
    requires(const S& s, const typename S::architecture& a, rng& g) {
    { s.crossover(a, a, g) } -> std::same_as<typename S::architecture>;
};

/// A space that knows its size.
///  1. cardinality() is the number of distinct architectures; +infinity when the space has a
///     continuous part (param_space with a float parameter); an upper bound when constraints
///     filter architectures after the fact.
template <class S>
concept finite_space = search_space<S> && requires(const S& s) {
    { s.cardinality() } -> std::convertible_to<double>;
};

/// A space that can tell whether an architecture belongs to it and meets its constraint, if
/// any (chain_space::with_constraint): what strategies that decode architectures themselves
/// (tpe, reinforce) check their proposals against.
template <class S>
concept has_contains = requires(const S& s, const typename S::architecture& a) {
    { s.contains(a) } -> std::convertible_to<bool>;
};

/// A search strategy over space S, in ask/tell form: it never calls an evaluator.
///
/// Semantic requirements:
///  1. ask is a deterministic function of the strategy's state, the space and the generator;
///     tell is deterministic. So replaying the asks and tells of a journal restores the state.
///  2. ask may be called several times before any tell (asynchronous parallel evaluation), and
///     tells may arrive in any order.
///  3. ids of asked trials are unique within a study.
///  4. xnas::search calls ask and tell from one thread only (whatever the executor), so a
///     strategy need not be thread-safe.
template <class St, class S>
concept strategy = search_space<S> &&
    requires(St& st, const S& s, rng& g, const trial<typename S::architecture>& t,
             const evaluation& e) {
    { st.ask(s, g) } -> std::same_as<trial<typename S::architecture>>;
    {st.tell(t, e)};
};

/// A strategy that also learns from trials it did not ask (a warm start's seeds, another study's
/// results, Optuna's add_trial): tell ignores ids it never issued, observe models the result as if
/// the strategy had asked and been told it.
///  1. observe(s, t, e) is deterministic, like tell; t.id need not come from ask and is never
///     checked against asked ids (observing an asked trial and then telling it counts it twice).
///  2. A failed evaluation counts as tell counts one; t.fidelity is the budget it was run at.
template <class St, class S>
concept observing_strategy = strategy<St, S> &&
    requires(St& st, const S& s, const trial<typename S::architecture>& t, const evaluation& e) {
    {st.observe(s, t, e)};
};

/// A strategy that says which of its trials it will never build on again (the trials a
/// multi-fidelity rung did not promote, once its promotions are decided), so that what an
/// evaluator keeps for them (a checkpoint a promotion would continue) can go.
///  1. take_retired() returns the ids retired since its last call, each id once.
template <class St>
concept retiring_strategy = requires(St& st) {
    { st.take_retired() } -> std::same_as<std::vector<std::uint64_t>>;
};

/// An evaluator that keeps state for trials it evaluated (a checkpoint to continue) and drops it
/// when told those trials are retired.
///  1. release(ids) is called from the searching thread while workers may be evaluating other
///     trials, so it must be thread-safe; ids it holds nothing for are ignored.
template <class E>
concept releasing_evaluator = requires(E& e, std::span<const std::uint64_t> ids) {
    e.release(ids);
};

/// An evaluator of architectures of type A.
///
/// Semantic requirements:
///  1. evaluate never throws for a bad candidate: a failing candidate is an evaluation with a
///     status other than ok and a message. It throws only for misuse (a bad table, a bad file).
///  2. Thread-safety is declared by the trait `static constexpr bool thread_safe`; an evaluator
///     without it is treated as not thread-safe and is copied per worker (so it must then be
///     copy-constructible, and state changed in a worker's copy is not seen in the original).
///  3. xnas::search still catches anything evaluate throws and records the trial as
///     status::failed with the exception's message, so one bad candidate never ends a study.
template <class E, class A>
concept evaluator = requires(E& e, const trial<A>& t) {
    { e.evaluate(t) } -> std::same_as<evaluation>;
};

/// Where trials are evaluated, for xnas::search_with: in the calling thread, on a thread pool, on
/// MPI ranks (<xnas/parallel/mpi.hpp>) or wherever a user's type sends them.
///  1. submit(t) hands a trial over; wait_one() blocks until the evaluation of some submitted,
///     not yet returned trial is back, and returns it with its trial (completion order).
///  2. A failing candidate comes back as a failed evaluation; wait_one throws only when the
///     executor itself breaks (a lost rank, a closed connection).
///  3. It accepts more submitted trials than it runs at once and queues them (search_with
///     submits up to its lookahead ahead).
template <class X, class A>
concept executor = requires(X& x, trial<A> t) {
    x.submit(std::move(t));
    { x.wait_one() } -> std::same_as<scored<A>>;
};

/// True when E declares `static constexpr bool thread_safe = true`.
template <class E>
inline constexpr bool is_thread_safe_evaluator = [] {
    if constexpr (requires { E::thread_safe; })
        return static_cast<bool>(E::thread_safe);
    else
        return false;
}();

/// A selector picks k indices from a scored population.
///  1. Returned indices are distinct and in [0, population.size()), at most k of them.
///  2. Deterministic for a given generator state.
///  3. The order of the indices is the selector's preference, best first, where it has one
///     (strategies take the first as a parent; the final selection takes them in order).
template <class Sel, class A>
concept selector = requires(Sel& sel, std::span<const scored<A>> pop, std::size_t k, rng& g) {
    { sel.select(pop, k, g) } -> std::same_as<std::vector<std::size_t>>;
};

/// A selector that draws nothing (top_k, pareto) also selects without a generator, so that callers
/// outside a search (the final selection, a strategy's survival step in tell) need none.
///  1. select(pop, k) == select(pop, k, g) for every generator g.
template <class Sel, class A>
concept deterministic_selector = selector<Sel, A> &&
    requires(Sel& sel, std::span<const scored<A>> pop, std::size_t k) {
    { sel.select(pop, k) } -> std::same_as<std::vector<std::size_t>>;
};

} // namespace xnas
