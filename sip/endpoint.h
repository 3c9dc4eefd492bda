#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tandem::sip {

/// A transport address (IPv4 or IPv6 + UDP/TCP port), trivially copyable, 20 bytes, no
/// allocation. The shard and the SIP layers exchange these; nothing here touches sockets.
struct endpoint {
    enum class family_t : uint8_t { none = 0, ipv4 = 4, ipv6 = 6 };

    /// Network byte order. IPv4 uses the first 4 bytes.
    std::array<uint8_t, 16> addr{};
    /// Host byte order.
    uint16_t port = 0;
    family_t family = family_t::none;

    [[nodiscard]] static endpoint v4(uint32_t addr_be, uint16_t port_host) noexcept {
        endpoint e;
        e.family = family_t::ipv4;
        std::memcpy(e.addr.data(), &addr_be, 4);
        e.port = port_host;
        return e;
    }
    [[nodiscard]] static endpoint v6(const uint8_t (&addr16)[16], uint16_t port_host) noexcept {
        endpoint e;
        e.family = family_t::ipv6;
        std::memcpy(e.addr.data(), addr16, 16);
        e.port = port_host;
        return e;
    }
    [[nodiscard]] uint32_t v4_be() const noexcept {
        uint32_t a;
        std::memcpy(&a, addr.data(), 4);
        return a;
    }
    [[nodiscard]] bool valid() const noexcept { return family != family_t::none; }

    /// Parses `1.2.3.4`, `::1` or `[::1]` plus a port. Returns false on anything else.
    [[nodiscard]] static bool from_ip(std::string_view ip, uint16_t port_host,
                                      endpoint& out) noexcept;
    /// Writes `1.2.3.4:5060` or `[::1]:5060` into buf; returns the length (0 if cap is short).
    size_t format(char* buf, size_t cap) const noexcept;
    /// Writes only the address (`1.2.3.4` or `::1`, no brackets); returns the length.
    size_t format_ip(char* buf, size_t cap) const noexcept;

    friend bool operator==(const endpoint& a, const endpoint& b) noexcept {
        return a.family == b.family && a.port == b.port &&
               std::memcmp(a.addr.data(), b.addr.data(), a.family == family_t::ipv4 ? 4 : 16) == 0;
    }
};

} // namespace tandem::sip
