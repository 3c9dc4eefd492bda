#include "sip/b2b/msg_store.h"

#include <sys/mman.h>

#include <cassert>
#include <new>

namespace tandem::sip::b2b {

msg_store::msg_store(const uint32_t (&counts)[3]) {
    for (int c = 0; c < 3; ++c) {
        _mapped[c] = size_t(counts[c]) * class_bytes[c];
        if (_mapped[c] == 0) continue;
        // NORESERVE: pages are touched (and counted in RSS) only once a buffer is used.
        void* p = mmap(nullptr, _mapped[c], PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        _base[c] = static_cast<char*>(p);
        _meta[c].resize(counts[c]);
        _free[c].reserve(counts[c]);
        for (uint32_t i = counts[c]; i > 0; --i)
            _free[c].push_back(i - 1);
    }
}

msg_store::~msg_store() {
    for (int c = 0; c < 3; ++c) {
        if (_base[c] != nullptr) munmap(_base[c], _mapped[c]);
    }
}

uint64_t msg_store::try_alloc(size_t need) noexcept {
    for (uint32_t c = 0; c < 3; ++c) {
        if (need > class_bytes[c] || _free[c].empty()) continue;
        uint32_t i = _free[c].back();
        _free[c].pop_back();
        _meta[c][i] = meta{0, 1, _meta[c][i].generation + 1};
        ++_in_use;
        return (uint64_t(c) << 32) | i;
    }
    return npos;
}

uint64_t msg_store::alloc(size_t need) noexcept {
    const uint64_t h = try_alloc(need);
    if (h == npos) ++_exhausted;
    return h;
}

void msg_store::unref(uint64_t h) noexcept {
    meta& m = _meta[cls(h)][idx(h)];
    // A release without a reference means two owners think they hold the last one: the buffer
    // would be reused while one of them still sends it.
    assert(m.refs > 0);
    if (m.refs == 0) {
        ++_bad_releases;
        return;
    }
    if (--m.refs == 0) {
        _free[cls(h)].push_back(idx(h));
        --_in_use;
    }
}

} // namespace tandem::sip::b2b
