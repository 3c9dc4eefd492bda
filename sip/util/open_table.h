#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace tandem::sip::util {

/// Result of `open_table::insert`.
enum class insert_status : uint8_t {
    ok,
    full, ///< the configured capacity is reached: answer 503 + Retry-After and count it
};

/// An open-addressing index from a 64-bit keyed hash to a 32-bit value (an object's index in
/// its pool). Linear probing with backward-shift deletion (no tombstones, so probe lengths do
/// not decay under churn). The key itself lives in the object; lookups confirm a candidate
/// with a caller-supplied predicate. The slot array is allocated once, in the constructor, at
/// twice the capacity rounded up to a power of two (load factor <= 0.5); the table never grows.
/// Per-shard, not thread-safe. 8 bytes per slot.
class open_table {
public:
    static constexpr uint32_t npos = UINT32_MAX;

    /// `capacity`: the most entries it will ever hold (at least 1).
    explicit open_table(size_t capacity) {
        _capacity = capacity == 0 ? 1 : capacity;
        size_t n = 8;
        while (n < _capacity * 2)
            n <<= 1;
        _mask = n - 1;
        _slots = std::make_unique<slot[]>(n);
        for (size_t i = 0; i < n; ++i)
            _slots[i] = slot{0, npos};
    }

    /// Adds `value` under `hash`. Duplicates are the caller's business (look up first).
    /// `value` must not be `npos`. Returns `full` when `size() == capacity()`.
    [[nodiscard]] insert_status insert(uint64_t hash, uint32_t value) noexcept {
        if (_size == _capacity) return insert_status::full;
        const uint32_t tag = tag_of(hash);
        size_t i = tag & _mask;
        while (_slots[i].value != npos)
            i = (i + 1) & _mask;
        _slots[i] = slot{tag, value};
        ++_size;
        return insert_status::ok;
    }

    /// Starts loading the slot a `find` or `insert` for `hash` reads first, so that its cache
    /// miss overlaps the caller's other work. Changes nothing.
    void prefetch(uint64_t hash) const noexcept {
        __builtin_prefetch(&_slots[tag_of(hash) & _mask]);
    }

    /// Returns the first value stored under `hash` for which `match(value)` is true, or `npos`.
    template <class Match>
    [[nodiscard]] uint32_t find(uint64_t hash, Match&& match) const {
        const uint32_t tag = tag_of(hash);
        for (size_t i = tag & _mask;; i = (i + 1) & _mask) {
            const slot& s = _slots[i];
            if (s.value == npos) return npos;
            if (s.tag == tag && match(s.value)) return s.value;
        }
    }

    /// Removes the entry (`hash`, `value`). Returns false if it is not there.
    bool erase(uint64_t hash, uint32_t value) noexcept {
        const uint32_t tag = tag_of(hash);
        size_t i = tag & _mask;
        for (;; i = (i + 1) & _mask) {
            if (_slots[i].value == npos) return false;
            if (_slots[i].value == value && _slots[i].tag == tag) break;
        }
        // Backward shift: pull later entries of the cluster into the hole when the hole lies
        // between their home slot and their current slot (cyclically).
        size_t hole = i;
        for (size_t j = (hole + 1) & _mask; _slots[j].value != npos; j = (j + 1) & _mask) {
            const size_t home = _slots[j].tag & _mask;
            const size_t dist_j = (j - home) & _mask;
            const size_t dist_hole = (hole - home) & _mask;
            if (dist_hole < dist_j) {
                _slots[hole] = _slots[j];
                hole = j;
            }
        }
        _slots[hole] = slot{0, npos};
        --_size;
        return true;
    }

    [[nodiscard]] size_t size() const noexcept { return _size; }
    [[nodiscard]] size_t capacity() const noexcept { return _capacity; }
    [[nodiscard]] size_t slot_count() const noexcept { return _mask + 1; }
    /// Bytes this table owns (the slot array).
    [[nodiscard]] size_t memory_bytes() const noexcept { return (_mask + 1) * sizeof(slot); }

private:
    struct slot {
        uint32_t tag;
        uint32_t value;
    };
    // The home slot and the tag both come from the high half, so a slot's home can be
    // recomputed from its tag during deletion (valid while the table has <= 2^32 slots).
    static uint32_t tag_of(uint64_t hash) noexcept { return static_cast<uint32_t>(hash >> 32); }

    std::unique_ptr<slot[]> _slots;
    size_t _mask = 0;
    size_t _size = 0;
    size_t _capacity = 0;
};

} // namespace tandem::sip::util
