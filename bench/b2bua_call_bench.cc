// The engine figure: complete basic B2BUA calls through one engine (one shard, one core), with
// the real parser, transactions, dialogs, header policy, default scenario and builder, and no
// sockets. An in-process caller and callee (class peers) check what Tandem sent them and answer
// from pre-built messages, patching in the identifiers Tandem minted; their work is included in
// the figure.
//
// Per call, 7 messages in (A INVITE, B 100, B 180, B 200, A ACK, A BYE, B 200/BYE) and 7 out
// (100, INVITE, 180, 200, ACK, 200/BYE, BYE).
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>

#include "sip/b2b/engine.h"
#include "sip/b2b/header_policy.h"

namespace {

// Every heap allocation in the process is counted, so the benchmark can report the bytes the
// hot path allocates per call (it must be 0 after warm-up).
std::atomic<uint64_t> g_alloc_bytes{0};
std::atomic<uint64_t> g_alloc_count{0};

} // namespace

// The replacement operators pair malloc with free; GCC cannot see that they match.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
    g_alloc_bytes.fetch_add(n, std::memory_order_relaxed);
    g_alloc_count.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new[](size_t n) {
    return operator new(n);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
    std::free(p);
}
#pragma GCC diagnostic pop

namespace {

using namespace tandem::sip;
using namespace tandem::sip::b2b;

endpoint ep(const char* ip, uint16_t port) {
    endpoint e;
    (void)endpoint::from_ip(ip, port, e);
    return e;
}

// Remembers the last message Tandem sent to each side (no allocation: fixed buffers).
class capture final : public transport {
public:
    bool send(const char* data, size_t len, const endpoint& dest) noexcept override {
        auto& slot = dest.port == 5070 ? to_b : to_a;
        if (len > sizeof(slot.bytes)) return false;
        std::memcpy(slot.bytes, data, len);
        slot.len = len;
        ++sent;
        bytes_out += len;
        return true;
    }
    struct last {
        char bytes[4096];
        size_t len = 0;
        [[nodiscard]] std::string_view view() const { return {bytes, len}; }
    };
    last to_a, to_b;
    uint64_t sent = 0;
    uint64_t bytes_out = 0;
};

// Appends text and numbers to a fixed buffer (the peers' formatting: no printf on the loop).
struct writer {
    char* p;
    void put(std::string_view s) {
        std::memcpy(p, s.data(), s.size());
        p += s.size();
    }
    // 16 lower-case hex digits, most significant first: each half's nibbles are spread to one
    // byte each and turned into '0'+v or 'a'+v-10 eight at a time (no per-digit loop).
    void hex16(uint64_t v) {
        auto eight = [](uint64_t x) {
            constexpr uint64_t ones = 0x0101010101010101ULL;
            uint64_t t = (x & 0xffff) | ((x & 0xffff0000) << 16);
            t = (t & 0x000000ff000000ffULL) | ((t & 0x0000ff000000ff00ULL) << 8);
            t = (t & 0x000f000f000f000fULL) | ((t & 0x00f000f000f000f0ULL) << 4);
            const uint64_t letter = ((t + ones * (0x80 - 10)) >> 7) & ones; // 1 where v >= 10
            const uint64_t c = t + ones * '0' + letter * ('a' - 10 - '0');
            // Nibble 0 (the least significant) is in byte 0; it is written last.
            return std::endian::native == std::endian::little ? __builtin_bswap64(c) : c;
        };
        const uint64_t hi = eight(v >> 32), lo = eight(v & 0xffffffff);
        std::memcpy(p, &hi, 8);
        std::memcpy(p + 8, &lo, 8);
        p += 16;
    }
    void dec(uint64_t v) { p = std::to_chars(p, p + 20, v).ptr; }
};

// The header values a UA reads, found in one pass over the header lines (first Via only).
struct echoed {
    std::string_view start, via, max_forwards, from, to, call_id, cseq;
};

echoed header_lines(std::string_view msg) {
    echoed e;
    const char* p = msg.data();
    const char* end = p + msg.size();
    auto next_line = [&](const char* from) -> const char* {
        const void* cr = std::memchr(from, '\r', static_cast<size_t>(end - from));
        return cr != nullptr ? static_cast<const char*>(cr) : end;
    };
    const char* eol = next_line(p);
    e.start = {p, static_cast<size_t>(eol - p)};
    p = eol + 2;
    // A field is only ever taken while empty, so once every field the message kind has is
    // taken (a response has no Max-Forwards) the lines left change nothing: the walk stops.
    enum : unsigned { via = 1, max_forwards = 2, from = 4, to = 8, call_id = 16, cseq = 32 };
    const unsigned wanted = e.start.starts_with("SIP/2.0 ") ? 63u & ~max_forwards : 63u;
    unsigned taken = 0;
    while (p < end && *p != '\r' && taken != wanted) {
        eol = next_line(p);
        const std::string_view line(p, static_cast<size_t>(eol - p));
        auto take = [&](std::string_view name, std::string_view& out, unsigned bit) {
            if (out.empty() && line.starts_with(name)) {
                out = line.substr(name.size());
                if (!out.empty()) taken |= bit;
            }
        };
        switch (*p) {
        case 'V':
            take("Via: ", e.via, via);
            break;
        case 'M':
            take("Max-Forwards: ", e.max_forwards, max_forwards);
            break;
        case 'F':
            take("From: ", e.from, from);
            break;
        case 'T':
            take("To: ", e.to, to);
            break;
        case 'C':
            take("Call-ID: ", e.call_id, call_id);
            take("CSeq: ", e.cseq, cseq);
            break;
        default:
            break;
        }
        p = eol + 2;
    }
    return e;
}

// The bytes that end a parameter's value: ';', '>' and CR.
constexpr std::array<bool, 256> k_param_end = [] {
    std::array<bool, 256> t{};
    t[';'] = t['>'] = t['\r'] = true;
    return t;
}();

// Bit 7 of each byte of `w` that equals `c`, and maybe of bytes above the first such byte
// (the borrow of the zero-byte test): the lowest set bit is exact.
uint64_t bytes_equal(uint64_t w, char c) {
    constexpr uint64_t ones = 0x0101010101010101ULL;
    const uint64_t x = w ^ (ones * static_cast<unsigned char>(c));
    return (x - ones) & ~x & (ones << 7);
}

// The value of parameter `key` (e.g. "branch=") inside `v`, up to the first of ';', '>' or
// the end: eight bytes a step while eight are left, then one at a time.
std::string_view param(std::string_view v, std::string_view key) {
    size_t i = v.find(key);
    if (i == std::string_view::npos) return {};
    i += key.size();
    size_t e = i;
    for (; e + 8 <= v.size(); e += 8) {
        uint64_t w;
        std::memcpy(&w, v.data() + e, 8);
        if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
        const uint64_t m = bytes_equal(w, ';') | bytes_equal(w, '>') | bytes_equal(w, '\r');
        if (m != 0) return v.substr(i, e + static_cast<size_t>(std::countr_zero(m)) / 8 - i);
    }
    while (e < v.size() && !k_param_end[static_cast<unsigned char>(v[e])])
        ++e;
    return v.substr(i, e - i);
}

// A caller and a callee that work as a fast real UA would: each message Tandem sends them is
// read once, in one pass that finds only the header lines they need, and checked; what they
// echo is kept in their own buffers, and the answers are written from it (the callee reads
// Tandem's INVITE once and answers it three times). A check that fails counts the call as
// failed, so the benchmark reports an error when Tandem sends something wrong. Every message
// is distinct per call (the caller's branch, tag and Call-ID carry the call number; the callee
// echoes what Tandem minted); the constant parts are prebuilt once.
//
// What is checked: the callee's INVITE has Tandem's request line towards the bridge target, a
// Via from Tandem with an RFC 3261 branch, Max-Forwards decremented to 69, a From tag and no
// To tag, an INVITE CSeq, a Call-ID, and the caller's SDP as its body; the callee's BYE is
// addressed to its Contact, in its dialog (its To tag) with a BYE CSeq. The caller's 200 is a
// 200 OK to its INVITE (its branch, From tag and Call-ID, CSeq 1 INVITE) with a To tag and
// the callee's SDP as its body. The loop checks the status line of the other answers Tandem
// sends the caller and that Tandem sends 7 messages a call.
class peers {
public:
    peers() {
        _sdp = "v=0\r\no=alice 2890844526 2890844526 IN IP4 127.0.0.2\r\ns=-\r\n"
               "c=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 97\r\n"
               "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:97 iLBC/8000\r\n"
               "a=ptime:20\r\na=sendrecv\r\n";
        // The INVITE: three 16-digit hex fields (branch, tag, Call-ID) rewritten per call.
        writer w{_inv};
        w.put("INVITE sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-");
        _inv_hex[0] = static_cast<size_t>(w.p - _inv);
        w.hex16(0);
        w.put(";rport\r\nMax-Forwards: 70\r\nFrom: \"Alice\" <sip:alice@127.0.0.2>;tag=");
        _inv_hex[1] = static_cast<size_t>(w.p - _inv);
        w.hex16(0);
        w.put("\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: ");
        _inv_hex[2] = static_cast<size_t>(w.p - _inv);
        w.hex16(0);
        w.put("@client.example\r\n"
              "CSeq: 1 INVITE\r\n"
              "Contact: <sip:alice@127.0.0.2:5061>\r\n"
              "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE\r\n"
              "Supported: timer\r\n"
              "User-Agent: bench-uac\r\n"
              "Subject: bench\r\n"
              "Content-Type: application/sdp\r\n"
              "Content-Length: ");
        w.dec(_sdp.size());
        w.put("\r\n\r\n");
        w.put(_sdp);
        _inv_len = static_cast<size_t>(w.p - _inv);
    }

    std::string_view invite(uint64_t n) {
        for (size_t off : _inv_hex) {
            writer w{_inv + off};
            w.hex16(n);
        }
        return {_inv, _inv_len};
    }

    // The callee reads the INVITE Tandem sent it and keeps what its answers echo; false when
    // the INVITE is not what Tandem must send.
    bool take_invite(std::string_view req) {
        const echoed h = header_lines(req);
        return h.start == "INVITE sip:bob@127.0.0.3:5070 SIP/2.0" &&
               h.via.starts_with("SIP/2.0/UDP 127.0.0.1:5060;") && h.max_forwards == "69" &&
               h.to.find(";tag=") == std::string_view::npos && h.cseq.ends_with(" INVITE") &&
               req.ends_with(_sdp) && take_request(h);
    }

    // The callee reads the BYE Tandem sent it, in the dialog its 200 established.
    bool take_bye(std::string_view req) {
        const echoed h = header_lines(req);
        return h.start == "BYE sip:bob@127.0.0.3:5070 SIP/2.0" && h.to.ends_with(";tag=bobtag01") &&
               h.cseq.ends_with(" BYE") && take_request(h);
    }

    // The callee's response to the request it took last.
    std::string_view answer(int code, std::string_view reason, bool sdp) {
        writer w{_buf};
        w.put("SIP/2.0 ");
        w.dec(static_cast<uint64_t>(code));
        w.put(" ");
        w.put(reason);
        w.put({_echo, _echo_to_end});
        if (code > 100 && !_to_tagged) w.put(";tag=bobtag01");
        w.put({_echo + _echo_to_end, _echo_len - _echo_to_end});
        if (code > 100 && code < 300)
            w.put("Contact: <sip:bob@127.0.0.3:5070>\r\nContent-Type: application/sdp\r\n");
        w.put("Content-Length: ");
        w.dec(sdp ? _sdp.size() : 0);
        w.put("\r\n\r\n");
        if (sdp) w.put(_sdp);
        return {_buf, static_cast<size_t>(w.p - _buf)};
    }

    // The caller reads the 200 Tandem answered its INVITE n with and keeps the dialog's remote
    // tag; false when it is not that 200.
    bool take_ok(std::string_view ok) {
        const echoed h = header_lines(ok);
        const std::string_view to_tag = param(h.to, ";tag=");
        if (h.start != "SIP/2.0 200 OK" || to_tag.empty() || to_tag.size() > sizeof(_to_tag) ||
            h.cseq != "1 INVITE" || h.call_id != std::string_view(_inv + _inv_hex[2], 31) ||
            param(h.via, "branch=") != std::string_view(_inv + _inv_hex[0] - 8, 24) ||
            param(h.from, ";tag=") != std::string_view(_inv + _inv_hex[1], 16) ||
            !ok.ends_with(_sdp))
            return false;
        std::memcpy(_to_tag, to_tag.data(), to_tag.size());
        _to_tag_len = to_tag.size();
        return true;
    }

    // The caller's in-dialog request, in the dialog of the 200 it took last.
    std::string_view in_dialog(std::string_view method, uint64_t n, int cseq) {
        writer w{_buf};
        w.put(method);
        w.put(" sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-");
        w.put(method);
        w.hex16(n);
        w.put(";rport\r\nMax-Forwards: 70\r\nFrom: \"Alice\" <sip:alice@127.0.0.2>;tag=");
        w.hex16(n);
        w.put("\r\nTo: <sip:bob@127.0.0.1>;tag=");
        w.put({_to_tag, _to_tag_len});
        w.put("\r\nCall-ID: ");
        w.hex16(n);
        w.put("@client.example\r\nCSeq: ");
        w.dec(static_cast<uint64_t>(cseq));
        w.put(" ");
        w.put(method);
        w.put("\r\nContent-Length: 0\r\n\r\n");
        return {_buf, static_cast<size_t>(w.p - _buf)};
    }

private:
    // Keeps the header lines every answer to the request echoes: Via (the first), From and To
    // up to the end of To, then Call-ID and CSeq.
    bool take_request(const echoed& h) {
        const std::string_view branch = param(h.via, "branch=");
        if (!branch.starts_with("z9hG4bK") || h.from.find(";tag=") == std::string_view::npos ||
            h.call_id.empty() ||
            branch.size() + h.from.size() + h.to.size() + h.call_id.size() + h.cseq.size() + 96 >
                sizeof(_echo))
            return false;
        writer w{_echo};
        w.put("\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=");
        w.put(branch);
        w.put(";rport\r\nFrom: ");
        w.put(h.from);
        w.put("\r\nTo: ");
        w.put(h.to);
        _echo_to_end = static_cast<size_t>(w.p - _echo);
        w.put("\r\nCall-ID: ");
        w.put(h.call_id);
        w.put("\r\nCSeq: ");
        w.put(h.cseq);
        w.put("\r\n");
        _echo_len = static_cast<size_t>(w.p - _echo);
        _to_tagged = h.to.find(";tag=") != std::string_view::npos;
        return true;
    }

    char _buf[4096];
    char _inv[4096];
    char _echo[1024];
    size_t _echo_to_end = 0;
    size_t _echo_len = 0;
    bool _to_tagged = false;
    char _to_tag[64];
    size_t _to_tag_len = 0;
    size_t _inv_hex[3] = {};
    size_t _inv_len = 0;
    std::string_view _sdp;
};

const endpoint k_caller = ep("127.0.0.2", 5061);
const endpoint k_callee = ep("127.0.0.3", 5070);

void BM_B2buaBasicCall(benchmark::State& state) {
    header_policy_builder pb("default");
    (void)pb.add(direction::request, "Subject", policy_action::pass);
    auto policy = pb.build();
    engine_config cfg;
    cfg.max_calls = 4096;
    cfg.txn.max_transactions = 1 << 18;
    cfg.buffers[0] = 1 << 18;
    cfg.buffers[1] = 4096;
    cfg.buffers[2] = 8;
    cfg.local = ep("127.0.0.1", 5060);
    default_scenario scen("sip:bob@127.0.0.3:5070", false);
    capture net;
    tandem::sip::util::hash_key key{1, 2};
    tick_t now = 0;
    engine eng(cfg, net, scen, policy, key, now);
    peers p;
    uint64_t n = 0;
    uint64_t bytes_in = 0;
    uint64_t failures = 0;

    auto one_call = [&] {
        ++n;
        now += 1; // one virtual millisecond per call: lingering transactions expire as in life
        auto feed = [&](std::string_view m, const endpoint& from) {
            bytes_in += m.size();
            eng.on_datagram(m.data(), m.size(), from, now);
        };
        const uint64_t sent = net.sent;
        // The status line of an answer Tandem sent the caller.
        auto expect = [&](std::string_view status) {
            if (!net.to_a.view().starts_with(status)) ++failures;
        };
        feed(p.invite(n), k_caller);
        expect("SIP/2.0 100 ");
        if (!p.take_invite(net.to_b.view())) ++failures;
        feed(p.answer(100, "Trying", false), k_callee);
        feed(p.answer(180, "Ringing", false), k_callee);
        expect("SIP/2.0 180 ");
        feed(p.answer(200, "OK", true), k_callee);
        if (!p.take_ok(net.to_a.view())) ++failures;
        feed(p.in_dialog("ACK", n, 1), k_caller);
        feed(p.in_dialog("BYE", n, 2), k_caller);
        expect("SIP/2.0 200 ");
        if (!p.take_bye(net.to_b.view())) ++failures;
        feed(p.answer(200, "OK", false), k_callee);
        if (net.sent - sent != 7) ++failures;
        eng.on_tick(now);
    };

    for (int i = 0; i < 2000; ++i)
        one_call(); // warm-up: pools, caches, timer wheel
    const uint64_t calls_before = eng.stats().calls_ended;
    const uint64_t sent_before = net.sent;
    const uint64_t alloc_before = g_alloc_bytes.load();
    const uint64_t allocs_before = g_alloc_count.load();
    bytes_in = 0;
    for (auto _ : state)
        one_call();
    const uint64_t calls = eng.stats().calls_ended - calls_before;
    const uint64_t allocs = g_alloc_count.load() - allocs_before;
    const uint64_t alloc_bytes = g_alloc_bytes.load() - alloc_before;
    if (calls != static_cast<uint64_t>(state.iterations()) || failures != 0 ||
        eng.calls_active() != 0) {
        char why[160];
        std::snprintf(why, sizeof(why),
                      "calls did not complete: %llu of %llu, %llu failed, %zu left, %llu buffer "
                      "shortages",
                      static_cast<unsigned long long>(calls),
                      static_cast<unsigned long long>(state.iterations()),
                      static_cast<unsigned long long>(failures), eng.calls_active(),
                      static_cast<unsigned long long>(eng.stats().buffer_exhausted));
        state.SkipWithError(why);
        return;
    }
    state.SetItemsProcessed(static_cast<int64_t>(calls));
    state.SetBytesProcessed(static_cast<int64_t>(bytes_in));
    state.counters["calls/s"] = benchmark::Counter(double(calls), benchmark::Counter::kIsRate);
    state.counters["time/msg"] = benchmark::Counter(
        double(calls) * 14, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["msgs_out/call"] = double(net.sent - sent_before) / double(calls);
    state.counters["alloc_bytes/call"] = double(alloc_bytes) / double(calls);
    state.counters["allocs/call"] = double(allocs) / double(calls);
    state.counters["call_state_bytes"] = double(engine::call_bytes());
}
BENCHMARK(BM_B2buaBasicCall)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

// Resident memory of the process, from /proc/self/statm.
size_t rss_bytes() {
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) return 0;
    unsigned long size = 0, resident = 0;
    const int got = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    return got == 2 ? resident * 4096 : 0;
}

// MemAvailable from /proc/meminfo, in bytes (0 when unknown).
uint64_t available_bytes() {
    FILE* f = std::fopen("/proc/meminfo", "r");
    if (f == nullptr) return 0;
    char line[128];
    unsigned long long kib = 0;
    while (std::fgets(line, sizeof(line), f) != nullptr) {
        if (std::sscanf(line, "MemAvailable: %llu kB", &kib) == 1) break;
    }
    std::fclose(f);
    return kib * 1024;
}

// Memory per established call: N calls answered and ACKed, none hung up, then the RSS growth
// divided by N. Everything a call keeps while it talks is in it (call object, both dialogs and
// their text), and so is every page touched during setup (transactions, 2xx retransmission
// entries, message buffers at their high-water mark); time then advances past 64*T1 so that
// the setup transactions are gone and only the established state remains live.
void BM_MemoryPerEstablishedCall(benchmark::State& state) {
    const auto calls = static_cast<uint64_t>(state.range(0));
    // A million calls need a few GiB: run where the machine has them (8 KiB a call, twice the
    // cost before the pools got lazy, as margin), else say why not.
    if (available_bytes() < calls * 8192) {
        state.SkipWithError("not enough available memory for this many calls");
        return;
    }
    header_policy_builder pb("default");
    auto policy = pb.build();
    engine_config cfg;
    cfg.max_calls = static_cast<uint32_t>(calls + 16);
    // Two INVITE transactions per call while it is set up, two in reserve for its hang-up (the
    // engine admits a call only while every call up can still end).
    cfg.txn.max_transactions = static_cast<uint32_t>(calls * 4 + 1024);
    cfg.buffers[0] = static_cast<uint32_t>(calls * 4 + 1024);
    cfg.buffers[1] = static_cast<uint32_t>(calls + 1024);
    cfg.buffers[2] = 8;
    cfg.local = ep("127.0.0.1", 5060);
    cfg.ring_timeout_ms = 0;
    default_scenario scen("sip:bob@127.0.0.3:5070", false);
    capture net;
    tick_t now = 0;
    const size_t empty = rss_bytes();
    engine eng(cfg, net, scen, policy, {5, 6}, now);
    // What is resident right after construction (hash tables, pool bookkeeping, message-store
    // metadata), sized by the configuration: reported separately, per call of capacity. Pool
    // objects, message buffers and dialog text are touched as they are first used, so the
    // slots in use at the high-water mark (setup transactions included) count in the growth.
    const size_t preallocated = rss_bytes() - empty;
    peers p;
    uint64_t failures = 0;
    for (auto _ : state) {
        const size_t before = rss_bytes();
        for (uint64_t n = 1; n <= calls; ++n) {
            auto feed = [&](std::string_view m, const endpoint& from) {
                eng.on_datagram(m.data(), m.size(), from, now);
            };
            feed(p.invite(n), k_caller);
            if (!p.take_invite(net.to_b.view())) ++failures;
            feed(p.answer(200, "OK", true), k_callee);
            if (!p.take_ok(net.to_a.view())) ++failures;
            feed(p.in_dialog("ACK", n, 1), k_caller);
            if (n % 64 == 0) eng.on_tick(++now);
        }
        // Past 64*T1 and timer L/M: only the established calls' own state is left.
        for (int i = 0; i < 40000; i += 10)
            eng.on_tick(now += 10);
        const size_t after = rss_bytes();
        if (eng.calls_active() != calls || eng.stats().calls_answered != calls || failures != 0) {
            state.SkipWithError("calls were not all established");
            return;
        }
        state.counters["bytes/call"] = double(after - before) / double(calls);
        state.counters["preallocated_bytes/call"] = double(preallocated) / double(cfg.max_calls);
        // Everything the engine made resident, over the calls it holds.
        state.counters["total_bytes/call"] = double(after - empty) / double(calls);
        state.counters["calls"] = double(calls);
        state.counters["transactions_left"] = double(eng.transactions_active());
        state.counters["buffers_left"] = double(eng.buffers_in_use());
    }
}
BENCHMARK(BM_MemoryPerEstablishedCall)
    ->Arg(100000)
    ->Arg(1000000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
