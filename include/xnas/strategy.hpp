#pragma once
// Area umbrella: the shipped search strategies (ask/tell models of xnas::strategy).

#include <xnas/strategy/asha.hpp>
#include <xnas/strategy/bananas.hpp>
#include <xnas/strategy/bohb.hpp>
#include <xnas/strategy/hyperband.hpp>
#include <xnas/strategy/local_search.hpp>
#include <xnas/strategy/lstm_controller.hpp>
#include <xnas/strategy/nsga2.hpp>
#include <xnas/strategy/random_search.hpp>
#include <xnas/strategy/regularized_evolution.hpp>
#include <xnas/strategy/reinforce.hpp>
#include <xnas/strategy/successive_halving.hpp>
#include <xnas/strategy/tpe.hpp>
