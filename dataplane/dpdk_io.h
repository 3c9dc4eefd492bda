#pragma once
// The DPDK poll-mode backend and its minimal host stack (Ethernet, ARP, IPv4 with fragment
// reassembly and fragmentation, UDP, ICMP echo). Built only with libdpdk; the only place besides
// runtime.cc that includes rte_*.h.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "dataplane/io.h"
#include "dataplane/spsc_ring.h"
#include "dataplane/status.h"

struct rte_mempool;

namespace tandem::dataplane::dpdk {

/// Initialises EAL with `args` (argv[0] is supplied). Once per process: later calls succeed
/// without doing anything. Returns EAL's failure as a status.
[[nodiscard]] status eal_init(const std::vector<std::string>& args);

/// IPv4 next hop -> MAC, shared by the shards of a port. Entries are seqlocked: a shard that
/// learns an address writes it (a writer that finds an entry busy gives up; ARP repeats),
/// readers retry a torn read. No locks, no allocation.
class arp_table {
public:
    static constexpr uint32_t size = 256;
    /// Any shard: records `ip_be` at `mac` (6 bytes).
    void learn(uint32_t ip_be, const uint8_t* mac) noexcept;
    /// Any shard: copies the MAC of `ip_be` into `mac`; false when unknown.
    [[nodiscard]] bool lookup(uint32_t ip_be, uint8_t* mac) const noexcept;

private:
    struct alignas(cache_line) entry {
        std::atomic<uint32_t> seq{0};
        std::atomic<uint32_t> ip{0};
        std::atomic<uint64_t> mac{0};
    };
    entry _entries[size];
};

/// Per-port settings, from `[dpdk]` and `sip.listen` (or set directly by tests).
struct port_options {
    uint16_t port_id = 0;
    /// Our address and prefix, network byte order.
    uint32_t ipv4_be = 0;
    uint8_t prefix_len = 24;
    /// Next hop outside the prefix (0: none, such packets are dropped).
    uint32_t gateway_be = 0;
    uint16_t mtu = 1500;
    uint32_t mbufs = 8191;
    uint32_t mbuf_cache = 256;
    uint32_t rx_desc = 1024;
    uint32_t tx_desc = 1024;
    uint32_t burst = 32;
    /// UDP ports we serve; index = listen_index. Other ports are dropped (rx_not_for_us).
    std::vector<uint16_t> udp_ports;
    /// Folder for `shard-<queue>.pcapng` captures of every frame each queue receives and
    /// sends (rte_pcapng); empty: off.
    std::string capture_dir;
};

/// Builds port options from the configuration.
[[nodiscard]] port_options options_from(const config::config& cfg);

struct port_state; // pools, ARP table, MAC, offload flags: shared by the port's shard_io's

/// One Ethernet port with one RX and one TX queue per shard.
class port {
public:
    port();
    ~port();
    port(const port&) = delete;
    port& operator=(const port&) = delete;

    /// Creates the mbuf pools and configures the port and `queues` queue pairs (RSS over them
    /// where the port supports it; checksum offloads where it has them). Does not start it.
    [[nodiscard]] status open(const port_options& options, uint16_t queues);
    [[nodiscard]] status open(const config::config& cfg, uint16_t queues) {
        return open(options_from(cfg), queues);
    }
    /// Starts the port (after every make_io).
    [[nodiscard]] status start();
    void stop() noexcept;
    /// Stops (if started) and closes the port and frees the pools: after every shard_io is gone.
    void close() noexcept;

    /// The shard_io for queue `queue`, to be used by one shard only.
    [[nodiscard]] std::unique_ptr<shard_io> make_io(uint16_t queue);

    /// The pool received packets come from (tests build input packets from it).
    [[nodiscard]] rte_mempool* rx_pool() const noexcept;
    /// Our MAC address (6 bytes).
    [[nodiscard]] const uint8_t* mac() const noexcept;
    [[nodiscard]] arp_table& arp() noexcept;

private:
    std::unique_ptr<port_state> _state;
    bool _configured = false;
    bool _started = false;
};

} // namespace tandem::dataplane::dpdk
