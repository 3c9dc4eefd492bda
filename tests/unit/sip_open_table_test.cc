#include "sip/util/open_table.h"
#include "sip/util/pool.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

using tandem::sip::util::insert_status;
using tandem::sip::util::open_table;
using tandem::sip::util::pool;

TEST(SipOpenTable, InsertFindErase) {
    open_table t(100);
    EXPECT_EQ(t.capacity(), 100u);
    EXPECT_GE(t.slot_count(), 200u);
    ASSERT_EQ(t.insert(0x1234'0000'0000'0001ull, 7), insert_status::ok);
    ASSERT_EQ(t.insert(0x5678'0000'0000'0002ull, 9), insert_status::ok);
    EXPECT_EQ(t.find(0x1234'0000'0000'0001ull, [](uint32_t v) { return v == 7; }), 7u);
    EXPECT_EQ(t.find(0x1234'0000'0000'0001ull, [](uint32_t) { return false; }), open_table::npos);
    EXPECT_EQ(t.find(0x9999'0000'0000'0000ull, [](uint32_t) { return true; }), open_table::npos);
    EXPECT_TRUE(t.erase(0x1234'0000'0000'0001ull, 7));
    EXPECT_FALSE(t.erase(0x1234'0000'0000'0001ull, 7));
    EXPECT_EQ(t.size(), 1u);
}

TEST(SipOpenTable, FullReturnsStatusAndDoesNotGrow) {
    open_table t(4);
    const size_t slots = t.slot_count();
    for (uint32_t i = 0; i < 4; ++i)
        ASSERT_EQ(t.insert(uint64_t{i} << 40, i), insert_status::ok);
    EXPECT_EQ(t.insert(uint64_t{99} << 40, 99), insert_status::full);
    EXPECT_EQ(t.slot_count(), slots);
    EXPECT_TRUE(t.erase(uint64_t{2} << 40, 2));
    EXPECT_EQ(t.insert(uint64_t{99} << 40, 99), insert_status::ok);
}

TEST(SipOpenTable, CollidingHashesSurviveBackwardShiftDeletion) {
    open_table t(16); // 32 slots
    // All share one home slot (same high bits), plus one that wraps around the end.
    for (uint32_t i = 0; i < 6; ++i)
        ASSERT_EQ(t.insert(0xABCD'0000'0000'0000ull | i, i), insert_status::ok);
    const uint64_t wrap = uint64_t{31} << 32; // home = last slot
    ASSERT_EQ(t.insert(wrap, 100), insert_status::ok);
    ASSERT_EQ(t.insert(wrap, 101), insert_status::ok); // wraps to slot 0
    EXPECT_TRUE(t.erase(0xABCD'0000'0000'0000ull, 0));
    EXPECT_TRUE(t.erase(wrap, 100));
    for (uint32_t i = 1; i < 6; ++i)
        EXPECT_EQ(t.find(0xABCD'0000'0000'0000ull, [i](uint32_t v) { return v == i; }), i);
    EXPECT_EQ(t.find(wrap, [](uint32_t v) { return v == 101; }), 101u);
}

TEST(SipOpenTable, RandomChurnMatchesReference) {
    std::mt19937_64 rng(7);
    open_table t(1000);
    std::multimap<uint64_t, uint32_t> ref;
    std::vector<std::pair<uint64_t, uint32_t>> live;
    uint32_t next_value = 0;
    for (int step = 0; step < 200000; ++step) {
        const bool do_insert = live.empty() || (rng() % 2 == 0 && live.size() < 1000);
        if (do_insert) {
            // Few distinct high halves: long clusters and shared tags.
            const uint64_t h =
                (uint64_t{static_cast<uint32_t>(rng() % 3000)} << 32) | (rng() & 0xffff);
            const uint32_t v = next_value++;
            ASSERT_EQ(t.insert(h, v), insert_status::ok);
            ref.emplace(h, v);
            live.emplace_back(h, v);
        } else {
            const size_t k = rng() % live.size();
            const auto [h, v] = live[k];
            ASSERT_TRUE(t.erase(h, v));
            live[k] = live.back();
            live.pop_back();
        }
        if (step % 1000 == 0) {
            for (const auto& [h, v] : live) {
                const uint32_t want = v;
                ASSERT_EQ(t.find(h, [want](uint32_t x) { return x == want; }), want);
            }
        }
    }
    EXPECT_EQ(t.size(), live.size());
}

namespace {
struct obj {
    int a = 5;
    explicit obj(int x = 5) : a(x) {}
};
} // namespace

TEST(SipPool, AllocFreeGenerationAndExhaustion) {
    pool<obj> p(3);
    const uint32_t a = p.alloc(1);
    const uint32_t b = p.alloc(2);
    const uint32_t c = p.alloc();
    ASSERT_NE(a, pool<obj>::npos);
    ASSERT_NE(c, pool<obj>::npos);
    EXPECT_EQ(p[a].a, 1);
    EXPECT_EQ(p[b].a, 2);
    EXPECT_EQ(p[c].a, 5);
    EXPECT_EQ(p.alloc(), pool<obj>::npos);
    EXPECT_EQ(p.size(), 3u);
    const uint32_t gen = p.generation(b);
    p.free(b);
    EXPECT_FALSE(p.live(b));
    EXPECT_NE(p.generation(b), gen);
    const uint32_t d = p.alloc(9);
    EXPECT_EQ(d, b); // LIFO reuse
    EXPECT_EQ(p[d].a, 9);
    EXPECT_TRUE(p.live(d));
    EXPECT_FALSE(p.live(17));
}
