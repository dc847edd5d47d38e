// A space that decodes decisions but cannot encode an architecture into them: tpe refuses it,
// naming decision_space.
#include <array>
#include <cstddef>
#include <vector>
#include <xnas/strategy/tpe.hpp>

struct pairs {
    using architecture = std::array<int, 2>;
    architecture sample(xnas::rng&) const { return {}; }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
    std::vector<std::size_t> decisions() const { return {2, 2}; }
    architecture from_decisions(const std::vector<int>& d) const { return {d[0], d[1]}; }
#ifdef XNAS_COMPLETE
    std::vector<int> to_decisions(const architecture& a) const {
        return {a[0], a[1]};
    }
#endif
};

xnas::tpe<pairs> search;
