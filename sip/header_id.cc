#include "sip/header_id.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <array>
#include <bit>
#include <cstring>

namespace tandem::sip {

namespace {

struct name_entry {
    std::string_view name;
    header_id id;
};

// Long names and compact forms (RFC 3261 s7.3.3, s20; RFC 3265 o/u; RFC 3515 r; RFC 3892 b;
// RFC 4028 x; RFC 3841 a/j/d; RFC 4474 y/n).
constexpr name_entry k_names[] = {
    {"Via", header_id::via},
    {"v", header_id::via},
    {"From", header_id::from},
    {"f", header_id::from},
    {"To", header_id::to},
    {"t", header_id::to},
    {"Call-ID", header_id::call_id},
    {"i", header_id::call_id},
    {"CSeq", header_id::cseq},
    {"Max-Forwards", header_id::max_forwards},
    {"Contact", header_id::contact},
    {"m", header_id::contact},
    {"Content-Length", header_id::content_length},
    {"l", header_id::content_length},
    {"Content-Type", header_id::content_type},
    {"c", header_id::content_type},
    {"Route", header_id::route},
    {"Record-Route", header_id::record_route},
    {"Allow", header_id::allow},
    {"Supported", header_id::supported},
    {"k", header_id::supported},
    {"Require", header_id::require},
    {"Proxy-Require", header_id::proxy_require},
    {"Unsupported", header_id::unsupported},
    {"RSeq", header_id::rseq},
    {"RAck", header_id::rack},
    {"Reason", header_id::reason},
    {"Refer-To", header_id::refer_to},
    {"r", header_id::refer_to},
    {"Referred-By", header_id::referred_by},
    {"b", header_id::referred_by},
    {"Replaces", header_id::replaces},
    {"Session-Expires", header_id::session_expires},
    {"x", header_id::session_expires},
    {"Min-SE", header_id::min_se},
    {"Expires", header_id::expires},
    {"Min-Expires", header_id::min_expires},
    {"P-Asserted-Identity", header_id::p_asserted_identity},
    {"P-Preferred-Identity", header_id::p_preferred_identity},
    {"Privacy", header_id::privacy},
    {"History-Info", header_id::history_info},
    {"Subject", header_id::subject},
    {"s", header_id::subject},
    {"Accept", header_id::accept},
    {"Accept-Encoding", header_id::accept_encoding},
    {"Accept-Language", header_id::accept_language},
    {"Accept-Contact", header_id::accept_contact},
    {"a", header_id::accept_contact},
    {"Reject-Contact", header_id::reject_contact},
    {"j", header_id::reject_contact},
    {"Request-Disposition", header_id::request_disposition},
    {"d", header_id::request_disposition},
    {"Identity", header_id::identity},
    {"y", header_id::identity},
    {"Identity-Info", header_id::identity_info},
    {"n", header_id::identity_info},
    {"Allow-Events", header_id::allow_events},
    {"u", header_id::allow_events},
    {"Event", header_id::event},
    {"o", header_id::event},
    {"Subscription-State", header_id::subscription_state},
    {"Content-Encoding", header_id::content_encoding},
    {"e", header_id::content_encoding},
    {"Content-Language", header_id::content_language},
    {"Content-Disposition", header_id::content_disposition},
    {"Authorization", header_id::authorization},
    {"Proxy-Authorization", header_id::proxy_authorization},
    {"WWW-Authenticate", header_id::www_authenticate},
    {"Proxy-Authenticate", header_id::proxy_authenticate},
    {"Authentication-Info", header_id::authentication_info},
    {"Date", header_id::date},
    {"User-Agent", header_id::user_agent},
    {"Server", header_id::server},
    {"Organization", header_id::organization},
    {"Priority", header_id::priority},
    {"Timestamp", header_id::timestamp},
    {"Warning", header_id::warning},
    {"Error-Info", header_id::error_info},
    {"Alert-Info", header_id::alert_info},
    {"Call-Info", header_id::call_info},
    {"In-Reply-To", header_id::in_reply_to},
    {"Reply-To", header_id::reply_to},
    {"MIME-Version", header_id::mime_version},
    {"Retry-After", header_id::retry_after},
    {"Path", header_id::path},
    {"Service-Route", header_id::service_route},
    {"SIP-ETag", header_id::sip_etag},
    {"SIP-If-Match", header_id::sip_if_match},
    {"Target-Dialog", header_id::target_dialog},
};

constexpr unsigned char lower(unsigned char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c | 0x20) : c;
}

constexpr std::array<unsigned char, 256> build_lower() {
    std::array<unsigned char, 256> t{};
    for (int c = 0; c < 256; ++c)
        t[static_cast<size_t>(c)] = lower(static_cast<unsigned char>(c));
    return t;
}
// A table, not a branch per byte: the name lookup runs once per header line.
constexpr std::array<unsigned char, 256> k_lower = build_lower();

// A perfect hash on length, first, middle and last character (case-folded), found offline for
// the names above: every name has its own slot, checked by the static_assert below, so a lookup
// is one hash, one slot, one compare.
constexpr size_t k_table_size = 512;
constexpr size_t hash(const char* s, size_t len) noexcept {
    return (len * 2u + k_lower[static_cast<unsigned char>(s[0])] * 8u +
            k_lower[static_cast<unsigned char>(s[len - 1])] * 11u +
            k_lower[static_cast<unsigned char>(s[len / 2])] * 4u) &
           (k_table_size - 1);
}

struct slot {
    uint8_t entry = 0xff; // index into k_names, 0xff empty
};

constexpr std::array<slot, k_table_size> build_table() {
    std::array<slot, k_table_size> t{};
    for (size_t i = 0; i < std::size(k_names); ++i) {
        size_t h = hash(k_names[i].name.data(), k_names[i].name.size());
        while (t[h].entry != 0xff)
            h = (h + 1) & (k_table_size - 1);
        t[h].entry = static_cast<uint8_t>(i);
    }
    return t;
}

constexpr bool hash_is_perfect() {
    std::array<bool, k_table_size> used{};
    for (const auto& e : k_names) {
        size_t h = hash(e.name.data(), e.name.size());
        if (used[h]) return false;
        used[h] = true;
    }
    return true;
}
static_assert(hash_is_perfect(), "header name hash collides: pick new multipliers");
static_assert(std::size(k_names) < 0xff);

constexpr std::array<slot, k_table_size> k_table = build_table();

constexpr std::array<std::string_view, header_id_count> build_names() {
    std::array<std::string_view, header_id_count> n{};
    for (const auto& e : k_names) {
        auto i = static_cast<size_t>(e.id);
        if (n[i].empty() || e.name.size() > 1) n[i] = e.name;
    }
    return n;
}
constexpr std::array<std::string_view, header_id_count> k_canonical = build_names();

// k_lower on 8 bytes at once: sets 0x20 in exactly the bytes 'A'..'Z' (bytes >= 0x80 and all
// others unchanged), so a word compare gives the same answer as a k_lower compare byte by byte.
inline uint64_t lower_word(uint64_t w) noexcept {
    constexpr uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    const uint64_t low7 = w & ~highs;
    const uint64_t ge_a = low7 + ones * (0x80 - 'A');     // high bit set where byte >= 'A'
    const uint64_t gt_z = low7 + ones * (0x80 - 'Z' - 1); // high bit set where byte > 'Z'
    const uint64_t upper = (ge_a ^ gt_z) & ~w & highs;
    return w | (upper >> 2);
}

// k_lower(a[i]) == b[i] for i < n, a word at a time. `b` is the canonical name lower-cased at
// compile time (k_lower_names); only [a, a+n) and [b, b+n) are read.
bool equal_nocase_words(const char* a, const char* b, size_t n) noexcept {
    if (n < 8) {
        for (size_t i = 0; i < n; ++i) {
            if (k_lower[static_cast<unsigned char>(a[i])] != static_cast<unsigned char>(b[i]))
                return false;
        }
        return true;
    }
    uint64_t x, y;
    for (size_t i = 0; i + 8 < n; i += 8) {
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        if (lower_word(x) != y) return false;
    }
    // The last (possibly overlapping) whole word: no partial loads, no read past a + n.
    std::memcpy(&x, a + n - 8, 8);
    std::memcpy(&y, b + n - 8, 8);
    return lower_word(x) == y;
}

constexpr size_t k_max_name = header_name_max;
struct lower_name {
    char bytes[k_max_name] = {};
};
constexpr std::array<lower_name, std::size(k_names)> build_lower_names() {
    std::array<lower_name, std::size(k_names)> out{};
    for (size_t i = 0; i < std::size(k_names); ++i) {
        for (size_t j = 0; j < k_names[i].name.size() && j < k_max_name; ++j)
            out[i].bytes[j] =
                static_cast<char>(lower(static_cast<unsigned char>(k_names[i].name[j])));
    }
    return out;
}
constexpr std::array<lower_name, std::size(k_names)> k_lower_names = build_lower_names();
constexpr bool names_fit() {
    for (const auto& e : k_names)
        if (e.name.size() > k_max_name) return false;
    return true;
}
static_assert(names_fit());
// lookup_header_wide's promise on arbitrary bytes (header_id.h) rests on this: under | 0x20 only
// a letter's two cases fold onto a letter, and only '-' and CR fold onto '-'.
constexpr bool names_are_letters_and_dashes() {
    for (const auto& e : k_names)
        for (char c : e.name)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) return false;
    return true;
}
static_assert(names_are_letters_and_dashes());

// k_lower_names as the words a memcpy load gives on this machine, and for each length 0..24 the
// masks that keep the first `len` bytes of three loaded words.
using detail::name_words;
constexpr uint64_t byte_in_word(unsigned char c, size_t j) noexcept {
    return static_cast<uint64_t>(c)
           << (std::endian::native == std::endian::little ? 8 * j : 56 - 8 * j);
}
constexpr std::array<name_words, std::size(k_names)> build_name_words() {
    std::array<name_words, std::size(k_names)> out{};
    for (size_t i = 0; i < std::size(k_names); ++i)
        for (size_t j = 0; j < k_max_name; ++j)
            out[i].w[j / 8] |=
                byte_in_word(static_cast<unsigned char>(k_lower_names[i].bytes[j]), j % 8);
    return out;
}
constexpr std::array<name_words, std::size(k_names)> k_name_words = build_name_words();
constexpr std::array<name_words, k_max_name + 1> build_len_masks() {
    std::array<name_words, k_max_name + 1> out{};
    for (size_t len = 0; len <= k_max_name; ++len)
        for (size_t j = 0; j < len; ++j)
            out[len].w[j / 8] |= byte_in_word(0xff, j % 8);
    return out;
}
constexpr std::array<name_words, k_max_name + 1> k_len_masks = build_len_masks();

// Per slot of detail::wide_hash: the entry's id and length next to its index, one cache line
// holds several.
using detail::wide_slot;
static_assert(detail::wide_table_size == k_table_size);
constexpr size_t wide_slot_of(size_t e) noexcept {
    const std::string_view n = k_names[e].name;
    return detail::wide_hash(k_name_words[e].w[0], lower(static_cast<unsigned char>(n.back())),
                             n.size());
}
constexpr bool wide_hash_is_perfect() {
    std::array<bool, k_table_size> used{};
    for (size_t e = 0; e < std::size(k_names); ++e) {
        if (used[wide_slot_of(e)]) return false;
        used[wide_slot_of(e)] = true;
    }
    return true;
}
static_assert(wide_hash_is_perfect(), "wide header name hash collides: pick a new multiplier");
constexpr std::array<wide_slot, k_table_size> build_wide_table() {
    std::array<wide_slot, k_table_size> t{};
    for (size_t e = 0; e < std::size(k_names); ++e)
        t[wide_slot_of(e)] = {static_cast<uint8_t>(e), static_cast<uint8_t>(k_names[e].name.size()),
                              k_names[e].id};
    return t;
}
constexpr std::array<wide_slot, k_table_size> k_wide_table = build_wide_table();
constexpr bool filled_slots_are_known() {
    for (const wide_slot& w : k_wide_table)
        if (w.len != 0 && w.id == header_id::unknown) return false;
    return true;
}
static_assert(filled_slots_are_known()); // lookup_header_wide_inline relies on it
static_assert(k_max_name == 3 * 8);
static_assert(std::size(k_names) == detail::known_name_count);

} // namespace

// Constant-initialised copies of the tables above, for lookup_header_wide_inline.
const std::array<detail::wide_slot, detail::wide_table_size> detail::k_wide_slots = k_wide_table;
const std::array<detail::name_words, detail::known_name_count> detail::k_wide_name_words =
    k_name_words;
const std::array<detail::name_words, header_name_max + 1> detail::k_wide_len_masks = k_len_masks;

header_id lookup_header_wide(const char* name, size_t len) noexcept {
    return lookup_header_wide_inline(name, len);
}

header_id lookup_header_before_colon(const char* p, size_t& name_len) noexcept {
#if defined(__SSE2__)
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
    const auto bits = [&](char c) {
        const __m128i v = _mm_set1_epi8(c);
        return static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(a, v))) |
               (static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(b, v))) << 16);
    };
    static_assert(header_name_window == 32 && header_name_max < header_name_window);
    const uint32_t colon = bits(':');
    if (colon == 0) return header_id::unknown;
    const auto k = static_cast<size_t>(__builtin_ctz(colon));
    // CR is the one byte besides '-' that folds onto '-' (see names_are_letters_and_dashes).
    if (k == 0 || (bits('\r') & ((uint32_t{1} << k) - 1)) != 0) return header_id::unknown;
#else
    size_t k = 0;
    while (k < header_name_window && p[k] != ':')
        ++k;
    if (k == 0 || k == header_name_window) return header_id::unknown;
    for (size_t i = 0; i < k; ++i)
        if (p[i] == '\r') return header_id::unknown;
#endif
    const header_id id = lookup_header_wide_inline(p, k);
    if (id != header_id::unknown) name_len = k;
    return id;
}

header_id lookup_header(const char* name, size_t len) noexcept {
    if (len == 0 || len > k_max_name) return header_id::unknown;
    uint8_t e = k_table[hash(name, len)].entry;
    if (e == 0xff) return header_id::unknown;
    const name_entry& ne = k_names[e];
    if (ne.name.size() == len && equal_nocase_words(name, k_lower_names[e].bytes, len))
        return ne.id;
    return header_id::unknown;
}

std::string_view header_name(header_id id) noexcept {
    auto i = static_cast<size_t>(id);
    return i < header_id_count ? k_canonical[i] : std::string_view{};
}

namespace {

constexpr bool is_list_id(header_id id) noexcept {
    switch (id) {
    case header_id::via:
    case header_id::contact:
    case header_id::route:
    case header_id::record_route:
    case header_id::allow:
    case header_id::supported:
    case header_id::require:
    case header_id::proxy_require:
    case header_id::unsupported:
    case header_id::reason:
    case header_id::p_asserted_identity:
    case header_id::p_preferred_identity:
    case header_id::history_info:
    case header_id::accept:
    case header_id::accept_encoding:
    case header_id::accept_language:
    case header_id::accept_contact:
    case header_id::reject_contact:
    case header_id::allow_events:
    case header_id::content_encoding:
    case header_id::content_language:
    case header_id::warning:
    case header_id::error_info:
    case header_id::alert_info:
    case header_id::call_info:
    case header_id::in_reply_to:
    case header_id::path:
    case header_id::service_route:
        return true;
    default:
        return false;
    }
}

constexpr std::array<bool, header_id_count> build_list_table() {
    std::array<bool, header_id_count> t{};
    for (size_t i = 0; i < header_id_count; ++i)
        t[i] = is_list_id(static_cast<header_id>(i));
    return t;
}

} // namespace

const std::array<bool, header_id_count> k_header_is_list = build_list_table();

} // namespace tandem::sip
