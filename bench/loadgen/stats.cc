#include "bench/loadgen/stats.h"

#include <bit>
#include <cmath>

namespace tandem::loadgen {

size_t latency_histogram::bucket_of(uint64_t us) noexcept {
    if (us < linear_limit) return static_cast<size_t>(us);
    // shift >= 1 so that (us >> shift) lies in [64, 128).
    const unsigned shift = static_cast<unsigned>(std::bit_width(us)) - (sub_bits + 1);
    if (shift > max_shift) return bucket_count - 1;
    return linear_limit + (shift - 1) * sub_count + ((us >> shift) - sub_count);
}

uint64_t latency_histogram::bucket_upper(size_t bucket) noexcept {
    if (bucket < linear_limit) return bucket;
    const size_t k = bucket - linear_limit;
    const unsigned shift = static_cast<unsigned>(k / sub_count) + 1;
    const uint64_t mantissa = sub_count + k % sub_count;
    return ((mantissa + 1) << shift) - 1;
}

void latency_histogram::record(uint64_t us) noexcept {
    ++_buckets[bucket_of(us)];
    ++_count;
    if (us > _max) _max = us;
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
    for (size_t i = 0; i < bucket_count; ++i)
        _buckets[i] += other._buckets[i];
    _count += other._count;
    if (other._max > _max) _max = other._max;
}

uint64_t latency_histogram::percentile(double pct) const noexcept {
    if (_count == 0) return 0;
    double want = std::ceil(pct / 100.0 * static_cast<double>(_count));
    if (want < 1) want = 1;
    const auto rank = static_cast<uint64_t>(want);
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
        seen += _buckets[i];
        if (seen >= rank) {
            const uint64_t upper = bucket_upper(i);
            return upper < _max ? upper : _max;
        }
    }
    return _max;
}

} // namespace tandem::loadgen
