// The pieces of tandem-loadgen that have logic: pacing, percentiles, the call table, options.

#include "bench/loadgen/call_table.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/pacer.h"
#include "bench/loadgen/stats.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace tandem::loadgen;

TEST(LoadgenPacer, FixedRateSchedulesCallsAtExactTimes) {
    pacer p(1000, 0);             // one call per millisecond
    EXPECT_EQ(p.due(0, 100), 1u); // call 0 at t=0
    p.take(1);
    EXPECT_EQ(p.due(999'999, 100), 0u);
    EXPECT_EQ(p.due(1'000'000, 100), 1u);
    EXPECT_EQ(p.due(10'000'000, 100), 10u); // calls 1..10 due at 10 ms
    p.take(10);
    EXPECT_EQ(p.next_due_ns(), 11'000'000u);
}

TEST(LoadgenPacer, CatchesUpInBurstsWithoutDroppingCalls) {
    pacer p(1000, 0, 1, 0, 8);
    // A stall of one second: 1001 calls due, handed out 8 at a time, none lost.
    uint64_t started = 0;
    for (int i = 0; i < 1000 && started < 1001; ++i) {
        const uint32_t n = p.due(1'000'000'000, UINT64_MAX);
        EXPECT_LE(n, 8u);
        p.take(n);
        started += n;
    }
    EXPECT_EQ(started, 1001u);
    EXPECT_EQ(p.due(1'000'000'000, UINT64_MAX), 0u);
}

TEST(LoadgenPacer, LimitCapsTheBurst) {
    pacer p(1e6, 0);
    EXPECT_EQ(p.due(1'000'000'000, 3), 3u);
    EXPECT_EQ(p.due(1'000'000'000, 0), 0u);
}

TEST(LoadgenPacer, ShardedPacersInterleaveToTheTotalRate) {
    // Four workers at 100 cps in total: together one call every 10 ms, in index order.
    std::vector<pacer> ps;
    for (uint32_t i = 0; i < 4; ++i)
        ps.emplace_back(100, 0, 4, i);
    for (uint64_t k = 0; k < 40; ++k) {
        const uint64_t t = k * 10'000'000;
        pacer& owner = ps[k % 4];
        EXPECT_EQ(owner.next_due_ns(), t) << "call " << k;
        EXPECT_EQ(owner.due(t, 1), 1u);
        owner.take(1);
    }
}

TEST(LoadgenPacer, UnpacedIsBoundedOnlyByTheLimit) {
    pacer p(0, 0, 1, 0, 64);
    EXPECT_EQ(p.due(0, 1000), 64u);
    EXPECT_EQ(p.due(0, 5), 5u);
}

TEST(LoadgenHistogram, ExactBelow128AndBucketsCoverEveryValue) {
    for (uint64_t v = 0; v < 128; ++v) {
        EXPECT_EQ(latency_histogram::bucket_of(v), v);
        EXPECT_EQ(latency_histogram::bucket_upper(v), v);
    }
    // Each value lies in a bucket whose upper bound is >= the value and within 1/64 of it,
    // and bucket indexes never go down as values grow.
    size_t last = 0;
    for (uint64_t v = 128; v < (uint64_t{1} << 30); v += v / 37 + 1) {
        const size_t b = latency_histogram::bucket_of(v);
        ASSERT_LT(b, latency_histogram::bucket_count);
        EXPECT_GE(b, last);
        last = b;
        const uint64_t upper = latency_histogram::bucket_upper(b);
        EXPECT_GE(upper, v);
        EXPECT_LE(upper - v, v / 64 + 1) << v;
        EXPECT_EQ(latency_histogram::bucket_of(upper), b);
        EXPECT_EQ(latency_histogram::bucket_of(upper + 1), b + 1);
    }
}

TEST(LoadgenHistogram, PercentilesByRank) {
    latency_histogram h;
    EXPECT_EQ(h.percentile(50), 0u);
    for (uint64_t v = 1; v <= 100; ++v)
        h.record(v);
    EXPECT_EQ(h.count(), 100u);
    EXPECT_EQ(h.percentile(50), 50u);
    EXPECT_EQ(h.percentile(90), 90u);
    EXPECT_EQ(h.percentile(99), 99u);
    EXPECT_EQ(h.percentile(99.9), 100u); // rank ceil(99.9) = 100
    EXPECT_EQ(h.percentile(100), 100u);
    EXPECT_EQ(h.max(), 100u);
}

TEST(LoadgenHistogram, LargeValuesWithinOnePercentAndMaxExact) {
    latency_histogram h;
    for (int i = 0; i < 999; ++i)
        h.record(1000); // 1 ms
    h.record(123456789);
    const uint64_t p50 = h.percentile(50);
    EXPECT_GE(p50, 1000u);
    EXPECT_LE(p50, 1016u);
    EXPECT_EQ(h.percentile(100), 123456789u); // clamped to the exact max
    EXPECT_EQ(h.max(), 123456789u);
}

TEST(LoadgenHistogram, MergeAddsCounts) {
    latency_histogram a, b;
    a.record(10);
    b.record(20);
    b.record(30);
    a.merge(b);
    EXPECT_EQ(a.count(), 3u);
    EXPECT_EQ(a.max(), 30u);
    EXPECT_EQ(a.percentile(50), 20u);
}

namespace {
struct test_call {
    std::string id;
    int payload = 0;
    [[nodiscard]] std::string_view call_id() const noexcept { return id; }
};
} // namespace

TEST(LoadgenCallTable, FindsByCallIdAndReusesSlots) {
    call_table<test_call> t(4, {1, 2});
    EXPECT_EQ(t.find("nobody"), t.npos);
    uint32_t slots[4];
    for (int i = 0; i < 4; ++i) {
        slots[i] = t.acquire();
        ASSERT_NE(slots[i], t.npos);
        t[slots[i]].id = "call-" + std::to_string(i) + "@host";
        t[slots[i]].payload = i;
        ASSERT_TRUE(t.insert(slots[i]));
    }
    EXPECT_EQ(t.size(), 4u);
    EXPECT_EQ(t.acquire(), t.npos); // full
    for (int i = 0; i < 4; ++i) {
        const uint32_t s = t.find("call-" + std::to_string(i) + "@host");
        ASSERT_NE(s, t.npos);
        EXPECT_EQ(t[s].payload, i);
    }
    t.release(slots[1]);
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.find("call-1@host"), t.npos);
    EXPECT_NE(t.find("call-2@host"), t.npos);
    const uint32_t again = t.acquire();
    EXPECT_EQ(again, slots[1]);
    t[again].id = "new@host";
    ASSERT_TRUE(t.insert(again));
    EXPECT_EQ(t.find("new@host"), again);
}

TEST(LoadgenCallTable, ChurnKeepsEveryLiveCallFindable) {
    constexpr size_t cap = 1000;
    call_table<test_call> t(cap, {7, 9});
    std::vector<uint32_t> live;
    uint64_t next = 0;
    for (int round = 0; round < 20; ++round) {
        while (t.size() < cap) {
            const uint32_t s = t.acquire();
            t[s].id = std::to_string(next++) + "-churn";
            ASSERT_TRUE(t.insert(s));
            live.push_back(s);
        }
        // Release every other live call, then check the rest are all still found.
        std::vector<uint32_t> keep;
        for (size_t i = 0; i < live.size(); ++i) {
            if (i % 2 == 0)
                t.release(live[i]);
            else
                keep.push_back(live[i]);
        }
        live.swap(keep);
        for (uint32_t s : live)
            ASSERT_EQ(t.find(t[s].id), s);
    }
}

TEST(LoadgenOptions, HarnessCommandLine) {
    const char* argv[] = {"tandem-loadgen", "--target",        "127.0.0.1:15060",
                          "--bind",         "127.0.0.1:15080", "--rate",
                          "12000",          "--duration",      "10",
                          "--hold-ms",      "0-1000"};
    options o;
    std::string error;
    ASSERT_EQ(parse_options(11, const_cast<char**>(argv), o, error), 0) << error;
    EXPECT_TRUE(o.run.uac);
    EXPECT_FALSE(o.run.uas);
    EXPECT_EQ(o.run.calls, 120000u);
    EXPECT_EQ(o.run.hold_max_ms, 1000u);
    EXPECT_GT(o.timeout_s, 10 + 1 + 32);
}

TEST(LoadgenOptions, RejectsUnboundedRuns) {
    std::string error;
    auto parse = [&](std::vector<const char*> args) {
        options o; // fresh each time: parsing fills it as it goes
        args.insert(args.begin(), "tandem-loadgen");
        return parse_options(static_cast<int>(args.size()), const_cast<char**>(args.data()), o,
                             error);
    };
    EXPECT_EQ(parse({"--target", "127.0.0.1:1", "--rate", "max"}), -1);
    EXPECT_EQ(parse({"--target", "127.0.0.1:1", "--rate", "100"}), -1);
    EXPECT_EQ(parse({"--target", "127.0.0.1:99999", "--calls", "1"}), -1);
    EXPECT_EQ(parse({"--calls", "1"}), -1);
    EXPECT_EQ(parse({"--uas", "127.0.0.1:5070"}), -1);
    EXPECT_EQ(parse({"--target", "127.0.0.1:1", "--calls", "3", "--hold-ms", "5-1"}), -1);
    EXPECT_EQ(parse({"--target", "127.0.0.1:1", "--rate", "max", "--calls", "3"}), 0);
    EXPECT_EQ(parse({"--uas", "127.0.0.1:5070", "--timeout", "3"}), 0);
}

TEST(LoadgenOptions, Ipv6AddressesInBrackets) {
    net_addr a;
    ASSERT_TRUE(parse_host_port("[::1]:5060", a));
    EXPECT_TRUE(a.is_v6());
    EXPECT_EQ(a.port(), 5060u);
    EXPECT_EQ(a.len(), sizeof(sockaddr_in6));
    EXPECT_EQ(a.hostport_text(), "[::1]:5060");
    ASSERT_TRUE(parse_host_port("[2001:db8::a:1]:0", a));
    EXPECT_EQ(a.ip_text(), "2001:db8::a:1");
    ASSERT_TRUE(parse_host_port("localhost:7", a));
    EXPECT_FALSE(a.is_v6());
    EXPECT_EQ(a.hostport_text(), "127.0.0.1:7");
    EXPECT_FALSE(parse_host_port("::1:5060", a)); // an IPv6 address needs its brackets
    EXPECT_FALSE(parse_host_port("[::1:5060", a));
    EXPECT_FALSE(parse_host_port("[]:5060", a));
    EXPECT_FALSE(parse_host_port("[127.0.0.1]:5060", a));

    std::string error;
    auto parse = [&](std::vector<const char*> args, options& o) {
        args.insert(args.begin(), "tandem-loadgen");
        return parse_options(static_cast<int>(args.size()), const_cast<char**>(args.data()), o,
                             error);
    };
    options o6; // the caller binds the loopback of the target's family
    ASSERT_EQ(parse({"--target", "[::1]:5060", "--calls", "1"}, o6), 0) << error;
    EXPECT_TRUE(o6.run.bind_addr.is_v6());
    EXPECT_EQ(o6.run.bind_addr.hostport_text(), "[::1]:0");
    options o4;
    ASSERT_EQ(parse({"--target", "127.0.0.1:5060", "--calls", "1"}, o4), 0) << error;
    EXPECT_EQ(o4.run.bind_addr.hostport_text(), "127.0.0.1:0");
    options mixed;
    EXPECT_EQ(parse({"--target", "[::1]:5060", "--bind", "127.0.0.1:0", "--calls", "1"}, mixed),
              -1);
    EXPECT_NE(error.find("IPv6"), std::string::npos);
}
