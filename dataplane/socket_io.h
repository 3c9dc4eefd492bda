#pragma once
// The socket backend: kernel UDP over IPv4 and IPv6, one SO_REUSEPORT socket per shard per
// listen address, recvmmsg/sendmmsg in bursts, buffers from the shard's pool. The default
// backend (laptops, CI, the demo).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "config/config.h"
#include "dataplane/buffer_pool.h"
#include "dataplane/io.h"
#include "dataplane/status.h"

namespace tandem::dataplane {

/// Opens a non-blocking UDP socket bound to `addr` with SO_REUSEPORT (IPV6_V6ONLY for IPv6).
/// If `addr` has port 0 the kernel picks one; read it back with `bound_port`. Returns the fd,
/// or -1 with `error` set.
[[nodiscard]] int open_udp_socket(const sockaddr_storage& addr, socklen_t len, std::string& error);
/// The local port of a bound socket (host order), 0 on error.
[[nodiscard]] uint16_t bound_port(int fd) noexcept;
/// Converts a sockaddr_in/sockaddr_in6 to an endpoint (family none for anything else).
[[nodiscard]] sip::endpoint to_endpoint(const sockaddr_storage& ss) noexcept;
/// Converts an endpoint to a sockaddr; returns its length (0 for family none).
socklen_t to_sockaddr(const sip::endpoint& ep, sockaddr_storage& ss) noexcept;

struct socket_io_options {
    uint32_t burst = 32;
    uint32_t pool_size = 4096;
    /// Largest datagram kept; larger ones are counted (rx_truncated) and dropped.
    uint32_t buffer_size = 9216;
    /// Sleep in epoll when idle; false: `idle_wait` returns at once (busy polling).
    bool wait = true;
    /// Folder for `shard-<n>.pcap` captures; empty: off.
    std::string capture_dir;
};

class socket_io final : public shard_io {
public:
    /// Takes ownership of `fds` (one per listen address, index = listen_index; -1 where this
    /// shard has no socket for that address). `locals` are the bound addresses.
    socket_io(std::vector<int> fds, std::vector<sip::endpoint> locals,
              const socket_io_options& options);
    ~socket_io() override;

    /// Start-up errors (epoll, eventfd, pool, capture file).
    [[nodiscard]] const status& init_status() const noexcept { return _init; }

    void bind(shard_counters& counters, uint16_t shard_id) noexcept override;
    uint32_t rx_burst(pkt_buf** out, uint32_t max) noexcept override;
    uint32_t tx_burst(pkt_buf* const* pkts, uint32_t n) noexcept override;
    pkt_buf* alloc_tx() noexcept override { return _pool.alloc(); }
    void free(pkt_buf* buf) noexcept override { _pool.free(buf); }
    [[nodiscard]] bool rx_drained() const noexcept override { return _rx_drained; }
    void idle_wait(uint64_t timeout_ns) noexcept override;
    void wake() noexcept override;

    [[nodiscard]] const buffer_pool& pool() const noexcept { return _pool; }
    /// Buffers posted for the next recvmmsg (taken from the pool, not holding a packet): a
    /// received one is replaced, so that a burst sets up only as many as the last one used.
    [[nodiscard]] uint32_t rx_posted() const noexcept;

private:
    void capture(const pkt_buf& pkt, bool outgoing) noexcept;

    std::vector<int> _fds;
    std::vector<sip::endpoint> _locals;
    socket_io_options _options;
    buffer_pool _pool;
    int _epoll_fd = -1;
    int _event_fd = -1;
    uint32_t _next_socket = 0;
    bool _rx_drained = false;
    bool _rx_skip_once = false; // the last idle_wait saw no socket ready
    status _init;
    // recvmmsg/sendmmsg scratch, sized to the burst at construction; the receive side keeps its
    // buffers posted between bursts.
    struct scratch;
    std::unique_ptr<scratch> _scratch;
    void* _pcap = nullptr;        // pcap_t* (dead handle for dumping), when capturing
    void* _pcap_dumper = nullptr; // pcap_dumper_t*
};

} // namespace tandem::dataplane
