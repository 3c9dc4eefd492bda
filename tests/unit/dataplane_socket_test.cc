// The socket backend over loopback: the echo handler answers a datagram; with two shards a
// packet that arrives on the wrong shard is handed over and answered by its owner; the runtime
// starts, steers, takes commands, lets snapshots be reclaimed, reports bind failures and stops.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.h"
#include "dataplane/echo_handler.h"
#include "dataplane/runtime.h"
#include "dataplane/shard.h"
#include "dataplane/snapshot.h"
#include "dataplane/socket_io.h"
#include "tandem_build_config.h"
#if TANDEM_HAVE_PCAP
#include <pcap/pcap.h>
#endif

// A debug hook for "the loop never allocates": while `count_allocations` is set on a thread,
// every operator new there is counted.
namespace {
thread_local bool count_allocations = false;
thread_local uint64_t allocations = 0;
} // namespace

// noinline: GCC 12 otherwise flags the malloc/free pair inlined into new/delete call sites.
__attribute__((noinline)) void* operator new(std::size_t n) {
    if (count_allocations) {
        ++allocations;
    }
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept {
    std::free(p);
}
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace {

using namespace tandem::dataplane;
using tandem::sip::endpoint;

sockaddr_storage loopback(int family, uint16_t port, socklen_t& len) {
    sockaddr_storage ss{};
    if (family == AF_INET6) {
        auto& a = reinterpret_cast<sockaddr_in6&>(ss);
        a.sin6_family = AF_INET6;
        a.sin6_addr = in6addr_loopback;
        a.sin6_port = htons(port);
        len = sizeof(sockaddr_in6);
    } else {
        auto& a = reinterpret_cast<sockaddr_in&>(ss);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        len = sizeof(sockaddr_in);
    }
    return ss;
}

// A test peer: one UDP socket on loopback.
class peer {
public:
    explicit peer(int family = AF_INET) : _family(family) {
        _fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        socklen_t len = 0;
        const sockaddr_storage ss = loopback(family, 0, len);
        _ok = _fd >= 0 && bind(_fd, reinterpret_cast<const sockaddr*>(&ss), len) == 0;
    }
    ~peer() {
        if (_fd >= 0) {
            close(_fd);
        }
    }
    peer(const peer&) = delete;
    peer& operator=(const peer&) = delete;
    [[nodiscard]] bool ok() const { return _ok; }
    [[nodiscard]] int fd() const { return _fd; }

    bool send_to(uint16_t port, const std::string& payload) const {
        socklen_t len = 0;
        const sockaddr_storage ss = loopback(_family, port, len);
        return sendto(_fd, payload.data(), payload.size(), 0,
                      reinterpret_cast<const sockaddr*>(&ss),
                      len) == static_cast<ssize_t>(payload.size());
    }
    // Non-blocking receive; empty when nothing is there.
    std::string try_receive(uint16_t* from_port = nullptr) const {
        char buf[9000];
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        const ssize_t n =
            recvfrom(_fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) {
            return {};
        }
        if (from_port != nullptr) {
            *from_port = to_endpoint(from).port;
        }
        return {buf, static_cast<size_t>(n)};
    }
    // Blocking receive with a bounded wait (for replies from shard threads).
    std::string receive(int timeout_ms = 3000) const {
        pollfd p{_fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) != 1) {
            return {};
        }
        return try_receive();
    }

private:
    int _family;
    int _fd = -1;
    bool _ok = false;
};

// A Call-ID in sip::util::id_generator's format for `shard` (20 base32 chars from `n`).
std::string minted_call_id(uint32_t shard, int n) {
    std::string r = std::to_string(n);
    r.insert(0, 20 - r.size(), 'a');
    return std::to_string(shard) + "-" + r + "@tandem";
}

std::string sip_options(const std::string& call_id) {
    return "OPTIONS sip:tandem@127.0.0.1 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKpeer\r\n"
           "Call-ID: " +
           call_id +
           "\r\n"
           "CSeq: 1 OPTIONS\r\n"
           "Content-Length: 0\r\n\r\n";
}

// A shard with one socket on loopback, polled by the test thread.
struct socket_shard {
    std::unique_ptr<shard> s;
    uint16_t port = 0;
    echo_handler* handler = nullptr;
};

// A UDP socket bound to an ephemeral loopback port of `family`; `local` gets its address.
int loopback_socket(int family, endpoint& local) {
    socklen_t len = 0;
    const sockaddr_storage ss = loopback(family, 0, len);
    std::string error;
    const int fd = open_udp_socket(ss, len, error);
    EXPECT_GE(fd, 0) << error;
    local = to_endpoint(ss);
    local.port = fd >= 0 ? bound_port(fd) : 0;
    return fd;
}

socket_shard make_shard(uint32_t id, uint32_t count, shard_mesh* mesh, int family = AF_INET,
                        uint64_t tick_interval_ns = 1000000) {
    socket_shard out;
    endpoint local;
    const int fd = loopback_socket(family, local);
    out.port = local.port;
    socket_io_options o;
    o.pool_size = 64;
    o.buffer_size = 2048;
    auto handler = std::make_unique<echo_handler>();
    out.handler = handler.get();
    shard_options so;
    so.sleep_when_idle = false;
    so.tick_interval_ns = tick_interval_ns;
    out.s = std::make_unique<shard>(
        id, count, so,
        std::make_unique<socket_io>(std::vector<int>{fd}, std::vector<endpoint>{local}, o),
        std::move(handler), mesh, nullptr);
    return out;
}

// Polls the shards until the peer has a reply (bounded).
std::string poll_until_reply(const peer& p, std::vector<shard*> shards, uint16_t* from = nullptr) {
    for (int i = 0; i < 20000; ++i) {
        for (shard* s : shards) {
            (void)s->poll_once();
        }
        std::string r = p.try_receive(from);
        if (!r.empty()) {
            return r;
        }
        if (i > 100) {
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    }
    return {};
}

TEST(DataplaneSocket, EchoOverIpv4Loopback) {
    socket_shard sh = make_shard(0, 1, nullptr);
    peer client;
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(client.send_to(sh.port, "hello"));
    uint16_t from = 0;
    EXPECT_EQ(poll_until_reply(client, {sh.s.get()}, &from), "shard=0 hello");
    EXPECT_EQ(from, sh.port);
    const auto& c = sh.s->counters();
    EXPECT_EQ(c.rx_packets.get(), 1u);
    EXPECT_EQ(c.rx_bytes.get(), 5u);
    EXPECT_EQ(c.tx_packets.get(), 1u);
    EXPECT_EQ(c.handled.get(), 1u);
    // All returned: in the pool, or posted for the next receive.
    const auto& sio = static_cast<socket_io&>(sh.s->io());
    EXPECT_EQ(sio.pool().available() + sio.rx_posted(), 64u);
}

// busy_ns is what a polling core's traffic costs: idle iterations add nothing, work adds time.
TEST(DataplaneSocket, BusyTimeCountsOnlyIterationsThatDidWork) {
    constexpr uint64_t hour_ns = 3600ull * 1000000000ull;
    socket_shard sh = make_shard(0, 1, nullptr, AF_INET, hour_ns);
    (void)sh.s->poll_once(); // the first iteration runs the handler's tick
    const auto& c = sh.s->counters();
    const uint64_t after_tick = c.busy_ns.get();
    for (int i = 0; i < 1000; ++i)
        EXPECT_EQ(sh.s->poll_once(), 0u);
    EXPECT_EQ(c.busy_ns.get(), after_tick);
    EXPECT_EQ(c.loops.get(), 1001u);
    peer client;
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(client.send_to(sh.port, "hello"));
    EXPECT_EQ(poll_until_reply(client, {sh.s.get()}), "shard=0 hello");
    EXPECT_GT(c.busy_ns.get(), after_tick);
}

// A socket_io on a fresh loopback socket with its own counters, outside any shard (null `io` if
// the socket could not be opened).
struct lone_io {
    endpoint local;
    shard_counters counters;
    std::unique_ptr<socket_io> io;

    lone_io(uint32_t burst, uint32_t pool_size) {
        const int fd = loopback_socket(AF_INET, local);
        if (fd < 0) {
            return;
        }
        socket_io_options o;
        o.burst = burst;
        o.pool_size = pool_size;
        o.buffer_size = 2048;
        io = std::make_unique<socket_io>(std::vector<int>{fd}, std::vector<endpoint>{local}, o);
        io->bind(counters, 0);
    }
};

// The sleeping loop needs no extra receive call to learn that a socket is empty: a burst that
// came back short says so, and so does a wait that timed out. Neither may lose a datagram that
// arrives in between: readiness is level-triggered, so the next wait returns at once.
TEST(DataplaneSocket, ReceiveReportsWhenTheSocketsAreDrained) {
    lone_io lone(4, 16);
    ASSERT_NE(lone.io, nullptr);
    socket_io& io = *lone.io;
    const endpoint& local = lone.local;
    shard_counters& counters = lone.counters;
    peer client;
    ASSERT_TRUE(client.ok());
    pkt_buf* got[8];
    auto free_all = [&](uint32_t n) {
        for (uint32_t i = 0; i < n; ++i)
            io.free(got[i]);
    };

    // Loopback delivery is synchronous: once send_to returns, the datagram is queued.
    for (int i = 0; i < 2; ++i)
        ASSERT_TRUE(client.send_to(local.port, "a"));
    uint32_t n = io.rx_burst(got, 8);
    EXPECT_EQ(n, 2u);
    EXPECT_TRUE(io.rx_drained());
    free_all(n);

    for (int i = 0; i < 6; ++i)
        ASSERT_TRUE(client.send_to(local.port, "b"));
    n = io.rx_burst(got, 8); // a full burst of 4: there may be more
    EXPECT_EQ(n, 4u);
    EXPECT_FALSE(io.rx_drained());
    free_all(n);
    n = io.rx_burst(got, 8);
    EXPECT_EQ(n, 2u);
    EXPECT_TRUE(io.rx_drained());
    free_all(n);

    // A wait that times out saw nothing; the next burst skips the sockets even though a datagram
    // arrived meanwhile, and the wait after it returns at once for that datagram.
    io.idle_wait(1000000);
    ASSERT_TRUE(client.send_to(local.port, "c"));
    EXPECT_EQ(io.rx_burst(got, 8), 0u);
    EXPECT_TRUE(io.rx_drained());
    const auto t0 = std::chrono::steady_clock::now();
    io.idle_wait(5000000000ull);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
    n = io.rx_burst(got, 8);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(got[0]->data), got[0]->len), "c");
    free_all(n);
    EXPECT_EQ(counters.rx_packets.get(), 9u);
    EXPECT_EQ(io.pool().available() + io.rx_posted(), 16u);
    EXPECT_EQ(io.rx_posted(), 3u); // the last burst posted 4; its packet left one slot empty
}

// Receive buffers stay posted between bursts: a burst allocates only for the slots the last one
// used, and a pool with nothing left leaves the datagrams queued in the socket (counted), to be
// received once buffers come back.
TEST(DataplaneSocket, ReceiveBuffersStayPostedBetweenBursts) {
    lone_io lone(4, 6);
    ASSERT_NE(lone.io, nullptr);
    socket_io& io = *lone.io;
    const endpoint& local = lone.local;
    shard_counters& counters = lone.counters;
    peer client;
    ASSERT_TRUE(client.ok());
    pkt_buf* got[4];

    EXPECT_EQ(io.rx_burst(got, 4), 0u);
    EXPECT_EQ(io.rx_posted(), 4u);
    EXPECT_EQ(io.pool().available(), 2u);

    ASSERT_TRUE(client.send_to(local.port, "one"));
    ASSERT_EQ(io.rx_burst(got, 4), 1u);
    EXPECT_EQ(io.rx_posted(), 3u);
    pkt_buf* held = got[0]; // kept: 5 of the 6 buffers are out of the pool now
    EXPECT_EQ(io.pool().available(), 2u);

    // Three datagrams: the burst tops the slots up (one allocation) and takes all three.
    for (const char* text : {"a", "b", "c"})
        ASSERT_TRUE(client.send_to(local.port, text));
    ASSERT_EQ(io.rx_burst(got, 4), 3u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(got[2]->data), got[2]->len), "c");
    EXPECT_EQ(io.rx_posted(), 1u);
    EXPECT_EQ(io.pool().available(), 1u);
    pkt_buf* held3[3] = {got[0], got[1], got[2]};

    // Three more, and two buffers to receive them into (the one still posted and the pool's
    // last): two received, then nothing is posted and the pool is empty.
    ASSERT_TRUE(client.send_to(local.port, "d"));
    ASSERT_TRUE(client.send_to(local.port, "e"));
    ASSERT_TRUE(client.send_to(local.port, "f"));
    ASSERT_EQ(io.rx_burst(got, 4), 2u);
    EXPECT_EQ(io.rx_posted(), 0u);
    EXPECT_EQ(io.pool().available(), 0u);
    pkt_buf* held2[2] = {got[0], got[1]};
    EXPECT_EQ(counters.rx_no_buffer.get(), 0u);
    EXPECT_EQ(io.rx_burst(got, 4), 0u); // "f" waits in the socket
    EXPECT_EQ(counters.rx_no_buffer.get(), 1u);
    EXPECT_FALSE(io.rx_drained());

    io.free(held3[0]);
    ASSERT_EQ(io.rx_burst(got, 4), 1u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(got[0]->data), got[0]->len), "f");
    // Every packet carries its sender's address, whichever slot and burst it came through.
    EXPECT_NE(held->remote.port, 0);
    for (const pkt_buf* b : {got[0], held3[1], held3[2], held2[0], held2[1]})
        EXPECT_EQ(b->remote, held->remote);
    io.free(held);
    io.free(got[0]);
    io.free(held3[1]);
    io.free(held3[2]);
    for (pkt_buf* b : held2)
        io.free(b);
    EXPECT_EQ(io.pool().available() + io.rx_posted(), 6u);
    EXPECT_EQ(counters.rx_packets.get(), 7u);
}

// A handler whose only timer is what the test says.
class timer_handler final : public packet_handler {
public:
    void on_packet(shard_context&, const rx_packet&) override {}
    void on_tick(shard_context&, uint64_t now_ns) override { ticks.push_back(now_ns); }
    [[nodiscard]] uint64_t next_timer_ns() const noexcept override { return due; }
    uint64_t due = no_timer_ns;
    std::vector<uint64_t> ticks;
};

// An idle shard in wait mode sleeps until its handler's next timer (plus one tick of slack), or
// for max_sleep_ns when none is armed: not once a tick. While asleep it is offline to the epoch
// registry, and back online when it wakes.
TEST(DataplaneSocket, AnIdleShardSleepsUntilItsNextTimer) {
    endpoint local;
    const int fd = loopback_socket(AF_INET, local);
    ASSERT_GE(fd, 0);
    socket_io_options o;
    o.pool_size = 16;
    o.buffer_size = 2048;
    o.wait = true;
    auto io = std::make_unique<socket_io>(std::vector<int>{fd}, std::vector<endpoint>{local}, o);
    socket_io& sio = *io;
    auto owned = std::make_unique<timer_handler>();
    timer_handler& h = *owned;
    shard_options so;
    so.sleep_when_idle = true;
    so.tick_interval_ns = 1000000; // 1 ms
    so.max_sleep_ns = 400000000;   // 400 ms
    epoch_registry registry(1);
    shard sh(0, 1, so, std::move(io), std::move(owned), nullptr, &registry);
    using clock = std::chrono::steady_clock;
    const auto ms = [](clock::duration d) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };

    // No timer: one tick (the first iteration's), then one sleep of max_sleep_ns.
    auto t0 = clock::now();
    (void)sh.poll_once();
    EXPECT_GE(ms(clock::now() - t0), 395);
    EXPECT_EQ(h.ticks.size(), 1u);
    EXPECT_EQ(sh.counters().idle_waits.get(), 1u);
    EXPECT_EQ(registry.seen(0), registry.epoch()); // online again

    // A timer 30 ms out: the shard wakes once, just after it, and the next iteration runs it.
    h.due = sio.now_ns() + 30000000;
    t0 = clock::now();
    (void)sh.poll_once();
    const auto slept = ms(clock::now() - t0);
    EXPECT_GE(slept, 29);
    EXPECT_LT(slept, 350); // woke for the timer, not at max_sleep_ns (a loaded machine is late)
    (void)sh.poll_once();
    ASSERT_FALSE(h.ticks.empty());
    EXPECT_GE(h.ticks.back(), h.due);
    EXPECT_EQ(sh.counters().idle_waits.get(), 3u);

    // Asleep: offline to the registry (a snapshot retired now need not wait for it).
    h.due = timer_handler::no_timer_ns;
    std::thread loop([&] { (void)sh.poll_once(); });
    uint64_t seen = 0;
    for (int i = 0; i < 500 && (seen = registry.seen(0)) != ~uint64_t{0}; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(seen, ~uint64_t{0});
    const uint64_t epoch = registry.advance();
    sh.wake();
    loop.join();
    EXPECT_EQ(registry.seen(0), epoch);
}

TEST(DataplaneSocket, EchoOverIpv6Loopback) {
    peer client(AF_INET6);
    if (!client.ok()) {
        GTEST_SKIP() << "no IPv6 loopback on this machine";
    }
    socket_shard sh = make_shard(0, 1, nullptr, AF_INET6);
    ASSERT_TRUE(client.send_to(sh.port, "six"));
    EXPECT_EQ(poll_until_reply(client, {sh.s.get()}), "shard=0 six");
}

TEST(DataplaneSocket, OversizedDatagramIsCountedAndDropped) {
    socket_shard sh = make_shard(0, 1, nullptr);
    peer client;
    ASSERT_TRUE(client.send_to(sh.port, std::string(3000, 'x'))); // buffers are 2048 bytes
    ASSERT_TRUE(client.send_to(sh.port, "small"));
    EXPECT_EQ(poll_until_reply(client, {sh.s.get()}), "shard=0 small");
    EXPECT_EQ(sh.s->counters().rx_truncated.get(), 1u);
}

TEST(DataplaneSocket, WrongShardHandsOverToTheOwner) {
    shard_mesh mesh(2, 16, 64);
    socket_shard s0 = make_shard(0, 2, &mesh);
    socket_shard s1 = make_shard(1, 2, &mesh);
    peer client;
    // Arrives on shard 0's socket, but the minted Call-ID says shard 1.
    const std::string msg = sip_options(minted_call_id(1, 1));
    ASSERT_TRUE(client.send_to(s0.port, msg));
    uint16_t from = 0;
    EXPECT_EQ(poll_until_reply(client, {s0.s.get(), s1.s.get()}, &from), "shard=1 " + msg);
    EXPECT_EQ(from, s1.port); // the owner answers from its own socket
    EXPECT_EQ(s0.s->counters().steered_out.get(), 1u);
    EXPECT_EQ(s1.s->counters().steered_in.get(), 1u);
    EXPECT_EQ(s0.s->counters().handled.get(), 0u);
    EXPECT_EQ(s1.s->counters().handled.get(), 1u);
    // Shard 1 gave the buffer back; shard 0 frees it on its next iteration.
    (void)s0.s->poll_once();
    const auto& sio = static_cast<socket_io&>(s0.s->io());
    EXPECT_EQ(sio.pool().available() + sio.rx_posted(), 64u);

    // Its own packets stay on shard 0.
    const std::string mine = sip_options(minted_call_id(0, 2));
    ASSERT_TRUE(client.send_to(s0.port, mine));
    EXPECT_EQ(poll_until_reply(client, {s0.s.get(), s1.s.get()}), "shard=0 " + mine);
    EXPECT_EQ(s0.s->counters().steered_out.get(), 1u);
}

TEST(DataplaneSocket, TheLoopDoesNotAllocate) {
    shard_mesh mesh(2, 16, 64);
    socket_shard s0 = make_shard(0, 2, &mesh);
    socket_shard s1 = make_shard(1, 2, &mesh);
    peer client;
    const std::string local = sip_options(minted_call_id(0, 3));
    const std::string remote = sip_options(minted_call_id(1, 4));
    // Warm up (first-use paths outside the loop: lazy PLT binding, gtest internals).
    ASSERT_TRUE(client.send_to(s0.port, local));
    ASSERT_FALSE(poll_until_reply(client, {s0.s.get(), s1.s.get()}).empty());
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(client.send_to(s0.port, i % 2 ? local : remote));
    }
    count_allocations = true;
    uint64_t answered = 0;
    char buf[2048];
    for (int i = 0; i < 20000 && answered < 20; ++i) {
        (void)s0.s->poll_once();
        (void)s1.s->poll_once();
        while (recv(client.fd(), buf, sizeof buf, MSG_DONTWAIT) > 0) {
            ++answered;
        }
    }
    count_allocations = false;
    EXPECT_EQ(answered, 20u);
    EXPECT_EQ(allocations, 0u);
    EXPECT_GT(s1.s->counters().steered_in.get(), 0u);
}

TEST(DataplaneSocket, FullRingIsCountedAndDropped) {
    shard_mesh mesh(2, 2, 64); // room for two packets
    socket_shard s0 = make_shard(0, 2, &mesh);
    socket_shard s1 = make_shard(1, 2, &mesh);
    peer client;
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(client.send_to(s0.port, sip_options(minted_call_id(1, 100 + i))));
    }
    // Only shard 0 runs until all five arrived: three find the ring full.
    for (int i = 0; i < 20000 && s0.s->counters().rx_packets.get() < 5; ++i) {
        (void)s0.s->poll_once();
        if (i > 100) {
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    }
    EXPECT_EQ(s0.s->counters().rx_packets.get(), 5u);
    EXPECT_EQ(s0.s->counters().steered_out.get(), 2u);
    EXPECT_EQ(s0.s->counters().ring_full.get(), 3u);
    (void)s1.s->poll_once();
    EXPECT_EQ(s1.s->counters().handled.get(), 2u);
    (void)s0.s->poll_once();
    const auto& sio = static_cast<socket_io&>(s0.s->io());
    EXPECT_EQ(sio.pool().available() + sio.rx_posted(), 64u);
}

tandem::config::config loopback_config(uint32_t workers) {
    tandem::config::config cfg;
    tandem::config::listen_address l;
    l.host = "127.0.0.1";
    l.storage = loopback(AF_INET, 0, l.storage_len);
    cfg.sip.listen.push_back(l);
    cfg.dataplane.workers = workers;
    cfg.dataplane.idle_timeout_us = 2000;
    return cfg;
}

class recording_handler : public echo_handler {
public:
    void on_command(shard_context& ctx, const command& cmd) override {
        (void)ctx;
        if (cmd.kind == command::kind_t::drain) {
            drained.store(true);
        } else {
            last_code.store(cmd.code);
        }
    }
    std::atomic<bool> drained{false};
    std::atomic<uint32_t> last_code{0};
};

TEST(DataplaneRuntime, TwoShardsAnswerFromTheOwner) {
    for (const auto mode : {tandem::config::poll_mode::wait, tandem::config::poll_mode::busy}) {
        runtime rt;
        tandem::config::config cfg = loopback_config(2);
        cfg.dataplane.poll = mode;
        const status st =
            rt.start(cfg, [](uint32_t, uint32_t) { return std::make_unique<recording_handler>(); });
        ASSERT_TRUE(st.ok) << st.message;
        const uint16_t port = rt.bound_port(0);
        ASSERT_NE(port, 0);
        // Many peers (4-tuples): SO_REUSEPORT spreads them over both sockets.
        constexpr int peers = 16;
        uint32_t sent = 0;
        for (int i = 0; i < peers; ++i) {
            peer client;
            ASSERT_TRUE(client.ok());
            const uint32_t owner = static_cast<uint32_t>(i % 2);
            const std::string msg = sip_options(minted_call_id(owner, 200 + i));
            ASSERT_TRUE(client.send_to(port, msg));
            ++sent;
            EXPECT_EQ(client.receive(), "shard=" + std::to_string(owner) + " " + msg);
        }
        // The reply may reach the peer before its shard counted it: wait (bounded) for it.
        for (int i = 0; i < 3000 && rt.stats().tx_packets < sent; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        const stats_snapshot total = rt.stats();
        EXPECT_EQ(total.rx_packets, sent);
        EXPECT_EQ(total.handled, sent);
        EXPECT_EQ(total.tx_packets, sent);
        EXPECT_EQ(total.steered_out, total.steered_in);
        EXPECT_EQ(rt.shard_stats(0).handled + rt.shard_stats(1).handled, sent);
        EXPECT_EQ(rt.shard_stats(0).handled, sent / 2);

        // Commands reach the shard's handler.
        ASSERT_TRUE(rt.post(1, {command::kind_t::handler, 42, 7}));
        ASSERT_TRUE(rt.post(0, {command::kind_t::drain, 0, 0}));
        auto* h1 = static_cast<recording_handler*>(rt.handler(1));
        auto* h0 = static_cast<recording_handler*>(rt.handler(0));
        for (int i = 0; i < 3000 && (h1->last_code.load() != 42 || !h0->drained.load()); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        EXPECT_EQ(h1->last_code.load(), 42u);
        EXPECT_TRUE(h0->drained.load());
        EXPECT_FALSE(rt.post(7, {}));
        rt.stop();
        EXPECT_FALSE(rt.running());
    }
}

TEST(DataplaneRuntime, SnapshotsAreReclaimedWhileShardsRun) {
    runtime rt;
    const status st = rt.start(loopback_config(2),
                               [](uint32_t, uint32_t) { return std::make_unique<echo_handler>(); });
    ASSERT_TRUE(st.ok) << st.message;
    // Wait until both shard threads run their loops (bounded).
    for (int i = 0;
         i < 3000 && (rt.shard_stats(0).snapshots == 0 || rt.shard_stats(1).snapshots == 0); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_GT(rt.shard_stats(0).snapshots, 0u);
    ASSERT_GT(rt.shard_stats(1).snapshots, 0u);
    snapshot_publisher<int> pub(rt.epochs());
    (void)pub.publish(std::make_unique<int>(1));
    (void)pub.publish(std::make_unique<int>(2));
    // Idle shards do not hold reclamation back: they are offline to the registry while asleep.
    size_t pending = pub.pending();
    for (int i = 0; i < 3000 && pending > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        pending = pub.reclaim();
    }
    EXPECT_EQ(pending, 0u);
    EXPECT_EQ(*pub.current(), 2);
    rt.stop();
}

TEST(DataplaneRuntime, BindFailureComesBackAsAStatus) {
    tandem::config::config cfg = loopback_config(1);
    auto& ss = reinterpret_cast<sockaddr_in&>(cfg.sip.listen[0].storage);
    inet_pton(AF_INET, "192.0.2.1", &ss.sin_addr); // TEST-NET-1: not ours, never bound
    cfg.sip.listen[0].host = "192.0.2.1";
    runtime rt;
    const status st =
        rt.start(cfg, [](uint32_t, uint32_t) { return std::make_unique<echo_handler>(); });
    EXPECT_FALSE(st.ok);
    EXPECT_NE(st.message.find("bind"), std::string::npos) << st.message;
    EXPECT_FALSE(rt.running());
}

TEST(DataplaneRuntime, RefusesBadConfigurations) {
    runtime rt;
    auto factory = [](uint32_t, uint32_t) { return std::make_unique<echo_handler>(); };
    tandem::config::config cfg = loopback_config(0);
    EXPECT_FALSE(rt.start(cfg, factory).ok);
    cfg = loopback_config(1);
    cfg.sip.listen.clear();
    EXPECT_FALSE(rt.start(cfg, factory).ok);
    cfg = loopback_config(1);
    EXPECT_FALSE(rt.start(cfg, handler_factory{}).ok);
}

TEST(DataplaneRuntime, CaptureWritesBothDirectionsToPcap) {
#if TANDEM_HAVE_PCAP
    char dir_template[] = "/tmp/tandem-capture-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    {
        runtime rt;
        tandem::config::config cfg = loopback_config(1);
        cfg.dataplane.capture_dir = dir;
        const status st =
            rt.start(cfg, [](uint32_t, uint32_t) { return std::make_unique<echo_handler>(); });
        ASSERT_TRUE(st.ok) << st.message;
        peer client;
        ASSERT_TRUE(client.send_to(rt.bound_port(0), "captured"));
        EXPECT_EQ(client.receive(), "shard=0 captured");
        rt.stop(); // closes the capture file
    }
    const std::string path = dir + "/shard-0.pcap";
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), err);
    ASSERT_NE(p, nullptr) << err;
    EXPECT_EQ(pcap_datalink(p), DLT_EN10MB);
    std::vector<std::string> payloads;
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    while (pcap_next_ex(p, &h, &data) == 1 && payloads.size() < 10) {
        ASSERT_GE(h->caplen, 42u);
        EXPECT_EQ(data[12], 0x08); // IPv4
        EXPECT_EQ(data[13], 0x00);
        EXPECT_EQ(data[23], IPPROTO_UDP);
        payloads.emplace_back(reinterpret_cast<const char*>(data) + 42, h->caplen - 42);
    }
    pcap_close(p);
    ASSERT_EQ(payloads.size(), 2u);
    EXPECT_EQ(payloads[0], "captured");
    EXPECT_EQ(payloads[1], "shard=0 captured");
    std::remove(path.c_str());
    rmdir(dir.c_str());
#else
    GTEST_SKIP() << "built without libpcap";
#endif
}

} // namespace
