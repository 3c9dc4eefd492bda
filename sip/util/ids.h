#pragma once

#include "sip/util/siphash.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace tandem::sip::util {

/// Mints the identifiers Tandem puts on the wire, with the owning shard inside so that replies
/// and in-dialog requests steer to their shard without a table (architecture page, "Steer"):
///
///   Via branch  `z9hG4bK-tnd<shard>-<20 chars>`   (RFC 3261 magic cookie first)
///   Call-ID     `<shard>-<20 chars>@tandem`
///   tag         `<16 chars>`
///
/// `<shard>` is decimal, 0..65535. The random chars are base32 (`0-9a-v`, 5 bits each: 100 bits
/// for branches and Call-IDs, 80 for tags) from a keyed PRF: SipHash-2-4 (its 128-bit output
/// for identifiers, the 64-bit one for next64) under a 128-bit per-shard secret key, over a
/// 64-bit counter. The key comes from getrandom() once at start
/// (`from_os_entropy`), so outputs cannot be predicted from earlier ones; the counter makes a
/// repeat within one generator impossible before 2^64 draws. One generator per shard; not
/// thread-safe. Writers never allocate: they fill a caller buffer and return the length, or 0
/// if `cap` is too small.
class id_generator {
public:
    static constexpr std::string_view branch_prefix = "z9hG4bK-tnd";
    static constexpr std::string_view call_id_suffix = "@tandem";
    static constexpr size_t random_chars = 20;
    static constexpr size_t tag_chars = 16;
    /// Upper bounds of the lengths, for sizing buffers.
    static constexpr size_t max_branch = 11 + 5 + 1 + random_chars;
    static constexpr size_t max_call_id = 5 + 1 + random_chars + 7;
    static constexpr size_t max_tag = tag_chars;

    /// A generator with an explicit key (tests, replays). Use `from_os_entropy` in production.
    id_generator(uint16_t shard, const hash_key& key) noexcept;

    /// Seeds the key from getrandom(2). Call once per shard at start (it may block briefly
    /// early in boot until the kernel pool is ready). Returns nullopt if getrandom fails.
    [[nodiscard]] static std::optional<id_generator> from_os_entropy(uint16_t shard) noexcept;

    size_t make_branch(char* buf, size_t cap) noexcept;
    /// The generator's position: `make_branch_at(buf, cap, counter())` called now or later
    /// writes the branch the next `make_branch` will write, so a sender can keep 8 bytes
    /// instead of a branch (or a whole message) to repeat a request byte for byte.
    [[nodiscard]] uint64_t counter() const noexcept { return _counter; }
    size_t make_branch_at(char* buf, size_t cap, uint64_t counter) const noexcept;
    size_t make_call_id(char* buf, size_t cap) noexcept;
    size_t make_tag(char* buf, size_t cap) noexcept;
    /// The bits the last make_branch / make_call_id / make_tag draw left unused, in the low
    /// bits (28 after a branch or Call-ID, 48 after a tag; 0 before any draw): PRF output
    /// independent of the id's chars, for a value drawn along with an id (an initial CSeq)
    /// without another SipHash.
    [[nodiscard]] uint64_t spare() const noexcept { return _spare; }
    /// The random bits of the id the last make_branch / make_call_id / make_tag wrote, exactly
    /// as `branch_bits` / `tag_bits` decode them from its text: a caller that keys a table by
    /// them can hand them over with the id instead of having them decoded again.
    [[nodiscard]] const digest128& last_bits() const noexcept { return _last; }
    /// 64 unpredictable bits (also used to derive other per-shard keys, initial CSeqs).
    [[nodiscard]] uint64_t next64() noexcept { return siphash24_64(_key, &++_counter, 8); }

    [[nodiscard]] uint16_t shard() const noexcept { return _shard; }

    /// The shard number inside a branch this format produced, or nullopt ("not ours": another
    /// node's or a client's branch, or a malformed one).
    [[nodiscard]] static std::optional<uint16_t> shard_of_branch(std::string_view branch) noexcept;
    /// The inverse of `make_branch` on its exact format: the shard and the 100 random bits of
    /// the branch (bits 0-63 in `bits.lo`, 64-99 in the low bits of `bits.hi`, the rest 0).
    /// False for any other text (case matters; a shard with a leading zero is not ours), so
    /// two branches give the same (shard, bits) only when they are the same bytes. Lets a
    /// table key Tandem's own branches by their PRF bits instead of hashing them again.
    [[nodiscard]] static bool branch_bits(std::string_view branch, uint16_t& shard,
                                          digest128& bits) noexcept;
    /// The inverse of `make_tag`: the tag's 80 random bits (bits 0-63 in `bits.lo`, 64-79 in the
    /// low bits of `bits.hi`, the rest 0). False for any other text: exactly `tag_chars` chars
    /// of the lower-case alphabet, so equal bits mean equal bytes.
    [[nodiscard]] static bool tag_bits(std::string_view tag, digest128& bits) noexcept;
    /// The shard number inside a Call-ID this format produced, or nullopt ("not ours").
    [[nodiscard]] static std::optional<uint16_t>
    shard_of_call_id(std::string_view call_id) noexcept;

private:
    // Writes `n` (random_chars or tag_chars) base32 chars from fresh PRF output.
    void random_base32(char* out, size_t n) noexcept;
    // The `N` (random_chars or tag_chars) chars `random_base32` writes when the counter is
    // `counter` (it advances it by 1). Returns the PRF output the chars came from.
    template <size_t N>
    digest128 base32_at(char* out, uint64_t counter) const noexcept;
    size_t branch_at(char* buf, size_t cap, uint64_t counter,
                     digest128* d = nullptr) const noexcept;
    // The bits of `d` above the first `n` chars' 5n, and those 5n bits.
    void keep_spare(const digest128& d, size_t n) noexcept {
        _spare = d.hi >> (5 * n - 64);
        _last = {d.lo, d.hi & ((uint64_t{1} << (5 * n - 64)) - 1)};
    }

    hash_key _key;
    uint64_t _counter = 0;
    uint64_t _spare = 0;
    digest128 _last;
    uint16_t _shard;
    // `branch_prefix`, the shard and '-', and the shard and '-' that start a Call-ID, formatted
    // once (the tails past the lengths are padding that the writers copy and overwrite).
    uint8_t _branch_head_len = 0;
    uint8_t _call_id_head_len = 0;
    char _branch_head[24] = {};
    char _call_id_head[8] = {};
};

/// `id_generator::tag_bits` with its last two answers remembered by the tag's bytes (a pure
/// function of them: an entry never goes stale). A dialog's tag comes back in every request of
/// the dialog, so most lookups find it here. One per user; not thread-safe.
class tag_bits_memo {
public:
    [[nodiscard]] bool bits(std::string_view tag, digest128& out) noexcept {
        if (tag.size() != id_generator::tag_chars) return false;
        for (const entry& e : _entries) {
            if (e.used && std::memcmp(e.text, tag.data(), id_generator::tag_chars) == 0) {
                out = e.bits;
                return true;
            }
        }
        if (!id_generator::tag_bits(tag, out)) return false;
        remember(tag, out);
        return true;
    }
    /// Records `tag_bits(tag)` (a tag this shard just minted, its bits from
    /// `id_generator::last_bits`), so that the next lookup of it needs no decoding.
    void remember(std::string_view tag, const digest128& bits) noexcept {
        if (tag.size() != id_generator::tag_chars) return;
        entry& e = _entries[_next];
        _next ^= 1;
        std::memcpy(e.text, tag.data(), id_generator::tag_chars);
        e.bits = bits;
        e.used = true;
    }

private:
    struct entry {
        digest128 bits;
        char text[id_generator::tag_chars];
        bool used = false;
    };
    entry _entries[2];
    unsigned _next = 0;
};

/// Draws a 128-bit key from getrandom(2) (for the hash tables' keyed hashes). Start-up only.
[[nodiscard]] std::optional<hash_key> random_hash_key() noexcept;

} // namespace tandem::sip::util
