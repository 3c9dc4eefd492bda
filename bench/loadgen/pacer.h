#pragma once

// Call pacing for tandem-loadgen against a monotonic clock.

#include <cstdint>

namespace tandem::loadgen {

/// Fixed-rate schedule: call k of this pacer is due at `start_ns + (k * stride + offset) / rate`
/// seconds, so that N pacers with stride N and offsets 0..N-1 together place calls at exactly
/// `rate` per second, interleaved. A pacer that falls behind (a stalled thread) catches up in
/// bursts of at most `burst` calls per `due()` call: no call is dropped, the count stays exact.
/// `rate == 0` means unpaced (every call is due at once; the caller bounds calls in flight).
/// One owner; no allocation.
class pacer {
public:
    pacer(double rate, uint64_t start_ns, uint32_t stride = 1, uint32_t offset = 0,
          uint32_t burst = 64) noexcept
        : _rate(rate), _start_ns(start_ns), _stride(stride), _offset(offset), _burst(burst) {}

    /// How many calls are due at `now_ns` and not yet taken, capped at `burst` and at `limit`.
    /// The caller starts them and reports them with `take()`.
    [[nodiscard]] uint32_t due(uint64_t now_ns, uint64_t limit) const noexcept {
        uint64_t n = 0;
        if (_rate <= 0) {
            n = _burst;
        } else {
            while (n < _burst && due_ns(_taken + n) <= now_ns)
                ++n;
        }
        return static_cast<uint32_t>(n < limit ? n : limit);
    }
    /// Marks `n` calls as started.
    void take(uint64_t n) noexcept { _taken += n; }
    /// Calls started so far.
    [[nodiscard]] uint64_t taken() const noexcept { return _taken; }
    /// When the next call is due (ns on the pacer's clock); `start_ns` when unpaced.
    [[nodiscard]] uint64_t next_due_ns() const noexcept {
        return _rate <= 0 ? _start_ns : due_ns(_taken);
    }

private:
    [[nodiscard]] uint64_t due_ns(uint64_t k) const noexcept {
        const double global = static_cast<double>(k) * _stride + _offset;
        return _start_ns + static_cast<uint64_t>(global * 1e9 / _rate);
    }

    double _rate;
    uint64_t _start_ns;
    uint32_t _stride;
    uint32_t _offset;
    uint32_t _burst;
    uint64_t _taken = 0;
};

} // namespace tandem::loadgen
