#pragma once
// Per-shard counters: written by the owning shard only, read racily by control (word-atomic
// relaxed loads) and summed. No locks, no read-modify-write atomics on the hot path.

#include <atomic>
#include <cstdint>

namespace tandem::dataplane {

// clang-format off
#define TANDEM_DATAPLANE_COUNTERS(X)                                                               \
    X(rx_packets)           /* datagrams delivered by the backend */                               \
    X(rx_bytes)             /* their payload bytes */                                              \
    X(tx_packets)           /* datagrams the backend accepted */                                   \
    X(tx_bytes)                                                                                    \
    X(rx_truncated)         /* larger than a buffer: dropped */                                    \
    X(rx_malformed)         /* bad L2/L3/L4 header or checksum: dropped */                         \
    X(rx_not_for_us)        /* other address, port or protocol: dropped */                         \
    X(rx_no_buffer)         /* pool empty: receive skipped or packet dropped */                    \
    X(tx_dropped)           /* the backend refused (queue full, EAGAIN, no route) */               \
    X(tx_no_buffer)         /* alloc_tx found the pool empty */                                    \
    X(handled)              /* packets given to the handler */                                     \
    X(steered_out)          /* handed to another shard's ring */                                   \
    X(steered_in)           /* taken from other shards' rings */                                   \
    X(ring_full)            /* hand-over ring full: dropped */                                     \
    X(linearised)           /* chained mbufs copied into one buffer */                             \
    X(arp_rx)                                                                                      \
    X(arp_replies)          /* ARP replies we sent */                                              \
    X(arp_requests)         /* ARP requests we sent */                                             \
    X(arp_queue_drops)      /* waiting for ARP resolution: queue full or timed out */              \
    X(icmp_echo)            /* echo replies sent */                                                \
    X(fragments_rx)                                                                                \
    X(reassembled)                                                                                 \
    X(fragments_tx)                                                                                \
    X(commands)             /* control commands executed */                                        \
    X(snapshots)            /* quiescent points passed */                                          \
    X(loops)                /* poll-loop iterations */                                             \
    X(idle_waits)           /* sleeps in epoll_wait */                                             \
    X(busy_ns)              /* time in loop iterations that found work: a polling core's load */
// clang-format on

/// A counter with a single writer: increments are a plain load/add/store, readers see whole words.
class counter {
public:
    void add(uint64_t n = 1) noexcept {
        _value.store(_value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    [[nodiscard]] uint64_t get() const noexcept { return _value.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> _value{0};
};

/// One shard's live counters (written by that shard only).
struct shard_counters {
#define TANDEM_X(name) counter name;
    TANDEM_DATAPLANE_COUNTERS(TANDEM_X)
#undef TANDEM_X
};

/// A plain copy of counters, for reading and summing.
struct stats_snapshot {
#define TANDEM_X(name) uint64_t name = 0;
    TANDEM_DATAPLANE_COUNTERS(TANDEM_X)
#undef TANDEM_X

    /// Any thread: adds a racy but word-atomic read of `c`.
    void add(const shard_counters& c) noexcept {
#define TANDEM_X(name) name += c.name.get();
        TANDEM_DATAPLANE_COUNTERS(TANDEM_X)
#undef TANDEM_X
    }
    /// Calls f(name, value) for every counter (for the stats API and logs).
    template <class F>
    void for_each(F&& f) const {
#define TANDEM_X(name) f(#name, name);
        TANDEM_DATAPLANE_COUNTERS(TANDEM_X)
#undef TANDEM_X
    }
};

} // namespace tandem::dataplane
