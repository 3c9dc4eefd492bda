#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tandem::sip::util {

/// A 128-bit secret key for the keyed hashes below. Each shard draws its own from
/// getrandom() at start (see `ids.h`), so that a peer cannot craft colliding keys.
struct hash_key {
    uint64_t k0 = 0;
    uint64_t k1 = 0;
};

/// 128-bit digest (two 64-bit halves).
struct digest128 {
    uint64_t lo = 0;
    uint64_t hi = 0;
    friend bool operator==(const digest128&, const digest128&) = default;
};

/// Streaming SipHash-C-D (Aumasson and Bernstein), written from the paper's description.
/// `C` compression rounds and `D` finalisation rounds: SipHash-1-3 for hash tables,
/// SipHash-2-4 for the identifier generator. `finish64()` gives the standard 64-bit output,
/// `finish128()` the 128-bit output variant. No allocation; any thread (no shared state).
template <int C, int D>
class siphash_stream {
public:
    explicit siphash_stream(const hash_key& key, bool wide = false) noexcept
        : _v0(key.k0 ^ 0x736f6d6570736575ULL), _v1(key.k1 ^ 0x646f72616e646f6dULL),
          _v2(key.k0 ^ 0x6c7967656e657261ULL), _v3(key.k1 ^ 0x7465646279746573ULL), _wide(wide) {
        if (wide) _v1 ^= 0xee;
    }

    /// Absorbs `n` bytes.
    void add(const void* data, size_t n) noexcept {
        if (n == 0) return; // `data` may be null then
        auto p = static_cast<const uint8_t*>(data);
        _len += n;
        if (_pending_n != 0) {
            const size_t take = n < 8 - _pending_n ? n : 8 - _pending_n;
            std::memcpy(_buf + _pending_n, p, take);
            _pending_n += static_cast<unsigned>(take);
            p += take;
            n -= take;
            if (_pending_n < 8) return;
            block(load(_buf));
            _pending_n = 0;
        }
        while (n >= 8) {
            block(load(p));
            p += 8;
            n -= 8;
        }
        if (n != 0) {
            std::memcpy(_buf, p, n);
            _pending_n = static_cast<unsigned>(n);
        }
    }
    void add(std::string_view s) noexcept { add(s.data(), s.size()); }

    /// Structured input for keys. Each call first pads any pending bytes of `add` to a block
    /// with zeros, then absorbs whole 8-byte blocks straight from registers and the source, so
    /// that keys built from several fields avoid byte-wise buffering. A field is its length
    /// block followed by its zero-padded bytes, so ("ab","c") and ("a","bc") differ.
    void add_u64(uint64_t v) noexcept {
        align();
        _len += 8;
        block(v);
    }
    void add_u32(uint32_t v) noexcept { add_u64(v); }
    void add_field(std::string_view s) noexcept {
        align();
        auto p = reinterpret_cast<const uint8_t*>(s.data());
        size_t n = s.size();
        _len += 8 + ((n + 7) & ~size_t{7});
        block(n);
        while (n >= 8) {
            block(load(p));
            p += 8;
            n -= 8;
        }
        if (n != 0) block(load_partial(p, n));
    }

    /// A field's zero-padded bytes without its length block, for keys that absorb the lengths
    /// of all their fields first, packed into one `add_u64` block: that block then says where
    /// each field ends, so the input stays injective with one block where there were several.
    void add_padded(std::string_view s) noexcept {
        align();
        auto p = reinterpret_cast<const uint8_t*>(s.data());
        size_t n = s.size();
        _len += (n + 7) & ~size_t{7};
        while (n >= 8) {
            block(load(p));
            p += 8;
            n -= 8;
        }
        if (n != 0) block(load_partial(p, n));
    }

    /// 64-bit output. Use one `finish*` call per stream (state is consumed).
    [[nodiscard]] uint64_t finish64() noexcept {
        last_block();
        _v2 ^= _wide ? 0xee : 0xff;
        for (int i = 0; i < D; ++i)
            round();
        return _v0 ^ _v1 ^ _v2 ^ _v3;
    }
    /// 128-bit output; only valid on a stream constructed with `wide = true`.
    [[nodiscard]] digest128 finish128() noexcept {
        digest128 out;
        out.lo = finish64();
        _v1 ^= 0xdd;
        for (int i = 0; i < D; ++i)
            round();
        out.hi = _v0 ^ _v1 ^ _v2 ^ _v3;
        return out;
    }

private:
    static uint64_t byteswap64(uint64_t v) noexcept {
        v = ((v & 0x00ff00ff00ff00ffULL) << 8) | ((v >> 8) & 0x00ff00ff00ff00ffULL);
        v = ((v & 0x0000ffff0000ffffULL) << 16) | ((v >> 16) & 0x0000ffff0000ffffULL);
        return (v << 32) | (v >> 32);
    }
    void round() noexcept {
        _v0 += _v1;
        _v1 = std::rotl(_v1, 13);
        _v1 ^= _v0;
        _v0 = std::rotl(_v0, 32);
        _v2 += _v3;
        _v3 = std::rotl(_v3, 16);
        _v3 ^= _v2;
        _v0 += _v3;
        _v3 = std::rotl(_v3, 21);
        _v3 ^= _v0;
        _v2 += _v1;
        _v1 = std::rotl(_v1, 17);
        _v1 ^= _v2;
        _v2 = std::rotl(_v2, 32);
    }
    void block(uint64_t m) noexcept {
        _v3 ^= m;
        for (int i = 0; i < C; ++i)
            round();
        _v0 ^= m;
    }
    // 1..7 bytes at p, little-endian, without reading past p + n.
    static uint64_t load_partial(const uint8_t* p, size_t n) noexcept {
        if (n >= 4) {
            uint32_t lo, hi;
            std::memcpy(&lo, p, 4);
            std::memcpy(&hi, p + n - 4, 4);
            return uint64_t{lo} | (uint64_t{hi} << (8 * (n - 4)));
        }
        uint64_t x = p[0];
        if (n > 1) x |= uint64_t{p[1]} << 8;
        if (n > 2) x |= uint64_t{p[2]} << 16;
        return x;
    }
    void align() noexcept {
        if (_pending_n == 0) return;
        _len += 8 - _pending_n;
        uint64_t tail = 0;
        for (unsigned i = 0; i < _pending_n; ++i)
            tail |= uint64_t{_buf[i]} << (8 * i);
        block(tail);
        _pending_n = 0;
    }
    static uint64_t load(const uint8_t* p) noexcept {
        uint64_t m;
        std::memcpy(&m, p, 8);
        if constexpr (std::endian::native == std::endian::big) m = byteswap64(m);
        return m;
    }
    void last_block() noexcept {
        uint64_t tail = 0;
        for (unsigned i = 0; i < _pending_n; ++i)
            tail |= uint64_t{_buf[i]} << (8 * i);
        block(tail | (uint64_t{_len & 0xff} << 56));
        _pending_n = 0;
    }

    uint64_t _v0, _v1, _v2, _v3;
    uint8_t _buf[8] = {};
    uint64_t _len = 0;
    unsigned _pending_n = 0;
    bool _wide;
};

using siphash13 = siphash_stream<1, 3>;
using siphash24 = siphash_stream<2, 4>;

/// One-shot SipHash-2-4, 64-bit output.
[[nodiscard]] inline uint64_t siphash24_64(const hash_key& key, const void* data,
                                           size_t n) noexcept {
    siphash24 h(key);
    h.add(data, n);
    return h.finish64();
}

/// One-shot SipHash-1-3, 64-bit output.
[[nodiscard]] inline uint64_t siphash13_64(const hash_key& key, std::string_view s) noexcept {
    siphash13 h(key);
    h.add(s);
    return h.finish64();
}

} // namespace tandem::sip::util
