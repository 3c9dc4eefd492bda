#pragma once

#include <cstdint>

namespace tandem::sip::txn {

/// Transaction-layer settings (RFC 3261 s17, table 4). One copy per shard, read at start.
struct txn_config {
    /// RTT estimate: first retransmission interval, and 64*T1 is the transaction timeout.
    uint32_t t1_ms = 500;
    /// Cap on the retransmission interval of non-INVITE requests and INVITE responses.
    uint32_t t2_ms = 4000;
    /// How long a message may stay in the network (timers I and K).
    uint32_t t4_ms = 5000;
    /// Timer D on unreliable transports (RFC: at least 32 s).
    uint32_t timer_d_ms = 32000;
    /// Timer C (RFC 3261 s16.6 step 11): a client INVITE that had a provisional response waits
    /// this long after the last one for a final response, then times out (408 to the TU) like
    /// timer B. The RFC asks proxies for more than 3 minutes. Without it a callee that rings and
    /// goes silent would hold its transaction, and the call behind it, for ever.
    uint32_t timer_c_ms = 181000;
    /// Capacity of the per-shard transaction pool and table (client and server together).
    uint32_t max_transactions = 65536;
    /// Length of one tick of the `now` values the caller passes in, in microseconds.
    uint32_t tick_us = 1000;

    /// Milliseconds to ticks, rounded up (a timer never fires early).
    [[nodiscard]] uint64_t ticks(uint64_t ms) const noexcept {
        return (ms * 1000 + tick_us - 1) / tick_us;
    }
};

} // namespace tandem::sip::txn
