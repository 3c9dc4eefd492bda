#include "bench/loadgen/options.h"

#include <arpa/inet.h>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace tandem::loadgen {

const char* usage_text() {
    return R"(tandem-loadgen: SIP call generator (caller and/or callee) for CPS benchmarks.

Caller:  tandem-loadgen --target HOST:PORT [--bind HOST:PORT] --rate CPS|max ...
Callee:  tandem-loadgen --uas HOST:PORT [--calls N] [--timeout S]
Both:    tandem-loadgen --target ... --uas ...   (a caller and a callee in one process)

Each call: INVITE with SDP, 100/180 optional, 200, ACK, hold, BYE, 200 (UDP, RFC 3261
retransmissions from T1, 64*T1 timeouts). The callee answers 100, (180), 200 with SDP,
retransmits its 200 until the ACK and answers BYE with 200.

HOST is an IPv4 address, an IPv6 address in brackets ([::1]), or localhost.

Options:
  --target HOST:PORT   where calls go (enables the caller)
  --bind HOST:PORT     caller address; thread i binds PORT+i (default 127.0.0.1:0, or
                       [::1]:0 for an IPv6 target)
  --uas HOST:PORT      answer calls here (every thread binds it with SO_REUSEPORT)
  --rate CPS|max       fixed calls per second, or closed loop with --max-inflight (default 100)
  --duration S         place calls for S seconds (fixed rate: RATE*S calls)
  --calls N            place at most N calls (callee only: end after N calls)
  --hold-ms MIN-MAX    hold time between ACK and BYE, uniform (default 0-0)
  --max-inflight N     calls open at once with --rate max, over all threads (default 1000)
  --threads N          worker threads, calls sharded by index (default 1)
  --timeout S          hard bound on the whole run; open calls then fail
                       (default: duration + hold max + 64*T1 + 5 s)
  --t1-ms N            RFC 3261 T1 (default 500)
  --ringing            the callee sends 180 before 200 (sipp's uac_basic.xml does not accept it)
  --linger-ms N        callee: stay N ms after the last call ended (default 500)
  --json FILE          write counters, latency percentiles and the achieved rate as JSON
  --progress-ms N      progress line on stderr every N ms (0: none; default 1000)
  --sockbuf BYTES      SO_RCVBUF/SO_SNDBUF asked for (default 8388608)
  -h, --help

Final stdout line: "loadgen: attempted=N ok=N failed=N" (the caller's, or the callee's when
there is no caller). Exit 0 when every call succeeded, 1 otherwise, 2 on a usage error.
)";
}

bool parse_host_port(const std::string& text, net_addr& out) {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    std::string host = text.substr(0, colon);
    if (host == "localhost") host = "127.0.0.1";
    char* end = nullptr;
    const long port = std::strtol(text.c_str() + colon + 1, &end, 10);
    if (*end != '\0' || end == text.c_str() + colon + 1 || port < 0 || port > 65535) return false;
    out = net_addr{};
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        out.v6.sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &out.v6.sin6_addr) != 1)
            return false;
    } else {
        out.v4.sin_family = AF_INET;
        if (inet_pton(AF_INET, host.c_str(), &out.v4.sin_addr) != 1) return false;
    }
    out.set_port(static_cast<uint16_t>(port));
    return true;
}

namespace {

bool parse_number(const char* s, double lo, double hi, double& out) {
    char* end = nullptr;
    out = std::strtod(s, &end);
    return end != s && *end == '\0' && std::isfinite(out) && out >= lo && out <= hi;
}

} // namespace

int parse_options(int argc, char** argv, options& o, std::string& error) {
    run_config& r = o.run;
    bool bind_given = false;
    bool rate_max = false;
    double rate = 100;
    double calls = -1;
    double max_inflight = 1000;
    double threads = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") return 1;
        if (a == "--ringing") {
            r.ringing = true;
            continue;
        }
        if (i + 1 >= argc) {
            error = "missing value for " + a;
            return -1;
        }
        const char* v = argv[++i];
        double x = 0;
        bool good = true;
        if (a == "--target") {
            good = parse_host_port(v, r.target) && r.target.port() != 0;
            r.uac = true;
        } else if (a == "--bind") {
            good = parse_host_port(v, r.bind_addr);
            bind_given = true;
        } else if (a == "--uas") {
            good = parse_host_port(v, r.uas_addr) && r.uas_addr.port() != 0;
            r.uas = true;
        } else if (a == "--rate") {
            if (std::strcmp(v, "max") == 0)
                rate_max = true;
            else
                good = parse_number(v, 0.001, 1e7, rate);
        } else if (a == "--duration") {
            good = parse_number(v, 0.001, 86400, o.duration_s);
        } else if (a == "--calls") {
            good = parse_number(v, 1, 1e12, calls) && calls == std::floor(calls);
        } else if (a == "--hold-ms") {
            unsigned lo = 0, hi = 0;
            char tail = 0;
            const int n = std::sscanf(v, "%u-%u%c", &lo, &hi, &tail);
            if (n == 1) hi = lo;
            good = (n == 1 || n == 2) && lo <= hi && hi <= 3600000;
            r.hold_min_ms = lo;
            r.hold_max_ms = hi;
        } else if (a == "--max-inflight") {
            good = parse_number(v, 1, 1e7, max_inflight);
        } else if (a == "--threads") {
            good = parse_number(v, 1, 64, threads);
        } else if (a == "--timeout") {
            good = parse_number(v, 0.1, 86400, o.timeout_s);
        } else if (a == "--t1-ms") {
            good = parse_number(v, 1, 60000, x);
            r.t1_ms = static_cast<uint32_t>(x);
        } else if (a == "--linger-ms") {
            good = parse_number(v, 0, 600000, x);
            o.linger_s = x / 1000;
        } else if (a == "--json") {
            o.json_path = v;
        } else if (a == "--progress-ms") {
            good = parse_number(v, 0, 3600000, x);
            o.progress_ms = static_cast<uint32_t>(x);
        } else if (a == "--sockbuf") {
            good = parse_number(v, 4096, 1 << 30, x);
            r.sockbuf = static_cast<int>(x);
        } else {
            error = "unknown option " + a;
            return -1;
        }
        if (!good) {
            error = "bad value for " + a + ": " + v;
            return -1;
        }
    }
    if (!r.uac && !r.uas) {
        error = "nothing to do: give --target (caller) and/or --uas (callee)";
        return -1;
    }
    // The caller binds the loopback address of the target's family unless told otherwise.
    if (!bind_given)
        (void)parse_host_port(r.target.is_v6() ? "[::1]:0" : "127.0.0.1:0", r.bind_addr);
    if (r.uac && r.bind_addr.is_v6() != r.target.is_v6()) {
        error = "--bind and --target must both be IPv4 or both IPv6";
        return -1;
    }
    r.threads = static_cast<uint32_t>(threads);
    r.rate = rate_max ? 0 : rate;
    const double hold_s = r.hold_max_ms / 1000.0;
    const double t64_s = 64.0 * r.t1_ms / 1000.0;
    if (r.uac) {
        if (!rate_max && calls < 0 && o.duration_s == 0) {
            error = "a fixed rate needs --duration or --calls";
            return -1;
        }
        if (rate_max && calls < 0 && o.duration_s == 0) {
            error = "--rate max needs --duration or --calls (the run must be bounded)";
            return -1;
        }
        if (!rate_max) {
            const double n = std::llround(rate * o.duration_s);
            r.calls = calls < 0 ? static_cast<uint64_t>(n)
                                : static_cast<uint64_t>(o.duration_s > 0 && n < calls ? n : calls);
            if (o.duration_s == 0) o.duration_s = static_cast<double>(r.calls) / rate;
            // Fixed rate: the calls are scheduled; the duration only bounds them.
            r.duration_ns = 0;
        } else {
            r.calls = calls < 0 ? UINT64_MAX : static_cast<uint64_t>(calls);
            r.duration_ns = static_cast<uint64_t>(o.duration_s * 1e9);
        }
        if (r.calls == 0) {
            error = "no calls to place (rate * duration < 1)";
            return -1;
        }
    } else {
        r.calls = calls < 0 ? UINT64_MAX : static_cast<uint64_t>(calls);
        if (calls < 0 && o.duration_s == 0 && o.timeout_s == 0) {
            error =
                "a callee alone needs --calls, --duration or --timeout (the run must be bounded)";
            return -1;
        }
    }
    r.max_inflight = static_cast<uint32_t>(std::ceil(max_inflight / r.threads));
    // Call slots per worker: at a fixed rate, the calls open over a hold and a timeout's worth
    // of slow answers; closed loop: the in-flight bound.
    double slots = 0;
    if (r.uac && !rate_max)
        slots = rate / r.threads * (hold_s + 4.0) + 1024;
    else if (r.uac)
        slots = r.max_inflight + 16.0;
    if (r.uas) slots = std::max(slots, r.uac ? slots : 16384.0);
    slots = std::min(slots, 1048576.0 / r.threads);
    r.table_capacity = static_cast<uint32_t>(slots);
    if (o.timeout_s == 0) o.timeout_s = o.duration_s + hold_s + t64_s + 5;
    return 0;
}

} // namespace tandem::loadgen
