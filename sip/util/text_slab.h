#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem::sip::util {

/// Variable-length text blocks for per-object strings (a dialog's Call-ID, tags, URIs, route
/// set and remote target), so that an object costs the text it holds, not a worst-case slice.
/// Blocks come in classes of `granule` bytes (32, 64, ... up to `max_block`); a freed block
/// goes to its class's LIFO free list and is handed out again before fresh memory is used.
///
/// Memory is one anonymous NORESERVE mapping reserved at construction (`reserve_bytes`, address
/// space only) and touched as blocks are first carved from it, so resident memory follows the
/// text in use at the high-water mark. When the fresh part is used up, a request takes a free
/// block of a larger class; `alloc` fails (npos) only when neither exists. Never allocates
/// after construction. Per shard; not thread-safe.
class text_slab {
public:
    static constexpr uint32_t granule = 32;
    static constexpr uint32_t npos = UINT32_MAX;

    /// Blocks of at most `max_block` bytes (rounded up to a granule, at most 65535 rounded
    /// down) from a reservation of `reserve_bytes` (at most 4 GiB). Throws std::bad_alloc when
    /// the mapping fails (construction time only).
    text_slab(size_t reserve_bytes, uint32_t max_block);
    ~text_slab();
    text_slab(const text_slab&) = delete;
    text_slab& operator=(const text_slab&) = delete;

    /// The block size a request of `need` bytes gets (a multiple of `granule`).
    [[nodiscard]] static uint32_t block_for(size_t need) noexcept {
        return static_cast<uint32_t>((need + granule - 1) / granule * granule);
    }

    /// A block of at least `need` bytes (1..max_block). Returns its offset and stores its size
    /// (pass it back to `free`) in `size`; npos when `need` is out of range or nothing is free.
    [[nodiscard]] uint32_t alloc(size_t need, uint32_t& size) noexcept;
    /// Returns a block `alloc` handed out, with the size it reported.
    void free(uint32_t offset, uint32_t size) noexcept;

    [[nodiscard]] char* at(uint32_t offset) noexcept { return _base + offset; }
    [[nodiscard]] uint32_t offset_of(const char* p) const noexcept {
        return static_cast<uint32_t>(p - _base);
    }

    /// Bytes carved from the reservation so far (the most this slab has touched).
    [[nodiscard]] size_t carved_bytes() const noexcept { return _top; }
    /// Bytes in blocks handed out and not freed.
    [[nodiscard]] size_t used_bytes() const noexcept { return _used; }
    [[nodiscard]] size_t reserved_bytes() const noexcept { return _reserved; }

private:
    static constexpr uint32_t max_classes = 65535 / granule;

    char* _base = nullptr;
    size_t _reserved = 0;
    size_t _top = 0;
    size_t _used = 0;
    uint32_t _classes = 0;
    uint32_t _free[max_classes] = {}; // per class: offset of the first free block, or npos
};

} // namespace tandem::sip::util
