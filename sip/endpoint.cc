#include "sip/endpoint.h"

#include <arpa/inet.h>
#include <cstdio>

namespace tandem::sip {

bool endpoint::from_ip(std::string_view ip, uint16_t port_host, endpoint& out) noexcept {
    if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    char text[INET6_ADDRSTRLEN];
    if (ip.empty() || ip.size() >= sizeof(text)) return false;
    std::memcpy(text, ip.data(), ip.size());
    text[ip.size()] = '\0';
    endpoint e;
    e.port = port_host;
    if (inet_pton(AF_INET, text, e.addr.data()) == 1) {
        e.family = family_t::ipv4;
    } else if (inet_pton(AF_INET6, text, e.addr.data()) == 1) {
        e.family = family_t::ipv6;
    } else {
        return false;
    }
    out = e;
    return true;
}

size_t endpoint::format_ip(char* buf, size_t cap) const noexcept {
    char text[INET6_ADDRSTRLEN];
    int af = family == family_t::ipv4 ? AF_INET : AF_INET6;
    if (family == family_t::none || inet_ntop(af, addr.data(), text, sizeof(text)) == nullptr) {
        return 0;
    }
    size_t n = std::strlen(text);
    if (n > cap) return 0;
    std::memcpy(buf, text, n);
    return n;
}

size_t endpoint::format(char* buf, size_t cap) const noexcept {
    char ip[INET6_ADDRSTRLEN];
    size_t n = format_ip(ip, sizeof(ip));
    if (n == 0) return 0;
    ip[n] = '\0';
    int w = family == family_t::ipv6 ? std::snprintf(buf, cap, "[%s]:%u", ip, port)
                                     : std::snprintf(buf, cap, "%s:%u", ip, port);
    return (w > 0 && static_cast<size_t>(w) < cap) ? static_cast<size_t>(w) : 0;
}

} // namespace tandem::sip
