#pragma once
// What the daemon uses: builds the shards from the configuration (threads under the socket
// backend, lcores under DPDK), runs them, stops them, sums their counters.

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "config/config.h"
#include "dataplane/engine.h"
#include "dataplane/epoch.h"
#include "dataplane/shard.h"
#include "dataplane/stats.h"
#include "dataplane/status.h"

namespace tandem::dataplane {

class runtime {
public:
    runtime();
    ~runtime(); ///< Calls stop().
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    /// Opens sockets (or initialises EAL and the port), creates one handler per shard with
    /// `factory`, and starts the shards. On failure nothing keeps running and the status says
    /// why (bind failure, EAL failure, bad worker count). Call once, from one control thread.
    [[nodiscard]] status start(const config::config& cfg, const handler_factory& factory);
    /// Stops every shard (stop command, then joins) and releases sockets. Idempotent.
    void stop();
    [[nodiscard]] bool running() const noexcept { return !_shards.empty(); }

    /// Any thread: the counters of all shards summed (racy but word-atomic reads).
    [[nodiscard]] stats_snapshot stats() const;
    /// Any thread: one shard's counters.
    [[nodiscard]] stats_snapshot shard_stats(uint32_t id) const;
    [[nodiscard]] uint32_t shard_count() const noexcept {
        return static_cast<uint32_t>(_shards.size());
    }
    /// The registry snapshot publishers must use so that reclamation waits for these shards.
    /// Valid from construction; sized by start() (publishers must be made after start()).
    [[nodiscard]] epoch_registry& epochs() noexcept { return *_epochs; }
    /// Control: queues a command for shard `id`; false when its ring is full or id is invalid.
    [[nodiscard]] bool post(uint32_t id, const command& cmd);
    /// Socket backend: the port actually bound for listen entry `index` (useful with port 0).
    [[nodiscard]] uint16_t bound_port(size_t index) const noexcept {
        return index < _bound_ports.size() ? _bound_ports[index] : 0;
    }
    /// The handler of shard `id` (tests; the handler runs on its shard).
    [[nodiscard]] packet_handler* handler(uint32_t id) noexcept;

private:
    [[nodiscard]] status start_socket(const config::config& cfg, const handler_factory& factory);
    [[nodiscard]] status start_dpdk(const config::config& cfg, const handler_factory& factory);

    std::unique_ptr<epoch_registry> _epochs;
    std::unique_ptr<shard_mesh> _mesh;
    std::vector<std::unique_ptr<shard>> _shards;
    std::vector<std::thread> _threads;
    std::vector<uint16_t> _bound_ports;
    std::atomic<bool> _stop{false};
    bool _dpdk = false;
    void* _dpdk_state = nullptr; // dpdk::port*, when running under DPDK
    // What each lcore's entry function gets (DPDK).
    friend int runtime_lcore_main(void* arg);
    struct lcore_launch {
        shard* s;
        const std::atomic<bool>* stop;
    };
    std::vector<lcore_launch> _launch;
};

} // namespace tandem::dataplane
