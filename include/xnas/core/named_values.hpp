#pragma once
// named_values: the numbers an evaluation reports, keyed by name ("val_accuracy", "params").
// It reads and writes like std::map<std::string, double> but keeps its entries in one sorted
// vector: an evaluation holds a handful of them, and a search keeps every evaluation it was told
// for its whole length, so one block per map instead of a tree node per entry is what keeps a
// long search's memory close to its records (see docs/design.md, "Evaluation records").

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xnas {

/// Values by name, unique names, iterated in name order. Unlike std::map's keys, an entry's name
/// is not const: changing it through an iterator would break the order lookups rely on.
class named_values {
  public:
    using key_type = std::string;
    using mapped_type = double;
    using value_type = std::pair<std::string, double>;
    using size_type = std::size_t;
    using iterator = std::vector<value_type>::iterator;
    using const_iterator = std::vector<value_type>::const_iterator;

    named_values() = default;
    named_values(std::initializer_list<value_type> entries)
        : named_values(entries.begin(), entries.end()) {}
    /// From any range of (name, value) pairs; a repeated name keeps its first value, as
    /// std::map's range constructor does.
    template <std::forward_iterator It>
    named_values(It first, It last) {
        entries_.reserve(static_cast<std::size_t>(std::distance(first, last)));
        for (; first != last; ++first)
            emplace(first->first, first->second);
    }
    // From a map implicitly, so that function evaluators returning one and code assigning one
    // go on working; to a map only explicitly, so that no copy is made behind a caller's back.
    named_values(const std::map<std::string, double>& m)
        : named_values(m.begin(), m.end()) {}
    explicit operator std::map<std::string, double>() const {
        return {entries_.begin(), entries_.end()};
    }

    iterator begin() { return entries_.begin(); }
    iterator end() { return entries_.end(); }
    const_iterator begin() const { return entries_.begin(); }
    const_iterator end() const { return entries_.end(); }
    const_iterator cbegin() const { return entries_.begin(); }
    const_iterator cend() const { return entries_.end(); }
    size_type size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    void clear() { entries_.clear(); }
    /// Room for `n` values, so that filling them in one by one allocates once.
    void reserve(size_type n) { entries_.reserve(n); }

    iterator find(std::string_view name) {
        auto it = lower_bound(name);
        return it != entries_.end() && it->first == name ? it : entries_.end();
    }
    const_iterator find(std::string_view name) const {
        auto it = lower_bound(name);
        return it != entries_.end() && it->first == name ? it : entries_.end();
    }
    size_type count(std::string_view name) const { return find(name) != end() ? 1 : 0; }
    bool contains(std::string_view name) const { return find(name) != end(); }

    /// The value of `name`; throws std::out_of_range naming it and the names there are.
    double& at(std::string_view name) { return const_cast<double&>(std::as_const(*this).at(name)); }
    const double& at(std::string_view name) const {
        auto it = find(name);
        if (it == end()) {
            std::string known;
            for (const auto& [n, v] : entries_)
                known += (known.empty() ? "" : ", ") + n;
            throw std::out_of_range("xnas::named_values::at: no value named '" + std::string(name) +
                                    "' (there are: " + (known.empty() ? "none" : known) + ")");
        }
        return it->second;
    }

    /// The value of `name`, inserted as 0 when absent (as std::map::operator[]).
    double& operator[](std::string_view name) { return emplace(name, 0.0).first->second; }

    /// Inserts (name, value) unless `name` is there; returns where it is and whether it was new.
    std::pair<iterator, bool> emplace(std::string_view name, double value) {
        auto it = lower_bound(name);
        if (it != entries_.end() && it->first == name)
            return {it, false};
        return {entries_.emplace(it, std::string(name), value), true};
    }
    std::pair<iterator, bool> insert(const value_type& entry) {
        return emplace(entry.first, entry.second);
    }
    std::pair<iterator, bool> insert_or_assign(std::string_view name, double value) {
        auto [it, added] = emplace(name, value);
        if (!added)
            it->second = value;
        return {it, added};
    }
    size_type erase(std::string_view name) {
        auto it = find(name);
        if (it == end())
            return 0;
        entries_.erase(it);
        return 1;
    }
    iterator erase(const_iterator pos) { return entries_.erase(pos); }

    bool operator==(const named_values&) const = default;

  private:
    std::vector<value_type>::iterator lower_bound(std::string_view name) {
        return std::lower_bound(
            entries_.begin(), entries_.end(), name,
            [](const value_type& e, std::string_view n) { return e.first < n; });
    }
    std::vector<value_type>::const_iterator lower_bound(std::string_view name) const {
        return std::lower_bound(
            entries_.begin(), entries_.end(), name,
            [](const value_type& e, std::string_view n) { return e.first < n; });
    }

    std::vector<value_type> entries_; // sorted by name, names unique
};

} // namespace xnas
