#pragma once
// Area umbrella: data sets, readers of IDX (MNIST, Fashion-MNIST), CIFAR-10/100, NumPy .npy
// and CSV files and of whole train/test folders in any of them, stratified splits,
// normalisation, mini-batching and image augmentation.

#include <xnas/data/augment.hpp>
#include <xnas/data/batch.hpp>
#include <xnas/data/cifar.hpp>
#include <xnas/data/csv.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/data/idx.hpp>
#include <xnas/data/load.hpp>
#include <xnas/data/mnist.hpp>
#include <xnas/data/normalize.hpp>
#include <xnas/data/npy.hpp>
#include <xnas/data/split.hpp>
