#pragma once
// A test and demo handler: answers every datagram with `shard=<id> ` followed by the received
// bytes, to the sender, from the address it arrived on. Also counts ticks and snapshots so that
// tests can see the loop run.

#include <atomic>
#include <cstdio>
#include <cstring>

#include "dataplane/engine.h"

namespace tandem::dataplane {

class echo_handler : public packet_handler {
public:
    void on_packet(shard_context& ctx, const rx_packet& pkt) override {
        pkt_buf* out = ctx.alloc_tx();
        if (out == nullptr) {
            return;
        }
        char prefix[24];
        const int n = std::snprintf(prefix, sizeof prefix, "shard=%u ", ctx.id());
        const auto plen = static_cast<uint32_t>(n);
        if (plen + pkt.len > out->cap) {
            ctx.release_tx(out);
            return;
        }
        std::memcpy(out->data, prefix, plen);
        std::memcpy(out->data + plen, pkt.data, pkt.len);
        out->len = plen + pkt.len;
        (void)ctx.send(out, pkt.source, pkt.listen_index);
        packets.store(packets.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    void on_tick(shard_context& ctx, uint64_t now_ns) override {
        (void)ctx;
        last_tick_ns.store(now_ns, std::memory_order_relaxed);
    }

    std::atomic<uint64_t> packets{0};
    std::atomic<uint64_t> last_tick_ns{0};
};

} // namespace tandem::dataplane
