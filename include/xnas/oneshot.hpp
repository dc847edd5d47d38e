#pragma once
// Area umbrella: one-shot NAS. The supernet concept, the cell and chain supernets, their
// training (single path, ENAS's controller, first-order DARTS), checkpoints, and the
// shared-weight evaluator that lets any strategy search a trained supernet.
#include <xnas/oneshot/cell_supernet.hpp>
#include <xnas/oneshot/chain_supernet.hpp>
#include <xnas/oneshot/checkpoint.hpp>
#include <xnas/oneshot/shared_weight_evaluator.hpp>
#include <xnas/oneshot/supernet.hpp>
#include <xnas/oneshot/training.hpp>
