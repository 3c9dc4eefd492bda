#pragma once
// Reference-counted buffers for the messages a shard builds and may have to send again
// (retransmissions held by transactions, the 2xx a UAS repeats until the ACK comes, the response
// skeleton of a request awaiting its answer). Three size classes in anonymous mappings, so that
// the memory a shard reserves at start is only touched as it is used. LIFO free lists keep hot
// buffers in cache. One store per shard; not thread-safe; never allocates after construction.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tandem::sip::b2b {

class msg_store {
public:
    static constexpr uint64_t npos = UINT64_MAX;
    static constexpr uint32_t class_bytes[3] = {512, 2048, 65536};

    /// `counts[i]` buffers of class_bytes[i] each.
    explicit msg_store(const uint32_t (&counts)[3]);
    ~msg_store();
    msg_store(const msg_store&) = delete;
    msg_store& operator=(const msg_store&) = delete;

    /// A buffer of at least `need` bytes with one reference, or npos when every buffer that
    /// large is in use. Its length starts at 0.
    [[nodiscard]] uint64_t alloc(size_t need) noexcept;
    /// `alloc` for a caller that falls back to a later `alloc` when this one finds no buffer:
    /// a refusal here is not counted in `exhausted()` (the fallback counts its own).
    [[nodiscard]] uint64_t try_alloc(size_t need) noexcept;
    [[nodiscard]] char* data(uint64_t h) noexcept {
        return _base[cls(h)] + size_t(idx(h)) * class_bytes[cls(h)];
    }
    [[nodiscard]] const char* data(uint64_t h) const noexcept {
        return _base[cls(h)] + size_t(idx(h)) * class_bytes[cls(h)];
    }
    [[nodiscard]] uint32_t capacity(uint64_t h) const noexcept { return class_bytes[cls(h)]; }
    [[nodiscard]] uint32_t length(uint64_t h) const noexcept {
        return _meta[cls(h)][idx(h)].length;
    }
    void set_length(uint64_t h, uint32_t len) noexcept {
        meta& m = _meta[cls(h)][idx(h)];
        m.length = len;
        ++m.generation;
    }
    /// Changes whenever the buffer is handed out again (`alloc`) or its length is set, so that
    /// (handle, generation) names one content: writers fill a buffer and then set its length.
    [[nodiscard]] uint32_t generation(uint64_t h) const noexcept {
        return _meta[cls(h)][idx(h)].generation;
    }
    void ref(uint64_t h) noexcept { ++_meta[cls(h)][idx(h)].refs; }
    /// Drops one reference; the buffer is free again when the last one goes.
    void unref(uint64_t h) noexcept;

    /// Buffers in use, all classes.
    [[nodiscard]] size_t in_use() const noexcept { return _in_use; }
    /// Allocations refused because a class was exhausted.
    [[nodiscard]] uint64_t exhausted() const noexcept { return _exhausted; }
    /// Releases of a buffer that held no reference (a bug; asserted in debug builds).
    [[nodiscard]] uint64_t bad_releases() const noexcept { return _bad_releases; }

private:
    struct meta {
        uint32_t length = 0;
        uint32_t refs = 0;
        uint32_t generation = 0;
    };
    static uint32_t cls(uint64_t h) noexcept { return static_cast<uint32_t>(h >> 32); }
    static uint32_t idx(uint64_t h) noexcept { return static_cast<uint32_t>(h); }

    char* _base[3] = {};
    size_t _mapped[3] = {};
    std::vector<meta> _meta[3];
    std::vector<uint32_t> _free[3];
    size_t _in_use = 0;
    uint64_t _exhausted = 0;
    uint64_t _bad_releases = 0;
};

} // namespace tandem::sip::b2b
