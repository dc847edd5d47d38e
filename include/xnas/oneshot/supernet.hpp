#pragma once
// The supernet concept of one-shot NAS: one network holding the weights of every architecture
// of a space, of which one architecture's path is active at a time. Training a supernet
// (oneshot/training.hpp) and scoring architectures with the weights they inherit from it
// (shared_weight_evaluator) are written against this concept, so a user's space becomes
// one-shot by writing a type that models it.

#include <concepts>
#include <xnas/nn/network.hpp>

namespace xnas {

/// A weight-sharing supernet over the architectures `typename S::architecture`.
///
///  - `activate(a)` routes the forward and backward passes of `network()` through a's path: the
///    supernet then computes what a's network with the shared weights computes; parameters off
///    the path get zero gradients (so an optimizer over network().parameters() keeps one list).
///    Throws std::invalid_argument naming what a's path needs that the supernet does not hold.
///  - `network()`: the supernet's trainable network, its parameters all the shared weights.
///  - `extract(a)`: a standalone network of a's architecture (the one the space's builder
///    builds), holding copies of the weights and batch-norm statistics a inherits. Its outputs
///    equal network()'s after activate(a), in either mode. Throws as activate does.
// clang-format off
template <class S>
concept supernet = requires(S& s, const typename S::architecture& a) {
    { s.activate(a) } -> std::same_as<void>;
    { s.network() } -> std::same_as<nn::network<float>&>;
    { s.extract(a) } -> std::same_as<nn::network<float>>;
};
// clang-format on

} // namespace xnas
