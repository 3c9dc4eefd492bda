#pragma once

// The per-worker call table of tandem-loadgen: a preallocated pool of call objects indexed by
// Call-ID through Tandem's open-addressing table and its keyed SipHash.

#include "sip/util/open_table.h"
#include "sip/util/siphash.h"

#include <cstdint>
#include <memory>
#include <string_view>

namespace tandem::loadgen {

/// A fixed pool of `Call` objects (allocated once, in the constructor) with a free list and an
/// index from Call-ID to slot. `Call` must provide `std::string_view call_id() const` (the key
/// it was inserted under, stored inside the object) and be default-constructible. The table
/// never allocates after construction. One owner thread; not thread-safe.
template <class Call>
class call_table {
public:
    static constexpr uint32_t npos = sip::util::open_table::npos;

    /// `capacity` calls at most (at least 1); `key` seeds the hash (draw it at random).
    call_table(size_t capacity, const sip::util::hash_key& key)
        : _capacity(capacity == 0 ? 1 : capacity), _key(key),
          _calls(std::make_unique_for_overwrite<Call[]>(_capacity)),
          _free(std::make_unique_for_overwrite<uint32_t[]>(_capacity)), _index(_capacity) {
        for (size_t i = 0; i < _capacity; ++i)
            _free[i] = static_cast<uint32_t>(_capacity - 1 - i);
        _free_count = _capacity;
    }

    /// Takes a free slot; npos when all are in use. The caller fills the call (its Call-ID
    /// included) and then calls `insert()`.
    [[nodiscard]] uint32_t acquire() noexcept {
        if (_free_count == 0) return npos;
        return _free[--_free_count];
    }
    /// Indexes slot `i` under its call's current `call_id()`. False if the index is full
    /// (cannot happen while slots come from `acquire()`).
    bool insert(uint32_t i) noexcept {
        return _index.insert(hash(_calls[i].call_id()), i) == sip::util::insert_status::ok;
    }
    /// Slot of the call with this Call-ID, or npos.
    [[nodiscard]] uint32_t find(std::string_view call_id) const noexcept {
        return _index.find(hash(call_id),
                           [&](uint32_t i) { return _calls[i].call_id() == call_id; });
    }
    /// Removes slot `i` from the index (if it was inserted) and returns it to the free list.
    /// The call's `call_id()` must still be the one it was inserted under.
    void release(uint32_t i) noexcept {
        (void)_index.erase(hash(_calls[i].call_id()), i);
        _free[_free_count++] = i;
    }

    [[nodiscard]] Call& operator[](uint32_t i) noexcept { return _calls[i]; }
    [[nodiscard]] const Call& operator[](uint32_t i) const noexcept { return _calls[i]; }
    /// Calls in use (acquired and not released).
    [[nodiscard]] size_t size() const noexcept { return _capacity - _free_count; }
    [[nodiscard]] size_t capacity() const noexcept { return _capacity; }

private:
    [[nodiscard]] uint64_t hash(std::string_view s) const noexcept {
        return sip::util::siphash13_64(_key, s);
    }

    size_t _capacity;
    sip::util::hash_key _key;
    std::unique_ptr<Call[]> _calls;
    std::unique_ptr<uint32_t[]> _free;
    size_t _free_count = 0;
    sip::util::open_table _index;
};

} // namespace tandem::loadgen
