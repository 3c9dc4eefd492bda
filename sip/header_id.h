#pragma once

#include <array>
#include <cstddef>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <cstdint>
#include <string_view>

namespace tandem::sip {

/// Every header Tandem knows by name. `unknown` is any other (extension) header: it is still
/// indexed, found by name with `message::find(std::string_view)`. Values are stable (they size
/// tables in the header policy); add new ids before `count_`.
enum class header_id : uint8_t {
    unknown = 0,
    via,
    from,
    to,
    call_id,
    cseq,
    max_forwards,
    contact,
    content_length,
    content_type,
    route,
    record_route,
    allow,
    supported,
    require,
    proxy_require,
    unsupported,
    rseq,
    rack,
    reason,
    refer_to,
    referred_by,
    replaces,
    session_expires,
    min_se,
    expires,
    min_expires,
    p_asserted_identity,
    p_preferred_identity,
    privacy,
    history_info,
    subject,
    accept,
    accept_encoding,
    accept_language,
    accept_contact,
    reject_contact,
    request_disposition,
    identity,
    identity_info,
    allow_events,
    event,
    subscription_state,
    content_encoding,
    content_language,
    content_disposition,
    authorization,
    proxy_authorization,
    www_authenticate,
    proxy_authenticate,
    authentication_info,
    date,
    user_agent,
    server,
    organization,
    priority,
    timestamp,
    warning,
    error_info,
    alert_info,
    call_info,
    in_reply_to,
    reply_to,
    mime_version,
    retry_after,
    path,
    service_route,
    sip_etag,
    sip_if_match,
    target_dialog,
    count_,
};

/// Number of ids, for tables indexed by `header_id`.
inline constexpr size_t header_id_count = static_cast<size_t>(header_id::count_);

/// Identifies a header name, long or compact form (RFC 3261 s7.3.3 and extensions: i m e l f t
/// v s k c o r b u x y a j d n), ASCII case-insensitively. Never allocates; any thread.
[[nodiscard]] header_id lookup_header(const char* name, size_t len) noexcept;
[[nodiscard]] inline header_id lookup_header(std::string_view name) noexcept {
    return lookup_header(name.data(), name.size());
}

/// Longest known header name; `lookup_header_wide` reads this many bytes.
inline constexpr size_t header_name_max = 24;

/// The same answer as `lookup_header(name, len)` for a name made of token characters (RFC 3261
/// s25.1; the parser's header names are), for the parser's hot loop: it reads the whole
/// [name, name + header_name_max) range (the caller guarantees those bytes are readable; only
/// the first `len` decide) and compares three case-folded words instead of bytes. On any other
/// bytes a known id still means each byte is that name's letter in either case or '-', except
/// that a CR may stand where the name has '-' (callers that rule out CR get an exact answer).
[[nodiscard]] header_id lookup_header_wide(const char* name, size_t len) noexcept;

/// Bytes `lookup_header_before_colon` reads.
inline constexpr size_t header_name_window = 32;

/// For the parser's header lines: finds the first ':' in [p, p + header_name_window) (the caller
/// guarantees those bytes are readable) and, when the bytes before it are a known header name
/// in any letter case, returns its id and sets `name_len`; else `unknown` (the caller then scans
/// the name itself). A known id proves the name is a token that ends at the ':' (known names are
/// letters and '-', and a CR before the ':' gives `unknown`).
[[nodiscard]] header_id lookup_header_before_colon(const char* p, size_t& name_len) noexcept;

namespace detail {
// lookup_header_wide's tables (sip/header_id.cc), for the inline lookup below.
struct alignas(4) wide_slot { // four bytes: one load
    uint8_t entry = 0xff;     // index into the name table, 0xff empty
    uint8_t len = 0;
    header_id id = header_id::unknown;
};
struct name_words {
    uint64_t w[3];
};
inline constexpr size_t wide_table_size = 512;
inline constexpr size_t known_name_count = 89; // long and compact names in the table
extern const std::array<wide_slot, wide_table_size> k_wide_slots;
extern const std::array<name_words, known_name_count> k_wide_name_words;
extern const std::array<name_words, header_name_max + 1> k_wide_len_masks;

/// The slot of a name in lookup_header_wide's table: `first` is its first (up to) 8 bytes as a
/// memcpy load gives them, `| 0x20` on every byte and the bytes past the name cleared, `last`
/// its last byte `| 0x20`. One multiply on the word the compare needs anyway instead of three
/// byte loads; the multiplier was found offline so that every known name has its own slot
/// (sip/header_id.cc checks it with a static_assert). A new name that collides needs a new
/// one: random odd 64-bit multipliers, each checked for no two names in one slot, find one in
/// a few thousand tries for about 90 names in 512 slots.
[[nodiscard]] constexpr size_t wide_hash(uint64_t first, unsigned last, size_t len) noexcept {
    constexpr uint64_t mul = 0xa7eece16a4d19315u;
    return static_cast<size_t>(((first + (static_cast<uint64_t>(last) << 56 | len)) * mul) >>
                               (64 - 9));
}
static_assert(wide_table_size == size_t{1} << 9);
} // namespace detail

/// `lookup_header_wide` inlined, for the parser's hot loop: same contract and same answer.
[[nodiscard]] __attribute__((always_inline)) inline header_id
lookup_header_wide_inline(const char* name, size_t len) noexcept {
    if (len - 1 >= header_name_max) return header_id::unknown; // 0 or longer than any name
    // On token bytes `| 0x20` folds exactly A-Z to a-z and maps every other token byte to a
    // byte no other token byte maps to ('_' to 0x7f, the rest to themselves), so the hash finds
    // the slot of the name in any letter case and the word compare below is the
    // case-insensitive compare.
    constexpr uint64_t case_bits = 0x2020202020202020u;
    const detail::name_words& m = detail::k_wide_len_masks[len];
    uint64_t a;
    __builtin_memcpy(&a, name, 8);
    const uint64_t first = (a | case_bits) & m.w[0];
    const detail::wide_slot& s = detail::k_wide_slots[detail::wide_hash(
        first, static_cast<unsigned char>(name[len - 1]) | 0x20u, len)];
    if (s.len != len) return header_id::unknown; // also the empty slots (len 0)
    const detail::name_words& y = detail::k_wide_name_words[s.entry];
    uint64_t diff = first ^ y.w[0];
    if (len > 8) { // most names fit one word, nearly all the others two
        uint64_t b;
        __builtin_memcpy(&b, name + 8, 8);
        diff |= ((b | case_bits) ^ y.w[1]) & m.w[1];
        if (len > 16) {
            uint64_t c;
            __builtin_memcpy(&c, name + 16, 8);
            diff |= ((c | case_bits) ^ y.w[2]) & m.w[2];
        }
    }
    if (diff != 0) return header_id::unknown;
    // Every filled slot holds a known id (sip/header_id.cc checks it): the caller's test for
    // `unknown` folds away.
    if (s.id == header_id::unknown) __builtin_unreachable();
    return s.id;
}

/// `lookup_header_before_colon` inlined for the parser, with the line end known: `eol` is the
/// offset from p of the line's first CR or LF (any value >= header_name_window when there is
/// none in the window). Reads [p, p + header_name_window), which the caller guarantees readable.
/// Same answer as lookup_header_before_colon(p, name_len).
[[nodiscard]] __attribute__((always_inline)) inline header_id
lookup_header_in_line(const char* p, size_t eol, size_t& name_len) noexcept {
    static_assert(header_name_window == 32 && header_name_max < header_name_window);
    size_t k;
#if defined(__SSE2__)
    const __m128i colon = _mm_set1_epi8(':');
    auto bits = static_cast<uint32_t>(_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), colon)));
    if (bits == 0) {
        bits = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(
                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)), colon)))
               << 16;
        if (bits == 0) return header_id::unknown;
    }
    k = static_cast<size_t>(__builtin_ctz(bits));
#else
    k = 0;
    while (k < header_name_window && p[k] != ':')
        ++k;
    if (k == header_name_window) return header_id::unknown;
#endif
    // A CR or LF before the ':' (CR is the one byte besides '-' that folds onto '-'): unknown,
    // as lookup_header_before_colon answers. (An empty name, k == 0, is unknown to the lookup.)
    if (k >= eol) return header_id::unknown;
    const header_id id = lookup_header_wide_inline(p, k);
    if (id != header_id::unknown) name_len = k;
    return id;
}

/// The canonical long name ("Call-ID", "CSeq", ...); "" for `unknown`.
[[nodiscard]] std::string_view header_name(header_id id) noexcept;

/// Indexed by header_id: true for headers whose value is a comma-separated list that the parser
/// splits into one index slot per element. Read-only after static initialisation.
extern const std::array<bool, header_id_count> k_header_is_list;

/// True for headers whose value is a comma-separated list that the parser splits into one
/// index slot per element (Via, Contact, Route, Record-Route, Allow, Supported, Require, ...).
[[nodiscard]] inline bool header_is_list(header_id id) noexcept {
    return k_header_is_list[static_cast<size_t>(id)];
}

} // namespace tandem::sip
