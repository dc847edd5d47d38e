// A selector that can only select with a generator: best_distinct without one refuses it,
// naming deterministic_selector (pass a generator, or give the selector select(pop, k)).
#include <cstddef>
#include <span>
#include <vector>
#include <xnas/run/final_selection.hpp>

struct first {
    std::vector<std::size_t> select(std::span<const xnas::scored<int>> pop, std::size_t k,
                                    xnas::rng&) const {
        return pop.empty() || k == 0 ? std::vector<std::size_t>{} : std::vector<std::size_t>{0};
    }
#ifdef XNAS_COMPLETE
    std::vector<std::size_t> select(std::span<const xnas::scored<int>> pop, std::size_t k) const {
        xnas::rng unused;
        return select(pop, k, unused);
    }
#endif
};

auto pick(const xnas::study<int>& s) {
    return xnas::best_distinct(s, first{}, 3);
}
