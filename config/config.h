#pragma once
// The configuration schema: plain structs that every layer may read. Loaded and validated by
// config/loader.h from TOML; nothing here depends on a TOML library.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

namespace tandem::config {

enum class transport : uint8_t { udp, tcp, tls };

[[nodiscard]] std::string_view to_string(transport t) noexcept;

/// One socket address in the form `transport:ip:port` (`udp:127.0.0.1:5060`,
/// `udp:[::1]:5060`). `storage` holds the resolved sockaddr_in or sockaddr_in6.
struct listen_address {
    transport proto = transport::udp;
    std::string host; // the literal IP, without brackets
    uint16_t port = 0;
    sockaddr_storage storage{};
    socklen_t storage_len = 0;

    [[nodiscard]] int family() const noexcept { return storage.ss_family; }
    [[nodiscard]] bool is_loopback() const noexcept;
    /// `udp:127.0.0.1:5060` or `udp:[::1]:5060`.
    [[nodiscard]] std::string to_string() const;
};

struct sip_section {
    std::vector<listen_address> listen;
    /// RFC 3261 s17 timers, in milliseconds.
    uint32_t t1_ms = 500;
    uint32_t t2_ms = 4000;
    uint32_t t4_ms = 5000;
    /// Timer C: how long a B-leg INVITE waits for its final response after its last provisional.
    uint32_t timer_c_ms = 181000;
    /// What Tandem calls itself in Server/User-Agent headers.
    std::string user_agent = "Tandem";
};

struct api_section {
    std::string host = "127.0.0.1";
    uint16_t port = 8080;
    /// Bearer token. Empty: the API refuses to listen on any non-loopback address.
    std::string token;
};

enum class backend_kind : uint8_t { socket, dpdk };
enum class poll_mode : uint8_t { wait, busy };

struct dataplane_section {
    backend_kind backend = backend_kind::socket;
    /// Shards: threads under the socket backend, lcores under DPDK.
    uint32_t workers = 1;
    /// Socket backend: sleep in epoll when idle (`wait`) or spin (`busy`).
    poll_mode poll = poll_mode::wait;
    /// The shard's timer tick: how often timers run, and the longest an idle socket-backend
    /// shard sleeps. SIP timers start at T1 = 500 ms, so 10 ms of lateness is nothing to them,
    /// while a 1 ms tick cost an idle shard a thousand wake-ups a second.
    uint32_t idle_timeout_us = 10000;
    uint32_t burst = 32;
    /// Packets a shard may hand to another through its ring before drops are counted.
    uint32_t ring_size = 4096;
    /// CPUs to pin shard threads to (socket backend); empty: not pinned.
    std::vector<uint32_t> cpus;
    /// Write what each shard sends and receives to pcap files in this folder; empty: off.
    std::string capture_dir;
};

struct dpdk_section {
    std::vector<std::string> eal_args;
    /// Our IPv4 address on the port with its prefix length, `198.18.0.2/24`.
    std::string address;
    in_addr ipv4{};
    uint8_t prefix_len = 0;
    /// Next hop for destinations outside the prefix; empty: none.
    std::string gateway;
    in_addr gateway_ipv4{};
    uint16_t port_id = 0;
    uint32_t mbufs = 8191;
    uint32_t mbuf_cache = 256;
    uint32_t rx_desc = 1024;
    uint32_t tx_desc = 1024;
    uint16_t mtu = 1500;
};

struct scenario_section {
    std::string file = "config/scenarios/default.tdm";
};

struct routing_section {
    /// Where the built-in default scenario bridges calls.
    std::string default_target = "sip:127.0.0.1:5070";
    /// Bridge to the A-leg's Request-URI instead of default_target.
    bool use_request_uri = false;
};

struct policy_section {
    /// Folder of header pass-through policies (`*.toml`).
    std::string dir = "config/policies";
    std::string default_policy = "default";
};

struct limits_section {
    uint32_t max_calls = 100000;
    /// New calls per second admitted; 0: unlimited.
    uint32_t max_cps = 0;
    /// Per-shard table sizes are derived from max_calls unless set.
    uint32_t max_transactions = 0;
    uint32_t max_dialogs = 0;
    /// Seconds a 503 for a full table asks the peer to wait.
    uint32_t retry_after_s = 5;
    /// No answer from the callee within this time: CANCEL it and answer the caller 480.
    /// 0: no limit (the transaction's own 64*T1 still ends a call that gets no response).
    uint32_t ring_timeout_s = 120;
};

struct log_section {
    /// trace, debug, info, warn, error, off.
    std::string level = "info";
};

struct config {
    /// Where this configuration came from (a path, or `<embedded default>`).
    std::string source;
    sip_section sip;
    api_section api;
    dataplane_section dataplane;
    dpdk_section dpdk;
    scenario_section scenario;
    routing_section routing;
    policy_section policy;
    limits_section limits;
    log_section log;
};

} // namespace tandem::config
