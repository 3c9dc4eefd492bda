#include "bench/loadgen/engine.h"

#include "sip/builder.h"
#include "sip/message.h"
#include "sip/util/ids.h"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tandem::loadgen {

namespace {

constexpr size_t batch = 64;     // datagrams per recvmmsg / sendmmsg
constexpr size_t rx_size = 4096; // receive buffer per datagram
constexpr size_t tx_size = 2048; // send buffer per datagram

// Timer data: slot << 2 | side << 1 | which.
constexpr uint64_t timer_uas = 2;
constexpr uint64_t timer_deadline = 1;

std::string sdp_for(std::string_view user, const net_addr& a) {
    const std::string ip = a.ip_text();
    const char* family = a.is_v6() ? " IN IP6 " : " IN IP4 ";
    std::string s = "v=0\r\no=";
    s += user;
    s += " 53655765 2353687637";
    s += family;
    s += ip;
    s += "\r\ns=-\r\nc=";
    s += family + 1;
    s += ip;
    s += "\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    return s;
}

// Decimal or hex into a small stack buffer; returns the view.
struct num_text {
    char buf[24];
    size_t len = 0;
    num_text(uint64_t v, int base = 10) noexcept {
        len = static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, v, base).ptr - buf);
    }
    [[nodiscard]] std::string_view view() const noexcept { return {buf, len}; }
};

bool copy_into(char* dst, size_t cap, uint16_t& len, std::string_view s) noexcept {
    if (s.size() > cap) return false;
    std::memcpy(dst, s.data(), s.size());
    len = static_cast<uint16_t>(s.size());
    return true;
}

int open_udp(const net_addr& addr, bool reuseport, int bufsize, std::string& error) {
    const int fd = socket(addr.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    // Ask for big buffers; FORCE works as root, the plain option is capped by rmem_max.
    for (int opt : {SO_RCVBUFFORCE, SO_RCVBUF})
        if (setsockopt(fd, SOL_SOCKET, opt, &bufsize, sizeof bufsize) == 0) break;
    for (int opt : {SO_SNDBUFFORCE, SO_SNDBUF})
        if (setsockopt(fd, SOL_SOCKET, opt, &bufsize, sizeof bufsize) == 0) break;
    const int one = 1;
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (addr.is_v6()) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, &addr.sa, addr.len()) != 0) {
        error = "bind " + addr.hostport_text() + ": " + std::strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

} // namespace

std::string net_addr::ip_text() const {
    char ip[INET6_ADDRSTRLEN] = {};
    if (is_v6())
        inet_ntop(AF_INET6, &v6.sin6_addr, ip, sizeof ip);
    else
        inet_ntop(AF_INET, &v4.sin_addr, ip, sizeof ip);
    return ip;
}

std::string net_addr::hostport_text() const {
    const std::string port_text = ":" + std::to_string(port());
    return is_v6() ? "[" + ip_text() + "]" + port_text : ip_text() + port_text;
}

uint64_t monotonic_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// ---------------------------------------------------------------------------------------------
// State

struct worker::uac_call {
    enum class state : uint8_t { idle, inviting, proceeding, holding, byeing };
    state st = state::idle;
    uint16_t id_len = 0, to_len = 0, target_len = 0, route_len = 0;
    uint32_t retx_ms = 0;
    uint64_t number = 0; // global call number
    uint64_t invite_ns = 0, bye_ns = 0;
    sip::util::timer retx;     // Timer A / E, and the hold
    sip::util::timer deadline; // Timer B / F
    char id[64];
    char to[256];
    char target[256];
    char route[512];

    [[nodiscard]] std::string_view call_id() const noexcept { return {id, id_len}; }
};

struct worker::uas_call {
    enum class state : uint8_t { idle, answered, confirmed };
    state st = state::idle;
    uint16_t id_len = 0, resp_len = 0;
    uint32_t retx_ms = 0;
    net_addr peer;
    sip::util::timer retx;     // Timer G
    sip::util::timer deadline; // Timer H, then the wait for BYE
    char id[160];
    char resp[1800]; // the 200 to INVITE, for retransmissions

    [[nodiscard]] std::string_view call_id() const noexcept { return {id, id_len}; }
};

struct worker::in_batch {
    char buf[batch][rx_size];
    net_addr from[batch];
    iovec iov[batch];
    mmsghdr msgs[batch];
};

struct worker::out_queue {
    int fd = -1;
    size_t n = 0;
    char buf[batch][tx_size];
    net_addr to[batch];
    iovec iov[batch];
    mmsghdr msgs[batch];
};

// ---------------------------------------------------------------------------------------------
// Setup

worker::worker(const run_config& cfg, run_control& ctl, uint32_t index)
    : _cfg(cfg), _ctl(ctl), _index(index), _pacer(cfg.rate, 0, cfg.threads, index) {
    const uint64_t share = cfg.calls / cfg.threads + (index < cfg.calls % cfg.threads ? 1 : 0);
    _quota = cfg.calls == UINT64_MAX ? UINT64_MAX : share;
    _rng = cfg.nonce ^ (0x9e3779b97f4a7c15ull * (index + 1));
    if (_rng == 0) _rng = 1;
}

worker::~worker() {
    if (_uac_fd >= 0) close(_uac_fd);
    if (_uas_fd >= 0) close(_uas_fd);
}

bool worker::open(std::string& error) {
    const auto key = sip::util::random_hash_key();
    if (!key) {
        error = "getrandom failed";
        return false;
    }
    _wheel = std::make_unique<sip::util::timer_wheel>(0);
    _msg = std::make_unique<sip::message>();
    _in = std::make_unique<in_batch>();
    if (_cfg.uac) {
        net_addr a = _cfg.bind_addr;
        if (a.port() != 0) a.set_port(static_cast<uint16_t>(a.port() + _index));
        _uac_fd = open_udp(a, false, _cfg.sockbuf, error);
        if (_uac_fd < 0) return false;
        socklen_t len = sizeof _uac_local;
        getsockname(_uac_fd, &_uac_local.sa, &len);
        _local = _uac_local.hostport_text();
        const std::string target = _cfg.target.hostport_text();
        _ruri = "sip:cps@" + target;
        _to_uri = "<sip:cps@" + target + ">";
        _sdp_uac = sdp_for("uac", _uac_local);
        _uac_calls = std::make_unique<call_table<uac_call>>(_cfg.table_capacity, *key);
        _uac_out = std::make_unique<out_queue>();
        _uac_out->fd = _uac_fd;
    } else {
        _uac_done.store(true, std::memory_order_release);
    }
    if (_cfg.uas) {
        _uas_fd = open_udp(_cfg.uas_addr, true, _cfg.sockbuf, error);
        if (_uas_fd < 0) return false;
        _uas_local = _cfg.uas_addr.hostport_text();
        _sdp_uas = sdp_for("uas", _cfg.uas_addr);
        _uas_calls = std::make_unique<call_table<uas_call>>(_cfg.table_capacity, *key);
        _uas_out = std::make_unique<out_queue>();
        _uas_out->fd = _uas_fd;
    }
    return true;
}

uint32_t worker::hold_ms() noexcept {
    // xorshift64: cheap, per worker.
    _rng ^= _rng << 13;
    _rng ^= _rng >> 7;
    _rng ^= _rng << 17;
    const uint32_t span = _cfg.hold_max_ms - _cfg.hold_min_ms;
    return _cfg.hold_min_ms + (span == 0 ? 0 : static_cast<uint32_t>(_rng % (span + 1ull)));
}

void worker::update_open() noexcept {
    if (_uac_calls) _uac_open.store(_uac_calls->size(), std::memory_order_relaxed);
    if (_uas_calls) _uas_open.store(_uas_calls->size(), std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------------
// Event loop

void worker::run() {
    bool placing = _cfg.uac;
    pollfd fds[2];
    nfds_t nfds = 0;
    if (_uac_fd >= 0) fds[nfds++] = pollfd{_uac_fd, POLLIN, 0};
    if (_uas_fd >= 0) fds[nfds++] = pollfd{_uas_fd, POLLIN, 0};
    auto fire = [&](sip::util::timer& t) {
        const uint64_t d = t.data;
        const auto slot = static_cast<uint32_t>(d >> 2);
        if (d & timer_uas)
            uas_timer(slot, d & timer_deadline);
        else
            uac_timer(slot, d & timer_deadline, monotonic_ns());
    };
    while (!_ctl.stop.load(std::memory_order_relaxed)) {
        uint64_t now = monotonic_ns();
        const uint64_t elapsed = now - _ctl.start_ns;
        if (placing) {
            const uint64_t placed = _pacer.taken();
            if (placed >= _quota || (_cfg.duration_ns != 0 && elapsed >= _cfg.duration_ns &&
                                     (_cfg.rate <= 0 || _quota == UINT64_MAX))) {
                placing = false;
            } else {
                uint64_t limit = _quota - placed;
                if (_cfg.rate <= 0) {
                    const uint64_t open = _uac_calls->size();
                    limit = open >= _cfg.max_inflight
                                ? 0
                                : std::min<uint64_t>(limit, _cfg.max_inflight - open);
                }
                const uint32_t n = _pacer.due(elapsed, limit);
                for (uint32_t i = 0; i < n; ++i)
                    start_call(now, _pacer.taken() + i);
                _pacer.take(n);
            }
        }
        _wheel->advance(tick(now), fire);
        if (_uac_out) flush(*_uac_out);
        if (_uas_out) flush(*_uas_out);
        update_open();
        if (_cfg.uac && !placing && _uac_calls->size() == 0 && !_uac_done.load()) {
            _uac_done.store(true, std::memory_order_release);
            if (!_cfg.uas) break;
        }

        // Sleep until a datagram, the next due call or the next millisecond tick.
        int timeout_ms = 1;
        if (placing && _cfg.rate > 0) {
            const uint64_t next = _pacer.next_due_ns();
            if (next <= elapsed) timeout_ms = 0;
        } else if (placing && _uac_calls->size() < _cfg.max_inflight) {
            timeout_ms = 0;
        }
        const int ready = poll(fds, nfds, timeout_ms);
        if (ready <= 0) continue;
        now = monotonic_ns();
        for (nfds_t i = 0; i < nfds; ++i) {
            if (!(fds[i].revents & POLLIN)) continue;
            receive(fds[i].fd, fds[i].fd == _uas_fd, now);
        }
        if (_uac_out) flush(*_uac_out);
        if (_uas_out) flush(*_uas_out);
    }
    // The run is over: whatever is still open failed.
    if (_uac_calls) {
        for (uint32_t i = 0; i < _uac_calls->capacity(); ++i) {
            if ((*_uac_calls)[i].st == uac_call::state::idle) continue;
            bump(_stats.c.timeouts);
            uac_end(i, false);
        }
    }
    if (_uas_calls) {
        for (uint32_t i = 0; i < _uas_calls->capacity(); ++i)
            if ((*_uas_calls)[i].st != uas_call::state::idle) uas_end(i, false);
    }
    update_open();
    _uac_done.store(true, std::memory_order_release);
}

void worker::receive(int fd, bool uas_side, uint64_t& now_ns) {
    auto& bufs = _in->buf;
    auto& from = _in->from;
    auto& iov = _in->iov;
    auto& msgs = _in->msgs;
    for (int round = 0; round < 8; ++round) {
        for (size_t i = 0; i < batch; ++i) {
            iov[i] = iovec{bufs[i], rx_size};
            msgs[i].msg_hdr = msghdr{};
            msgs[i].msg_hdr.msg_name = &from[i].sa;
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_len = 0;
        }
        const int n = recvmmsg(fd, msgs, batch, MSG_DONTWAIT, nullptr);
        if (n <= 0) return;
        now_ns = monotonic_ns();
        bump(_stats.c.rx, static_cast<uint64_t>(n));
        for (int i = 0; i < n; ++i) {
            const size_t len = msgs[i].msg_len;
            if (len == 0 || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
                bump(_stats.c.malformed);
                continue;
            }
            sip::message& m = *_msg;
            if (!sip::parse(bufs[i], len, m).ok() || !m.call_id().ok() || !m.cseq().ok()) {
                bump(_stats.c.malformed);
                continue;
            }
            if (uas_side)
                on_uas_message(m, from[i]);
            else
                on_uac_message(m, now_ns);
        }
        if (static_cast<size_t>(n) < batch) return;
        // A full batch: send what it produced before reading more.
        if (_uac_out) flush(*_uac_out);
        if (_uas_out) flush(*_uas_out);
    }
}

char* worker::reserve(out_queue& q, const net_addr& to) {
    if (q.n == batch) flush(q);
    q.to[q.n] = to;
    return q.buf[q.n];
}

void worker::commit(out_queue& q, size_t len) {
    if (len == 0) return; // the builder failed: nothing to send
    q.iov[q.n] = iovec{q.buf[q.n], len};
    msghdr& h = q.msgs[q.n].msg_hdr;
    h = msghdr{};
    h.msg_name = &q.to[q.n].sa;
    h.msg_namelen = q.to[q.n].len();
    h.msg_iov = &q.iov[q.n];
    h.msg_iovlen = 1;
    ++q.n;
}

void worker::flush(out_queue& q) {
    size_t done = 0;
    int spins = 0;
    while (done < q.n) {
        const int r = sendmmsg(q.fd, q.msgs + done, static_cast<unsigned>(q.n - done), 0);
        if (r > 0) {
            done += static_cast<size_t>(r);
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) &&
            ++spins < 1000) {
            pollfd p{q.fd, POLLOUT, 0};
            (void)poll(&p, 1, 1);
            continue;
        }
        // ECONNREFUSED (an ICMP from an earlier datagram) or worse: drop this one, go on.
        bump(_stats.c.send_errors);
        ++done;
    }
    bump(_stats.c.tx, q.n);
    q.n = 0;
}

// ---------------------------------------------------------------------------------------------
// Caller

void worker::start_call(uint64_t now_ns, uint64_t seq) {
    auto& table = *_uac_calls;
    bump(_stats.c.attempted);
    const uint32_t slot = table.acquire();
    if (slot == table.npos) {
        bump(_stats.c.failed);
        bump(_stats.c.table_full);
        return;
    }
    uac_call& c = table[slot];
    c.number = seq * _cfg.threads + _index;
    // Call-ID: "lg<nonce>-<worker>-<number>@<local>", unique per run and worker.
    const num_text nonce(_cfg.nonce & 0xffffffffull, 16), w(_index), num(c.number);
    char* p = c.id;
    auto put = [&](std::string_view s) {
        std::memcpy(p, s.data(), s.size());
        p += s.size();
    };
    put("lg");
    put(nonce.view());
    put("-");
    put(w.view());
    put("-");
    put(num.view());
    put("@loadgen");
    c.id_len = static_cast<uint16_t>(p - c.id);
    c.to_len = c.target_len = c.route_len = 0;
    (void)table.insert(slot);
    c.st = uac_call::state::inviting;
    c.invite_ns = now_ns;
    c.retx_ms = _cfg.t1_ms;
    c.retx.data = uint64_t{slot} << 2;
    c.deadline.data = uint64_t{slot} << 2 | timer_deadline;
    const uint64_t t = tick(now_ns);
    _wheel->start(c.retx, t + c.retx_ms);
    _wheel->start(c.deadline, t + 64ull * _cfg.t1_ms);
    send_invite(slot);
}

void worker::send_invite(uint32_t slot) {
    const uac_call& c = (*_uac_calls)[slot];
    const num_text nonce(_cfg.nonce & 0xffffffffull, 16), num(c.number);
    char* out = reserve(*_uac_out, _cfg.target);
    sip::message_builder b(out, tx_size);
    b.request_line("INVITE", _ruri);
    b.header_parts(
        "Via", {"SIP/2.0/UDP ", _local, ";branch=z9hG4bK-lg", nonce.view(), "-", num.view(), "-1"});
    b.header_parts("From", {"\"cps\" <sip:uac@", _local, ">;tag=lg", num.view()});
    b.header("To", _to_uri);
    b.header("Call-ID", c.call_id());
    b.header("CSeq", "1 INVITE");
    b.header_parts("Contact", {"<sip:uac@", _local, ";transport=udp>"});
    b.header("Max-Forwards", "70");
    b.header("Subject", "cps");
    b.header("Content-Type", "application/sdp");
    const auto r = b.finish(_sdp_uac);
    commit(*_uac_out, r.ok() ? r.length : 0);
}

// `non_2xx`: the final response an ACK for a failed INVITE answers (same branch as the INVITE,
// RFC 3261 s17.1.1.3); null for the ACK of a 2xx (a new transaction, s13.2.2.4).
void worker::send_ack(uint32_t slot, const sip::message* non_2xx) {
    const uac_call& c = (*_uac_calls)[slot];
    const num_text nonce(_cfg.nonce & 0xffffffffull, 16), num(c.number);
    char* out = reserve(*_uac_out, _cfg.target);
    sip::message_builder b(out, tx_size);
    const std::string_view target = non_2xx || c.target_len == 0
                                        ? std::string_view(_ruri)
                                        : std::string_view(c.target, c.target_len);
    b.request_line("ACK", target);
    b.header_parts("Via", {"SIP/2.0/UDP ", _local, ";branch=z9hG4bK-lg", nonce.view(), "-",
                           num.view(), non_2xx ? "-1" : "-3"});
    if (!non_2xx && c.route_len != 0) b.header("Route", {c.route, c.route_len});
    b.header_parts("From", {"\"cps\" <sip:uac@", _local, ">;tag=lg", num.view()});
    if (non_2xx) {
        const size_t i = non_2xx->find(sip::header_id::to);
        b.header("To", i == sip::message::npos ? std::string_view(_to_uri) : non_2xx->value(i));
    } else {
        b.header("To", {c.to, c.to_len});
    }
    b.header("Call-ID", c.call_id());
    b.header("CSeq", "1 ACK");
    b.header_parts("Contact", {"<sip:uac@", _local, ";transport=udp>"});
    b.header("Max-Forwards", "70");
    const auto r = b.finish();
    commit(*_uac_out, r.ok() ? r.length : 0);
}

void worker::send_bye(uint32_t slot) {
    const uac_call& c = (*_uac_calls)[slot];
    const num_text nonce(_cfg.nonce & 0xffffffffull, 16), num(c.number);
    char* out = reserve(*_uac_out, _cfg.target);
    sip::message_builder b(out, tx_size);
    b.request_line("BYE", c.target_len == 0 ? std::string_view(_ruri)
                                            : std::string_view(c.target, c.target_len));
    b.header_parts(
        "Via", {"SIP/2.0/UDP ", _local, ";branch=z9hG4bK-lg", nonce.view(), "-", num.view(), "-2"});
    if (c.route_len != 0) b.header("Route", {c.route, c.route_len});
    b.header_parts("From", {"\"cps\" <sip:uac@", _local, ">;tag=lg", num.view()});
    b.header("To", {c.to, c.to_len});
    b.header("Call-ID", c.call_id());
    b.header("CSeq", "2 BYE");
    b.header_parts("Contact", {"<sip:uac@", _local, ";transport=udp>"});
    b.header("Max-Forwards", "70");
    const auto r = b.finish();
    commit(*_uac_out, r.ok() ? r.length : 0);
}

void worker::on_uac_message(const sip::message& m, uint64_t now_ns) {
    if (!m.is_response()) {
        bump(_stats.c.unmatched);
        return;
    }
    auto& table = *_uac_calls;
    const uint32_t slot = table.find(*m.call_id());
    if (slot == table.npos) {
        bump(_stats.c.unmatched); // typically a late retransmission for an ended call
        return;
    }
    uac_call& c = table[slot];
    const int code = m.status_code();
    const sip::method method = m.cseq()->method;
    const uint64_t t = tick(now_ns);
    using st = uac_call::state;
    if (method == sip::method::invite) {
        if (code < 200) {
            if (c.st == st::inviting) {
                c.st = st::proceeding; // Timer A stops on a provisional (s17.1.1.2)
                _wheel->cancel(c.retx);
            }
            return;
        }
        if (c.st != st::inviting && c.st != st::proceeding) {
            // A retransmitted final response: the ACK was lost (or is in flight); resend it.
            bump(_stats.c.resp_retrans);
            if (code < 300 && (c.st == st::holding || c.st == st::byeing)) send_ack(slot, nullptr);
            return;
        }
        if (code >= 300) {
            send_ack(slot, &m);
            bump(_stats.c.rejected);
            ++_stats.rejected_by_code[static_cast<size_t>(code)]; // INVITE
            uac_end(slot, false);
            return;
        }
        _stats.invite_200.record((now_ns - c.invite_ns) / 1000);
        // The dialog: remote target, To with its tag, route set (Record-Route reversed).
        const size_t to = m.find(sip::header_id::to);
        bool fits = to != sip::message::npos && copy_into(c.to, sizeof c.to, c.to_len, m.value(to));
        const auto contact = m.contact(0);
        c.target_len = 0;
        if (contact.ok() && !contact->star)
            fits = fits && copy_into(c.target, sizeof c.target, c.target_len, contact->addr.uri);
        c.route_len = 0;
        for (size_t n = m.record_route_count(); n-- > 0 && fits;) {
            const size_t i = m.nth(sip::header_id::record_route, n);
            const std::string_view v = m.value(i);
            const size_t need = c.route_len + (c.route_len ? 2 : 0) + v.size();
            if (need > sizeof c.route) {
                fits = false;
                break;
            }
            if (c.route_len) {
                std::memcpy(c.route + c.route_len, ", ", 2);
                c.route_len += 2;
            }
            std::memcpy(c.route + c.route_len, v.data(), v.size());
            c.route_len = static_cast<uint16_t>(c.route_len + v.size());
        }
        if (!fits) {
            bump(_stats.c.malformed); // a dialog we cannot hold: count the call as failed
            uac_end(slot, false);
            return;
        }
        send_ack(slot, nullptr);
        _wheel->cancel(c.deadline);
        const uint32_t hold = hold_ms();
        c.st = st::holding;
        if (hold == 0)
            uac_timer(slot, false, now_ns); // the hold is over at once: BYE now
        else
            _wheel->start(c.retx, t + hold);
        return;
    }
    if (method == sip::method::bye) {
        if (c.st != st::byeing || code < 200) return;
        if (code >= 300) {
            bump(_stats.c.rejected);
            ++_stats.rejected_by_code[700 + static_cast<size_t>(code)]; // BYE
            uac_end(slot, false);
            return;
        }
        _stats.bye_200.record((now_ns - c.bye_ns) / 1000);
        uac_end(slot, true);
        return;
    }
    bump(_stats.c.unmatched);
}

void worker::uac_timer(uint32_t slot, bool deadline, uint64_t now_ns) {
    uac_call& c = (*_uac_calls)[slot];
    using st = uac_call::state;
    if (deadline) { // Timer B or F: 64*T1 without a final response
        bump(_stats.c.timeouts);
        uac_end(slot, false);
        return;
    }
    const uint64_t t = tick(now_ns);
    const uint32_t t2 = 8 * _cfg.t1_ms;
    switch (c.st) {
    case st::inviting: // Timer A: doubles without a cap
        bump(_stats.c.retrans);
        send_invite(slot);
        c.retx_ms *= 2;
        _wheel->start(c.retx, t + c.retx_ms);
        break;
    case st::holding: // the hold is over
        c.st = st::byeing;
        c.bye_ns = now_ns;
        c.retx_ms = _cfg.t1_ms;
        send_bye(slot);
        _wheel->start(c.retx, t + c.retx_ms);
        _wheel->start(c.deadline, t + 64ull * _cfg.t1_ms);
        break;
    case st::byeing: // Timer E: doubles up to T2
        bump(_stats.c.retrans);
        send_bye(slot);
        c.retx_ms = c.retx_ms * 2 > t2 ? t2 : c.retx_ms * 2;
        _wheel->start(c.retx, t + c.retx_ms);
        break;
    default:
        break;
    }
}

void worker::uac_end(uint32_t slot, bool ok) {
    uac_call& c = (*_uac_calls)[slot];
    _wheel->cancel(c.retx);
    _wheel->cancel(c.deadline);
    bump(ok ? _stats.c.ok : _stats.c.failed);
    c.st = uac_call::state::idle;
    _uac_calls->release(slot);
}

// ---------------------------------------------------------------------------------------------
// Callee

size_t worker::build_response(const sip::message& req, int code, std::string_view reason,
                              std::string_view to_tag, bool with_body, char* out, size_t cap) {
    sip::message_builder b(out, cap);
    b.status_line(code, reason);
    const bool has_tag = req.to().ok() && req.to()->has_tag;
    for (size_t i = 0; i < req.header_count(); ++i) {
        const sip::header_field& h = req.header(i);
        switch (h.id) {
        case sip::header_id::via:
        case sip::header_id::from:
        case sip::header_id::call_id:
        case sip::header_id::cseq:
            b.header(req.name(h), req.value(h));
            break;
        case sip::header_id::record_route:
            if (with_body) b.header(req.name(h), req.value(h));
            break;
        case sip::header_id::to:
            if (!has_tag && !to_tag.empty())
                b.header_parts(req.name(h), {req.value(h), ";tag=", to_tag});
            else
                b.header(req.name(h), req.value(h));
            break;
        default:
            break;
        }
    }
    if (!with_body) {
        const auto r = b.finish();
        return r.ok() ? r.length : 0;
    }
    b.header_parts("Contact", {"<sip:uas@", _uas_local, ";transport=udp>"});
    b.header("Content-Type", "application/sdp");
    const auto r = b.finish(_sdp_uas);
    return r.ok() ? r.length : 0;
}

void worker::on_uas_message(const sip::message& m, const net_addr& from) {
    if (!m.is_request()) {
        bump(_stats.c.unmatched);
        return;
    }
    auto& table = *_uas_calls;
    const std::string_view call_id = *m.call_id();
    const uint32_t slot = table.find(call_id);
    const uint64_t t = _wheel->now();
    using st = uas_call::state;
    switch (m.method()) {
    case sip::method::invite: {
        if (slot != table.npos) { // a retransmission: the same final answer again
            bump(_stats.c.uas_req_retrans);
            uas_call& c = table[slot];
            char* out = reserve(*_uas_out, from);
            std::memcpy(out, c.resp, c.resp_len);
            commit(*_uas_out, c.resp_len);
            return;
        }
        bump(_stats.c.uas_calls);
        const uint32_t s = table.acquire();
        if (s == table.npos) {
            bump(_stats.c.uas_table_full);
            bump(_stats.c.uas_failed);
            char* out = reserve(*_uas_out, from);
            commit(*_uas_out,
                   build_response(m, 503, "Service Unavailable", "lgfull", false, out, tx_size));
            return;
        }
        uas_call& c = table[s];
        if (!copy_into(c.id, sizeof c.id, c.id_len, call_id)) {
            table.release(s);
            bump(_stats.c.malformed);
            bump(_stats.c.uas_failed);
            return;
        }
        (void)table.insert(s);
        c.peer = from;
        char* out = reserve(*_uas_out, from);
        commit(*_uas_out, build_response(m, 100, "Trying", {}, false, out, tx_size));
        const num_text tag(_cfg.nonce ^ (uint64_t{s} << 20) ^ t, 36);
        if (_cfg.ringing) {
            out = reserve(*_uas_out, from);
            commit(*_uas_out, build_response(m, 180, "Ringing", tag.view(), false, out, tx_size));
        }
        c.resp_len = static_cast<uint16_t>(
            build_response(m, 200, "OK", tag.view(), true, c.resp, sizeof c.resp));
        if (c.resp_len == 0) { // cannot answer this one (too big): let it fail visibly
            bump(_stats.c.malformed);
            uas_end(s, false);
            return;
        }
        out = reserve(*_uas_out, from);
        std::memcpy(out, c.resp, c.resp_len);
        commit(*_uas_out, c.resp_len);
        c.st = st::answered;
        c.retx_ms = _cfg.t1_ms;
        c.retx.data = uint64_t{s} << 2 | timer_uas;
        c.deadline.data = uint64_t{s} << 2 | timer_uas | timer_deadline;
        _wheel->start(c.retx, t + c.retx_ms);
        _wheel->start(c.deadline, t + 64ull * _cfg.t1_ms);
        return;
    }
    case sip::method::ack:
        if (slot == table.npos) return; // an ACK after the BYE (reordered): harmless
        if (table[slot].st == st::answered) {
            uas_call& c = table[slot];
            c.st = st::confirmed;
            _wheel->cancel(c.retx);
            // Wait for the BYE: the longest hold plus a transaction timeout.
            _wheel->start(c.deadline, t + _cfg.hold_max_ms + 64ull * _cfg.t1_ms);
        } else {
            bump(_stats.c.uas_req_retrans);
        }
        return;
    case sip::method::bye: {
        char* out = reserve(*_uas_out, from);
        commit(*_uas_out, build_response(m, 200, "OK", {}, false, out, tx_size));
        if (slot == table.npos)
            bump(_stats.c.uas_bye_unknown); // a retransmitted BYE after we answered it
        else
            uas_end(slot, true);
        return;
    }
    case sip::method::cancel: {
        // The INVITE is answered at once, so a CANCEL has nothing left to stop (s9.2): 200 if
        // the call is known, 481 if not; the caller then ends the call with a BYE.
        char* out = reserve(*_uas_out, from);
        if (slot != table.npos)
            commit(*_uas_out, build_response(m, 200, "OK", {}, false, out, tx_size));
        else
            commit(*_uas_out, build_response(m, 481, "Call/Transaction Does Not Exist", "lg481",
                                             false, out, tx_size));
        return;
    }
    default: {
        char* out = reserve(*_uas_out, from);
        commit(*_uas_out, build_response(m, 501, "Not Implemented", "lg501", false, out, tx_size));
        return;
    }
    }
}

void worker::uas_timer(uint32_t slot, bool deadline) {
    uas_call& c = (*_uas_calls)[slot];
    if (deadline) { // Timer H (no ACK) or no BYE in time
        uas_end(slot, false);
        return;
    }
    if (c.st != uas_call::state::answered) return;
    // Timer G: the 200 again until the ACK (s13.3.1.4), doubling up to T2.
    bump(_stats.c.uas_retrans);
    char* out = reserve(*_uas_out, c.peer);
    std::memcpy(out, c.resp, c.resp_len);
    commit(*_uas_out, c.resp_len);
    const uint32_t t2 = 8 * _cfg.t1_ms;
    c.retx_ms = c.retx_ms * 2 > t2 ? t2 : c.retx_ms * 2;
    _wheel->start(c.retx, _wheel->now() + c.retx_ms);
}

void worker::uas_end(uint32_t slot, bool ok) {
    uas_call& c = (*_uas_calls)[slot];
    _wheel->cancel(c.retx);
    _wheel->cancel(c.deadline);
    bump(ok ? _stats.c.uas_ok : _stats.c.uas_failed);
    c.st = uas_call::state::idle;
    _uas_calls->release(slot);
}

} // namespace tandem::loadgen
