#pragma once
// The B2BUA on a shard: a packet_handler that feeds every datagram the shard owns to a
// sip::b2b::engine and sends what the engine writes through the shard's transmit buffers.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.h"
#include "dataplane/engine.h"
#include "sip/b2b/engine.h"
#include "sip/b2b/header_policy.h"

namespace tandem::dataplane {

/// The engine's counters as the control plane reads them: single writer (the shard), relaxed
/// word-atomic reads from any thread. Published on every tick.
struct b2b_counters {
    std::atomic<uint64_t> calls_active{0};
    std::atomic<uint64_t> calls_started{0};
    std::atomic<uint64_t> calls_answered{0};
    std::atomic<uint64_t> calls_failed{0};
    std::atomic<uint64_t> calls_ended{0};
    std::atomic<uint64_t> calls_refused_full{0};
    std::atomic<uint64_t> calls_refused_rate{0};
    std::atomic<uint64_t> transactions_active{0};
    std::atomic<uint64_t> buffers_in_use{0};
    std::atomic<uint64_t> sip_parse_errors{0};
    std::atomic<uint64_t> sip_rejected{0};
    std::atomic<uint64_t> sip_dropped{0};
    std::atomic<uint64_t> sip_no_dialog{0};
    std::atomic<uint64_t> sip_send_failures{0};

    /// Calls f(name, value) for each counter.
    template <class F>
    void for_each(F&& f) const {
        f("calls_active", calls_active.load(std::memory_order_relaxed));
        f("calls_started", calls_started.load(std::memory_order_relaxed));
        f("calls_answered", calls_answered.load(std::memory_order_relaxed));
        f("calls_failed", calls_failed.load(std::memory_order_relaxed));
        f("calls_ended", calls_ended.load(std::memory_order_relaxed));
        f("calls_refused_full", calls_refused_full.load(std::memory_order_relaxed));
        f("calls_refused_rate", calls_refused_rate.load(std::memory_order_relaxed));
        f("transactions_active", transactions_active.load(std::memory_order_relaxed));
        f("buffers_in_use", buffers_in_use.load(std::memory_order_relaxed));
        f("sip_parse_errors", sip_parse_errors.load(std::memory_order_relaxed));
        f("sip_rejected", sip_rejected.load(std::memory_order_relaxed));
        f("sip_dropped", sip_dropped.load(std::memory_order_relaxed));
        f("sip_no_dialog", sip_no_dialog.load(std::memory_order_relaxed));
        f("sip_send_failures", sip_send_failures.load(std::memory_order_relaxed));
    }
};

/// What every shard's engine shares: the configuration and the compiled default policy. Owned
/// by the daemon, alive longer than the shards.
struct b2b_shared {
    const config::config* cfg = nullptr;
    std::shared_ptr<const sip::b2b::header_policy> policy;
};

/// The engine settings for one of `shards` shards, derived from the configuration.
[[nodiscard]] sip::b2b::engine_config make_engine_config(const config::config& cfg, uint32_t shard,
                                                         uint32_t shards);

class b2b_handler final : public packet_handler, private sip::b2b::transport {
public:
    /// Builds the shard's engine (preallocating its tables). Control thread, before start.
    b2b_handler(const b2b_shared& shared, uint32_t shard, uint32_t shards);
    ~b2b_handler() override;

    void on_packet(shard_context& ctx, const rx_packet& pkt) override;
    void on_tick(shard_context& ctx, uint64_t now_ns) override;
    [[nodiscard]] uint64_t next_timer_ns() const noexcept override;
    void on_quiescent(shard_context& ctx) override;

    /// Any thread.
    [[nodiscard]] const b2b_counters& counters() const noexcept { return _counters; }

private:
    bool send(const char* data, size_t len, const sip::endpoint& dest) noexcept override;
    void publish() noexcept;

    std::unique_ptr<sip::b2b::default_scenario> _scenario;
    std::unique_ptr<sip::b2b::engine> _engine;
    shard_context* _ctx = nullptr;
    uint16_t _listen_index = 0;
    bool _unpublished = false; // the engine ran since the last publish()
    b2b_counters _counters;
};

} // namespace tandem::dataplane
