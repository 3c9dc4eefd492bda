#include "dataplane/buffer_pool.h"

#include <cstdlib>
#include <new>

namespace tandem::dataplane {

buffer_pool::buffer_pool(uint32_t count, uint32_t buffer_size, uint16_t origin)
    : _count(count), _buffer_size(buffer_size), _header((sizeof(pkt_buf) + 63) / 64 * 64),
      _stride((_header + buffer_size + 63) / 64 * 64) {
    // One block, cache-line strided; pkt_buf heads each slot.
    _storage.reset(static_cast<uint8_t*>(std::aligned_alloc(64, _stride * (count ? count : 1))));
    if (!_storage) {
        _count = 0; // capacity() == 0 tells the caller
    }
    _free = std::make_unique<pkt_buf*[]>(count);
    for (uint32_t i = 0; i < _count; ++i) {
        auto* b = new (_storage.get() + _stride * i) pkt_buf{};
        b->origin_shard = origin;
        _free[_free_count++] = b;
    }
}

void buffer_pool::set_origin(uint16_t origin) noexcept {
    for (uint32_t i = 0; i < _count; ++i) {
        reinterpret_cast<pkt_buf*>(_storage.get() + _stride * i)->origin_shard = origin;
    }
}

} // namespace tandem::dataplane
