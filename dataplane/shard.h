#pragma once
// One shard per worker: the poll loop, steering between shards, the command ring and the
// quiescent-state report. Modelled on l3fwd's lcore_conf: everything the core touches is in
// this object, preallocated at construction.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "dataplane/engine.h"
#include "dataplane/epoch.h"
#include "dataplane/io.h"
#include "dataplane/spsc_ring.h"

namespace tandem::dataplane {

class shard;

/// The rings between shards: per ordered pair (src, dst) one hand-over ring (packets src
/// steers to dst) and one return ring (dst gives src's buffers back when src's backend cannot
/// free them elsewhere). Built before the shards run; immutable afterwards.
class shard_mesh {
public:
    /// `ring_size`: hand-over capacity per pair; `return_size`: at least a shard's pool size.
    shard_mesh(uint32_t count, uint32_t ring_size, uint32_t return_size);

    [[nodiscard]] uint32_t shard_count() const noexcept { return _count; }
    [[nodiscard]] spsc_ring<pkt_buf*>& handoff(uint32_t src, uint32_t dst) noexcept {
        return *_handoff[src * _count + dst];
    }
    [[nodiscard]] spsc_ring<pkt_buf*>& returns(uint32_t src, uint32_t dst) noexcept {
        return *_returns[src * _count + dst];
    }
    /// Registered by each shard's constructor; used to wake a sleeping destination.
    void attach(uint32_t id, shard* s) noexcept { _shards[id] = s; }
    [[nodiscard]] shard* at(uint32_t id) const noexcept { return _shards[id]; }

private:
    uint32_t _count;
    std::vector<std::unique_ptr<spsc_ring<pkt_buf*>>> _handoff;
    std::vector<std::unique_ptr<spsc_ring<pkt_buf*>>> _returns;
    std::vector<shard*> _shards;
};

struct shard_options {
    uint32_t burst = 32;
    /// The handler's timer tick: `on_tick` runs at most this often, and a timer runs at most
    /// one tick after it is due.
    uint64_t tick_interval_ns = 1000000;
    /// Wait mode: the longest sleep when the handler has no timer armed. A sleeping shard is
    /// offline to the epoch registry, so this bounds nothing but how often an idle shard looks.
    uint64_t max_sleep_ns = 1000000000;
    /// Sleep in the backend's idle_wait when an iteration found no work.
    bool sleep_when_idle = true;
    /// Commands the command ring holds.
    uint32_t command_ring_size = 256;
};

class alignas(cache_line) shard final : public shard_context {
public:
    /// `mesh` and `registry` (optional: null) must outlive the shard; `mesh` may be null for a
    /// single shard. Allocates everything the loop needs.
    shard(uint32_t id, uint32_t count, const shard_options& options, std::unique_ptr<shard_io> io,
          std::unique_ptr<packet_handler> handler, shard_mesh* mesh, epoch_registry* registry);
    ~shard();

    /// The shard's thread: one loop iteration (returns, receive, steer, process, transmit, tick,
    /// commands, quiescent point, maybe sleep). Returns the packets it processed.
    uint32_t poll_once() noexcept;
    /// The shard's thread: iterates until a stop command arrives or `stop` becomes true, then
    /// reports itself offline to the epoch registry.
    void run(const std::atomic<bool>& stop) noexcept;
    [[nodiscard]] bool stopped() const noexcept { return _stop_requested; }

    /// Control (any thread; producers are serialised by a mutex the shard never takes): queues
    /// a command; false when the ring is full. Wakes the shard if it sleeps.
    [[nodiscard]] bool post(const command& cmd);
    /// Any thread: interrupts a sleep.
    void wake() noexcept;

    [[nodiscard]] packet_handler& handler() noexcept { return *_handler; }
    [[nodiscard]] shard_io& io() noexcept { return *_io; }

private:
    void deliver(pkt_buf* pkt) noexcept;
    void release(pkt_buf* pkt) noexcept;
    void steer_out(pkt_buf* pkt, uint32_t owner) noexcept;
    void flush_steered() noexcept;
    [[nodiscard]] bool has_pending_input() noexcept;
    /// Reports the quiescent point to the epoch registry, then lets the handler reload.
    void quiescent_point() noexcept;
    /// Wait mode: when an idle shard must wake (shard clock, `now` or later).
    [[nodiscard]] uint64_t sleep_until(uint64_t now) const noexcept;
    void wake_if_sleeping(uint32_t dst) noexcept;

    shard_options _options;
    std::unique_ptr<packet_handler> _handler;
    shard_mesh* _mesh;
    epoch_registry* _registry;
    uint64_t _next_tick_ns = 0;
    bool _stop_requested = false;
    std::unique_ptr<pkt_buf*[]> _rx;
    // Per destination shard: packets waiting to go onto its hand-over ring this iteration.
    std::unique_ptr<pkt_buf*[]> _staged;
    std::unique_ptr<uint32_t[]> _staged_count;
    spsc_ring<command> _commands;
    std::mutex _post_mutex;
    alignas(cache_line) std::atomic<bool> _sleeping{false};
};

} // namespace tandem::dataplane
