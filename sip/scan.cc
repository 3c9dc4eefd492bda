#include "sip/scan.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TANDEM_SCAN_X86 1
#else
#define TANDEM_SCAN_X86 0
#endif

namespace tandem::sip::scan {

size_t find_eol_scalar(const char* p, size_t len) noexcept {
    for (size_t i = 0; i < len; ++i) {
        if (p[i] == '\r' || p[i] == '\n') return i;
    }
    return len;
}

uint64_t eol_mask_scalar(const char* p, size_t n) noexcept {
    uint64_t m = 0;
    for (size_t i = 0; i < n && i < 64; ++i) {
        if (p[i] == '\r' || p[i] == '\n') m |= uint64_t{1} << i;
    }
    return m;
}

namespace {
inline bool is_list_delim(char c) noexcept {
    return c == ',' || c == '"' || c == '<' || c == '>' || c == '\\';
}
} // namespace

size_t find_list_delim_scalar(const char* p, size_t len) noexcept {
    for (size_t i = 0; i < len; ++i) {
        if (is_list_delim(p[i])) return i;
    }
    return len;
}

uint64_t delim_mask_scalar(const char* p, size_t n) noexcept {
    uint64_t m = 0;
    for (size_t i = 0; i < n && i < 64; ++i) {
        if (is_list_delim(p[i])) m |= uint64_t{1} << i;
    }
    return m;
}

size_t span_scalar(const char* p, size_t len, const byte_set& s) noexcept {
    for (size_t i = 0; i < len; ++i) {
        if (!s.contains(static_cast<unsigned char>(p[i]))) return i;
    }
    return len;
}

bool has_eol_scalar(const char* p, size_t len) noexcept {
    return find_eol_scalar(p, len) != len;
}

namespace {
// True when any of the 8 bytes is CR or LF: the zero-byte test on w ^ CR and w ^ LF is exact for
// "any" (its false positives only follow a true zero byte).
inline bool word_has_eol(uint64_t w) noexcept {
    constexpr uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    const uint64_t cr = w ^ (ones * '\r'), lf = w ^ (ones * '\n');
    return ((((cr - ones) & ~cr) | ((lf - ones) & ~lf)) & highs) != 0;
}
inline uint64_t load64(const char* p) noexcept {
    uint64_t w;
    __builtin_memcpy(&w, p, 8);
    return w;
}
} // namespace

bool has_eol_swar(const char* p, size_t len) noexcept {
    if (len < 8) return has_eol_scalar(p, len);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        if (word_has_eol(load64(p + i))) return true;
    }
    // The last word overlaps the one before: still inside [p, p+len).
    return i < len && word_has_eol(load64(p + len - 8));
}

#if TANDEM_SCAN_X86

bool has_eol_sse2(const char* p, size_t len) noexcept {
    if (len < 16) return has_eol_swar(p, len);
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i lf = _mm_set1_epi8('\n');
    const auto any = [&](const char* q) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
        return _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf))) != 0;
    };
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        if (any(p + i)) return true;
    }
    // The last block overlaps the one before: still inside [p, p+len).
    return i < len && any(p + len - 16);
}

bool has_eol(const char* p, size_t len) noexcept {
    return has_eol_sse2(p, len);
}

size_t find_eol_sse2(const char* p, size_t len) noexcept {
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i lf = _mm_set1_epi8('\n');
    size_t i = 0;
    // Whole 16-byte blocks inside [p, p+len) only: no over-read.
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
        if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    }
    return i + find_eol_scalar(p + i, len - i);
}

__attribute__((target("avx2"))) size_t find_eol_avx2(const char* p, size_t len) noexcept {
    const __m256i cr = _mm256_set1_epi8('\r');
    const __m256i lf = _mm256_set1_epi8('\n');
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
        unsigned mask = static_cast<unsigned>(_mm256_movemask_epi8(
            _mm256_or_si256(_mm256_cmpeq_epi8(v, cr), _mm256_cmpeq_epi8(v, lf))));
        if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
    }
    return i + find_eol_sse2(p + i, len - i);
}

uint64_t eol_mask64_sse2(const char* p) noexcept {
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i lf = _mm_set1_epi8('\n');
    uint64_t m = 0;
    for (int k = 0; k < 4; ++k) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
        auto bits = static_cast<uint32_t>(
            _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf))));
        m |= static_cast<uint64_t>(bits) << (16 * k);
    }
    return m;
}

uint64_t eol_mask_partial(const char* p, size_t n) noexcept {
    // The n bytes copied into a zeroed block (NUL is neither CR nor LF nor a delimiter): one
    // vector pass instead of a scalar tail, and still no read past p + n.
    alignas(32) char block[64] = {};
    __builtin_memcpy(block, p, n < 64 ? n : 64);
    return eol_mask64(block);
}

namespace {
// For eol_mask64_avx2: entry n is the byte, CR or LF, whose low nibble is n, and 0xff where
// there is none (no byte below 0x80 is 0xff; PSHUFB gives 0 for bytes >= 0x80, and none of
// those is 0); written once per 128-bit lane. So PSHUFB(table, v) == v holds exactly for CR and
// LF: one lookup and one compare a 32-byte half instead of two compares and an OR.
alignas(32) constexpr uint8_t k_eol_nib[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '\n', 0xff, 0xff, '\r', 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '\n', 0xff, 0xff, '\r', 0xff, 0xff};
} // namespace

__attribute__((target("avx2"))) uint64_t eol_mask64_avx2(const char* p) noexcept {
    const __m256i t = _mm256_load_si256(reinterpret_cast<const __m256i*>(k_eol_nib));
    const auto half = [&](const char* q) __attribute__((target("avx2"))) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
        return static_cast<uint32_t>(
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(t, v), v)));
    };
    return static_cast<uint64_t>(half(p)) | (static_cast<uint64_t>(half(p + 32)) << 32);
}

namespace {
inline uint32_t delim_bits16(const char* p) noexcept {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i m = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')), _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))),
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')),
                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
    return static_cast<uint32_t>(_mm_movemask_epi8(m));
}
} // namespace

uint64_t delim_mask64_sse2(const char* p) noexcept {
    uint64_t m = 0;
    for (int k = 0; k < 4; ++k)
        m |= static_cast<uint64_t>(delim_bits16(p + 16 * k)) << (16 * k);
    return m;
}

uint64_t delim_mask_partial(const char* p, size_t n) noexcept {
    alignas(32) char block[64] = {}; // as eol_mask_partial
    __builtin_memcpy(block, p, n < 64 ? n : 64);
    return delim_mask64(block);
}

namespace {
// For delim_mask64_avx2, as k_eol_nib: entry n is the delimiter among '"' ',' '>' whose low
// nibble is n (those three have different ones), 0xff where there is none, once per 128-bit
// lane. '<' and '\\' share ','s low nibble and are compared directly.
alignas(32) constexpr uint8_t k_delim_nib[32] = {
    0xff, 0xff, '"', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ',', 0xff, '>', 0xff,
    0xff, 0xff, '"', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ',', 0xff, '>', 0xff};
} // namespace

// One PSHUFB lookup and three compares a 32-byte half instead of five compares.
__attribute__((target("avx2"))) uint64_t delim_mask64_avx2(const char* p) noexcept {
    const __m256i t = _mm256_load_si256(reinterpret_cast<const __m256i*>(k_delim_nib));
    const __m256i lt = _mm256_set1_epi8('<');
    const __m256i bs = _mm256_set1_epi8('\\');
    const auto half = [&](const char* q) __attribute__((target("avx2"))) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
        const __m256i m =
            _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(t, v), v),
                            _mm256_or_si256(_mm256_cmpeq_epi8(v, lt), _mm256_cmpeq_epi8(v, bs)));
        return static_cast<uint32_t>(_mm256_movemask_epi8(m));
    };
    return static_cast<uint64_t>(half(p)) | (static_cast<uint64_t>(half(p + 32)) << 32);
}

size_t find_list_delim_sse2(const char* p, size_t len) noexcept {
    const __m128i c1 = _mm_set1_epi8(',');
    const __m128i c2 = _mm_set1_epi8('"');
    const __m128i c3 = _mm_set1_epi8('<');
    const __m128i c4 = _mm_set1_epi8('>');
    const __m128i c5 = _mm_set1_epi8('\\');
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        __m128i m =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, c1), _mm_cmpeq_epi8(v, c2)),
                         _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, c3), _mm_cmpeq_epi8(v, c4)),
                                      _mm_cmpeq_epi8(v, c5)));
        int mask = _mm_movemask_epi8(m);
        if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    }
    return i + find_list_delim_scalar(p + i, len - i);
}

__attribute__((target("avx2"))) size_t find_list_delim_avx2(const char* p, size_t len) noexcept {
    const __m256i c1 = _mm256_set1_epi8(',');
    const __m256i c2 = _mm256_set1_epi8('"');
    const __m256i c3 = _mm256_set1_epi8('<');
    const __m256i c4 = _mm256_set1_epi8('>');
    const __m256i c5 = _mm256_set1_epi8('\\');
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
        __m256i m = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(v, c1), _mm256_cmpeq_epi8(v, c2)),
            _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, c3), _mm256_cmpeq_epi8(v, c4)),
                            _mm256_cmpeq_epi8(v, c5)));
        unsigned mask = static_cast<unsigned>(_mm256_movemask_epi8(m));
        if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
    }
    return i + find_list_delim_sse2(p + i, len - i);
}

__attribute__((target("ssse3"))) size_t span_ssse3(const char* p, size_t len,
                                                   const byte_set& s) noexcept {
    if (len < 16) return span_scalar(p, len, s);
    const __m128i rows = _mm_load_si128(reinterpret_cast<const __m128i*>(s.rows));
    // 1 << h for the high nibbles 0..7; 8..15 (bytes >= 0x80) select 0: never in a set.
    const __m128i bit = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m128i nibble = _mm_set1_epi8(0x0f);
    // Bit i set when q[i] is not in the set.
    const auto outside = [&](const char* q) __attribute__((target("ssse3"))) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
        const __m128i r = _mm_shuffle_epi8(rows, _mm_and_si128(v, nibble));
        const __m128i b = _mm_shuffle_epi8(bit, _mm_and_si128(_mm_srli_epi16(v, 4), nibble));
        return static_cast<uint32_t>(
            _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(r, b), _mm_setzero_si128())));
    };
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        const uint32_t m = outside(p + i);
        if (m != 0) return i + static_cast<size_t>(__builtin_ctz(m));
    }
    if (i < len) {
        // The last block ends at p + len and overlaps bytes already known to be in the set.
        const uint32_t m = outside(p + len - 16) >> (16 - (len - i));
        if (m != 0) return i + static_cast<size_t>(__builtin_ctz(m));
    }
    return len;
}

namespace {
bool detect_avx2() noexcept {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
}
bool detect_ssse3() noexcept {
    __builtin_cpu_init();
    return __builtin_cpu_supports("ssse3") != 0;
}
} // namespace

// Decided once at static initialisation; read-only afterwards, so any thread may scan.
const bool detail::cpu_avx2 = detect_avx2();
const bool detail::cpu_ssse3 = detect_ssse3();

bool have_avx2() noexcept {
    return detail::cpu_avx2;
}

bool have_ssse3() noexcept {
    return detail::cpu_ssse3;
}

size_t find_eol(const char* p, size_t len) noexcept {
    return detail::cpu_avx2 ? find_eol_avx2(p, len) : find_eol_sse2(p, len);
}

size_t find_list_delim(const char* p, size_t len) noexcept {
    return detail::cpu_avx2 ? find_list_delim_avx2(p, len) : find_list_delim_sse2(p, len);
}

#else // portable build: the scalar twins are the only kernels

bool has_eol_sse2(const char* p, size_t len) noexcept {
    return has_eol_swar(p, len);
}
bool has_eol(const char* p, size_t len) noexcept {
    return has_eol_swar(p, len);
}

size_t find_eol_sse2(const char* p, size_t len) noexcept {
    return find_eol_scalar(p, len);
}
size_t find_eol_avx2(const char* p, size_t len) noexcept {
    return find_eol_scalar(p, len);
}
size_t find_list_delim_sse2(const char* p, size_t len) noexcept {
    return find_list_delim_scalar(p, len);
}
size_t find_list_delim_avx2(const char* p, size_t len) noexcept {
    return find_list_delim_scalar(p, len);
}
bool have_avx2() noexcept {
    return false;
}
const bool detail::cpu_avx2 = false;
const bool detail::cpu_ssse3 = false;
bool have_ssse3() noexcept {
    return false;
}
size_t span_ssse3(const char* p, size_t len, const byte_set& s) noexcept {
    return span_scalar(p, len, s);
}
size_t find_eol(const char* p, size_t len) noexcept {
    return find_eol_scalar(p, len);
}
size_t find_list_delim(const char* p, size_t len) noexcept {
    return find_list_delim_scalar(p, len);
}
uint64_t eol_mask64_sse2(const char* p) noexcept {
    return eol_mask_scalar(p, 64);
}
uint64_t eol_mask64_avx2(const char* p) noexcept {
    return eol_mask_scalar(p, 64);
}
uint64_t eol_mask_partial(const char* p, size_t n) noexcept {
    return eol_mask_scalar(p, n);
}
uint64_t delim_mask64_sse2(const char* p) noexcept {
    return delim_mask_scalar(p, 64);
}
uint64_t delim_mask64_avx2(const char* p) noexcept {
    return delim_mask_scalar(p, 64);
}
uint64_t delim_mask_partial(const char* p, size_t n) noexcept {
    return delim_mask_scalar(p, n);
}

#endif

} // namespace tandem::sip::scan
