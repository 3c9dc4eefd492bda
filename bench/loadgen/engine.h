#pragma once

// One worker thread of tandem-loadgen: a caller (UAC) socket and/or a callee (UAS) socket,
// its own call tables, timer wheel and counters. Calls are sharded by index across workers:
// worker i of N places calls i, i+N, i+2N, ... Nothing is shared between workers except the
// read-only configuration, the stop flag and the counters the main thread reads.

#include "bench/loadgen/call_table.h"
#include "bench/loadgen/pacer.h"
#include "bench/loadgen/stats.h"
#include "sip/util/timer_wheel.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>

namespace tandem::sip {
class message;
}

namespace tandem::loadgen {

/// A UDP address, IPv4 or IPv6 (zero-initialised: family AF_UNSPEC).
union net_addr {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;

    net_addr() noexcept : v6{} {}
    [[nodiscard]] bool is_v6() const noexcept { return sa.sa_family == AF_INET6; }
    [[nodiscard]] socklen_t len() const noexcept {
        return is_v6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    }
    [[nodiscard]] uint16_t port() const noexcept {
        return ntohs(is_v6() ? v6.sin6_port : v4.sin_port);
    }
    void set_port(uint16_t port) noexcept { (is_v6() ? v6.sin6_port : v4.sin_port) = htons(port); }
    /// The address for SIP and SDP text: "192.0.2.1" or "2001:db8::1" (no brackets).
    [[nodiscard]] std::string ip_text() const;
    /// "192.0.2.1:5060" or "[2001:db8::1]:5060", as a SIP hostport.
    [[nodiscard]] std::string hostport_text() const;
};

/// What every worker shares (read-only once the workers start).
struct run_config {
    bool uac = false;            ///< place calls to `target`
    bool uas = false;            ///< answer calls on `uas_addr`
    net_addr target;             ///< where INVITEs, ACKs and BYEs go
    net_addr bind_addr;          ///< worker i binds port + i (0: an ephemeral port each)
    net_addr uas_addr;           ///< every worker binds it with SO_REUSEPORT
    double rate = 0;             ///< calls/s over all workers; 0 = as fast as allowed
    uint64_t calls = 0;          ///< calls to place over all workers (UINT64_MAX: unbounded)
    uint64_t duration_ns = 0;    ///< stop placing new calls after this (0: no limit)
    uint32_t max_inflight = 0;   ///< per worker, rate 0 only
    uint32_t table_capacity = 0; ///< call slots per worker and side
    uint32_t hold_min_ms = 0;
    uint32_t hold_max_ms = 0;
    uint32_t t1_ms = 500; ///< RFC 3261 T1; T2 = 8 * T1, timeouts at 64 * T1
    uint32_t threads = 1;
    bool ringing = false;  ///< the callee sends 180 before 200
    int sockbuf = 8 << 20; ///< SO_RCVBUF / SO_SNDBUF asked for
    uint64_t nonce = 0;    ///< distinguishes this run's Call-IDs and branches
};

/// Shared run state the main thread drives.
struct run_control {
    std::atomic<bool> stop{false}; ///< set by the main thread: every worker ends its loop
    uint64_t start_ns = 0;         ///< CLOCK_MONOTONIC time of call 0
};

/// Reads CLOCK_MONOTONIC in nanoseconds.
[[nodiscard]] uint64_t monotonic_ns() noexcept;

/// One worker. Construct and `open()` on the main thread (errors are reported there), then
/// `run()` on the worker's own thread; `stats()` and `uac_done()` may be read by anyone.
class worker {
public:
    worker(const run_config& cfg, run_control& ctl, uint32_t index);
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    /// Creates and binds the sockets. False with a message in `error` on failure.
    [[nodiscard]] bool open(std::string& error);
    /// The event loop: returns when `ctl.stop` is set, or when this worker is a caller only and
    /// all of its calls have ended. Calls still open then are counted as failed (timeouts).
    void run();

    [[nodiscard]] worker_stats& stats() noexcept { return _stats; }
    /// True once this worker's caller has placed all of its calls and all have ended (or it
    /// is no caller).
    [[nodiscard]] bool uac_done() const noexcept {
        return _uac_done.load(std::memory_order_acquire);
    }
    /// Calls open on the caller / callee side now (read by the main thread, approximate).
    [[nodiscard]] uint64_t uac_open() const noexcept {
        return _uac_open.load(std::memory_order_relaxed);
    }
    [[nodiscard]] uint64_t uas_open() const noexcept {
        return _uas_open.load(std::memory_order_relaxed);
    }

private:
    struct uac_call;
    struct uas_call;
    struct out_queue;
    struct in_batch;

    // Caller.
    void start_call(uint64_t now_ns, uint64_t seq);
    void on_uac_message(const sip::message& m, uint64_t now_ns);
    void uac_timer(uint32_t slot, bool deadline, uint64_t now_ns);
    void uac_end(uint32_t slot, bool ok);
    void send_invite(uint32_t slot);
    void send_ack(uint32_t slot, const sip::message* non_2xx);
    void send_bye(uint32_t slot);
    // Callee.
    void on_uas_message(const sip::message& m, const net_addr& from);
    void uas_timer(uint32_t slot, bool deadline);
    void uas_end(uint32_t slot, bool ok);
    size_t build_response(const sip::message& req, int code, std::string_view reason,
                          std::string_view to_tag, bool with_body, char* out, size_t cap);
    // I/O.
    void receive(int fd, bool uas_side, uint64_t& now_ns);
    void flush(out_queue& q);
    char* reserve(out_queue& q, const net_addr& to);
    void commit(out_queue& q, size_t len);
    [[nodiscard]] uint64_t tick(uint64_t now_ns) const noexcept {
        return (now_ns - _ctl.start_ns) / 1000000;
    }
    [[nodiscard]] uint32_t hold_ms() noexcept;
    void update_open() noexcept;

    const run_config& _cfg;
    run_control& _ctl;
    uint32_t _index;
    int _uac_fd = -1;
    int _uas_fd = -1;
    net_addr _uac_local;
    std::string _local;     ///< "host:port" of the caller socket
    std::string _uas_local; ///< "host:port" of the callee socket
    std::string _ruri;      ///< INVITE Request-URI
    std::string _to_uri;    ///< INVITE To
    std::string _sdp_uac, _sdp_uas;
    uint64_t _quota = 0; ///< calls this worker places
    uint64_t _rng = 0;
    pacer _pacer;
    worker_stats _stats;
    std::atomic<bool> _uac_done{false};
    std::atomic<uint64_t> _uac_open{0};
    std::atomic<uint64_t> _uas_open{0};
    std::unique_ptr<call_table<uac_call>> _uac_calls;
    std::unique_ptr<call_table<uas_call>> _uas_calls;
    std::unique_ptr<sip::util::timer_wheel> _wheel;
    std::unique_ptr<out_queue> _uac_out;
    std::unique_ptr<out_queue> _uas_out;
    std::unique_ptr<in_batch> _in;
    std::unique_ptr<sip::message> _msg;
};

} // namespace tandem::loadgen
