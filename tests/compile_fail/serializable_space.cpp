// A space that prints its architectures but cannot parse them: save_csv refuses it, naming
// serializable_space.
#include <string>
#include <xnas/run/export.hpp>

struct cells {
    using architecture = int;
    architecture sample(xnas::rng&) const { return 0; }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
    std::string to_string(architecture a) const { return std::to_string(a); }
#ifdef XNAS_COMPLETE
    architecture parse(const std::string& text) const {
        return std::stoi(text);
    }
#endif
};

void save(const xnas::study<int>& s) {
    xnas::save_csv("trials.csv", s, cells{});
}
