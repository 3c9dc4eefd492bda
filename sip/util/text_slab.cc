#include "sip/util/text_slab.h"

#include <sys/mman.h>

#include <cassert>
#include <cstring>
#include <new>

namespace tandem::sip::util {

text_slab::text_slab(size_t reserve_bytes, uint32_t max_block) {
    if (max_block > 65535) max_block = 65535;
    _classes = block_for(max_block) / granule;
    if (_classes > max_classes) _classes = max_classes;
    if (_classes == 0) _classes = 1;
    if (reserve_bytes > UINT32_MAX) reserve_bytes = UINT32_MAX;
    _reserved = reserve_bytes / granule * granule;
    for (auto& f : _free)
        f = npos;
    if (_reserved == 0) return;
    // NORESERVE: address space only; pages count in RSS once a block is carved from them.
    void* p = mmap(nullptr, _reserved, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    _base = static_cast<char*>(p);
}

text_slab::~text_slab() {
    if (_base != nullptr) munmap(_base, _reserved);
}

uint32_t text_slab::alloc(size_t need, uint32_t& size) noexcept {
    if (need == 0) need = 1;
    const uint32_t c = static_cast<uint32_t>((need + granule - 1) / granule) - 1;
    if (c >= _classes) return npos;
    // The exact class first, then fresh memory, then any larger free block.
    for (uint32_t k = c; k < _classes; ++k) {
        if (_free[k] != npos) {
            const uint32_t off = _free[k];
            std::memcpy(&_free[k], _base + off, sizeof(uint32_t));
            size = (k + 1) * granule;
            _used += size;
            return off;
        }
        if (k == c && _top + (c + 1) * granule <= _reserved) {
            const auto off = static_cast<uint32_t>(_top);
            size = (c + 1) * granule;
            _top += size;
            _used += size;
            return off;
        }
    }
    return npos;
}

void text_slab::free(uint32_t offset, uint32_t size) noexcept {
    assert(size >= granule && size % granule == 0 && offset + size <= _top);
    const uint32_t c = size / granule - 1;
    std::memcpy(_base + offset, &_free[c], sizeof(uint32_t));
    _free[c] = offset;
    _used -= size;
}

} // namespace tandem::sip::util
