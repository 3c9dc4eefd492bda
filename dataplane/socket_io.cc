#include "dataplane/socket_io.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tandem_build_config.h"
#if TANDEM_HAVE_PCAP
#include <pcap/pcap.h>
#endif

namespace tandem::dataplane {

struct socket_io::scratch {
    // Transmit: filled per burst.
    std::vector<mmsghdr> msgs;
    std::vector<iovec> iovs;
    std::vector<sockaddr_storage> addrs;
    // Receive: slot i's header points at its address and iovec once and for all (and keeps the
    // address room, restored after each packet); slots [0, rx_posted) hold buffers posted for
    // the next recvmmsg (`rx_bufs[i]`, its iovec set).
    // Received packets take theirs away and the next burst tops the slots up again, so a burst
    // that got one packet costs one allocation, not `burst` allocations, frees and header
    // set-ups.
    std::vector<mmsghdr> rx_msgs;
    std::vector<iovec> rx_iovs;
    std::vector<sockaddr_storage> rx_addrs;
    std::vector<pkt_buf*> rx_bufs;
    uint32_t rx_posted = 0;
    std::vector<uint8_t> frame; // pcap capture: synthesised L2-L4 headers + payload
};

int open_udp_socket(const sockaddr_storage& addr, socklen_t len, std::string& error) {
    const int fd = ::socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    const int one = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        error = std::string("SO_REUSEPORT: ") + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    if (addr.ss_family == AF_INET6) {
        (void)::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    // Best effort: bursts of SIP need more than the default receive buffer.
    const int rcvbuf = 4 << 20;
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
        error = std::string("bind: ") + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    return fd;
}

uint16_t bound_port(int fd) noexcept {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        return 0;
    }
    return to_endpoint(ss).port;
}

sip::endpoint to_endpoint(const sockaddr_storage& ss) noexcept {
    if (ss.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
        return sip::endpoint::v4(in.sin_addr.s_addr, ntohs(in.sin_port));
    }
    if (ss.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
        return sip::endpoint::v6(in6.sin6_addr.s6_addr, ntohs(in6.sin6_port));
    }
    return {};
}

socklen_t to_sockaddr(const sip::endpoint& ep, sockaddr_storage& ss) noexcept {
    std::memset(&ss, 0, sizeof ss);
    if (ep.family == sip::endpoint::family_t::ipv4) {
        auto& in = reinterpret_cast<sockaddr_in&>(ss);
        in.sin_family = AF_INET;
        in.sin_port = htons(ep.port);
        std::memcpy(&in.sin_addr, ep.addr.data(), 4);
        return sizeof(sockaddr_in);
    }
    if (ep.family == sip::endpoint::family_t::ipv6) {
        auto& in6 = reinterpret_cast<sockaddr_in6&>(ss);
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(ep.port);
        std::memcpy(&in6.sin6_addr, ep.addr.data(), 16);
        return sizeof(sockaddr_in6);
    }
    return 0;
}

socket_io::socket_io(std::vector<int> fds, std::vector<sip::endpoint> locals,
                     const socket_io_options& options)
    : _fds(std::move(fds)), _locals(std::move(locals)), _options(options),
      _pool(options.pool_size, options.buffer_size, 0), _scratch(std::make_unique<scratch>()) {
    _options.burst = std::max<uint32_t>(_options.burst, 1);
    scratch& s = *_scratch;
    s.msgs.resize(_options.burst);
    s.iovs.resize(_options.burst);
    s.addrs.resize(_options.burst);
    s.rx_msgs.resize(_options.burst);
    s.rx_iovs.resize(_options.burst);
    s.rx_addrs.resize(_options.burst);
    s.rx_bufs.assign(_options.burst, nullptr);
    for (uint32_t i = 0; i < _options.burst; ++i) {
        msghdr& h = s.rx_msgs[i].msg_hdr;
        h = {};
        h.msg_name = &s.rx_addrs[i];
        h.msg_iov = &s.rx_iovs[i];
        h.msg_iovlen = 1;
        h.msg_namelen = sizeof(sockaddr_storage);
    }
    if (_pool.capacity() == 0) {
        _init = status::failure("socket backend: cannot allocate the buffer pool");
        return;
    }
    _event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    _epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (_event_fd < 0 || _epoll_fd < 0) {
        _init =
            status::failure(std::string("socket backend: eventfd/epoll: ") + std::strerror(errno));
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = _event_fd;
    (void)::epoll_ctl(_epoll_fd, EPOLL_CTL_ADD, _event_fd, &ev);
    for (const int fd : _fds) {
        if (fd >= 0) {
            ev.data.fd = fd;
            (void)::epoll_ctl(_epoll_fd, EPOLL_CTL_ADD, fd, &ev);
        }
    }
    if (!_options.capture_dir.empty()) {
#if TANDEM_HAVE_PCAP
        _scratch->frame.resize(14 + 40 + 8 + _options.buffer_size);
#else
        _init = status::failure("dataplane.capture_dir is set but Tandem was built without "
                                "libpcap");
#endif
    }
}

socket_io::~socket_io() {
#if TANDEM_HAVE_PCAP
    if (_pcap_dumper != nullptr) {
        pcap_dump_close(static_cast<pcap_dumper_t*>(_pcap_dumper));
    }
    if (_pcap != nullptr) {
        pcap_close(static_cast<pcap_t*>(_pcap));
    }
#endif
    for (const int fd : _fds) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    if (_epoll_fd >= 0) {
        ::close(_epoll_fd);
    }
    if (_event_fd >= 0) {
        ::close(_event_fd);
    }
}

void socket_io::bind(shard_counters& counters, uint16_t shard_id) noexcept {
    shard_io::bind(counters, shard_id);
    _pool.set_origin(shard_id);
#if TANDEM_HAVE_PCAP
    if (!_options.capture_dir.empty() && _init.ok && _pcap == nullptr) {
        const std::string path =
            _options.capture_dir + "/shard-" + std::to_string(shard_id) + ".pcap";
        pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
        pcap_dumper_t* d = p != nullptr ? pcap_dump_open(p, path.c_str()) : nullptr;
        if (d == nullptr) {
            _init = status::failure("cannot open capture file " + path);
            if (p != nullptr) {
                pcap_close(p);
            }
            return;
        }
        _pcap = p;
        _pcap_dumper = d;
    }
#endif
}

uint32_t socket_io::rx_burst(pkt_buf** out, uint32_t max) noexcept {
    if (_rx_skip_once) {
        _rx_skip_once = false;
        _rx_drained = true;
        return 0;
    }
    max = std::min(max, _options.burst);
    uint32_t got = 0;
    const auto sockets = static_cast<uint32_t>(_fds.size());
    scratch& s = *_scratch;
    // Drained only if every socket was asked and came back short; a full batch, a socket not
    // reached this round, or no buffer to receive into all mean there may be more.
    bool drained = true;
    // Round robin over listen sockets so that one busy address cannot starve the others.
    for (uint32_t k = 0; k < sockets && got < max; ++k) {
        const uint32_t index = (_next_socket + k) % sockets;
        const int fd = _fds[index];
        if (fd < 0) {
            continue;
        }
        // Buffers stay posted in slots [0, posted) from one burst to the next: top them up to
        // what this burst may fill.
        const uint32_t room = max - got;
        while (s.rx_posted < room) {
            pkt_buf* b = _pool.alloc();
            if (b == nullptr) {
                break;
            }
            s.rx_bufs[s.rx_posted] = b;
            s.rx_iovs[s.rx_posted] = {b->data, b->cap};
            ++s.rx_posted;
        }
        const uint32_t want = std::min(room, s.rx_posted);
        if (want == 0) {
            _counters->rx_no_buffer.add();
            drained = false;
            break;
        }
        const int r = ::recvmmsg(fd, s.rx_msgs.data(), want, MSG_DONTWAIT, nullptr);
        const uint32_t n = r > 0 ? static_cast<uint32_t>(r) : 0;
        drained = drained && n < want && (r >= 0 || errno == EAGAIN || errno == EWOULDBLOCK);
        for (uint32_t i = 0; i < n; ++i) {
            pkt_buf* b = s.rx_bufs[i];
            mmsghdr& m = s.rx_msgs[i];
            // The kernel wrote the address's length over the room it had: give it back (only
            // the slots it filled; the others still hold it).
            m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
            if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
                _counters->rx_truncated.add();
                _pool.free(b);
                continue;
            }
            b->len = m.msg_len;
            b->remote = to_endpoint(s.rx_addrs[i]);
            b->local = _locals[index];
            b->listen_index = static_cast<uint16_t>(index);
            b->origin_shard = _shard_id;
            _counters->rx_packets.add();
            _counters->rx_bytes.add(b->len);
            if (_pcap_dumper != nullptr) {
                capture(*b, false);
            }
            out[got++] = b;
        }
        // Slots [0, n) gave up their buffers: fill them from the end of the posted ones, so that
        // the posted buffers are [0, posted - n) again (at most n moves, none when all went).
        const uint32_t moves = std::min(n, s.rx_posted - n);
        for (uint32_t i = 0; i < moves; ++i) {
            const uint32_t from = s.rx_posted - 1 - i;
            s.rx_bufs[i] = s.rx_bufs[from];
            s.rx_iovs[i] = s.rx_iovs[from];
        }
        s.rx_posted -= n;
    }
    _next_socket = sockets > 0 ? (_next_socket + 1) % sockets : 0;
    // The loop stops early once `max` is reached: the sockets it did not ask are not drained.
    _rx_drained = drained && got < max;
    return got;
}

uint32_t socket_io::rx_posted() const noexcept {
    return _scratch->rx_posted;
}

uint32_t socket_io::tx_burst(pkt_buf* const* pkts, uint32_t n) noexcept {
    scratch& s = *_scratch;
    uint32_t sent = 0;
    uint32_t i = 0;
    while (i < n) {
        // A run of packets for the same socket, at most one burst long.
        const uint16_t index = pkts[i]->listen_index;
        uint32_t count = 0;
        while (i + count < n && count < _options.burst && pkts[i + count]->listen_index == index) {
            pkt_buf* b = pkts[i + count];
            if (index < _locals.size()) {
                b->local = _locals[index];
            }
            s.iovs[count] = {b->data, b->len};
            mmsghdr& m = s.msgs[count];
            m = {};
            m.msg_hdr.msg_name = &s.addrs[count];
            m.msg_hdr.msg_namelen = to_sockaddr(b->remote, s.addrs[count]);
            m.msg_hdr.msg_iov = &s.iovs[count];
            m.msg_hdr.msg_iovlen = 1;
            ++count;
        }
        const int fd = index < _fds.size() ? _fds[index] : -1;
        const int family = fd >= 0 && index < _locals.size() &&
                                   _locals[index].family == sip::endpoint::family_t::ipv6
                               ? AF_INET6
                               : AF_INET;
        uint32_t done = 0;
        while (fd >= 0 && done < count) {
            // Skip packets whose destination family does not match the socket.
            if (s.addrs[done].ss_family != family) {
                ++done;
                continue;
            }
            uint32_t run = 1;
            while (done + run < count && s.addrs[done + run].ss_family == family) {
                ++run;
            }
            const int r = ::sendmmsg(fd, &s.msgs[done], run, MSG_DONTWAIT);
            if (r <= 0) {
                ++done; // EAGAIN or an error for this datagram: drop it, try the rest
                continue;
            }
            for (int k = 0; k < r; ++k) {
                pkt_buf* b = pkts[i + done + static_cast<uint32_t>(k)];
                _counters->tx_packets.add();
                _counters->tx_bytes.add(b->len);
                if (_pcap_dumper != nullptr) {
                    capture(*b, true);
                }
            }
            sent += static_cast<uint32_t>(r);
            done += static_cast<uint32_t>(r);
        }
        for (uint32_t k = 0; k < count; ++k) {
            _pool.free(pkts[i + k]);
        }
        i += count;
    }
    return sent;
}

void socket_io::idle_wait(uint64_t timeout_ns) noexcept {
    if (!_options.wait || _epoll_fd < 0) {
        return;
    }
    epoll_event events[8];
    int r;
#ifdef __GLIBC__
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35)
    const timespec ts{static_cast<time_t>(timeout_ns / 1000000000ull),
                      static_cast<long>(timeout_ns % 1000000000ull)};
    r = ::epoll_pwait2(_epoll_fd, events, 8, &ts, nullptr);
    if (r < 0 && errno == ENOSYS)
#endif
#endif
    {
        // Millisecond resolution: round up so that we never spin on a sub-ms timeout.
        const int ms = static_cast<int>(std::min<uint64_t>((timeout_ns + 999999) / 1000000, 1000));
        r = ::epoll_wait(_epoll_fd, events, 8, ms);
    }
    bool socket_ready = r < 0; // interrupted: look at the sockets anyway
    for (int i = 0; i < r; ++i) {
        if (events[i].data.fd == _event_fd) {
            uint64_t value;
            (void)!::read(_event_fd, &value, sizeof value);
        } else {
            socket_ready = true;
        }
    }
    // A wait that timed out, or that only `wake` ended, saw every socket empty when it returned:
    // the next burst need not ask them (what arrived since keeps them readable for the next wait).
    _rx_skip_once = !socket_ready;
}

void socket_io::wake() noexcept {
    if (_event_fd >= 0) {
        const uint64_t one = 1;
        (void)!::write(_event_fd, &one, sizeof one);
    }
}

namespace {

uint16_t ip_checksum(const uint8_t* p, size_t len) noexcept {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    }
    if (len & 1) {
        sum += static_cast<uint32_t>(p[len - 1] << 8);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(~sum);
}

void put16(uint8_t* p, uint16_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

} // namespace

void socket_io::capture(const pkt_buf& pkt, bool outgoing) noexcept {
#if TANDEM_HAVE_PCAP
    const sip::endpoint& src = outgoing ? pkt.local : pkt.remote;
    const sip::endpoint& dst = outgoing ? pkt.remote : pkt.local;
    const bool v6 = dst.family == sip::endpoint::family_t::ipv6;
    uint8_t* f = _scratch->frame.data();
    const size_t ip_len = v6 ? 40 : 20;
    const size_t udp_len = 8 + pkt.len;
    std::memset(f, 0, 14 + ip_len + 8);
    f[5] = outgoing ? 2 : 1; // synthetic MACs 00:..:01 (peer) and 00:..:02 (us)
    f[11] = outgoing ? 1 : 2;
    put16(f + 12, v6 ? 0x86dd : 0x0800);
    uint8_t* ip = f + 14;
    if (v6) {
        ip[0] = 0x60;
        put16(ip + 4, static_cast<uint16_t>(udp_len));
        ip[6] = IPPROTO_UDP;
        ip[7] = 64;
        std::memcpy(ip + 8, src.addr.data(), 16);
        std::memcpy(ip + 24, dst.addr.data(), 16);
    } else {
        ip[0] = 0x45;
        put16(ip + 2, static_cast<uint16_t>(20 + udp_len));
        ip[8] = 64;
        ip[9] = IPPROTO_UDP;
        std::memcpy(ip + 12, src.addr.data(), 4);
        std::memcpy(ip + 16, dst.addr.data(), 4);
        put16(ip + 10, ip_checksum(ip, 20));
    }
    uint8_t* udp = ip + ip_len;
    put16(udp, src.port);
    put16(udp + 2, dst.port);
    put16(udp + 4, static_cast<uint16_t>(udp_len));
    std::memcpy(udp + 8, pkt.data, pkt.len);
    pcap_pkthdr h{};
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    h.ts.tv_sec = now.tv_sec;
    h.ts.tv_usec = static_cast<suseconds_t>(now.tv_nsec / 1000);
    h.caplen = h.len = static_cast<bpf_u_int32>(14 + ip_len + udp_len);
    pcap_dump(static_cast<u_char*>(_pcap_dumper), &h, f);
#else
    (void)pkt;
    (void)outgoing;
#endif
}

} // namespace tandem::dataplane
