#pragma once
// The main job's named search spaces (chain, cell, rnn) with their builders, the chain spaces
// restricted up front to networks within the parameter and FLOP budgets.

#include <cstddef>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <xnas/core/rng.hpp>
#include <xnas/evaluate/cell_builder.hpp>
#include <xnas/evaluate/chain_builder.hpp>
#include <xnas/evaluate/training_params.hpp>
#include <xnas/experiment/options.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/space/cell_space.hpp>
#include <xnas/space/chain_space.hpp>

namespace xnas::experiment {

/// `s` restricted to networks within o.max_params and o.max_mflops (0: no limit), so that no
/// strategy proposes, and no trial is spent on, a network over budget (with a 100k-parameter
/// budget about three in four unconstrained draws of the image space are over it). Networks are
/// built with `builder_options` to be counted; building allocates no weights. The evaluator
/// still checks both budgets. Throws std::invalid_argument naming both options when no
/// architecture of 1000 random draws fits.
inline chain_space within_budget(const chain_space& s, const chain_builder_options& builder_options,
                                 const options& o) {
    const std::size_t max_params = o.max_params;
    const auto max_flops = static_cast<std::size_t>(o.max_mflops * 1e6);
    if (!max_params && !max_flops)
        return s;
    auto builder = std::make_shared<const chain_builder>(s, builder_options);
    chain_space constrained =
        s.with_constraint([builder, max_params, max_flops](const chain_space::architecture& a) {
            rng unused(0); // building only allocates; nothing random is drawn
            const nn::network<float> net = builder->build(a, unused);
            return (!max_params || net.parameter_count() <= max_params) &&
                   (!max_flops || net.flops() <= max_flops);
        });
    // A budget nothing fits would otherwise surface mid-search as the sampler's "no
    // architecture satisfying the constraint", which does not say which option to loosen.
    try {
        rng probe(o.seed);
        (void)constrained.sample(probe);
    } catch (const std::runtime_error&) {
        std::ostringstream m;
        m << "no architecture of the " << o.space << " space fits --max-params " << max_params
          << " and --max-mflops " << o.max_mflops
          << " (0: no limit) in 1000 random draws; raise them";
        throw std::invalid_argument(m.str());
    }
    return constrained;
}

/// Calls `f(space, builder, sequences)` with the space o.space names and its builder, and
/// returns what f returns; `sequences` is true when the space's networks read each image as a
/// sequence of its 28 rows. The spaces:
///  - chain: chain_space::image() within the budgets x the training hyperparameters
///    (image_search_space), built by with_training_params<chain_builder>;
///  - cell: NAS-Bench-201 cells with the path encoding (what BANANAS's predictor learns from,
///    White et al. 2021), built by cell_builder;
///  - rnn: chain_space::sequence() (LSTM/GRU over image rows) within the budgets.
/// Throws std::invalid_argument for another name.
template <class F>
decltype(auto) visit_space(const options& o, F&& f) {
    if (o.space == "cell") {
        const auto cells = cell_space::nb201().with_encoding(cell_space::encoding::path);
        return f(cells, cell_builder(cells), false);
    }
    if (o.space == "rnn") {
        const chain_builder_options bo{.input = {28, 28}, .classes = 10};
        chain_builder b(within_budget(chain_space::sequence(), bo, o), bo);
        return f(b.space(), b, true);
    }
    if (o.space != "chain")
        throw std::invalid_argument("--space " + o.space + " is unknown (chain, cell, rnn)");
    const auto space = image_search_space(within_budget(chain_space::image(), {}, o));
    return f(space, with_training_params<chain_builder>(chain_builder(space.first())), false);
}

} // namespace xnas::experiment
