#pragma once
// Area umbrella: the training core's tensors, layer contract and layers, networks, losses,
// optimizers, initialisers and serialization.

#include <xnas/nn/layer.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/optim/adam.hpp>
#include <xnas/nn/optim/optimizer.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/nn/tensor.hpp>
