#pragma once
// Area umbrella: the training core's tensors, layer contract and layers, networks, losses,
// optimizers, initialisers and serialization.

#include <xnas/nn/layer.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/tensor.hpp>
