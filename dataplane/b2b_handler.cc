#include "dataplane/b2b_handler.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "sip/util/ids.h"

namespace tandem::dataplane {

namespace {

// The engine counts time in milliseconds (txn_config::tick_us = 1000).
constexpr uint64_t ns_per_tick = 1'000'000;

} // namespace

sip::b2b::engine_config make_engine_config(const config::config& cfg, uint32_t shard,
                                           uint32_t shards) {
    sip::b2b::engine_config e;
    e.shard = static_cast<uint16_t>(shard);
    e.txn.t1_ms = cfg.sip.t1_ms;
    e.txn.t2_ms = cfg.sip.t2_ms;
    e.txn.t4_ms = cfg.sip.t4_ms;
    e.txn.timer_c_ms = cfg.sip.timer_c_ms;
    const uint32_t calls = std::max<uint32_t>(16, (cfg.limits.max_calls + shards - 1) / shards);
    e.max_calls = calls;
    // A call holds at most a few transactions at once; non-INVITE server transactions linger
    // for 64*T1 after their answer, so the table is sized well above the call count.
    const uint32_t txns = cfg.limits.max_transactions != 0
                              ? (cfg.limits.max_transactions + shards - 1) / shards
                              : calls * 4;
    e.txn.max_transactions = std::max<uint32_t>(256, txns);
    e.retry_after_s = cfg.limits.retry_after_s;
    e.max_cps = cfg.limits.max_cps == 0 ? 0 : std::max<uint32_t>(1, cfg.limits.max_cps / shards);
    e.ring_timeout_ms = cfg.limits.ring_timeout_s * 1000;
    // Buffers are reserved as address space and touched only when used.
    e.buffers[0] = e.txn.max_transactions;
    e.buffers[1] = std::max<uint32_t>(1024, calls);
    e.buffers[2] = 64;
    e.user_agent = cfg.sip.user_agent;
    const auto& l = cfg.sip.listen.front();
    if (cfg.dataplane.backend == config::backend_kind::dpdk) {
        e.local = sip::endpoint::v4(cfg.dpdk.ipv4.s_addr, l.port);
    } else if (!sip::endpoint::from_ip(l.host, l.port, e.local)) {
        throw std::invalid_argument("bad sip.listen address " + l.to_string());
    }
    return e;
}

b2b_handler::b2b_handler(const b2b_shared& shared, uint32_t shard, uint32_t shards) {
    const config::config& cfg = *shared.cfg;
    _scenario = std::make_unique<sip::b2b::default_scenario>(cfg.routing.default_target,
                                                             cfg.routing.use_request_uri);
    auto key = sip::util::random_hash_key();
    if (!key) throw std::runtime_error("getrandom failed: cannot seed the shard's keys");
    _engine = std::make_unique<sip::b2b::engine>(make_engine_config(cfg, shard, shards),
                                                 static_cast<sip::b2b::transport&>(*this),
                                                 *_scenario, shared.policy, *key, 0);
}

b2b_handler::~b2b_handler() = default;

void b2b_handler::on_packet(shard_context& ctx, const rx_packet& pkt) {
    _ctx = &ctx;
    _listen_index = pkt.listen_index;
    _engine->on_datagram(reinterpret_cast<const char*>(pkt.data), pkt.len, pkt.source,
                         ctx.now_ns() / ns_per_tick);
    _unpublished = true;
}

void b2b_handler::on_tick(shard_context& ctx, uint64_t now_ns) {
    _ctx = &ctx;
    _engine->on_tick(now_ns / ns_per_tick);
    _unpublished = true;
}

void b2b_handler::on_quiescent(shard_context& ctx) {
    (void)ctx;
    // At the end of every loop iteration that ran the engine, so the counters /v1/stats reads
    // are current even while the shard sleeps (its tick no longer wakes it just to publish
    // them); an idle polling loop (DPDK) publishes nothing.
    if (_unpublished) publish();
}

uint64_t b2b_handler::next_timer_ns() const noexcept {
    const sip::util::tick_t due = _engine->next_due();
    return due == sip::util::no_timer ? no_timer_ns : due * ns_per_tick;
}

bool b2b_handler::send(const char* data, size_t len, const sip::endpoint& dest) noexcept {
    if (_ctx == nullptr) return false;
    pkt_buf* buf = _ctx->alloc_tx();
    if (buf == nullptr) return false;
    if (len > buf->cap) {
        _ctx->release_tx(buf);
        return false;
    }
    // One copy into the packet buffer: the engine keeps its own for retransmissions.
    std::memcpy(buf->data, data, len);
    buf->len = static_cast<uint32_t>(len);
    return _ctx->send(buf, dest, _listen_index);
}

void b2b_handler::publish() noexcept {
    _unpublished = false;
    const auto& s = _engine->stats();
    auto set = [](std::atomic<uint64_t>& a, uint64_t v) { a.store(v, std::memory_order_relaxed); };
    set(_counters.calls_active, _engine->calls_active());
    set(_counters.calls_started, s.calls_started);
    set(_counters.calls_answered, s.calls_answered);
    set(_counters.calls_failed, s.calls_failed);
    set(_counters.calls_ended, s.calls_ended);
    set(_counters.calls_refused_full, s.calls_refused_full);
    set(_counters.calls_refused_rate, s.calls_refused_rate);
    set(_counters.transactions_active, _engine->transactions_active());
    set(_counters.buffers_in_use, _engine->buffers_in_use());
    set(_counters.sip_parse_errors, s.parse_errors);
    set(_counters.sip_rejected, s.rejected_semantic);
    set(_counters.sip_dropped, s.dropped);
    set(_counters.sip_no_dialog, s.no_dialog);
    set(_counters.sip_send_failures, s.send_failures);
}

} // namespace tandem::dataplane
