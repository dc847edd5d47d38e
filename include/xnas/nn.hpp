#pragma once
// Area umbrella: the training core's tensors, layer contract and layers, networks, losses,
// optimizers, initialisers, serialization and ONNX export.

#include <xnas/nn/factory.hpp>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layer.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/batch_norm.hpp>
#include <xnas/nn/layers/conv2d.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/dropout.hpp>
#include <xnas/nn/layers/flatten.hpp>
#include <xnas/nn/layers/gru.hpp>
#include <xnas/nn/layers/identity.hpp>
#include <xnas/nn/layers/lstm.hpp>
#include <xnas/nn/layers/merge.hpp>
#include <xnas/nn/layers/mixed_op.hpp>
#include <xnas/nn/layers/pooling.hpp>
#include <xnas/nn/layers/zero.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/onnx.hpp>
#include <xnas/nn/optim/adam.hpp>
#include <xnas/nn/optim/optimizer.hpp>
#include <xnas/nn/optim/schedule.hpp>
#include <xnas/nn/optim/sgd.hpp>
#include <xnas/nn/serialize.hpp>
#include <xnas/nn/tensor.hpp>
#include <xnas/nn/transfer.hpp>
