#pragma once
// Quiescent-state based reclamation (QSBR), as rte_rcu_qsbr but without EAL so that the socket
// backend and tests use the same scheme: each shard reports the global epoch it has seen at its
// quiescent point (between bursts); an object retired at epoch E is freed once every online
// shard has reported E or later.

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>

#include "dataplane/spsc_ring.h"

namespace tandem::dataplane {

class epoch_registry {
public:
    /// A shard that has not reported yet holds every epoch back (call `quiescent` or `offline`).
    explicit epoch_registry(uint32_t shards)
        : _count(shards), _slots(std::make_unique<slot[]>(shards)) {}

    [[nodiscard]] uint32_t shard_count() const noexcept { return _count; }

    /// Shard `id` only, at a point where it holds no snapshot pointer. Lock-free, no syscall.
    void quiescent(uint32_t id) noexcept {
        _slots[id].seen.store(_epoch.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
    }
    /// Shard `id` only (or whoever stopped it): it no longer holds anything and never blocks
    /// reclamation until its next `quiescent`.
    void offline(uint32_t id) noexcept {
        _slots[id].seen.store(std::numeric_limits<uint64_t>::max(), std::memory_order_seq_cst);
    }
    /// Control: starts a new epoch and returns it; objects unlinked before the call are safe to
    /// free once `passed(returned)` is true.
    [[nodiscard]] uint64_t advance() noexcept {
        return _epoch.fetch_add(1, std::memory_order_seq_cst) + 1;
    }
    /// Any thread: every shard has reported `epoch` or later (or is offline).
    [[nodiscard]] bool passed(uint64_t epoch) const noexcept {
        for (uint32_t i = 0; i < _count; ++i) {
            if (_slots[i].seen.load(std::memory_order_seq_cst) < epoch) {
                return false;
            }
        }
        return true;
    }
    /// The epoch shard `id` last reported (max: offline).
    [[nodiscard]] uint64_t seen(uint32_t id) const noexcept {
        return _slots[id].seen.load(std::memory_order_relaxed);
    }
    [[nodiscard]] uint64_t epoch() const noexcept { return _epoch.load(std::memory_order_relaxed); }

private:
    struct alignas(cache_line) slot {
        std::atomic<uint64_t> seen{0};
    };
    alignas(cache_line) std::atomic<uint64_t> _epoch{1};
    uint32_t _count;
    std::unique_ptr<slot[]> _slots;
};

} // namespace tandem::dataplane
