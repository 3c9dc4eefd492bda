#pragma once
// Steering: which shard owns a SIP datagram, from a cheap scan of the start line, the top Via
// branch and the Call-ID. No SIP parser: the scan reads only the header section, byte by byte,
// and never past `len` (no padding needed; tested against a guard page).
//
// Minted identifiers are sip::util::id_generator's (the shard number inside):
//   branch   `z9hG4bK-tnd<shard>-<20 base32 chars>`
//   Call-ID  `<shard>-<20 base32 chars>@tandem`

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tandem::dataplane {

/// What the scan found. Views point into the scanned buffer.
struct steer_info {
    /// The start line is a status line (`SIP/2.0 ...`).
    bool is_response = false;
    /// Shard number from a Tandem-minted top Via branch, or -1.
    int32_t branch_shard = -1;
    /// Shard number from a Tandem-minted Call-ID, or -1.
    int32_t call_id_shard = -1;
    /// The top Via's branch parameter value (empty when absent).
    std::string_view branch;
    /// The Call-ID value (empty when absent).
    std::string_view call_id;
};

/// Scans the header section of `data[0, len)`. Header names are case-insensitive and the compact
/// forms `v` and `i` count; only the first Via header's first via-parm is looked at. Stops at the
/// blank line ending the headers or at `len`, whichever comes first. Any thread; no allocation.
[[nodiscard]] steer_info scan_steering(const uint8_t* data, size_t len) noexcept;

/// Shard number of a branch id_generator minted, or -1 (foreign or malformed).
[[nodiscard]] int32_t minted_branch_shard(std::string_view branch) noexcept;
/// Shard number of a Call-ID id_generator minted, or -1 (foreign or malformed).
[[nodiscard]] int32_t minted_call_id_shard(std::string_view call_id) noexcept;
/// A stable hash of a foreign Call-ID (FNV-1a, 32 bits), the same on every shard and run.
[[nodiscard]] uint32_t call_id_hash(std::string_view call_id) noexcept;

/// The owning shard in [0, shard_count): a response goes by its minted top Via branch; then a
/// minted Call-ID; then the Call-ID's hash. A minted number >= shard_count is ignored (a
/// restart with fewer shards). Without a Call-ID (not SIP, or malformed) returns `fallback`.
[[nodiscard]] uint32_t owner_shard(const steer_info& info, uint32_t shard_count,
                                   uint32_t fallback) noexcept;

} // namespace tandem::dataplane
