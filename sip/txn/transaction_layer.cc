#include "sip/txn/transaction_layer.h"

#include <algorithm>
#include <cstring>

#include "sip/util/ids.h"

namespace tandem::sip::txn {

namespace {

constexpr uint32_t domain_server = 0x53; // 'S': RFC 3261 server key
constexpr uint32_t domain_2543 = 0x32;   // '2': RFC 2543 server key
constexpr uint32_t domain_client = 0x43; // 'C': client key
// The same keys with the method and every length packed into the first block (fields shorter
// than 64 KiB, a method other than `other` for the server key).
constexpr uint64_t domain_server_packed = 0x73; // 's'
constexpr uint64_t domain_client_packed = 0x63; // 'c'
constexpr size_t packed_max = 0xffff;
// The top nibble of a client key made from an id_generator branch (see client_key).
constexpr uint64_t native_client_mark = uint64_t{0xa} << 60;

bool has_cookie(std::string_view branch) noexcept {
    return branch.size() >= magic_cookie.size() &&
           branch.substr(0, magic_cookie.size()) == magic_cookie;
}

void add_method(util::siphash13& h, method_id m, std::string_view name) noexcept {
    h.add_u32(static_cast<uint32_t>(m));
    if (m == method_id::other) h.add_field(name);
}

} // namespace

transaction_layer::transaction_layer(const txn_config& cfg, const util::hash_key& key, tick_t now)
    : _cfg(cfg), _key(key), _t1(cfg.ticks(cfg.t1_ms)), _t2(cfg.ticks(cfg.t2_ms)),
      _t4(cfg.ticks(cfg.t4_ms)), _td(cfg.ticks(cfg.timer_d_ms)),
      _t64(cfg.ticks(uint64_t{64} * cfg.t1_ms)), _tc(cfg.ticks(cfg.timer_c_ms)),
      _pool(cfg.max_transactions), _table(cfg.max_transactions), _wheel(now) {}

namespace {

// The server key of a request whose fields do not pack into one block (a long field, a method
// Tandem does not know, no RFC 3261 cookie): rare, so kept out of server_key's hot code.
[[gnu::cold, gnu::noinline]] util::digest128
unpacked_server_key(const util::hash_key& key, const request_key& req, method_id m) noexcept {
    util::siphash13 h(key, true);
    if (has_cookie(req.branch)) {
        h.add_u32(domain_server);
        h.add_field(req.branch);
        h.add_field(req.sent_by_host);
        h.add_u32(req.sent_by_port);
    } else {
        // RFC 2543 fallback: Request-URI, From tag, Call-ID, CSeq number, top Via. The To tag
        // is compared separately (an ACK carries the response's tag, not the request's).
        h.add_u32(domain_2543);
        h.add_field(req.request_uri);
        h.add_field(req.from_tag);
        h.add_field(req.call_id);
        h.add_u32(req.cseq);
        h.add_field(req.top_via);
    }
    add_method(h, m, req.method_name);
    return h.finish128();
}

} // namespace

util::digest128 transaction_layer::server_key(const request_key& req,
                                              bool for_cancel) const noexcept {
    // s17.2.3: the ACK matches its INVITE's transaction; s9.2: so does a CANCEL looking for
    // the transaction it cancels.
    const method_id m =
        (req.method == method_id::ack || for_cancel) ? method_id::invite : req.method;
    if (!has_cookie(req.branch) || m == method_id::other || req.branch.size() > packed_max ||
        req.sent_by_host.size() > packed_max) [[unlikely]] {
        return unpacked_server_key(_key, req, m);
    }
    util::siphash13 h(_key, true);
    h.add_u64(domain_server_packed | uint64_t{static_cast<uint8_t>(m)} << 8 |
              uint64_t{req.branch.size()} << 16 | uint64_t{req.sent_by_host.size()} << 32 |
              uint64_t{req.sent_by_port} << 48);
    h.add_padded(req.branch);
    h.add_padded(req.sent_by_host);
    return h.finish128();
}

util::digest128 transaction_layer::client_key(method_id m, std::string_view name,
                                              std::string_view branch) const noexcept {
    // s17.1.3: branch of the top Via plus the CSeq method (CANCEL has its own transaction).
    if (m != method_id::other) {
        // Tandem mints its branches (util::id_generator): 100 bits of keyed PRF output, as
        // unpredictable as a digest of them, with the shard. Those bits are the key, and the
        // table index is PRF output too. A peer can compute the key of a branch it has seen,
        // but only that branch's exact bytes give it; reaching a SipHash key needs the secret.
        // A client transaction's branch comes back in each of its responses: the last decoded
        // branch is remembered by its bytes (a pure function of them: never stale).
        branch_memo& memo = _branch_memo;
        if (memo.len == 0 || branch.size() != memo.len ||
            std::memcmp(branch.data(), memo.text, memo.len) != 0) {
            memo.len = 0;
            if (branch.size() <= sizeof(memo.text) &&
                util::id_generator::branch_bits(branch, memo.shard, memo.bits)) {
                std::memcpy(memo.text, branch.data(), branch.size());
                memo.len = static_cast<uint8_t>(branch.size());
            }
        }
        if (memo.len != 0) {
            return {memo.bits.lo, memo.bits.hi | uint64_t{memo.shard} << 36 |
                                      uint64_t{static_cast<uint8_t>(m)} << 52 | native_client_mark};
        }
    }
    util::siphash13 h(_key, true);
    const std::string_view other = m == method_id::other ? name : std::string_view();
    if (branch.size() <= packed_max && other.size() <= packed_max) {
        h.add_u64(domain_client_packed | uint64_t{static_cast<uint8_t>(m)} << 8 |
                  uint64_t{branch.size()} << 16 | uint64_t{other.size()} << 32);
        h.add_padded(branch);
        h.add_padded(other);
        return h.finish128();
    }
    h.add_u32(domain_client);
    h.add_field(branch);
    add_method(h, m, name);
    return h.finish128();
}

uint64_t transaction_layer::tag_hash(std::string_view tag) const noexcept {
    return util::siphash13_64(_key, tag);
}

uint32_t transaction_layer::lookup(const util::digest128& key) const noexcept {
    return _table.find(key.lo, [&](uint32_t i) { return _pool[i].key == key; });
}

transaction* transaction_layer::get(txn_id id) noexcept {
    if (!_pool.live(id.index) || _pool.generation(id.index) != id.generation) return nullptr;
    return &_pool[id.index];
}

const transaction* transaction_layer::find(txn_id id) const noexcept {
    if (!_pool.live(id.index) || _pool.generation(id.index) != id.generation) return nullptr;
    return &_pool[id.index];
}

txn_status transaction_layer::set_user(txn_id id, uint64_t user) noexcept {
    transaction* t = get(id);
    if (t == nullptr) return txn_status::stale;
    t->user = user;
    return txn_status::ok;
}

void transaction_layer::arm(transaction& t, uint32_t index, bool main, uint64_t ticks,
                            tick_t now) noexcept {
    util::timer& tm = main ? t.main : t.retx;
    tm.data = (uint64_t{index} << 1) | (main ? main_timer : retx_timer);
    _wheel.start(tm, now + ticks);
}

void transaction_layer::emit(const transaction& t, uint32_t index, action_kind k, uint16_t status,
                             action_sink& out) const noexcept {
    action a;
    a.kind = k;
    a.status = status;
    a.txn = id_of(index);
    a.user = t.user;
    a.dest = t.peer;
    out.emit(a);
}

void transaction_layer::send(const transaction& t, uint32_t index, uint64_t msg,
                             action_sink& out) const noexcept {
    action a;
    a.kind = action_kind::send;
    a.txn = id_of(index);
    a.user = t.user;
    a.msg = msg;
    a.dest = t.peer;
    out.emit(a);
}

void transaction_layer::release(transaction& t, uint32_t index, uint64_t& msg,
                                action_sink& out) const noexcept {
    if (msg == no_msg) return;
    action a;
    a.kind = action_kind::release;
    a.txn = id_of(index);
    a.user = t.user;
    a.msg = msg;
    out.emit(a);
    msg = no_msg;
}

void transaction_layer::discard(uint64_t msg, action_sink& out) const noexcept {
    if (msg == no_msg) return;
    action a;
    a.kind = action_kind::release;
    a.msg = msg;
    out.emit(a);
}

void transaction_layer::terminate(uint32_t index, action_sink& out) noexcept {
    transaction& t = _pool[index];
    _wheel.cancel(t.retx);
    _wheel.cancel(t.main);
    (void)_table.erase(t.key.lo, index);
    release(t, index, t.msg, out);
    release(t, index, t.ack_msg, out);
    t.state = txn_state::terminated;
    emit(t, index, action_kind::terminated, 0, out);
    _pool.free(index);
}

bool transaction_layer::has_server_transaction(const request_key& req) const noexcept {
    const uint32_t index = lookup(server_key(req, false));
    if (index == util::open_table::npos) return false;
    // The RFC 2543 fallback matches on the To tag too, as on_request does.
    return has_cookie(req.branch) || _pool[index].req_to_tag == tag_hash(req.to_tag);
}

request_result transaction_layer::on_request(const request_key& req, const util::digest128& key,
                                             bool reliable, tick_t now, action_sink& out) {
    request_result r;
    const bool is2543 = !has_cookie(req.branch);
    uint32_t index = lookup(key);

    if (req.method == method_id::ack) {
        if (index != util::open_table::npos) {
            transaction& t = _pool[index];
            if (is2543 && t.has_resp_to_tag && t.resp_to_tag != tag_hash(req.to_tag))
                index = util::open_table::npos;
        }
        if (index == util::open_table::npos || _pool[index].kind != txn_kind::server_invite) {
            r.disposition = request_disposition::ack_to_tu; // ACK for a 2xx: not ours
            return r;
        }
        transaction& t = _pool[index];
        r.txn = id_of(index);
        switch (t.state) {
        case txn_state::completed:
            // s17.2.1: Completed -> Confirmed on ACK; stop G and H, start I (T4, 0 if reliable).
            _wheel.cancel(t.retx);
            _wheel.cancel(t.main);
            t.state = txn_state::confirmed;
            if (t.reliable) {
                terminate(index, out);
            } else {
                arm(t, index, true, _t4, now);
            }
            r.disposition = request_disposition::ack_absorbed;
            return r;
        case txn_state::accepted:
            // RFC 6026 s7.1: an ACK in Accepted is passed to the TU.
            r.disposition = request_disposition::ack_to_tu;
            return r;
        default:
            r.disposition = request_disposition::ack_absorbed;
            return r;
        }
    }

    if (index != util::open_table::npos && is2543 &&
        _pool[index].req_to_tag != tag_hash(req.to_tag))
        index = util::open_table::npos;

    if (index != util::open_table::npos) {
        // A retransmission: re-send the last response where the state calls for it.
        transaction& t = _pool[index];
        r.txn = id_of(index);
        r.disposition = request_disposition::retransmission;
        // Proceeding: the last provisional; Completed: the final (s17.2.1, s17.2.2). Trying
        // has nothing to send; Accepted (RFC 6026) and Confirmed absorb silently.
        const bool resend = t.state == txn_state::proceeding || t.state == txn_state::completed;
        if (resend && t.msg != no_msg) send(t, index, t.msg, out);
        return r;
    }

    index = _pool.alloc();
    if (index == util::pool<transaction>::npos) {
        ++_full_count;
        r.disposition = request_disposition::table_full;
        return r;
    }
    if (_table.insert(key.lo, index) != util::insert_status::ok) {
        _pool.free(index);
        ++_full_count;
        r.disposition = request_disposition::table_full;
        return r;
    }
    transaction& t = _pool[index];
    t.key = key;
    t.method = req.method;
    t.reliable = reliable;
    t.rfc2543 = is2543;
    if (is2543) t.req_to_tag = tag_hash(req.to_tag);
    if (req.method == method_id::invite) {
        t.kind = txn_kind::server_invite;
        t.state = txn_state::proceeding;
    } else {
        t.kind = txn_kind::server_non_invite;
        t.state = txn_state::trying;
    }
    r.txn = id_of(index);
    r.disposition = request_disposition::new_transaction;

    if (req.method == method_id::cancel) {
        const uint32_t inv = lookup(server_key(req, true));
        if (inv != util::open_table::npos && _pool[inv].kind == txn_kind::server_invite)
            r.cancel_target = id_of(inv);
    }
    return r;
}

response_result transaction_layer::on_response(const response_key& resp, const util::digest128& key,
                                               tick_t now, action_sink& out) {
    response_result r;
    const uint32_t index = lookup(key);
    if (index == util::open_table::npos) return r;
    transaction& t = _pool[index];
    r.txn = id_of(index);
    r.user = t.user;
    r.disposition = response_disposition::absorbed;
    const uint16_t s = resp.status;
    if (s < 100) return r;

    if (t.kind == txn_kind::client_invite) {
        switch (t.state) {
        case txn_state::calling:
        case txn_state::proceeding:
            _wheel.cancel(t.retx); // timer A stops on any response
            t.status = s;
            r.disposition = response_disposition::deliver;
            if (s < 200) {
                // Timer B only runs in Calling (figure 5); each provisional (re)starts timer C,
                // unless a CANCEL has set the transaction's end (cancelled()).
                if (!t.cancelled) arm(t, index, true, _tc, now);
                t.state = txn_state::proceeding;
            } else if (s < 300) {
                // RFC 6026: Accepted, timer M = 64*T1; the TU ACKs the 2xx itself.
                _wheel.cancel(t.main);
                release(t, index, t.msg, out);
                t.state = txn_state::accepted;
                arm(t, index, true, _t64, now);
            } else {
                // s17.1.1.2: Completed, ACK from inside the transaction, timer D. The request
                // stays until the TU's ACK (send_ack): the ACK repeats its Request-URI.
                _wheel.cancel(t.main);
                t.state = txn_state::completed;
                arm(t, index, true, t.reliable ? 0 : _td, now);
                r.need_ack = true;
            }
            return r;
        case txn_state::accepted:
            // RFC 6026 s8.4: 2xx retransmissions go to the TU (which re-sends its ACK).
            if (s >= 200 && s < 300) r.disposition = response_disposition::deliver;
            return r;
        case txn_state::completed:
            // s17.1.1.2: retransmitted final response: re-send the ACK, do not pass it up.
            if (s >= 300 && t.ack_msg != no_msg) send(t, index, t.ack_msg, out);
            return r;
        default:
            return r;
        }
    }

    // client non-INVITE (figure 6)
    if (t.state != txn_state::trying && t.state != txn_state::proceeding) return r;
    t.status = s;
    r.disposition = response_disposition::deliver;
    if (s < 200) {
        t.state = txn_state::proceeding;
        return r;
    }
    _wheel.cancel(t.retx);
    _wheel.cancel(t.main);
    release(t, index, t.msg, out);
    t.state = txn_state::completed;
    if (t.reliable) {
        terminate(index, out); // timer K is zero on reliable transports
    } else {
        arm(t, index, true, _t4, now);
    }
    return r;
}

start_result transaction_layer::start_client(const client_request& req, uint64_t msg,
                                             const endpoint& dest, uint64_t user, tick_t now,
                                             action_sink& out) {
    start_result r;
    if (req.method == method_id::ack) {
        r.status = txn_status::bad_state; // ACK has no client transaction (s17.1.1.3)
        discard(msg, out);
        return r;
    }
    const util::digest128 key = client_key(req.method, req.method_name, req.branch);
    const uint32_t index = _pool.alloc();
    if (index == util::pool<transaction>::npos) {
        ++_full_count;
        discard(msg, out);
        return r;
    }
    if (_table.insert(key.lo, index) != util::insert_status::ok) {
        _pool.free(index);
        ++_full_count;
        discard(msg, out);
        return r;
    }
    transaction& t = _pool[index];
    t.key = key;
    t.method = req.method;
    t.reliable = req.reliable;
    t.peer = dest;
    t.user = user;
    t.msg = msg;
    if (req.method == method_id::invite) {
        t.kind = txn_kind::client_invite;
        t.state = txn_state::calling;
    } else {
        t.kind = txn_kind::client_non_invite;
        t.state = txn_state::trying;
    }
    send(t, index, msg, out);
    if (!t.reliable) {
        t.interval = static_cast<uint32_t>(_t1);
        arm(t, index, false, _t1, now); // timer A or E
    }
    arm(t, index, true, _t64, now); // timer B or F
    r.status = txn_status::ok;
    r.txn = id_of(index);
    return r;
}

txn_status transaction_layer::abandon(txn_id id, tick_t now) noexcept {
    transaction* t = get(id);
    if (t == nullptr) return txn_status::stale;
    const bool waiting =
        (t->kind == txn_kind::server_invite && t->state == txn_state::proceeding) ||
        (t->kind == txn_kind::server_non_invite &&
         (t->state == txn_state::trying || t->state == txn_state::proceeding));
    if (!waiting) return txn_status::bad_state;
    // Retransmissions of the request are still absorbed (re-sent the last provisional, if
    // any) until the client has given up on it too: 64*T1, its timer B or F.
    arm(*t, id.index, true, _t64, now);
    return txn_status::ok;
}

txn_status transaction_layer::cancelled(txn_id id, tick_t now) noexcept {
    transaction* t = get(id);
    if (t == nullptr) return txn_status::stale;
    if (t->kind != txn_kind::client_invite ||
        (t->state != txn_state::calling && t->state != txn_state::proceeding))
        return txn_status::bad_state;
    // RFC 3261 s9.1: with no final response 64*T1 after the CANCEL, the INVITE is given up.
    // In Calling timer B (64*T1 from the INVITE) comes sooner; a later provisional does not
    // restart timer C.
    t->cancelled = true;
    if (t->state == txn_state::proceeding) arm(*t, id.index, true, _t64, now);
    return txn_status::ok;
}

txn_status transaction_layer::send_ack(txn_id id, uint64_t msg, tick_t now, action_sink& out) {
    (void)now;
    transaction* t = get(id);
    if (t == nullptr || t->kind != txn_kind::client_invite || t->state != txn_state::completed) {
        discard(msg, out);
        return t == nullptr ? txn_status::stale : txn_status::bad_state;
    }
    release(*t, id.index, t->ack_msg, out);
    release(*t, id.index, t->msg, out); // the INVITE, kept for the TU to build this ACK
    t->ack_msg = msg;
    send(*t, id.index, msg, out);
    if (t->reliable) terminate(id.index, out); // timer D is zero on reliable transports
    return txn_status::ok;
}

txn_status transaction_layer::respond(txn_id id, uint16_t status, uint64_t msg,
                                      const endpoint& dest, tick_t now, action_sink& out,
                                      std::string_view to_tag) {
    transaction* tp = get(id);
    if (tp == nullptr) {
        discard(msg, out);
        return txn_status::stale;
    }
    transaction& t = *tp;
    const uint32_t index = id.index;
    const auto refuse = [&] {
        discard(msg, out);
        return txn_status::bad_state;
    };
    if (status < 100 || status > 699) return refuse();

    if (t.kind == txn_kind::server_invite) {
        if (t.state == txn_state::accepted) {
            // RFC 6026 s7.1: the TU's 2xx retransmissions pass through Accepted.
            if (status < 200 || status >= 300) return refuse();
        } else if (t.state != txn_state::proceeding) {
            return refuse();
        }
        release(t, index, t.msg, out);
        t.msg = msg;
        t.peer = dest;
        t.status = status;
        if (t.rfc2543 && !to_tag.empty()) {
            t.resp_to_tag = tag_hash(to_tag);
            t.has_resp_to_tag = true;
        }
        send(t, index, msg, out);
        // Accepted absorbs retransmitted INVITEs silently and never re-sends the 2xx itself
        // (the TU does): holding it for timer L's 64*T1 would only pin a buffer.
        if (status >= 200 && status < 300) release(t, index, t.msg, out);
        if (status < 200 || t.state == txn_state::accepted) return txn_status::ok;
        if (status < 300) {
            t.state = txn_state::accepted;
            arm(t, index, true, _t64, now); // timer L
        } else {
            t.state = txn_state::completed;
            if (!t.reliable) {
                t.interval = static_cast<uint32_t>(_t1);
                arm(t, index, false, _t1, now); // timer G
            }
            arm(t, index, true, _t64, now); // timer H
        }
        return txn_status::ok;
    }

    if (t.kind != txn_kind::server_non_invite) return refuse();
    if (t.state != txn_state::trying && t.state != txn_state::proceeding) return refuse();
    release(t, index, t.msg, out);
    t.msg = msg;
    t.peer = dest;
    t.status = status;
    send(t, index, msg, out);
    if (status < 200) {
        t.state = txn_state::proceeding;
        return txn_status::ok;
    }
    t.state = txn_state::completed;
    if (t.reliable) {
        terminate(index, out); // timer J is zero on reliable transports
    } else {
        arm(t, index, true, _t64, now); // timer J
    }
    return txn_status::ok;
}

txn_status transaction_layer::on_transport_error(txn_id id, action_sink& out) {
    transaction* t = get(id);
    if (t == nullptr) return txn_status::stale;
    emit(*t, id.index, action_kind::transport_error, 503, out);
    terminate(id.index, out);
    return txn_status::ok;
}

size_t transaction_layer::advance(tick_t now, action_sink& out) {
    return _wheel.advance(
        now,
        [&](util::timer& tm) {
            // Re-arm relative to the scheduled time, not the (possibly late) call time, so that
            // retransmission times stay exact.
            on_timer(static_cast<uint32_t>(tm.data >> 1), (tm.data & 1) == main_timer, tm.expire,
                     out);
        },
        // Most expiries end their transaction: its table slot, cold by now, is what erasing it
        // waits on. Start loading the next one's while this one runs.
        [&](util::timer& tm) {
            _table.prefetch(_pool[static_cast<uint32_t>(tm.data >> 1)].key.lo);
        });
}

void transaction_layer::on_timer(uint32_t index, bool main, tick_t now, action_sink& out) noexcept {
    transaction& t = _pool[index];
    switch (t.kind) {
    case txn_kind::client_invite:
        if (!main) { // timer A: double without cap (s17.1.1.2)
            if (t.state != txn_state::calling) return;
            send(t, index, t.msg, out);
            t.interval *= 2;
            arm(t, index, false, t.interval, now);
            return;
        }
        if (t.state == txn_state::calling || t.state == txn_state::proceeding)
            emit(t, index, action_kind::timeout, 408, out); // B, C, or the end after a CANCEL
        terminate(index, out);                              // B, C, D or M
        return;
    case txn_kind::client_non_invite:
        if (!main) { // timer E
            if (t.state != txn_state::trying && t.state != txn_state::proceeding) return;
            send(t, index, t.msg, out);
            t.interval = t.state == txn_state::proceeding
                             ? static_cast<uint32_t>(_t2)
                             : static_cast<uint32_t>(std::min<uint64_t>(2 * t.interval, _t2));
            arm(t, index, false, t.interval, now);
            return;
        }
        if (t.state != txn_state::completed) emit(t, index, action_kind::timeout, 408, out); // F
        terminate(index, out); // F or K
        return;
    case txn_kind::server_invite:
        if (!main) { // timer G
            if (t.state != txn_state::completed) return;
            send(t, index, t.msg, out);
            t.interval = static_cast<uint32_t>(std::min<uint64_t>(2 * t.interval, _t2));
            arm(t, index, false, t.interval, now);
            return;
        }
        if (t.state == txn_state::completed) emit(t, index, action_kind::timeout, 0, out); // H
        terminate(index, out); // H, I or L
        return;
    case txn_kind::server_non_invite:
        terminate(index, out); // J
        return;
    }
}

} // namespace tandem::sip::txn
