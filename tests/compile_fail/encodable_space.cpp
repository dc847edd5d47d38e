// A space that encodes architectures but does not say the encoding's size: bananas refuses it,
// naming encodable_space.
#include <cstddef>
#include <vector>
#include <xnas/strategy/bananas.hpp>

struct cells {
    using architecture = int;
    architecture sample(xnas::rng&) const { return 0; }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
    std::vector<double> encode(architecture a) const { return {static_cast<double>(a)}; }
#ifdef XNAS_COMPLETE
    std::size_t encoding_size() const {
        return 1;
    }
#endif
};

xnas::bananas<cells> search;
