#pragma once
// Area umbrella: data sets, IDX (MNIST, Fashion-MNIST) and CSV readers, stratified splits,
// normalisation, mini-batching and image augmentation.

#include <xnas/data/augment.hpp>
#include <xnas/data/batch.hpp>
#include <xnas/data/csv.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/data/idx.hpp>
#include <xnas/data/mnist.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/data/split.hpp>
