#pragma once
// The main job's named search spaces (chain, cell, rnn) with their builders, sized for the data's
// samples and outputs, the chain spaces restricted up front to networks within the parameter and
// FLOP budgets.

#include <cstddef>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
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

/// Calls `f(space, builder, sequences)` with the space o.space names, sized for samples of
/// shape `input` (as the networks read them) and `outputs` classes or regression values, and
/// returns what f returns; `sequences` is true when the space's networks read sequences (T, F)
/// (images as rows, see prepare_data). The spaces:
///  - chain: for images (C, H, W) chain_space::image(), for any other sample
///    chain_space::tabular() (dense layers on the flattened sample), within the budgets x the
///    training hyperparameters (image_search_space), built by with_training_params<chain_builder>;
///  - cell: NAS-Bench-201 cells with the path encoding (what BANANAS's predictor learns from,
///    White et al. 2021), built by cell_builder; images only;
///  - rnn: chain_space::sequence() (LSTM/GRU) within the budgets; sequences (T, F) only.
/// Throws std::invalid_argument for another name or a space the samples do not fit.
template <class F>
decltype(auto) visit_space(const options& o, const nn::shape& input, std::size_t outputs, F&& f) {
    auto refuse = [&](const char* needs) {
        return std::invalid_argument(
            "--space " + o.space + " needs " + needs + ", but the samples of " + o.data +
            " have shape " + nn::to_string(input) +
            (input.size() == 1 ? " (use --space chain for flat features)" : ""));
    };
    if (o.space == "cell") {
        if (input.size() != 3)
            throw refuse("images (C x H x W samples)");
        const auto cells = cell_space::nb201().with_encoding(cell_space::encoding::path);
        return f(cells, cell_builder(cells, {.input = input, .classes = outputs}), false);
    }
    if (o.space == "rnn") {
        if (input.size() != 2)
            throw refuse("sequences (T x F samples) or images (read as rows)");
        const chain_builder_options bo{.input = input, .classes = outputs};
        chain_builder b(within_budget(chain_space::sequence(), bo, o), bo);
        return f(b.space(), b, true);
    }
    if (o.space != "chain")
        throw std::invalid_argument("--space " + o.space + " is unknown (chain, cell, rnn)");
    const chain_builder_options bo{.input = input, .classes = outputs};
    const auto space = image_search_space(
        within_budget(input.size() == 3 ? chain_space::image() : chain_space::tabular(), bo, o));
    return f(space, with_training_params<chain_builder>(chain_builder(space.first(), bo)), false);
}

/// visit_space for Fashion-MNIST: 28 x 28 grey images (28 rows of 28 for rnn), 10 classes.
template <class F>
decltype(auto) visit_space(const options& o, F&& f) {
    return visit_space(o, o.space == "rnn" ? nn::shape{28, 28} : nn::shape{1, 28, 28}, 10,
                       std::forward<F>(f));
}

} // namespace xnas::experiment
