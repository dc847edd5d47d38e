#pragma once
// The layer contract of the training core (xnas::nn::layer), the spec that describes a layer
// for saving and rebuilding, and any_layer, the value-semantic type-erased wrapper through
// which a run-time architecture holds its layers. A user's layer models the concept without
// inheriting from anything.

#include <charconv>
#include <concepts>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>
#include <xnas/nn/tensor.hpp>

namespace xnas::nn {

/// Training mode enables dropout and batch statistics; eval mode uses running statistics.
enum class mode { train, eval };

/// A view onto one learnable tensor and its gradient, owned by the layer.
template <class T>
struct parameter {
    std::string name; ///< "weight", "bias", ...; stable, used by serialization
    array<T>* value;
    array<T>* gradient; ///< same shape as *value
};

/// True for a parameter that is state, not learnable: batch norm's running statistics, which a
/// layer names "running_*" and a network prefixes with the node ("3.running_mean"). Optimizers
/// and initialisers skip them; gradient clipping and replica sums leave them alone.
inline bool is_running_state(std::string_view name) {
    const auto dot = name.rfind('.');
    return name.substr(dot == std::string_view::npos ? 0 : dot + 1).starts_with("running_");
}

/// How to rebuild a layer: its type name and its hyper-parameters as text. Serialization stores
/// it beside the weights; nn::make_layer turns a built-in spec back into a layer.
struct layer_spec {
    std::string type;
    std::map<std::string, std::string> attributes;
    bool operator==(const layer_spec&) const = default;
};

/// A real attribute of a layer_spec: the shortest text that reads back to exactly `v`, with a
/// decimal point whatever the C locale. printf's %g writes the locale's separator ("0,5" under
/// de_DE), and a model saved so would not load in another locale.
inline std::string spec_real(double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

/// A layer maps a batch x of shape (N, in...) to y of shape (N, out...).
///
/// Semantic requirements the compiler cannot check:
///  1. forward(x, y, m) resizes y as needed (nn::ensure_shape) and may cache what backward needs.
///  2. backward(x, y, dy, dx) is called after forward on the same x, with that forward's y; it
///     overwrites (never accumulates) every parameter gradient, and writes dL/dx into *dx unless
///     dx is null (the first layer: nobody needs it, so it is not computed).
///  3. parameters() returns views whose pointers stay valid as long as the layer is not moved.
///  4. output_shape(in) throws xnas::shape_error naming the layer and the shapes when `in` is
///     not an input the layer accepts; flops(in) counts forward operations per sample (a
///     multiply-add is 2).
///  5. Deterministic: the same inputs, parameters and mode give the same outputs. A layer that
///     draws random numbers (dropout) owns a seeded xnas::rng.
// clang-format 14 mangles requires-expressions.
// clang-format off
template <class L>
concept layer = std::copy_constructible<L> && requires { typename L::value_type; } &&
    requires(L& l, const L& cl, const array<typename L::value_type>& x,
             array<typename L::value_type>& y, const array<typename L::value_type>& dy,
             array<typename L::value_type>* dx, const shape& in, mode m) {
        { l.forward(x, y, m) };
        { l.backward(x, y, dy, dx) };
        { l.parameters() } -> std::same_as<std::vector<parameter<typename L::value_type>>>;
        { cl.output_shape(in) } -> std::same_as<shape>;
        { cl.parameter_count() } -> std::convertible_to<std::size_t>;
        { cl.flops(in) } -> std::convertible_to<std::size_t>;
    };
// clang-format on

/// Optional: a layer that can describe itself for saving (`layer_spec spec() const`).
template <class L>
concept describable_layer = layer<L> && requires(const L& cl) {
    { cl.spec() } -> std::same_as<layer_spec>;
};

/// A layer of any type modelling nn::layer<L> with value_type T, with value semantics (copying
/// an any_layer copies the layer). The virtual call costs nothing next to the layer's work.
template <class T>
class any_layer {
  public:
    using value_type = T;

    // Implicit by design, like std::function. The requires-clause keeps it from hiding the copy
    // and move constructors (clang-tidy 14 only sees enable_if). clang-format 14 mangles it.
    // clang-format off
    template <class L>
        requires(!std::same_as<std::remove_cvref_t<L>, any_layer> &&
                 layer<std::remove_cvref_t<L>> &&
                 std::same_as<typename std::remove_cvref_t<L>::value_type, T>)
    any_layer(L&& l) // NOLINT(google-explicit-constructor,bugprone-forwarding-reference-overload)
        : self_(std::make_unique<model<std::remove_cvref_t<L>>>(std::forward<L>(l))) {}
    // clang-format on

    any_layer(const any_layer& other)
        : self_(other.self_ ? other.self_->clone() : nullptr) {}
    any_layer(any_layer&&) noexcept = default;
    any_layer& operator=(const any_layer& other) {
        if (this != &other)
            self_ = other.self_ ? other.self_->clone() : nullptr;
        return *this;
    }
    any_layer& operator=(any_layer&&) noexcept = default;
    ~any_layer() = default;

    void forward(const array<T>& x, array<T>& y, mode m) { self_->forward(x, y, m); }
    void backward(const array<T>& x, const array<T>& y, const array<T>& dy, array<T>* dx) {
        self_->backward(x, y, dy, dx);
    }
    std::vector<parameter<T>> parameters() { return self_->parameters(); }
    shape output_shape(const shape& in) const { return self_->output_shape(in); }
    std::size_t parameter_count() const { return self_->parameter_count(); }
    std::size_t flops(const shape& in) const { return self_->flops(in); }
    /// The layer's spec, or {type: "custom"} for a layer that does not describe itself.
    layer_spec spec() const { return self_->spec(); }

    /// The wrapped layer if it is an L, else nullptr.
    template <class L>
    L* target() {
        return self_->type() == typeid(L) ? static_cast<L*>(self_->address()) : nullptr;
    }
    template <class L>
    const L* target() const {
        return self_->type() == typeid(L) ? static_cast<const L*>(self_->address()) : nullptr;
    }

  private:
    struct interface {
        virtual ~interface() = default;
        virtual std::unique_ptr<interface> clone() const = 0;
        virtual void forward(const array<T>&, array<T>&, mode) = 0;
        virtual void backward(const array<T>&, const array<T>&, const array<T>&, array<T>*) = 0;
        virtual std::vector<parameter<T>> parameters() = 0;
        virtual shape output_shape(const shape&) const = 0;
        virtual std::size_t parameter_count() const = 0;
        virtual std::size_t flops(const shape&) const = 0;
        virtual layer_spec spec() const = 0;
        virtual const std::type_info& type() const = 0;
        virtual void* address() = 0;
    };

    template <class L>
    struct model final : interface {
        explicit model(L l)
            : impl(std::move(l)) {}
        std::unique_ptr<interface> clone() const override { return std::make_unique<model>(impl); }
        void forward(const array<T>& x, array<T>& y, mode m) override { impl.forward(x, y, m); }
        void backward(const array<T>& x, const array<T>& y, const array<T>& dy,
                      array<T>* dx) override {
            impl.backward(x, y, dy, dx);
        }
        std::vector<parameter<T>> parameters() override { return impl.parameters(); }
        shape output_shape(const shape& in) const override { return impl.output_shape(in); }
        std::size_t parameter_count() const override { return impl.parameter_count(); }
        std::size_t flops(const shape& in) const override { return impl.flops(in); }
        layer_spec spec() const override {
            if constexpr (describable_layer<L>)
                return impl.spec();
            else
                return layer_spec{"custom", {}};
        }
        const std::type_info& type() const override { return typeid(L); }
        void* address() override { return &impl; }
        L impl;
    };

    std::unique_ptr<interface> self_;
};

} // namespace xnas::nn
