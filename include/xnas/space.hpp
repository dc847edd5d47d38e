#pragma once
// Area umbrella: the shipped search spaces.

#include <xnas/space/cell_space.hpp>
#include <xnas/space/chain_space.hpp>
#include <xnas/space/decisions.hpp>
#include <xnas/space/param_space.hpp>
#include <xnas/space/product_space.hpp>
