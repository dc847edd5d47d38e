// An optimizer without reset: train::fit refuses it, naming nn::optimizer.
#include <span>
#include <xnas/train/trainer.hpp>

namespace nn = xnas::nn;

struct plain_sgd {
    using value_type = float;
    void step(std::span<const nn::parameter<float>>) {}
#ifdef XNAS_COMPLETE
    void reset() {}
#endif
    double learning_rate() const {
        return 0.1;
    }
    void set_learning_rate(double) {}
};

auto train(nn::network<float>& net, const xnas::data::dataset<float>& data) {
    plain_sgd opt;
    return xnas::train::fit(net, nn::softmax_cross_entropy<float>{}, opt, data,
                            xnas::train::fit_options{});
}
