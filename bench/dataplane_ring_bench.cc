// Dataplane costs: the hand-over ring per packet (one thread, and producer/consumer on two
// threads), the shard loop's overhead per iteration with no work (net_ring port), and packets/s
// per shard for a SIP-sized UDP datagram echoed through the host stack over net_ring.

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <unistd.h>

#include "dataplane/echo_handler.h"
#include "dataplane/packet.h"
#include "dataplane/shard.h"
#include "dataplane/spsc_ring.h"
#include "dataplane/steering.h"

#ifdef TANDEM_HAVE_NET_RING
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "dataplane/dpdk_io.h"
#endif

namespace {

using namespace tandem::dataplane;

void BM_RingBurstSameThread(benchmark::State& state) {
    const auto burst = static_cast<uint32_t>(state.range(0));
    spsc_ring<pkt_buf*> ring(4096);
    std::vector<pkt_buf> bufs(burst);
    std::vector<pkt_buf*> in(burst), out(burst);
    for (uint32_t i = 0; i < burst; ++i) {
        in[i] = &bufs[i];
    }
    for (auto _ : state) {
        uint32_t n = ring.enqueue_burst(in.data(), burst);
        n = ring.dequeue_burst(out.data(), n);
        benchmark::DoNotOptimize(out.data());
        benchmark::DoNotOptimize(n);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * burst);
}
BENCHMARK(BM_RingBurstSameThread)->Arg(1)->Arg(32);

// Producer and consumer on two threads: each iteration moves 1024 packets across in bursts of
// 32 (needs two free cores to mean anything).
void BM_RingHandOverTwoThreads(benchmark::State& state) {
    constexpr uint32_t burst = 32;
    constexpr uint64_t per_iteration = 1024;
    spsc_ring<pkt_buf*> ring(4096);
    std::atomic<bool> stop{false};
    pkt_buf dummy;
    std::thread producer([&] {
        pkt_buf* items[burst];
        for (auto& p : items) {
            p = &dummy;
        }
        while (!stop.load(std::memory_order_relaxed)) {
            (void)ring.enqueue_burst(items, burst);
        }
    });
    pkt_buf* out[burst];
    for (auto _ : state) {
        uint64_t got = 0;
        while (got < per_iteration) {
            got += ring.dequeue_burst(out, burst);
        }
        benchmark::DoNotOptimize(out);
    }
    stop.store(true);
    producer.join();
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_iteration));
}
BENCHMARK(BM_RingHandOverTwoThreads)->UseRealTime();

void BM_SteeringScan(benchmark::State& state) {
    const std::string msg =
        "SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/UDP 198.18.0.2:5060;branch=z9hG4bK-tnd1-77aa3b9c0123456789ab\r\n"
        "Via: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKpeer\r\n"
        "From: <sip:alice@example.com>;tag=1928301774\r\n"
        "To: <sip:bob@example.com>;tag=a6c85cf\r\n"
        "Call-ID: 1-a84b4c76e66710abcdefgh@tandem\r\n"
        "CSeq: 314159 INVITE\r\n"
        "Content-Length: 0\r\n\r\n";
    for (auto _ : state) {
        const steer_info info =
            scan_steering(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
        benchmark::DoNotOptimize(owner_shard(info, 8, 0));
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * msg.size()));
}
BENCHMARK(BM_SteeringScan);

#ifdef TANDEM_HAVE_NET_RING

constexpr uint8_t our_ip[4] = {198, 18, 0, 2};
constexpr uint8_t peer_ip[4] = {198, 18, 0, 1};
constexpr uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x01};

uint32_t ip_be(const uint8_t (&a)[4]) {
    uint32_t v;
    std::memcpy(&v, a, 4);
    return v;
}

bool eal_ok = false;

// A net_ring port with one queue and one shard running the echo handler.
struct ring_rig {
    rte_ring* rx = nullptr;
    rte_ring* tx = nullptr;
    dpdk::port port;
    std::unique_ptr<shard> s;
    bool ok = false;
    std::string error = "rte_eth_from_rings failed";

    // Google Benchmark calls a benchmark function more than once: every rig needs new names,
    // since a closed port's vdev stays registered under its old one.
    explicit ring_rig(const std::string& base) {
        static int serial = 0;
        const std::string name = base + std::to_string(serial++);
        rx = rte_ring_create((name + "rx").c_str(), 1024, SOCKET_ID_ANY,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
        tx = rte_ring_create((name + "tx").c_str(), 1024, SOCKET_ID_ANY,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
        const int id = rte_eth_from_rings(name.c_str(), &rx, 1, &tx, 1, SOCKET_ID_ANY);
        if (id < 0) {
            error = std::string("rte_eth_from_rings: ") + rte_strerror(rte_errno) +
                    (rx == nullptr || tx == nullptr ? " (ring creation failed)" : "");
            return;
        }
        dpdk::port_options o;
        o.port_id = static_cast<uint16_t>(id);
        o.ipv4_be = ip_be(our_ip);
        o.mbufs = 8191;
        o.udp_ports = {5060};
        const status st = port.open(o, 1);
        if (!st.ok) {
            error = st.message;
            return;
        }
        shard_options so;
        so.sleep_when_idle = false;
        s = std::make_unique<shard>(0, 1, so, port.make_io(0), std::make_unique<echo_handler>(),
                                    nullptr, nullptr);
        port.arp().learn(ip_be(peer_ip), peer_mac);
        ok = port.start().ok;
    }
    ~ring_rig() {
        s.reset();
        port.close();
        rte_ring_free(rx);
        rte_ring_free(tx);
    }
};

void BM_ShardLoopIdle(benchmark::State& state) {
    if (!eal_ok) {
        state.SkipWithError("DPDK EAL did not start");
        return;
    }
    ring_rig rig("tdmbidle");
    if (!rig.ok) {
        state.SkipWithError(("net_ring port setup failed: " + rig.error).c_str());
        return;
    }
    for (auto _ : state) {
        benchmark::DoNotOptimize(rig.s->poll_once());
    }
}
BENCHMARK(BM_ShardLoopIdle);

void BM_EchoThroughHostStack(benchmark::State& state) {
    if (!eal_ok) {
        state.SkipWithError("DPDK EAL did not start");
        return;
    }
    ring_rig rig("tdmbecho");
    if (!rig.ok) {
        state.SkipWithError(("net_ring port setup failed: " + rig.error).c_str());
        return;
    }
    // A 500-byte SIP OPTIONS-sized datagram (the usual size of a short request).
    std::string payload = "OPTIONS sip:198.18.0.2 SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 198.18.0.1:5999;branch=z9hG4bKbench\r\n"
                          "Call-ID: bench@peer\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n";
    payload.resize(500, 'x');
    std::vector<uint8_t> frame(42 + payload.size());
    auto* eth = reinterpret_cast<rte_ether_hdr*>(frame.data());
    std::memcpy(eth->dst_addr.addr_bytes, rig.port.mac(), 6);
    std::memcpy(eth->src_addr.addr_bytes, peer_mac, 6);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame.data() + 14);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(28 + payload.size()));
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = ip_be(peer_ip);
    ip->dst_addr = ip_be(our_ip);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(frame.data() + 34);
    udp->src_port = rte_cpu_to_be_16(5999);
    udp->dst_port = rte_cpu_to_be_16(5060);
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + payload.size()));
    std::memcpy(frame.data() + 42, payload.data(), payload.size());
    udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);

    constexpr uint32_t burst = 32;
    rte_mbuf* in[burst];
    void* out[burst];
    rte_mempool* pool = rig.port.rx_pool();
    uint64_t echoed = 0;
    for (auto _ : state) {
        // The peer's side: frames into the port's receive ring.
        if (rte_pktmbuf_alloc_bulk(pool, in, burst) != 0) {
            state.SkipWithError("mbuf pool empty");
            break;
        }
        for (auto* m : in) {
            std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                        frame.size());
        }
        (void)rte_ring_enqueue_burst(rig.rx, reinterpret_cast<void**>(in), burst, nullptr);
        (void)rig.s->poll_once();
        const unsigned n = rte_ring_dequeue_burst(rig.tx, out, burst, nullptr);
        echoed += n;
        rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(out), n);
    }
    state.SetItemsProcessed(static_cast<int64_t>(echoed));
    state.counters["echoed_per_burst"] =
        benchmark::Counter(static_cast<double>(echoed) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_EchoThroughHostStack);

#endif

} // namespace

int main(int argc, char** argv) {
#ifdef TANDEM_HAVE_NET_RING
    const std::string prefix = "--file-prefix=tdm_dp_bench_" + std::to_string(getpid());
    const status st =
        dpdk::eal_init({"--no-huge", "-m", "512", "--no-pci", "--no-shconf", prefix, "-l", "0",
                        "--log-level=lib.eal:error", "--log-level=user1:error"});
    eal_ok = st.ok;
    if (!st.ok) {
        std::fprintf(stderr, "DPDK benchmarks skipped: %s\n", st.message.c_str());
    }
#endif
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
