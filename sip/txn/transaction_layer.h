#pragma once

#include "sip/txn/txn_config.h"
#include "sip/txn/txn_types.h"
#include "sip/util/ids.h"
#include "sip/util/open_table.h"
#include "sip/util/pool.h"
#include "sip/util/siphash.h"
#include "sip/util/timer_wheel.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tandem::sip::txn {

using util::tick_t;

/// The four RFC 3261 s17 state machines.
enum class txn_kind : uint8_t {
    client_invite,
    client_non_invite,
    server_invite,
    server_non_invite
};

/// States of RFC 3261 figures 5-8 with RFC 6026's Accepted state.
enum class txn_state : uint8_t {
    calling,    ///< client INVITE: request sent, nothing heard
    trying,     ///< client and server non-INVITE: no response yet
    proceeding, ///< a provisional response was received / the server transaction is open
    accepted,   ///< (RFC 6026) INVITE with a 2xx: client absorbs nothing, server waits timer L
    completed,  ///< a final (non-2xx for INVITE) response was received / sent
    confirmed,  ///< server INVITE: ACK received for the non-2xx final response
    terminated,
};

/// One transaction. Lives in the layer's pool; timers are embedded (no allocation per timer).
/// Matching keys are kept as a 128-bit keyed digest (SipHash-1-3-128 under the shard's secret
/// key) of the key fields, not as text: fixed size, one comparison, and a collision needs the
/// secret key (or ~2^64 work). A client transaction whose branch Tandem minted
/// (util::id_generator) is keyed by that branch's 100 PRF bits, shard and method instead: the
/// same uniqueness and unpredictability without hashing them again.
struct transaction {
    util::timer retx;          ///< timer A, E or G (retransmission)
    util::timer main;          ///< timer B, D, F, H, I, J, K, L or M
    util::digest128 key;       ///< match key digest
    uint64_t req_to_tag = 0;   ///< RFC 2543 server: hash of the request's To tag
    uint64_t resp_to_tag = 0;  ///< RFC 2543 INVITE server: hash of the response's To tag
    uint64_t msg = no_msg;     ///< client: the request; server: the last response
    uint64_t ack_msg = no_msg; ///< client INVITE: the ACK for a non-2xx final response
    uint64_t user = 0;
    endpoint peer;         ///< where requests (client) or responses (server) go
    uint32_t interval = 0; ///< current retransmission interval, ticks
    uint16_t status = 0;   ///< last response status received (client) or sent (server)
    txn_kind kind = txn_kind::client_invite;
    txn_state state = txn_state::terminated;
    method_id method = method_id::other;
    bool reliable = false;
    bool rfc2543 = false;
    bool has_resp_to_tag = false;
    bool cancelled = false; ///< client INVITE: the TU sent a CANCEL (cancelled())
};

/// What `on_request` did with an incoming request.
enum class request_disposition : uint8_t {
    new_transaction, ///< a server transaction was created: the TU handles the request (`txn`)
    retransmission,  ///< absorbed; the last response may have been re-sent
    ack_absorbed,    ///< ACK for a non-2xx final response, absorbed by its INVITE transaction
    ack_to_tu,       ///< ACK for a 2xx (no transaction, or one in Accepted): TU / dialog layer
    table_full,      ///< no room: answer 503 + Retry-After statelessly, count it
};

struct request_result {
    request_disposition disposition = request_disposition::table_full;
    txn_id txn;           ///< the new or matched transaction (invalid for a stray ACK)
    txn_id cancel_target; ///< CANCEL only: the INVITE server transaction it cancels, or
                          ///< invalid (the TU answers 481 to the CANCEL)
};

/// What `on_response` did with an incoming response.
enum class response_disposition : uint8_t {
    deliver,  ///< pass it to the TU (`txn`, `user`); if `need_ack`, build the ACK and call
              ///< `send_ack` (s17.1.1.3)
    absorbed, ///< retransmission or late response, swallowed (an ACK may have been re-sent)
    no_match, ///< no client transaction: a 2xx to INVITE goes to the TU/dialog (s17.1.1.2),
              ///< anything else is dropped
};

struct response_result {
    response_disposition disposition = response_disposition::no_match;
    txn_id txn;
    uint64_t user = 0;
    bool need_ack = false;
};

/// What the TU passes to start a client transaction.
struct client_request {
    method_id method = method_id::other;
    std::string_view method_name; ///< needed for `other`
    std::string_view branch;      ///< the top Via branch the TU put in (see util::id_generator)
    bool reliable = false;        ///< TCP/TLS: no retransmissions, zero-length D/K
};

struct start_result {
    txn_status status = txn_status::full;
    txn_id txn;
};

/// The RFC 3261 s17 transaction layer of one shard, with RFC 6026's Accepted state and the
/// RFC 2543 matching fallback. Pure: no I/O, no clock; the driver passes `now` in ticks
/// (`txn_config::tick_us`), calls `advance` to run timers, and executes the actions the
/// layer emits into its `action_sink`. Pools, table and timer wheel are allocated in the
/// constructor; no call allocates afterwards. One instance per shard, not thread-safe.
class transaction_layer {
public:
    /// `key`: the shard's secret hash key (util::random_hash_key()). `now`: the current tick.
    transaction_layer(const txn_config& cfg, const util::hash_key& key, tick_t now = 0);

    /// A branch this shard just minted (util::id_generator::make_branch), with its shard and
    /// `last_bits`: a client transaction started with it next is keyed without decoding it.
    void note_minted_branch(std::string_view branch, uint16_t shard,
                            const util::digest128& bits) noexcept {
        if (branch.size() > sizeof(_branch_memo.text)) return;
        std::memcpy(_branch_memo.text, branch.data(), branch.size());
        _branch_memo.len = static_cast<uint8_t>(branch.size());
        _branch_memo.shard = shard;
        _branch_memo.bits = bits;
        // The key's table index is these bits (client_key): start loading the slot that
        // start_client will fill, so that its cache miss overlaps building the request.
        _table.prefetch(bits.lo);
    }

    /// Incoming request from `source`, over a reliable (`reliable`) or datagram transport.
    /// Creates a server transaction for a new non-ACK request, absorbs retransmissions (re-
    /// sending the last response), absorbs ACKs for non-2xx final responses, and reports
    /// ACKs for 2xx to the TU. `source` is not stored (responses go where `respond` says).
    [[nodiscard]] request_result on_request(const request_key& req, bool reliable, tick_t now,
                                            action_sink& out) {
        return on_request(req, request_digest(req), reliable, now, out);
    }
    /// The same with the match key of `req` computed beforehand (`request_digest`).
    [[nodiscard]] request_result on_request(const request_key& req, const util::digest128& key,
                                            bool reliable, tick_t now, action_sink& out);
    /// The key `on_request` matches `req` by. Computed early, it lets the caller `prefetch` the
    /// table slot while it checks the rest of the message, then pass the key on.
    [[nodiscard]] util::digest128 request_digest(const request_key& req) const noexcept {
        return server_key(req, false);
    }

    /// True when `req` (not an ACK) would match a live server transaction, i.e. `on_request`
    /// would absorb it as a retransmission. Changes nothing; lets the TU refuse a new request
    /// statelessly, without spending a transaction on the refusal.
    [[nodiscard]] bool has_server_transaction(const request_key& req) const noexcept;

    /// Incoming response: matched to a client transaction by top Via branch and CSeq method.
    [[nodiscard]] response_result on_response(const response_key& resp, tick_t now,
                                              action_sink& out) {
        return on_response(resp, response_digest(resp), now, out);
    }
    /// The same with the match key of `resp` computed beforehand (`response_digest`).
    [[nodiscard]] response_result on_response(const response_key& resp, const util::digest128& key,
                                              tick_t now, action_sink& out);
    /// The key `on_response` matches `resp` by (see `request_digest`).
    [[nodiscard]] util::digest128 response_digest(const response_key& resp) const noexcept {
        return client_key(resp.cseq_method, resp.cseq_method_name, resp.branch);
    }
    /// Starts loading the table slot a match for `key` reads first (its cache miss is most of
    /// a lookup's cost in a table of this size). Changes nothing.
    void prefetch(const util::digest128& key) const noexcept { _table.prefetch(key.lo); }

    /// Starts a client transaction: sends `msg` (one reference taken) to `dest` now and
    /// retransmits it per timers A/E. `user` is echoed in every action and result for it.
    /// Every call that takes a message takes its reference even when it fails (a full table,
    /// a stale id, a wrong state): the message is then released at once, so a caller never
    /// releases a message it handed over.
    [[nodiscard]] start_result start_client(const client_request& req, uint64_t msg,
                                            const endpoint& dest, uint64_t user, tick_t now,
                                            action_sink& out);

    /// Server transaction still waiting for its final response, which the TU cannot give (no
    /// buffer to build it in): it keeps absorbing retransmissions of the request and ends
    /// 64*T1 from now, when the client has given up too, instead of never.
    [[nodiscard]] txn_status abandon(txn_id id, tick_t now) noexcept;

    /// Client INVITE: the TU has sent a CANCEL for it. Without a final response within 64*T1
    /// from now (RFC 3261 s9.1) the transaction times out (408 to the TU) and ends; provisional
    /// responses no longer restart timer C.
    [[nodiscard]] txn_status cancelled(txn_id id, tick_t now) noexcept;

    /// Client INVITE after a non-2xx final (`need_ack`): sends the ACK the TU built (one
    /// reference taken) and keeps it to answer retransmitted final responses. Until then the
    /// transaction still holds its INVITE (`transaction::msg`), whose Request-URI the ACK must
    /// repeat; this releases it.
    [[nodiscard]] txn_status send_ack(txn_id id, uint64_t msg, tick_t now, action_sink& out);

    /// The TU responds on a server transaction: sends `msg` (one reference taken) to `dest`.
    /// `to_tag` (the To tag of this response) is needed only to match RFC 2543 ACKs.
    [[nodiscard]] txn_status respond(txn_id id, uint16_t status, uint64_t msg, const endpoint& dest,
                                     tick_t now, action_sink& out, std::string_view to_tag = {});

    /// The driver failed to send a message of this transaction: informs the TU
    /// (`transport_error`) and terminates it (s17.1.4, s17.2.4).
    [[nodiscard]] txn_status on_transport_error(txn_id id, action_sink& out);

    /// Attaches the TU's cookie to a (server) transaction.
    [[nodiscard]] txn_status set_user(txn_id id, uint64_t user) noexcept;

    /// Runs every timer due at or before `now`. Returns how many fired.
    size_t advance(tick_t now, action_sink& out);
    /// No timer fires before this tick (`util::no_timer` when none is armed).
    [[nodiscard]] tick_t next_due() const noexcept { return _wheel.next_due(); }

    /// The live transaction behind `id`, or nullptr if stale.
    [[nodiscard]] const transaction* find(txn_id id) const noexcept;

    [[nodiscard]] size_t size() const noexcept { return _pool.size(); }
    [[nodiscard]] size_t capacity() const noexcept { return _pool.capacity(); }
    /// Requests refused because the table was full (for the 503 counter).
    [[nodiscard]] uint64_t full_count() const noexcept { return _full_count; }
    /// Bytes the layer owns (pool + table + wheel), for sizing.
    [[nodiscard]] size_t memory_bytes() const noexcept {
        return sizeof(*this) + _pool.memory_bytes() + _table.memory_bytes();
    }
    [[nodiscard]] const txn_config& config() const noexcept { return _cfg; }

private:
    enum : uint64_t { retx_timer = 0, main_timer = 1 };

    transaction* get(txn_id id) noexcept;
    txn_id id_of(uint32_t index) const noexcept { return {index, _pool.generation(index)}; }
    util::digest128 server_key(const request_key& req, bool for_cancel) const noexcept;
    util::digest128 client_key(method_id m, std::string_view name,
                               std::string_view branch) const noexcept;
    uint64_t tag_hash(std::string_view tag) const noexcept;
    uint32_t lookup(const util::digest128& key) const noexcept;
    void arm(transaction& t, uint32_t index, bool main, uint64_t ticks, tick_t now) noexcept;
    void send(const transaction& t, uint32_t index, uint64_t msg, action_sink& out) const noexcept;
    void release(transaction& t, uint32_t index, uint64_t& msg, action_sink& out) const noexcept;
    /// A message handed in with a call that failed: its reference released all the same.
    void discard(uint64_t msg, action_sink& out) const noexcept;
    void emit(const transaction& t, uint32_t index, action_kind k, uint16_t status,
              action_sink& out) const noexcept;
    void terminate(uint32_t index, action_sink& out) noexcept;
    void on_timer(uint32_t index, bool main, tick_t now, action_sink& out) noexcept;

    txn_config _cfg;
    util::hash_key _key;
    uint64_t _t1, _t2, _t4, _td, _t64, _tc;
    util::pool<transaction> _pool;
    util::open_table _table;
    util::timer_wheel _wheel;
    uint64_t _full_count = 0;
    // The last branch client_key decoded as Tandem's own, or noted as minted (len 0: none).
    struct branch_memo {
        util::digest128 bits;
        uint16_t shard = 0;
        uint8_t len = 0;
        char text[util::id_generator::max_branch];
    };
    mutable branch_memo _branch_memo;
};

} // namespace tandem::sip::txn
