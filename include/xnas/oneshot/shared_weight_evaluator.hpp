#pragma once
// xnas::shared_weight_evaluator: scores an architecture with the weights it inherits from a
// trained supernet, after re-estimating its batch-norm statistics, in milliseconds rather than
// the minutes of training it. Being an evaluator, it lets every strategy (evolution for SPOS,
// random sampling for random weight sharing, TPE, local search, BANANAS...) search over a
// supernet.

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/trial.hpp>
#include <xnas/data/dataset.hpp>
#include <xnas/oneshot/supernet.hpp>
#include <xnas/train/loss.hpp>
#include <xnas/train/recalibrate.hpp>
#include <xnas/train/trainer.hpp>

namespace xnas {

struct shared_weight_evaluator_options {
    /// Batches of the recalibration set whose statistics the path's batch norms take (0: keep
    /// the statistics the path inherits).
    std::size_t recalibration_batches = 8;
    std::size_t batch_size = 128; ///< of recalibration and validation passes
};

/// Scores trials of `S::architecture` on `validation` with the weights of `supernet`: extracts
/// the path as a standalone network (supernet::extract), recalibrates its batch norms on the
/// first batches of `recalibration` (a training split, never the validation one), evaluates it.
///
/// Objectives, named as train_evaluator's so trials.csv, the report and the final selection
/// read them alike: val_accuracy (or val_rmse and val_r2 on a regression set), params, flops.
/// Metrics: val_loss and shared_weights = 1, the label of a score under inherited weights (it
/// ranks architectures; its value is below what training the architecture alone gives). Cost:
/// the seconds taken. A trial's fidelity is ignored.
///
/// Thread-safe: workers share the supernet, whose path only changes while a path is extracted
/// (under a lock); the rest runs on the extracted copy. The supernet and both data sets must
/// outlive the evaluator and its copies, and the supernet must not train meanwhile.
template <supernet S>
class shared_weight_evaluator {
  public:
    static constexpr bool thread_safe = true;
    using architecture = typename S::architecture;

    shared_weight_evaluator(S& supernet, const data::dataset<float>& recalibration,
                            const data::dataset<float>& validation,
                            shared_weight_evaluator_options options = {})
        : supernet_(&supernet)
        , recalibration_(&recalibration)
        , validation_(&validation)
        , options_(options)
        , lock_(std::make_shared<std::mutex>()) {
        if (validation.size() == 0 || (options.recalibration_batches && recalibration.size() == 0))
            throw std::invalid_argument(
                "xnas::shared_weight_evaluator: empty validation or recalibration set");
        if (options.batch_size == 0)
            throw std::invalid_argument(
                "xnas::shared_weight_evaluator: batch_size must be positive");
    }

    const shared_weight_evaluator_options& options() const { return options_; }

    /// The standalone network of `a` with inherited weights and recalibrated batch norms.
    nn::network<float> network(const architecture& a) const {
        nn::network<float> net = [&] {
            const std::lock_guard<std::mutex> hold(*lock_);
            return supernet_->extract(a);
        }();
        if (options_.recalibration_batches)
            train::recalibrate_batch_norm(net, *recalibration_, options_.batch_size,
                                          options_.recalibration_batches);
        return net;
    }

    evaluation evaluate(const trial<architecture>& t) const {
        const auto start = std::chrono::steady_clock::now();
        auto elapsed = [&] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        };
        try {
            nn::network<float> net = network(t.architecture);
            const train::eval_result v = train::evaluate(net, train::default_loss<float>{},
                                                         *validation_, options_.batch_size);
            evaluation e;
            if (validation_->regression()) {
                e.objectives["val_rmse"] = v.rmse;
                e.objectives["val_r2"] = v.r2;
            } else {
                e.objectives["val_accuracy"] = v.accuracy;
            }
            e.objectives["params"] = static_cast<double>(net.parameter_count());
            e.objectives["flops"] = static_cast<double>(net.flops());
            e.metrics["val_loss"] = v.loss;
            e.metrics["shared_weights"] = 1;
            e.cost = elapsed();
            return e;
        } catch (const numerical_error& ex) {
            return evaluation::failure(status::diverged, ex.what(), elapsed());
        } catch (const std::exception& ex) {
            return evaluation::failure(status::failed, ex.what(), elapsed());
        }
    }

  private:
    S* supernet_;
    const data::dataset<float>* recalibration_;
    const data::dataset<float>* validation_;
    shared_weight_evaluator_options options_;
    std::shared_ptr<std::mutex> lock_; // shared by copies: they share the supernet
};

} // namespace xnas
