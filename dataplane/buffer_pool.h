#pragma once
// A shard's fixed pool of packet buffers for the socket backend: one allocation at start, a
// free stack afterwards. Single-threaded: only the owning shard allocates and frees (buffers
// used by other shards come back over the mesh's return rings).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "dataplane/packet.h"

namespace tandem::dataplane {

class buffer_pool {
public:
    /// `count` buffers of `buffer_size` payload bytes each, owned by shard `origin`.
    buffer_pool(uint32_t count, uint32_t buffer_size, uint16_t origin);
    buffer_pool(const buffer_pool&) = delete;
    buffer_pool& operator=(const buffer_pool&) = delete;

    /// A buffer with `cap == buffer_size()`, `len == 0`, or null when empty.
    [[nodiscard]] pkt_buf* alloc() noexcept {
        if (_free_count == 0) {
            return nullptr;
        }
        pkt_buf* b = _free[--_free_count];
        b->len = 0;
        b->cap = _buffer_size;
        b->data = payload_of(b);
        return b;
    }
    /// Returns a buffer of this pool.
    void free(pkt_buf* b) noexcept { _free[_free_count++] = b; }
    /// Whether `b` came from this pool.
    [[nodiscard]] bool owns(const pkt_buf* b) const noexcept {
        const auto* p = reinterpret_cast<const uint8_t*>(b);
        return p >= _storage.get() && p < _storage.get() + _stride * _count;
    }

    [[nodiscard]] uint32_t buffer_size() const noexcept { return _buffer_size; }
    [[nodiscard]] uint32_t capacity() const noexcept { return _count; }
    [[nodiscard]] uint32_t available() const noexcept { return _free_count; }
    void set_origin(uint16_t origin) noexcept;

private:
    [[nodiscard]] uint8_t* payload_of(pkt_buf* b) const noexcept {
        return reinterpret_cast<uint8_t*>(b) + _header;
    }

    uint32_t _count;
    uint32_t _buffer_size;
    size_t _header;
    size_t _stride;
    struct free_deleter {
        void operator()(uint8_t* p) const noexcept { std::free(p); }
    };
    std::unique_ptr<uint8_t, free_deleter> _storage;
    std::unique_ptr<pkt_buf*[]> _free;
    uint32_t _free_count = 0;
};

} // namespace tandem::dataplane
