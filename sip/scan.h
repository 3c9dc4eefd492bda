#pragma once

// Byte scanning kernels for the parser. Each kernel has a scalar twin that defines its result;
// the SIMD versions (SSE2, always present on x86-64, and SSSE3/AVX2, chosen at run time with
// __builtin_cpu_supports, so the build never needs -march=native) must return exactly the same.
//
// Over-read bound: NONE. Every kernel reads only [p, p+len): the vector loops stop at the last
// whole block inside the range and the tail is finished by the scalar loop (span: by one last
// block that ends at p+len and overlaps the one before), so a message may end right before an
// unmapped page (tests/unit/sip_scan_test.cc checks this with a guard page). The parser's
// header-name lookup (sip/header_id.h) reads a fixed window past a line start only when the
// message has that many bytes left.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tandem::sip::scan {

namespace detail {
/// have_avx2(), set once at static initialisation; read-only afterwards. The block kernels below
/// test it inline, so the parser's per-block call goes straight to the kernel.
extern const bool cpu_avx2;
} // namespace detail

/// The same for the first n <= 64 bytes only (bits n..63 clear); the scalar twin of eol_mask64.
[[nodiscard]] uint64_t eol_mask_scalar(const char* p, size_t n) noexcept;
[[nodiscard]] uint64_t eol_mask64_sse2(const char* p) noexcept;
/// Only call when `have_avx2()`.
[[nodiscard]] uint64_t eol_mask64_avx2(const char* p) noexcept;
/// Bit i set when p[i] is CR or LF, for exactly 64 bytes at p (dispatches to AVX2 or SSE2).
[[nodiscard]] inline uint64_t eol_mask64(const char* p) noexcept {
    return detail::cpu_avx2 ? eol_mask64_avx2(p) : eol_mask64_sse2(p);
}
/// Like eol_mask_scalar (n <= 64, reads only n bytes): the bytes copied into a zeroed 64-byte
/// block on the stack, which eol_mask64 classifies.
[[nodiscard]] uint64_t eol_mask_partial(const char* p, size_t n) noexcept;

/// Finds the CR and LF bytes of [p, p+len) in increasing order. It classifies one 64-byte block
/// at a time into a bit mask (one vector pass per block; the last, partial block in scalar), so
/// a message's lines cost one pass over its header bytes, not one kernel call per line. Reads
/// only [p, p+len). One object per parse; not shared between threads.
class eol_index {
public:
    eol_index(const char* p, size_t len) noexcept : _p(p), _len(len) {}

    /// Index of the first CR or LF at or after `from`, or `len` when there is none.
    [[nodiscard]] size_t next(size_t from) noexcept {
        while (from < _len) {
            size_t block = from >> 6;
            if (block != _block) {
                _block = block;
                size_t base = block << 6;
                _mask = base + 64 <= _len ? eol_mask64(_p + base)
                                          : eol_mask_partial(_p + base, _len - base);
            }
            uint64_t m = _mask & (~uint64_t{0} << (from & 63));
            if (m != 0) return (block << 6) + static_cast<size_t>(__builtin_ctzll(m));
            from = (block + 1) << 6;
        }
        return _len;
    }

private:
    const char* _p;
    size_t _len;
    size_t _block = ~size_t{0};
    uint64_t _mask = 0;
};

/// The same for the first n <= 64 bytes only (bits n..63 clear); the scalar twin of
/// delim_mask64.
[[nodiscard]] uint64_t delim_mask_scalar(const char* p, size_t n) noexcept;
[[nodiscard]] uint64_t delim_mask64_sse2(const char* p) noexcept;
/// Only call when `have_avx2()`.
[[nodiscard]] uint64_t delim_mask64_avx2(const char* p) noexcept;
/// Bit i set when p[i] is a list delimiter (',' '"' '<' '>' '\\', as find_list_delim), for exactly
/// 64 bytes at p (dispatches to AVX2 or SSE2).
[[nodiscard]] inline uint64_t delim_mask64(const char* p) noexcept {
    return detail::cpu_avx2 ? delim_mask64_avx2(p) : delim_mask64_sse2(p);
}
/// Like delim_mask_scalar (n <= 64, reads only n bytes): the bytes copied into a zeroed 64-byte
/// block on the stack, which delim_mask64 classifies.
[[nodiscard]] uint64_t delim_mask_partial(const char* p, size_t n) noexcept;

/// The structural index of one message: its CR/LF bytes (as eol_index) and its list delimiters
/// (',' '"' '<' '>' '\\'), each as one 64-bit mask per 64-byte block (one vector pass per block;
/// the last, partial block in scalar). The CR/LF mask of the block in use is kept; delimiter
/// masks are classified where asked for, and a delim_walk keeps the one it walks: the parser
/// asks for them only in list values, and a cache here would be two more values its header
/// loop carries from line to line. The parser finds line ends and list separators by walking
/// set bits instead of bytes. Reads only [p, p+len). One object per parse; not shared between
/// threads.
class structural_index {
public:
    structural_index(const char* p, size_t len) noexcept : _p(p), _len(len) {}

    /// Index of the first CR or LF at or after `from`, or `len` when there is none.
    [[nodiscard]] __attribute__((always_inline)) size_t next_eol(size_t from) noexcept {
        while (from < _len) {
            const size_t block = from >> 6;
            if (block != _eol_block) load_eol(block);
            const uint64_t m = _eol >> (from & 63);
            if (m != 0) return from + static_cast<size_t>(__builtin_ctzll(m));
            from = (block + 1) << 6;
        }
        return _len;
    }

    /// Index of the first list delimiter in [from, end), or `end` when there is none; `end` must
    /// be <= len. Classifies only the blocks that [from, end) touches.
    [[nodiscard]] __attribute__((always_inline)) size_t next_delim(size_t from,
                                                                   size_t end) const noexcept {
        while (from < end) {
            const size_t block = from >> 6;
            const uint64_t m = delim_mask(block) >> (from & 63);
            if (m != 0) {
                const size_t at = from + static_cast<size_t>(__builtin_ctzll(m));
                return at < end ? at : end;
            }
            from = (block + 1) << 6;
        }
        return end;
    }

    /// The list-delimiter mask of 64-byte block `block` (bit i: byte 64 * block + i); `block`
    /// must start inside the range (64 * block < len).
    [[nodiscard]] __attribute__((always_inline)) uint64_t delim_mask(size_t block) const noexcept {
        return delim_mask_at(block << 6);
    }
    /// The list-delimiter mask of the 64 bytes at `base` (bit i: byte base + i; bits past the
    /// range clear); `base` < len, any alignment.
    [[nodiscard]] __attribute__((always_inline)) uint64_t
    delim_mask_at(size_t base) const noexcept {
        return base + 64 <= _len ? delim_mask64(_p + base)
                                 : delim_mask_partial(_p + base, _len - base);
    }

private:
    __attribute__((always_inline)) void load_eol(size_t block) noexcept {
        _eol_block = block;
        const size_t base = block << 6;
        _eol = base + 64 <= _len ? eol_mask64(_p + base) : eol_mask_partial(_p + base, _len - base);
    }

    const char* _p;
    size_t _len;
    size_t _eol_block = ~size_t{0};
    uint64_t _eol = 0;
};

/// A set of ASCII bytes for the class-run kernel, as a nibble table: bit h of rows[c & 15] is set
/// when the byte c = h * 16 + (c & 15) is in the set (h < 8). Bytes >= 0x80 are never in a set.
struct byte_set {
    alignas(16) uint8_t rows[16] = {};

    [[nodiscard]] constexpr bool contains(unsigned char c) const noexcept {
        return c < 0x80 && ((rows[c & 15] >> (c >> 4)) & 1) != 0;
    }
};

/// The set of the bytes c < 0x80 for which in(c) is true.
template <class Pred>
[[nodiscard]] constexpr byte_set make_byte_set(Pred in) noexcept {
    byte_set s;
    for (unsigned c = 0; c < 0x80; ++c) {
        if (in(c)) s.rows[c & 15] = static_cast<uint8_t>(s.rows[c & 15] | (1u << (c >> 4)));
    }
    return s;
}

/// The scalar twin that defines `span`'s result (one byte a step).
[[nodiscard]] size_t span_scalar(const char* p, size_t len, const byte_set& s) noexcept;
/// SSSE3 (two PSHUFB nibble lookups per 16 bytes). Only call when `have_ssse3()`.
[[nodiscard]] size_t span_ssse3(const char* p, size_t len, const byte_set& s) noexcept;
/// True when this CPU runs the SSSE3 kernel (and `span` uses it).
[[nodiscard]] bool have_ssse3() noexcept;

namespace detail {
/// have_ssse3(), set once at static initialisation; read-only afterwards.
extern const bool cpu_ssse3;
} // namespace detail

/// Length of the run of bytes in `s` that starts at p: the index of the first byte of
/// [p, p+len) not in `s`, or `len`. Reads only [p, p+len): 16-byte blocks inside the range, the
/// last one overlapping the one before, and under 16 bytes the scalar twin. Any thread.
[[nodiscard]] inline size_t span(const char* p, size_t len, const byte_set& s) noexcept {
    return detail::cpu_ssse3 ? span_ssse3(p, len, s) : span_scalar(p, len, s);
}

/// A token (RFC 3261 s25.1) against a lower-case literal of letters, digits and "+-.",
/// case-insensitively. On token bytes `| 0x20` folds exactly A-Z and maps no other token byte
/// onto a letter, digit or "+-." (those come only from control bytes; '_' goes to 0x7f), so one
/// test a byte is the whole compare.
[[nodiscard]] inline bool token_is(std::string_view token,
                                   std::string_view lower_literal) noexcept {
    if (token.size() != lower_literal.size()) return false;
    for (size_t i = 0; i < token.size(); ++i)
        if ((static_cast<unsigned char>(token[i]) | 0x20u) !=
            static_cast<unsigned char>(lower_literal[i]))
            return false;
    return true;
}

/// Walks the list delimiters of [from, end) of a structural_index in increasing order, clearing
/// one mask bit per step instead of searching again from each position. `end` <= the index's
/// len. Same answers as next_delim: next() == sx.next_delim(last + 1, end). Its masks are of
/// 64-byte windows from where it starts (not of the aligned blocks): a list value of up to 64
/// bytes is one kernel call wherever it lies.
class delim_walk {
public:
    __attribute__((always_inline))
    delim_walk(const structural_index& sx, size_t from, size_t end) noexcept
        : _sx(sx), _end(end), _base(end) {
        if (from < end) load(from);
    }

    /// The next delimiter after the previous one (or at/after the seek point), or `end`.
    [[nodiscard]] __attribute__((always_inline)) size_t next() noexcept {
        while (_bits == 0) {
            if (_base + 64 >= _end) return _end;
            load(_base + 64);
        }
        const size_t at = _base + static_cast<size_t>(__builtin_ctzll(_bits));
        _bits &= _bits - 1;
        return at < _end ? at : _end;
    }

    /// Continue at `from`: delimiters before it are skipped.
    __attribute__((always_inline)) void seek(size_t from) noexcept {
        if (from >= _end) {
            _bits = 0;
            _base = _end;
        } else if (from - _base < 64) {
            _bits &= ~uint64_t{0} << (from - _base);
        } else {
            load(from);
        }
    }

private:
    __attribute__((always_inline)) void load(size_t base) noexcept {
        _base = base;
        _bits = _sx.delim_mask_at(base);
    }

    const structural_index& _sx;
    size_t _end;
    size_t _base; // the window's first byte (`end` when there is none)
    uint64_t _bits = 0;
};

/// Index of the first CR or LF in [p, p+len), or `len` when there is none. Any thread.
[[nodiscard]] size_t find_eol(const char* p, size_t len) noexcept;

/// Index of the first byte of [p, p+len) that ends or structures a list element: ',' '"' '<'
/// '>' '\\', or `len` when there is none. Any thread.
[[nodiscard]] size_t find_list_delim(const char* p, size_t len) noexcept;

/// True when [p, p+len) holds a CR or LF (same answer as find_eol(p, len) != len), for short
/// strings that rarely hold one (builder values): no position, so whole blocks and one
/// overlapping last block instead of a scalar tail. Any thread.
[[nodiscard]] bool has_eol(const char* p, size_t len) noexcept;
/// Its scalar twin (byte loop), a word-at-a-time version (portable) and the SSE2 one.
[[nodiscard]] bool has_eol_scalar(const char* p, size_t len) noexcept;
[[nodiscard]] bool has_eol_swar(const char* p, size_t len) noexcept;
[[nodiscard]] bool has_eol_sse2(const char* p, size_t len) noexcept;

/// The implementations, exposed for the differential test and the benchmark.
[[nodiscard]] size_t find_eol_scalar(const char* p, size_t len) noexcept;
[[nodiscard]] size_t find_eol_sse2(const char* p, size_t len) noexcept;
/// Only call when `have_avx2()`.
[[nodiscard]] size_t find_eol_avx2(const char* p, size_t len) noexcept;
[[nodiscard]] size_t find_list_delim_scalar(const char* p, size_t len) noexcept;
[[nodiscard]] size_t find_list_delim_sse2(const char* p, size_t len) noexcept;
[[nodiscard]] size_t find_list_delim_avx2(const char* p, size_t len) noexcept;

/// True when this CPU runs the AVX2 kernels (and `find_eol` uses them).
[[nodiscard]] bool have_avx2() noexcept;

} // namespace tandem::sip::scan
