#pragma once

// Latency histogram and counters of tandem-loadgen. Each worker thread owns one `worker_stats`;
// the main thread reads the counters while the run goes (relaxed atomics, one writer each) and
// merges the histograms once the workers have been joined.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tandem::loadgen {

/// A log-linear histogram of durations in microseconds: exact below 128 us, then 64 buckets per
/// power of two (relative error under 1.6 %), up to 2^40 us. Fixed size, no allocation; one
/// writer (not thread-safe). Values above the range land in the last bucket (max() stays exact).
class latency_histogram {
public:
    static constexpr unsigned sub_bits = 6;
    static constexpr uint64_t sub_count = uint64_t{1} << sub_bits; // 64
    static constexpr uint64_t linear_limit = 2 * sub_count;        // 128: exact below
    static constexpr unsigned max_shift = 34;                      // 2^40 us at the top
    static constexpr size_t bucket_count = linear_limit + max_shift * sub_count;

    /// Adds one sample.
    void record(uint64_t us) noexcept;
    /// Adds every sample of `other`.
    void merge(const latency_histogram& other) noexcept;

    /// Samples recorded.
    [[nodiscard]] uint64_t count() const noexcept { return _count; }
    /// Largest sample (exact); 0 when empty.
    [[nodiscard]] uint64_t max() const noexcept { return _max; }
    /// The `pct` percentile (0 < pct <= 100): the upper bound of the bucket holding the sample of
    /// rank ceil(pct/100 * count), clamped to max(). 0 when empty.
    [[nodiscard]] uint64_t percentile(double pct) const noexcept;

    /// Bucket of a value, and the largest value a bucket holds (exposed for tests).
    [[nodiscard]] static size_t bucket_of(uint64_t us) noexcept;
    [[nodiscard]] static uint64_t bucket_upper(size_t bucket) noexcept;

private:
    std::array<uint64_t, bucket_count> _buckets{};
    uint64_t _count = 0;
    uint64_t _max = 0;
};

/// Counters of one worker. Written by that worker only (relaxed), read by anyone.
struct worker_counters {
    // Caller side.
    std::atomic<uint64_t> attempted{0};    ///< INVITEs sent (new calls)
    std::atomic<uint64_t> ok{0};           ///< calls that got 200 to INVITE and to BYE
    std::atomic<uint64_t> failed{0};       ///< calls ended any other way
    std::atomic<uint64_t> timeouts{0};     ///< of `failed`: Timer B/F (64*T1) or the run's end
    std::atomic<uint64_t> rejected{0};     ///< of `failed`: a final response >= 300
    std::atomic<uint64_t> table_full{0};   ///< of `failed`: no free call slot
    std::atomic<uint64_t> retrans{0};      ///< requests retransmitted (Timer A/E)
    std::atomic<uint64_t> resp_retrans{0}; ///< duplicate responses absorbed
    // Callee side.
    std::atomic<uint64_t> uas_calls{0};       ///< new INVITEs received
    std::atomic<uint64_t> uas_ok{0};          ///< calls ended by a BYE we answered
    std::atomic<uint64_t> uas_failed{0};      ///< no ACK nor BYE within 64*T1, or open at the end
    std::atomic<uint64_t> uas_retrans{0};     ///< 200s retransmitted (Timer G)
    std::atomic<uint64_t> uas_req_retrans{0}; ///< duplicate requests absorbed
    std::atomic<uint64_t> uas_table_full{0};  ///< INVITEs answered 503 (no free slot)
    std::atomic<uint64_t> uas_bye_unknown{0}; ///< BYEs for no open call (answered 200)
    // Both.
    std::atomic<uint64_t> rx{0};          ///< datagrams received
    std::atomic<uint64_t> tx{0};          ///< datagrams sent
    std::atomic<uint64_t> malformed{0};   ///< datagrams the parser rejected (or unusable)
    std::atomic<uint64_t> unmatched{0};   ///< well-formed messages for no call of ours
    std::atomic<uint64_t> send_errors{0}; ///< datagrams the kernel refused
};

/// Everything one worker measures.
struct worker_stats {
    worker_counters c;
    /// Final responses >= 300 that ended calls, by status code: [code] for INVITE,
    /// [700 + code] for BYE (read after the run).
    std::array<uint64_t, 1400> rejected_by_code{};
    latency_histogram invite_200; ///< first INVITE sent -> 200 received
    latency_histogram bye_200;    ///< first BYE sent -> 200 received
};

/// Relaxed add for a single-writer counter.
inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

} // namespace tandem::loadgen
