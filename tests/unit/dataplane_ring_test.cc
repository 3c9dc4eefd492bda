// SPSC ring hand-over (order, bursts, full ring, two threads) and the snapshot publisher with
// its epoch registry (an old snapshot is freed only after every shard passed a quiescent point).

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/epoch.h"
#include "dataplane/snapshot.h"
#include "dataplane/spsc_ring.h"

namespace {

using tandem::dataplane::epoch_registry;
using tandem::dataplane::snapshot_publisher;
using tandem::dataplane::spsc_ring;

TEST(DataplaneRing, CapacityRoundsUpToAPowerOfTwo) {
    spsc_ring<int*> r(1000);
    EXPECT_EQ(r.capacity(), 1024u);
    spsc_ring<int*> tiny(0);
    EXPECT_EQ(tiny.capacity(), 2u);
}

TEST(DataplaneRing, BurstsKeepOrderAndAShortCountMeansFull) {
    spsc_ring<uintptr_t> r(8);
    std::vector<uintptr_t> in(12);
    for (size_t i = 0; i < in.size(); ++i) {
        in[i] = i + 1;
    }
    EXPECT_EQ(r.enqueue_burst(in.data(), 5), 5u);
    EXPECT_EQ(r.enqueue_burst(in.data() + 5, 7), 3u); // only 3 slots left
    EXPECT_EQ(r.size(), 8u);
    EXPECT_FALSE(r.enqueue(99));
    uintptr_t out[16] = {};
    EXPECT_EQ(r.dequeue_burst(out, 3), 3u);
    EXPECT_EQ(out[0], 1u);
    EXPECT_EQ(out[2], 3u);
    EXPECT_EQ(r.dequeue_burst(out, 16), 5u);
    EXPECT_EQ(out[0], 4u);
    EXPECT_EQ(out[4], 8u);
    EXPECT_EQ(r.dequeue_burst(out, 16), 0u);
    uintptr_t one = 0;
    EXPECT_FALSE(r.dequeue(one));
    // Wrap around many times.
    for (uintptr_t i = 0; i < 100; ++i) {
        ASSERT_TRUE(r.enqueue(i));
        ASSERT_TRUE(r.dequeue(one));
        ASSERT_EQ(one, i);
    }
}

TEST(DataplaneRing, HandOverBetweenThreadsLosesNothing) {
    constexpr uint64_t total = 200000;
    spsc_ring<uint64_t> r(64);
    std::thread producer([&] {
        uint64_t next = 0;
        uint64_t batch[16];
        while (next < total) {
            uint32_t n = 0;
            while (n < 16 && next + n < total) {
                batch[n] = next + n;
                ++n;
            }
            next += r.enqueue_burst(batch, n);
        }
    });
    uint64_t expect = 0;
    uint64_t buf[32];
    while (expect < total) {
        const uint32_t n = r.dequeue_burst(buf, 32);
        for (uint32_t i = 0; i < n; ++i) {
            ASSERT_EQ(buf[i], expect);
            ++expect;
        }
    }
    producer.join();
    EXPECT_EQ(r.size(), 0u);
}

struct tracked {
    explicit tracked(int v, std::atomic<int>* deaths) : value(v), _deaths(deaths) {}
    ~tracked() { _deaths->fetch_add(1); }
    tracked(const tracked&) = delete;
    tracked& operator=(const tracked&) = delete;
    int value;

private:
    std::atomic<int>* _deaths;
};

TEST(DataplaneSnapshot, OldSnapshotLivesUntilEveryShardPassedAQuiescentPoint) {
    std::atomic<int> deaths{0};
    epoch_registry registry(3);
    for (uint32_t i = 0; i < 3; ++i) {
        registry.quiescent(i);
    }
    {
        snapshot_publisher<tracked> pub(registry);
        EXPECT_EQ(pub.current(), nullptr);
        EXPECT_EQ(pub.publish(std::make_unique<tracked>(1, &deaths)), 1u);
        EXPECT_EQ(pub.pending(), 0u); // nothing retired yet
        const tracked* seen_by_shard1 = pub.current();
        ASSERT_NE(seen_by_shard1, nullptr);

        EXPECT_EQ(pub.publish(std::make_unique<tracked>(2, &deaths)), 2u);
        EXPECT_EQ(pub.current()->value, 2);
        EXPECT_EQ(pub.pending(), 1u);
        EXPECT_EQ(deaths.load(), 0);

        registry.quiescent(0);
        registry.quiescent(2);
        EXPECT_EQ(pub.reclaim(), 1u);
        EXPECT_EQ(deaths.load(), 0);
        EXPECT_EQ(seen_by_shard1->value, 1); // still valid for shard 1

        registry.quiescent(1);
        EXPECT_EQ(pub.reclaim(), 0u);
        EXPECT_EQ(deaths.load(), 1);

        // An offline shard does not hold reclamation back.
        registry.offline(2);
        (void)pub.publish(std::make_unique<tracked>(3, &deaths));
        registry.quiescent(0);
        EXPECT_EQ(pub.reclaim(), 1u);
        registry.quiescent(1);
        EXPECT_EQ(pub.reclaim(), 0u);
        EXPECT_EQ(deaths.load(), 2);
        EXPECT_EQ(pub.version(), 3u);
    }
    EXPECT_EQ(deaths.load(), 3); // the destructor frees the current one
}

TEST(DataplaneSnapshot, ReadersNeverSeeAFreedSnapshot) {
    // Two reader threads use the snapshot between quiescent points while control publishes;
    // each snapshot checks that it is alive when read (under ASan a use-after-free also fails).
    struct snap {
        uint64_t magic = 0x5a5a5a5a;
        uint64_t version = 0;
        ~snap() { magic = 0; }
    };
    epoch_registry registry(2);
    snapshot_publisher<snap> pub(registry);
    (void)pub.publish(std::make_unique<snap>());
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> bad{0};
    std::vector<std::thread> readers;
    for (uint32_t id = 0; id < 2; ++id) {
        readers.emplace_back([&, id] {
            while (!stop.load(std::memory_order_relaxed)) {
                const snap* s = pub.current();
                for (int i = 0; i < 100; ++i) {
                    if (s->magic != 0x5a5a5a5a) {
                        bad.fetch_add(1);
                    }
                }
                registry.quiescent(id);
            }
            registry.offline(id);
        });
    }
    for (uint64_t v = 1; v <= 2000; ++v) {
        auto next = std::make_unique<snap>();
        next->version = v;
        (void)pub.publish(std::move(next));
    }
    stop.store(true);
    for (auto& t : readers) {
        t.join();
    }
    EXPECT_EQ(pub.reclaim(), 0u);
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_EQ(pub.current()->version, 2000u);
}

} // namespace
