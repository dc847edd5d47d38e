#pragma once
// Few-shot NAS (Zhao et al. 2021, arXiv:2006.06863): a trained supernet split into
// sub-supernets by the choice of one decision, each a copy of the parent that then trains only
// the paths making its choice, so that paths which disagree on that decision stop sharing (and
// fighting over) the rest of the weights. Which decision to split on is read off the parent:
// the one whose choices pull the shared weights' gradients most apart (gradient matching, Hu et
// al. 2022, arXiv:2203.15207).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/rng.hpp>
#include <xnas/data/batch.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/oneshot/cell_supernet.hpp>
#include <xnas/oneshot/supernet.hpp>
#include <xnas/oneshot/training.hpp>

namespace xnas {

/// How a few_shot_supernet splits a space: `choices()` sub-supernets, `choice(a)` the one that
/// holds architecture a, `assign(a, k)` a turned into an architecture of sub-supernet k.
// clang-format off
template <class Split, class A>
concept supernet_split = requires(const Split& s, const A& a, A& b, std::size_t k) {
    { s.choices() } -> std::convertible_to<std::size_t>;
    { s.choice(a) } -> std::convertible_to<std::size_t>;
    { s.assign(b, k) } -> std::same_as<void>;
};
// clang-format on

/// The cell space split by the op of one edge: a sub-supernet per op.
struct cell_edge_split {
    std::size_t edge = 0;
    std::size_t ops = 0; ///< the space's ops().size()

    std::size_t choices() const { return ops; }
    std::size_t choice(const cell_space::architecture& a) const {
        if (edge >= a.ops.size())
            throw std::invalid_argument("xnas::cell_edge_split: edge " + std::to_string(edge) +
                                        " of an architecture with " + std::to_string(a.ops.size()) +
                                        " edges");
        return a.ops[edge];
    }
    void assign(cell_space::architecture& a, std::size_t k) const {
        (void)choice(a);
        a.ops[edge] = static_cast<std::uint8_t>(k);
    }
};

/// Sub-supernets of S, one per choice of `Split`, each starting as a copy of a trained parent.
/// Models `supernet`: activate(a) and extract(a) go to the sub-supernet that holds a, and
/// network() is the one activated last. Train the sub-supernets with train_few_shot_epoch.
template <supernet S, supernet_split<typename S::architecture> Split>
class few_shot_supernet {
  public:
    using architecture = typename S::architecture;

    /// Throws std::invalid_argument for a split of no choices.
    few_shot_supernet(const S& parent, Split split)
        : split_(std::move(split)) {
        if (split_.choices() == 0)
            throw std::invalid_argument("xnas::few_shot_supernet: the split has no choices");
        children_.assign(split_.choices(), parent);
    }

    const Split& split() const { return split_; }
    std::size_t size() const { return children_.size(); }
    S& child(std::size_t k) { return children_.at(k); }

    void activate(const architecture& a) {
        const std::size_t k = index(a);
        children_[k].activate(a);
        active_ = k;
    }
    nn::network<float>& network() { return children_[active_].network(); }
    nn::network<float> extract(const architecture& a) { return children_[index(a)].extract(a); }

  private:
    std::size_t index(const architecture& a) const {
        const std::size_t k = split_.choice(a);
        if (k >= children_.size())
            throw std::invalid_argument("xnas::few_shot_supernet: the architecture's choice " +
                                        std::to_string(k) + " is past the split's " +
                                        std::to_string(children_.size()));
        return k;
    }

    Split split_;
    std::vector<S> children_;
    std::size_t active_ = 0;
};

static_assert(supernet<few_shot_supernet<cell_supernet, cell_edge_split>>);

/// Epoch `epoch` of every sub-supernet of `s` in turn, each by train_single_path_epoch on the
/// paths `sample(g)` draws, turned into its own choice (split().assign), under `o` with a seed of
/// its own. Returns the sub-supernets' epochs in order. Throws what train_single_path_epoch
/// throws.
template <supernet S, class Split, class Sampler>
std::vector<train::epoch_result>
train_few_shot_epoch(few_shot_supernet<S, Split>& s, Sampler&& sample,
                     const data::dataset<float>& train, const supernet_training_options& o,
                     std::size_t epoch) {
    std::vector<train::epoch_result> out;
    for (std::size_t k = 0; k < s.size(); ++k) {
        supernet_training_options child = o;
        child.seed = o.seed ^ (0xA24BAED4963EE407ULL * (k + 1));
        auto restricted = [&](rng& g) {
            auto a = sample(g);
            s.split().assign(a, k);
            return a;
        };
        out.push_back(train_single_path_epoch(s.child(k), restricted, train, child, epoch));
    }
    return out;
}

/// How edge_gradient_agreement measures.
struct gradient_agreement_options {
    std::size_t paths = 4;       ///< random paths per op, the same for every op of an edge
    std::size_t batches = 2;     ///< training batches each path's gradient is taken on
    std::size_t batch_size = 64; ///< images per batch
    std::uint64_t seed = 0;      ///< of the paths
};

/// For each edge of `s`, how much its ops agree on where the rest of the supernet's weights
/// should go: the mean cosine similarity, over pairs of ops, of the gradients of every weight
/// outside that edge's ops, each op's gradient summed over the same `o.paths` random paths (the
/// edge set to that op) on the first `o.batches` batches of `train`. The edge of least agreement
/// is where a split helps most (gradient matching). The supernet's weights and batch-norm
/// statistics are left as they were; its active path is not. Throws std::invalid_argument for
/// zero paths, batches or batch size or an empty `train`.
inline std::vector<double> edge_gradient_agreement(cell_supernet& s,
                                                   const data::dataset<float>& train,
                                                   const gradient_agreement_options& o = {}) {
    if (o.paths == 0 || o.batches == 0 || o.batch_size == 0 || train.size() == 0)
        throw std::invalid_argument("xnas::edge_gradient_agreement: paths, batches, batch_size "
                                    "and the data set must be non-zero");
    const cell_space& space = s.space();
    const std::size_t ops = space.ops().size();
    const auto params = s.network().parameters();
    // Training-mode passes move the running statistics; they are put back at the end.
    std::vector<nn::array<float>> running;
    for (const auto& p : params)
        if (nn::detail::is_running_state(p))
            running.push_back(*p.value);

    data::batcher<float> batcher(train, o.batch_size, {.shuffle = false});
    const std::size_t batches = std::min(o.batches, batcher.batch_count());
    rng g(o.seed);
    std::vector<cell_space::architecture> paths;
    for (std::size_t p = 0; p < o.paths; ++p)
        paths.push_back(space.sample(g));
    nn::softmax_cross_entropy<float> loss;
    nn::array<float> x, dy;
    std::vector<std::int32_t> labels;
    std::vector<double> agreement(space.edges(), 0.0);
    for (std::size_t e = 0; e < space.edges(); ++e) {
        std::vector<const void*> own;
        for (const auto& p : s.edge_parameters(e))
            own.push_back(p.value);
        std::vector<std::size_t> shared;
        std::size_t length = 0;
        for (std::size_t k = 0; k < params.size(); ++k)
            if (!nn::detail::is_running_state(params[k]) &&
                std::find(own.begin(), own.end(), params[k].value) == own.end()) {
                shared.push_back(k);
                length += params[k].value->size();
            }
        std::vector<std::vector<double>> gradient(ops, std::vector<double>(length, 0.0));
        for (std::size_t op = 0; op < ops; ++op)
            for (auto a : paths) {
                a.ops[e] = static_cast<std::uint8_t>(op);
                s.activate(a);
                for (std::size_t b = 0; b < batches; ++b) {
                    batcher.copy(b, x, labels);
                    (void)loss(s.network().forward(x, nn::mode::train), labels, &dy);
                    s.network().backward(dy);
                    double* sum = gradient[op].data();
                    for (std::size_t k : shared) {
                        const float* d = params[k].gradient->data();
                        for (std::size_t i = 0, n = params[k].gradient->size(); i < n; ++i)
                            *sum++ += d[i];
                    }
                }
            }
        double total = 0;
        std::size_t pairs = 0;
        for (std::size_t i = 0; i < ops; ++i)
            for (std::size_t j = i + 1; j < ops; ++j) {
                double dot = 0, ii = 0, jj = 0;
                for (std::size_t n = 0; n < length; ++n) {
                    dot += gradient[i][n] * gradient[j][n];
                    ii += gradient[i][n] * gradient[i][n];
                    jj += gradient[j][n] * gradient[j][n];
                }
                total += ii > 0 && jj > 0 ? dot / std::sqrt(ii * jj) : 0.0;
                ++pairs;
            }
        agreement[e] = pairs ? total / static_cast<double>(pairs) : 1.0;
    }
    std::size_t r = 0;
    for (const auto& p : params)
        if (nn::detail::is_running_state(p))
            *p.value = running[r++];
    return agreement;
}

/// The edge of least gradient agreement (edge_gradient_agreement), the first on ties.
inline std::size_t least_agreeing_edge(const std::vector<double>& agreement) {
    if (agreement.empty())
        throw std::invalid_argument("xnas::least_agreeing_edge: no edges");
    return static_cast<std::size_t>(std::min_element(agreement.begin(), agreement.end()) -
                                    agreement.begin());
}

} // namespace xnas
