#pragma once
// The interface between a shard and the engine that processes SIP on it (the B2BUA). The shard
// owns packets, buffers, time and queues; the handler sees one received datagram at a time and
// sends by filling transmit buffers the shard lends it.

#include <cstdint>
#include <functional>
#include <memory>

#include "dataplane/packet.h"
#include "dataplane/stats.h"
#include "sip/endpoint.h"

namespace tandem::dataplane {

class shard_io;

/// One received datagram, as the handler sees it. `data` is valid only during `on_packet`.
struct rx_packet {
    const uint8_t* data = nullptr;
    uint32_t len = 0;
    sip::endpoint source;
    sip::endpoint local;
    /// Index into `sip.listen` of the socket or address it arrived on.
    uint16_t listen_index = 0;
};

/// A control-plane command for one shard, carried by value on that shard's command ring.
struct command {
    enum class kind_t : uint8_t {
        /// The shard's loop returns after this iteration.
        stop,
        /// Stop taking new work (the handler decides what that means); passed to on_command.
        drain,
        /// Handler-defined (`code`/`arg`, e.g. terminate call `arg`); passed to on_command.
        handler,
    };
    kind_t kind = kind_t::handler;
    uint32_t code = 0;
    uint64_t arg = 0;
};

/// What a handler may ask of the shard it runs on. Every method is for the owning shard's
/// thread only; none blocks, allocates or makes a syscall (transmit is flushed in bursts).
class shard_context {
public:
    shard_context(const shard_context&) = delete;
    shard_context& operator=(const shard_context&) = delete;

    [[nodiscard]] uint32_t id() const noexcept { return _id; }
    [[nodiscard]] uint32_t shard_count() const noexcept { return _count; }
    /// The shard clock in nanoseconds (TSC-derived under DPDK, CLOCK_MONOTONIC otherwise), read
    /// once per loop iteration.
    [[nodiscard]] uint64_t now_ns() const noexcept { return _now_ns; }
    /// True once a drain command has arrived.
    [[nodiscard]] bool draining() const noexcept { return _draining; }

    /// A transmit buffer from this shard's pool with `cap` writable bytes at `data`, or null when
    /// the pool is empty (counted as tx_no_buffer). Hand it to `send` or `release_tx`.
    [[nodiscard]] pkt_buf* alloc_tx() noexcept;
    /// Queues `buf` (with `len` set) for `dst` from the listen address `listen_index`; takes
    /// ownership. Flushed when a burst fills and at the end of each loop iteration. Returns false
    /// (and frees the buffer, counted) when it cannot be sent (bad address family, no socket).
    bool send(pkt_buf* buf, const sip::endpoint& dst, uint16_t listen_index) noexcept;
    /// Returns an unsent transmit buffer to the pool.
    void release_tx(pkt_buf* buf) noexcept;
    /// Sends what is queued now instead of at the end of the iteration.
    void flush_tx() noexcept;

    /// This shard's counters (written by this shard; others may read them racily).
    [[nodiscard]] shard_counters& counters() noexcept { return _counters; }
    [[nodiscard]] const shard_counters& counters() const noexcept { return _counters; }

protected:
    shard_context(uint32_t id, uint32_t count, uint32_t burst, std::unique_ptr<shard_io> io);
    ~shard_context();

    uint32_t _id;
    uint32_t _count;
    uint32_t _burst;
    uint64_t _now_ns = 0;
    bool _draining = false;
    std::unique_ptr<shard_io> _io;
    std::unique_ptr<pkt_buf*[]> _tx;
    uint32_t _tx_count = 0;
    shard_counters _counters;
};

/// The engine on one shard. Created on (or for) that shard by a `handler_factory` and called
/// only from its thread, so it needs no locks. Must not block, and should not allocate.
class packet_handler {
public:
    virtual ~packet_handler() = default;
    /// One datagram this shard owns (steering already moved it here).
    virtual void on_packet(shard_context& ctx, const rx_packet& pkt) = 0;
    /// Run timers. Called at most once every `dataplane.idle_timeout_us` (the tick) with the
    /// shard clock, in any loop iteration once a tick has passed, and by a sleeping shard once
    /// the tick after `next_timer_ns()` has passed.
    virtual void on_tick(shard_context& ctx, uint64_t now_ns) = 0;
    /// The earliest shard-clock time at which `on_tick` may have a timer to run;
    /// `no_timer_ns` when none is armed. An idle shard sleeps until a tick after it (timers are
    /// late by at most one tick either way), so that a timer due while traffic flows runs in
    /// the iteration of a packet instead of costing a wake-up of its own. The default: every
    /// tick.
    [[nodiscard]] virtual uint64_t next_timer_ns() const noexcept { return 0; }
    static constexpr uint64_t no_timer_ns = ~uint64_t{0};
    /// Right after the shard reported its quiescent point to the epoch registry, between bursts
    /// (and after a sleep, during which the shard was offline): drop the snapshot pointers read
    /// earlier and load the current ones (`snapshot_publisher::current`); they stay valid until
    /// the next call.
    virtual void on_quiescent(shard_context& ctx) { (void)ctx; }
    /// A drain or handler-defined command from control.
    virtual void on_command(shard_context& ctx, const command& cmd) {
        (void)ctx;
        (void)cmd;
    }
};

/// Creates the handler for shard `id` of `count`; called once per shard by the runtime, on the
/// starting thread, before any shard runs. May allocate and return null only on failure.
using handler_factory = std::function<std::unique_ptr<packet_handler>(uint32_t id, uint32_t count)>;

} // namespace tandem::dataplane
