// RFC 3261 s17 transaction layer (figures 5-8) with RFC 6026's Accepted state, driven by a
// virtual clock: every test steps time one tick (1 ms) at a time and records when each action
// came out.
#include "sip/message.h"
#include "sip/txn/ack_2xx.h"
#include "sip/txn/message_keys.h"
#include "sip/txn/transaction_layer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace tandem::sip;
using namespace tandem::sip::txn;

namespace {

const util::hash_key key{0x1111, 0x2222};

struct rec_action {
    action a;
    tick_t at;
};

struct recorder final : action_sink {
    std::vector<rec_action> log;
    tick_t now = 0;
    void emit(const action& a) noexcept override { log.push_back({a, now}); }
    std::vector<tick_t> times(action_kind k, uint64_t msg = no_msg) const {
        std::vector<tick_t> v;
        for (const auto& r : log)
            if (r.a.kind == k && (msg == no_msg || r.a.msg == msg)) v.push_back(r.at);
        return v;
    }
    size_t count(action_kind k) const { return times(k).size(); }
    void clear() { log.clear(); }
};

txn_config cfg(uint32_t max = 64) {
    txn_config c;
    c.t1_ms = 500;
    c.t2_ms = 4000;
    c.t4_ms = 5000;
    c.max_transactions = max;
    c.tick_us = 1000;
    return c;
}

const endpoint peer = endpoint::v4(0x0100007f, 5060);

// Steps the virtual clock from rec.now+1 to `to`, one tick at a time.
void run_to(transaction_layer& l, recorder& rec, tick_t to) {
    for (tick_t t = rec.now + 1; t <= to; ++t) {
        rec.now = t;
        l.advance(t, rec);
    }
}
void run_to(uas_2xx_retransmitter& l, recorder& rec, tick_t to) {
    for (tick_t t = rec.now + 1; t <= to; ++t) {
        rec.now = t;
        l.advance(t, rec);
    }
}

request_key req(method_id m, std::string_view branch = "z9hG4bK-abc",
                std::string_view sent_by = "10.0.0.1") {
    request_key k;
    k.method = m;
    k.method_name = method_name(m);
    k.branch = branch;
    k.sent_by_host = sent_by;
    k.sent_by_port = 5060;
    k.request_uri = "sip:bob@example.com";
    k.call_id = "cid-1";
    k.from_tag = "ftag";
    k.cseq = 1;
    k.top_via = "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-abc";
    return k;
}

response_key resp(uint16_t status, method_id m, std::string_view branch = "z9hG4bK-c1") {
    response_key k;
    k.status = status;
    k.branch = branch;
    k.cseq_method = m;
    k.cseq_method_name = method_name(m);
    return k;
}

client_request creq(method_id m, bool reliable = false, std::string_view branch = "z9hG4bK-c1") {
    client_request c;
    c.method = m;
    c.method_name = method_name(m);
    c.branch = branch;
    c.reliable = reliable;
    return c;
}

using ticks = std::vector<tick_t>;

} // namespace

// ---- Client INVITE (figure 5, RFC 6026 figure 3) ---------------------------------------------

TEST(SipTxnClientInvite, TimerADoublesUntilTimerBReports408) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto s = l.start_client(creq(method_id::invite), 7, peer, 42, 0, rec);
    ASSERT_EQ(s.status, txn_status::ok);
    run_to(l, rec, 40000);
    // Timer A: T1, 2T1, 4T1, ... with no cap; B = 64*T1.
    EXPECT_EQ(rec.times(action_kind::send, 7), (ticks{0, 500, 1500, 3500, 7500, 15500, 31500}));
    EXPECT_EQ(rec.times(action_kind::timeout), ticks{32000});
    EXPECT_EQ(rec.times(action_kind::release, 7), ticks{32000});
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{32000});
    for (const auto& r : rec.log) {
        if (r.a.kind == action_kind::timeout) {
            EXPECT_EQ(r.a.status, 408);
            EXPECT_EQ(r.a.user, 42u);
        }
        if (r.a.kind == action_kind::send) {
            EXPECT_EQ(r.a.dest, peer);
        }
    }
    EXPECT_EQ(l.find(s.txn), nullptr);
    EXPECT_EQ(l.size(), 0u);
}

TEST(SipTxnClientInvite, ProvisionalStopsTimersAThenBThen2xxAcceptedAndTimerM) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto s = l.start_client(creq(method_id::invite), 7, peer, 0, 0, rec);
    run_to(l, rec, 600);
    auto r = l.on_response(resp(180, method_id::invite), 600, rec);
    EXPECT_EQ(r.disposition, response_disposition::deliver);
    EXPECT_EQ(r.txn, s.txn);
    EXPECT_EQ(l.find(s.txn)->state, txn_state::proceeding);
    r = l.on_response(resp(183, method_id::invite), 700, rec); // more 1xx: delivered too
    EXPECT_EQ(r.disposition, response_disposition::deliver);
    run_to(l, rec, 100000); // no retransmission, no timer B in Proceeding
    EXPECT_EQ(rec.times(action_kind::send), (ticks{0, 500}));
    EXPECT_EQ(rec.count(action_kind::timeout), 0u);
    r = l.on_response(resp(200, method_id::invite), 100000, rec);
    EXPECT_EQ(r.disposition, response_disposition::deliver);
    EXPECT_FALSE(r.need_ack); // the TU ACKs a 2xx
    EXPECT_EQ(l.find(s.txn)->state, txn_state::accepted);
    EXPECT_EQ(rec.times(action_kind::release, 7), ticks{100000}); // request no longer needed
    // RFC 6026: 2xx retransmissions in Accepted go to the TU; other responses are absorbed.
    r = l.on_response(resp(200, method_id::invite), 101000, rec);
    EXPECT_EQ(r.disposition, response_disposition::deliver);
    r = l.on_response(resp(486, method_id::invite), 101001, rec);
    EXPECT_EQ(r.disposition, response_disposition::absorbed);
    run_to(l, rec, 140000);
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{100000 + 32000}); // timer M
}

TEST(SipTxnClientInvite, Non2xxCompletedAcksInsideAndAbsorbsRetransmissionsUntilTimerD) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto s = l.start_client(creq(method_id::invite), 7, peer, 0, 0, rec);
    run_to(l, rec, 1000);
    auto r = l.on_response(resp(486, method_id::invite), 1000, rec);
    EXPECT_EQ(r.disposition, response_disposition::deliver);
    EXPECT_TRUE(r.need_ack);
    EXPECT_EQ(l.find(s.txn)->state, txn_state::completed);
    ASSERT_EQ(l.send_ack(s.txn, 8, 1000, rec), txn_status::ok);
    EXPECT_EQ(rec.times(action_kind::send, 8), ticks{1000});
    rec.now = 1200;
    r = l.on_response(resp(486, method_id::invite), 1200, rec);
    EXPECT_EQ(r.disposition, response_disposition::absorbed);        // not passed up again
    EXPECT_EQ(rec.times(action_kind::send, 8), (ticks{1000, 1200})); // ACK re-sent
    run_to(l, rec, 40000);
    EXPECT_EQ(rec.times(action_kind::send, 7), (ticks{0, 500}));        // A stopped at the 486
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{1000 + 32000}); // timer D = 32 s
    EXPECT_EQ(rec.times(action_kind::release, 8), ticks{33000});
    EXPECT_EQ(rec.count(action_kind::timeout), 0u);
}

// Timer C (RFC 3261 s16.6 step 11): after a provisional, a final response is due within
// timer C of the last provisional; a callee that rings and goes silent times out like timer B.
TEST(SipTxnClientInvite, TimerCAfterTheLastProvisionalTimesOut) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto s = l.start_client(creq(method_id::invite), 7, peer, 0, 0, rec);
    ASSERT_EQ(s.status, txn_status::ok);
    rec.now = 1000;
    (void)l.on_response(resp(180, method_id::invite), 1000, rec);
    run_to(l, rec, 50000);
    rec.now = 50000;
    (void)l.on_response(resp(183, method_id::invite), 50000, rec); // restarts timer C
    run_to(l, rec, 50000 + 181000 + 10);
    EXPECT_EQ(rec.times(action_kind::timeout), ticks{50000 + 181000});
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{50000 + 181000});
    EXPECT_EQ(rec.times(action_kind::release, 7), ticks{50000 + 181000});
}

// RFC 3261 s9.1: an INVITE the TU has CANCELled ends 64*T1 after the CANCEL without a final
// response; provisionals no longer restart timer C.
TEST(SipTxnClientInvite, CancelledInviteEndsSixtyFourT1AfterTheCancel) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto s = l.start_client(creq(method_id::invite), 7, peer, 0, 0, rec);
    rec.now = 1000;
    (void)l.on_response(resp(180, method_id::invite), 1000, rec);
    EXPECT_EQ(l.cancelled(s.txn, 2000), txn_status::ok);
    rec.now = 10000;
    (void)l.on_response(resp(180, method_id::invite), 10000, rec);
    run_to(l, rec, 40000);
    EXPECT_EQ(rec.times(action_kind::timeout), ticks{2000 + 32000});
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{2000 + 32000});
    // Only a client INVITE still waiting for its final response can be cancelled.
    EXPECT_EQ(l.cancelled(s.txn, 40000), txn_status::stale);
    auto bye = l.start_client(creq(method_id::bye), 8, peer, 0, 40000, rec);
    EXPECT_EQ(l.cancelled(bye.txn, 40000), txn_status::bad_state);
}

TEST(SipTxnClientInvite, ReliableTransportNoRetransmissionsAndTimerDZero) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto s = l.start_client(creq(method_id::invite, true), 7, peer, 0, 0, rec);
    run_to(l, rec, 5000);
    EXPECT_EQ(rec.times(action_kind::send), ticks{0});
    auto r = l.on_response(resp(503, method_id::invite), 5000, rec);
    ASSERT_TRUE(r.need_ack);
    ASSERT_EQ(l.send_ack(s.txn, 8, 5000, rec), txn_status::ok);
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{5000});
    EXPECT_EQ(l.size(), 0u);
}

TEST(SipTxnClientInvite, ReliableTimerBStillTimesOut) {
    transaction_layer l(cfg(), key);
    recorder rec;
    (void)l.start_client(creq(method_id::invite, true), 7, peer, 0, 0, rec);
    run_to(l, rec, 33000);
    EXPECT_EQ(rec.times(action_kind::timeout), ticks{32000});
}

TEST(SipTxnClientInvite, TransportErrorInCallingInformsTu) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto s = l.start_client(creq(method_id::invite), 7, peer, 9, 0, rec);
    ASSERT_EQ(l.on_transport_error(s.txn, rec), txn_status::ok);
    ASSERT_EQ(rec.count(action_kind::transport_error), 1u);
    EXPECT_EQ(rec.log[1].a.user, 9u);
    EXPECT_EQ(rec.count(action_kind::terminated), 1u);
    EXPECT_EQ(l.on_transport_error(s.txn, rec), txn_status::stale);
    run_to(l, rec, 40000);
    EXPECT_EQ(rec.count(action_kind::send), 1u); // nothing after the error
}

TEST(SipTxnClientInvite, MatchingUsesBranchAndCSeqMethod) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto inv = l.start_client(creq(method_id::invite), 7, peer, 0, 0, rec);
    // A CANCEL for it shares the branch but is its own transaction (s9.1).
    auto can = l.start_client(creq(method_id::cancel), 9, peer, 0, 0, rec);
    ASSERT_EQ(can.status, txn_status::ok);
    auto r = l.on_response(resp(200, method_id::cancel), 10, rec);
    EXPECT_EQ(r.txn, can.txn);
    r = l.on_response(resp(487, method_id::invite), 11, rec);
    EXPECT_EQ(r.txn, inv.txn);
    EXPECT_TRUE(r.need_ack);
    r = l.on_response(resp(200, method_id::invite, "z9hG4bK-other"), 12, rec);
    EXPECT_EQ(r.disposition, response_disposition::no_match);
    EXPECT_EQ(l.send_ack(can.txn, 1, 12, rec), txn_status::bad_state);
}

TEST(SipTxnClientInvite, TandemBranchesMatchByTheirExactBytes) {
    // Branches in id_generator's format are keyed by their PRF bits: still one transaction per
    // (branch, method), and a response matches only the exact branch bytes.
    transaction_layer l(cfg(), key);
    recorder rec;
    const std::string_view br = "z9hG4bK-tnd3-0123456789abcdefghij";
    auto inv = l.start_client(creq(method_id::invite, false, br), 7, peer, 0, 0, rec);
    auto can = l.start_client(creq(method_id::cancel, false, br), 9, peer, 0, 0, rec);
    auto bye = l.start_client(creq(method_id::bye, false, "z9hG4bK-tnd3-0123456789abcdefghik"), 11,
                              peer, 0, 0, rec);
    ASSERT_EQ(inv.status, txn_status::ok);
    ASSERT_EQ(can.status, txn_status::ok);
    ASSERT_EQ(bye.status, txn_status::ok);
    EXPECT_EQ(l.on_response(resp(180, method_id::invite, br), 1, rec).txn, inv.txn);
    EXPECT_EQ(l.on_response(resp(200, method_id::cancel, br), 1, rec).txn, can.txn);
    for (std::string_view other : {
             "z9hG4bK-tnd3-0123456789abcdefghik", // the BYE's branch, INVITE method
             "z9hG4bK-tnd03-0123456789abcdefghij",
             "z9hG4bK-tnd4-0123456789abcdefghij",
             "z9hG4bK-tnd3-0123456789Abcdefghij",
             "z9hG4bK-tnd3-0123456789abcdefghij0",
         }) {
        EXPECT_EQ(l.on_response(resp(180, method_id::invite, other), 2, rec).disposition,
                  response_disposition::no_match)
            << other;
    }
    EXPECT_EQ(
        l.on_response(resp(200, method_id::bye, "z9hG4bK-tnd3-0123456789abcdefghik"), 3, rec).txn,
        bye.txn);
    // An extension method is keyed by its name (hashed), under a Tandem branch as well.
    client_request x = creq(method_id::other, false, br);
    x.method_name = "FOO";
    auto foo = l.start_client(x, 13, peer, 0, 0, rec);
    ASSERT_EQ(foo.status, txn_status::ok);
    response_key rk = resp(200, method_id::other, br);
    rk.cseq_method_name = "FOO";
    EXPECT_EQ(l.on_response(rk, 4, rec).txn, foo.txn);
    rk.cseq_method_name = "BAR";
    EXPECT_EQ(l.on_response(rk, 4, rec).disposition, response_disposition::no_match);
}

TEST(SipTxnClientInvite, TwoHundredInCallingGoesStraightToAccepted) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto s = l.start_client(creq(method_id::invite), 7, peer, 0, 0, rec);
    run_to(l, rec, 700);
    auto r = l.on_response(resp(200, method_id::invite), 700, rec);
    EXPECT_EQ(r.disposition, response_disposition::deliver);
    EXPECT_EQ(l.find(s.txn)->state, txn_state::accepted);
    run_to(l, rec, 40000);
    EXPECT_EQ(rec.times(action_kind::send, 7), (ticks{0, 500})); // A stopped, no B
    EXPECT_EQ(rec.count(action_kind::timeout), 0u);
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{700 + 32000}); // M
}

// ---- Client non-INVITE (figure 6) ---------------------------------------------------------------

TEST(SipTxnClientNonInvite, TimerEDoublesToT2UntilTimerF408) {
    transaction_layer l(cfg(), key);
    recorder rec;
    (void)l.start_client(creq(method_id::options), 7, peer, 0, 0, rec);
    run_to(l, rec, 40000);
    EXPECT_EQ(rec.times(action_kind::send, 7),
              (ticks{0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
    EXPECT_EQ(rec.times(action_kind::timeout), ticks{32000});
    EXPECT_EQ(rec.log[rec.log.size() - 3].a.status, 408);
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{32000});
}

TEST(SipTxnClientNonInvite, ProceedingRetransmitsAtT2) {
    transaction_layer l(cfg(), key);
    recorder rec;
    (void)l.start_client(creq(method_id::bye), 7, peer, 0, 0, rec);
    run_to(l, rec, 600);
    EXPECT_EQ(l.on_response(resp(100, method_id::bye), 600, rec).disposition,
              response_disposition::deliver);
    run_to(l, rec, 40000);
    // E was due at 1500 (armed at 500 with 2*T1); from then on, T2 apart (s17.1.2.2).
    EXPECT_EQ(rec.times(action_kind::send, 7),
              (ticks{0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500}));
    EXPECT_EQ(rec.times(action_kind::timeout), ticks{32000}); // F fires in Proceeding too
}

TEST(SipTxnClientNonInvite, FinalCompletesAbsorbsRetransmissionsUntilTimerK) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto s = l.start_client(creq(method_id::register_), 7, peer, 0, 0, rec);
    run_to(l, rec, 2000);
    auto r = l.on_response(resp(200, method_id::register_), 2000, rec);
    EXPECT_EQ(r.disposition, response_disposition::deliver);
    EXPECT_EQ(l.find(s.txn)->state, txn_state::completed);
    r = l.on_response(resp(200, method_id::register_), 2100, rec);
    EXPECT_EQ(r.disposition, response_disposition::absorbed);
    run_to(l, rec, 20000);
    EXPECT_EQ(rec.times(action_kind::send, 7), (ticks{0, 500, 1500}));
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{2000 + 5000}); // K = T4
    EXPECT_EQ(rec.count(action_kind::timeout), 0u);
}

TEST(SipTxnClientNonInvite, ReliableFinalTerminatesAtOnce) {
    transaction_layer l(cfg(), key);
    recorder rec;
    (void)l.start_client(creq(method_id::bye, true), 7, peer, 0, 0, rec);
    (void)l.on_response(resp(200, method_id::bye), 50, rec);
    EXPECT_EQ(rec.count(action_kind::terminated), 1u);
    EXPECT_EQ(l.size(), 0u);
}

TEST(SipTxnClientNonInvite, TransportErrorInformsTuAndStopsTimers) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto s = l.start_client(creq(method_id::options), 7, peer, 4, 0, rec);
    run_to(l, rec, 600);
    ASSERT_EQ(l.on_transport_error(s.txn, rec), txn_status::ok);
    run_to(l, rec, 40000);
    EXPECT_EQ(rec.times(action_kind::send, 7), (ticks{0, 500}));
    EXPECT_EQ(rec.times(action_kind::transport_error), ticks{600});
    EXPECT_EQ(rec.count(action_kind::timeout), 0u); // no F after the error
    EXPECT_EQ(rec.times(action_kind::release, 7), ticks{600});
}

TEST(SipTxnClientNonInvite, AckHasNoClientTransaction) {
    transaction_layer l(cfg(), key);
    recorder rec;
    EXPECT_EQ(l.start_client(creq(method_id::ack), 7, peer, 0, 0, rec).status,
              txn_status::bad_state);
    // Nothing sent; the message handed over is released, as by every call that fails.
    ASSERT_EQ(rec.log.size(), 1u);
    EXPECT_EQ(rec.log[0].a.kind, action_kind::release);
    EXPECT_EQ(rec.log[0].a.msg, 7u);
}

// A server transaction whose final response the TU cannot build (no buffer) is abandoned: it
// still absorbs the request's retransmissions, then ends 64*T1 later instead of never.
TEST(SipTxnServer, AbandonedTransactionAbsorbsRetransmissionsThenEnds) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto inv = l.on_request(req(method_id::invite, "z9hG4bK-i"), false, 0, rec);
    ASSERT_EQ(inv.disposition, request_disposition::new_transaction);
    ASSERT_EQ(l.respond(inv.txn, 100, 5, peer, 0, rec), txn_status::ok);
    auto bye = l.on_request(req(method_id::bye, "z9hG4bK-b"), false, 0, rec);
    ASSERT_EQ(bye.disposition, request_disposition::new_transaction);
    rec.now = 1000;
    EXPECT_EQ(l.abandon(inv.txn, 1000), txn_status::ok);
    EXPECT_EQ(l.abandon(bye.txn, 1000), txn_status::ok);
    EXPECT_EQ(l.on_request(req(method_id::invite, "z9hG4bK-i"), false, 2000, rec).disposition,
              request_disposition::retransmission);
    EXPECT_EQ(l.on_request(req(method_id::bye, "z9hG4bK-b"), false, 2000, rec).disposition,
              request_disposition::retransmission);
    run_to(l, rec, 1000 + 32000 + 5);
    EXPECT_EQ(rec.times(action_kind::terminated), (ticks{1000 + 32000, 1000 + 32000}));
    EXPECT_EQ(rec.count(action_kind::timeout), 0u);
    EXPECT_EQ(l.find(inv.txn), nullptr);
    // Only a server transaction still owing its final response can be abandoned.
    auto opt = l.on_request(req(method_id::options, "z9hG4bK-o"), false, 40000, rec);
    ASSERT_EQ(l.respond(opt.txn, 200, 6, peer, 40000, rec), txn_status::ok);
    EXPECT_EQ(l.abandon(opt.txn, 40000), txn_status::bad_state);
    auto cli = l.start_client(creq(method_id::invite), 7, peer, 0, 40000, rec);
    EXPECT_EQ(l.abandon(cli.txn, 40000), txn_status::bad_state);
}

// A call that takes a message takes its reference even when it fails: the caller never
// releases what it handed over (the engine leaked a BYE's buffer on a full table before).
TEST(SipTxnOwnership, FailedCallsReleaseTheMessageTheyWereGiven) {
    transaction_layer l(cfg(1), key);
    recorder rec;
    ASSERT_EQ(l.start_client(creq(method_id::invite), 7, peer, 0, 0, rec).status, txn_status::ok);
    rec.clear();
    EXPECT_EQ(l.start_client(creq(method_id::bye), 8, peer, 0, 0, rec).status, txn_status::full);
    EXPECT_EQ(rec.times(action_kind::release, 8).size(), 1u);
    EXPECT_EQ(rec.count(action_kind::send), 0u);
    // A stale id, and a response the transaction's state refuses.
    EXPECT_EQ(l.respond(txn_id{}, 200, 9, peer, 0, rec), txn_status::stale);
    EXPECT_EQ(rec.times(action_kind::release, 9).size(), 1u);
    auto srv = l.on_request(req(method_id::invite, "z9hG4bK-s"), false, 0, rec);
    ASSERT_EQ(srv.disposition, request_disposition::table_full); // one slot, the INVITE holds it
    transaction_layer l2(cfg(), key);
    auto s2 = l2.on_request(req(method_id::options, "z9hG4bK-o"), false, 0, rec);
    ASSERT_EQ(s2.disposition, request_disposition::new_transaction);
    ASSERT_EQ(l2.respond(s2.txn, 200, 10, peer, 0, rec), txn_status::ok);
    EXPECT_EQ(l2.respond(s2.txn, 200, 11, peer, 0, rec), txn_status::bad_state); // completed
    EXPECT_EQ(rec.times(action_kind::release, 11).size(), 1u);
    EXPECT_EQ(rec.times(action_kind::send, 11).size(), 0u);
    // send_ack on a transaction that is not a completed client INVITE.
    EXPECT_EQ(l2.send_ack(s2.txn, 12, 0, rec), txn_status::bad_state);
    EXPECT_EQ(rec.times(action_kind::release, 12).size(), 1u);
}

// The ACK for a non-2xx final repeats the INVITE's Request-URI (s17.1.1.3): the transaction
// keeps its INVITE until the TU's send_ack, then releases it.
TEST(SipTxnClientInvite, KeepsTheInviteUntilTheAckForANon2xxFinal) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto s = l.start_client(creq(method_id::invite), 7, peer, 0, 0, rec);
    ASSERT_EQ(s.status, txn_status::ok);
    rec.now = 100;
    auto r = l.on_response(resp(486, method_id::invite), 100, rec);
    ASSERT_TRUE(r.need_ack);
    EXPECT_EQ(rec.times(action_kind::release, 7).size(), 0u);
    ASSERT_NE(l.find(s.txn), nullptr);
    EXPECT_EQ(l.find(s.txn)->msg, 7u);
    ASSERT_EQ(l.send_ack(s.txn, 8, 100, rec), txn_status::ok);
    EXPECT_EQ(rec.times(action_kind::release, 7), ticks{100});
    EXPECT_EQ(rec.times(action_kind::send, 8), ticks{100});
}

// ---- Server INVITE (figure 7, RFC 6026 figure 5)
// -------------------------------------------------

TEST(SipTxnServerInvite, RetransmissionsReSendLastProvisional) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto r = l.on_request(req(method_id::invite), false, 0, rec);
    ASSERT_EQ(r.disposition, request_disposition::new_transaction);
    EXPECT_EQ(l.find(r.txn)->state, txn_state::proceeding);
    // Before any response: absorbed, nothing to re-send.
    EXPECT_EQ(l.on_request(req(method_id::invite), false, 100, rec).disposition,
              request_disposition::retransmission);
    EXPECT_TRUE(rec.log.empty());
    ASSERT_EQ(l.respond(r.txn, 100, 11, peer, 100, rec), txn_status::ok);
    ASSERT_EQ(l.respond(r.txn, 180, 12, peer, 150, rec), txn_status::ok);
    EXPECT_EQ(rec.times(action_kind::release, 11).size(), 1u); // 100 replaced by 180
    rec.now = 600;
    EXPECT_EQ(l.on_request(req(method_id::invite), false, 600, rec).disposition,
              request_disposition::retransmission);
    EXPECT_EQ(rec.times(action_kind::send, 12), (ticks{0, 600}));
}

TEST(SipTxnServerInvite, Non2xxRetransmittedByTimerGUntilTimerH) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto r = l.on_request(req(method_id::invite), false, 0, rec);
    ASSERT_EQ(l.respond(r.txn, 486, 11, peer, 0, rec), txn_status::ok);
    EXPECT_EQ(l.find(r.txn)->state, txn_state::completed);
    run_to(l, rec, 40000);
    EXPECT_EQ(rec.times(action_kind::send, 11),
              (ticks{0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
    EXPECT_EQ(rec.times(action_kind::timeout), ticks{32000}); // H: ACK never came
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{32000});
    EXPECT_EQ(rec.times(action_kind::release, 11), ticks{32000});
}

TEST(SipTxnServerInvite, AckConfirmsStopsGAndTimerITerminates) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto r = l.on_request(req(method_id::invite), false, 0, rec);
    ASSERT_EQ(l.respond(r.txn, 404, 11, peer, 0, rec), txn_status::ok);
    run_to(l, rec, 1000);
    // Retransmitted INVITE in Completed: the final response is re-sent.
    EXPECT_EQ(l.on_request(req(method_id::invite), false, 1000, rec).disposition,
              request_disposition::retransmission);
    const auto a = l.on_request(req(method_id::ack), false, 1000, rec);
    EXPECT_EQ(a.disposition, request_disposition::ack_absorbed);
    EXPECT_EQ(a.txn, r.txn);
    EXPECT_EQ(l.find(r.txn)->state, txn_state::confirmed);
    // Confirmed absorbs ACKs and INVITEs without sending.
    EXPECT_EQ(l.on_request(req(method_id::ack), false, 1100, rec).disposition,
              request_disposition::ack_absorbed);
    EXPECT_EQ(l.on_request(req(method_id::invite), false, 1100, rec).disposition,
              request_disposition::retransmission);
    run_to(l, rec, 20000);
    EXPECT_EQ(rec.times(action_kind::send, 11), (ticks{0, 500, 1000}));
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{1000 + 5000}); // I = T4
    EXPECT_EQ(rec.count(action_kind::timeout), 0u);
}

TEST(SipTxnServerInvite, ReliableAckTerminatesAtOnce) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto r = l.on_request(req(method_id::invite), true, 0, rec);
    ASSERT_EQ(l.respond(r.txn, 486, 11, peer, 0, rec), txn_status::ok);
    run_to(l, rec, 3000);
    EXPECT_EQ(rec.times(action_kind::send, 11), ticks{0}); // no timer G on reliable
    (void)l.on_request(req(method_id::ack), true, 3000, rec);
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{3000});
}

TEST(SipTxnServerInvite, TwoHundredGoesToAcceptedUntilTimerL) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto r = l.on_request(req(method_id::invite), false, 0, rec);
    ASSERT_EQ(l.respond(r.txn, 200, 11, peer, 0, rec), txn_status::ok);
    EXPECT_EQ(l.find(r.txn)->state, txn_state::accepted);
    rec.now = 100;
    // RFC 6026: retransmitted INVITEs are absorbed, not answered by the transaction.
    EXPECT_EQ(l.on_request(req(method_id::invite), false, 100, rec).disposition,
              request_disposition::retransmission);
    // The TU's own 2xx retransmissions pass through; a non-2xx is refused.
    ASSERT_EQ(l.respond(r.txn, 200, 12, peer, 500, rec), txn_status::ok);
    EXPECT_EQ(l.respond(r.txn, 486, 13, peer, 500, rec), txn_status::bad_state);
    EXPECT_EQ(l.respond(r.txn, 180, 13, peer, 500, rec), txn_status::bad_state);
    // An ACK (for the 2xx) with the INVITE's branch goes to the TU.
    const auto a = l.on_request(req(method_id::ack), false, 600, rec);
    EXPECT_EQ(a.disposition, request_disposition::ack_to_tu);
    // An ACK with a fresh branch matches nothing: also the TU's.
    EXPECT_EQ(l.on_request(req(method_id::ack, "z9hG4bK-ack2"), false, 600, rec).disposition,
              request_disposition::ack_to_tu);
    run_to(l, rec, 40000);
    EXPECT_EQ(rec.times(action_kind::send, 11), ticks{0});
    EXPECT_EQ(rec.times(action_kind::send, 12), ticks{100}); // only the TU's retransmission
    EXPECT_EQ(rec.times(action_kind::send).size(), 2u);
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{32000}); // timer L from the first 2xx
}

TEST(SipTxnServerInvite, ResponsesAfterFinalAreRefused) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto r = l.on_request(req(method_id::invite), false, 0, rec);
    ASSERT_EQ(l.respond(r.txn, 480, 11, peer, 0, rec), txn_status::ok);
    EXPECT_EQ(l.respond(r.txn, 180, 12, peer, 0, rec), txn_status::bad_state);
    EXPECT_EQ(l.respond(r.txn, 200, 12, peer, 0, rec), txn_status::bad_state);
    EXPECT_EQ(l.respond(r.txn, 99, 12, peer, 0, rec), txn_status::bad_state);
}

TEST(SipTxnServerInvite, TransportErrorInformsTu) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto r = l.on_request(req(method_id::invite), false, 0, rec);
    ASSERT_EQ(l.respond(r.txn, 486, 11, peer, 0, rec), txn_status::ok);
    ASSERT_EQ(l.on_transport_error(r.txn, rec), txn_status::ok);
    EXPECT_EQ(rec.count(action_kind::transport_error), 1u);
    EXPECT_EQ(rec.count(action_kind::terminated), 1u);
    run_to(l, rec, 40000);
    EXPECT_EQ(rec.count(action_kind::send), 1u);
    EXPECT_EQ(l.respond(r.txn, 486, 12, peer, 0, rec), txn_status::stale);
}

// ---- Server non-INVITE (figure 8) ---------------------------------------------------------------

TEST(SipTxnServerNonInvite, TryingProceedingCompletedAndTimerJ) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto r = l.on_request(req(method_id::bye), false, 0, rec);
    ASSERT_EQ(r.disposition, request_disposition::new_transaction);
    EXPECT_EQ(l.find(r.txn)->state, txn_state::trying);
    rec.now = 10;
    EXPECT_EQ(l.on_request(req(method_id::bye), false, 10, rec).disposition,
              request_disposition::retransmission);
    EXPECT_TRUE(rec.log.empty()); // Trying: absorbed silently
    rec.now = 20;
    ASSERT_EQ(l.respond(r.txn, 100, 11, peer, 20, rec), txn_status::ok);
    EXPECT_EQ(l.find(r.txn)->state, txn_state::proceeding);
    rec.now = 30;
    (void)l.on_request(req(method_id::bye), false, 30, rec);
    rec.now = 40;
    ASSERT_EQ(l.respond(r.txn, 200, 12, peer, 40, rec), txn_status::ok);
    EXPECT_EQ(l.find(r.txn)->state, txn_state::completed);
    EXPECT_EQ(l.respond(r.txn, 200, 13, peer, 40, rec), txn_status::bad_state);
    rec.now = 1000;
    (void)l.on_request(req(method_id::bye), false, 1000, rec);
    run_to(l, rec, 40000);
    EXPECT_EQ(rec.times(action_kind::send, 11), (ticks{20, 30}));
    EXPECT_EQ(rec.times(action_kind::send, 12), (ticks{40, 1000}));
    EXPECT_EQ(rec.times(action_kind::terminated), ticks{40 + 32000}); // J = 64*T1
}

TEST(SipTxnServerNonInvite, ReliableFinalTerminatesAtOnce) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto r = l.on_request(req(method_id::options), true, 0, rec);
    ASSERT_EQ(l.respond(r.txn, 200, 11, peer, 0, rec), txn_status::ok);
    EXPECT_EQ(rec.count(action_kind::terminated), 1u);
    EXPECT_EQ(rec.log[0].a.kind, action_kind::send); // sent before released
    EXPECT_EQ(rec.log[1].a.kind, action_kind::release);
}

// ---- Matching (s17.2.3, s9.2, RFC 2543 fallback) -------------------------------------------

TEST(SipTxnMatching, SentByAndMethodArePartOfTheKey) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto a = l.on_request(req(method_id::invite), false, 0, rec);
    auto b = l.on_request(req(method_id::invite, "z9hG4bK-abc", "10.0.0.2"), false, 0, rec);
    auto c = l.on_request(req(method_id::bye), false, 0, rec);
    EXPECT_EQ(b.disposition, request_disposition::new_transaction);
    EXPECT_EQ(c.disposition, request_disposition::new_transaction);
    EXPECT_NE(a.txn, b.txn);
    EXPECT_NE(a.txn, c.txn);
    EXPECT_EQ(l.size(), 3u);
}

TEST(SipTxnMatching, CancelHasItsOwnTransactionAndFindsItsInvite) {
    transaction_layer l(cfg(), key);
    recorder rec;
    auto inv = l.on_request(req(method_id::invite), false, 0, rec);
    auto can = l.on_request(req(method_id::cancel), false, 5, rec);
    EXPECT_EQ(can.disposition, request_disposition::new_transaction);
    EXPECT_NE(can.txn, inv.txn);
    EXPECT_EQ(can.cancel_target, inv.txn);
    // A CANCEL for an unknown INVITE: no target (the TU answers 481).
    auto lone = l.on_request(req(method_id::cancel, "z9hG4bK-zzz"), false, 5, rec);
    EXPECT_EQ(lone.disposition, request_disposition::new_transaction);
    EXPECT_FALSE(lone.cancel_target.valid());
    // A CANCEL retransmission matches the CANCEL's transaction.
    EXPECT_EQ(l.on_request(req(method_id::cancel), false, 6, rec).txn, can.txn);
}

TEST(SipTxnMatching, Rfc2543FallbackWithoutMagicCookie) {
    transaction_layer l(cfg(), key);
    recorder rec;
    request_key k = req(method_id::invite, "");
    k.top_via = "SIP/2.0/UDP 10.0.0.9";
    auto r = l.on_request(k, false, 0, rec);
    ASSERT_EQ(r.disposition, request_disposition::new_transaction);
    EXPECT_EQ(l.on_request(k, false, 10, rec).txn, r.txn); // retransmission
    request_key other = k;
    other.cseq = 2;
    EXPECT_EQ(l.on_request(other, false, 10, rec).disposition,
              request_disposition::new_transaction);
    request_key other_uri = k;
    other_uri.request_uri = "sip:carol@example.com";
    EXPECT_EQ(l.on_request(other_uri, false, 10, rec).disposition,
              request_disposition::new_transaction);
    ASSERT_EQ(l.respond(r.txn, 486, 11, peer, 20, rec, "srv-tag"), txn_status::ok);
    // ACK: same fields, To tag = the response's tag.
    request_key ack = k;
    ack.method = method_id::ack;
    ack.method_name = "ACK";
    ack.to_tag = "wrong-tag";
    EXPECT_EQ(l.on_request(ack, false, 30, rec).disposition, request_disposition::ack_to_tu);
    ack.to_tag = "srv-tag";
    EXPECT_EQ(l.on_request(ack, false, 30, rec).disposition, request_disposition::ack_absorbed);
    EXPECT_EQ(l.find(r.txn)->state, txn_state::confirmed);
    // A branch that is present but lacks the cookie also takes the 2543 path.
    request_key old = k;
    old.branch = "1234abcd";
    old.cseq = 77;
    auto o = l.on_request(old, false, 40, rec);
    ASSERT_EQ(o.disposition, request_disposition::new_transaction);
    old.branch = "different-but-ignored";
    EXPECT_EQ(l.on_request(old, false, 41, rec).txn, o.txn);
}

TEST(SipTxnMatching, TableFullReturnsStatusAndCounts) {
    transaction_layer l(cfg(2), key);
    recorder rec;
    EXPECT_EQ(l.on_request(req(method_id::invite, "z9hG4bK-1"), false, 0, rec).disposition,
              request_disposition::new_transaction);
    EXPECT_EQ(l.on_request(req(method_id::invite, "z9hG4bK-2"), false, 0, rec).disposition,
              request_disposition::new_transaction);
    EXPECT_EQ(l.on_request(req(method_id::invite, "z9hG4bK-3"), false, 0, rec).disposition,
              request_disposition::table_full);
    EXPECT_EQ(l.start_client(creq(method_id::invite), 7, peer, 0, 0, rec).status, txn_status::full);
    EXPECT_EQ(l.full_count(), 2u);
    // Retransmissions of existing ones still match.
    EXPECT_EQ(l.on_request(req(method_id::invite, "z9hG4bK-1"), false, 0, rec).disposition,
              request_disposition::retransmission);
}

TEST(SipTxnMatching, StaleIdsAreRefusedAfterReuse) {
    transaction_layer l(cfg(1), key);
    recorder rec;
    auto a = l.on_request(req(method_id::options), true, 0, rec);
    ASSERT_EQ(l.respond(a.txn, 200, 1, peer, 0, rec), txn_status::ok); // terminates (reliable)
    auto b = l.on_request(req(method_id::options, "z9hG4bK-new"), true, 0, rec);
    ASSERT_EQ(b.disposition, request_disposition::new_transaction);
    EXPECT_EQ(a.txn.index, b.txn.index); // slot reused
    EXPECT_EQ(l.respond(a.txn, 200, 2, peer, 0, rec), txn_status::stale);
    EXPECT_EQ(l.set_user(a.txn, 5), txn_status::stale);
    EXPECT_EQ(l.set_user(b.txn, 5), txn_status::ok);
}

TEST(SipTxnMatching, ChurnKeepsTableAndPoolConsistent) {
    transaction_layer l(cfg(64), key);
    recorder rec;
    std::vector<std::string> branches;
    for (int i = 0; i < 2000; ++i)
        branches.push_back("z9hG4bK-churn-" + std::to_string(i));
    tick_t now = 0;
    for (int i = 0; i < 2000; ++i) {
        auto r = l.on_request(req(method_id::message, branches[i]), false, now, rec);
        ASSERT_EQ(r.disposition, request_disposition::new_transaction) << i;
        ASSERT_EQ(l.respond(r.txn, 200, i, peer, now, rec), txn_status::ok);
        now += 1000; // J = 32 s: about 32 alive at any time
        rec.now = now;
        l.advance(now, rec);
        if (i >= 40) {
            // Long gone: a late retransmission creates a fresh transaction (RFC behaviour).
            auto late = l.on_request(req(method_id::message, branches[i - 40]), false, now, rec);
            ASSERT_EQ(late.disposition, request_disposition::new_transaction);
            ASSERT_EQ(l.respond(late.txn, 200, 0, peer, now, rec), txn_status::ok);
        }
        // A recent one still matches.
        ASSERT_EQ(l.on_request(req(method_id::message, branches[i]), false, now, rec).disposition,
                  request_disposition::retransmission);
    }
    EXPECT_LE(l.size(), 64u);
    EXPECT_EQ(l.full_count(), 0u);
}

// ---- Adapter from the parsed message --------------------------------------------------------

TEST(SipTxnMessageKeys, RequestAndResponseKeysFromParsedMessages) {
    const std::string invite =
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds\r\n"
        "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKold\r\n"
        "Max-Forwards: 70\r\n"
        "To: Bob <sip:bob@biloxi.example.com>\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        "CSeq: 314159 INVITE\r\n"
        "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
        "Content-Length: 0\r\n\r\n";
    message m;
    ASSERT_TRUE(parse(invite.data(), invite.size(), m).ok());
    request_key k;
    ASSERT_TRUE(request_key_from(m, k));
    EXPECT_EQ(k.method, method_id::invite);
    EXPECT_EQ(k.branch, "z9hG4bK776asdhds");
    EXPECT_EQ(k.sent_by_host, "pc33.atlanta.example.com");
    EXPECT_EQ(k.sent_by_port, 5066);
    EXPECT_EQ(k.cseq, 314159u);
    EXPECT_EQ(k.call_id, "a84b4c76e66710@pc33.atlanta.example.com");
    EXPECT_EQ(k.from_tag, "1928301774");
    EXPECT_EQ(k.to_tag, "");
    EXPECT_EQ(k.request_uri, "sip:bob@biloxi.example.com");
    EXPECT_NE(k.top_via.find("pc33.atlanta.example.com:5066"), std::string_view::npos);

    transaction_layer l(cfg(), key);
    recorder rec;
    auto r = l.on_request(k, false, 0, rec);
    EXPECT_EQ(r.disposition, request_disposition::new_transaction);
    message m2;
    ASSERT_TRUE(parse(invite.data(), invite.size(), m2).ok());
    request_key k2;
    ASSERT_TRUE(request_key_from(m2, k2));
    EXPECT_EQ(l.on_request(k2, false, 1, rec).txn, r.txn);

    const std::string ok =
        "SIP/2.0 180 Ringing\r\n"
        "Via: SIP/2.0/UDP tandem.example.com;branch=z9hG4bK-tnd3-0123456789abcdefghij\r\n"
        "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "Call-ID: 3-x@tandem\r\n"
        "CSeq: 2 INVITE\r\n"
        "Content-Length: 0\r\n\r\n";
    message mr;
    ASSERT_TRUE(parse(ok.data(), ok.size(), mr).ok());
    response_key rk;
    ASSERT_TRUE(response_key_from(mr, rk));
    EXPECT_EQ(rk.status, 180);
    EXPECT_EQ(rk.cseq_method, method_id::invite);
    EXPECT_EQ(rk.branch, "z9hG4bK-tnd3-0123456789abcdefghij");
    EXPECT_FALSE(request_key_from(mr, k)); // not a request
    EXPECT_FALSE(response_key_from(m, rk));
}

// ---- UAS 2xx retransmission helper (s13.3.1.4) -------------------------------------------------

TEST(SipTxnAck2xx, RetransmitsDoublingToT2UntilAckTimeout) {
    uas_2xx_retransmitter x(cfg(), 8, key);
    recorder rec;
    ASSERT_EQ(x.start("cid", "ltag", 1, 50, peer, 3, 0, rec), txn_status::ok);
    run_to(x, rec, 40000);
    EXPECT_EQ(rec.times(action_kind::send, 50),
              (ticks{500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
    EXPECT_EQ(rec.times(action_kind::ack_timeout), ticks{32000});
    EXPECT_EQ(rec.times(action_kind::release, 50), ticks{32000});
    EXPECT_EQ(x.size(), 0u);
}

TEST(SipTxnAck2xx, AckStopsRetransmissions) {
    uas_2xx_retransmitter x(cfg(), 8, key);
    recorder rec;
    ASSERT_EQ(x.start("cid", "ltag", 1, 50, peer, 3, 0, rec), txn_status::ok);
    ASSERT_EQ(x.start("cid", "ltag", 2, 51, peer, 3, 0, rec), txn_status::ok);
    run_to(x, rec, 2000);
    rec.now = 2000;
    EXPECT_FALSE(x.on_ack("cid", "ltag", 9, rec)); // wrong CSeq
    EXPECT_FALSE(x.on_ack("cid", "other", 1, rec));
    EXPECT_TRUE(x.on_ack("cid", "ltag", 1, rec));
    EXPECT_FALSE(x.on_ack("cid", "ltag", 1, rec)); // ACK retransmission: nothing left
    run_to(x, rec, 40000);
    EXPECT_EQ(rec.times(action_kind::send, 50), (ticks{500, 1500}));
    EXPECT_EQ(rec.times(action_kind::release, 50), ticks{2000});
    EXPECT_EQ(rec.times(action_kind::ack_timeout).size(), 1u); // only CSeq 2's
}

TEST(SipTxnAck2xx, MintedLocalTagsKeyByTagAndCSeq) {
    // A tag in id_generator's format is keyed by its bits and the CSeq: entries of one tag
    // with other CSeqs, and of other tags, stay apart; a retransmitted start replaces.
    uas_2xx_retransmitter x(cfg(), 8, key);
    recorder rec;
    const std::string_view t1 = "0123456789abcdef", t2 = "0123456789abcdeg";
    ASSERT_EQ(x.start("cid", t1, 1, 50, peer, 3, 0, rec), txn_status::ok);
    ASSERT_EQ(x.start("cid", t1, 2, 51, peer, 3, 0, rec), txn_status::ok);
    ASSERT_EQ(x.start("cid", t2, 1, 52, peer, 3, 0, rec), txn_status::ok);
    ASSERT_EQ(x.start("cid", t2, 1, 53, peer, 3, 0, rec), txn_status::ok); // replaces 52
    EXPECT_EQ(x.size(), 3u);
    EXPECT_FALSE(x.on_ack("cid", t1, 3, rec));
    EXPECT_FALSE(x.on_ack("cid", "0123456789ABCDEF", 1, rec));
    EXPECT_TRUE(x.on_ack("cid", t1, 2, rec));
    EXPECT_TRUE(x.on_ack("cid", t2, 1, rec));
    EXPECT_FALSE(x.on_ack("cid", t2, 1, rec));
    EXPECT_TRUE(x.on_ack("cid", t1, 1, rec));
    EXPECT_EQ(x.size(), 0u);
    EXPECT_EQ(rec.times(action_kind::release, 52).size(), 1u);
    EXPECT_EQ(rec.times(action_kind::release, 53).size(), 1u);
}

TEST(SipTxnAck2xx, FullIsReported) {
    uas_2xx_retransmitter x(cfg(), 1, key);
    recorder rec;
    ASSERT_EQ(x.start("cid", "ltag", 1, 50, peer, 3, 0, rec), txn_status::ok);
    EXPECT_EQ(x.start("cid2", "ltag", 1, 51, peer, 3, 0, rec), txn_status::full);
    // Restarting the same key replaces the message.
    ASSERT_EQ(x.start("cid", "ltag", 1, 52, peer, 3, 10, rec), txn_status::ok);
    EXPECT_EQ(rec.times(action_kind::release, 50), ticks{0});
}
