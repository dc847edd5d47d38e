#include <catch2/catch.hpp>
#include <cmath>
#include <utility>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/optim/adam.hpp>
#include <xnas/nn/optim/sgd.hpp>

using namespace xnas;

namespace {

/// One 2-element parameter p = (1, -2) with a settable gradient.
template <class T>
struct toy {
    nn::array<T> value = {1, -2};
    nn::array<T> grad = {0, 0};
    std::vector<nn::parameter<T>> params() { return {{"weight", &value, &grad}}; }
    void set_grad(double a, double b) {
        grad(0) = static_cast<T>(a);
        grad(1) = static_cast<T>(b);
    }
};

template <class T>
void check_value(const toy<T>& t, double a, double b, double tolerance) {
    CHECK(t.value(0) == Approx(a).epsilon(tolerance));
    CHECK(t.value(1) == Approx(b).epsilon(tolerance));
}

template <class T>
constexpr double tol() {
    return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

/// f(p) = 0.5 sum a_i (p_i - c_i)^2 with curvatures a = (1, 4, 0.25, 2) and minimum c.
struct quadratic {
    nn::array<double> value = {3, -1, 2, 0.5}, grad = {0, 0, 0, 0};
    const double a[4] = {1, 4, 0.25, 2};
    const double c[4] = {1, 2, -3, 0};
    std::vector<nn::parameter<double>> params() { return {{"weight", &value, &grad}}; }
    void gradient() {
        for (std::size_t i = 0; i < 4; ++i)
            grad(i) = a[i] * (value(i) - c[i]);
    }
    double distance() const {
        double s = 0;
        for (std::size_t i = 0; i < 4; ++i)
            s += (value(i) - c[i]) * (value(i) - c[i]);
        return std::sqrt(s);
    }
};

template <class O>
double minimise(O opt, int steps) {
    quadratic q;
    auto params = q.params();
    for (int s = 0; s < steps; ++s) {
        q.gradient();
        opt.step(params);
    }
    return q.distance();
}

} // namespace

TEMPLATE_TEST_CASE("sgd without momentum: p -= lr (g + wd p)", "[nn][optim]", float, double) {
    toy<TestType> t;
    nn::sgd<TestType> opt(nn::sgd_options{.lr = 0.1, .weight_decay = 0.1});
    t.set_grad(0.5, 1);
    opt.step(t.params());
    check_value(t, 0.94, -2.08, tol<TestType>());
}

TEMPLATE_TEST_CASE("sgd momentum and dampening follow PyTorch", "[nn][optim]", float, double) {
    toy<TestType> plain, damped;
    nn::sgd<TestType> a(nn::sgd_options{.lr = 0.1, .momentum = 0.9});
    nn::sgd<TestType> b(nn::sgd_options{.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
    for (int s = 0; s < 2; ++s) {
        plain.set_grad(0.5, 1);
        damped.set_grad(0.5, 1);
        a.step(plain.params());
        b.step(damped.params());
    }
    // buffer = g at step 1 (no dampening on the first step), then 0.9 b + (1 - damp) g.
    check_value(plain, 0.855, -2.29, tol<TestType>());
    check_value(damped, 0.88, -2.24, tol<TestType>());
    a.reset();
    plain.value = {1, -2};
    a.step(plain.params());
    check_value(plain, 0.95, -2.1, tol<TestType>());
}

TEMPLATE_TEST_CASE("sgd Nesterov with weight decay follows PyTorch", "[nn][optim]", float, double) {
    toy<TestType> t;
    nn::sgd<TestType> opt(
        nn::sgd_options{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true});
    t.set_grad(0.5, 1);
    opt.step(t.params());
    // d = g + wd p = (0.6, 0.8); b = d; p -= lr (d + mu b)
    check_value(t, 0.886, -2.152, tol<TestType>());
    t.set_grad(0.5, 1);
    opt.step(t.params());
    // d = (0.5886, 0.7848); b = 0.9 b + d = (1.1286, 1.5048); p -= 0.1 (d + 0.9 b)
    check_value(t, 0.725566, -2.365912, tol<TestType>());
    CHECK(opt.steps() == 2);
}

TEMPLATE_TEST_CASE("adam's first two steps follow PyTorch", "[nn][optim]", float, double) {
    // Reference values from a line-by-line transcription of torch.optim.Adam/AdamW.
    toy<TestType> plain, l2, decoupled, ams;
    nn::adam<TestType> a(nn::adam_options{.lr = 0.1});
    nn::adam<TestType> b(nn::adam_options{.lr = 0.1, .weight_decay = 0.1});
    nn::adamw<TestType> c(nn::adamw_options{.lr = 0.1, .weight_decay = 0.1});
    nn::adam<TestType> d(nn::adam_options{.lr = 0.1, .amsgrad = true});
    const double grads[3][2] = {{0.5, 1}, {-1, 2}, {0.1, 0.1}};
    for (int s = 0; s < 2; ++s) {
        for (auto* t : {&plain, &l2, &decoupled, &ams})
            t->set_grad(grads[s][0], grads[s][1]);
        a.step(plain.params());
        b.step(l2.params());
        c.step(decoupled.params());
        d.step(ams.params());
        if (s == 0) {
            check_value(plain, 0.900000002, -2.099999999, tol<TestType>());
            check_value(l2, 0.9000000016666666, -2.09999999875, tol<TestType>());
            check_value(decoupled, 0.890000002, -2.079999999, tol<TestType>());
        }
    }
    check_value(plain, 0.9366103542405654, -2.1965182009718336, tol<TestType>());
    check_value(l2, 0.9252635194456061, -2.1952720095868674, tol<TestType>());
    check_value(decoupled, 0.9177103542205653, -2.1557182009818336, tol<TestType>());
    check_value(ams, 0.9366103542405654, -2.1965182009718336, tol<TestType>());
    ams.set_grad(grads[2][0], grads[2][1]);
    d.step(ams.params()); // v shrinks here; amsgrad keeps the maximum
    check_value(ams, 0.9591032095158738, -2.273908183152407, tol<TestType>());
}

TEST_CASE("optimizers converge on a known quadratic", "[nn][optim]") {
    CHECK(minimise(nn::sgd<double>(nn::sgd_options{.lr = 0.2}), 400) < 1e-6);
    CHECK(minimise(nn::sgd<double>(nn::sgd_options{.lr = 0.05, .momentum = 0.9}), 500) < 1e-6);
    CHECK(minimise(nn::sgd<double>(nn::sgd_options{.lr = 0.05, .momentum = 0.9, .nesterov = true}),
                   500) < 1e-6);
    CHECK(minimise(nn::adam<double>(nn::adam_options{.lr = 0.05}), 2000) < 1e-3);
    CHECK(minimise(nn::adamw<double>(nn::adamw_options{.lr = 0.05, .weight_decay = 0}), 2000) <
          1e-3);
    // Too large a step diverges: the test can fail.
    CHECK(minimise(nn::sgd<double>(nn::sgd_options{.lr = 0.6}), 50) > 1);
}

TEST_CASE("learning rate is settable and options are validated", "[nn][optim]") {
    toy<double> t;
    nn::sgd<double> opt(nn::sgd_options{.lr = 1});
    opt.set_learning_rate(0.5);
    CHECK(opt.learning_rate() == 0.5);
    t.set_grad(1, 1);
    opt.step(t.params());
    check_value(t, 0.5, -2.5, 1e-12);
    CHECK_THROWS_AS(opt.set_learning_rate(-1), std::invalid_argument);
    CHECK_THROWS_WITH(nn::sgd<float>(nn::sgd_options{.nesterov = true}),
                      Catch::Matchers::Contains("momentum"));
    CHECK_THROWS_WITH(nn::adam<float>(nn::adam_options{.beta1 = 1}),
                      Catch::Matchers::Contains("beta1") && Catch::Matchers::Contains("[0, 1)"));
    nn::adamw<float> w;
    CHECK(w.options().weight_decay == Approx(0.01));
}

TEST_CASE("optimizer state is keyed by position and checked", "[nn][optim]") {
    toy<double> t, u;
    nn::sgd<double> opt(nn::sgd_options{.lr = 0.1, .momentum = 0.9});
    opt.step(t.params());
    auto two = t.params();
    two.push_back(u.params()[0]);
    CHECK_THROWS_AS(opt.step(two), shape_error);
    nn::array<double> big = {1, 2, 3}, big_grad = {0, 0, 0};
    std::vector<nn::parameter<double>> other{{"bias", &big, &big_grad}};
    CHECK_THROWS_WITH(opt.step(other),
                      Catch::Matchers::Contains("bias") && Catch::Matchers::Contains("3 elements"));
    nn::array<double> bad_grad = {0};
    std::vector<nn::parameter<double>> mismatched{{"weight", &t.value, &bad_grad}};
    nn::sgd<double> plain;
    CHECK_THROWS_AS(plain.step(mismatched), shape_error);
    nn::adam<double> adam;
    CHECK_THROWS_AS(adam.step(mismatched), shape_error);
}

namespace {
struct no_learning_rate {
    using value_type = float;
    void step(std::span<const nn::parameter<float>>) {}
    void reset() {}
};
} // namespace

TEST_CASE("optimizer concept accepts the shipped optimizers only", "[nn][optim]") {
    STATIC_REQUIRE(nn::optimizer<nn::sgd<float>>);
    STATIC_REQUIRE(nn::optimizer<nn::adam<double>>);
    STATIC_REQUIRE(nn::optimizer<nn::adamw<float>>);
    STATIC_REQUIRE_FALSE(nn::optimizer<no_learning_rate>);
}

TEST_CASE("optimizers leave running_* statistics alone, even with weight decay", "[nn][optim]") {
    nn::array<double> w = {1, 2}, dw = {1, 1}, mean = {0.5, -0.5}, dmean = {0, 0};
    std::vector<nn::parameter<double>> params{{"weight", &w, &dw}, {"running_mean", &mean, &dmean}};
    nn::sgd<double> s(nn::sgd_options{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.5});
    nn::sgd<double> plain(nn::sgd_options{.lr = 0.1, .weight_decay = 0.5});
    nn::adamw<double> a(nn::adamw_options{.lr = 0.1, .weight_decay = 0.5});
    s.step(params);
    plain.step(params);
    a.step(params);
    CHECK(mean(0) == 0.5);
    CHECK(mean(1) == -0.5);
    CHECK(w(0) < 1);

    // The same under the node prefix a network's parameters() adds.
    std::vector<nn::parameter<double>> in_network{{"2.weight", &w, &dw},
                                                  {"3.running_var", &mean, &dmean}};
    nn::adamw<double> b(nn::adamw_options{.lr = 0.1, .weight_decay = 0.5});
    b.step(in_network);
    CHECK(mean(0) == 0.5);
    CHECK(nn::is_running_state("12.running_mean"));
    CHECK_FALSE(nn::is_running_state("3.weight_running_")); // only a name starting with it
}

namespace {
/// torch.optim.Adam/AdamW transcribed for one scalar, in double.
struct adam_reference {
    double lr, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0;
    bool decoupled = false, amsgrad = false;
    double m = 0, v = 0, vmax = 0;
    int t = 0;
    void step(double& p, double g) {
        ++t;
        if (decoupled)
            p *= 1 - lr * wd;
        else
            g += wd * p;
        m = b1 * m + (1 - b1) * g;
        v = b2 * v + (1 - b2) * g * g;
        vmax = std::max(vmax, v);
        const double denom = std::sqrt(amsgrad ? vmax : v) / std::sqrt(1 - std::pow(b2, t)) + eps;
        p -= lr / (1 - std::pow(b1, t)) * m / denom;
    }
};
} // namespace

TEMPLATE_TEST_CASE("adam on long parameters (vectorised body and tail) matches the reference",
                   "[nn][optim]", float, double) {
    const std::size_t n = 37; // several SIMD batches plus a scalar tail
    for (int variant = 0; variant < 3; ++variant) {
        INFO("variant " << variant << " (0 adam+L2, 1 adamw, 2 amsgrad)");
        nn::array<TestType> value = nn::array<TestType>::from_shape({n}), grad = value;
        std::vector<double> ref_value(n);
        std::vector<adam_reference> ref(n, adam_reference{.lr = 0.05});
        for (std::size_t i = 0; i < n; ++i) {
            value(i) = static_cast<TestType>(0.1 * static_cast<double>(i) - 1.5);
            ref_value[i] = static_cast<double>(value(i));
            ref[i].wd = 0.1;
            ref[i].decoupled = variant == 1;
            ref[i].amsgrad = variant == 2;
        }
        std::vector<nn::parameter<TestType>> params{{"weight", &value, &grad}};
        nn::adam<TestType> a(
            nn::adam_options{.lr = 0.05, .weight_decay = 0.1, .amsgrad = variant == 2});
        nn::adamw<TestType> w(nn::adamw_options{.lr = 0.05, .weight_decay = 0.1});
        for (int s = 0; s < 4; ++s) {
            for (std::size_t i = 0; i < n; ++i) {
                // Gradients change sign and shrink so that amsgrad's maximum matters.
                const double g = std::sin(static_cast<double>(i + 3 * s)) / (1 + s);
                grad(i) = static_cast<TestType>(g);
                ref[i].step(ref_value[i], static_cast<double>(grad(i)));
            }
            if (variant == 1)
                w.step(params);
            else
                a.step(params);
        }
        for (std::size_t i = 0; i < n; ++i)
            CHECK(static_cast<double>(value(i)) == Approx(ref_value[i]).epsilon(tol<TestType>()));
    }
}

namespace {
/// Three parameters of 1, 37 and 203 elements (and a running statistic) with gradients that
/// change every step.
struct several {
    nn::array<float> a, b, c, r = {0.5f, 0.25f};
    nn::array<float> ga, gb, gc, gr = {1.0f, 1.0f};
    explicit several(double shift) {
        for (auto [v, n] : {std::pair{&a, 1}, std::pair{&b, 37}, std::pair{&c, 203}})
            v->resize({static_cast<std::size_t>(n)});
        ga = a;
        gb = b;
        gc = c;
        for (auto* v : {&a, &b, &c})
            for (std::size_t i = 0; i < v->size(); ++i)
                v->data()[i] = static_cast<float>(std::cos(static_cast<double>(i) + shift));
    }
    std::vector<nn::parameter<float>> params() {
        return {{"a", &a, &ga}, {"1.running_mean", &r, &gr}, {"b", &b, &gb}, {"c", &c, &gc}};
    }
    void set_gradients(int step) {
        for (auto* g : {&ga, &gb, &gc})
            for (std::size_t i = 0; i < g->size(); ++i)
                g->data()[i] = static_cast<float>(std::sin(static_cast<double>(3 * i + step)));
    }
};

/// Steps `whole` with step() and `split` with begin_step and step_part over `parts` parts in
/// reverse order, and requires identical values, bit for bit.
template <class Opt>
void check_parts_equal_step(Opt whole, Opt split, std::size_t parts) {
    several x(0.3), y(0.3);
    const auto px = x.params(), py = y.params();
    for (int s = 0; s < 4; ++s) {
        x.set_gradients(s);
        y.set_gradients(s);
        whole.step(px);
        split.begin_step(py);
        for (std::size_t k = parts; k-- > 0;)
            split.step_part(py, k, parts);
    }
    for (std::size_t k = 0; k < px.size(); ++k)
        for (std::size_t i = 0; i < px[k].value->size(); ++i)
            REQUIRE(px[k].value->data()[i] == py[k].value->data()[i]);
    CHECK(y.r(0) == 0.5f); // running state untouched
    CHECK(whole.steps() == split.steps());
}
} // namespace

TEST_CASE("a step split into parts updates every element as one step does",
          "[nn][optim][parallel]") {
    STATIC_REQUIRE(nn::partitioned_optimizer<nn::sgd<float>>);
    STATIC_REQUIRE(nn::partitioned_optimizer<nn::adamw<double>>);
    for (std::size_t parts : {1, 2, 3, 7}) {
        CAPTURE(parts);
        check_parts_equal_step(nn::sgd<float>({.lr = 0.1}), nn::sgd<float>({.lr = 0.1}), parts);
        const nn::sgd_options momentum{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01};
        check_parts_equal_step(nn::sgd<float>(momentum), nn::sgd<float>(momentum), parts);
        const nn::sgd_options nesterov{.lr = 0.1, .momentum = 0.9, .nesterov = true};
        check_parts_equal_step(nn::sgd<float>(nesterov), nn::sgd<float>(nesterov), parts);
        const nn::adam_options adam{.lr = 0.01, .weight_decay = 0.1};
        check_parts_equal_step(nn::adam<float>(adam), nn::adam<float>(adam), parts);
        const nn::adam_options ams{.lr = 0.01, .amsgrad = true};
        check_parts_equal_step(nn::adam<float>(ams), nn::adam<float>(ams), parts);
        check_parts_equal_step(nn::adamw<float>(), nn::adamw<float>(), parts);
    }
}
