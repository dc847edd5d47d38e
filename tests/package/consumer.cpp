// Uses an installed xnas: a dense layer's forward pass through real BLAS.
#include <xnas/xnas.hpp>

int main() {
    xnas::nn::dense<float> d(3, 2);
    d.weight() = {{1, 0, 0}, {0, 1, 1}};
    xnas::nn::array<float> x = {{1, 2, 3}}, y;
    d.forward(x, y, xnas::nn::mode::eval);
    return (y(0, 0) == 1.0f && y(0, 1) == 5.0f) ? 0 : 1;
}
