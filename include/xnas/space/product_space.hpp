#pragma once
// product_space<A, B>: two search spaces searched jointly, e.g. a chain_space of layers with a
// param_space of training hyperparameters. Every optional ability (neighbours, encoding,
// crossover, text round trip, cardinality, the decision view) is offered when both factors offer
// it.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <xnas/core/concepts.hpp>
#include <xnas/core/error.hpp>
#include <xnas/space/decisions.hpp>

namespace xnas {

template <search_space A, search_space B>
class product_space {
  public:
    struct architecture {
        typename A::architecture first{};
        typename B::architecture second{};
        bool operator==(const architecture&) const = default;
    };

    /// `first_mutation_share`: probability that mutate changes the first factor (else the second).
    product_space(A first, B second, double first_mutation_share = 0.5)
        : a_(std::move(first))
        , b_(std::move(second))
        , share_(first_mutation_share) {
        if (!(share_ >= 0.0 && share_ <= 1.0))
            throw std::invalid_argument(
                "xnas::product_space: first_mutation_share must be in [0, 1], got " +
                std::to_string(share_));
    }

    const A& first() const { return a_; }
    const B& second() const { return b_; }

    architecture sample(rng& g) const { return {a_.sample(g), b_.sample(g)}; }

    /// True when each factor that can tell (has contains) accepts its part: how strategies that
    /// decode architectures themselves (tpe, reinforce) honour a factor's constraint.
    bool contains(const architecture& x) const requires(has_contains<A> || has_contains<B>) {
        if constexpr (has_contains<A>)
            if (!a_.contains(x.first))
                return false;
        if constexpr (has_contains<B>)
            if (!b_.contains(x.second))
                return false;
        return true;
    }

    architecture mutate(const architecture& x, rng& g) const {
        if (g.bernoulli(share_))
            return {a_.mutate(x.first, g), x.second};
        return {x.first, b_.mutate(x.second, g)};
    }

    std::vector<architecture> neighbours(const architecture& x) const requires
        neighbourhood_space<A> && neighbourhood_space<B> {
        std::vector<architecture> out;
        for (auto& n : a_.neighbours(x.first))
            out.push_back({std::move(n), x.second});
        for (auto& n : b_.neighbours(x.second))
            out.push_back({x.first, std::move(n)});
        return out;
    }

    std::vector<double>
    encode(const architecture& x) const requires encodable_space<A> && encodable_space<B> {
        auto out = a_.encode(x.first);
        const auto tail = b_.encode(x.second);
        out.insert(out.end(), tail.begin(), tail.end());
        return out;
    }
    std::size_t encoding_size() const requires encodable_space<A> && encodable_space<B> {
        return static_cast<std::size_t>(a_.encoding_size()) +
               static_cast<std::size_t>(b_.encoding_size());
    }

    architecture crossover(const architecture& x, const architecture& y,
                           rng& g) const requires crossover_space<A> || crossover_space<B> {
        architecture c;
        if constexpr (crossover_space<A>)
            c.first = a_.crossover(x.first, y.first, g);
        else
            c.first = g.bernoulli(0.5) ? x.first : y.first;
        if constexpr (crossover_space<B>)
            c.second = b_.crossover(x.second, y.second, g);
        else
            c.second = g.bernoulli(0.5) ? x.second : y.second;
        return c;
    }

    /// "<first> ; <second>". Neither factor's grammar may contain " ; " (chain, cell and param
    /// spaces do not).
    std::string
    to_string(const architecture& x) const requires serializable_space<A> && serializable_space<B> {
        return std::string(a_.to_string(x.first)) + separator + std::string(b_.to_string(x.second));
    }

    architecture
    parse(const std::string& text) const requires serializable_space<A> && serializable_space<B> {
        const auto at = text.find(separator);
        if (at == std::string::npos)
            throw parse_error(
                "xnas::product_space::parse: no \" ; \" separating the two parts in \"" + text +
                "\"");
        return {a_.parse(text.substr(0, at)),
                b_.parse(text.substr(at + std::string(separator).size()))};
    }

    double cardinality() const requires finite_space<A> && finite_space<B> {
        return static_cast<double>(a_.cardinality()) * static_cast<double>(b_.cardinality());
    }

    // ---- decision view (xnas/space/decisions.hpp) ------------------------------------------

    /// The first factor's decisions, then the second's.
    std::vector<std::size_t> decisions() const requires decision_space<A> && decision_space<B> {
        auto out = xnas::decisions(a_);
        const auto tail = xnas::decisions(b_);
        out.insert(out.end(), tail.begin(), tail.end());
        return out;
    }
    std::vector<bool> ordered_decisions() const requires decision_space<A> && decision_space<B> {
        auto out = xnas::ordered_decisions(a_);
        const auto tail = xnas::ordered_decisions(b_);
        out.insert(out.end(), tail.begin(), tail.end());
        return out;
    }
    architecture from_decisions(const std::vector<int>& d) const requires decision_space<A> &&
        decision_space<B> {
        const std::size_t n = xnas::decisions(a_).size();
        if (d.size() < n)
            throw std::invalid_argument("xnas::from_decisions(product_space): " +
                                        std::to_string(d.size()) + " decisions, expected more");
        return {xnas::from_decisions(
                    a_, std::vector<int>(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n))),
                xnas::from_decisions(
                    b_, std::vector<int>(d.begin() + static_cast<std::ptrdiff_t>(n), d.end()))};
    }
    std::vector<int>
    to_decisions(const architecture& x) const requires decision_space<A> && decision_space<B> {
        auto out = xnas::to_decisions(a_, x.first);
        const auto tail = xnas::to_decisions(b_, x.second);
        out.insert(out.end(), tail.begin(), tail.end());
        return out;
    }
    /// Both factors' named decisions (names are expected not to clash; a clash keeps the first
    /// factor's). When a factor does not name its decisions, the product's read "decision <i>".
    decision_map named_decisions(const architecture& x) const requires has_decision_names<A> &&
        has_decision_names<B> {
        decision_map d = xnas::named_decisions(a_, x.first);
        d.merge(xnas::named_decisions(b_, x.second));
        return d;
    }

    static constexpr const char* separator = " ; ";

  private:
    A a_;
    B b_;
    double share_;
};

} // namespace xnas
