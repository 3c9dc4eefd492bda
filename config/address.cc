#include <arpa/inet.h>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "config/config.h"
#include "config/loader.h"

namespace tandem::config {

std::string_view to_string(transport t) noexcept {
    switch (t) {
    case transport::udp:
        return "udp";
    case transport::tcp:
        return "tcp";
    case transport::tls:
        return "tls";
    }
    return "?";
}

bool listen_address::is_loopback() const noexcept {
    if (storage.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (storage.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return false;
}

std::string listen_address::to_string() const {
    bool v6 = storage.ss_family == AF_INET6;
    return fmt::format("{}:{}{}{}:{}", tandem::config::to_string(proto), v6 ? "[" : "", host,
                       v6 ? "]" : "", port);
}

namespace {

uint16_t parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value == 0 ||
        value > 65535) {
        throw std::invalid_argument(fmt::format("bad port '{}' (1-65535)", text));
    }
    return static_cast<uint16_t>(value);
}

// Splits `ip:port` / `[ip6]:port`; fills a sockaddr.
void split_host_port(std::string_view text, std::string& host, uint16_t& port,
                     sockaddr_storage* storage, socklen_t* storage_len) {
    std::string_view ip;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            throw std::invalid_argument(
                fmt::format("bad address '{}' (expected [ipv6]:port)", text));
        }
        ip = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            throw std::invalid_argument(fmt::format("bad address '{}' (expected ip:port)", text));
        }
        ip = text.substr(0, colon);
        port_text = text.substr(0, colon).find(':') != std::string_view::npos
                        ? std::string_view{} // a bare IPv6 address needs brackets
                        : text.substr(colon + 1);
        if (port_text.empty()) {
            throw std::invalid_argument(
                fmt::format("bad address '{}' (IPv6 addresses need brackets: [::1]:5060)", text));
        }
    }
    port = parse_port(port_text);
    host.assign(ip);
    sockaddr_storage ss{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof(sockaddr_in6);
    } else {
        throw std::invalid_argument(fmt::format("bad IP address '{}' (a literal IPv4 or IPv6 "
                                                "address is needed, not a name)",
                                                host));
    }
    if (storage != nullptr) *storage = ss;
    if (storage_len != nullptr) *storage_len = len;
}

} // namespace

listen_address parse_listen_address(std::string_view text) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        throw std::invalid_argument(
            fmt::format("bad listen address '{}' (expected transport:ip:port, "
                        "e.g. udp:127.0.0.1:5060)",
                        text));
    }
    listen_address out;
    std::string_view proto = text.substr(0, colon);
    if (proto == "udp") {
        out.proto = transport::udp;
    } else if (proto == "tcp" || proto == "tls") {
        throw std::invalid_argument(
            fmt::format("transport '{}' in '{}' is not supported yet (udp only)", proto, text));
    } else {
        throw std::invalid_argument(
            fmt::format("unknown transport '{}' in '{}' (expected udp)", proto, text));
    }
    split_host_port(text.substr(colon + 1), out.host, out.port, &out.storage, &out.storage_len);
    return out;
}

void parse_host_port(std::string_view text, std::string& host, uint16_t& port) {
    split_host_port(text, host, port, nullptr, nullptr);
}

} // namespace tandem::config
