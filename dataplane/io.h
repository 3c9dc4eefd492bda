#pragma once
// The backend seen from one shard: bursts of received packets in, bursts of transmit buffers
// out. A backend knows nothing of SIP; the shard knows nothing of sockets or mbufs.

#include <cstdint>
#include <ctime>

#include "dataplane/packet.h"
#include "dataplane/stats.h"

namespace tandem::dataplane {

/// One shard's I/O. Every method runs on that shard's thread except `wake`.
class shard_io {
public:
    virtual ~shard_io() = default;

    /// Called once by the shard before the first burst: where to count and our shard number
    /// (stored in `pkt_buf::origin_shard`).
    virtual void bind(shard_counters& counters, uint16_t shard_id) noexcept {
        _counters = &counters;
        _shard_id = shard_id;
    }
    /// Up to `max` received datagrams (payload only, addresses filled). Returns how many.
    virtual uint32_t rx_burst(pkt_buf** out, uint32_t max) noexcept = 0;
    /// Takes ownership of all `n` buffers; returns how many went out (the rest are freed).
    virtual uint32_t tx_burst(pkt_buf* const* pkts, uint32_t n) noexcept = 0;
    /// A transmit buffer, or null when the pool is empty.
    virtual pkt_buf* alloc_tx() noexcept = 0;
    /// Frees a buffer this backend instance allocated (or, if `frees_anywhere`, any instance).
    virtual void free(pkt_buf* buf) noexcept = 0;
    /// True if `free` accepts buffers of other shards' instances (DPDK mempools); otherwise such
    /// buffers travel back to their origin shard first.
    [[nodiscard]] virtual bool frees_anywhere() const noexcept { return false; }
    /// The shard clock in nanoseconds.
    [[nodiscard]] virtual uint64_t now_ns() const noexcept {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
    }
    /// True when the last `rx_burst` left every receive queue empty (each socket returned fewer
    /// datagrams than it was offered). A sleeping backend whose readiness is level-triggered may
    /// then `idle_wait` at once instead of spending one more receive call to learn that nothing
    /// is left: anything that arrived since wakes the wait. Polling backends keep the default.
    [[nodiscard]] virtual bool rx_drained() const noexcept { return false; }
    /// Sleeps until input may be ready, `wake` is called, or `timeout_ns` passes. Busy-polling
    /// backends return at once.
    virtual void idle_wait(uint64_t timeout_ns) noexcept { (void)timeout_ns; }
    /// Any thread: ends a current or the next `idle_wait` early.
    virtual void wake() noexcept {}
    /// Backend timers (ARP retries, fragment table expiry), once per loop iteration.
    virtual void housekeeping(uint64_t now_ns) noexcept { (void)now_ns; }

protected:
    shard_counters* _counters = nullptr;
    uint16_t _shard_id = 0;
};

} // namespace tandem::dataplane
