// The DPDK backend and its host stack over net_ring ports in one process (no NIC, no
// hugepages): ARP replies and resolution, ICMP echo, UDP with checksums to the handler and back,
// a fragmented INVITE reassembled and handed over whole (and its reply fragmented), bad
// checksums dropped, and steering between two queues/shards.

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rte_arp.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "dataplane/dpdk_io.h"
#include "dataplane/echo_handler.h"
#include "dataplane/shard.h"

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

constexpr uint8_t our_ip[4] = {198, 18, 0, 2};
constexpr uint8_t peer_ip[4] = {198, 18, 0, 1};
constexpr uint8_t other_ip[4] = {198, 18, 0, 77};
constexpr uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x01};

uint32_t ip_be(const uint8_t (&a)[4]) {
    uint32_t v;
    std::memcpy(&v, a, 4);
    return v;
}

// EAL once per process, without hugepages or PCI, with a private file prefix.
std::string eal_error() {
    static std::string error = [] {
        const std::string prefix = "tdm_dp_test_" + std::to_string(getpid());
        const status st =
            dpdk::eal_init({"--no-huge", "-m", "512", "--no-pci", "--no-shconf",
                            "--file-prefix=" + prefix, "-l", "0", "--log-level=lib.eal:error"});
        return st.ok ? std::string() : st.message;
    }();
    return error;
}

// A payload recorder on top of the echo handler.
class recording_echo : public echo_handler {
public:
    void on_packet(shard_context& ctx, const rx_packet& pkt) override {
        last.assign(reinterpret_cast<const char*>(pkt.data), pkt.len);
        last_source = pkt.source;
        echo_handler::on_packet(ctx, pkt);
    }
    std::string last;
    tandem::sip::endpoint last_source;
};

// A net_ring port with `queues` queue pairs, our port and one shard per queue.
class ring_port {
public:
    explicit ring_port(uint16_t queues, uint16_t mtu = 1500) : _queues(queues) {
        static int serial = 0;
        const std::string name = "tdmr" + std::to_string(serial++);
        std::vector<rte_ring*> rx, tx;
        for (uint16_t q = 0; q < queues; ++q) {
            _rx.push_back(rte_ring_create((name + "rx" + std::to_string(q)).c_str(), 1024,
                                          SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ));
            _tx.push_back(rte_ring_create((name + "tx" + std::to_string(q)).c_str(), 1024,
                                          SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ));
        }
        const int id =
            rte_eth_from_rings(name.c_str(), _rx.data(), queues, _tx.data(), queues, SOCKET_ID_ANY);
        EXPECT_GE(id, 0);
        dpdk::port_options o;
        o.port_id = static_cast<uint16_t>(id);
        o.ipv4_be = ip_be(our_ip);
        o.prefix_len = 24;
        o.mtu = mtu;
        o.mbufs = 2047;
        o.mbuf_cache = 32;
        o.udp_ports = {5060, 5080};
        const status st = _port.open(o, queues);
        EXPECT_TRUE(st.ok) << st.message;
        _mesh = std::make_unique<shard_mesh>(queues, 64, 2);
        shard_options so;
        so.sleep_when_idle = false;
        for (uint16_t q = 0; q < queues; ++q) {
            auto h = std::make_unique<recording_echo>();
            handlers.push_back(h.get());
            shards.push_back(std::make_unique<shard>(q, queues, so, _port.make_io(q), std::move(h),
                                                     _mesh.get(), nullptr));
        }
        const status started = _port.start();
        EXPECT_TRUE(started.ok) << started.message;
    }
    ~ring_port() {
        shards.clear();
        _port.close();
        for (auto* r : _rx) {
            rte_ring_free(r);
        }
        for (auto* r : _tx) {
            rte_ring_free(r);
        }
    }

    dpdk::port& port() { return _port; }
    rte_mempool* pool() { return _port.rx_pool(); }

    void inject(uint16_t queue, rte_mbuf* m) { ASSERT_EQ(rte_ring_enqueue(_rx[queue], m), 0); }
    void poll_all(int rounds = 2) {
        for (int r = 0; r < rounds; ++r) {
            for (auto& s : shards) {
                (void)s->poll_once();
            }
        }
    }
    // Frames the port sent on `queue` (caller frees).
    std::vector<rte_mbuf*> sent(uint16_t queue) {
        std::vector<rte_mbuf*> out;
        void* obj = nullptr;
        while (rte_ring_dequeue(_tx[queue], &obj) == 0) {
            out.push_back(static_cast<rte_mbuf*>(obj));
        }
        return out;
    }

    std::vector<std::unique_ptr<shard>> shards;
    std::vector<recording_echo*> handlers;

private:
    uint16_t _queues;
    std::vector<rte_ring*> _rx;
    std::vector<rte_ring*> _tx;
    dpdk::port _port;
    std::unique_ptr<shard_mesh> _mesh;
};

void free_all(std::vector<rte_mbuf*>& v) {
    for (auto* m : v) {
        rte_pktmbuf_free(m);
    }
    v.clear();
}

rte_ether_hdr* put_eth(uint8_t* p, const uint8_t* dst, uint16_t type) {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
    std::memcpy(eth->dst_addr.addr_bytes, dst, 6);
    std::memcpy(eth->src_addr.addr_bytes, peer_mac, 6);
    eth->ether_type = rte_cpu_to_be_16(type);
    return eth;
}

rte_mbuf* arp_frame(rte_mempool* pool, uint16_t op, const uint8_t* dst_mac, uint32_t sender,
                    uint32_t target) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 60));
    std::memset(p, 0, 60);
    put_eth(p, dst_mac, RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(p + 14);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = 6;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(op);
    std::memcpy(arp->arp_data.arp_sha.addr_bytes, peer_mac, 6);
    arp->arp_data.arp_sip = sender;
    arp->arp_data.arp_tip = target;
    return m;
}

void fill_ipv4(rte_ipv4_hdr* ip, uint8_t proto, uint32_t payload_len, uint32_t src, uint32_t dst) {
    std::memset(ip, 0, sizeof *ip);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(20 + payload_len));
    ip->packet_id = rte_cpu_to_be_16(4242);
    ip->time_to_live = 64;
    ip->next_proto_id = proto;
    ip->src_addr = src;
    ip->dst_addr = dst;
}

// A UDP datagram in one mbuf from `pool`, checksums right, starting at the Ethernet header.
rte_mbuf* udp_frame(rte_mempool* pool, const uint8_t* dst_mac, const std::string& payload,
                    uint16_t dst_port = 5060, uint32_t src = ip_be(peer_ip)) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    const auto len = static_cast<uint16_t>(42 + payload.size());
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
    EXPECT_NE(p, nullptr);
    put_eth(p, dst_mac, RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + 14);
    fill_ipv4(ip, IPPROTO_UDP, static_cast<uint32_t>(8 + payload.size()), src, ip_be(our_ip));
    auto* udp = reinterpret_cast<rte_udp_hdr*>(p + 34);
    udp->src_port = rte_cpu_to_be_16(5999);
    udp->dst_port = rte_cpu_to_be_16(dst_port);
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + payload.size()));
    udp->dgram_cksum = 0;
    std::memcpy(p + 42, payload.data(), payload.size());
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
    return m;
}

// Checks a UDP frame we sent and returns its payload.
std::string check_udp_out(rte_mbuf* m, uint16_t* dst_port = nullptr) {
    std::vector<uint8_t> flat(m->pkt_len);
    const auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, m->pkt_len, flat.data()));
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(p);
    EXPECT_EQ(std::memcmp(eth->dst_addr.addr_bytes, peer_mac, 6), 0);
    EXPECT_EQ(rte_be_to_cpu_16(eth->ether_type), RTE_ETHER_TYPE_IPV4);
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p + 14);
    EXPECT_EQ(rte_raw_cksum(ip, 20), 0xffff) << "IPv4 header checksum";
    EXPECT_EQ(ip->src_addr, ip_be(our_ip));
    EXPECT_EQ(ip->dst_addr, ip_be(peer_ip));
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(p + 34);
    EXPECT_EQ(rte_be_to_cpu_16(udp->src_port), 5060);
    EXPECT_EQ(rte_be_to_cpu_16(udp->dst_port), 5999);
    if (dst_port != nullptr) {
        *dst_port = rte_be_to_cpu_16(udp->dst_port);
    }
    EXPECT_NE(udp->dgram_cksum, 0);
    EXPECT_EQ(__rte_ipv4_udptcp_cksum(ip, udp), 0xffff) << "UDP checksum";
    return {reinterpret_cast<const char*>(p + 42), rte_be_to_cpu_16(udp->dgram_len) - 8u};
}

#define REQUIRE_EAL()                                                                              \
    do {                                                                                           \
        if (!eal_error().empty()) {                                                                \
            GTEST_SKIP() << "DPDK EAL cannot start here: " << eal_error();                         \
        }                                                                                          \
    } while (0)

TEST(DataplaneDpdk, ArpRequestForUsGetsAReplyAndTeachesTheTable) {
    REQUIRE_EAL();
    ring_port rp(1);
    const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    rp.inject(0, arp_frame(rp.pool(), RTE_ARP_OP_REQUEST, bcast, ip_be(peer_ip), ip_be(our_ip)));
    // Not for us: no answer.
    rp.inject(0, arp_frame(rp.pool(), RTE_ARP_OP_REQUEST, bcast, ip_be(peer_ip), ip_be(other_ip)));
    rp.poll_all();
    auto out = rp.sent(0);
    ASSERT_EQ(out.size(), 1u);
    const auto* eth = rte_pktmbuf_mtod(out[0], const rte_ether_hdr*);
    EXPECT_EQ(std::memcmp(eth->dst_addr.addr_bytes, peer_mac, 6), 0);
    EXPECT_EQ(std::memcmp(eth->src_addr.addr_bytes, rp.port().mac(), 6), 0);
    const auto* arp = rte_pktmbuf_mtod_offset(out[0], const rte_arp_hdr*, 14);
    EXPECT_EQ(rte_be_to_cpu_16(arp->arp_opcode), RTE_ARP_OP_REPLY);
    EXPECT_EQ(arp->arp_data.arp_sip, ip_be(our_ip));
    EXPECT_EQ(arp->arp_data.arp_tip, ip_be(peer_ip));
    EXPECT_EQ(std::memcmp(arp->arp_data.arp_sha.addr_bytes, rp.port().mac(), 6), 0);
    EXPECT_EQ(std::memcmp(arp->arp_data.arp_tha.addr_bytes, peer_mac, 6), 0);
    uint8_t mac[6] = {};
    EXPECT_TRUE(rp.port().arp().lookup(ip_be(peer_ip), mac));
    EXPECT_EQ(std::memcmp(mac, peer_mac, 6), 0);
    EXPECT_EQ(rp.shards[0]->counters().arp_replies.get(), 1u);
    EXPECT_EQ(rp.shards[0]->counters().arp_rx.get(), 2u);
    free_all(out);
}

TEST(DataplaneDpdk, IcmpEchoGetsAnEchoReply) {
    REQUIRE_EAL();
    ring_port rp(1);
    rte_mbuf* m = rte_pktmbuf_alloc(rp.pool());
    const uint16_t icmp_len = 8 + 32;
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 34 + icmp_len));
    put_eth(p, rp.port().mac(), RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + 14);
    fill_ipv4(ip, IPPROTO_ICMP, icmp_len, ip_be(peer_ip), ip_be(our_ip));
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(p + 34);
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
    icmp->icmp_code = 0;
    icmp->icmp_ident = rte_cpu_to_be_16(77);
    icmp->icmp_seq_nb = rte_cpu_to_be_16(3);
    for (int i = 0; i < 32; ++i) {
        p[42 + i] = static_cast<uint8_t>(i);
    }
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, icmp_len));
    rp.inject(0, m);
    rp.poll_all();
    auto out = rp.sent(0);
    ASSERT_EQ(out.size(), 1u);
    const auto* rip = rte_pktmbuf_mtod_offset(out[0], const rte_ipv4_hdr*, 14);
    EXPECT_EQ(rip->src_addr, ip_be(our_ip));
    EXPECT_EQ(rip->dst_addr, ip_be(peer_ip));
    EXPECT_EQ(rte_raw_cksum(rip, 20), 0xffff);
    const auto* ricmp = rte_pktmbuf_mtod_offset(out[0], const rte_icmp_hdr*, 34);
    EXPECT_EQ(ricmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
    EXPECT_EQ(rte_be_to_cpu_16(ricmp->icmp_ident), 77);
    EXPECT_EQ(rte_be_to_cpu_16(ricmp->icmp_seq_nb), 3);
    EXPECT_EQ(rte_raw_cksum(ricmp, icmp_len), 0xffff);
    EXPECT_EQ(rte_pktmbuf_mtod_offset(out[0], const uint8_t*, 42 + 31)[0], 31);
    EXPECT_EQ(rp.shards[0]->counters().icmp_echo.get(), 1u);
    free_all(out);
}

TEST(DataplaneDpdk, UdpReachesTheHandlerAndTheReplyCarriesChecksums) {
    REQUIRE_EAL();
    ring_port rp(1);
    rp.port().arp().learn(ip_be(peer_ip), peer_mac);
    const std::string msg = "OPTIONS sip:x SIP/2.0\r\nCall-ID: a@b\r\n\r\n";
    rp.inject(0, udp_frame(rp.pool(), rp.port().mac(), msg));
    rp.poll_all();
    EXPECT_EQ(rp.handlers[0]->last, msg);
    EXPECT_EQ(rp.handlers[0]->last_source.port, 5999);
    EXPECT_EQ(rp.handlers[0]->last_source.v4_be(), ip_be(peer_ip));
    auto out = rp.sent(0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(check_udp_out(out[0]), "shard=0 " + msg);
    free_all(out);
}

TEST(DataplaneDpdk, BadPacketsAreCountedAndDropped) {
    REQUIRE_EAL();
    ring_port rp(1);
    rte_mbuf* bad_ip = udp_frame(rp.pool(), rp.port().mac(), "x");
    rte_pktmbuf_mtod_offset(bad_ip, rte_ipv4_hdr*, 14)->hdr_checksum ^= 0x0101;
    rte_mbuf* bad_udp = udp_frame(rp.pool(), rp.port().mac(), "y");
    rte_pktmbuf_mtod_offset(bad_udp, uint8_t*, 42)[0] = 'z'; // payload changed after checksum
    rte_mbuf* wrong_port = udp_frame(rp.pool(), rp.port().mac(), "w", 9999);
    rte_mbuf* runt = rte_pktmbuf_alloc(rp.pool());
    (void)rte_pktmbuf_append(runt, 10);
    for (rte_mbuf* m : {bad_ip, bad_udp, wrong_port, runt}) {
        rp.inject(0, m);
    }
    rp.poll_all();
    EXPECT_EQ(rp.shards[0]->counters().rx_malformed.get(), 3u);
    EXPECT_EQ(rp.shards[0]->counters().rx_not_for_us.get(), 1u);
    EXPECT_EQ(rp.shards[0]->counters().handled.get(), 0u);
    EXPECT_TRUE(rp.sent(0).empty());
}

TEST(DataplaneDpdk, ReplyWaitsForArpResolution) {
    REQUIRE_EAL();
    ring_port rp(1);
    rp.inject(0, udp_frame(rp.pool(), rp.port().mac(), "hi"));
    rp.poll_all();
    auto out = rp.sent(0);
    ASSERT_EQ(out.size(), 1u); // an ARP request, not the reply
    const auto* arp = rte_pktmbuf_mtod_offset(out[0], const rte_arp_hdr*, 14);
    EXPECT_EQ(rte_be_to_cpu_16(arp->arp_opcode), RTE_ARP_OP_REQUEST);
    EXPECT_EQ(arp->arp_data.arp_tip, ip_be(peer_ip));
    EXPECT_EQ(arp->arp_data.arp_sip, ip_be(our_ip));
    free_all(out);
    rp.inject(
        0, arp_frame(rp.pool(), RTE_ARP_OP_REPLY, rp.port().mac(), ip_be(peer_ip), ip_be(our_ip)));
    rp.poll_all();
    out = rp.sent(0);
    const auto& c = rp.shards[0]->counters();
    ASSERT_EQ(out.size(), 1u) << c.arp_rx.get() << " " << c.rx_not_for_us.get() << " "
                              << c.arp_queue_drops.get() << " " << c.tx_dropped.get();
    EXPECT_EQ(check_udp_out(out[0]), "shard=0 hi");
    EXPECT_EQ(rp.shards[0]->counters().arp_requests.get(), 1u);
    free_all(out);
}

TEST(DataplaneDpdk, FragmentedInviteIsReassembledAndTheReplyFragmented) {
    REQUIRE_EAL();
    ring_port rp(1);
    rp.port().arp().learn(ip_be(peer_ip), peer_mac);
    std::string invite = "INVITE sip:bob@198.18.0.2 SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP 198.18.0.1:5999;branch=z9hG4bKbig\r\n"
                         "Call-ID: big@peer\r\n"
                         "Content-Type: application/sdp\r\n"
                         "Content-Length: 2600\r\n\r\n";
    for (int i = 0; invite.size() < 3000; ++i) {
        invite += "a=x-filler:" + std::to_string(i) + "\r\n";
    }
    // Build the whole datagram, then cut it with DPDK's fragmenter (MTU 1500: 3 fragments).
    rte_mempool* direct =
        rte_pktmbuf_pool_create("tdm_t_dir", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    rte_mempool* indirect = rte_pktmbuf_pool_create("tdm_t_ind", 255, 0, 0, 0, SOCKET_ID_ANY);
    rte_mempool* big = rte_pktmbuf_pool_create("tdm_t_big", 15, 0, 0, 9000, SOCKET_ID_ANY);
    ASSERT_NE(direct, nullptr);
    ASSERT_NE(indirect, nullptr);
    ASSERT_NE(big, nullptr);
    rte_mbuf* whole = udp_frame(big, rp.port().mac(), invite);
    rte_pktmbuf_adj(whole, 14);
    rte_mbuf* frags[8];
    const int n = rte_ipv4_fragment_packet(whole, frags, 8, 1500, direct, indirect);
    rte_pktmbuf_free(whole);
    ASSERT_EQ(n, 3);
    // Deliver them out of order.
    for (int i = n - 1; i >= 0; --i) {
        put_eth(reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(frags[i], 14)), rp.port().mac(),
                RTE_ETHER_TYPE_IPV4);
        auto* fip = rte_pktmbuf_mtod_offset(frags[i], rte_ipv4_hdr*, 14);
        fip->hdr_checksum = 0;
        fip->hdr_checksum = rte_ipv4_cksum(fip);
        rp.inject(0, frags[i]);
    }
    rp.poll_all(3);
    EXPECT_EQ(rp.handlers[0]->last, invite);
    const auto& c = rp.shards[0]->counters();
    EXPECT_EQ(c.fragments_rx.get(), 3u);
    EXPECT_EQ(c.reassembled.get(), 1u);
    EXPECT_EQ(c.linearised.get(), 1u);
    EXPECT_EQ(c.handled.get(), 1u);

    // The echo (8 bytes longer) leaves in fragments no larger than the MTU.
    auto out = rp.sent(0);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(c.fragments_tx.get(), 3u);
    std::string payload;
    uint32_t expect_offset = 0;
    for (size_t i = 0; i < out.size(); ++i) {
        std::vector<uint8_t> flat(out[i]->pkt_len);
        const auto* p =
            static_cast<const uint8_t*>(rte_pktmbuf_read(out[i], 0, out[i]->pkt_len, flat.data()));
        const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p + 14);
        EXPECT_LE(rte_be_to_cpu_16(ip->total_length), 1500);
        EXPECT_EQ(rte_raw_cksum(ip, 20), 0xffff);
        const uint16_t off = rte_be_to_cpu_16(ip->fragment_offset);
        EXPECT_EQ((off & RTE_IPV4_HDR_OFFSET_MASK) * 8u, expect_offset);
        EXPECT_EQ((off & RTE_IPV4_HDR_MF_FLAG) != 0, i + 1 < out.size());
        const uint32_t data_len = rte_be_to_cpu_16(ip->total_length) - 20u;
        payload.append(reinterpret_cast<const char*>(p + 34), data_len);
        expect_offset += data_len;
    }
    ASSERT_GT(payload.size(), 8u);
    EXPECT_EQ(payload.substr(8), "shard=0 " + invite); // after the UDP header
    free_all(out);
    rte_mempool_free(direct);
    rte_mempool_free(indirect);
    rte_mempool_free(big);
}

TEST(DataplaneDpdk, TheLoopDoesNotAllocate) {
    REQUIRE_EAL();
    ring_port rp(2);
    rp.port().arp().learn(ip_be(peer_ip), peer_mac);
    const std::string msg =
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 198.18.0.2;branch=z9hG4bK-tnd1-abcdefghij0123456789\r\n"
        "Call-ID: 0-abcdefghij0123456789@tandem\r\n\r\n";
    rp.inject(0, udp_frame(rp.pool(), rp.port().mac(), msg)); // warm-up
    rp.poll_all();
    auto out = rp.sent(1);
    free_all(out);
    std::vector<rte_mbuf*> frames;
    for (int i = 0; i < 16; ++i) {
        frames.push_back(udp_frame(rp.pool(), rp.port().mac(), msg));
    }
    recording_echo* h1 = rp.handlers[1];
    // The test handler copies each payload into a std::string: reserve so that it need not grow.
    h1->last.reserve(msg.size());
    count_allocations = true;
    for (auto* m : frames) {
        rp.inject(0, m);
    }
    rp.poll_all(3);
    count_allocations = false;
    EXPECT_EQ(allocations, 0u);
    out = rp.sent(1);
    EXPECT_EQ(out.size(), 16u);
    free_all(out);
}

TEST(DataplaneDpdk, SipResponseIsSteeredToTheShardInItsBranch) {
    REQUIRE_EAL();
    ring_port rp(2);
    rp.port().arp().learn(ip_be(peer_ip), peer_mac);
    const std::string response =
        "SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/UDP 198.18.0.2:5060;branch=z9hG4bK-tnd1-abcdefghij0123456789\r\n"
        "Call-ID: 0-0123456789abcdefghij@tandem\r\n"
        "CSeq: 1 INVITE\r\n\r\n";
    rp.inject(0, udp_frame(rp.pool(), rp.port().mac(), response)); // lands on queue 0
    rp.poll_all(3);
    EXPECT_EQ(rp.shards[0]->counters().steered_out.get(), 1u);
    EXPECT_EQ(rp.shards[1]->counters().steered_in.get(), 1u);
    EXPECT_EQ(rp.handlers[1]->last, response);
    EXPECT_TRUE(rp.handlers[0]->last.empty());
    EXPECT_TRUE(rp.sent(0).empty());
    auto out = rp.sent(1); // shard 1 answers on its own queue
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(check_udp_out(out[0]), "shard=1 " + response);
    free_all(out);
}

} // namespace
