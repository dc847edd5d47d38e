#pragma once
// Area umbrella: the trainer (fit, evaluate), its losses, metrics, callbacks and early stopping.

#include <xnas/train/callbacks.hpp>
#include <xnas/train/early_stopping.hpp>
#include <xnas/train/fine_tune.hpp>
#include <xnas/train/loss.hpp>
#include <xnas/train/metrics.hpp>
#include <xnas/train/recalibrate.hpp>
#include <xnas/train/trainer.hpp>
