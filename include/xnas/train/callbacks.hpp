#pragma once
// Training callbacks: any object, every hook optional, detected with requires. A hook that
// returns something convertible to bool asks fit() to stop by returning true.
//
//     struct printer {
//         void on_epoch_end(const xnas::train::epoch_result& e) { std::cout << e.loss << '\n'; }
//     };
//
// Hooks fit() calls (all optional):
//   on_epoch_begin(std::size_t epoch)
//   on_batch_end(const batch_result&)   -> void or bool (true: stop after this batch)
//   on_epoch_end(const epoch_result&)   -> void or bool (true: stop after this epoch)
//   on_fit_end(const history&)

#include <concepts>
#include <cstddef>
#include <type_traits>
#include <xnas/train/metrics.hpp>

namespace xnas::train {

/// A type with at least one hook fit() knows; catches a callback whose hooks are misspelled.
template <class C>
concept callback = requires(C& c) {
    c.on_epoch_begin(std::size_t{});
}
|| requires(C& c, const batch_result& r) {
    c.on_batch_end(r);
}
|| requires(C& c, const epoch_result& r) {
    c.on_epoch_end(r);
}
|| requires(C& c, const history& h) {
    c.on_fit_end(h);
};

namespace detail {

/// Calls f() and returns its result as a stop request (false for void).
template <class F>
bool as_stop(F&& f) {
    if constexpr (std::is_void_v<decltype(f())>) {
        f();
        return false;
    } else {
        return static_cast<bool>(f());
    }
}

template <class C>
bool batch_end(C& c, const batch_result& r) {
    if constexpr (requires { c.on_batch_end(r); })
        return as_stop([&] { return c.on_batch_end(r); });
    else
        return false;
}

template <class C>
bool epoch_end(C& c, const epoch_result& r) {
    if constexpr (requires { c.on_epoch_end(r); })
        return as_stop([&] { return c.on_epoch_end(r); });
    else
        return false;
}

template <class C>
void epoch_begin(C& c, std::size_t epoch) {
    if constexpr (requires { c.on_epoch_begin(epoch); })
        c.on_epoch_begin(epoch);
}

template <class C>
void fit_end(C& c, const history& h) {
    if constexpr (requires { c.on_fit_end(h); })
        c.on_fit_end(h);
}

} // namespace detail

} // namespace xnas::train
