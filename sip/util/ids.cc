#include "sip/util/ids.h"

#include <array>
#include <bit>
#include <cstring>
#include <sys/random.h>

namespace tandem::sip::util {

namespace {

constexpr char base32[] = "0123456789abcdefghijklmnopqrstuv";

size_t write_decimal(char* out, uint16_t v) noexcept {
    char tmp[5];
    size_t n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v = static_cast<uint16_t>(v / 10);
    } while (v != 0);
    for (size_t i = 0; i < n; ++i)
        out[i] = tmp[n - 1 - i];
    return n;
}

// The low 40 bits of `x` as eight base32 chars, char k (bits [5k, 5k+5)) in byte k (memory
// order). Byte lanes: the 5-bit groups are spread out by halving steps, then each becomes '0'+v
// or 'a'+v-10.
uint64_t base32_chars(uint64_t x) noexcept {
    constexpr uint64_t ones = 0x0101010101010101ULL;
    uint64_t t = (x & 0xfffffULL) | ((x & 0xfffff00000ULL) << 12);
    t = (t & 0x000003ff000003ffULL) | ((t & 0x000ffc00000ffc00ULL) << 6);
    t = (t & 0x001f001f001f001fULL) | ((t & 0x03e003e003e003e0ULL) << 3);
    const uint64_t letter = ((t + ones * (0x80 - 10)) >> 7) & ones; // 1 where v >= 10
    uint64_t c = t + ones * '0' + letter * ('a' - 10 - '0');
    if constexpr (std::endian::native == std::endian::big) c = __builtin_bswap64(c);
    return c;
}

// base32 char -> its 5-bit value, 0xff for anything else.
constexpr std::array<uint8_t, 256> k_base32_value = [] {
    std::array<uint8_t, 256> t{};
    t.fill(0xff);
    for (uint8_t i = 0; i < 32; ++i)
        t[static_cast<unsigned char>(base32[i])] = i;
    return t;
}();

// The inverse of base32_at for its first `n` (13..24) chars: char i holds bits [5i, 5i+5) of
// hi:lo; the first 12 fill lo's bits 0-59, char 12 straddles the halves, the rest fill hi.
// False when a byte is outside the alphabet.
bool decode_base32(const char* text, size_t n, digest128& bits) noexcept {
    const auto* r = reinterpret_cast<const unsigned char*>(text);
    uint64_t lo = 0, hi = 0;
    unsigned bad = 0;
    for (size_t i = 0; i < 12; ++i) {
        const uint8_t c = k_base32_value[r[i]];
        bad |= c;
        lo |= uint64_t{c} << (5 * i);
    }
    const uint8_t mid = k_base32_value[r[12]];
    bad |= mid;
    lo |= uint64_t{mid} << 60;
    hi = uint64_t{mid} >> 4;
    for (size_t i = 13; i < n; ++i) {
        const uint8_t c = k_base32_value[r[i]];
        bad |= c;
        hi |= uint64_t{c} << (5 * i - 64);
    }
    if (bad & 0xe0) return false; // a byte outside the alphabet (0xff) has high bits set
    bits = {lo, hi};
    return true;
}

bool is_base32(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'v');
}

// Parses `<decimal shard>-<random_chars base32>` exactly; the decimal has no leading zero.
std::optional<uint16_t> parse_shard_and_random(std::string_view s) noexcept {
    size_t i = 0;
    uint32_t shard = 0;
    while (i < s.size() && i < 6 && s[i] >= '0' && s[i] <= '9') {
        shard = shard * 10 + static_cast<uint32_t>(s[i] - '0');
        ++i;
    }
    if (i == 0 || i > 5 || shard > 65535 || (i > 1 && s[0] == '0')) return std::nullopt;
    if (i >= s.size() || s[i] != '-') return std::nullopt;
    std::string_view rest = s.substr(i + 1);
    if (rest.size() != id_generator::random_chars) return std::nullopt;
    for (char c : rest)
        if (!is_base32(c)) return std::nullopt;
    return static_cast<uint16_t>(shard);
}

bool fill_random(void* out, size_t n) noexcept {
    auto p = static_cast<uint8_t*>(out);
    size_t got = 0;
    for (int tries = 0; got < n && tries < 16; ++tries) {
        const ssize_t r = getrandom(p + got, n - got, 0);
        if (r > 0) got += static_cast<size_t>(r);
    }
    return got == n;
}

} // namespace

std::optional<id_generator> id_generator::from_os_entropy(uint16_t shard) noexcept {
    const auto key = random_hash_key();
    if (!key) return std::nullopt;
    return id_generator(shard, *key);
}

std::optional<hash_key> random_hash_key() noexcept {
    uint64_t k[2];
    if (!fill_random(k, sizeof k)) return std::nullopt;
    return hash_key{k[0], k[1]};
}

id_generator::id_generator(uint16_t shard, const hash_key& key) noexcept
    : _key(key), _shard(shard) {
    std::memcpy(_branch_head, branch_prefix.data(), branch_prefix.size());
    size_t n = branch_prefix.size();
    n += write_decimal(_branch_head + n, shard);
    _branch_head[n++] = '-';
    _branch_head_len = static_cast<uint8_t>(n);
    n = write_decimal(_call_id_head, shard);
    _call_id_head[n++] = '-';
    _call_id_head_len = static_cast<uint8_t>(n);
}

template <size_t N>
digest128 id_generator::base32_at(char* out, uint64_t counter) const noexcept {
    static_assert(N == random_chars || N == tag_chars);
    // One SipHash-2-4-128 output (128 bits, 5 bits per char, up to 24 chars) over the counter's
    // next value; the 128-bit variant is keyed apart from next64()'s 64-bit one.
    siphash24 h(_key, true);
    h.add_u64(counter + 1);
    const digest128 d = h.finish128();
    // Char i is bits [5i, 5i+5) of hi:lo: eight chars (40 bits) at a time, then the 4 chars of
    // a 20-char draw as one 4-byte store (N is a constant: no loop, no byte copies).
    const uint64_t c0 = base32_chars(d.lo), c1 = base32_chars(d.lo >> 40 | d.hi << 24);
    std::memcpy(out, &c0, 8);
    std::memcpy(out + 8, &c1, 8);
    if constexpr (N == 20) {
        const auto c2 = static_cast<uint32_t>(base32_chars(d.hi >> 16));
        std::memcpy(out + 16, &c2, 4);
    }
    return d;
}

void id_generator::random_base32(char* out, size_t n) noexcept {
    keep_spare(n == tag_chars ? base32_at<tag_chars>(out, _counter)
                              : base32_at<random_chars>(out, _counter),
               n);
    ++_counter;
}

size_t id_generator::branch_at(char* buf, size_t cap, uint64_t counter,
                               digest128* d) const noexcept {
    // The head was formatted once; it is copied as 24 bytes (a fixed-size copy, no call), which
    // fits since every branch is longer: the random chars then overwrite the copy's tail.
    static_assert(sizeof(_branch_head) == 24 && branch_prefix.size() + 2 + random_chars > 24);
    const size_t head = _branch_head_len;
    const size_t n = head + random_chars;
    if (n > cap) return 0;
    std::memcpy(buf, _branch_head, sizeof(_branch_head));
    const digest128 bits = base32_at<random_chars>(buf + head, counter);
    if (d != nullptr) *d = bits;
    return n;
}

size_t id_generator::make_branch(char* buf, size_t cap) noexcept {
    digest128 d;
    const size_t n = branch_at(buf, cap, _counter, &d);
    if (n != 0) {
        ++_counter;
        keep_spare(d, random_chars);
    }
    return n;
}

size_t id_generator::make_branch_at(char* buf, size_t cap, uint64_t counter) const noexcept {
    return branch_at(buf, cap, counter);
}

size_t id_generator::make_call_id(char* buf, size_t cap) noexcept {
    // As branch_at: the head is copied as 8 bytes (the random chars overwrite its tail).
    static_assert(sizeof(_call_id_head) == 8 && call_id_suffix.size() == 7);
    const size_t head = _call_id_head_len;
    const size_t n = head + random_chars + call_id_suffix.size();
    if (n > cap) return 0;
    std::memcpy(buf, _call_id_head, sizeof(_call_id_head));
    random_base32(buf + head, random_chars);
    std::memcpy(buf + head + random_chars, call_id_suffix.data(), call_id_suffix.size());
    return n;
}

size_t id_generator::make_tag(char* buf, size_t cap) noexcept {
    if (cap < tag_chars) return 0;
    random_base32(buf, tag_chars);
    return tag_chars;
}

std::optional<uint16_t> id_generator::shard_of_branch(std::string_view branch) noexcept {
    if (branch.substr(0, branch_prefix.size()) != branch_prefix) return std::nullopt;
    return parse_shard_and_random(branch.substr(branch_prefix.size()));
}

bool id_generator::branch_bits(std::string_view branch, uint16_t& shard, digest128& bits) noexcept {
    const size_t pre = branch_prefix.size();
    // Prefix, 1-5 shard digits, '-', exactly random_chars chars.
    static_assert(branch_prefix.size() == 11);
    if (branch.size() < pre + 2 + random_chars || branch.size() > pre + 6 + random_chars)
        return false;
    // The prefix as two overlapping loads (bytes 0-7 and 3-10), not a memcmp call.
    uint64_t head, want_head;
    std::memcpy(&head, branch.data(), 8);
    std::memcpy(&want_head, branch_prefix.data(), 8);
    uint64_t tail, want_tail;
    std::memcpy(&tail, branch.data() + 3, 8);
    std::memcpy(&want_tail, branch_prefix.data() + 3, 8);
    if (((head ^ want_head) | (tail ^ want_tail)) != 0) return false;
    const size_t digits = branch.size() - pre - 1 - random_chars;
    const char* p = branch.data() + pre;
    if (p[digits] != '-' || (digits > 1 && p[0] == '0')) return false;
    uint32_t v = 0;
    for (size_t i = 0; i < digits; ++i) {
        if (p[i] < '0' || p[i] > '9') return false;
        v = v * 10 + static_cast<uint32_t>(p[i] - '0');
    }
    if (v > 65535) return false;
    if (!decode_base32(p + digits + 1, random_chars, bits)) return false;
    shard = static_cast<uint16_t>(v);
    return true;
}

bool id_generator::tag_bits(std::string_view tag, digest128& bits) noexcept {
    return tag.size() == tag_chars && decode_base32(tag.data(), tag_chars, bits);
}

std::optional<uint16_t> id_generator::shard_of_call_id(std::string_view call_id) noexcept {
    if (call_id.size() <= call_id_suffix.size() ||
        call_id.substr(call_id.size() - call_id_suffix.size()) != call_id_suffix)
        return std::nullopt;
    return parse_shard_and_random(call_id.substr(0, call_id.size() - call_id_suffix.size()));
}

} // namespace tandem::sip::util
