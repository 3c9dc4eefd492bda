// Fuzz target: the B2BUA engine (sip/b2b/engine.h) with its transactions, dialogs, header
// policy, builder and timers, driven in process by a caller and a callee. The input is a small
// program, so that the fuzzer reaches answered, forked, re-INVITEd and hung-up calls instead of
// stopping at the parser:
//
//   input := flags:u8 duration:u8 step*
//   step  := 0x00-0x7f  a message from a template: bit 6 the side (0 caller, 1 callee), bits 0-5
//                       the template (mod 11, see `send_template`), then pick:u8 mut:u8, and when
//                       mut bit 7 is set len:u8 and len raw bytes spliced in as header lines
//          | 0x80-0xbf  the clock moves (1 + bits 0-3) * {10 ms, 250 ms, 2 s, 30 s}[bits 4-5]
//          | 0xc0-0xff  raw bytes from side bit 0: len:u16le, then len bytes
//
// Templates answer and continue what the engine sent that side last (its Via, tags, Call-ID,
// CSeq, Contact, RSeq), so responses match its transactions and requests its dialogs. `pick`
// chooses which recent message (bits 0-1), the peer's To tag (bits 2-3, four forks) and the
// status code or method (bits 4-7); `mut` bits: 0 SDP body, 1 100rel, 2 Record-Route, 3 low
// Max-Forwards (responses: no Contact), 4 stale CSeq, 5 wrong or missing tag (a new INVITE: no
// SDP), 6 another Contact port. `flags`: bits 0-2 the scenario (bridge, failover, reject, no
// decision, bad target), bit 3 a pass-all policy, bit 4 the scenario switches the call's policy,
// bit 5 tight capacities, bit 6 one call per second, bit 7 every fifth send fails. `duration`: bits
// 0-5 give every call a talk-time limit of 1 + that many seconds; bit 7 makes a tick 1 ms as in
// production, else it is 10 ms.
//
// Checked: every datagram the engine sends parses whole; its requests pass the semantic check
// (Max-Forwards 0 aside) and carry one Via, Tandem's, with a branch it minted; a new B-leg has
// a Call-ID and From tag Tandem minted (nothing of the caller's); an ACK for a failure repeats
// its INVITE's Request-URI; its responses to well-formed input pass the semantic check (their
// several Vias aside); a response a peer wrote is only relayed to the other leg; the call
// counters agree with the calls held. At the end the peers go quiet for 5 simulated minutes
// (past ring timeout, talk limit, timers B/F/H/J/L/M and 2xx retransmission), after which no
// call, transaction, buffer or timer may be left.
// tests/corpus/b2b_engine/ holds its seeds and, named after them, the inputs of the engine bugs it
// found (each fixed, each replayed by meson test).
//
// B2B_FUZZ_TRACE=1 prints every datagram, to read what an input does.
#include "sip/b2b/engine.h"
#include "sip/b2b/header_policy.h"
#include "sip/message.h"
#include "sip/util/ids.h"
#include "sip/validate.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

using namespace tandem::sip;
using namespace tandem::sip::b2b;
using tandem::sip::util::id_generator;
using tandem::sip::util::tick_t;

// Names the invariant that failed, so a crash report says which one without a rerun.
#define require(ok) require_at((ok), #ok, __LINE__)

void require_at(bool ok, const char* what, int line) {
    if (ok) return;
    std::fprintf(stderr, "b2b_engine_fuzz.cc:%d: invariant failed: %s\n", line, what);
    __builtin_trap();
}

class reader {
public:
    reader(const uint8_t* data, size_t size) : _p(data), _end(data + size) {}
    [[nodiscard]] bool done() const { return _p == _end; }
    uint8_t byte() { return _p == _end ? 0 : *_p++; }
    std::string_view bytes(size_t n) {
        n = std::min(n, static_cast<size_t>(_end - _p));
        std::string_view s(reinterpret_cast<const char*>(_p), n);
        _p += n;
        return s;
    }

private:
    const uint8_t* _p;
    const uint8_t* _end;
};

endpoint ep(const char* ip, uint16_t port) {
    endpoint e;
    (void)endpoint::from_ip(ip, port, e);
    return e;
}

enum side : int { caller = 0, callee = 1 };

const endpoint k_tandem = ep("127.0.0.1", 5060);
const endpoint k_home[2] = {ep("127.0.0.2", 5061), ep("127.0.0.3", 5070)};
constexpr std::string_view k_target = "sip:bob@127.0.0.3:5070";
constexpr std::string_view k_failover_target = "sip:carol@127.0.0.4:5070";
constexpr std::string_view k_side_char[2] = {"a", "b"};
constexpr std::string_view k_contact[2][2] = {
    {"<sip:alice@127.0.0.2:5061>", "<sip:alice@127.0.0.2:5071>"},
    {"<sip:bob@127.0.0.3:5070>", "<sip:bob@127.0.0.3:5072>"}};
// A proxy on each side's path: Tandem's in-dialog requests then go there.
constexpr std::string_view k_record_route[2] = {"<sip:127.0.0.9:5060;lr>",
                                                "<sip:127.0.0.8:5060;lr>"};
constexpr std::string_view k_sdp[2] = {
    "v=0\r\no=alice 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\n"
    "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
    "v=0\r\no=bob 2 2 IN IP4 127.0.0.3\r\ns=-\r\nc=IN IP4 127.0.0.3\r\n"
    "t=0 0\r\nm=audio 50000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"};
constexpr int k_codes[16] = {100, 180, 183, 200, 181, 202, 302, 401,
                             407, 408, 481, 486, 487, 491, 503, 603};
constexpr std::string_view k_dialog_methods[8] = {"INFO",  "MESSAGE",   "NOTIFY",  "OPTIONS",
                                                  "REFER", "SUBSCRIBE", "PUBLISH", "FOO"};
constexpr std::string_view k_lone_methods[8] = {"OPTIONS", "REGISTER",  "BYE", "MESSAGE",
                                                "FOO",     "SUBSCRIBE", "ACK", "CANCEL"};
constexpr uint64_t k_units_ms[4] = {10, 250, 2000, 30000};
// Past the longest chain of timers a call can leave: ring timeout (60 s) or talk limit (64 s),
// then a BYE's or CANCEL's 64*T1, with room to spare.
constexpr uint64_t k_quiet_ms = 5 * 60 * 1000;

// Where the engine sent a datagram: the callee's addresses (the bridge and failover targets
// and the callee's proxy), else the caller's.
side side_of(const endpoint& e) {
    const bool loopback = e.family == endpoint::family_t::ipv4 && e.addr[0] == 127;
    const uint8_t last = e.addr[3];
    return loopback && (last == 3 || last == 4 || last == 8) ? callee : caller;
}

const bool k_trace = std::getenv("B2B_FUZZ_TRACE") != nullptr;

void trace(const char* what, side s, std::string_view bytes, tick_t now) {
    if (!k_trace) return;
    std::fprintf(stderr, "--- tick %llu, %s %s:\n%.*s\n", static_cast<unsigned long long>(now),
                 what, s == 0 ? "caller" : "callee", static_cast<int>(bytes.size()), bytes.data());
}

std::string_view value_of(const message& m, header_id id) {
    const size_t i = m.find(id);
    return i == message::npos ? std::string_view() : m.value(i);
}

// A datagram one side received from the engine or sent to it, with the far address.
struct kept {
    std::string bytes;
    endpoint peer;
};

// The last N distinct datagrams, newest first by index (a retransmission is not kept again, so
// that it does not push out what it repeats), each parsed once.
template <size_t N>
class history {
public:
    struct entry {
        kept k;
        message m;
        bool parsed = false;
    };
    void push(std::string_view bytes, const endpoint& peer) {
        for (size_t i = 0; i < _count; ++i)
            if (_items[i].k.bytes == bytes && _items[i].k.peer == peer) return;
        entry& e = _items[_next];
        e.k = {std::string(bytes), peer};
        e.parsed = parse(e.k.bytes.data(), e.k.bytes.size(), e.m).ok();
        _next = (_next + 1) % N;
        _count = std::min(_count + 1, N);
    }
    [[nodiscard]] size_t size() const { return _count; }
    [[nodiscard]] const entry& recent(size_t i) const { return _items[(_next + N - 1 - i) % N]; }

private:
    std::array<entry, N> _items;
    size_t _next = 0;
    size_t _count = 0;
};

struct peer {
    history<8> received; // from the engine
    history<8> sent;     // to the engine, from templates
    uint32_t calls = 0;
    uint32_t branches = 0;
    uint32_t cseq = 100; // in-dialog CSeq, above any initial INVITE's
    uint32_t rseq = 1;
};

struct mutation {
    bool sdp, rel, record_route, low_forwards, stale_cseq, odd_tag, alt_contact;
    std::string_view splice;
};

// Adds the body (with its Content-Type), the spliced bytes and Content-Length.
std::string with_body(std::string head, const mutation& mu, side s, bool body) {
    if (body) head += "Content-Type: application/sdp\r\n";
    head += mu.splice;
    head += "Content-Length: " + std::to_string(body ? k_sdp[s].size() : 0) + "\r\n\r\n";
    if (body) head += k_sdp[s];
    return head;
}

class fuzz_scenario final : public scenario {
public:
    enum class mode { bridge, failover, reject, undecided, bad_target };
    fuzz_scenario(mode m, uint32_t duration_s, std::shared_ptr<const header_policy> other)
        : _mode(m), _duration_s(duration_s), _other(std::move(other)) {}

    void on_initial_invite(engine& e, call_handle call, const message& invite) override {
        (void)invite;
        e.limit_duration(call, _duration_s);
        if (_other) e.set_policy(call, _other);
        if (call.index < _failed_over.size()) _failed_over[call.index] = false;
        switch (_mode) {
        case mode::reject:
            e.reject(call, 486, "Busy Here");
            return;
        case mode::undecided:
            return;
        case mode::bad_target:
            if (!e.bridge(call, "sip:bob@callee.example")) e.reject(call, 503, "No Route");
            return;
        default:
            if (!e.bridge(call, k_target)) e.reject(call, 503, "Service Unavailable");
            return;
        }
    }
    void on_bridge_failure(engine& e, call_handle call, int code) override {
        (void)code;
        if (_mode != mode::failover || call.index >= _failed_over.size() ||
            _failed_over[call.index])
            return;
        _failed_over[call.index] = true;
        (void)e.bridge(call, k_failover_target);
    }

private:
    mode _mode;
    uint32_t _duration_s;
    std::shared_ptr<const header_policy> _other;
    std::array<bool, 64> _failed_over{};
};

// The engine's outbox: checks each datagram, then hands it to the side it went to.
class checking_transport final : public transport {
public:
    bool send(const char* data, size_t len, const endpoint& dest) noexcept override {
        const std::string_view bytes(data, len);
        trace("to", side_of(dest), bytes, now);
        // A retransmission repeats bytes checked already, by the same rule or a stricter one.
        auto [seen, first] = _checked.try_emplace(std::string(bytes), input_well_formed);
        if ((first || (input_well_formed && !seen->second)) && check(bytes)) {
            seen->second = input_well_formed;
            // A response a peer wrote (its reason phrase) crosses to the other leg, whose Call-ID
            // differs: it never answers a request of the leg it came from. (A retransmission is
            // byte for byte, so not here.)
            if (first && _m.is_response() && _m.reason_phrase() == "Fuzz" && from_call_id)
                require(*_m.call_id() != *from_call_id);
        }
        ++_sends;
        if (fail_every != 0 && _sends % fail_every == 0) return false;
        peers[side_of(dest)].received.push(bytes, dest);
        return true;
    }

    std::array<peer, 2> peers;
    // Set while the engine handles a datagram that parsed and passed the semantic check (and
    // while it runs timers): its responses must pass that check too.
    bool input_well_formed = true;
    // The Call-ID of the datagram being handled, if it is a response that parsed.
    std::optional<std::string> from_call_id;
    uint32_t fail_every = 0; // every so many sends fail; 0: none
    tick_t now = 0;          // for the trace

private:
    // Checks a datagram the engine sends, parsed into `_m`.
    bool check(std::string_view bytes) {
        const parse_result r = parse(bytes.data(), bytes.size(), _m);
        if (k_trace && !(r.ok() && r.offset == bytes.size())) {
            char why[64];
            (void)r.format(why, sizeof(why));
            std::fprintf(stderr, "--- sent a datagram that does not parse: %s (of %zu bytes)\n",
                         why, bytes.size());
        }
        require(r.ok() && r.offset == bytes.size());
        const semantic_verdict v = semantic_check(_m);
        if (_m.is_response()) {
            // A response goes back with all of the request's Vias.
            require(!input_well_formed || v.ok() ||
                    std::string_view(v.reason) == "More than one Via in response");
            return true;
        }
        // Max-Forwards reaches 0 on a request relayed with 1 left: the next hop refuses it.
        require(v.ok() || v.code == 483);
        require(_m.count(header_id::via) == 1);
        const auto& via = _m.top_via();
        require(via.ok() && via->host == "127.0.0.1" && via->port == 5060);
        const auto shard = id_generator::shard_of_branch(via->branch);
        require(shard.has_value() && *shard == 0);
        // The ACK for a failure is in the INVITE's transaction (its branch): it repeats the
        // INVITE's Request-URI (RFC 3261 s17.1.1.3).
        const std::string branch(via->branch);
        if (_m.method() == method::invite) _invite_uri[branch] = _m.request_uri();
        const auto inv = _invite_uri.find(branch);
        if (_m.method() == method::ack && inv != _invite_uri.end())
            require(_m.request_uri() == inv->second);
        if (_m.method() == method::invite && !_m.to()->has_tag) {
            // A new B-leg: Tandem's own identifiers, nothing of the A-leg's.
            require(id_generator::shard_of_call_id(*_m.call_id()).has_value());
            tandem::sip::util::digest128 bits;
            require(id_generator::tag_bits(_m.from()->tag, bits));
            require(_m.request_uri() == k_target || _m.request_uri() == k_failover_target);
        }
        return true;
    }

    message _m;
    uint64_t _sends = 0;
    std::unordered_map<std::string, std::string> _invite_uri; // Request-URI by branch
    std::unordered_map<std::string, bool> _checked; // datagram -> checked with input_well_formed
};

// One run: an engine, its two peers and the clock.
class run {
public:
    run(uint8_t flags, uint8_t duration) {
        static const auto default_policy = [] {
            header_policy_builder b("default");
            (void)b.add(direction::request, "Subject", policy_action::pass);
            (void)b.add(direction::request, "X-Fuzz", policy_action::pass);
            (void)b.add(direction::response, "Warning", policy_action::pass);
            return b.build();
        }();
        static const auto open_policy = [] {
            header_policy_builder b("open");
            b.set_default(direction::request, policy_action::pass);
            b.set_default(direction::response, policy_action::pass);
            b.set_trust_identity(true);
            b.set_transparent_auth(true);
            (void)b.add(direction::request, "X-Fuzz", policy_action::rename, "X-Fuzzed");
            (void)b.add(direction::response, "Warning", policy_action::rewrite, "399 tandem");
            return b.build();
        }();
        static constexpr fuzz_scenario::mode modes[8] = {
            fuzz_scenario::mode::bridge,    fuzz_scenario::mode::bridge,
            fuzz_scenario::mode::bridge,    fuzz_scenario::mode::failover,
            fuzz_scenario::mode::failover,  fuzz_scenario::mode::reject,
            fuzz_scenario::mode::undecided, fuzz_scenario::mode::bad_target};
        _scenario = std::make_unique<fuzz_scenario>(modes[flags & 7], 1 + (duration & 63u),
                                                    (flags & 16) != 0 ? open_policy : nullptr);
        engine_config cfg;
        cfg.local = k_tandem;
        cfg.ring_timeout_ms = 60000;
        // Ticks of 1 ms as in production, or of 10 ms: a tenth of the timer-wheel walking.
        _tick_ms = (duration & 128) != 0 ? 1 : 10;
        cfg.txn.tick_us = static_cast<uint32_t>(_tick_ms * 1000);
        if ((flags & 32) != 0) {
            cfg.max_calls = 2;
            cfg.txn.max_transactions = 12;
            cfg.buffers[0] = 10;
            cfg.buffers[1] = 4;
            cfg.buffers[2] = 1;
        } else {
            cfg.max_calls = 16;
            cfg.txn.max_transactions = 256;
            cfg.buffers[0] = 256;
            cfg.buffers[1] = 64;
            cfg.buffers[2] = 2;
        }
        if ((flags & 64) != 0) cfg.max_cps = 1;
        _net.fail_every = (flags & 128) != 0 ? 5 : 0;
        _engine = std::make_unique<engine>(cfg, _net, *_scenario,
                                           (flags & 8) != 0 ? open_policy : default_policy,
                                           tandem::sip::util::hash_key{1, 2}, _now);
        _max_calls = cfg.max_calls;
        _max_transactions = cfg.txn.max_transactions;
        _tight = (flags & 32) != 0;
    }

    void step(reader& in) {
        const uint8_t op = in.byte();
        if (op < 0x80) {
            const side s = (op & 0x40) != 0 ? callee : caller;
            const uint8_t pick = in.byte();
            const uint8_t mut = in.byte();
            mutation mu{(mut & 1) != 0,  (mut & 2) != 0,  (mut & 4) != 0,  (mut & 8) != 0,
                        (mut & 16) != 0, (mut & 32) != 0, (mut & 64) != 0, {}};
            if ((mut & 128) != 0) mu.splice = in.bytes(in.byte());
            send_template(s, op & 0x3f, pick, mu);
        } else if (op < 0xc0) {
            advance(((op & 0x0f) + 1u) * k_units_ms[(op >> 4) & 3]);
        } else {
            const side s = (op & 1) != 0 ? callee : caller;
            const size_t len = in.byte() | size_t{in.byte()} << 8;
            deliver(in.bytes(len), k_home[s]);
        }
        check_counters();
    }

    // The peers go quiet: every call, transaction, buffer and timer must run out.
    void quiet_end() {
        advance(k_quiet_ms);
        check_counters();
        if (k_trace) {
            std::fprintf(stderr,
                         "--- end: %zu calls, %zu transactions, %zu buffers; %llu buffer "
                         "shortages\n",
                         _engine->calls_active(), _engine->transactions_active(),
                         _engine->buffers_in_use(),
                         static_cast<unsigned long long>(_engine->stats().buffer_exhausted));
        }
        require(_engine->calls_active() == 0);
        require(_engine->transactions_active() == 0);
        require(_engine->buffers_in_use() == 0);
        require(_engine->next_due() == tandem::sip::util::no_timer);
    }

private:
    void check_counters() {
        const engine_stats& st = _engine->stats();
        require(st.calls_ended <= st.calls_started);
        require(_engine->calls_active() == st.calls_started - st.calls_ended);
        require(st.calls_answered + st.calls_failed <= st.calls_started);
        require(_engine->calls_active() <= _max_calls);
        require(_engine->transactions_active() <= _max_transactions);
    }

    void deliver(std::string_view bytes, const endpoint& from) {
        // The engine reads only the datagram's bytes: give it an exact heap copy, so that the
        // sanitizer sees any read past them.
        const std::unique_ptr<char[]> copy(new char[bytes.size()]);
        std::copy(bytes.begin(), bytes.end(), copy.get());
        const bool parsed = parse(copy.get(), bytes.size(), _in).ok();
        _net.input_well_formed = parsed && semantic_check(_in).ok();
        _net.now = _now;
        trace("from", side_of(from), bytes, _now);
        if (parsed && _in.is_response() && _in.call_id().ok())
            _net.from_call_id = std::string(*_in.call_id());
        _engine->on_datagram(copy.get(), bytes.size(), from, _now);
        _net.from_call_id.reset();
        _net.input_well_formed = true;
    }

    // Runs each timer at its tick, as a shard sleeping until next_due() does.
    void advance(uint64_t ms) {
        const tick_t until = _now + ms / _tick_ms;
        for (int guard = 0;; ++guard) {
            require(guard < 1000000);
            const tick_t due = _engine->next_due();
            if (due > until) break;
            _now = std::max(_now, due);
            _net.now = _now;
            _engine->on_tick(_now);
        }
        _now = until;
    }

    std::string branch(side s, std::string_view kind) {
        return "z9hG4bK-" + std::string(k_side_char[s]) + std::string(kind) +
               std::to_string(++_net.peers[s].branches);
    }
    std::string via(side s, std::string_view kind) {
        return "SIP/2.0/UDP " + std::string(s == caller ? "127.0.0.2:5061" : "127.0.0.3:5070") +
               ";branch=" + branch(s, kind) + ";rport";
    }
    std::string fork_tag(side s, uint8_t pick) {
        return std::string(k_side_char[s]) + "t" + std::to_string((pick >> 2) & 3);
    }

    // The `pick`-th (round the candidates) most recent datagram of `h` that parsed and that
    // `wanted` accepts; nullptr when there is none.
    template <class Wanted>
    const history<8>::entry* choose(const history<8>& h, uint8_t pick, Wanted wanted) {
        size_t candidates = 0;
        for (size_t i = 0; i < h.size(); ++i)
            if (h.recent(i).parsed && wanted(h.recent(i).m)) ++candidates;
        if (candidates == 0) return nullptr;
        size_t n = (pick & 3) % candidates;
        for (size_t i = 0; i < h.size(); ++i) {
            const auto& e = h.recent(i);
            if (e.parsed && wanted(e.m) && n-- == 0) return &e;
        }
        return nullptr;
    }

    void send_template(side s, unsigned which, uint8_t pick, const mutation& mu) {
        switch (which % 11) {
        case 0:
            return new_invite(s, pick, mu);
        case 1: {
            // A retransmission of something this side sent.
            peer& p = _net.peers[s];
            if (p.sent.size() == 0) return;
            const auto& e = p.sent.recent(pick % p.sent.size());
            return deliver(e.k.bytes, e.k.peer);
        }
        case 2:
            return cancel(s, pick, mu);
        case 3:
            return ack(s, pick, mu);
        case 4:
            return respond(s, pick, mu);
        case 5:
            return in_dialog(s, pick, mu, "BYE");
        case 6:
            return in_dialog(s, pick, mu, "INVITE");
        case 7:
            return in_dialog(s, pick, mu, "UPDATE");
        case 8:
            return in_dialog(s, pick, mu, k_dialog_methods[pick >> 5]);
        case 9:
            return in_dialog(s, pick, mu, "PRACK");
        default:
            return out_of_dialog(s, pick, mu, k_lone_methods[pick >> 5]);
        }
    }

    // `from` by value: it may name a slot of the history the datagram is pushed into.
    void send(side s, const std::string& bytes, endpoint from) {
        _net.peers[s].sent.push(bytes, from);
        deliver(bytes, from);
    }

    std::string forwards(const mutation& mu) {
        return mu.low_forwards ? "Max-Forwards: 1\r\n" : "Max-Forwards: 70\r\n";
    }

    void new_invite(side s, uint8_t pick, const mutation& mu) {
        const std::string n = std::to_string(++_net.peers[s].calls);
        const std::string sc(k_side_char[s]);
        std::string m = "INVITE sip:bob@127.0.0.1:5060 SIP/2.0\r\nVia: " + via(s, "i") + "\r\n" +
                        forwards(mu) + "From: \"Alice\" <sip:alice@127.0.0.2>;tag=" + sc + "f" + n +
                        "\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: " + n + "-" + sc +
                        "@fuzz.example\r\nCSeq: " + std::to_string(1 + (pick >> 4)) +
                        " INVITE\r\nContact: " + std::string(k_contact[s][mu.alt_contact]) +
                        "\r\nSubject: fuzz\r\nX-Fuzz: " + n + "\r\n";
        m += mu.rel ? "Supported: timer, 100rel\r\n" : "Supported: timer\r\n";
        if (mu.rel && (pick & 0x0c) == 0x0c) m += "Require: 100rel\r\n";
        if (mu.stale_cseq) m += "Session-Expires: 1800;refresher=uac\r\n";
        if (mu.record_route) m += "Record-Route: " + std::string(k_record_route[s]) + "\r\n";
        send(s, with_body(m, mu, s, !mu.odd_tag), k_home[s]);
    }

    void cancel(side s, uint8_t pick, const mutation& mu) {
        const auto* k = choose(_net.peers[s].sent, pick, [](const message& m) {
            return m.is_request() && m.method() == method::invite && m.cseq().ok() &&
                   m.call_id().ok();
        });
        if (k == nullptr) return;
        const message& inv = k->m;
        std::string m = "CANCEL " + std::string(inv.request_uri()) +
                        " SIP/2.0\r\nVia: " + std::string(value_of(inv, header_id::via)) + "\r\n" +
                        forwards(mu) + "From: " + std::string(value_of(inv, header_id::from)) +
                        "\r\nTo: " + std::string(value_of(inv, header_id::to)) +
                        "\r\nCall-ID: " + std::string(*inv.call_id()) +
                        "\r\nCSeq: " + std::to_string(inv.cseq()->number) + " CANCEL\r\n";
        send(s, with_body(m, mu, s, false), k->k.peer);
    }

    // ACK for a final response to an INVITE: in its transaction for a failure, a new one
    // for a 2xx.
    void ack(side s, uint8_t pick, const mutation& mu) {
        const auto* k = choose(_net.peers[s].received, pick, [](const message& m) {
            return m.is_response() && m.status_code() >= 200 && m.cseq().ok() &&
                   m.cseq()->method == method::invite && m.call_id().ok();
        });
        if (k == nullptr) return;
        const message& r = k->m;
        const auto ct = r.contact(0);
        const std::string ruri =
            ct.ok() && !ct->star ? std::string(ct->addr.uri) : "sip:127.0.0.1:5060";
        const std::string v =
            r.status_code() >= 300 ? std::string(value_of(r, header_id::via)) : via(s, "k");
        std::string m = "ACK " + ruri + " SIP/2.0\r\nVia: " + v + "\r\n" + forwards(mu) +
                        "From: " + std::string(value_of(r, header_id::from)) +
                        "\r\nTo: " + std::string(value_of(r, header_id::to)) +
                        "\r\nCall-ID: " + std::string(*r.call_id()) +
                        "\r\nCSeq: " + std::to_string(r.cseq()->number + (mu.stale_cseq ? 1 : 0)) +
                        " ACK\r\n";
        send(s, with_body(m, mu, s, mu.sdp), k->k.peer);
    }

    void respond(side s, uint8_t pick, const mutation& mu) {
        const auto* k = choose(_net.peers[s].received, pick, [](const message& m) {
            return m.is_request() && m.method() != method::ack && m.to().ok();
        });
        if (k == nullptr) return;
        const message& q = k->m;
        const int code = k_codes[pick >> 4];
        std::string m = "SIP/2.0 " + std::to_string(code) + " Fuzz\r\n";
        for (size_t i = q.find(header_id::via); i != message::npos;
             i = q.find(header_id::via, i + 1))
            m += "Via: " + std::string(q.value(i)) + "\r\n";
        m += "From: " + std::string(value_of(q, header_id::from)) + "\r\n";
        m += "To: " + std::string(value_of(q, header_id::to));
        if (!q.to()->has_tag && code > 100 && !mu.odd_tag) m += ";tag=" + fork_tag(s, pick);
        m += "\r\nCall-ID: " + std::string(value_of(q, header_id::call_id)) +
             "\r\nCSeq: " + std::string(value_of(q, header_id::cseq)) + "\r\n";
        if ((code > 100 && code < 300 && !mu.low_forwards) || (code >= 300 && code < 400))
            m += "Contact: " + std::string(k_contact[s][mu.alt_contact]) + "\r\n";
        if (mu.rel && code > 100 && code < 200) {
            peer& p = _net.peers[s];
            m += "Require: 100rel\r\nRSeq: " + std::to_string(mu.stale_cseq ? p.rseq : ++p.rseq) +
                 "\r\n";
        }
        if (code == 401) m += "WWW-Authenticate: Digest realm=\"fuzz\", nonce=\"1\"\r\n";
        if (code == 407) m += "Proxy-Authenticate: Digest realm=\"fuzz\", nonce=\"2\"\r\n";
        if (code == 491 || code == 503) m += "Retry-After: 1\r\n";
        if (mu.record_route) m += "Record-Route: " + std::string(k_record_route[s]) + "\r\n";
        m += "Warning: 399 peer \"fuzz\"\r\n";
        send(s, with_body(m, mu, s, mu.sdp && code > 100 && code < 300), k->k.peer);
    }

    // A request in the dialog of a recent datagram: a request the engine sent this side (the
    // side's tag is its To tag, or a fork's when it has none) or a response to this side.
    void in_dialog(side s, uint8_t pick, const mutation& mu, std::string_view meth) {
        const bool prack = meth == "PRACK";
        const auto* k = choose(_net.peers[s].received, pick, [&](const message& m) {
            if (!m.from().ok() || !m.to().ok() || !m.call_id().ok() || !m.cseq().ok()) return false;
            if (prack) return m.is_response() && m.rseq().ok() && m.to()->has_tag;
            return m.is_request() ||
                   (m.to()->has_tag && m.status_code() > 100 && m.status_code() < 300);
        });
        if (k == nullptr) return;
        const message& b = k->m;
        std::string local_uri, local_tag, remote_uri, remote_tag;
        if (b.is_request()) {
            local_uri = b.to()->uri;
            local_tag = b.to()->has_tag ? std::string(b.to()->tag) : fork_tag(s, pick);
            remote_uri = b.from()->uri;
            remote_tag = b.from()->tag;
        } else {
            local_uri = b.from()->uri;
            local_tag = b.from()->tag;
            remote_uri = b.to()->uri;
            remote_tag = b.to()->tag;
        }
        if (mu.odd_tag) remote_tag = "x" + remote_tag;
        const auto ct = b.contact(0);
        const std::string ruri =
            ct.ok() && !ct->star ? std::string(ct->addr.uri) : "sip:127.0.0.1:5060";
        peer& p = _net.peers[s];
        const uint32_t cseq = mu.stale_cseq ? p.cseq - 50 : ++p.cseq;
        std::string m = std::string(meth) + " " + ruri + " SIP/2.0\r\nVia: " + via(s, "d") +
                        "\r\n" + forwards(mu) + "From: <" + local_uri + ">;tag=" + local_tag +
                        "\r\nTo: <" + remote_uri + ">;tag=" + remote_tag +
                        "\r\nCall-ID: " + std::string(*b.call_id()) +
                        "\r\nCSeq: " + std::to_string(cseq) + " " + std::string(meth) + "\r\n";
        if (meth != "BYE") m += "Contact: " + std::string(k_contact[s][mu.alt_contact]) + "\r\n";
        if (prack) {
            m += "RAck: " + std::to_string(*b.rseq()) + " " + std::to_string(b.cseq()->number) +
                 " INVITE\r\n";
        }
        if (meth == "REFER") m += "Refer-To: <sip:carol@127.0.0.4>\r\n";
        if (meth == "SUBSCRIBE" || meth == "NOTIFY") m += "Event: dialog\r\n";
        if (meth == "NOTIFY") m += "Subscription-State: active\r\n";
        if (mu.rel) m += "Supported: 100rel, timer\r\nSession-Expires: 90\r\n";
        m += "X-Fuzz: in-dialog\r\n";
        send(s, with_body(m, mu, s, mu.sdp), k->k.peer);
    }

    void out_of_dialog(side s, uint8_t pick, const mutation& mu, std::string_view meth) {
        const std::string n = std::to_string(++_net.peers[s].calls);
        const std::string sc(k_side_char[s]);
        std::string m =
            std::string(meth) + " sip:bob@127.0.0.1:5060 SIP/2.0\r\nVia: " + via(s, "o") + "\r\n" +
            (mu.low_forwards ? "Max-Forwards: 0\r\n" : "Max-Forwards: 70\r\n") +
            "From: <sip:alice@127.0.0.2>;tag=" + sc + "o" + n + "\r\nTo: <sip:bob@127.0.0.1>" +
            (mu.odd_tag ? ";tag=" + fork_tag(s, pick) : "") + "\r\nCall-ID: " + n + "-" + sc +
            "@fuzz.example\r\nCSeq: 1 " + std::string(meth) +
            "\r\nContact: " + std::string(k_contact[s][mu.alt_contact]) + "\r\n";
        if (meth == "REGISTER") m += "Expires: 60\r\n";
        send(s, with_body(m, mu, s, mu.sdp), k_home[s]);
    }

    tick_t _now = 1000;
    uint64_t _tick_ms = 1;
    checking_transport _net;
    std::unique_ptr<fuzz_scenario> _scenario;
    std::unique_ptr<engine> _engine;
    size_t _max_calls = 0;
    size_t _max_transactions = 0;
    bool _tight = false;
    message _in; // the datagram being delivered, parsed to know whether it is well-formed
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    reader in(data, size);
    const uint8_t flags = in.byte();
    const uint8_t duration = in.byte();
    // A fresh engine per input keeps every run reproducible from its bytes alone.
    const auto r = std::make_unique<run>(flags, duration); // 70 KiB of parsed histories
    for (int steps = 0; !in.done() && steps < 256; ++steps)
        r->step(in);
    r->quiet_end();
    return 0;
}
