#pragma once
// The builder concept: what maps a space's architecture to a trainable network. Builders live
// in evaluate/ so that a search space never depends on the training core.

#include <concepts>
#include <xnas/core/rng.hpp>
#include <xnas/nn/network.hpp>

namespace xnas {

/// A builder of float networks from architectures of type A.
///
/// Semantic requirements:
///  1. build(a, g) returns a network with freshly constructed (not yet initialised) parameters
///     whose output is (N, classes) logits; g seeds anything random inside layers (dropout).
///  2. build throws for an architecture it cannot realise (a shape that does not fit); the
///     evaluator records that as a failed evaluation.
///  3. build is const and may run concurrently from several threads.
template <class B, class A>
concept builder = requires(const B& b, const A& a, rng& g) {
    { b.build(a, g) } -> std::same_as<nn::network<float>>;
};

} // namespace xnas
