#pragma once
// Bit-for-bit comparison of two networks' parameters, for the trainer's determinism tests.

#include <cstring>
#include <xnas/nn/network.hpp>

namespace xnas::test {

/// True when both networks hold the same parameters, element for element, bit for bit.
template <class T>
bool same_weights(nn::network<T>& a, nn::network<T>& b) {
    auto pa = a.parameters(), pb = b.parameters();
    if (pa.size() != pb.size())
        return false;
    for (std::size_t k = 0; k < pa.size(); ++k)
        if (pa[k].value->size() != pb[k].value->size() ||
            std::memcmp(pa[k].value->data(), pb[k].value->data(),
                        pa[k].value->size() * sizeof(T)) != 0)
            return false;
    return true;
}

} // namespace xnas::test
