#include "sip/b2b/engine.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <span>
#include <vector>

#include "sip/b2b/msg_store.h"
#include "sip/builder.h"
#include "sip/dialog/dialog_layer.h"
#include "sip/txn/ack_2xx.h"
#include "sip/txn/message_keys.h"
#include "sip/txn/transaction_layer.h"
#include "sip/uri.h"
#include "sip/util/ids.h"
#include "sip/util/pool.h"
#include "sip/validate.h"

namespace tandem::sip::b2b {

std::string_view to_string(leg_state s) noexcept {
    static constexpr std::string_view names[] = {"idle",        "incoming",    "establishing",
                                                 "established", "terminating", "terminated"};
    return names[static_cast<int>(s)];
}

std::string_view to_string(call_state s) noexcept {
    return to_string(static_cast<leg_state>(s));
}

call_state combine(leg_state a, leg_state b) noexcept {
    auto both = [&](leg_state s) { return a == s && b == s; };
    auto either = [&](leg_state s) { return a == s || b == s; };
    if (both(leg_state::terminated)) return call_state::terminated;
    if (either(leg_state::terminating) || either(leg_state::terminated))
        return call_state::terminating;
    if (both(leg_state::established)) return call_state::established;
    if (either(leg_state::establishing)) return call_state::establishing;
    if (either(leg_state::incoming)) return call_state::incoming;
    return call_state::idle;
}

void default_scenario::on_initial_invite(engine& e, call_handle call, const message& invite) {
    std::string_view target = _use_request_uri ? invite.request_uri() : _target;
    if (!e.bridge(call, target)) e.reject(call, 503, "Service Unavailable");
}

namespace {

using dialog::dialog_id;
using txn::txn_id;

constexpr std::string_view k_allow =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO, MESSAGE, NOTIFY, REFER";
constexpr size_t k_forks = 4;
constexpr size_t k_relays = 4;
constexpr size_t k_max_target = 80; // longest B-leg Request-URI bridge() accepts
// Per-call text: B-leg Request-URI, branch, Call-ID, tag, each at its longest.
constexpr size_t k_text = k_max_target + util::id_generator::max_branch +
                          util::id_generator::max_call_id + util::id_generator::max_tag;

// What a transaction or timer belongs to, packed into the 64-bit user cookie:
// [generation:24][role:8][call index:32].
enum role : uint8_t {
    role_a_invite = 1,   // the A-leg's INVITE server transaction
    role_b_invite,       // the B-leg's INVITE client transaction
    role_b_cancel,       // CANCEL on the B-leg
    role_bye_a,          // BYE Tandem sent on the A-leg
    role_bye_b,          // BYE Tandem sent on the B-leg
    role_2xx_a,          // the A-leg 2xx awaiting its ACK
    role_rel1xx_a,       // a reliable provisional to the A-leg awaiting its PRACK
    role_ring,           // the call's timer: ring timeout
    role_duration,       // the call's timer: talk-time limit
    role_relay = 16,     // + slot: the client side of a relayed in-dialog request
    role_relay_2xx = 32, // + slot: a relayed 2xx awaiting its ACK
};
constexpr uint64_t no_user = UINT64_MAX;
// Marks a kept 2xx ACK that is rebuilt on demand (see on_ack); message handles never have the
// top bit set (class << 32 | index), and the generator's counter stays below 2^63.
constexpr uint64_t ack_rebuild = uint64_t{1} << 63;

struct fork_map {
    dialog_id a; // the A-leg early/confirmed dialog shown to the caller
    dialog_id b; // the B-leg early/confirmed dialog it mirrors
    char a_tag[util::id_generator::max_tag];
    uint8_t a_tag_len = 0;
    bool used = false;
    // RFC 3262: each A-leg early dialog has its own RSeq space; the RAck of the caller's PRACK
    // is translated to the callee's RSeq of the same provisional.
    uint32_t a_rseq = 0; // the last RSeq Tandem sent on the A early dialog
    uint32_t b_rseq = 0; // the callee's RSeq of the provisional it mirrors
    [[nodiscard]] std::string_view tag() const noexcept { return {a_tag, a_tag_len}; }
};

// Ordered largest alignment first: 56 bytes, four per call.
struct relay {
    uint64_t copy = msg_store::npos; // the incoming request, for building its responses
    txn_id server;                   // on the leg the request came from
    txn_id client;                   // on the other leg
    uint32_t client_cseq = 0;
    uint32_t server_cseq = 0;
    endpoint resp_dest; // where responses to the request go (its Via)
    bool used = false;
    bool from_a = false; // the request came from the A-leg
    bool awaiting_ack = false;
    sip::method method = sip::method::other;
};

struct call {
    util::timer timer; // ring timeout, then talk-time limit
    leg_state a = leg_state::idle;
    leg_state b = leg_state::idle;
    bool a_final_sent = false;   // a final response went to the A-leg INVITE
    bool b_provisional = false;  // the B-leg INVITE got a provisional response
    bool cancel_pending = false; // the caller cancelled; CANCEL/BYE the B-leg as soon as possible
    bool decided = false;        // the scenario bridged or rejected
    bool failed_counted = false; // counted in engine_stats::calls_failed (once only)
    bool a_100rel = false;       // the caller supports reliable provisionals
    bool a_100rel_required = false;
    uint32_t duration_s = 0;
    const header_policy* policy = nullptr;

    txn_id a_invite;
    uint64_t a_copy = msg_store::npos;   // the A-leg INVITE, until its final response
    uint64_t a_answer = msg_store::npos; // SDP answer sent in a reliable 1xx (RFC 3262 s5)
    endpoint a_src;                      // where responses to the A-leg go
    uint32_t a_cseq = 0;
    dialog_id a_dialog; // confirmed A dialog

    txn_id b_invite;
    endpoint b_peer;
    dialog_id b_dialog; // confirmed B dialog
    uint32_t b_cseq = 0;
    uint8_t b_ruri_len = 0, b_branch_len = 0, b_call_id_len = 0, b_tag_len = 0;
    char text[k_text]; // B-leg R-URI | branch | Call-ID | tag

    fork_map forks[k_forks];
    relay relays[k_relays];

    [[nodiscard]] std::string_view b_ruri() const noexcept { return {text, b_ruri_len}; }
    [[nodiscard]] std::string_view b_branch() const noexcept {
        return {text + b_ruri_len, b_branch_len};
    }
    [[nodiscard]] std::string_view b_call_id() const noexcept {
        return {text + b_ruri_len + b_branch_len, b_call_id_len};
    }
    [[nodiscard]] std::string_view b_tag() const noexcept {
        return {text + b_ruri_len + b_branch_len + b_call_id_len, b_tag_len};
    }
};

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// The parameters of a name-addr with its tag removed: two pieces around ";tag=...".
struct params_without_tag {
    std::string_view before, after;
};

params_without_tag strip_tag(std::string_view params) noexcept {
    size_t i = 0;
    while (i < params.size()) {
        if (params[i] != ';') {
            ++i;
            continue;
        }
        size_t end = params.find(';', i + 1);
        if (end == std::string_view::npos) end = params.size();
        std::string_view p = params.substr(i + 1, end - i - 1);
        size_t eq = p.find('=');
        std::string_view name = p.substr(0, eq);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
            name.remove_suffix(1);
        while (!name.empty() && (name.front() == ' ' || name.front() == '\t'))
            name.remove_prefix(1);
        if (iequal(name, "tag")) return {params.substr(0, i), params.substr(end)};
        i = end;
    }
    return {params, {}};
}

// A party (display name, <uri>, params without tag): written into `buf`, or, when the header
// holds those exact bytes, a view of them (valid while the message is); "" when it does not
// fit `cap`.
std::string_view write_party(const name_addr_value& v, char* buf, size_t cap) noexcept {
    params_without_tag p;
    // The usual shapes need no walk: no parameters, or the tag as the only one (the parsed tag
    // is the rest of ";tag=...").
    if (!v.params.empty() &&
        !(v.params.size() == v.tag.size() + 5 && v.params.data() + 5 == v.tag.data() &&
          std::memcmp(v.params.data(), ";tag=", 5) == 0)) {
        p = strip_tag(v.params);
    }
    const size_t display = v.display_name.empty() ? 0 : v.display_name.size() + 1;
    const size_t n = display + v.uri.size() + 2 + p.before.size() + p.after.size();
    if (n > cap) return {};
    // No parameters left and the header written as this function writes it (`"Name" <uri>`
    // or `<uri>`, one space): those bytes of the header are the party already, no copy.
    if (p.before.empty() && p.after.empty() && v.angle_brackets && !v.uri.empty()) {
        const char* first = v.uri.data() - 1 - display;
        if (v.uri.data()[-1] == '<' && v.uri.data()[v.uri.size()] == '>' &&
            (display == 0 || (first == v.display_name.data() && first[display - 1] == ' ')))
            return {first, n};
    }
    char* out = buf;
    if (display != 0) {
        std::memcpy(out, v.display_name.data(), v.display_name.size());
        out += v.display_name.size();
        *out++ = ' ';
    }
    *out++ = '<';
    std::memcpy(out, v.uri.data(), v.uri.size());
    out += v.uri.size();
    *out++ = '>';
    if (!p.before.empty()) {
        std::memcpy(out, p.before.data(), p.before.size());
        out += p.before.size();
    }
    if (!p.after.empty()) std::memcpy(out, p.after.data(), p.after.size());
    return {buf, n};
}

// A dotted quad exactly as inet_pton(AF_INET) takes it: four decimal parts of 1-3 digits,
// 0..255, no leading zero. False for anything else (the caller then asks inet_pton).
bool dotted_quad(std::string_view s, uint32_t& addr_be) noexcept {
    uint8_t b[4];
    size_t i = 0;
    for (int part = 0; part < 4; ++part) {
        if (part != 0) {
            if (i >= s.size() || s[i] != '.') return false;
            ++i;
        }
        const size_t start = i;
        unsigned v = 0;
        while (i < s.size() && i - start < 3 && s[i] >= '0' && s[i] <= '9')
            v = v * 10 + static_cast<unsigned>(s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1)) return false;
        b[part] = static_cast<uint8_t>(v);
    }
    if (i != s.size()) return false;
    std::memcpy(&addr_be, b, 4);
    return true;
}

// A URI's host and port as a destination; false when the host is not an IP literal.
bool uri_destination(std::string_view text, endpoint& out) noexcept {
    if (!text.empty() && text.front() == '<') {
        size_t close = text.find('>');
        if (close == std::string_view::npos) return false;
        text = text.substr(1, close - 1);
    }
    uri u;
    if (!parse_uri(text, u)) return false;
    if (u.scheme != uri_scheme::sip && u.scheme != uri_scheme::sips) return false;
    if (u.host_type != host_kind::ipv4 && u.host_type != host_kind::ipv6) return false;
    const uint16_t port = u.has_port ? u.port : 5060;
    uint32_t addr_be;
    if (u.host_type == host_kind::ipv4 && dotted_quad(u.host, addr_be)) {
        out = endpoint::v4(addr_be, port);
        return true;
    }
    return endpoint::from_ip(u.host, port, out);
}

// Remembers the last few URIs resolved by uri_destination and their results, keyed by the
// URI's bytes (a pure function of them, so an entry never goes stale). A call resolves the
// same few texts again and again: the bridge target, then its B-leg Contact for the ACK and the
// BYE; a trunk's Contact is the same for every call.
class destination_memo {
public:
    bool resolve(std::string_view text, endpoint& out) noexcept {
        if (text.size() <= k_max_text) {
            for (const entry& e : _entries) {
                if (e.len == text.size() && e.len != 0 &&
                    std::memcmp(e.text, text.data(), e.len) == 0) {
                    if (!e.ok) return false;
                    out = e.dest;
                    return true;
                }
            }
        }
        const bool ok = uri_destination(text, out);
        if (text.size() <= k_max_text && !text.empty()) {
            entry& e = _entries[_next];
            _next = (_next + 1) % k_entries;
            std::memcpy(e.text, text.data(), text.size());
            e.len = static_cast<uint8_t>(text.size());
            e.ok = ok;
            if (ok) e.dest = out;
        }
        return ok;
    }

private:
    static constexpr size_t k_entries = 4;
    static constexpr size_t k_max_text = 95;
    struct entry {
        endpoint dest;
        uint8_t len = 0;
        bool ok = false;
        char text[k_max_text];
    };
    entry _entries[k_entries];
    size_t _next = 0;
};

} // namespace

// ---------------------------------------------------------------------------------------------

struct engine::impl final : txn::action_sink {
    impl(engine& self, const engine_config& cfg, transport& out, scenario& scen,
         std::shared_ptr<const header_policy> policy, const util::hash_key& key, tick_t now);

    // txn::action_sink: sends and releases happen at once; everything that needs the call
    // logic is queued and run after the layer call returns (the layer must not be re-entered).
    void emit(const txn::action& a) noexcept override;
    void drain() noexcept;
    void release_2xx_ack(uint64_t user) noexcept;
    void end_datagram(bool parsed) noexcept;
    // The store copy of request `m` for a call or relay to keep (one reference): the datagram's
    // own buffer when it was parsed there, else a fresh copy; npos when no buffer is free.
    uint64_t keep_copy(const message& m) noexcept;
    // True while a datagram is handled and it is a response with status `code`.
    [[nodiscard]] bool rx_is_failure(int code) const noexcept {
        return _in_datagram && _rx->is_response() && _rx->status_code() == code;
    }
    // A dialog's kept ACK is a message handle, or `ack_rebuild` | the generator position of its
    // branch when it had no body (rebuilt on demand).
    void release_ack(uint64_t ack) noexcept;
    void resend_ack(const dialog::dialog& d, uint32_t cseq, uint64_t ack,
                    const endpoint& dest) noexcept;

    // Entry points.
    void on_datagram(const char* data, size_t len, const endpoint& src, tick_t now) noexcept;
    void on_tick(tick_t now) noexcept;
    [[nodiscard]] tick_t next_due() const noexcept {
        return std::min({_txn.next_due(), _uas2xx.next_due(), _wheel.next_due()});
    }
    void on_request(const message& m, const endpoint& src) noexcept;
    void on_response(const message& m) noexcept;
    void on_new_request(const message& m, const txn::request_result& r,
                        const endpoint& src) noexcept;
    void on_ack(const message& m) noexcept;
    void on_unparsable(const char* data, size_t len, const parse_result& r,
                       const endpoint& src) noexcept;
    void on_event(const txn::action& a) noexcept;
    void on_call_timer(uint32_t ci, uint8_t role) noexcept;

    // Calls.
    uint32_t new_call(const message& m, txn_id t, const endpoint& src) noexcept;
    call* get(uint64_t user, uint32_t& ci, uint8_t& r) noexcept;
    uint64_t cookie(uint32_t ci, uint8_t r) const noexcept {
        return (uint64_t(_calls.generation(ci) & 0xffffff) << 40) | (uint64_t(r) << 32) | ci;
    }
    void maybe_free(uint32_t ci) noexcept;
    void free_call(uint32_t ci) noexcept;
    bool bridge(uint32_t ci, std::string_view target) noexcept;
    void reject(uint32_t ci, int code, std::string_view reason) noexcept;
    void hangup(uint32_t ci) noexcept;
    void cancel_from_a(uint32_t ci) noexcept;
    void end_from(uint32_t ci, bool from_a, int max_forwards) noexcept;
    void give_up_unanswered(uint32_t ci) noexcept;
    bool answerable_400(uint64_t h) noexcept;
    // Hands a built response to its server transaction; false when `h` is npos (then a final
    // response's transaction is abandoned).
    bool answer(txn_id t, int code, uint64_t h, const endpoint& dest,
                std::string_view to_tag = {}) noexcept;
    void count_failed(call& c) noexcept;
    void b_invite_response(uint32_t ci, const message& m, bool need_ack) noexcept;
    void b_invite_failed(uint32_t ci, int code) noexcept;
    void relay_request(uint32_t ci, bool from_a, dialog_id from, const message& m, txn_id t,
                       const endpoint& dest, std::span<const header_text> extra = {}) noexcept;
    void relay_response(uint32_t ci, size_t k, txn_id t, const message& m, bool need_ack) noexcept;
    void relay_failed(uint32_t ci, size_t k, int code) noexcept;
    void send_bye(uint32_t ci, bool on_a, int max_forwards = 70) noexcept;
    void ack_and_bye_b(uint32_t ci, dialog_id answered) noexcept;
    void send_cancel_b(uint32_t ci) noexcept;
    void send_ack_non2xx(call& c, txn_id t, const message& resp) noexcept;
    // The text a dialog is created from, as views into one message and into these buffers
    // (the dialog layer copies what it keeps).
    struct dialog_source {
        char local[512];
        char remote[512];
        std::string_view record_route[16];
        dialog::dialog_params p;
    };
    // From the callee's response, Tandem being the UAC: local = From, remote = To.
    void b_params(dialog_source& s, const call& c, const message& m) const noexcept;
    // The A-leg dialog with Tandem's tag `a_tag`, from the stored INVITE (Tandem the UAS:
    // local = To, remote = From). Invalid when it cannot be created.
    dialog_id create_a_dialog(uint32_t ci, std::string_view a_tag,
                              dialog::dialog_state st) noexcept;
    fork_map* fork_for_b(call& c, dialog_id b) noexcept;
    fork_map* fork_for_a(call& c, dialog_id a) noexcept;
    void end_early_dialogs(uint32_t ci) noexcept;

    // Ids for the wire, each also noted with its bits where it is keyed next, so that key is
    // not decoded from the text: a branch for the client transaction it starts (not an ACK's:
    // no transaction), a tag for the dialog and the 2xx retransmission it names.
    size_t mint_branch(char* buf, size_t cap) noexcept;
    size_t mint_tag(char* buf, size_t cap) noexcept;

    // Building.
    // `write` fills a builder; `small`: the message is expected to fit the smallest buffer
    // class (see the definition).
    uint64_t build(bool small, const auto& write) noexcept;
    void write_response_head(message_builder& b, const message& req, int code,
                             std::string_view reason, std::string_view to_tag) noexcept;
    void write_policy_headers(message_builder& b, const message& src, direction dir,
                              const header_policy& p) noexcept;
    uint64_t build_response(const message& req, int code, std::string_view reason,
                            std::string_view to_tag, const message* relay_src,
                            const header_policy* p, bool contact,
                            std::span<const header_text> extra = {},
                            std::string_view sdp_override = {}) noexcept;
    uint64_t build_in_dialog(const dialog::dialog& d, std::string_view method, uint32_t cseq,
                             std::string_view branch, const message* src, int max_forwards,
                             const header_policy* p,
                             std::span<const header_text> extra = {}) noexcept;
    void respond(txn_id t, const message& req, int code, std::string_view reason,
                 const endpoint& dest, std::string_view to_tag = {}, const message* src = nullptr,
                 const header_policy* p = nullptr, bool contact = false) noexcept;
    void respond_stateless(const message& req, int code, std::string_view reason,
                           const endpoint& dest) noexcept;
    // Room for one more call, `held` of its two INVITE transactions already taken. Besides a
    // call slot, every call in progress (the new one included) may need two more transactions
    // to end: the BYE one side sends and the one Tandem sends the other. Finished transactions
    // linger 64*T1 (timers J, L, M), so under overload the table fills up; refusing new calls
    // while that reserve is not free keeps the hang-ups of calls already up from being
    // refused instead.
    bool call_room(uint32_t held) const noexcept {
        return _calls.size() < _calls.capacity() &&
               _txn.size() + (2 - held) + 2 * (uint64_t(_calls.size()) + 1) <= _txn.capacity();
    }
    bool respond_a(uint32_t ci, int code, std::string_view reason, std::string_view to_tag,
                   const message* src) noexcept;
    endpoint response_destination(const message& req, const endpoint& src) const noexcept;
    endpoint dialog_destination(const dialog::dialog& d, const endpoint& fallback) noexcept;
    void send_now(uint64_t h, const endpoint& dest) noexcept;
    // "<name>: <user agent>": the configured text, checked once at start.
    void write_agent(message_builder& b, std::string_view name) const noexcept {
        if (_agent_ok) {
            b.prechecked_header(name, _cfg.user_agent);
        } else {
            b.header(name, _cfg.user_agent);
        }
    }
    std::string_view stateless_tag(const message& req, char* buf) const noexcept;
    const message* reparse(uint64_t h) noexcept;

    engine& _self;
    engine_config _cfg;
    transport& _out;
    scenario& _scenario;
    std::shared_ptr<const header_policy> _policy;
    std::vector<std::shared_ptr<const header_policy>> _kept; // policies scenarios chose
    engine_stats& _stats;
    util::hash_key _key;
    tick_t _now;

    msg_store _store;
    txn::transaction_layer _txn;
    txn::uas_2xx_retransmitter _uas2xx;
    dialog::dialog_layer _dialogs;
    util::pool<call> _calls;
    util::timer_wheel _wheel;
    util::id_generator _ids;
    destination_memo _destinations;
    std::vector<txn::action> _events; // capacity reserved at start: never grows
    uint64_t _tokens = 0;             // admission bucket, in call-ticks
    tick_t _tokens_at = 0;
    size_t _events_lost = 0;

    char _local[64];
    size_t _local_len = 0;
    char _contact[80];
    size_t _contact_len = 0;
    char _via[96]; // "SIP/2.0/UDP <local>;branch=": the top Via up to the branch
    size_t _via_len = 0;
    bool _agent_ok = false; // the user agent text is a valid header value

    std::unique_ptr<char[]> _scratch{new char[msg_store::class_bytes[2]]}; // build area
    // Two message views whose roles swap (see on_datagram): `_rx`, the datagram being handled,
    // and `_aux`, a stored message parsed again (A-leg INVITE, relayed request).
    message _msgs[2];
    message* _rx = &_msgs[0];
    message* _aux = &_msgs[1];
    // An INVITE is parsed in a store buffer (`_rx_copy`, one reference held for the datagram);
    // `_rx_kept` once a call or relay kept that buffer as its copy.
    uint64_t _rx_copy = msg_store::npos;
    bool _rx_kept = false;
    bool _in_datagram = false; // `_rx` views the datagram being handled
    // What `_aux` holds: a call parses its stored A-leg INVITE several times, and the same
    // bytes parse to the same view (its cached typed headers included).
    uint64_t _aux_handle = msg_store::npos;
    uint32_t _aux_generation = 0;
    bool _aux_ok = false;
};

engine::impl::impl(engine& self, const engine_config& cfg, transport& out, scenario& scen,
                   std::shared_ptr<const header_policy> policy, const util::hash_key& key,
                   tick_t now)
    : _self(self), _cfg(cfg), _out(out), _scenario(scen), _policy(std::move(policy)),
      _stats(self._stats), _key(key), _now(now), _store(cfg.buffers), _txn(cfg.txn, key, now),
      _uas2xx(cfg.txn, cfg.max_calls + 16, key, now),
      _dialogs(dialog::dialog_config{cfg.max_calls * 2 + 64, 512}, key), _calls(cfg.max_calls),
      _wheel(now), _ids(cfg.shard, key) {
    _events.reserve(cfg.txn.max_transactions + cfg.max_calls + 64);
    _tokens = uint64_t(cfg.max_cps) * cfg.txn.ticks(1000);
    _tokens_at = now;
    _local_len = cfg.local.format(_local, sizeof(_local));
    std::memcpy(_contact, "<sip:", 5);
    std::memcpy(_contact + 5, _local, _local_len);
    _contact[5 + _local_len] = '>';
    _contact_len = _local_len + 6;
    constexpr std::string_view via_head = "SIP/2.0/UDP ", via_branch = ";branch=";
    std::memcpy(_via, via_head.data(), via_head.size());
    std::memcpy(_via + via_head.size(), _local, _local_len);
    std::memcpy(_via + via_head.size() + _local_len, via_branch.data(), via_branch.size());
    _via_len = via_head.size() + _local_len + via_branch.size();
    char probe[512];
    message_builder pb(probe, sizeof(probe));
    pb.start_line("probe");
    pb.header("Server", _cfg.user_agent);
    _agent_ok = pb.status() == build_status::ok;
}

// --- transaction layer plumbing ---------------------------------------------------------------

void engine::impl::send_now(uint64_t h, const endpoint& dest) noexcept {
    if (!_out.send(_store.data(h), _store.length(h), dest)) ++_stats.send_failures;
}

void engine::impl::emit(const txn::action& a) noexcept {
    switch (a.kind) {
    case txn::action_kind::send:
        send_now(a.msg, a.dest);
        return;
    case txn::action_kind::release:
        _store.unref(a.msg);
        return;
    case txn::action_kind::terminated:
        release_2xx_ack(a.user);
        return;
    case txn::action_kind::timeout:
    case txn::action_kind::transport_error:
    case txn::action_kind::ack_timeout:
        if (a.user == no_user) return;
        if (_events.size() == _events.capacity()) {
            ++_events_lost;
            return;
        }
        _events.push_back(a);
        return;
    }
}

void engine::impl::release_2xx_ack(uint64_t user) noexcept {
    // The B-leg INVITE client transaction ends 64*T1 after its first 2xx (RFC 6026 timer M):
    // the callee has stopped retransmitting that 2xx by then (RFC 3261 s13.3.1.4), so the ACK
    // kept to answer the retransmissions (s13.2.2.4) is released instead of being held for the
    // whole call.
    uint32_t ci;
    uint8_t r;
    call* c = get(user, ci, r);
    if (c == nullptr || r != role_b_invite || !c->b_dialog.valid()) return;
    // A bodiless ACK kept as its branch position costs nothing: it stays, and still answers a
    // 2xx that comes later than that.
    const uint64_t ack = _dialogs.ack_for_2xx(c->b_dialog, c->b_cseq);
    if (ack == txn::no_msg || (ack & ack_rebuild) != 0) return;
    release_ack(_dialogs.set_ack(c->b_dialog, 0, txn::no_msg));
}

void engine::impl::release_ack(uint64_t ack) noexcept {
    if (ack != txn::no_msg && (ack & ack_rebuild) == 0) _store.unref(ack);
}

void engine::impl::resend_ack(const dialog::dialog& d, uint32_t cseq, uint64_t ack,
                              const endpoint& dest) noexcept {
    if ((ack & ack_rebuild) == 0) {
        send_now(ack, dest);
        return;
    }
    // The same ACK as the first one: same dialog state, same branch, no body (RFC 3261
    // s13.2.2.4 re-sends that ACK for each retransmitted 2xx).
    char branch[util::id_generator::max_branch];
    std::string_view br(branch, _ids.make_branch_at(branch, sizeof(branch), ack & ~ack_rebuild));
    const uint64_t h = build_in_dialog(d, "ACK", cseq, br, nullptr, -1, nullptr);
    if (h == msg_store::npos) return;
    send_now(h, dest);
    _store.unref(h);
}

void engine::impl::drain() noexcept {
    // Events may queue more events (a timeout ends a call, which starts a BYE...): index loop.
    for (size_t i = 0; i < _events.size(); ++i)
        on_event(_events[i]);
    _events.clear();
}

call* engine::impl::get(uint64_t user, uint32_t& ci, uint8_t& r) noexcept {
    if (user == no_user) return nullptr;
    ci = static_cast<uint32_t>(user);
    r = static_cast<uint8_t>(user >> 32);
    if (!_calls.live(ci) || (_calls.generation(ci) & 0xffffff) != (user >> 40)) return nullptr;
    return &_calls[ci];
}

void engine::impl::on_event(const txn::action& a) noexcept {
    uint32_t ci;
    uint8_t r;
    call* c = get(a.user, ci, r);
    if (c == nullptr) return;
    const int code = a.kind == txn::action_kind::transport_error ? 503 : 408;
    if (r == role_b_invite) {
        b_invite_failed(ci, code);
    } else if (r == role_b_cancel) {
        // No answer to the CANCEL: the INVITE transaction ends 64*T1 after it (cancelled()),
        // and its timeout ends the B-leg.
    } else if (r == role_bye_a || r == role_bye_b) {
        (r == role_bye_a ? c->a : c->b) = leg_state::terminated;
        maybe_free(ci);
    } else if (r == role_rel1xx_a) {
        // No PRACK for a reliable provisional within 64*T1 (RFC 3262 s3): give up on the call.
        reject(ci, 500, "No PRACK");
    } else if (r == role_2xx_a) {
        // No ACK for the 2xx within 64*T1 (RFC 3261 s13.3.1.4): confirm, then BYE both legs.
        c->a = leg_state::established;
        hangup(ci);
    } else if (r >= role_relay_2xx && r < role_relay_2xx + k_relays) {
        relay& rl = c->relays[r - role_relay_2xx];
        rl.awaiting_ack = false;
        if (rl.copy != msg_store::npos) _store.unref(rl.copy);
        rl = relay{};
        hangup(ci);
    } else if (r >= role_relay && r < role_relay + k_relays) {
        relay_failed(ci, r - role_relay, code);
    }
}

// --- entry points ------------------------------------------------------------------------------

void engine::impl::on_datagram(const char* data, size_t len, const endpoint& src,
                               tick_t now) noexcept {
    _now = now;
    // The bytes of an INVITE are kept (a new call's A-leg INVITE, a relayed re-INVITE) and
    // parsed again to build its responses: copy it into the store first and parse it there, so
    // that this parse stays with the kept copy (keep_copy, end_datagram, reparse).
    const char* bytes = data;
    if (len >= 7 && std::memcmp(data, "INVITE ", 7) == 0) {
        _rx_copy = _store.alloc(len);
        if (_rx_copy != msg_store::npos) {
            std::memcpy(_store.data(_rx_copy), data, len);
            bytes = _store.data(_rx_copy);
        }
    }
    parse_result r = parse(bytes, len, *_rx);
    if (!r.ok()) {
        end_datagram(false);
        on_unparsable(data, len, r, src);
        return;
    }
    if (_rx_copy != msg_store::npos)
        _store.set_length(_rx_copy, static_cast<uint32_t>(_rx->size()));
    _in_datagram = true;
    if (_rx->is_request()) {
        ++_stats.rx_requests;
        on_request(*_rx, src);
    } else {
        ++_stats.rx_responses;
        on_response(*_rx);
    }
    drain();
    _in_datagram = false;
    end_datagram(true);
}

void engine::impl::end_datagram(bool parsed) noexcept {
    if (_rx_copy == msg_store::npos) return;
    if (parsed && _rx_kept) {
        // The kept copy's parse is this one: it becomes `_aux`, so that the next reparse() of
        // that copy (the call's responses, a failover) finds it without parsing again.
        std::swap(_rx, _aux);
        _aux_handle = _rx_copy;
        _aux_generation = _store.generation(_rx_copy);
        _aux_ok = true;
    }
    _store.unref(_rx_copy);
    _rx_copy = msg_store::npos;
    _rx_kept = false;
}

uint64_t engine::impl::keep_copy(const message& m) noexcept {
    if (_rx_copy != msg_store::npos && m.data() == _store.data(_rx_copy)) {
        _store.ref(_rx_copy);
        _rx_kept = true;
        return _rx_copy;
    }
    const uint64_t copy = _store.alloc(m.size());
    if (copy == msg_store::npos) return copy;
    std::memcpy(_store.data(copy), m.data(), m.size());
    _store.set_length(copy, static_cast<uint32_t>(m.size()));
    return copy;
}

void engine::impl::on_tick(tick_t now) noexcept {
    _now = now;
    _txn.advance(now, *this);
    _uas2xx.advance(now, *this);
    _wheel.advance(now, [this](util::timer& t) {
        uint32_t ci;
        uint8_t r;
        if (get(t.data, ci, r) != nullptr) on_call_timer(ci, r);
    });
    drain();
}

void engine::impl::on_unparsable(const char* data, size_t len, const parse_result& r,
                                 const endpoint& src) noexcept {
    ++_stats.parse_errors;
    // A response, or something that is not even a start line, cannot be answered: drop it; so
    // is an ACK, which never gets a response (RFC 3261 s17).
    if (len < 8 || std::memcmp(data, "SIP/2.0 ", 8) == 0 || std::memcmp(data, "ACK ", 4) == 0) {
        ++_stats.dropped;
        return;
    }
    // A request whose header block is broken: answer 400 with the reason when the headers a
    // response needs can be found line by line (RFC 3261 s8.2.6.1 needs Via, From, To, Call-ID
    // and CSeq); otherwise drop it.
    std::string_view text(data, len);
    size_t eoh = text.find("\r\n\r\n");
    if (eoh != std::string_view::npos) text = text.substr(0, eoh + 2);
    std::string_view lines[16];
    size_t nlines = 0;
    bool have[5] = {};
    size_t pos = text.find("\r\n");
    while (pos != std::string_view::npos && pos + 2 < text.size() && nlines < 16) {
        size_t end = text.find("\r\n", pos + 2);
        if (end == std::string_view::npos) break;
        std::string_view line = text.substr(pos + 2, end - pos - 2);
        pos = end;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = line.substr(0, colon);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
            name.remove_suffix(1);
        header_id id = lookup_header(name);
        int slot = id == header_id::via       ? 0
                   : id == header_id::from    ? 1
                   : id == header_id::to      ? 2
                   : id == header_id::call_id ? 3
                   : id == header_id::cseq    ? 4
                                              : -1;
        if (slot < 0 || (slot > 0 && have[slot])) continue;
        have[slot] = true;
        lines[nlines++] = line;
    }
    for (bool h : have) {
        if (!h) {
            ++_stats.dropped;
            return;
        }
    }
    char reason[96];
    size_t rl = r.format(reason, sizeof(reason));
    if (rl >= sizeof(reason)) rl = sizeof(reason) - 1;
    for (size_t i = 0; i < rl; ++i)
        if (reason[i] == '\r' || reason[i] == '\n') reason[i] = ' ';
    uint64_t h = build(true, [&](message_builder& b) {
        b.status_line(400, std::string_view(reason, rl));
        for (size_t i = 0; i < nlines; ++i)
            b.raw_header(lines[i]);
        b.header("Server", _cfg.user_agent);
        return b.finish();
    });
    if (h == msg_store::npos) return;
    // The lines were copied from past the point where the parser gave up, unchecked: send the
    // 400 only if it parses and its Via, From, To, Call-ID and CSeq pass their grammars, as the
    // far end's parser will want (else it is dropped: a garbage 400 helps nobody).
    if (!answerable_400(h)) {
        ++_stats.dropped;
        _store.unref(h);
        return;
    }
    send_now(h, src);
    _store.unref(h);
}

bool engine::impl::answerable_400(uint64_t h) noexcept {
    const message* m = reparse(h);
    if (m == nullptr || m->size() != _store.length(h)) return false;
    for (size_t i = 0; i < m->header_count(); ++i) {
        via_value v;
        if (m->header(i).id == header_id::via && !parse_via_value(m->value(i), v)) return false;
    }
    return m->from().ok() && m->to().ok() && m->call_id().ok() && m->cseq().ok();
}

void engine::impl::on_request(const message& m, const endpoint& src) noexcept {
    const endpoint dest = response_destination(m, src);
    // The transaction key first: its table slot loads while semantic_check reads the message.
    txn::request_key key;
    const bool keyed = txn::request_key_from(m, key);
    util::digest128 digest{};
    if (keyed) {
        digest = _txn.request_digest(key);
        _txn.prefetch(digest);
    }
    const bool to_tagged = m.to() && m.to()->has_tag;
    if (to_tagged && m.from() && m.call_id()) // in-dialog: our tag is the To tag
        _dialogs.prefetch({*m.call_id(), m.to()->tag, m.from()->tag});
    semantic_verdict v = semantic_check(m);
    // OPTIONS with Max-Forwards 0 addressed to Tandem itself is answered, not refused.
    if (v.code == 483 && m.method() == sip::method::options && !to_tagged) v = {};
    if (!v.ok()) {
        if (m.method() == sip::method::ack) {
            ++_stats.dropped;
            return;
        }
        ++_stats.rejected_semantic;
        respond_stateless(m, v.code, v.reason, dest);
        return;
    }
    if (!keyed) {
        ++_stats.parse_errors;
        if (m.method() != sip::method::ack) respond_stateless(m, 400, "Bad Request", dest);
        return;
    }
    // A new call when the transaction reserve is gone is refused without a transaction of its
    // own: a stateful 503 would linger 64*T1 and eat the reserve it protects.
    if (m.method() == sip::method::invite && !to_tagged && !call_room(0) &&
        !_txn.has_server_transaction(key)) {
        ++_stats.calls_refused_full;
        respond_stateless(m, 503, "Service Unavailable", dest);
        return;
    }
    txn::request_result r = _txn.on_request(key, digest, false, _now, *this);
    switch (r.disposition) {
    case txn::request_disposition::retransmission:
    case txn::request_disposition::ack_absorbed:
        return;
    case txn::request_disposition::table_full:
        ++_stats.calls_refused_full;
        respond_stateless(m, 503, "Service Unavailable", dest);
        return;
    case txn::request_disposition::ack_to_tu:
        on_ack(m);
        return;
    case txn::request_disposition::new_transaction:
        on_new_request(m, r, src);
        return;
    }
}

void engine::impl::on_new_request(const message& m, const txn::request_result& r,
                                  const endpoint& src) noexcept {
    const endpoint dest = response_destination(m, src);
    const sip::method meth = m.method();
    if (meth == sip::method::cancel) {
        uint32_t ci;
        uint8_t role;
        const txn::transaction* target =
            r.cancel_target.valid() ? _txn.find(r.cancel_target) : nullptr;
        call* c = target != nullptr ? get(target->user, ci, role) : nullptr;
        if (c == nullptr) {
            respond(r.txn, m, 481, "Call/Transaction Does Not Exist", dest);
            return;
        }
        respond(r.txn, m, 200, "OK", dest);
        if (role == role_a_invite) cancel_from_a(ci);
        return;
    }
    const auto& to = m.to();
    if (to->has_tag) {
        dialog::dialog_key k{*m.call_id(), to->tag, m.from()->tag};
        dialog_id d = _dialogs.find(k);
        const dialog::dialog* dl = d.valid() ? _dialogs.get(d) : nullptr;
        uint32_t ci;
        uint8_t role;
        call* c = dl != nullptr ? get(dl->user(), ci, role) : nullptr;
        if (c == nullptr) {
            ++_stats.no_dialog;
            respond(r.txn, m, 481, "Call/Transaction Does Not Exist", dest);
            return;
        }
        std::string_view contact;
        if (auto ct = m.contact(0); ct && !ct->star) contact = ct->addr.uri;
        if (_dialogs.on_remote_request(d, m.cseq()->number, meth, contact) ==
            dialog::dialog_status::out_of_order) {
            respond(r.txn, m, 500, "CSeq Out of Order", dest);
            return;
        }
        const bool from_a = role == role_a_invite;
        if (meth == sip::method::bye) {
            respond(r.txn, m, 200, "OK", dest);
            // RFC 7332: the BYE Tandem sends because of this one carries its Max-Forwards - 1.
            const auto mf = m.max_forwards();
            end_from(ci, from_a, mf ? static_cast<int>(*mf > 0 ? *mf - 1 : 0) : 70);
            return;
        }
        if (meth == sip::method::prack) {
            // RFC 3262 s7.2: the RAck names the provisional; translate it to the callee's.
            fork_map* f = from_a ? fork_for_a(*c, d) : nullptr;
            const auto rack = m.rack();
            if (f == nullptr || !rack || rack->rseq != f->a_rseq || rack->cseq != c->a_cseq) {
                respond(r.txn, m, 481, "Call/Transaction Does Not Exist", dest);
                return;
            }
            (void)_uas2xx.on_ack(*m.call_id(), to->tag, c->a_cseq, *this);
            char value[40];
            int n = std::snprintf(value, sizeof(value), "%u %u INVITE", f->b_rseq, c->b_cseq);
            header_text extra{"RAck", std::string_view(value, n)};
            relay_request(ci, from_a, d, m, r.txn, dest, {&extra, 1});
            return;
        }
        relay_request(ci, from_a, d, m, r.txn, dest);
        return;
    }
    switch (meth) {
    case sip::method::invite:
        (void)new_call(m, r.txn, src);
        return;
    case sip::method::options: {
        uint64_t h = build(true, [&](message_builder& b) {
            char tag_buf[24];
            write_response_head(b, m, 200, "OK", stateless_tag(m, tag_buf));
            b.header("Allow", k_allow);
            b.header("Accept", "application/sdp");
            b.header("Server", _cfg.user_agent);
            return b.finish();
        });
        answer(r.txn, 200, h, dest);
        return;
    }
    case sip::method::bye:
    case sip::method::prack:
    case sip::method::update:
    case sip::method::info:
        ++_stats.no_dialog;
        respond(r.txn, m, 481, "Call/Transaction Does Not Exist", dest);
        return;
    case sip::method::other:
        respond(r.txn, m, 501, "Not Implemented", dest);
        return;
    default: {
        // REGISTER (until a registrar exists) and the other known methods Tandem does not
        // serve outside a dialog.
        uint64_t h = build(true, [&](message_builder& b) {
            char tag_buf[24];
            write_response_head(b, m, 405, "Method Not Allowed", stateless_tag(m, tag_buf));
            b.header("Allow", k_allow);
            b.header("Server", _cfg.user_agent);
            return b.finish();
        });
        answer(r.txn, 405, h, dest);
        return;
    }
    }
}

void engine::impl::on_ack(const message& m) noexcept {
    const auto& to = m.to();
    if (!to || !to->has_tag) {
        ++_stats.dropped;
        return;
    }
    dialog_id d = _dialogs.find({*m.call_id(), to->tag, m.from()->tag});
    const dialog::dialog* dl = d.valid() ? _dialogs.get(d) : nullptr;
    uint32_t ci;
    uint8_t role;
    call* c = dl != nullptr ? get(dl->user(), ci, role) : nullptr;
    if (c == nullptr) {
        ++_stats.dropped;
        return;
    }
    const bool from_a = role == role_a_invite;
    const uint32_t cseq = m.cseq()->number;
    if (!_uas2xx.on_ack(dl->call_id(), dl->local_tag(), cseq, *this)) return; // a re-sent ACK
    // Which INVITE did the 2xx answer: the initial one (A-leg only) or a relayed re-INVITE?
    relay* rl = nullptr;
    for (auto& x : c->relays) {
        if (x.used && x.awaiting_ack && x.from_a == from_a && x.server_cseq == cseq) rl = &x;
    }
    dialog_id other;
    uint32_t other_cseq;
    if (rl != nullptr) {
        other = from_a ? c->b_dialog : c->a_dialog;
        other_cseq = rl->client_cseq;
    } else if (from_a && cseq == c->a_cseq) {
        other = c->b_dialog;
        other_cseq = c->b_cseq;
        if (c->a == leg_state::establishing) c->a = leg_state::established;
    } else {
        return;
    }
    const dialog::dialog* od = _dialogs.get(other);
    if (od != nullptr) {
        // The ACK crosses end to end, so a late offer's answer in its body reaches the far side.
        char branch[util::id_generator::max_branch];
        const uint64_t branch_at = _ids.counter();
        std::string_view br(branch, _ids.make_branch(branch, sizeof(branch)));
        uint64_t h = build_in_dialog(*od, "ACK", other_cseq, br, &m, -1, nullptr);
        if (h != msg_store::npos) {
            send_now(h, dialog_destination(*od, from_a ? c->b_peer : c->a_src));
            // Without a body the ACK is the dialog's state plus its branch: keep the branch's
            // generator position (8 bytes) and rebuild it byte for byte if the 2xx comes again,
            // instead of holding a buffer for up to 64*T1.
            uint64_t keep = h;
            if (m.body().empty()) {
                _store.unref(h);
                keep = ack_rebuild | branch_at;
            }
            release_ack(_dialogs.set_ack(other, other_cseq, keep));
        }
    }
    if (rl != nullptr) {
        if (rl->copy != msg_store::npos) _store.unref(rl->copy);
        *rl = relay{};
    }
    maybe_free(ci);
}

void engine::impl::on_response(const message& m) noexcept {
    // As on_request: the key first, so that its table slot loads during semantic_check.
    txn::response_key key;
    const bool keyed = txn::response_key_from(m, key);
    util::digest128 digest{};
    if (keyed) {
        digest = _txn.response_digest(key);
        _txn.prefetch(digest);
    }
    if (m.to() && m.to()->has_tag && m.from() && m.call_id()) // our tag is the From tag
        _dialogs.prefetch({*m.call_id(), m.from()->tag, m.to()->tag});
    semantic_verdict v = semantic_check(m);
    if (!v.ok() || !keyed) {
        ++_stats.dropped;
        return;
    }
    txn::response_result r = _txn.on_response(key, digest, _now, *this);
    if (r.disposition == txn::response_disposition::absorbed) return;
    if (r.disposition == txn::response_disposition::no_match) {
        // A retransmitted 2xx to an INVITE whose transaction is gone: re-send our ACK.
        const auto& cs = m.cseq();
        if (m.status_code() >= 200 && m.status_code() < 300 && cs &&
            cs->method == sip::method::invite && m.to()->has_tag) {
            dialog_id d = _dialogs.find({*m.call_id(), m.from()->tag, m.to()->tag});
            uint64_t ack = d.valid() ? _dialogs.ack_for_2xx(d, cs->number) : txn::no_msg;
            const dialog::dialog* dl = d.valid() ? _dialogs.get(d) : nullptr;
            uint32_t ci;
            uint8_t role;
            call* c = dl != nullptr ? get(dl->user(), ci, role) : nullptr;
            if (ack != txn::no_msg && c != nullptr) {
                resend_ack(*dl, cs->number, ack,
                           dialog_destination(*dl, role == role_a_invite ? c->a_src : c->b_peer));
                return;
            }
        }
        ++_stats.dropped;
        return;
    }
    uint32_t ci;
    uint8_t role;
    call* c = get(r.user, ci, role);
    if (c == nullptr) {
        // The call is gone (e.g. a late answer after a failover): still ACK a final non-2xx,
        // as the RFC requires of the client transaction.
        if (r.need_ack) {
            call tmp;
            send_ack_non2xx(tmp, r.txn, m);
        }
        return;
    }
    if (role == role_b_invite) {
        b_invite_response(ci, m, r.need_ack);
    } else if (role >= role_relay && role < role_relay + k_relays) {
        relay_response(ci, role - role_relay, r.txn, m, r.need_ack);
    } else if ((role == role_bye_a || role == role_bye_b) && m.status_code() >= 200) {
        (role == role_bye_a ? c->a : c->b) = leg_state::terminated;
        maybe_free(ci);
    }
}

// --- calls -------------------------------------------------------------------------------------

uint32_t engine::impl::new_call(const message& m, txn_id t, const endpoint& src) noexcept {
    const endpoint dest = response_destination(m, src);
    // Admission: a token bucket refilled at max_cps per second, holding one second's worth.
    bool admitted = true;
    if (_cfg.max_cps != 0) {
        const uint64_t ticks_per_s = _cfg.txn.ticks(1000);
        const uint64_t cap = uint64_t(_cfg.max_cps) * ticks_per_s;
        _tokens = std::min(cap, _tokens + (_now - _tokens_at) * _cfg.max_cps);
        _tokens_at = _now;
        admitted = _tokens >= ticks_per_s;
        if (admitted) _tokens -= ticks_per_s;
    }
    uint64_t copy = admitted && call_room(1) ? keep_copy(m) : msg_store::npos;
    if (copy == msg_store::npos) {
        ++(admitted ? _stats.calls_refused_full : _stats.calls_refused_rate);
        uint64_t h = build(true, [&](message_builder& b) {
            char tag_buf[24];
            write_response_head(b, m, 503, "Service Unavailable", stateless_tag(m, tag_buf));
            b.header_uint("Retry-After", _cfg.retry_after_s);
            b.header("Server", _cfg.user_agent);
            return b.finish();
        });
        answer(t, 503, h, dest);
        return UINT32_MAX;
    }
    uint32_t ci = _calls.alloc();
    call& c = _calls[ci];
    c.policy = _policy.get();
    c.a = leg_state::incoming;
    c.a_invite = t;
    c.a_copy = copy;
    c.a_src = dest;
    c.a_cseq = m.cseq()->number;
    c.a_100rel_required = m.has_option_tag(header_id::require, "100rel");
    c.a_100rel = c.a_100rel_required || m.has_option_tag(header_id::supported, "100rel");
    c.timer.data = cookie(ci, role_ring);
    (void)_txn.set_user(t, cookie(ci, role_a_invite));
    ++_stats.calls_started;
    // 100 Trying at once (RFC 3261 s16.2 spirit: stop the caller's retransmissions early).
    respond(t, m, 100, "Trying", dest);
    _scenario.on_initial_invite(_self, call_handle{&_self, ci}, m);
    if (_calls.live(ci) && !_calls[ci].decided) reject(ci, 500, "No Routing Decision");
    drain();
    return ci;
}

void engine::impl::maybe_free(uint32_t ci) noexcept {
    if (!_calls.live(ci)) return;
    call& c = _calls[ci];
    if (c.a != leg_state::terminated || (c.b != leg_state::terminated && c.b != leg_state::idle))
        return;
    for (const auto& r : c.relays)
        if (r.used) return;
    free_call(ci);
}

void engine::impl::free_call(uint32_t ci) noexcept {
    call& c = _calls[ci];
    _wheel.cancel(c.timer);
    for (auto* d : {&c.a_dialog, &c.b_dialog}) {
        if (d->valid()) {
            release_ack(_dialogs.terminate(*d));
        }
    }
    for (auto& f : c.forks) {
        for (auto* d : {&f.a, &f.b}) {
            if (d->valid() && _dialogs.get(*d) != nullptr) {
                release_ack(_dialogs.terminate(*d));
            }
        }
    }
    if (c.a_copy != msg_store::npos) _store.unref(c.a_copy);
    if (c.a_answer != msg_store::npos) _store.unref(c.a_answer);
    for (auto& r : c.relays)
        if (r.copy != msg_store::npos) _store.unref(r.copy);
    _calls.free(ci);
    ++_stats.calls_ended;
}

bool engine::impl::bridge(uint32_t ci, std::string_view target) noexcept {
    call& c = _calls[ci];
    if (c.a_final_sent || c.a_copy == msg_store::npos) return false;
    endpoint peer;
    if (!_destinations.resolve(target, peer) || target.size() > k_max_target) return false;
    const message* a = reparse(c.a_copy);
    if (a == nullptr) return false;
    c.decided = true;
    // Each attempt is a fresh B-leg dialog: new Call-ID, tag, branch.
    char* p = c.text;
    std::memcpy(p, target.data(), target.size());
    c.b_ruri_len = static_cast<uint8_t>(target.size());
    p += target.size();
    c.b_branch_len = static_cast<uint8_t>(mint_branch(p, util::id_generator::max_branch));
    p += c.b_branch_len;
    c.b_call_id_len = static_cast<uint8_t>(_ids.make_call_id(p, util::id_generator::max_call_id));
    p += c.b_call_id_len;
    c.b_tag_len = static_cast<uint8_t>(mint_tag(p, util::id_generator::max_tag));
    c.b_cseq = 1 + static_cast<uint32_t>(_ids.spare() & 0xffff); // drawn with the tag
    c.b_peer = peer;
    c.b_provisional = false;
    const auto mf = a->max_forwards();
    const uint64_t forwards = mf ? (*mf > 0 ? *mf - 1 : 0) : 69;
    char from_buf[512], to_buf[512];
    std::string_view from = write_party(*a->from(), from_buf, sizeof(from_buf));
    std::string_view to = write_party(*a->to(), to_buf, sizeof(to_buf));
    if (from.empty() || to.empty()) return false;
    uint64_t h = build(a->body().empty(), [&](message_builder& b) {
        b.request_line("INVITE", target);
        // Parsed values, generated ids and Tandem's own address: no CR/LF to look for.
        b.prechecked_header_parts("Via", {{_via, _via_len}, c.b_branch(), ";rport"});
        b.prechecked_header_uint("Max-Forwards", forwards);
        b.prechecked_header_parts("From", {from, ";tag=", c.b_tag()});
        b.prechecked_header("To", to);
        b.prechecked_header("Call-ID", c.b_call_id());
        b.prechecked_header_parts("CSeq", {decimal_text(c.b_cseq).view(), " INVITE"});
        b.prechecked_header("Contact", {_contact, _contact_len});
        b.prechecked_header("Allow", k_allow);
        // Reliable provisionals are relayed end to end: offered to the callee as the caller
        // offered them.
        if (c.a_100rel_required) {
            b.prechecked_header("Require", "100rel");
        } else if (c.a_100rel) {
            b.prechecked_header("Supported", "100rel");
        }
        write_policy_headers(b, *a, direction::request, *c.policy);
        write_agent(b, "User-Agent");
        if (a->body().empty()) return b.finish();
        size_t ct = a->find(header_id::content_type);
        if (ct != message::npos) b.prechecked_header("Content-Type", a->value(ct));
        return b.finish(a->body());
    });
    if (h == msg_store::npos) return false;
    txn::client_request req{sip::method::invite, "INVITE", c.b_branch(), false};
    // The transaction layer takes over our reference to every handle it is given.
    txn::start_result s =
        _txn.start_client(req, h, c.b_peer, cookie(ci, role_b_invite), _now, *this);
    if (s.status != txn::txn_status::ok) return false;
    c.b_invite = s.txn;
    c.b = leg_state::establishing;
    if (c.a == leg_state::incoming) c.a = leg_state::establishing;
    if (_cfg.ring_timeout_ms != 0) {
        c.timer.data = cookie(ci, role_ring);
        _wheel.start(c.timer, _now + _cfg.txn.ticks(_cfg.ring_timeout_ms));
    }
    return true;
}

void engine::impl::reject(uint32_t ci, int code, std::string_view reason) noexcept {
    call& c = _calls[ci];
    c.decided = true;
    if (c.a_final_sent) return;
    (void)respond_a(ci, code, reason, {}, nullptr);
    count_failed(c);
    c.a = leg_state::terminated;
    if (c.b == leg_state::establishing) {
        // Still ringing on B: cancel it; the call ends when B's INVITE is over.
        c.cancel_pending = true;
        c.b = leg_state::terminating;
        if (c.b_provisional) send_cancel_b(ci);
    }
    maybe_free(ci);
}

void engine::impl::hangup(uint32_t ci) noexcept {
    if (!_calls.live(ci)) return;
    call& c = _calls[ci];
    if (!c.a_final_sent) {
        reject(ci, 480, "Temporarily Unavailable");
        return;
    }
    if (c.a == leg_state::established || c.a == leg_state::establishing) send_bye(ci, true);
    if (c.b == leg_state::established || c.b == leg_state::establishing) send_bye(ci, false);
    maybe_free(ci);
}

void engine::impl::cancel_from_a(uint32_t ci) noexcept {
    call& c = _calls[ci];
    if (c.a_final_sent) return; // too late: the call was answered; the caller will BYE
    respond_a(ci, 487, "Request Terminated", {}, nullptr);
    count_failed(c);
    c.a = leg_state::terminated;
    if (c.b == leg_state::establishing) {
        c.cancel_pending = true;
        c.b = leg_state::terminating;
        // RFC 3261 s9.1: no CANCEL before a provisional response; it goes out when one comes.
        if (c.b_provisional) send_cancel_b(ci);
    }
    maybe_free(ci);
}

// A call that ends unanswered counts once: its final response may fail for want of a buffer and
// be sent again by a later path (a timer, the PRACK timeout), which must not count it again.
void engine::impl::count_failed(call& c) noexcept {
    if (c.failed_counted) return;
    c.failed_counted = true;
    ++_stats.calls_failed;
}

void engine::impl::give_up_unanswered(uint32_t ci) noexcept {
    call& c = _calls[ci];
    // CANCEL the callee (once it has sent a provisional, RFC 3261 s9.1), 480 to the caller.
    respond_a(ci, 480, "Temporarily Unavailable", {}, nullptr);
    count_failed(c);
    c.a = leg_state::terminated;
    end_early_dialogs(ci);
    if (c.b == leg_state::establishing) {
        c.b = leg_state::terminating;
        if (c.b_provisional) {
            send_cancel_b(ci);
        } else {
            c.cancel_pending = true;
        }
    }
    maybe_free(ci);
}

void engine::impl::end_from(uint32_t ci, bool from_a, int max_forwards) noexcept {
    call& c = _calls[ci];
    if (!c.a_final_sent && c.a != leg_state::terminated) {
        // A BYE in an early dialog: the call was never answered, so it ends as a CANCEL would
        // end it. The caller may send one (RFC 3261 s15): 487 to its INVITE, CANCEL to the
        // callee. The callee must not, but one that does has given up ringing: 480 to the
        // caller, CANCEL to its own INVITE.
        if (from_a) {
            cancel_from_a(ci);
        } else {
            give_up_unanswered(ci);
        }
        return;
    }
    (from_a ? c.a : c.b) = leg_state::terminated;
    leg_state& other = from_a ? c.b : c.a;
    if (other == leg_state::established || other == leg_state::establishing) {
        send_bye(ci, !from_a, max_forwards);
    } else if (other != leg_state::terminating) {
        other = leg_state::terminated;
    }
    // Relayed requests still open on the leg that hung up are answered by its BYE's end.
    maybe_free(ci);
}

void engine::impl::send_bye(uint32_t ci, bool on_a, int max_forwards) noexcept {
    call& c = _calls[ci];
    dialog_id d = on_a ? c.a_dialog : c.b_dialog;
    const dialog::dialog* dl = d.valid() ? _dialogs.get(d) : nullptr;
    leg_state& st = on_a ? c.a : c.b;
    if (dl == nullptr) {
        st = leg_state::terminated;
        return;
    }
    char branch[util::id_generator::max_branch];
    std::string_view br(branch, mint_branch(branch, sizeof(branch)));
    uint64_t h = build_in_dialog(*dl, "BYE", _dialogs.next_local_cseq(d), br, nullptr, max_forwards,
                                 nullptr);
    if (h == msg_store::npos) {
        st = leg_state::terminated;
        return;
    }
    txn::client_request req{sip::method::bye, "BYE", br, false};
    auto s = _txn.start_client(req, h, dialog_destination(*dl, on_a ? c.a_src : c.b_peer),
                               cookie(ci, on_a ? role_bye_a : role_bye_b), _now, *this);
    st = s.status == txn::txn_status::ok ? leg_state::terminating : leg_state::terminated;
}

void engine::impl::send_cancel_b(uint32_t ci) noexcept {
    call& c = _calls[ci];
    // RFC 3261 s9.1: Request-URI, Call-ID, From, To, CSeq number and top Via of the INVITE,
    // which its client transaction still holds.
    const txn::transaction* tx = _txn.find(c.b_invite);
    // Whether or not the CANCEL can go out, the INVITE now ends by itself 64*T1 from here
    // without a final response (RFC 3261 s9.1): a callee that rang and went silent does not
    // hold the call.
    (void)_txn.cancelled(c.b_invite, _now);
    const message* inv = tx != nullptr && tx->msg != txn::no_msg ? reparse(tx->msg) : nullptr;
    if (inv == nullptr) return;
    const size_t fi = inv->find(header_id::from), ti = inv->find(header_id::to);
    if (fi == message::npos || ti == message::npos) return;
    uint64_t h = build(true, [&](message_builder& b) {
        b.request_line("CANCEL", c.b_ruri());
        b.prechecked_header_parts("Via", {{_via, _via_len}, c.b_branch(), ";rport"});
        b.prechecked_header_uint("Max-Forwards", 70);
        b.prechecked_header("From", inv->value(fi));
        b.prechecked_header("To", inv->value(ti));
        b.prechecked_header("Call-ID", c.b_call_id());
        b.prechecked_header_parts("CSeq", {decimal_text(c.b_cseq).view(), " CANCEL"});
        write_agent(b, "User-Agent");
        return b.finish();
    });
    if (h == msg_store::npos) return;
    txn::client_request req{sip::method::cancel, "CANCEL", c.b_branch(), false};
    (void)_txn.start_client(req, h, c.b_peer, cookie(ci, role_b_cancel), _now, *this);
}

void engine::impl::send_ack_non2xx(call& c, txn_id t, const message& resp) noexcept {
    // RFC 3261 s17.1.1.3: same Request-URI, Call-ID, From, CSeq number and top Via as the
    // INVITE, the To of the response. The transaction keeps it for retransmitted finals.
    const txn::transaction* tx = _txn.find(t);
    std::string_view branch = resp.top_via() ? resp.top_via()->branch : std::string_view();
    if (tx == nullptr || branch.empty()) return;
    // The Request-URI of the INVITE the transaction sent (the B-leg's target, or for a relayed
    // re-INVITE the dialog's remote target on either leg), which it keeps until this ACK.
    const message* inv = tx->msg != txn::no_msg ? reparse(tx->msg) : nullptr;
    std::string_view ruri = inv != nullptr ? inv->request_uri() : std::string_view();
    if (ruri.empty()) ruri = c.b_ruri_len != 0 ? c.b_ruri() : resp.to()->uri;
    uint64_t h = build(true, [&](message_builder& b) {
        b.request_line("ACK", ruri);
        b.prechecked_header_parts("Via", {{_via, _via_len}, branch, ";rport"});
        b.prechecked_header_uint("Max-Forwards", 70);
        size_t i = resp.find(header_id::from);
        if (i != message::npos) b.prechecked_header("From", resp.value(i));
        i = resp.find(header_id::to);
        if (i != message::npos) b.prechecked_header("To", resp.value(i));
        b.prechecked_header("Call-ID", *resp.call_id());
        b.prechecked_header_parts("CSeq", {decimal_text(resp.cseq()->number).view(), " ACK"});
        return b.finish();
    });
    if (h == msg_store::npos) return;
    (void)_txn.send_ack(t, h, _now, *this);
}

namespace {

// Record-Route values in message order, and the Contact URI.
void fill_route(const message& m, std::string_view (&rr)[16], dialog::dialog_params& p) noexcept {
    size_t n = 0;
    for (size_t i = m.find(header_id::record_route); i != message::npos && n < 16;
         i = m.find(header_id::record_route, i + 1)) {
        rr[n++] = m.value(i);
    }
    p.record_route = {rr, n};
    if (auto ct = m.contact(0); ct && !ct->star) p.remote_target = ct->addr.uri;
}

} // namespace

void engine::impl::b_params(dialog_source& s, const call& c, const message& m) const noexcept {
    s.p.id = {c.b_call_id(), c.b_tag(), m.to()->tag};
    s.p.local_uri = write_party(*m.from(), s.local, sizeof(s.local));
    s.p.remote_uri = write_party(*m.to(), s.remote, sizeof(s.remote));
    s.p.cseq = c.b_cseq;
    fill_route(m, s.record_route, s.p);
}

size_t engine::impl::mint_branch(char* buf, size_t cap) noexcept {
    const size_t n = _ids.make_branch(buf, cap);
    if (n != 0) _txn.note_minted_branch({buf, n}, _ids.shard(), _ids.last_bits());
    return n;
}

size_t engine::impl::mint_tag(char* buf, size_t cap) noexcept {
    const size_t n = _ids.make_tag(buf, cap);
    if (n != 0) {
        _dialogs.note_minted_tag({buf, n}, _ids.last_bits());
        _uas2xx.note_minted_tag({buf, n}, _ids.last_bits());
    }
    return n;
}

dialog_id engine::impl::create_a_dialog(uint32_t ci, std::string_view a_tag,
                                        dialog::dialog_state st) noexcept {
    call& c = _calls[ci];
    const message* a = reparse(c.a_copy);
    if (a == nullptr) return {};
    dialog_source s;
    s.p.id = {*a->call_id(), a_tag, a->from()->tag};
    s.p.local_uri = write_party(*a->to(), s.local, sizeof(s.local));
    s.p.remote_uri = write_party(*a->from(), s.remote, sizeof(s.remote));
    s.p.cseq = c.a_cseq;
    fill_route(*a, s.record_route, s.p);
    // The initial local CSeq: spare PRF bits of the last id drawn (the fork's tag, mostly).
    auto cr = _dialogs.create_uas(s.p, st, static_cast<uint32_t>(_ids.spare() & 0xffff),
                                  cookie(ci, role_a_invite));
    return cr.status == dialog::dialog_status::ok ? cr.id : dialog_id{};
}

fork_map* engine::impl::fork_for_b(call& c, dialog_id b) noexcept {
    for (auto& f : c.forks)
        if (f.used && f.b == b) return &f;
    for (auto& f : c.forks) {
        if (!f.used) {
            f = fork_map{};
            f.used = true;
            f.b = b;
            f.a_tag_len = static_cast<uint8_t>(mint_tag(f.a_tag, sizeof(f.a_tag)));
            return &f;
        }
    }
    return nullptr;
}

fork_map* engine::impl::fork_for_a(call& c, dialog_id a) noexcept {
    for (auto& f : c.forks)
        if (f.used && f.a == a) return &f;
    return nullptr;
}

void engine::impl::end_early_dialogs(uint32_t ci) noexcept {
    call& c = _calls[ci];
    for (auto& f : c.forks) {
        if (!f.used) continue;
        if (f.a.valid() && !(f.a == c.a_dialog) && _dialogs.get(f.a) != nullptr) {
            release_ack(_dialogs.terminate(f.a));
        }
        if (!(f.a == c.a_dialog)) f = fork_map{};
    }
}

void engine::impl::b_invite_response(uint32_t ci, const message& m, bool need_ack) noexcept {
    call& c = _calls[ci];
    const int code = m.status_code();
    if (code < 200) {
        c.b_provisional = true;
        if (c.cancel_pending) {
            send_cancel_b(ci);
            c.cancel_pending = false;
            return;
        }
        if (code == 100 || c.a_final_sent || c.b != leg_state::establishing) return;
        std::string_view a_tag;
        fork_map* rel = nullptr;
        if (m.to()->has_tag) {
            dialog_source src;
            b_params(src, c, m);
            auto res =
                _dialogs.on_uac_response(src.p, static_cast<uint16_t>(code),
                                         cookie(ci, role_b_invite), [](dialog_id, uint64_t) {});
            if (res.outcome != dialog::uac_outcome::created_early &&
                res.outcome != dialog::uac_outcome::updated_early) {
                return;
            }
            fork_map* f = fork_for_b(c, res.id);
            if (f == nullptr) return; // more forks than the caller is shown: not relayed
            a_tag = f->tag();
            rel = f;
            if (!f->a.valid()) f->a = create_a_dialog(ci, a_tag, dialog::dialog_state::early);
        }
        const auto b_rseq = m.rseq();
        const bool reliable =
            rel != nullptr && b_rseq && m.has_option_tag(header_id::require, "100rel");
        if (!reliable) {
            respond_a(ci, code, m.reason_phrase(), a_tag, &m);
            return;
        }
        if (*b_rseq <= rel->b_rseq) return; // the callee re-sent it: our PRACK is on its way
        rel->b_rseq = *b_rseq;
        if (!c.a_100rel) {
            // The caller cannot PRACK: Tandem acknowledges the callee itself and relays the
            // provisional unreliably.
            if (const dialog::dialog* bd = _dialogs.get(rel->b)) {
                char rack[40];
                int n = std::snprintf(rack, sizeof(rack), "%u %u INVITE", *b_rseq, c.b_cseq);
                char branch[util::id_generator::max_branch];
                std::string_view br(branch, mint_branch(branch, sizeof(branch)));
                header_text extra{"RAck", std::string_view(rack, n)};
                uint64_t h = build_in_dialog(*bd, "PRACK", _dialogs.next_local_cseq(rel->b), br,
                                             nullptr, 70, nullptr, {&extra, 1});
                if (h != msg_store::npos) {
                    (void)_txn.start_client({sip::method::prack, "PRACK", br, false}, h,
                                            dialog_destination(*bd, c.b_peer), no_user, _now,
                                            *this);
                }
            }
            respond_a(ci, code, m.reason_phrase(), a_tag, &m);
            return;
        }
        if (rel->a_rseq == 0) rel->a_rseq = 1 + static_cast<uint32_t>(_ids.next64() & 0xfffff);
        ++rel->a_rseq;
        if (!m.body().empty()) {
            // Kept to repeat in the 2xx if the callee's 2xx carries no SDP of its own.
            if (c.a_answer != msg_store::npos) _store.unref(c.a_answer);
            c.a_answer = _store.alloc(m.body().size());
            if (c.a_answer != msg_store::npos) {
                std::memcpy(_store.data(c.a_answer), m.body().data(), m.body().size());
                _store.set_length(c.a_answer, static_cast<uint32_t>(m.body().size()));
            }
        }
        const message* a = reparse(c.a_copy);
        if (a == nullptr) return;
        char rseq[16];
        int rn = std::snprintf(rseq, sizeof(rseq), "%u", rel->a_rseq);
        header_text extra[2] = {{"Require", "100rel"}, {"RSeq", std::string_view(rseq, rn)}};
        uint64_t h = build_response(*a, code, m.reason_phrase(), a_tag, &m, c.policy, true, extra);
        if (h == msg_store::npos) return;
        // Re-sent at T1, 2*T1, ... until the caller's PRACK (RFC 3262 s3), keyed like a 2xx.
        _store.ref(h);
        (void)_uas2xx.start(*a->call_id(), a_tag, c.a_cseq, h, c.a_src, cookie(ci, role_rel1xx_a),
                            _now, *this);
        (void)_txn.respond(c.a_invite, static_cast<uint16_t>(code), h, c.a_src, _now, *this, a_tag);
        return;
    }
    // The first final response ends the ring timeout. Once the call is answered the same timer
    // holds its talk-time limit, which a retransmitted 2xx or a second fork's 2xx must not disarm.
    if (c.timer.data == cookie(ci, role_ring)) _wheel.cancel(c.timer);
    if (code < 300) {
        dialog_source src;
        b_params(src, c, m);
        auto res =
            _dialogs.on_uac_response(src.p, static_cast<uint16_t>(code), cookie(ci, role_b_invite),
                                     [&](dialog_id gone, uint64_t) {
                                         for (auto& f : c.forks)
                                             if (f.used && f.b == gone) f.b = dialog_id{};
                                     });
        if (res.outcome == dialog::uac_outcome::ignored ||
            (res.outcome == dialog::uac_outcome::refused && !c.b_dialog.valid())) {
            // No dialog for this answer: a 2xx without a To tag (RFC 2543 style, s12.1.2), or
            // one the dialog table has no room for. The B-leg can be neither bridged nor ACKed
            // and hung up in a dialog: it ends like a failed INVITE (502 for the tagless answer,
            // 503 when the table is full, 500 when the dialog is too large: failover, or the
            // failure to the caller; after a CANCEL, just the end of the leg). Once the leg is
            // over such a response is dropped.
            if (!c.b_dialog.valid() &&
                (c.b == leg_state::establishing || c.b == leg_state::terminating)) {
                const int failure = res.outcome == dialog::uac_outcome::ignored ? 502
                                    : res.status == dialog::dialog_status::full ? 503
                                                                                : 500;
                b_invite_failed(ci, failure);
            }
            return;
        }
        if (res.outcome == dialog::uac_outcome::retransmitted_2xx) {
            // Re-send our ACK if the caller has acknowledged already; else keep waiting.
            uint64_t ack = _dialogs.ack_for_2xx(res.id, c.b_cseq);
            const dialog::dialog* dl = _dialogs.get(res.id);
            if (ack != txn::no_msg && dl != nullptr)
                resend_ack(*dl, c.b_cseq, ack, dialog_destination(*dl, c.b_peer));
            return;
        }
        if (res.outcome == dialog::uac_outcome::extra_confirmed ||
            res.outcome == dialog::uac_outcome::refused || c.b_dialog.valid()) {
            // A second fork answered, or no room for the dialog: ACK it and hang it up.
            if (res.id.valid()) {
                if (const dialog::dialog* dl = _dialogs.get(res.id)) {
                    char branch[util::id_generator::max_branch];
                    std::string_view br(branch, _ids.make_branch(branch, sizeof(branch)));
                    uint64_t ack = build_in_dialog(*dl, "ACK", c.b_cseq, br, nullptr, 70, nullptr);
                    endpoint dest = dialog_destination(*dl, c.b_peer);
                    if (ack != msg_store::npos) {
                        send_now(ack, dest);
                        _store.unref(ack);
                    }
                    std::string_view br2(branch, mint_branch(branch, sizeof(branch)));
                    uint64_t bye = build_in_dialog(*dl, "BYE", _dialogs.next_local_cseq(res.id),
                                                   br2, nullptr, 70, nullptr);
                    if (bye != msg_store::npos) {
                        (void)_txn.start_client({sip::method::bye, "BYE", br2, false}, bye, dest,
                                                no_user, _now, *this);
                    }
                    if (!(res.id == c.b_dialog)) {
                        release_ack(_dialogs.terminate(res.id));
                    }
                }
            }
            return;
        }
        c.b_dialog = res.id;
        fork_map* f = fork_for_b(c, res.id);
        if (c.a_final_sent || c.a == leg_state::terminated || f == nullptr) {
            // The caller gave up while the callee answered (a CANCEL, a BYE or a timeout ended
            // its side, whose final response may have found no buffer, so a_final_sent alone
            // does not tell): ACK and BYE the B-leg.
            ack_and_bye_b(ci, res.id);
            return;
        }
        const message* a = reparse(c.a_copy);
        if (a == nullptr) return;
        // The 2xx to the caller, re-sent until its ACK (RFC 3261 s13.3.1.4).
        std::string_view sdp;
        if (m.body().empty() && c.a_answer != msg_store::npos) {
            sdp = {_store.data(c.a_answer), _store.length(c.a_answer)};
        }
        const uint64_t h =
            build_response(*a, code, m.reason_phrase(), f->tag(), &m, c.policy, true, {}, sdp);
        if (h == msg_store::npos) {
            // No buffer for it: the call cannot be answered. The caller's INVITE is abandoned
            // (a later path may still send it a final response) and the callee's answer is
            // ACKed and hung up, as when the caller has given up.
            (void)answer(c.a_invite, code, h, c.a_src, f->tag());
            count_failed(c);
            c.a = leg_state::terminated;
            ack_and_bye_b(ci, res.id);
            return;
        }
        // The A-leg dialog: confirm the early one this fork showed, or create it now.
        if (f->a.valid()) {
            (void)_dialogs.confirm(f->a);
        } else {
            f->a = create_a_dialog(ci, f->tag(), dialog::dialog_state::confirmed);
            if (!f->a.valid()) {
                _store.unref(h);
                reject(ci, 500, "Server Internal Error");
                return;
            }
        }
        c.a_dialog = f->a;
        end_early_dialogs(ci);
        c.b = leg_state::established;
        c.a = leg_state::establishing; // until the caller's ACK
        ++_stats.calls_answered;
        if (const dialog::dialog* ad = _dialogs.get(c.a_dialog)) {
            _store.ref(h); // one reference for the transaction, one for the re-sender
            (void)_uas2xx.start(ad->call_id(), ad->local_tag(), c.a_cseq, h, c.a_src,
                                cookie(ci, role_2xx_a), _now, *this);
        }
        (void)_txn.respond(c.a_invite, static_cast<uint16_t>(code), h, c.a_src, _now, *this,
                           f->tag());
        c.a_final_sent = true;
        _store.unref(c.a_copy);
        c.a_copy = msg_store::npos;
        if (c.duration_s != 0) {
            c.timer.data = cookie(ci, role_duration);
            _wheel.start(c.timer, _now + _cfg.txn.ticks(uint64_t(c.duration_s) * 1000));
        }
        return;
    }
    // 3xx-6xx: ACK it (the transaction does), end the early dialogs, and let the scenario
    // decide between failover and relaying the failure.
    if (need_ack) send_ack_non2xx(c, c.b_invite, m);
    b_invite_failed(ci, code);
}

// The B-leg answered a call that will not be bridged (the caller gave up, or its 2xx cannot be
// built): ACK the answer and hang the leg up.
void engine::impl::ack_and_bye_b(uint32_t ci, dialog_id answered) noexcept {
    call& c = _calls[ci];
    c.cancel_pending = false;
    c.b = leg_state::established;
    if (const dialog::dialog* dl = _dialogs.get(answered)) {
        char branch[util::id_generator::max_branch];
        std::string_view br(branch, _ids.make_branch(branch, sizeof(branch)));
        uint64_t ack = build_in_dialog(*dl, "ACK", c.b_cseq, br, nullptr, 70, nullptr);
        if (ack != msg_store::npos) {
            send_now(ack, dialog_destination(*dl, c.b_peer));
            _store.unref(ack);
        }
    }
    send_bye(ci, false);
    maybe_free(ci);
}

void engine::impl::b_invite_failed(uint32_t ci, int code) noexcept {
    call& c = _calls[ci];
    _wheel.cancel(c.timer);
    _dialogs.on_uac_failure(c.b_call_id(), c.b_tag(), [&](dialog_id gone, uint64_t) {
        for (auto& f : c.forks)
            if (f.used && f.b == gone) f.b = dialog_id{};
    });
    c.b = leg_state::terminated;
    c.cancel_pending = false;
    if (!c.a_final_sent && c.a != leg_state::terminated) {
        c.decided = false;
        _scenario.on_bridge_failure(_self, call_handle{&_self, ci}, code);
        if (!_calls.live(ci)) return;
        if (c.b == leg_state::establishing) return; // re-bridged: the caller keeps ringing
        int out = code;
        std::string_view reason;
        if ((code == 401 || code == 407) && !c.policy->transparent_auth()) {
            out = 403;
            reason = "Forbidden";
        } else if (code == 408) {
            reason = "Request Timeout";
        } else if (code == 503) {
            reason = "Service Unavailable";
        } else if (code == 502 && !rx_is_failure(code)) {
            reason = "Bad Gateway"; // the callee's answer was unusable
        } else if (code == 500 && !rx_is_failure(code)) {
            reason = "Server Internal Error"; // no room for the callee's dialog
        }
        if (reason.empty()) {
            // The far end's reason phrase: the failing response is still in _rx when there is
            // one; timeouts have their own phrase above.
            reason = rx_is_failure(code) ? _rx->reason_phrase() : std::string_view("Failed");
        }
        const message* src = rx_is_failure(code) ? _rx : nullptr;
        respond_a(ci, out, reason, {}, src);
        count_failed(c);
        c.a = leg_state::terminated;
        end_early_dialogs(ci);
    }
    maybe_free(ci);
}

void engine::impl::on_call_timer(uint32_t ci, uint8_t r) noexcept {
    call& c = _calls[ci];
    if (r == role_ring) {
        // No answer in time.
        if (c.a_final_sent) return;
        give_up_unanswered(ci);
    } else if (r == role_duration) {
        hangup(ci);
    }
}

void engine::impl::relay_request(uint32_t ci, bool from_a, dialog_id from, const message& m,
                                 txn_id t, const endpoint& dest,
                                 std::span<const header_text> extra) noexcept {
    call& c = _calls[ci];
    // The matching dialog on the other leg: confirmed, or the early one mirroring this fork.
    dialog_id other = from_a ? c.b_dialog : c.a_dialog;
    if (!other.valid()) {
        if (from_a) {
            if (fork_map* f = fork_for_a(c, from)) other = f->b;
        } else {
            for (auto& f : c.forks)
                if (f.used && f.b == from) other = f.a;
        }
    }
    const dialog::dialog* od = other.valid() ? _dialogs.get(other) : nullptr;
    if (od == nullptr || c.a == leg_state::terminated || c.b == leg_state::terminated ||
        c.a == leg_state::terminating || c.b == leg_state::terminating) {
        respond(t, m, 481, "Call/Transaction Does Not Exist", dest);
        return;
    }
    const sip::method meth = m.method();
    if (meth == sip::method::invite || meth == sip::method::update) {
        // One offer at a time per leg: a second while one is open is glare (s14.1).
        for (const auto& r : c.relays) {
            if (r.used && (r.method == sip::method::invite || r.method == sip::method::update)) {
                uint64_t h = build(true, [&](message_builder& b) {
                    write_response_head(b, m, 491, "Request Pending", {});
                    b.header("Server", _cfg.user_agent);
                    return b.finish();
                });
                answer(t, 491, h, dest);
                return;
            }
        }
    }
    size_t k = 0;
    while (k < k_relays && c.relays[k].used)
        ++k;
    uint64_t copy = k < k_relays ? keep_copy(m) : msg_store::npos;
    if (copy == msg_store::npos) {
        uint64_t h = build(true, [&](message_builder& b) {
            write_response_head(b, m, 500, "Server Internal Error", {});
            b.header_uint("Retry-After", 1);
            return b.finish();
        });
        answer(t, 500, h, dest);
        return;
    }
    if (meth == sip::method::invite) respond(t, m, 100, "Trying", dest);
    char branch[util::id_generator::max_branch];
    std::string_view br(branch, mint_branch(branch, sizeof(branch)));
    const uint32_t cseq = _dialogs.next_local_cseq(other);
    const auto mf = m.max_forwards();
    const int forwards = mf ? static_cast<int>(*mf > 0 ? *mf - 1 : 0) : 69;
    uint64_t h = build_in_dialog(*od, m.method_name(), cseq, br, &m, forwards, c.policy, extra);
    if (h == msg_store::npos) {
        _store.unref(copy);
        respond(t, m, 500, "Server Internal Error", dest);
        return;
    }
    txn::client_request req{meth, m.method_name(), br, false};
    auto s = _txn.start_client(req, h, dialog_destination(*od, from_a ? c.b_peer : c.a_src),
                               cookie(ci, static_cast<uint8_t>(role_relay + k)), _now, *this);
    if (s.status != txn::txn_status::ok) {
        _store.unref(copy);
        respond(t, m, 503, "Service Unavailable", dest);
        return;
    }
    relay& r = c.relays[k];
    r = relay{};
    r.used = true;
    r.from_a = from_a;
    r.method = meth;
    r.server = t;
    r.client = s.txn;
    r.copy = copy;
    r.client_cseq = cseq;
    r.server_cseq = m.cseq()->number;
    r.resp_dest = dest;
}

void engine::impl::relay_response(uint32_t ci, size_t k, txn_id t, const message& m,
                                  bool need_ack) noexcept {
    call& c = _calls[ci];
    relay& r = c.relays[k];
    if (!r.used || !(r.client == t)) {
        // A relayed re-INVITE that has ended: its slot is free or holds a later request, while
        // its client transaction still passes 2xx retransmissions up for 64*T1 (RFC 6026
        // Accepted). Never relay one (it would answer whatever request holds the slot now):
        // re-send the ACK its first 2xx got.
        for (const dialog_id d : {c.a_dialog, c.b_dialog}) {
            const dialog::dialog* dl = d.valid() ? _dialogs.get(d) : nullptr;
            if (dl == nullptr || dl->call_id() != *m.call_id()) continue;
            const uint64_t ack = _dialogs.ack_for_2xx(d, m.cseq()->number);
            if (ack != txn::no_msg)
                resend_ack(*dl, m.cseq()->number, ack,
                           dialog_destination(*dl, d == c.a_dialog ? c.a_src : c.b_peer));
        }
        return;
    }
    if (r.awaiting_ack) return;
    const int code = m.status_code();
    if (code == 100) return;
    if (need_ack) send_ack_non2xx(c, r.client, m);
    // The dialog on the requesting side, for the To tag and (2xx) the ACK wait.
    dialog_id from = r.from_a ? c.a_dialog : c.b_dialog;
    const dialog::dialog* fd = from.valid() ? _dialogs.get(from) : nullptr;
    std::string_view to_tag = fd != nullptr ? fd->local_tag() : std::string_view();
    const message* req = reparse(r.copy);
    if (req == nullptr) return;
    const endpoint dest = r.resp_dest;
    uint64_t h = build_response(*req, code, m.reason_phrase(), req->to()->tag, &m, c.policy,
                                r.method == sip::method::invite || r.method == sip::method::update);
    if (h == msg_store::npos) {
        if (code < 200) return;
        // No buffer to relay the final response: the request ends unanswered on its side
        // (its transaction ends when its client has given up) and frees its slot.
        (void)_txn.abandon(r.server, _now);
        _store.unref(r.copy);
        r = relay{};
        maybe_free(ci);
        return;
    }
    const bool wait_ack =
        code >= 200 && code < 300 && r.method == sip::method::invite && fd != nullptr;
    if (wait_ack) {
        _store.ref(h);
        (void)_uas2xx.start(fd->call_id(), fd->local_tag(), r.server_cseq, h, dest,
                            cookie(ci, static_cast<uint8_t>(role_relay_2xx + k)), _now, *this);
    }
    (void)_txn.respond(r.server, static_cast<uint16_t>(code), h, dest, _now, *this, to_tag);
    if (code >= 200 && code < 300) {
        dialog_id other = r.from_a ? c.b_dialog : c.a_dialog;
        if (other.valid() && (r.method == sip::method::invite || r.method == sip::method::update)) {
            if (auto ct = m.contact(0); ct && !ct->star)
                (void)_dialogs.refresh_target(other, ct->addr.uri);
        }
        if (wait_ack) {
            r.awaiting_ack = true;
            return;
        }
    }
    if (code >= 200) {
        _store.unref(r.copy);
        r = relay{};
        // RFC 5057 s5.1: 481 (and 408) to an in-dialog request means the far dialog is gone;
        // the call ends with a BYE to the leg that is still there.
        if (code == 481 || code == 408) {
            hangup(ci);
            return;
        }
        maybe_free(ci);
    }
}

void engine::impl::relay_failed(uint32_t ci, size_t k, int code) noexcept {
    call& c = _calls[ci];
    relay& r = c.relays[k];
    if (!r.used) return;
    const message* req = reparse(r.copy);
    if (req != nullptr) {
        respond(r.server, *req, code, code == 408 ? "Request Timeout" : "Service Unavailable",
                r.resp_dest);
    }
    _store.unref(r.copy);
    r = relay{};
    // RFC 5057: a timed-out in-dialog request means the other side is gone: end the call.
    hangup(ci);
}

// --- building ----------------------------------------------------------------------------------

uint64_t engine::impl::build(bool small, const auto& write) noexcept {
    // A message expected to fit the smallest buffer class (one without a body: a provisional,
    // an ACK, a BYE and its 200) is written straight into a stored buffer, with no copy. That
    // is the buffer the copy below would take for it: alloc(class_bytes[0]) and alloc(length)
    // both take the smallest free class that holds it. One that turns out not to fit is
    // written again, as below (`write` only reads engine state, so the second run writes the
    // same bytes).
    if (small) {
        const uint64_t h = _store.try_alloc(msg_store::class_bytes[0]);
        if (h != msg_store::npos) {
            message_builder b(_store.data(h), _store.capacity(h));
            const build_result r = write(b);
            if (r.ok()) {
                _store.set_length(h, static_cast<uint32_t>(r.length));
                return h;
            }
            _store.unref(h);
            if (r.status != build_status::overflow) return msg_store::npos;
        }
    }
    // Any other message is written once into the shard's scratch buffer, then copied into the
    // smallest stored buffer that holds it: a message kept for 64*T1 (a BYE's 200 for timer J)
    // must not pin a buffer sized for an INVITE with SDP.
    message_builder b(_scratch.get(), msg_store::class_bytes[2]);
    build_result r = write(b);
    if (!r.ok()) return msg_store::npos;
    uint64_t h = _store.alloc(r.length);
    if (h == msg_store::npos) {
        ++_stats.buffer_exhausted;
        return h;
    }
    std::memcpy(_store.data(h), _scratch.get(), r.length);
    _store.set_length(h, static_cast<uint32_t>(r.length));
    return h;
}

void engine::impl::write_policy_headers(message_builder& b, const message& src, direction dir,
                                        const header_policy& p) noexcept {
    // Known option tags pass only when Tandem implements them (Allow/Supported are merged).
    char supported[128];
    size_t sl = 0;
    const size_t tags = src.find(header_id::supported) == message::npos
                            ? 0
                            : src.count(header_id::supported); // one walk, not one per tag
    for (size_t i = 0; i < tags; ++i) {
        auto tag = src.option_tag(header_id::supported, i);
        if (!tag || !option_tag_supported(*tag) || *tag == "100rel") continue;
        if (sl + tag->size() + 2 > sizeof(supported)) break;
        if (sl != 0) {
            supported[sl++] = ',';
            supported[sl++] = ' ';
        }
        std::memcpy(supported + sl, tag->data(), tag->size());
        sl += tag->size();
    }
    if (sl != 0) b.prechecked_header("Supported", std::string_view(supported, sl));
    for (size_t i = 0; i < src.header_count(); ++i) {
        const header_field& h = src.header(i);
        const header_rule& r = p.rule(dir, h.id, src.name(h));
        switch (r.action) {
        case policy_action::pass:
            b.prechecked_header(src.name(h), src.value(h));
            break;
        case policy_action::rename:
            b.header(r.new_name, src.value(h));
            break;
        case policy_action::rewrite:
            if (h.flags & header_field::first_in_line) b.header(src.name(h), r.new_value);
            break;
        default:
            break;
        }
    }
}

void engine::impl::write_response_head(message_builder& b, const message& req, int code,
                                       std::string_view reason, std::string_view to_tag) noexcept {
    b.status_line(code, reason);
    for (size_t i = req.find(header_id::via); i != message::npos;
         i = req.find(header_id::via, i + 1)) {
        b.prechecked_header("Via", req.value(i));
    }
    size_t i = req.find(header_id::from);
    if (i != message::npos) b.prechecked_header("From", req.value(i));
    i = req.find(header_id::to);
    if (i != message::npos) {
        if (!to_tag.empty() && !req.to()->has_tag && code > 100) {
            // The tag is minted here or taken from a parsed response.
            b.prechecked_header_parts("To", {req.value(i), ";tag=", to_tag});
        } else {
            b.prechecked_header("To", req.value(i));
        }
    }
    if (req.call_id()) b.prechecked_header("Call-ID", *req.call_id());
    i = req.find(header_id::cseq);
    if (i != message::npos) b.prechecked_header("CSeq", req.value(i));
}

uint64_t engine::impl::build_response(const message& req, int code, std::string_view reason,
                                      std::string_view to_tag, const message* relay_src,
                                      const header_policy* p, bool contact,
                                      std::span<const header_text> extra,
                                      std::string_view sdp_override) noexcept {
    const bool small = sdp_override.empty() && (relay_src == nullptr || relay_src->body().empty());
    return build(small, [&](message_builder& b) {
        write_response_head(b, req, code, reason.empty() ? std::string_view("Unknown") : reason,
                            to_tag);
        if (contact && code > 100 && code < 300) {
            b.prechecked_header("Contact", {_contact, _contact_len});
        }
        if (code >= 200 && code < 300 && req.method() == sip::method::invite)
            b.prechecked_header("Allow", k_allow);
        for (const auto& x : extra)
            b.header(x.name, x.value);
        if (relay_src != nullptr && p != nullptr) {
            write_policy_headers(b, *relay_src, direction::response, *p);
        }
        write_agent(b, "Server");
        if (!sdp_override.empty()) {
            b.header("Content-Type", "application/sdp");
            return b.finish(sdp_override);
        }
        if (relay_src != nullptr && !relay_src->body().empty()) {
            size_t ct = relay_src->find(header_id::content_type);
            if (ct != message::npos) b.prechecked_header("Content-Type", relay_src->value(ct));
            return b.finish(relay_src->body());
        }
        return b.finish();
    });
}

uint64_t engine::impl::build_in_dialog(const dialog::dialog& d, std::string_view method,
                                       uint32_t cseq, std::string_view branch, const message* src,
                                       int max_forwards, const header_policy* p,
                                       std::span<const header_text> extra) noexcept {
    return build(src == nullptr || src->body().empty(), [&](message_builder& b) {
        std::string_view target = d.remote_target();
        if (target.empty()) {
            // No Contact seen: the remote URI is the best Request-URI left (s12.1.2).
            target = d.remote_uri();
            size_t lt = target.find('<'), gt = target.find('>');
            if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
                target = target.substr(lt + 1, gt - lt - 1);
            }
        }
        b.request_line(method, target);
        // The dialog's text was copied from parsed headers (dialog_params).
        b.prechecked_header_parts("Via", {{_via, _via_len}, branch, ";rport"});
        b.prechecked_header_uint("Max-Forwards",
                                 max_forwards < 0 ? 70 : static_cast<uint64_t>(max_forwards));
        if (!d.route_set().empty()) b.prechecked_header("Route", d.route_set());
        b.prechecked_header_parts("From", {d.local_uri(), ";tag=", d.local_tag()});
        b.prechecked_header_parts("To", {d.remote_uri(), ";tag=", d.remote_tag()});
        b.prechecked_header("Call-ID", d.call_id());
        // `method` is a literal of this file or a parsed request's method token.
        b.prechecked_header_parts("CSeq", {decimal_text(cseq).view(), " ", method});
        if (method != "ACK" && method != "BYE" && method != "CANCEL") {
            b.prechecked_header("Contact", {_contact, _contact_len});
        }
        for (const auto& x : extra)
            b.header(x.name, x.value);
        if (src != nullptr && p != nullptr) write_policy_headers(b, *src, direction::request, *p);
        write_agent(b, "User-Agent");
        if (src != nullptr && !src->body().empty()) {
            size_t ct = src->find(header_id::content_type);
            if (ct != message::npos) b.prechecked_header("Content-Type", src->value(ct));
            return b.finish(src->body());
        }
        return b.finish();
    });
}

void engine::impl::respond(txn_id t, const message& req, int code, std::string_view reason,
                           const endpoint& dest, std::string_view to_tag, const message* src,
                           const header_policy* p, bool contact) noexcept {
    char tag_buf[24];
    if (to_tag.empty() && code > 100) {
        // An in-dialog request's response carries the request's To tag (write_response_head
        // keeps it); only an untagged request needs one minted.
        const auto& to = req.to();
        to_tag = to && to->has_tag ? to->tag : stateless_tag(req, tag_buf);
    }
    answer(t, code, build_response(req, code, reason, to_tag, src, p, contact), dest, to_tag);
}

bool engine::impl::answer(txn_id t, int code, uint64_t h, const endpoint& dest,
                          std::string_view to_tag) noexcept {
    if (h == msg_store::npos) {
        // No buffer for the response. A server transaction must not wait for ever for a final
        // one that cannot come: it ends when its client has given up (abandon).
        if (code >= 200) (void)_txn.abandon(t, _now);
        return false;
    }
    (void)_txn.respond(t, static_cast<uint16_t>(code), h, dest, _now, *this, to_tag);
    return true;
}

bool engine::impl::respond_a(uint32_t ci, int code, std::string_view reason,
                             std::string_view to_tag, const message* src) noexcept {
    call& c = _calls[ci];
    if (c.a_final_sent) return false;
    const message* a = reparse(c.a_copy);
    if (a == nullptr) return false;
    char tag_buf[24];
    if (to_tag.empty() && code > 100) to_tag = stateless_tag(*a, tag_buf);
    // Without a buffer for it, the caller's INVITE is abandoned (a later path may still answer
    // it meanwhile).
    if (!answer(c.a_invite, code,
                build_response(*a, code, reason, to_tag, src, c.policy, code < 300), c.a_src,
                to_tag))
        return false;
    if (code >= 200) {
        c.a_final_sent = true;
        _store.unref(c.a_copy);
        c.a_copy = msg_store::npos;
    }
    return true;
}

void engine::impl::respond_stateless(const message& req, int code, std::string_view reason,
                                     const endpoint& dest) noexcept {
    char tag_buf[24];
    uint64_t h = build(true, [&](message_builder& b) {
        write_response_head(b, req, code, reason, stateless_tag(req, tag_buf));
        if (code == 503) b.header_uint("Retry-After", _cfg.retry_after_s);
        if (code == 405) b.header("Allow", k_allow);
        write_agent(b, "Server");
        return b.finish();
    });
    if (h == msg_store::npos) return;
    send_now(h, dest);
    _store.unref(h);
}

std::string_view engine::impl::stateless_tag(const message& req, char* buf) const noexcept {
    // The same request (and its retransmissions) always gets the same tag, without state.
    util::siphash13 s(_key);
    if (req.call_id()) s.add_field(*req.call_id());
    if (req.top_via()) s.add_field(req.top_via()->branch);
    uint64_t v = s.finish64();
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuv";
    for (int i = 0; i < 13; ++i)
        buf[i] = digits[(v >> (5 * i)) & 31];
    return {buf, 13};
}

endpoint engine::impl::response_destination(const message& req,
                                            const endpoint& src) const noexcept {
    // RFC 3261 s18.2.2 with RFC 3581: the source address; the source port with rport, else the
    // sent-by port (default 5060).
    endpoint e = src;
    const auto& via = req.top_via();
    if (via && !via->rport) e.port = via->has_port ? via->port : 5060;
    return e;
}

endpoint engine::impl::dialog_destination(const dialog::dialog& d,
                                          const endpoint& fallback) noexcept {
    endpoint e;
    if (!d.first_route().empty() && _destinations.resolve(d.first_route(), e)) return e;
    if (!d.remote_target().empty() && _destinations.resolve(d.remote_target(), e)) return e;
    return fallback;
}

const message* engine::impl::reparse(uint64_t h) noexcept {
    if (h == msg_store::npos) return nullptr;
    // The INVITE being handled was parsed in its store copy (on_datagram).
    if (h == _rx_copy && _in_datagram) return _rx;
    uint32_t gen = _store.generation(h);
    if (h != _aux_handle || gen != _aux_generation) {
        _aux_handle = h;
        _aux_generation = gen;
        _aux_ok = parse(_store.data(h), _store.length(h), *_aux).ok();
    }
    return _aux_ok ? _aux : nullptr;
}

// --- engine ----------------------------------------------------------------------------------

engine::engine(const engine_config& cfg, transport& out, scenario& scen,
               std::shared_ptr<const header_policy> policy, const util::hash_key& key, tick_t now)
    : _impl(std::make_unique<impl>(*this, cfg, out, scen, std::move(policy), key, now)) {}

engine::~engine() = default;

void engine::on_datagram(const char* data, size_t len, const endpoint& src, tick_t now) noexcept {
    _impl->on_datagram(data, len, src, now);
}

void engine::on_tick(tick_t now) noexcept {
    _impl->on_tick(now);
}

tick_t engine::next_due() const noexcept {
    return _impl->next_due();
}

bool engine::bridge(call_handle call, std::string_view target_uri) noexcept {
    return _impl->bridge(call.index, target_uri);
}

void engine::reject(call_handle call, int code, std::string_view reason) noexcept {
    _impl->reject(call.index, code, reason);
}

void engine::limit_duration(call_handle call, uint32_t seconds) noexcept {
    _impl->_calls[call.index].duration_s = seconds;
}

void engine::set_policy(call_handle call, std::shared_ptr<const header_policy> policy) noexcept {
    // The engine keeps every policy a call uses alive; the call keeps a plain pointer.
    if (!policy) return;
    bool kept = policy == _impl->_policy;
    for (const auto& p : _impl->_kept)
        kept = kept || p == policy;
    if (!kept) _impl->_kept.push_back(policy);
    _impl->_calls[call.index].policy = policy.get();
}

call_state engine::state(call_handle call) const noexcept {
    const auto& c = _impl->_calls[call.index];
    return combine(c.a, c.b);
}

void engine::hangup(call_handle call) noexcept {
    _impl->hangup(call.index);
}

size_t engine::calls_active() const noexcept {
    return _impl->_calls.size();
}
size_t engine::transactions_active() const noexcept {
    return _impl->_txn.size();
}
size_t engine::buffers_in_use() const noexcept {
    return _impl->_store.in_use();
}
size_t engine::call_bytes() noexcept {
    return sizeof(call);
}

} // namespace tandem::sip::b2b
