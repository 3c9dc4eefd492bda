#pragma once
// A bounded single-producer single-consumer ring of small trivially copyable items (packet
// pointers, commands), as rte_ring in SP/SC mode but usable without EAL. Burst functions return how
// many they moved; a short count is backpressure.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace tandem::dataplane {

inline constexpr size_t cache_line = 64;

/// Capacity is rounded up to a power of two. Exactly one thread may call the enqueue functions
/// and exactly one (possibly other) thread the dequeue functions; neither blocks or allocates.
template <class T>
class spsc_ring {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    explicit spsc_ring(uint32_t min_capacity) {
        uint32_t cap = 2;
        while (cap < min_capacity && cap < (1u << 30)) {
            cap <<= 1;
        }
        _mask = cap - 1;
        _slots = std::make_unique<T[]>(cap);
    }
    spsc_ring(const spsc_ring&) = delete;
    spsc_ring& operator=(const spsc_ring&) = delete;

    [[nodiscard]] uint32_t capacity() const noexcept { return _mask + 1; }

    /// Producer only. Enqueues up to n items in order; returns how many (0..n).
    [[nodiscard]] uint32_t enqueue_burst(const T* items, uint32_t n) noexcept {
        const uint64_t head = _prod.head.load(std::memory_order_relaxed);
        uint64_t free_slots = capacity() - (head - _prod.cached_tail);
        if (free_slots < n) {
            // Refresh only when the cached view says full: keeps the consumer's line cold.
            _prod.cached_tail = _cons.tail.load(std::memory_order_acquire);
            free_slots = capacity() - (head - _prod.cached_tail);
        }
        const uint32_t count = n < free_slots ? n : static_cast<uint32_t>(free_slots);
        for (uint32_t i = 0; i < count; ++i) {
            _slots[(head + i) & _mask] = items[i];
        }
        // Release: the slot writes above become visible before the new head.
        _prod.head.store(head + count, std::memory_order_release);
        return count;
    }
    [[nodiscard]] bool enqueue(const T& item) noexcept { return enqueue_burst(&item, 1) == 1; }

    /// Consumer only. Dequeues up to max items in order; returns how many.
    [[nodiscard]] uint32_t dequeue_burst(T* out, uint32_t max) noexcept {
        const uint64_t tail = _cons.tail.load(std::memory_order_relaxed);
        uint64_t avail = _cons.cached_head - tail;
        if (avail < max) {
            _cons.cached_head = _prod.head.load(std::memory_order_acquire);
            avail = _cons.cached_head - tail;
        }
        const uint32_t count = max < avail ? max : static_cast<uint32_t>(avail);
        for (uint32_t i = 0; i < count; ++i) {
            out[i] = _slots[(tail + i) & _mask];
        }
        _cons.tail.store(tail + count, std::memory_order_release);
        return count;
    }
    /// Consumer only. Moves one item into `out`; false when empty.
    [[nodiscard]] bool dequeue(T& out) noexcept { return dequeue_burst(&out, 1) == 1; }

    /// Either side; approximate while the other side runs.
    [[nodiscard]] uint32_t size() const noexcept {
        return static_cast<uint32_t>(_prod.head.load(std::memory_order_acquire) -
                                     _cons.tail.load(std::memory_order_acquire));
    }

private:
    // Producer and consumer state on separate cache lines so that they do not false-share.
    struct alignas(cache_line) producer_side {
        std::atomic<uint64_t> head{0};
        uint64_t cached_tail = 0;
    };
    struct alignas(cache_line) consumer_side {
        std::atomic<uint64_t> tail{0};
        uint64_t cached_head = 0;
    };
    producer_side _prod;
    consumer_side _cons;
    uint32_t _mask = 0;
    std::unique_ptr<T[]> _slots;
};

} // namespace tandem::dataplane
