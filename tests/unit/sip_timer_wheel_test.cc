#include "sip/util/timer_wheel.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using tandem::sip::util::tick_t;
using tandem::sip::util::timer;
using tandem::sip::util::timer_wheel;

namespace {

struct fired_at {
    uint64_t data;
    tick_t at;
};

// Steps the wheel one tick at a time so that each expiry is observed at its exact tick.
std::vector<fired_at> run(timer_wheel& w, tick_t from, tick_t to) {
    std::vector<fired_at> out;
    for (tick_t t = from; t <= to; ++t)
        w.advance(t, [&](timer& x) { out.push_back({x.data, t}); });
    return out;
}

} // namespace

TEST(SipTimerWheel, FiresAtItsExactTick) {
    timer_wheel w(0);
    timer a, b, c;
    a.data = 1;
    b.data = 2;
    c.data = 3;
    w.start(a, 500);
    w.start(b, 255);
    w.start(c, 70000); // level 2
    EXPECT_EQ(w.size(), 3u);
    const auto f = run(w, 0, 80000);
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[0].data, 2u);
    EXPECT_EQ(f[0].at, 255u);
    EXPECT_EQ(f[1].data, 1u);
    EXPECT_EQ(f[1].at, 500u);
    EXPECT_EQ(f[2].data, 3u);
    EXPECT_EQ(f[2].at, 70000u);
    EXPECT_EQ(w.size(), 0u);
    EXPECT_FALSE(a.armed());
}

TEST(SipTimerWheel, CancelPreventsFiringAndRestartMoves) {
    timer_wheel w(0);
    timer a, b;
    a.data = 1;
    b.data = 2;
    w.start(a, 100);
    w.start(b, 200);
    w.cancel(a);
    w.cancel(a); // no-op
    EXPECT_FALSE(a.armed());
    w.start(b, 50); // re-arm earlier
    const auto f = run(w, 0, 1000);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].data, 2u);
    EXPECT_EQ(f[0].at, 50u);
}

TEST(SipTimerWheel, PastExpiryFiresOnNextAdvance) {
    timer_wheel w(1000);
    timer a;
    w.start(a, 10);
    size_t n = w.advance(1000, [](timer&) {});
    EXPECT_EQ(n, 1u);
}

TEST(SipTimerWheel, FireMayRearmAndCancelOthers) {
    timer_wheel w(0);
    timer a, b;
    a.data = 1;
    b.data = 2;
    w.start(a, 10);
    w.start(b, 10);
    std::vector<fired_at> seen;
    int rearms = 0;
    for (tick_t t = 0; t <= 100; ++t) {
        w.advance(t, [&](timer& x) {
            seen.push_back({x.data, t});
            if (&x == &a) {
                w.cancel(b); // b sits in the same slot being walked
                if (rearms++ < 2) w.start(a, t + 20);
            }
        });
    }
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].at, 10u);
    EXPECT_EQ(seen[1].at, 30u);
    EXPECT_EQ(seen[2].at, 50u);
    for (const auto& s : seen)
        EXPECT_EQ(s.data, 1u);
}

TEST(SipTimerWheel, HoursLongTimersAndOverflowList) {
    timer_wheel w(0);
    timer hours, beyond;
    w.start(hours, 3ull * 3600 * 1000);       // 3 h at 1 ms ticks: level 3
    w.start(beyond, (tick_t{1} << 32) + 777); // past the 4 levels: overflow list
    // Jump in big steps (a shard that was idle); expiries must still come at the right tick.
    tick_t fired_hours = 0, fired_beyond = 0;
    for (tick_t t = 0; t <= (tick_t{1} << 32) + 1000; t += 1) {
        if (t > 3ull * 3600 * 1000 + 10 && t < (tick_t{1} << 32) - 10) t = (tick_t{1} << 32) - 10;
        w.advance(t, [&](timer& x) {
            if (&x == &hours) fired_hours = t;
            if (&x == &beyond) fired_beyond = t;
        });
    }
    EXPECT_EQ(fired_hours, 3ull * 3600 * 1000);
    EXPECT_EQ(fired_beyond, (tick_t{1} << 32) + 777);
}

TEST(SipTimerWheel, RandomScheduleMatchesReference) {
    std::mt19937_64 rng(42);
    timer_wheel w(0);
    constexpr size_t n = 2000;
    auto timers = std::make_unique<timer[]>(n);
    std::map<size_t, tick_t> expect; // index -> expiry (armed ones)
    std::vector<fired_at> got;
    tick_t now = 0;
    for (int round = 0; round < 400; ++round) {
        for (int k = 0; k < 10; ++k) {
            const size_t i = rng() % n;
            const int op = static_cast<int>(rng() % 4);
            if (op == 0) {
                w.cancel(timers[i]);
                expect.erase(i);
            } else {
                // Mix of short, medium and long delays, crossing every level boundary.
                const tick_t d = op == 1 ? rng() % 300 : op == 2 ? rng() % 70000 : rng() % 300000;
                timers[i].data = i;
                w.start(timers[i], now + d);
                expect[i] = now + d;
            }
        }
        const tick_t next = now + 1 + rng() % 1500;
        for (tick_t t = now; t < next; ++t)
            w.advance(t, [&](timer& x) { got.push_back({x.data, t}); });
        now = next;
        for (const auto& f : got) {
            auto it = expect.find(f.data);
            ASSERT_NE(it, expect.end()) << "fired a cancelled timer " << f.data;
            ASSERT_EQ(it->second, f.at) << "timer " << f.data;
            expect.erase(it);
        }
        got.clear();
        for (const auto& [i, at] : expect)
            ASSERT_GE(at, now) << "timer " << i << " missed";
        ASSERT_EQ(w.size(), expect.size());
    }
}

TEST(SipTimerWheel, BigJumpsFireEverythingDueInOrderAndNothingEarly) {
    std::mt19937_64 rng(99);
    timer_wheel w(0);
    constexpr size_t n = 3000;
    auto timers = std::make_unique<timer[]>(n);
    std::map<size_t, tick_t> expect;
    tick_t now = 0;
    for (int round = 0; round < 300; ++round) {
        for (int k = 0; k < 20; ++k) {
            const size_t i = rng() % n;
            if (rng() % 5 == 0) {
                w.cancel(timers[i]);
                expect.erase(i);
                continue;
            }
            const unsigned shift = static_cast<unsigned>(rng() % 34); // up to 2^33: overflow too
            const tick_t d = rng() % ((tick_t{1} << shift) + 1);
            timers[i].data = i;
            w.start(timers[i], now + d);
            expect[i] = now + d;
        }
        const tick_t target = now + (rng() % ((tick_t{1} << (rng() % 33)) + 1));
        tick_t last = 0;
        w.advance(target, [&](timer& x) {
            auto it = expect.find(x.data);
            ASSERT_NE(it, expect.end());
            EXPECT_EQ(it->second, x.expire);
            EXPECT_LE(x.expire, target);
            EXPECT_GE(x.expire, last);
            last = x.expire;
            expect.erase(it);
        });
        now = target + 1;
        for (const auto& [i, at] : expect)
            ASSERT_GT(at, target) << "timer " << i << " is late";
        ASSERT_EQ(w.size(), expect.size());
    }
}

TEST(SipTimerWheel, NextDueIsNeverLaterThanTheFirstExpiryAndExactWithinTheRotation) {
    timer_wheel w(1000);
    EXPECT_EQ(w.next_due(), tandem::sip::util::no_timer);
    timer a, b;
    w.start(a, 1010);
    EXPECT_EQ(w.next_due(), 1010u); // same rotation (ticks 1000..1023): exact
    w.start(b, 1005);
    EXPECT_EQ(w.next_due(), 1005u);
    w.cancel(b);
    EXPECT_LE(w.next_due(), 1010u); // a cancelled slot may leave it early, never late
    w.start(b, 40000); // a later rotation: the boundary that can cascade it down is a bound
    EXPECT_EQ(w.advance(1010, [](timer&) {}), 1u);
    const tick_t bound = w.next_due();
    EXPECT_GT(bound, 1010u);
    EXPECT_LE(bound, 40000u);
    EXPECT_EQ(bound % timer_wheel::slots, 0u);
    w.cancel(b);
    EXPECT_EQ(w.next_due(), tandem::sip::util::no_timer);

    // Random schedules: nothing ever fires before next_due(), and sleeping from one next_due()
    // to the next reaches every timer at its exact tick.
    std::mt19937_64 rng(7);
    constexpr size_t n = 500;
    auto timers = std::make_unique<timer[]>(n);
    timer_wheel r(0);
    std::map<size_t, tick_t> expect;
    tick_t now = 0;
    for (int round = 0; round < 200; ++round) {
        for (int k = 0; k < 5; ++k) {
            const size_t i = rng() % n;
            if (rng() % 4 == 0) {
                r.cancel(timers[i]);
                expect.erase(i);
                continue;
            }
            const tick_t d = rng() % ((tick_t{1} << (rng() % 20)) + 1);
            timers[i].data = i;
            r.start(timers[i], now + d);
            expect[i] = now + d;
        }
        const tick_t due = r.next_due();
        tick_t first = tandem::sip::util::no_timer;
        for (const auto& [i, at] : expect)
            first = std::min(first, at);
        ASSERT_LE(due, first);
        ASSERT_GE(due, now);
        if (due == tandem::sip::util::no_timer) continue;
        if (due > now) {
            ASSERT_EQ(r.advance(due - 1, [](timer&) {}), 0u) << "fired before next_due()";
        }
        r.advance(due, [&](timer& x) {
            ASSERT_EQ(expect.at(x.data), due);
            expect.erase(x.data);
        });
        now = due + 1;
    }
}

TEST(SipTimerWheel, AheadSeesTheNextTimerOfTheSameTickBeforeTheCurrentFires) {
    timer_wheel w(0);
    timer t[4];
    for (uint64_t i = 0; i < 4; ++i) {
        t[i].data = i;
        w.start(t[i], i < 3 ? 5 : 6);
    }
    std::vector<std::string> events;
    w.advance(
        10, [&](timer& x) { events.push_back("fire " + std::to_string(x.data)); },
        [&](timer& x) { events.push_back("ahead " + std::to_string(x.data)); });
    const std::vector<std::string> expect = {"ahead 1", "fire 0", "ahead 2",
                                             "fire 1",  "fire 2", "fire 3"};
    EXPECT_EQ(events, expect);
}
