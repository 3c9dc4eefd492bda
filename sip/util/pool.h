#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace tandem::sip::util {

/// Fixed-capacity pool of `T`, allocated once in the constructor; a slot's object storage is
/// first touched when the slot is first handed out. `alloc` and `free` are O(1) (an index free
/// list, LIFO so that hot objects stay in cache). Objects are constructed on `alloc` and
/// destroyed on `free`. Each slot carries a generation counter, bumped on free, so that handles
/// (index + generation) held by others go stale safely. Per-shard, not thread-safe.
template <class T>
class pool {
public:
    static constexpr uint32_t npos = UINT32_MAX;

    explicit pool(size_t capacity)
        : _capacity(static_cast<uint32_t>(capacity)),
          // Not zero-filled: a slot's memory is first touched when it is first handed out, so
          // a pool sized for peak capacity costs resident memory for the slots in use at the
          // high-water mark, not for its whole capacity (the bookkeeping arrays below, 9 bytes
          // a slot, are written at once).
          _storage(std::make_unique_for_overwrite<storage[]>(capacity)),
          _next(std::make_unique<uint32_t[]>(capacity)),
          _gen(std::make_unique<uint32_t[]>(capacity)), _live(std::make_unique<bool[]>(capacity)) {
        for (uint32_t i = 0; i < _capacity; ++i) {
            _next[i] = i + 1 < _capacity ? i + 1 : npos;
            _gen[i] = 1;
            _live[i] = false;
        }
        _free = _capacity != 0 ? 0 : npos;
    }
    ~pool() {
        for (uint32_t i = 0; i < _capacity; ++i)
            if (_live[i]) ptr(i)->~T();
    }
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    /// Constructs a `T` from `args` in a free slot; returns its index, or `npos` when empty.
    template <class... Args>
    [[nodiscard]] uint32_t alloc(Args&&... args) {
        const uint32_t i = _free;
        if (i == npos) return npos;
        _free = _next[i];
        ::new (static_cast<void*>(&_storage[i])) T(std::forward<Args>(args)...);
        _live[i] = true;
        ++_used;
        return i;
    }
    /// Destroys the object at `i` and returns the slot to the free list.
    void free(uint32_t i) noexcept {
        ptr(i)->~T();
        _live[i] = false;
        ++_gen[i];
        _next[i] = _free;
        _free = i;
        --_used;
    }

    [[nodiscard]] T& operator[](uint32_t i) noexcept { return *ptr(i); }
    [[nodiscard]] const T& operator[](uint32_t i) const noexcept {
        return *std::launder(reinterpret_cast<const T*>(&_storage[i]));
    }
    /// True when `i` is in range and holds a live object.
    [[nodiscard]] bool live(uint32_t i) const noexcept { return i < _capacity && _live[i]; }
    /// The generation of slot `i` (changes each time the slot is freed).
    [[nodiscard]] uint32_t generation(uint32_t i) const noexcept { return _gen[i]; }

    [[nodiscard]] size_t size() const noexcept { return _used; }
    [[nodiscard]] size_t capacity() const noexcept { return _capacity; }
    /// Bytes this pool owns.
    [[nodiscard]] size_t memory_bytes() const noexcept {
        return size_t{_capacity} * (sizeof(storage) + 2 * sizeof(uint32_t) + sizeof(bool));
    }

private:
    struct storage {
        alignas(T) unsigned char bytes[sizeof(T)];
    };
    T* ptr(uint32_t i) noexcept { return std::launder(reinterpret_cast<T*>(&_storage[i])); }

    uint32_t _capacity;
    std::unique_ptr<storage[]> _storage;
    std::unique_ptr<uint32_t[]> _next;
    std::unique_ptr<uint32_t[]> _gen;
    std::unique_ptr<bool[]> _live;
    uint32_t _free = npos;
    size_t _used = 0;
};

} // namespace tandem::sip::util
