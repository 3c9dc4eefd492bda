#pragma once
// Immutable control-plane snapshots handed to the shards by one pointer swap (grout's model):
// control publishes, shards read `current()` and keep the pointer until their next quiescent
// point, control frees an old snapshot once every shard has passed one.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "dataplane/epoch.h"

namespace tandem::dataplane {

template <class T>
class snapshot_publisher {
public:
    /// `registry` must outlive the publisher. Starts with no snapshot (`current()` is null).
    explicit snapshot_publisher(epoch_registry& registry) : _registry(registry) {}
    snapshot_publisher(const snapshot_publisher&) = delete;
    snapshot_publisher& operator=(const snapshot_publisher&) = delete;
    /// Frees everything: call only once no shard runs.
    ~snapshot_publisher() {
        delete _current.load(std::memory_order_relaxed);
        for (auto& r : _retired) {
            delete r.object;
        }
    }

    /// Shards: the newest snapshot (may be null). Valid until the caller's next
    /// `epoch_registry::quiescent`. Lock-free, one acquire load.
    [[nodiscard]] const T* current() const noexcept {
        return _current.load(std::memory_order_acquire);
    }
    /// Shards or control: the version of `current()` (0 before the first publish).
    [[nodiscard]] uint64_t version() const noexcept {
        return _version.load(std::memory_order_acquire);
    }

    /// Control (any thread; serialised by a mutex, never taken by a shard): makes `next` the
    /// current snapshot, retires the previous one and returns the new version.
    uint64_t publish(std::unique_ptr<const T> next) {
        std::lock_guard guard(_mutex);
        const T* old = _current.exchange(next.release(), std::memory_order_seq_cst);
        const uint64_t v = _version.fetch_add(1, std::memory_order_seq_cst) + 1;
        if (old != nullptr) {
            _retired.push_back({old, _registry.advance()});
        }
        reclaim_locked();
        return v;
    }

    /// Control: frees retired snapshots every shard has moved past; returns how many remain.
    size_t reclaim() {
        std::lock_guard guard(_mutex);
        reclaim_locked();
        return _retired.size();
    }

    /// Control: retired snapshots not yet freed.
    [[nodiscard]] size_t pending() const {
        std::lock_guard guard(_mutex);
        return _retired.size();
    }

private:
    struct retired {
        const T* object;
        uint64_t epoch;
    };
    void reclaim_locked() {
        size_t kept = 0;
        for (auto& r : _retired) {
            if (_registry.passed(r.epoch)) {
                delete r.object;
            } else {
                _retired[kept++] = r;
            }
        }
        _retired.resize(kept);
    }

    epoch_registry& _registry;
    std::atomic<const T*> _current{nullptr};
    std::atomic<uint64_t> _version{0};
    mutable std::mutex _mutex;
    std::vector<retired> _retired;
};

} // namespace tandem::dataplane
