// A space whose decisions have no view at all (its names come back as a vector, not a map):
// the report's decisions refuse it, naming named_decision_space.
#include <string>
#include <vector>
#include <xnas/report/decisions.hpp>

struct depths {
    using architecture = int;
    architecture sample(xnas::rng&) const { return 1; }
    architecture mutate(architecture a, xnas::rng&) const { return a; }
#ifdef XNAS_COMPLETE
    xnas::decision_map named_decisions(architecture a) const {
        return {{"depth", std::to_string(a)}};
    }
#else
    std::vector<std::string> named_decisions(architecture a) const {
        return {std::to_string(a)};
    }
#endif
};

auto names() {
    return xnas::report::decisions(depths{}, 2);
}
