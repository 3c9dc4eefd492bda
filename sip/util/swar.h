#pragma once

// Word-at-a-time helpers for the parsers and the builder (sip/message.cc, sip/uri.cc, sip/sdp.cc,
// sip/builder.cc): plain integer arithmetic on 4- and 8-byte loads inside the given range (never
// past it), so no CPU feature is needed; the paths that depend on byte order test std::endian
// and otherwise walk bytes.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tandem::sip::swar {

/// 0x80 in each byte of `x` that is zero, 0 in the others: exact for any byte values (no carry
/// crosses a byte, and the high bit is tested on its own).
constexpr uint64_t zero_bytes(uint64_t x) noexcept {
    constexpr uint64_t low7 = 0x7f7f7f7f7f7f7f7fu;
    return ~(((x & low7) + low7) | x | low7);
}

/// True when a byte of `x` is below `n` (n <= 0x80): exact, since a byte at or above 0x80 keeps
/// its own high bit out (`& ~x`) and a borrow only starts in a byte that is below `n`.
constexpr bool has_byte_below(uint64_t x, uint8_t n) noexcept {
    constexpr uint64_t ones = 0x0101010101010101u;
    return ((x - ones * n) & ~x & ones * 0x80) != 0;
}

/// True when all `n` (>= 4) bytes at p are ASCII letters: two overlapping 4-byte loads joined
/// into one word cover 4..8 bytes, two 8-byte loads 9..16 (longer runs go eight at a time). A
/// byte test with no carry across bytes: a set high bit refuses on its own, so `x | 0x20` (the
/// letter folded to lower case) is below 0x80 there and adding 0x1f (sets the high bit from
/// 'a') or 0x05 (from '{') stays inside the byte. No byte order enters it.
inline bool all_letters(const char* p, size_t n) noexcept {
    constexpr uint64_t ones = 0x0101010101010101u;
    const auto bad = [](uint64_t x) {
        const uint64_t t = x | ones * 0x20;
        return (x | ~(t + ones * 0x1f) | (t + ones * 0x05)) & ones * 0x80;
    };
    if (n <= 8) {
        uint32_t a, b;
        std::memcpy(&a, p, 4);
        std::memcpy(&b, p + n - 4, 4);
        return bad(a | uint64_t{b} << 32) == 0;
    }
    uint64_t a, b;
    for (; n > 16; p += 8, n -= 8) {
        std::memcpy(&a, p, 8);
        if (bad(a) != 0) return false;
    }
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + n - 8, 8);
    return (bad(a) | bad(b)) == 0;
}

/// The run of at most `limit` (>= 4) decimal digits at p (before `end`), summed as it is read
/// into `n` (no overflow below 10 digits); returns its end. Bounding the walk once keeps one
/// compare a digit for the range.
inline const char* read_digits(const char* p, const char* end, size_t limit, uint32_t& n) noexcept {
    // Exactly four digits (a port, most intervals) as one word on a little-endian machine: all
    // four bytes within '0'..'9' (high nibble 3, and still 3 after adding 6), then the digits
    // combined in pairs and the pairs combined, with no carry out of a byte or a pair.
    if (std::endian::native == std::endian::little && end - p >= 4 &&
        (end - p == 4 || static_cast<unsigned>(static_cast<unsigned char>(p[4]) - '0') > 9)) {
        uint32_t w;
        std::memcpy(&w, p, 4);
        if ((w & 0xf0f0f0f0u) == 0x30303030u && ((w + 0x06060606u) & 0xf0f0f0f0u) == 0x30303030u) {
            const uint32_t d = w - 0x30303030u;                       // digit a in the lowest byte
            const uint32_t pairs = (d * 10 + (d >> 8)) & 0x00ff00ffu; // 10a + b, 10c + e
            n = (pairs * 100 + (pairs >> 16)) & 0xffffu;
            return p + 4;
        }
    }
    const char* const lim = static_cast<size_t>(end - p) > limit ? p + limit : end;
    n = 0;
    for (; p < lim; ++p) {
        const auto d = static_cast<uint32_t>(static_cast<unsigned char>(*p) - '0');
        if (d > 9) break;
        n = n * 10 + d;
    }
    return p;
}

} // namespace tandem::sip::swar
