#include "dataplane/dpdk_io.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include <arpa/inet.h>
#include <fcntl.h>
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_udp.h>
#include <unistd.h>

namespace tandem::dataplane::dpdk {

status eal_init(const std::vector<std::string>& args) {
    static std::mutex mutex;
    static bool done = false;
    // EAL keeps pointers into argv: the storage lives as long as the process.
    static std::vector<std::string> storage;
    static std::vector<char*> argv;
    std::lock_guard guard(mutex);
    if (done) {
        return status::success();
    }
    storage.clear();
    storage.push_back("tandem");
    storage.insert(storage.end(), args.begin(), args.end());
    argv.clear();
    for (auto& s : storage) {
        argv.push_back(s.data());
    }
    argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(storage.size()), argv.data()) < 0) {
        return status::failure(std::string("DPDK EAL initialisation failed: ") +
                               rte_strerror(rte_errno));
    }
    done = true;
    return status::success();
}

namespace {

uint32_t arp_slot(uint32_t ip_be) noexcept {
    return (ip_be * 2654435761u) >> 24; // Fibonacci hash into 256 slots
}

uint64_t pack_mac(const uint8_t* mac) noexcept {
    uint64_t v = 0;
    std::memcpy(&v, mac, 6);
    return v;
}

} // namespace

void arp_table::learn(uint32_t ip_be, const uint8_t* mac) noexcept {
    if (ip_be == 0) {
        return;
    }
    const uint32_t start = arp_slot(ip_be);
    entry* target = &_entries[start % size];
    for (uint32_t i = 0; i < 8; ++i) {
        entry& e = _entries[(start + i) % size];
        const uint32_t ip = e.ip.load(std::memory_order_relaxed);
        if (ip == ip_be || ip == 0) {
            target = &e;
            break;
        }
    }
    uint32_t seq = target->seq.load(std::memory_order_relaxed);
    if ((seq & 1) != 0 ||
        !target->seq.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire)) {
        return; // another shard is writing it: ARP will come again
    }
    target->ip.store(ip_be, std::memory_order_relaxed);
    target->mac.store(pack_mac(mac), std::memory_order_relaxed);
    target->seq.store(seq + 2, std::memory_order_release);
}

bool arp_table::lookup(uint32_t ip_be, uint8_t* mac) const noexcept {
    const uint32_t start = arp_slot(ip_be);
    for (uint32_t i = 0; i < 8; ++i) {
        const entry& e = _entries[(start + i) % size];
        for (int attempt = 0; attempt < 4; ++attempt) {
            const uint32_t s1 = e.seq.load(std::memory_order_acquire);
            if ((s1 & 1) != 0) {
                continue;
            }
            const uint32_t ip = e.ip.load(std::memory_order_relaxed);
            const uint64_t m = e.mac.load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (e.seq.load(std::memory_order_relaxed) != s1) {
                continue;
            }
            if (ip == 0) {
                return false;
            }
            if (ip == ip_be) {
                std::memcpy(mac, &m, 6);
                return true;
            }
            break;
        }
    }
    return false;
}

port_options options_from(const config::config& cfg) {
    port_options o;
    o.port_id = cfg.dpdk.port_id;
    o.ipv4_be = cfg.dpdk.ipv4.s_addr;
    o.prefix_len = cfg.dpdk.prefix_len;
    o.gateway_be = cfg.dpdk.gateway_ipv4.s_addr;
    o.mtu = cfg.dpdk.mtu;
    o.mbufs = cfg.dpdk.mbufs;
    o.mbuf_cache = cfg.dpdk.mbuf_cache;
    o.rx_desc = cfg.dpdk.rx_desc;
    o.tx_desc = cfg.dpdk.tx_desc;
    o.burst = cfg.dataplane.burst;
    for (const auto& l : cfg.sip.listen) {
        o.udp_ports.push_back(l.port);
    }
    o.capture_dir = cfg.dataplane.capture_dir;
    return o;
}

struct port_state {
    port_options options;
    uint16_t queues = 0;
    rte_mempool* rx_pool = nullptr;
    rte_mempool* tx_pool = nullptr;
    rte_mempool* indirect_pool = nullptr;
    rte_ether_addr mac{};
    uint32_t netmask_be = 0;
    bool tx_cksum_offload = false;
    arp_table arp;
    // Debug capture, one file and one copy pool per queue (empty when off).
    std::vector<rte_pcapng_t*> captures;
    std::vector<rte_mempool*> capture_pools;
};

namespace {

constexpr uint32_t l2_len = sizeof(rte_ether_hdr);
constexpr uint32_t headers_len = l2_len + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr); // 42
// Jumbo-sized buffers, receive and transmit: a SIP message with SDP fits one mbuf whether it
// arrives as a jumbo frame or reassembled by the kernel (net_af_packet's fanout defragments).
constexpr uint16_t data_room = 9216 + RTE_PKTMBUF_HEADROOM;
constexpr uint32_t max_pending = 64;
constexpr uint64_t arp_retry_ns = 100'000'000;
constexpr uint64_t arp_timeout_ns = 1'000'000'000;

uint16_t priv_size() noexcept {
    return static_cast<uint16_t>(RTE_ALIGN(sizeof(pkt_buf), RTE_MBUF_PRIV_ALIGN));
}

pkt_buf* priv_of(rte_mbuf* m) noexcept {
    return static_cast<pkt_buf*>(rte_mbuf_to_priv(m));
}

class dpdk_io final : public shard_io {
public:
    dpdk_io(port_state& st, uint16_t queue) : _st(st), _queue(queue) {
        _tsc_hz = rte_get_tsc_hz();
        _tx_cap = std::max<uint32_t>(st.options.burst, 32) * RTE_LIBRTE_IP_FRAG_MAX_FRAG + 64;
        _tx = std::make_unique<rte_mbuf*[]>(_tx_cap);
        _rx = std::make_unique<rte_mbuf*[]>(std::max<uint32_t>(st.options.burst, 32));
        const int socket = static_cast<int>(rte_socket_id());
        // Fragments of a datagram must arrive within two seconds.
        _frag_tbl = rte_ip_frag_table_create(64, 16, 1024, _tsc_hz * 2, socket);
        std::memset(&_death_row, 0, sizeof _death_row);
    }
    ~dpdk_io() override {
        flush();
        for (uint32_t i = 0; i < _pending_count; ++i) {
            rte_pktmbuf_free(_pending[i].m);
        }
        rte_ip_frag_free_death_row(&_death_row, 0);
        if (_frag_tbl != nullptr) {
            rte_ip_frag_table_destroy(_frag_tbl);
        }
    }

    [[nodiscard]] bool frees_anywhere() const noexcept override { return true; }

    [[nodiscard]] uint64_t now_ns() const noexcept override {
        const uint64_t tsc = rte_rdtsc();
        return tsc / _tsc_hz * 1'000'000'000ull + tsc % _tsc_hz * 1'000'000'000ull / _tsc_hz;
    }

    uint32_t rx_burst(pkt_buf** out, uint32_t max) noexcept override {
        max = std::min(max, std::max<uint32_t>(_st.options.burst, 32));
        const uint16_t n =
            rte_eth_rx_burst(_st.options.port_id, _queue, _rx.get(), static_cast<uint16_t>(max));
        if (n != 0 && !_st.captures.empty()) capture(_rx.get(), n, RTE_PCAPNG_DIRECTION_IN);
        uint32_t got = 0;
        for (uint16_t i = 0; i < n; ++i) {
            if (pkt_buf* p = input(_rx[i])) {
                out[got++] = p;
            }
        }
        rte_ip_frag_free_death_row(&_death_row, 3);
        flush();
        return got;
    }

    uint32_t tx_burst(pkt_buf* const* pkts, uint32_t n) noexcept override {
        uint32_t accepted = 0;
        for (uint32_t i = 0; i < n; ++i) {
            accepted += send_udp(pkts[i]) ? 1 : 0;
        }
        flush();
        return accepted;
    }

    pkt_buf* alloc_tx() noexcept override {
        rte_mbuf* m = rte_pktmbuf_alloc(_st.tx_pool);
        if (m == nullptr) {
            return nullptr;
        }
        pkt_buf* p = priv_of(m);
        *p = pkt_buf{};
        p->data = rte_pktmbuf_mtod(m, uint8_t*) + headers_len;
        p->cap = rte_pktmbuf_tailroom(m) - headers_len;
        p->origin_shard = _shard_id;
        p->io_ref = m;
        return p;
    }

    void free(pkt_buf* buf) noexcept override {
        rte_pktmbuf_free(static_cast<rte_mbuf*>(buf->io_ref));
    }

    void housekeeping(uint64_t now) noexcept override {
        if (_pending_count == 0) {
            return;
        }
        uint32_t kept = 0;
        for (uint32_t i = 0; i < _pending_count; ++i) {
            pending& p = _pending[i];
            rte_ether_hdr* eth = rte_pktmbuf_mtod(p.m, rte_ether_hdr*);
            if (_st.arp.lookup(p.next_hop, eth->dst_addr.addr_bytes)) {
                queue_tx(p.m);
            } else if (now > p.since_ns && now - p.since_ns > arp_timeout_ns) {
                _counters->arp_queue_drops.add();
                rte_pktmbuf_free(p.m);
            } else {
                if (now > p.last_request_ns && now - p.last_request_ns > arp_retry_ns) {
                    send_arp_request(p.next_hop);
                    p.last_request_ns = now;
                }
                _pending[kept++] = p;
            }
        }
        _pending_count = kept;
        flush();
    }

private:
    struct pending {
        rte_mbuf* m;
        uint32_t next_hop;
        uint64_t since_ns;
        uint64_t last_request_ns;
    };

    void drop(rte_mbuf* m, counter& why) noexcept {
        why.add();
        rte_pktmbuf_free(m);
    }

    pkt_buf* input(rte_mbuf* m) noexcept {
        _counters->rx_packets.add();
        _counters->rx_bytes.add(m->pkt_len);
        if (m->data_len < l2_len) {
            drop(m, _counters->rx_malformed);
            return nullptr;
        }
        const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
        switch (rte_be_to_cpu_16(eth->ether_type)) {
        case RTE_ETHER_TYPE_ARP:
            input_arp(m);
            return nullptr;
        case RTE_ETHER_TYPE_IPV4:
            return input_ipv4(m);
        default:
            drop(m, _counters->rx_not_for_us);
            return nullptr;
        }
    }

    void input_arp(rte_mbuf* m) noexcept {
        _counters->arp_rx.add();
        if (m->data_len < l2_len + sizeof(rte_arp_hdr)) {
            drop(m, _counters->rx_malformed);
            return;
        }
        auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
        auto* arp = rte_pktmbuf_mtod_offset(m, rte_arp_hdr*, l2_len);
        if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
            arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
            arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
            drop(m, _counters->rx_malformed);
            return;
        }
        const uint32_t sender = arp->arp_data.arp_sip;
        const uint32_t target = arp->arp_data.arp_tip;
        // RFC 826: learn whoever talks to us.
        if (target == _st.options.ipv4_be) {
            _st.arp.learn(sender, arp->arp_data.arp_sha.addr_bytes);
        }
        if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
            target != _st.options.ipv4_be) {
            drop(m, _counters->rx_not_for_us);
            return;
        }
        // Answer in place.
        arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
        arp->arp_data.arp_tha = arp->arp_data.arp_sha;
        arp->arp_data.arp_tip = sender;
        arp->arp_data.arp_sha = _st.mac;
        arp->arp_data.arp_sip = _st.options.ipv4_be;
        eth->dst_addr = eth->src_addr;
        eth->src_addr = _st.mac;
        m->ol_flags = 0;
        _counters->arp_replies.add();
        queue_tx(m);
    }

    pkt_buf* input_ipv4(rte_mbuf* m) noexcept {
        if (m->data_len < l2_len + sizeof(rte_ipv4_hdr)) {
            drop(m, _counters->rx_malformed);
            return nullptr;
        }
        auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, l2_len);
        const uint32_t ihl = rte_ipv4_hdr_len(ip);
        const uint32_t total = rte_be_to_cpu_16(ip->total_length);
        if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) ||
            m->data_len < l2_len + ihl || total < ihl || m->pkt_len < l2_len + total) {
            drop(m, _counters->rx_malformed);
            return nullptr;
        }
        const uint64_t ip_ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
        if (ip_ck == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
            (ip_ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD && rte_raw_cksum(ip, ihl) != 0xffff)) {
            drop(m, _counters->rx_malformed);
            return nullptr;
        }
        if (ip->dst_addr != _st.options.ipv4_be) {
            drop(m, _counters->rx_not_for_us);
            return nullptr;
        }
        // Ethernet padding after the IP datagram.
        if (m->pkt_len > l2_len + total) {
            rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - l2_len - total));
        }
        if (rte_ipv4_frag_pkt_is_fragmented(ip)) {
            _counters->fragments_rx.add();
            if (_frag_tbl == nullptr) {
                drop(m, _counters->rx_no_buffer);
                return nullptr;
            }
            m->l2_len = l2_len;
            m->l3_len = ihl;
            rte_mbuf* whole =
                rte_ipv4_frag_reassemble_packet(_frag_tbl, &_death_row, m, rte_rdtsc(), ip);
            if (whole == nullptr) {
                return nullptr; // kept in the table (or on the death row)
            }
            _counters->reassembled.add();
            m = whole;
            ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, l2_len);
        }
        if (m->nb_segs > 1 || m->priv_size < priv_size()) {
            m = linearise(m);
            if (m == nullptr) {
                return nullptr;
            }
            ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, l2_len);
        }
        switch (ip->next_proto_id) {
        case IPPROTO_ICMP:
            input_icmp(m, ip);
            return nullptr;
        case IPPROTO_UDP:
            return input_udp(m, ip);
        default:
            drop(m, _counters->rx_not_for_us);
            return nullptr;
        }
    }

    // A chained (reassembled) packet, or one from a pool without room for our descriptor,
    // copied into one transmit-pool mbuf.
    rte_mbuf* linearise(rte_mbuf* m) noexcept {
        rte_mbuf* flat = rte_pktmbuf_alloc(_st.tx_pool);
        if (flat == nullptr || m->pkt_len > rte_pktmbuf_tailroom(flat)) {
            if (flat != nullptr) {
                rte_pktmbuf_free(flat);
                drop(m, _counters->rx_truncated);
            } else {
                drop(m, _counters->rx_no_buffer);
            }
            return nullptr;
        }
        char* dst = rte_pktmbuf_append(flat, static_cast<uint16_t>(m->pkt_len));
        const void* src = rte_pktmbuf_read(m, 0, m->pkt_len, dst);
        if (src != dst) {
            std::memcpy(dst, src, m->pkt_len);
        }
        flat->ol_flags = m->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
        if (m->nb_segs > 1) {
            _counters->linearised.add();
        }
        rte_pktmbuf_free(m);
        return flat;
    }

    void input_icmp(rte_mbuf* m, rte_ipv4_hdr* ip) noexcept {
        const uint32_t ihl = rte_ipv4_hdr_len(ip);
        const uint32_t icmp_len = rte_be_to_cpu_16(ip->total_length) - ihl;
        if (icmp_len < sizeof(rte_icmp_hdr)) {
            drop(m, _counters->rx_malformed);
            return;
        }
        auto* icmp = reinterpret_cast<rte_icmp_hdr*>(reinterpret_cast<uint8_t*>(ip) + ihl);
        if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
            drop(m, _counters->rx_not_for_us);
            return;
        }
        if (rte_raw_cksum(icmp, icmp_len) != 0xffff) {
            drop(m, _counters->rx_malformed);
            return;
        }
        icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
        icmp->icmp_cksum = 0;
        icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, icmp_len));
        const uint32_t peer = ip->src_addr;
        ip->src_addr = ip->dst_addr;
        ip->dst_addr = peer;
        ip->time_to_live = 64;
        ip->fragment_offset = 0;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
        eth->dst_addr = eth->src_addr;
        eth->src_addr = _st.mac;
        m->ol_flags = 0;
        _counters->icmp_echo.add();
        queue_tx(m);
    }

    pkt_buf* input_udp(rte_mbuf* m, rte_ipv4_hdr* ip) noexcept {
        const uint32_t ihl = rte_ipv4_hdr_len(ip);
        const uint32_t l4_len = rte_be_to_cpu_16(ip->total_length) - ihl;
        auto* udp = reinterpret_cast<rte_udp_hdr*>(reinterpret_cast<uint8_t*>(ip) + ihl);
        const uint32_t dgram_len =
            l4_len >= sizeof(rte_udp_hdr) ? rte_be_to_cpu_16(udp->dgram_len) : 0;
        if (dgram_len < sizeof(rte_udp_hdr) || dgram_len > l4_len) {
            drop(m, _counters->rx_malformed);
            return nullptr;
        }
        const uint64_t l4_ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
        if (udp->dgram_cksum != 0 &&
            (l4_ck == RTE_MBUF_F_RX_L4_CKSUM_BAD || (l4_ck != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
                                                     __rte_ipv4_udptcp_cksum(ip, udp) != 0xffff))) {
            drop(m, _counters->rx_malformed);
            return nullptr;
        }
        const uint16_t dst_port = rte_be_to_cpu_16(udp->dst_port);
        const auto& ports = _st.options.udp_ports;
        const auto it = std::find(ports.begin(), ports.end(), dst_port);
        if (it == ports.end()) {
            drop(m, _counters->rx_not_for_us);
            return nullptr;
        }
        pkt_buf* p = priv_of(m);
        p->data = reinterpret_cast<uint8_t*>(udp) + sizeof(rte_udp_hdr);
        p->len = dgram_len - static_cast<uint32_t>(sizeof(rte_udp_hdr));
        p->cap = p->len;
        p->remote = sip::endpoint::v4(ip->src_addr, rte_be_to_cpu_16(udp->src_port));
        p->local = sip::endpoint::v4(_st.options.ipv4_be, dst_port);
        p->listen_index = static_cast<uint16_t>(it - ports.begin());
        p->origin_shard = _shard_id;
        p->io_ref = m;
        return p;
    }

    [[nodiscard]] bool send_udp(pkt_buf* p) noexcept {
        auto* m = static_cast<rte_mbuf*>(p->io_ref);
        if (p->remote.family != sip::endpoint::family_t::ipv4 || p->len > p->cap) {
            rte_pktmbuf_free(m);
            return false;
        }
        const uint32_t dst = p->remote.v4_be();
        uint32_t next_hop = dst;
        if ((dst & _st.netmask_be) != (_st.options.ipv4_be & _st.netmask_be)) {
            next_hop = _st.options.gateway_be;
            if (next_hop == 0) {
                rte_pktmbuf_free(m);
                return false;
            }
        }
        const uint16_t src_port = p->listen_index < _st.options.udp_ports.size()
                                      ? _st.options.udp_ports[p->listen_index]
                                      : 5060;
        m->data_len = static_cast<uint16_t>(headers_len + p->len);
        m->pkt_len = m->data_len;
        auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, l2_len);
        auto* udp = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, l2_len + sizeof(rte_ipv4_hdr));
        ip->version_ihl = RTE_IPV4_VHL_DEF;
        ip->type_of_service = 0;
        ip->total_length =
            rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + 8 + p->len));
        ip->packet_id = rte_cpu_to_be_16(_ip_id++);
        ip->fragment_offset = 0;
        ip->time_to_live = 64;
        ip->next_proto_id = IPPROTO_UDP;
        ip->hdr_checksum = 0;
        ip->src_addr = _st.options.ipv4_be;
        ip->dst_addr = dst;
        udp->src_port = rte_cpu_to_be_16(src_port);
        udp->dst_port = rte_cpu_to_be_16(p->remote.port);
        udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + p->len));
        udp->dgram_cksum = 0;
        m->ol_flags = 0;

        if (sizeof(rte_ipv4_hdr) + 8 + p->len > _st.options.mtu) {
            // Checksum the whole datagram first: fragments cannot be offloaded.
            udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
            rte_pktmbuf_adj(m, l2_len);
            rte_mbuf* frags[RTE_LIBRTE_IP_FRAG_MAX_FRAG];
            const int32_t k =
                rte_ipv4_fragment_packet(m, frags, RTE_LIBRTE_IP_FRAG_MAX_FRAG, _st.options.mtu,
                                         _st.rx_pool, _st.indirect_pool);
            rte_pktmbuf_free(m); // the fragments hold references to its data
            if (k <= 0) {
                return false;
            }
            for (int32_t i = 0; i < k; ++i) {
                rte_mbuf* f = frags[i];
                if (rte_pktmbuf_prepend(f, l2_len) == nullptr) {
                    rte_pktmbuf_free(f);
                    continue;
                }
                auto* fip = rte_pktmbuf_mtod_offset(f, rte_ipv4_hdr*, l2_len);
                fip->hdr_checksum = 0;
                fip->hdr_checksum = rte_ipv4_cksum(fip);
                f->ol_flags = 0;
                _counters->fragments_tx.add();
                send_l2(f, next_hop);
            }
            return true;
        }
        if (_st.tx_cksum_offload) {
            m->l2_len = l2_len;
            m->l3_len = sizeof(rte_ipv4_hdr);
            m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
            udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
        } else {
            ip->hdr_checksum = rte_ipv4_cksum(ip);
            udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
        }
        send_l2(m, next_hop);
        return true;
    }

    // Fills the Ethernet header for `next_hop` and queues the frame, or parks it until ARP
    // resolves the next hop.
    void send_l2(rte_mbuf* m, uint32_t next_hop) noexcept {
        auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
        eth->src_addr = _st.mac;
        eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
        if (_st.arp.lookup(next_hop, eth->dst_addr.addr_bytes)) {
            queue_tx(m);
            return;
        }
        if (_pending_count == max_pending) {
            drop(m, _counters->arp_queue_drops);
            return;
        }
        const uint64_t now = now_ns();
        bool asked = false;
        for (uint32_t i = 0; i < _pending_count; ++i) {
            asked = asked || _pending[i].next_hop == next_hop;
        }
        _pending[_pending_count++] = {m, next_hop, now, now};
        if (!asked) {
            send_arp_request(next_hop);
        }
    }

    void send_arp_request(uint32_t target) noexcept {
        rte_mbuf* m = rte_pktmbuf_alloc(_st.rx_pool);
        if (m == nullptr) {
            return;
        }
        constexpr uint16_t frame_len = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN; // 60
        auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, frame_len));
        if (frame == nullptr) {
            rte_pktmbuf_free(m);
            return;
        }
        // A plain loop rather than memset: GCC 12 misjudges the bounds of the appended area.
        for (uint16_t i = 0; i < frame_len; ++i) {
            frame[i] = 0;
        }
        auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
        std::memset(eth->dst_addr.addr_bytes, 0xff, RTE_ETHER_ADDR_LEN);
        eth->src_addr = _st.mac;
        eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
        auto* arp = reinterpret_cast<rte_arp_hdr*>(frame + l2_len);
        arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
        arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
        arp->arp_hlen = RTE_ETHER_ADDR_LEN;
        arp->arp_plen = 4;
        arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
        arp->arp_data.arp_sha = _st.mac;
        arp->arp_data.arp_sip = _st.options.ipv4_be;
        arp->arp_data.arp_tip = target;
        _counters->arp_requests.add();
        queue_tx(m);
    }

    void queue_tx(rte_mbuf* m) noexcept {
        if (_tx_count == _tx_cap) {
            flush();
        }
        _tx[_tx_count++] = m;
    }

    // Copies the frames into the capture pool and writes them (rte_pcapng frees the copies).
    // Debugging only: off unless dataplane.capture_dir is set.
    void capture(rte_mbuf* const* frames, uint32_t n, rte_pcapng_direction dir) noexcept {
        rte_mbuf* copies[64];
        const uint64_t now = rte_get_tsc_cycles();
        for (uint32_t i = 0; i < n;) {
            uint16_t k = 0;
            for (; i < n && k < 64; ++i) {
                rte_mbuf* c = rte_pcapng_copy(_st.options.port_id, _queue, frames[i],
                                              _st.capture_pools[_queue], UINT32_MAX, now, dir);
                if (c != nullptr) copies[k++] = c;
            }
            if (k != 0) (void)rte_pcapng_write_packets(_st.captures[_queue], copies, k);
        }
    }

    void flush() noexcept {
        if (_tx_count != 0 && !_st.captures.empty()) {
            capture(_tx.get(), _tx_count, RTE_PCAPNG_DIRECTION_OUT);
        }
        uint32_t done = 0;
        // Bounded: a queue that takes nothing twice in a row is full; drop the rest.
        while (done < _tx_count) {
            const uint16_t chunk = static_cast<uint16_t>(std::min<uint32_t>(_tx_count - done, 512));
            const uint16_t sent =
                rte_eth_tx_burst(_st.options.port_id, _queue, _tx.get() + done, chunk);
            for (uint16_t i = 0; i < sent; ++i) {
                _counters->tx_packets.add();
                _counters->tx_bytes.add(_tx[done + i]->pkt_len);
            }
            done += sent;
            if (sent < chunk) {
                break;
            }
        }
        for (uint32_t i = done; i < _tx_count; ++i) {
            drop(_tx[i], _counters->tx_dropped);
        }
        _tx_count = 0;
    }

    port_state& _st;
    uint16_t _queue;
    uint64_t _tsc_hz = 1;
    uint16_t _ip_id = 1;
    std::unique_ptr<rte_mbuf*[]> _rx;
    std::unique_ptr<rte_mbuf*[]> _tx;
    uint32_t _tx_cap = 0;
    uint32_t _tx_count = 0;
    rte_ip_frag_tbl* _frag_tbl = nullptr;
    rte_ip_frag_death_row _death_row{};
    pending _pending[max_pending]{};
    uint32_t _pending_count = 0;
};

} // namespace

port::port() = default;

port::~port() {
    close();
}

status port::open(const port_options& options, uint16_t queues) {
    if (_configured) {
        return status::failure("DPDK port already open");
    }
    const uint16_t pid = options.port_id;
    if (!rte_eth_dev_is_valid_port(pid)) {
        return status::failure("DPDK port " + std::to_string(pid) +
                               " does not exist (no device matched: check dpdk.eal_args)");
    }
    if (options.ipv4_be == 0) {
        return status::failure("dpdk.address is not set");
    }
    _state = std::make_unique<port_state>();
    port_state& st = *_state;
    st.options = options;
    st.queues = queues;
    st.netmask_be = options.prefix_len == 0
                        ? 0
                        : htonl(~uint32_t{0} << (32 - std::min<uint8_t>(options.prefix_len, 32)));

    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(pid, &info) != 0) {
        return status::failure("cannot read DPDK port info");
    }
    int socket = rte_eth_dev_socket_id(pid);
    if (socket < 0) {
        socket = SOCKET_ID_ANY;
    }
    const std::string suffix = std::to_string(pid);
    const uint32_t cache = std::min<uint32_t>(options.mbuf_cache, RTE_MEMPOOL_CACHE_MAX_SIZE);
    st.rx_pool = rte_pktmbuf_pool_create(("tdm_rx" + suffix).c_str(), options.mbufs, cache,
                                         priv_size(), data_room, socket);
    st.tx_pool = rte_pktmbuf_pool_create(("tdm_tx" + suffix).c_str(),
                                         std::max<uint32_t>(options.mbufs / 2, 1023), cache,
                                         priv_size(), data_room, socket);
    st.indirect_pool =
        rte_pktmbuf_pool_create(("tdm_in" + suffix).c_str(),
                                std::max<uint32_t>(options.mbufs / 2, 1023), cache, 0, 0, socket);
    if (st.rx_pool == nullptr || st.tx_pool == nullptr || st.indirect_pool == nullptr) {
        const std::string err = rte_strerror(rte_errno);
        close();
        return status::failure("cannot create mbuf pools: " + err);
    }

    rte_eth_conf conf{};
    if (queues > 1 && info.flow_type_rss_offloads != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf =
            (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    }
    constexpr uint64_t tx_ck = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    if ((info.tx_offload_capa & tx_ck) == tx_ck) {
        conf.txmode.offloads |= tx_ck;
        st.tx_cksum_offload = true;
    }
    if ((info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    }
    constexpr uint64_t rx_ck = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    conf.rxmode.offloads |= info.rx_offload_capa & rx_ck;
    int rc = rte_eth_dev_configure(pid, queues, queues, &conf);
    if (rc != 0) {
        close();
        return status::failure("cannot configure DPDK port " + suffix + " with " +
                               std::to_string(queues) + " queues: " + rte_strerror(-rc));
    }
    _configured = true;
    uint16_t rxd = static_cast<uint16_t>(options.rx_desc);
    uint16_t txd = static_cast<uint16_t>(options.tx_desc);
    (void)rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rxd, &txd);
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    for (uint16_t q = 0; q < queues; ++q) {
        rc =
            rte_eth_rx_queue_setup(pid, q, rxd, static_cast<unsigned>(socket), &rxconf, st.rx_pool);
        if (rc == 0) {
            rc = rte_eth_tx_queue_setup(pid, q, txd, static_cast<unsigned>(socket), &txconf);
        }
        if (rc != 0) {
            close();
            return status::failure("cannot set up queue " + std::to_string(q) + " of port " +
                                   suffix + ": " + rte_strerror(-rc));
        }
    }
    (void)rte_eth_dev_set_mtu(pid, options.mtu); // best effort: virtual ports may refuse
    if (rte_eth_macaddr_get(pid, &st.mac) != 0) {
        close();
        return status::failure("cannot read the MAC address of port " + suffix);
    }
    if (!options.capture_dir.empty()) {
        for (uint16_t q = 0; q < queues; ++q) {
            const std::string path =
                options.capture_dir + "/shard-" + std::to_string(q) + ".pcapng";
            const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
            rte_pcapng_t* pc =
                fd < 0 ? nullptr : rte_pcapng_fdopen(fd, nullptr, nullptr, "tandem", nullptr);
            const std::string pool_name = "tdmcap" + std::to_string(pid) + "_" + std::to_string(q);
            rte_mempool* mp = rte_pktmbuf_pool_create(
                pool_name.c_str(), 1023, 0, 0,
                static_cast<uint16_t>(rte_pcapng_mbuf_size(data_room)), socket);
            if (pc == nullptr || mp == nullptr) {
                if (pc != nullptr) rte_pcapng_close(pc);
                if (pc == nullptr && fd >= 0) ::close(fd);
                rte_mempool_free(mp);
                close();
                return status::failure("cannot open the capture file " + path);
            }
            st.captures.push_back(pc);
            st.capture_pools.push_back(mp);
        }
    }
    return status::success();
}

status port::start() {
    if (!_configured) {
        return status::failure("DPDK port not open");
    }
    const int rc = rte_eth_dev_start(_state->options.port_id);
    if (rc != 0) {
        return status::failure("cannot start DPDK port: " + std::string(rte_strerror(-rc)));
    }
    _started = true;
    return status::success();
}

void port::stop() noexcept {
    if (_started) {
        (void)rte_eth_dev_stop(_state->options.port_id);
        _started = false;
    }
}

void port::close() noexcept {
    stop();
    if (_configured) {
        (void)rte_eth_dev_close(_state->options.port_id);
        _configured = false;
    }
    if (_state) {
        rte_mempool_free(_state->rx_pool);
        rte_mempool_free(_state->tx_pool);
        rte_mempool_free(_state->indirect_pool);
        for (rte_pcapng_t* pc : _state->captures)
            rte_pcapng_close(pc);
        for (rte_mempool* mp : _state->capture_pools)
            rte_mempool_free(mp);
        _state.reset();
    }
}

std::unique_ptr<shard_io> port::make_io(uint16_t queue) {
    return std::make_unique<dpdk_io>(*_state, queue);
}

rte_mempool* port::rx_pool() const noexcept {
    return _state ? _state->rx_pool : nullptr;
}
const uint8_t* port::mac() const noexcept {
    return _state->mac.addr_bytes;
}
arp_table& port::arp() noexcept {
    return _state->arp;
}

} // namespace tandem::dataplane::dpdk
