// custom_layer: writing your own layer. A layer is any copyable type with the members of the
// xnas::nn::layer concept (forward, backward, parameters, output_shape, parameter_count, flops);
// it inherits from nothing and drops into an nn::network beside the built-in layers.
//
// Here: Swish with a learnable slope, y = x * sigmoid(beta * x) (Ramachandran, Zoph & Le, 2017,
// arXiv:1710.05941). The program checks the layer's gradients against finite differences,
// trains a small network using it on generated data, and saves and reloads that network.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>
#include <xnas/nn/init.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/loss.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/optim/adam.hpp>
#include <xnas/nn/serialize.hpp>

using namespace xnas;

/// Swish with one learnable beta shared by all units. Element-wise, any input shape.
template <class T = float>
class swish {
  public:
    using value_type = T;

    explicit swish(T beta = T(1))
        : beta_(std::vector<std::size_t>{1}, beta)
        , dbeta_(std::vector<std::size_t>{1}, T(0)) {}

    void forward(const nn::array<T>& x, nn::array<T>& y, nn::mode) {
        nn::ensure_shape(y, {x.shape().begin(), x.shape().end()});
        const T b = beta_(0);
        for (std::size_t i = 0; i < x.size(); ++i)
            y.data()[i] = x.data()[i] * sigmoid(b * x.data()[i]);
    }

    // dy/dx = s + beta x s (1 - s), dy/dbeta = x^2 s (1 - s), with s = sigmoid(beta x).
    // Overwrites the gradient of beta (never accumulates); skips dx when nobody needs it.
    void backward(const nn::array<T>& x, const nn::array<T>&, const nn::array<T>& dy,
                  nn::array<T>* dx) {
        if (dx)
            nn::ensure_shape(*dx, {x.shape().begin(), x.shape().end()});
        const T b = beta_(0);
        double db = 0; // summed in double: one scalar collects every element's contribution
        for (std::size_t i = 0; i < x.size(); ++i) {
            const T v = x.data()[i], s = sigmoid(b * v), ds = s * (T(1) - s);
            db += static_cast<double>(dy.data()[i] * v * v * ds);
            if (dx)
                dx->data()[i] = dy.data()[i] * (s + b * v * ds);
        }
        dbeta_(0) = static_cast<T>(db);
    }

    // Named "slope", not "beta": nn::init treats a parameter called beta as a normalisation
    // shift and sets it to 0.
    std::vector<nn::parameter<T>> parameters() { return {{"slope", &beta_, &dbeta_}}; }
    nn::shape output_shape(const nn::shape& in) const { return in; }
    std::size_t parameter_count() const { return 1; }
    std::size_t flops(const nn::shape& in) const { return 5 * nn::volume(in); }
    /// Optional: lets nn::save store the layer (beta itself is saved as a parameter).
    nn::layer_spec spec() const { return {"swish", {}}; }

    T beta() const { return beta_(0); }

  private:
    static T sigmoid(T z) { return T(1) / (T(1) + std::exp(-z)); }
    nn::array<T> beta_, dbeta_;
};

static_assert(nn::layer<swish<float>> && nn::describable_layer<swish<double>>);

namespace {

/// Largest relative error between swish's analytic gradients (input and beta) and central
/// differences of L = sum(r * y) for a random r, in double precision.
double gradient_check() {
    rng g(3);
    swish<double> layer(0.7);
    nn::array<double> x = nn::array<double>::from_shape({4, 5}), r = x, y, dx;
    for (auto& v : x)
        v = g.normal();
    for (auto& v : r)
        v = g.normal();
    auto objective = [&] {
        layer.forward(x, y, nn::mode::train);
        double l = 0;
        for (std::size_t i = 0; i < y.size(); ++i)
            l += r.data()[i] * y.data()[i];
        return l;
    };
    objective();
    layer.backward(x, y, r, &dx); // dL/dy = r
    const double h = 1e-5;
    double worst = 0;
    auto compare = [&](double analytic, double& value) {
        const double saved = value;
        value = saved + h;
        const double up = objective();
        value = saved - h;
        const double down = objective();
        value = saved;
        const double numeric = (up - down) / (2 * h);
        worst = std::max(worst, std::abs(analytic - numeric) /
                                    std::max(1e-8, std::abs(analytic) + std::abs(numeric)));
    };
    for (std::size_t i = 0; i < x.size(); ++i)
        compare(dx.data()[i], x.data()[i]);
    const double dbeta = *layer.parameters()[0].gradient->data();
    compare(dbeta, *layer.parameters()[0].value->data());
    return worst;
}

} // namespace

int main() {
    const double err = gradient_check();
    std::printf("gradient check (input and beta): max relative error %.2e %s\n", err,
                err < 1e-5 ? "ok" : "TOO LARGE");

    // Generated data: points in the square [-1.5, 1.5]^2, class = ring by distance to the origin.
    rng g(1);
    const std::size_t n = 512;
    nn::array<float> x = nn::array<float>::from_shape({n, 2});
    std::vector<std::int32_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double a = g.uniform(-1.5, 1.5), b = g.uniform(-1.5, 1.5), r = std::hypot(a, b);
        x(i, 0) = static_cast<float>(a);
        x(i, 1) = static_cast<float>(b);
        labels[i] = r < 0.6 ? 0 : r < 1.2 ? 1 : 2;
    }

    nn::network<float> net({2});
    net.add(nn::dense<float>(2, 32));
    net.add(swish<float>());
    net.add(nn::dense<float>(32, 32));
    net.add(swish<float>());
    net.add(nn::dense<float>(32, 3));
    // swish's slope (rank 1, not a bias) stays 1
    nn::init::apply(net, nn::init::scheme::pytorch_default, g);
    std::printf("network: 2 -> 32 -> swish -> 32 -> swish -> 3, %zu parameters\n",
                net.parameter_count());

    nn::adam<float> opt({.lr = 0.01});
    nn::softmax_cross_entropy<float> loss;
    auto params = net.parameters();
    nn::array<float> dlogits;
    for (int step = 0; step <= 400; ++step) { // full batch
        const double l = loss(net.forward(x, nn::mode::train), labels, &dlogits);
        if (step % 100 == 0)
            std::printf("step %3d: loss %.4f, accuracy %.3f, beta %.3f and %.3f\n", step, l,
                        nn::accuracy(net.forward(x, nn::mode::eval), labels),
                        net.layer(2).target<swish<float>>()->beta(),
                        net.layer(4).target<swish<float>>()->beta());
        net.backward(dlogits);
        opt.step(params);
    }

    // Saving works through spec(); loading needs a factory for the types nn::load does not know.
    std::stringstream file;
    nn::save(net, file);
    const nn::layer_factory<float> factory =
        [](const nn::layer_spec& s) -> std::optional<nn::any_layer<float>> {
        if (s.type == "swish")
            return swish<float>();
        return std::nullopt;
    };
    nn::network<float> copy = nn::load<float>(file, "memory", factory);
    const auto& y1 = net.forward(x, nn::mode::eval);
    const auto& y2 = copy.forward(x, nn::mode::eval);
    const bool same = std::equal(y1.begin(), y1.end(), y2.begin());
    std::printf("saved and reloaded: %zu bytes, outputs %s\n", file.str().size(),
                same ? "identical" : "DIFFER");
    return err < 1e-5 && same ? 0 : 1;
}
