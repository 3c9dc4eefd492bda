// The B2BUA engine driven in process: a caller and a callee made of hand-written SIP text, a
// transport that records what Tandem sends, and a virtual clock. Every flow checks what each
// side receives and that no call, transaction or buffer is left when it ends.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "sip/b2b/engine.h"
#include "sip/b2b/header_policy.h"
#include "sip/b2b/msg_store.h"
#include "sip/message.h"

using namespace tandem::sip;
using namespace tandem::sip::b2b;

namespace {

endpoint ep(const char* ip, uint16_t port) {
    endpoint e;
    EXPECT_TRUE(endpoint::from_ip(ip, port, e));
    return e;
}

const endpoint k_tandem = ep("127.0.0.1", 5060);
const endpoint k_caller = ep("127.0.0.2", 5061);
const endpoint k_callee = ep("127.0.0.3", 5070);

struct sent {
    std::string bytes;
    endpoint dest;
};

class recording_transport final : public transport {
public:
    bool send(const char* data, size_t len, const endpoint& dest) noexcept override {
        out.push_back({std::string(data, len), dest});
        return true;
    }
    std::deque<sent> out;
};

// A parsed copy that owns its bytes.
struct msg {
    std::string bytes;
    std::unique_ptr<message> m = std::make_unique<message>();
    explicit msg(std::string b) : bytes(std::move(b)) {
        auto r = parse(bytes.data(), bytes.size(), *m);
        EXPECT_TRUE(r.ok()) << r.reason << " in:\n" << bytes;
    }
    const message* operator->() const { return m.get(); }
    std::string header(header_id id) const {
        size_t i = m->find(id);
        return i == message::npos ? std::string() : std::string(m->value(i));
    }
    std::string header(std::string_view name) const {
        size_t i = m->find(name);
        return i == message::npos ? std::string() : std::string(m->value(i));
    }
    std::string to_tag() const { return std::string(m->to()->tag); }
    std::string from_tag() const { return std::string(m->from()->tag); }
};

constexpr std::string_view k_sdp =
    "v=0\r\no=alice 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\n"
    "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
constexpr std::string_view k_sdp_b =
    "v=0\r\no=bob 2 2 IN IP4 127.0.0.3\r\ns=-\r\nc=IN IP4 127.0.0.3\r\n"
    "t=0 0\r\nm=audio 50000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

std::string with_body(std::string head, std::string_view body, bool sdp = true) {
    if (sdp && !body.empty()) head += "Content-Type: application/sdp\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    head += body;
    return head;
}

std::string invite(const std::string& call_id, const std::string& branch, int max_forwards = 70,
                   std::string_view extra = "") {
    std::string s = "INVITE sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP 127.0.0.2:5061;branch=" +
                    branch +
                    ";rport\r\n"
                    "Max-Forwards: " +
                    std::to_string(max_forwards) +
                    "\r\n"
                    "From: \"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1\r\n"
                    "To: <sip:bob@127.0.0.1>\r\n"
                    "Call-ID: " +
                    call_id +
                    "\r\n"
                    "CSeq: 10 INVITE\r\n"
                    "Contact: <sip:alice@127.0.0.2:5061>\r\n"
                    "Subject: hello\r\n"
                    "X-Tandem-Pass: yes\r\n"
                    "X-Secret-Internal: no\r\n"
                    "P-Asserted-Identity: <sip:alice@secret.example>\r\n";
    s += extra;
    return with_body(s, k_sdp);
}

// The caller's CANCEL of the INVITE invite(call_id, branch) sent.
std::string cancel_for(const std::string& call_id, const std::string& branch) {
    return "CANCEL sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.2:5061;branch=" +
           branch +
           ";rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: \"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1\r\n"
           "To: <sip:bob@127.0.0.1>\r\n"
           "Call-ID: " +
           call_id + "\r\nCSeq: 10 CANCEL\r\nContent-Length: 0\r\n\r\n";
}

// A response a UAS writes to `req`: its Via, From, To (plus tag), Call-ID and CSeq.
std::string response(const msg& req, int code, std::string_view reason, std::string_view to_tag,
                     std::string_view body = "", std::string_view extra = "",
                     std::string_view contact = "<sip:bob@127.0.0.3:5070>") {
    std::string s = "SIP/2.0 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
    for (size_t i = req->find(header_id::via); i != message::npos;
         i = req->find(header_id::via, i + 1)) {
        s += "Via: " + std::string(req->value(i)) + "\r\n";
    }
    s += "From: " + req.header(header_id::from) + "\r\n";
    s += "To: " + req.header(header_id::to);
    if (!to_tag.empty() && !req->to()->has_tag) s += ";tag=" + std::string(to_tag);
    s += "\r\n";
    s += "Call-ID: " + req.header(header_id::call_id) + "\r\n";
    s += "CSeq: " + req.header(header_id::cseq) + "\r\n";
    if (code > 100 && code < 300) s += "Contact: " + std::string(contact) + "\r\n";
    s += extra;
    return with_body(s, body);
}

// An in-dialog request from the party that received `dialog_msg` (a request it got, or the
// response it sent): From/To swapped as a UA does.
std::string in_dialog(std::string_view method, const std::string& ruri, const std::string& via,
                      const std::string& from, const std::string& to, const std::string& call_id,
                      int cseq, std::string_view body = "", std::string_view extra = "") {
    std::string s = std::string(method) + " " + ruri +
                    " SIP/2.0\r\n"
                    "Via: " +
                    via +
                    "\r\n"
                    "Max-Forwards: 70\r\n"
                    "From: " +
                    from +
                    "\r\n"
                    "To: " +
                    to +
                    "\r\n"
                    "Call-ID: " +
                    call_id +
                    "\r\n"
                    "CSeq: " +
                    std::to_string(cseq) + " " + std::string(method) + "\r\n";
    s += extra;
    return with_body(s, body, extra.find("Content-Type") == std::string_view::npos);
}

class B2bEngine : public ::testing::Test {
protected:
    B2bEngine() {
        header_policy_builder b("default");
        EXPECT_EQ(b.add(direction::request, "Subject", policy_action::pass), "");
        EXPECT_EQ(b.add(direction::request, "X-Tandem-Pass", policy_action::pass), "");
        EXPECT_EQ(b.add(direction::response, "Warning", policy_action::pass), "");
        policy = b.build();
        scen = std::make_unique<default_scenario>("sip:bob@127.0.0.3:5070", false);
        eng = std::make_unique<engine>(base_config(), net, *scen, policy, k_key, now);
    }

    static engine_config base_config() {
        engine_config cfg;
        cfg.max_calls = 64;
        cfg.txn.max_transactions = 256;
        cfg.buffers[0] = 512;
        cfg.buffers[1] = 512;
        cfg.buffers[2] = 4;
        cfg.local = k_tandem;
        cfg.ring_timeout_ms = 60000;
        return cfg;
    }
    static constexpr tandem::sip::util::hash_key k_key{0x0123456789abcdefull,
                                                       0xfedcba9876543210ull};

    void deliver(const std::string& bytes, const endpoint& from) {
        eng->on_datagram(bytes.data(), bytes.size(), from, now);
    }
    void advance(uint64_t ms) {
        // Tick by tick, as a shard does, so timers fire at their time.
        for (uint64_t i = 0; i < ms; i += 10) {
            now += 10;
            eng->on_tick(now);
        }
    }
    // Pops the next datagram Tandem sent; fails when there is none or it went elsewhere.
    msg take(const endpoint& to) {
        EXPECT_FALSE(net.out.empty()) << "nothing was sent";
        if (net.out.empty()) return msg("SIP/2.0 599 Nothing\r\nContent-Length: 0\r\n\r\n");
        sent s = net.out.front();
        net.out.pop_front();
        EXPECT_TRUE(s.dest == to) << "sent to port " << s.dest.port << ":\n" << s.bytes;
        return msg(s.bytes);
    }
    // The callee's answer to a call that is not bridged: ACKed and hung up, nothing for the
    // caller, the call counted failed (never answered); then nothing is left.
    void expect_answer_hung_up_unbridged() {
        EXPECT_EQ(take(k_callee)->method(), method::ack);
        msg bye = take(k_callee);
        ASSERT_EQ(bye->method(), method::bye);
        expect_idle();
        EXPECT_EQ(eng->stats().calls_answered, 0u);
        EXPECT_EQ(eng->stats().calls_failed, 1u);
        deliver(response(bye, 200, "OK", ""), k_callee);
        EXPECT_EQ(eng->calls_active(), 0u);
        advance(64 * 500 + 100);
        expect_all_released();
    }
    void expect_idle() {
        EXPECT_TRUE(net.out.empty()) << net.out.size() << " unexpected, first:\n"
                                     << (net.out.empty() ? "" : net.out.front().bytes);
    }
    // Lets every transaction run out (timers D, J, K, L...) and checks nothing is left.
    void expect_all_released() {
        EXPECT_EQ(eng->calls_active(), 0u);
        advance(40000);
        net.out.clear();
        EXPECT_EQ(eng->calls_active(), 0u);
        EXPECT_EQ(eng->transactions_active(), 0u);
        EXPECT_EQ(eng->buffers_in_use(), 0u);
    }

    // Sets up an answered call; returns (B-leg INVITE, A-leg 200).
    std::pair<msg, msg> answered_call(const std::string& call_id = "call-1@client.example",
                                      std::string_view extra = "") {
        deliver(invite(call_id, "z9hG4bK-a1", 70, extra), k_caller);
        msg trying = take(k_caller);
        EXPECT_EQ(trying->status_code(), 100);
        msg b_inv = take(k_callee);
        deliver(response(b_inv, 180, "Ringing", "b-tag-1"), k_callee);
        msg ringing = take(k_caller);
        EXPECT_EQ(ringing->status_code(), 180);
        deliver(response(b_inv, 200, "OK", "b-tag-1", k_sdp_b), k_callee);
        msg ok = take(k_caller);
        EXPECT_EQ(ok->status_code(), 200);
        EXPECT_EQ(ok.to_tag(), ringing.to_tag());
        // The caller's ACK crosses to the callee.
        deliver(in_dialog("ACK", "sip:127.0.0.1:5060",
                          "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-a2",
                          "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1",
                          "<sip:bob@127.0.0.1>;tag=" + ok.to_tag(), call_id, 10),
                k_caller);
        msg ack = take(k_callee);
        EXPECT_EQ(ack->method(), method::ack);
        EXPECT_EQ(ack->cseq()->number, b_inv->cseq()->number);
        EXPECT_EQ(ack.to_tag(), "b-tag-1");
        return {std::move(b_inv), std::move(ok)};
    }

    std::shared_ptr<const header_policy> policy;
    recording_transport net;
    std::unique_ptr<default_scenario> scen;
    std::unique_ptr<engine> eng;
    tick_t now = 1000;
};

} // namespace

TEST_F(B2bEngine, BasicCallNothingLeaksBetweenLegs) {
    deliver(invite("mark-1@client.example", "z9hG4bK-a1"), k_caller);
    msg trying = take(k_caller);
    EXPECT_EQ(trying->status_code(), 100);
    EXPECT_EQ(trying.header(header_id::call_id), "mark-1@client.example");
    msg b = take(k_callee);
    ASSERT_TRUE(b->is_request());
    EXPECT_EQ(b->method(), method::invite);
    EXPECT_EQ(b->request_uri(), "sip:bob@127.0.0.3:5070");
    // Tandem's own identifiers on the B-leg.
    EXPECT_EQ(b->count(header_id::via), 1u);
    EXPECT_EQ(b->top_via()->host, "127.0.0.1");
    EXPECT_EQ(b->top_via()->port, 5060);
    EXPECT_EQ(b->top_via()->branch.substr(0, 7), "z9hG4bK");
    EXPECT_EQ(b.header(header_id::call_id).find("mark-"), std::string::npos);
    EXPECT_NE(b.from_tag(), "a-tag-1");
    EXPECT_FALSE(b.from_tag().empty());
    EXPECT_EQ(b->from()->uri, "sip:alice@127.0.0.2");
    EXPECT_EQ(b->to()->uri, "sip:bob@127.0.0.1");
    EXPECT_FALSE(b->to()->has_tag);
    EXPECT_EQ(b.header(header_id::contact), "<sip:127.0.0.1:5060>");
    EXPECT_EQ(b->count(header_id::record_route), 0u);
    EXPECT_EQ(b.header(header_id::max_forwards), "69");
    EXPECT_EQ(b->cseq()->method, method::invite);
    // Header policy: listed headers pass, others do not, identity only when trusted.
    EXPECT_EQ(b.header("X-Tandem-Pass"), "yes");
    EXPECT_EQ(b.header(header_id::subject), "hello");
    EXPECT_EQ(b->find("X-Secret-Internal"), message::npos);
    EXPECT_EQ(b->find(header_id::p_asserted_identity), message::npos);
    // The offer reaches the callee untouched.
    EXPECT_EQ(b->body(), k_sdp);
    EXPECT_EQ(b.header(header_id::content_type), "application/sdp");
    EXPECT_EQ(b.bytes.find("127.0.0.2:5061"), std::string::npos) << b.bytes;
    EXPECT_EQ(eng->state(call_handle{eng.get(), 0}), call_state::establishing);

    deliver(response(b, 180, "Ringing", "b-tag-1"), k_callee);
    msg ringing = take(k_caller);
    EXPECT_EQ(ringing->status_code(), 180);
    EXPECT_EQ(ringing.header(header_id::call_id), "mark-1@client.example");
    EXPECT_FALSE(ringing.to_tag().empty());
    EXPECT_NE(ringing.to_tag(), "b-tag-1");
    EXPECT_EQ(ringing->count(header_id::via), 1u);
    EXPECT_EQ(ringing->top_via()->branch, "z9hG4bK-a1");

    deliver(response(b, 200, "OK", "b-tag-1", k_sdp_b,
                     "Warning: 399 bob \"x\"\r\nX-Callee-Secret: 1\r\n"),
            k_callee);
    msg ok = take(k_caller);
    EXPECT_EQ(ok->status_code(), 200);
    EXPECT_EQ(ok->body(), k_sdp_b);
    EXPECT_EQ(ok.to_tag(), ringing.to_tag());
    EXPECT_EQ(ok.header(header_id::contact), "<sip:127.0.0.1:5060>");
    EXPECT_EQ(ok.header("Warning"), "399 bob \"x\"");
    EXPECT_EQ(ok->find("X-Callee-Secret"), message::npos);
    // The callee's address appears only in its SDP (media is not anchored), never in headers.
    EXPECT_GE(ok.bytes.find("127.0.0.3"), ok.bytes.size() - ok->body().size()) << ok.bytes;

    // The 2xx is re-sent until the caller's ACK arrives.
    advance(510);
    msg again = take(k_caller);
    EXPECT_EQ(again->status_code(), 200);
    expect_idle();
    deliver(in_dialog("ACK", "sip:127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-a2",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1",
                      "<sip:bob@127.0.0.1>;tag=" + ok.to_tag(), "mark-1@client.example", 10),
            k_caller);
    msg ack = take(k_callee);
    EXPECT_EQ(ack->method(), method::ack);
    EXPECT_EQ(ack->request_uri(), "sip:bob@127.0.0.3:5070");
    EXPECT_EQ(ack.to_tag(), "b-tag-1");
    EXPECT_EQ(eng->state(call_handle{eng.get(), 0}), call_state::established);
    advance(2000);
    expect_idle();

    // A retransmitted 200 from the callee gets the same ACK again, and nothing to the caller.
    deliver(response(b, 200, "OK", "b-tag-1", k_sdp_b), k_callee);
    msg ack2 = take(k_callee);
    EXPECT_EQ(ack2.bytes, ack.bytes);
    expect_idle();

    // Caller hangs up.
    deliver(in_dialog("BYE", "sip:127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-a3",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1",
                      "<sip:bob@127.0.0.1>;tag=" + ok.to_tag(), "mark-1@client.example", 11),
            k_caller);
    msg bye_ok = take(k_caller);
    EXPECT_EQ(bye_ok->status_code(), 200);
    msg bye = take(k_callee);
    EXPECT_EQ(bye->method(), method::bye);
    EXPECT_EQ(bye.header(header_id::max_forwards), "69");
    EXPECT_EQ(bye.header(header_id::call_id), b.header(header_id::call_id));
    EXPECT_EQ(bye->cseq()->number, b->cseq()->number + 1);
    EXPECT_EQ(bye.from_tag(), b.from_tag());
    EXPECT_EQ(bye.to_tag(), "b-tag-1");
    EXPECT_EQ(eng->calls_active(), 1u);
    deliver(response(bye, 200, "OK", ""), k_callee);
    EXPECT_EQ(eng->calls_active(), 0u);
    EXPECT_EQ(eng->stats().calls_answered, 1u);
    expect_all_released();
}

TEST_F(B2bEngine, CalleeHangsUp) {
    auto [b_inv, a_ok] =
        answered_call("call-1@client.example", "Record-Route: <sip:127.0.0.9;lr>\r\n");
    deliver(in_dialog("BYE", "sip:127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.3:5070;branch=z9hG4bK-b9",
                      "<sip:bob@127.0.0.1>;tag=b-tag-1", b_inv.header(header_id::from),
                      b_inv.header(header_id::call_id), 500),
            k_callee);
    msg ok = take(k_callee);
    EXPECT_EQ(ok->status_code(), 200);
    msg bye = take(ep("127.0.0.9", 5060));
    EXPECT_EQ(bye->method(), method::bye);
    // To the caller's Contact, through its Record-Route, in the caller's own dialog.
    EXPECT_EQ(bye->request_uri(), "sip:alice@127.0.0.2:5061");
    EXPECT_EQ(bye.header(header_id::route), "<sip:127.0.0.9;lr>");
    EXPECT_EQ(bye.header(header_id::call_id), "call-1@client.example");
    EXPECT_EQ(bye.to_tag(), "a-tag-1");
    EXPECT_EQ(bye.from_tag(), a_ok.to_tag());
    deliver(response(bye, 200, "OK", ""), ep("127.0.0.9", 5060));
    expect_all_released();
}

TEST_F(B2bEngine, ByeRetransmittedWhenUnansweredThenCallEnds) {
    auto [b_inv, a_ok] = answered_call();
    deliver(in_dialog("BYE", "sip:127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.3:5070;branch=z9hG4bK-b9",
                      "<sip:bob@127.0.0.1>;tag=b-tag-1", b_inv.header(header_id::from),
                      b_inv.header(header_id::call_id), 500),
            k_callee);
    (void)take(k_callee);
    msg bye = take(k_caller);
    advance(600);
    msg bye2 = take(k_caller); // timer E
    EXPECT_EQ(bye2.bytes, bye.bytes);
    advance(40000); // timer F: the caller is gone; the call ends anyway
    net.out.clear();
    EXPECT_EQ(eng->calls_active(), 0u);
    expect_all_released();
}

TEST_F(B2bEngine, CancelBeforeAnswer) {
    deliver(invite("call-c@client.example", "z9hG4bK-c1"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    deliver(response(b_inv, 180, "Ringing", "b-tag-c"), k_callee);
    (void)take(k_caller);
    deliver(cancel_for("call-c@client.example", "z9hG4bK-c1"), k_caller);
    msg c_ok = take(k_caller);
    EXPECT_EQ(c_ok->status_code(), 200);
    EXPECT_EQ(c_ok->cseq()->method, method::cancel);
    msg term = take(k_caller);
    EXPECT_EQ(term->status_code(), 487);
    EXPECT_EQ(term->cseq()->method, method::invite);
    msg b_cancel = take(k_callee);
    EXPECT_EQ(b_cancel->method(), method::cancel);
    EXPECT_EQ(b_cancel->top_via()->branch, b_inv->top_via()->branch);
    EXPECT_EQ(b_cancel->cseq()->number, b_inv->cseq()->number);
    deliver(response(b_cancel, 200, "OK", "b-tag-c"), k_callee);
    deliver(response(b_inv, 487, "Request Terminated", "b-tag-c"), k_callee);
    msg ack = take(k_callee);
    EXPECT_EQ(ack->method(), method::ack);
    EXPECT_EQ(ack->top_via()->branch, b_inv->top_via()->branch);
    // The caller ACKs its 487 (absorbed by the transaction).
    deliver(in_dialog("ACK", "sip:bob@127.0.0.1:5060",
                      "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-c1",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1",
                      "<sip:bob@127.0.0.1>;tag=" + term.to_tag(), "call-c@client.example", 10),
            k_caller);
    expect_idle();
    EXPECT_EQ(eng->calls_active(), 0u);
    expect_all_released();
}

TEST_F(B2bEngine, AnswerRacingCancelIsAckedAndHungUp) {
    deliver(invite("call-r@client.example", "z9hG4bK-r1"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    deliver(response(b_inv, 180, "Ringing", "b-tag-r"), k_callee);
    (void)take(k_caller);
    deliver(cancel_for("call-r@client.example", "z9hG4bK-r1"), k_caller);
    (void)take(k_caller); // 200 CANCEL
    (void)take(k_caller); // 487
    (void)take(k_callee); // CANCEL
    deliver(response(b_inv, 200, "OK", "b-tag-r", k_sdp_b), k_callee);
    msg ack = take(k_callee);
    EXPECT_EQ(ack->method(), method::ack);
    msg bye = take(k_callee);
    EXPECT_EQ(bye->method(), method::bye);
    EXPECT_EQ(bye.to_tag(), "b-tag-r");
    expect_idle();
    deliver(response(bye, 200, "OK", ""), k_callee);
    EXPECT_EQ(eng->calls_active(), 0u);
    expect_all_released();
}

TEST_F(B2bEngine, BusyIsRelayedAndAcked) {
    deliver(invite("call-b@client.example", "z9hG4bK-b1"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    deliver(response(b_inv, 486, "Busy Here", "b-tag-b"), k_callee);
    msg ack = take(k_callee);
    EXPECT_EQ(ack->method(), method::ack);
    EXPECT_EQ(ack.to_tag(), "b-tag-b");
    msg busy = take(k_caller);
    EXPECT_EQ(busy->status_code(), 486);
    EXPECT_EQ(busy->reason_phrase(), "Busy Here");
    EXPECT_NE(busy.to_tag(), "b-tag-b");
    EXPECT_FALSE(busy.to_tag().empty());
    EXPECT_EQ(eng->calls_active(), 0u);
    // The 486 is re-sent until the caller ACKs (timer G), then absorbed.
    advance(600);
    msg again = take(k_caller);
    EXPECT_EQ(again->status_code(), 486);
    expect_all_released();
}

TEST_F(B2bEngine, AuthChallengeIsNotRelayed) {
    deliver(invite("call-auth@client.example", "z9hG4bK-au"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    deliver(response(b_inv, 407, "Proxy Authentication Required", "b-tag", "",
                     "Proxy-Authenticate: Digest realm=\"x\", nonce=\"1\"\r\n"),
            k_callee);
    (void)take(k_callee); // ACK
    msg out = take(k_caller);
    EXPECT_EQ(out->status_code(), 403);
    EXPECT_EQ(out->find(header_id::proxy_authenticate), message::npos);
}

TEST_F(B2bEngine, NoAnswerTimesOutWith408) {
    deliver(invite("call-t@client.example", "z9hG4bK-t1"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    advance(33000); // timer B: 64*T1 with no response
    bool got = false;
    while (!net.out.empty()) {
        sent s = net.out.front();
        net.out.pop_front();
        if (s.dest == k_caller) {
            msg m(s.bytes);
            EXPECT_EQ(m->status_code(), 408);
            got = true;
        }
    }
    EXPECT_TRUE(got);
    EXPECT_EQ(eng->calls_active(), 0u);
}

TEST_F(B2bEngine, RingTimeoutCancelsCalleeWith480) {
    deliver(invite("call-rt@client.example", "z9hG4bK-rt"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    deliver(response(b_inv, 180, "Ringing", "b-tag-rt"), k_callee);
    (void)take(k_caller);
    advance(60000);
    msg to_caller = take(k_caller);
    EXPECT_EQ(to_caller->status_code(), 480);
    msg cancel = take(k_callee);
    EXPECT_EQ(cancel->method(), method::cancel);
    deliver(response(cancel, 200, "OK", ""), k_callee);
    deliver(response(b_inv, 487, "Request Terminated", "b-tag-rt"), k_callee);
    EXPECT_EQ(take(k_callee)->method(), method::ack);
    EXPECT_EQ(eng->calls_active(), 0u);
}

TEST_F(B2bEngine, MaxForwardsZeroGets483) {
    deliver(invite("call-mf@client.example", "z9hG4bK-mf", 0), k_caller);
    msg out = take(k_caller);
    EXPECT_EQ(out->status_code(), 483);
    expect_idle();
    EXPECT_EQ(eng->calls_active(), 0u);
}

TEST_F(B2bEngine, OutOfDialogRequestsAnsweredByTandem) {
    auto req = [](std::string_view method, std::string_view to_tag = "") {
        std::string to = "<sip:tandem@127.0.0.1>";
        if (!to_tag.empty()) to += ";tag=" + std::string(to_tag);
        return in_dialog(method, "sip:tandem@127.0.0.1:5060",
                         "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-o" + std::string(method),
                         "<sip:alice@127.0.0.2>;tag=x1", to, "ood@client.example", 1);
    };
    deliver(req("OPTIONS"), k_caller);
    msg opt = take(k_caller);
    EXPECT_EQ(opt->status_code(), 200);
    EXPECT_NE(opt.header(header_id::allow).find("INVITE"), std::string::npos);
    deliver(req("REGISTER"), k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 405);
    deliver(req("FROBNICATE"), k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 501);
    deliver(req("BYE", "nope"), k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 481);
    deliver(req("INFO", "nope"), k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 481);
    // Retransmission: the same answer again, from the transaction.
    deliver(req("OPTIONS"), k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 200);
    expect_idle();
    expect_all_released();
}

TEST_F(B2bEngine, MalformedRequestGets400WithReason) {
    std::string bad = "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-bad\r\n"
                      "From: <sip:alice@127.0.0.2>;tag=1\r\n"
                      "To: <sip:bob@127.0.0.1>\r\n"
                      "Call-ID: bad@client.example\r\n"
                      "CSeq: nine INVITE\r\n"
                      "Max-Forwards: 70\r\n"
                      "Content-Length: 0\r\n\r\n";
    deliver(bad, k_caller);
    msg out = take(k_caller);
    EXPECT_EQ(out->status_code(), 400);
    EXPECT_NE(std::string(out->reason_phrase()).find("CSeq"), std::string::npos) << out.bytes;
    // Garbage that cannot be answered is dropped and counted.
    deliver("\x01\x02 not sip at all", k_caller);
    expect_idle();
    EXPECT_GE(eng->stats().parse_errors + eng->stats().rejected_semantic, 2u);
    EXPECT_EQ(eng->calls_active(), 0u);
}

TEST_F(B2bEngine, ReInviteRelayedBothWays) {
    auto [b_inv, a_ok] = answered_call();
    const std::string a_to = "<sip:bob@127.0.0.1>;tag=" + a_ok.to_tag();
    // Caller puts the call on hold.
    deliver(in_dialog("INVITE", "sip:127.0.0.1:5060",
                      "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-h1",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1", a_to, "call-1@client.example",
                      11, std::string(k_sdp) + "a=sendonly\r\n"),
            k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 100);
    msg re = take(k_callee);
    EXPECT_EQ(re->method(), method::invite);
    EXPECT_EQ(re.to_tag(), "b-tag-1");
    EXPECT_EQ(re->cseq()->number, b_inv->cseq()->number + 1);
    EXPECT_NE(std::string(re->body()).find("a=sendonly"), std::string::npos);
    // Glare: the callee's own re-INVITE while ours is open gets 491.
    deliver(in_dialog("INVITE", "sip:127.0.0.1:5060",
                      "SIP/2.0/UDP 127.0.0.3:5070;branch=z9hG4bK-g1",
                      "<sip:bob@127.0.0.1>;tag=b-tag-1", b_inv.header(header_id::from),
                      b_inv.header(header_id::call_id), 700, k_sdp_b),
            k_callee);
    EXPECT_EQ(take(k_callee)->status_code(), 491);
    deliver(response(re, 200, "OK", "", std::string(k_sdp_b) + "a=recvonly\r\n"), k_callee);
    msg ok = take(k_caller);
    EXPECT_EQ(ok->status_code(), 200);
    EXPECT_EQ(ok->cseq()->number, 11u);
    EXPECT_NE(std::string(ok->body()).find("a=recvonly"), std::string::npos);
    deliver(in_dialog("ACK", "sip:127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-h2",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1", a_to, "call-1@client.example",
                      11),
            k_caller);
    msg ack = take(k_callee);
    EXPECT_EQ(ack->method(), method::ack);
    EXPECT_EQ(ack->cseq()->number, re->cseq()->number);
    expect_idle();
    // The callee takes it off hold (late offer: no SDP in the re-INVITE, answer in the ACK).
    deliver(in_dialog("INVITE", "sip:127.0.0.1:5060",
                      "SIP/2.0/UDP 127.0.0.3:5070;branch=z9hG4bK-u1",
                      "<sip:bob@127.0.0.1>;tag=b-tag-1", b_inv.header(header_id::from),
                      b_inv.header(header_id::call_id), 701),
            k_callee);
    EXPECT_EQ(take(k_callee)->status_code(), 100);
    msg re2 = take(k_caller);
    EXPECT_EQ(re2->method(), method::invite);
    EXPECT_TRUE(re2->body().empty());
    EXPECT_EQ(re2.to_tag(), "a-tag-1");
    deliver(response(re2, 200, "OK", "", k_sdp, "", "<sip:alice@127.0.0.2:5061>"), k_caller);
    msg ok2 = take(k_callee);
    EXPECT_EQ(ok2->status_code(), 200);
    EXPECT_EQ(ok2->body(), k_sdp);
    deliver(in_dialog("ACK", "sip:127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.3:5070;branch=z9hG4bK-u2",
                      "<sip:bob@127.0.0.1>;tag=b-tag-1", b_inv.header(header_id::from),
                      b_inv.header(header_id::call_id), 701, k_sdp_b),
            k_callee);
    msg ack2 = take(k_caller);
    EXPECT_EQ(ack2->method(), method::ack);
    EXPECT_EQ(ack2->body(), k_sdp_b);
    EXPECT_EQ(eng->calls_active(), 1u);
}

TEST_F(B2bEngine, InfoAndLowerCSeqInDialog) {
    auto [b_inv, a_ok] = answered_call();
    const std::string a_to = "<sip:bob@127.0.0.1>;tag=" + a_ok.to_tag();
    deliver(in_dialog("INFO", "sip:127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-i1",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1", a_to, "call-1@client.example",
                      12, "Signal=5\r\n", "Content-Type: application/dtmf-relay\r\n"),
            k_caller);
    msg info = take(k_callee);
    EXPECT_EQ(info->method(), method::info);
    EXPECT_EQ(info.header(header_id::content_type), "application/dtmf-relay");
    EXPECT_EQ(info->body(), "Signal=5\r\n");
    deliver(response(info, 200, "OK", ""), k_callee);
    msg ok = take(k_caller);
    EXPECT_EQ(ok->status_code(), 200);
    EXPECT_EQ(ok->cseq()->number, 12u);
    // A CSeq lower than the last one in this dialog: 500 (RFC 3261 s12.2.2).
    deliver(in_dialog("INFO", "sip:127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-i0",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1", a_to, "call-1@client.example",
                      5),
            k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 500);
    expect_idle();
}

TEST_F(B2bEngine, InDialog481EndsTheCall) {
    auto [b_inv, a_ok] = answered_call();
    const std::string a_to = "<sip:bob@127.0.0.1>;tag=" + a_ok.to_tag();
    deliver(in_dialog("INFO", "sip:127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-x1",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1", a_to, "call-1@client.example",
                      12),
            k_caller);
    msg info = take(k_callee);
    deliver(response(info, 481, "Call/Transaction Does Not Exist", ""), k_callee);
    EXPECT_EQ(take(k_caller)->status_code(), 481);
    // The callee forgot the call: the caller gets a BYE, the callee's side is ended too.
    msg bye_a = take(k_caller);
    EXPECT_EQ(bye_a->method(), method::bye);
    msg bye_b = take(k_callee);
    EXPECT_EQ(bye_b->method(), method::bye);
    deliver(response(bye_a, 200, "OK", ""), k_caller);
    deliver(response(bye_b, 481, "Call/Transaction Does Not Exist", ""), k_callee);
    EXPECT_EQ(eng->calls_active(), 0u);
    expect_all_released();
}

TEST_F(B2bEngine, ForkedEarlyDialogsGetDistinctCallerTags) {
    deliver(invite("call-f@client.example", "z9hG4bK-f1"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    deliver(response(b_inv, 183, "Session Progress", "fork-1", k_sdp_b), k_callee);
    msg e1 = take(k_caller);
    deliver(response(b_inv, 183, "Session Progress", "fork-2", k_sdp_b), k_callee);
    msg e2 = take(k_caller);
    EXPECT_EQ(e1->status_code(), 183);
    EXPECT_EQ(e1->body(), k_sdp_b);
    EXPECT_FALSE(e1.to_tag().empty());
    EXPECT_FALSE(e2.to_tag().empty());
    EXPECT_NE(e1.to_tag(), e2.to_tag());
    // UPDATE in the second early dialog reaches fork-2.
    deliver(in_dialog("UPDATE", "sip:127.0.0.1:5060",
                      "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-up",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1",
                      "<sip:bob@127.0.0.1>;tag=" + e2.to_tag(), "call-f@client.example", 11, k_sdp),
            k_caller);
    msg up = take(k_callee);
    EXPECT_EQ(up->method(), method::update);
    EXPECT_EQ(up.to_tag(), "fork-2");
    deliver(response(up, 200, "OK", "", k_sdp_b), k_callee);
    EXPECT_EQ(take(k_caller)->status_code(), 200);
    // fork-2 answers: the caller's dialog is the one it saw for fork-2.
    deliver(response(b_inv, 200, "OK", "fork-2", k_sdp_b), k_callee);
    msg ok = take(k_caller);
    EXPECT_EQ(ok->status_code(), 200);
    EXPECT_EQ(ok.to_tag(), e2.to_tag());
    // A late 200 from fork-1 is ACKed and hung up (RFC 3261 s13.2.2.4).
    deliver(response(b_inv, 200, "OK", "fork-1", k_sdp_b), k_callee);
    msg ack = take(k_callee);
    EXPECT_EQ(ack->method(), method::ack);
    EXPECT_EQ(ack.to_tag(), "fork-1");
    msg bye = take(k_callee);
    EXPECT_EQ(bye->method(), method::bye);
    EXPECT_EQ(bye.to_tag(), "fork-1");
    expect_idle();
}

TEST_F(B2bEngine, MissingAckEndsTheCall) {
    deliver(invite("call-na@client.example", "z9hG4bK-na"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    deliver(response(b_inv, 200, "OK", "b-na", k_sdp_b), k_callee);
    (void)take(k_caller);
    advance(33000); // 64*T1 without the caller's ACK
    bool bye_to_callee = false;
    while (!net.out.empty()) {
        sent s = net.out.front();
        net.out.pop_front();
        msg m(s.bytes);
        if (s.dest == k_callee && m->is_request() && m->method() == method::bye)
            bye_to_callee = true;
    }
    EXPECT_TRUE(bye_to_callee);
    advance(40000);
    net.out.clear();
    EXPECT_EQ(eng->calls_active(), 0u);
}

TEST_F(B2bEngine, CallTableFullGets503WithRetryAfter) {
    for (int i = 0; i < 64; ++i) {
        deliver(invite("full-" + std::to_string(i) + "@c", "z9hG4bK-full" + std::to_string(i)),
                k_caller);
    }
    EXPECT_EQ(eng->calls_active(), 64u);
    net.out.clear();
    deliver(invite("one-more@c", "z9hG4bK-more"), k_caller);
    msg out = take(k_caller);
    EXPECT_EQ(out->status_code(), 503);
    EXPECT_EQ(out.header(header_id::retry_after), "5");
    EXPECT_EQ(eng->stats().calls_refused_full, 1u);
}

// Finished transactions linger 64*T1, so under overload the transaction table fills before the
// call table. New calls must be refused while every call already up can still be hung up: a
// BYE refused with 503 would leave the other leg up.
TEST_F(B2bEngine, NewCallsRefusedBeforeTheTransactionsToEndCallsInProgressRunOut) {
    engine_config cfg = base_config();
    cfg.max_calls = 1000; // the transaction table is the limit
    cfg.txn.max_transactions = 256;
    eng = std::make_unique<engine>(cfg, net, *scen, policy, k_key, now);
    struct up_call {
        std::string call_id;
        std::string a_to_tag;
    };
    std::vector<up_call> up;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = "cap-" + std::to_string(i) + "@c";
        deliver(invite(id, "z9hG4bK-cap" + std::to_string(i)), k_caller);
        msg first = take(k_caller);
        if (first->status_code() == 503) {
            EXPECT_EQ(first.header(header_id::retry_after), "5");
            break;
        }
        ASSERT_EQ(first->status_code(), 100);
        msg b_inv = take(k_callee);
        deliver(response(b_inv, 200, "OK", "b-" + std::to_string(i), k_sdp_b), k_callee);
        msg ok = take(k_caller);
        ASSERT_EQ(ok->status_code(), 200);
        deliver(in_dialog("ACK", "sip:127.0.0.1:5060",
                          "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-ack" + std::to_string(i),
                          "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1",
                          "<sip:bob@127.0.0.1>;tag=" + ok.to_tag(), id, 10),
                k_caller);
        ASSERT_EQ(take(k_callee)->method(), method::ack);
        up.push_back({id, ok.to_tag()});
    }
    // Two transactions per call up (its INVITEs), two in reserve to end it: 256 / 4 calls.
    EXPECT_EQ(up.size(), 64u);
    EXPECT_EQ(eng->stats().calls_refused_full, 1u);
    EXPECT_EQ(eng->calls_active(), up.size());
    // The refusals are stateless: they spend none of the reserve, however many come.
    const size_t txns = eng->transactions_active();
    for (int i = 0; i < 20; ++i) {
        deliver(invite("late-" + std::to_string(i) + "@c", "z9hG4bK-late" + std::to_string(i)),
                k_caller);
        EXPECT_EQ(take(k_caller)->status_code(), 503);
    }
    EXPECT_EQ(eng->transactions_active(), txns);
    EXPECT_EQ(eng->stats().calls_refused_full, 21u);
    net.out.clear();
    // Every caller hangs up at once: each BYE is answered and crosses to the callee.
    int n = 0;
    for (const up_call& c : up) {
        deliver(in_dialog("BYE", "sip:127.0.0.1:5060",
                          "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-bye" + std::to_string(n++),
                          "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1",
                          "<sip:bob@127.0.0.1>;tag=" + c.a_to_tag, c.call_id, 11),
                k_caller);
        msg bye_ok = take(k_caller);
        EXPECT_EQ(bye_ok->status_code(), 200) << c.call_id;
        msg bye = take(k_callee);
        ASSERT_EQ(bye->method(), method::bye) << c.call_id;
        deliver(response(bye, 200, "OK", ""), k_callee);
    }
    EXPECT_EQ(eng->calls_active(), 0u);
    EXPECT_EQ(eng->stats().calls_refused_full, 21u);
    expect_all_released();
}

TEST(B2bAdmission, MaxCpsRefusesTheExcessWith503) {
    recording_transport net;
    default_scenario scen("sip:bob@127.0.0.3:5070", false);
    header_policy_builder pb("p");
    engine_config cfg;
    cfg.max_calls = 64;
    cfg.max_cps = 5;
    cfg.txn.max_transactions = 256;
    cfg.buffers[0] = 512;
    cfg.buffers[1] = 512;
    cfg.buffers[2] = 4;
    cfg.local = k_tandem;
    tick_t now = 1000;
    engine eng(cfg, net, scen, pb.build(), {3, 4}, now);
    int refused = 0;
    auto offer = [&](int i) {
        std::string m =
            invite("rate-" + std::to_string(i) + "@c", "z9hG4bK-rate" + std::to_string(i));
        eng.on_datagram(m.data(), m.size(), k_caller, now);
        while (!net.out.empty()) {
            msg r(net.out.front().bytes);
            if (r->is_response() && r->status_code() == 503) {
                ++refused;
                EXPECT_EQ(r.header(header_id::retry_after), "5");
            }
            net.out.pop_front();
        }
    };
    for (int i = 0; i < 8; ++i)
        offer(i); // a burst of 8 at once: 5 pass, 3 refused
    EXPECT_EQ(refused, 3);
    EXPECT_EQ(eng.stats().calls_refused_rate, 3u);
    now += 400; // 0.4 s later: two more tokens
    refused = 0;
    for (int i = 8; i < 11; ++i)
        offer(i);
    EXPECT_EQ(refused, 1);
    EXPECT_EQ(eng.calls_active(), 7u);
}

// Bridges each call to the target it is told, or rejects it with 503.
class target_scenario final : public scenario {
public:
    void on_initial_invite(engine& e, call_handle call, const message&) override {
        if (!e.bridge(call, target)) e.reject(call, 503, "Service Unavailable");
    }
    std::string target;
};

TEST(B2bBridge, TargetsResolveAsInetPtonReadsTheirHost) {
    // Bridge targets (remembered by their bytes) and the IPv4 hosts read without inet_pton:
    // each target gives the same verdict every time, whatever was resolved in between.
    recording_transport net;
    target_scenario scen;
    header_policy_builder pb("p");
    engine_config cfg;
    cfg.max_calls = 64;
    cfg.txn.max_transactions = 512;
    cfg.buffers[0] = 512;
    cfg.buffers[1] = 512;
    cfg.buffers[2] = 4;
    cfg.local = k_tandem;
    tick_t now = 1000;
    engine eng(cfg, net, scen, pb.build(), {5, 6}, now);
    struct want {
        std::string_view target;
        const char* ip; // nullptr: refused (503 to the caller)
        uint16_t port;
    };
    const want cases[] = {
        {"sip:bob@127.0.0.3:5070", "127.0.0.3", 5070},
        {"sip:bob@127.0.0.3", "127.0.0.3", 5060},
        {"sip:10.1.2.3:5080;transport=udp", "10.1.2.3", 5080},
        {"sip:bob@255.255.255.255:1", "255.255.255.255", 1},
        {"sip:bob@0.0.0.0:5060", "0.0.0.0", 5060},
        {"sips:bob@127.0.0.4:5061", "127.0.0.4", 5061},
        {"sip:bob@[::1]:5070", "::1", 5070},
        {"sip:bob@127.0.0.03:5070", nullptr, 0}, // inet_pton refuses a leading zero
        {"sip:bob@010.0.0.1", nullptr, 0},
        {"sip:bob@256.0.0.1", nullptr, 0},
        {"sip:bob@127.0.0:5060", nullptr, 0},
        {"sip:bob@example.com:5060", nullptr, 0},
        {"tel:+15551234567", nullptr, 0},
    };
    int n = 0;
    for (int round = 0; round < 3; ++round) {
        for (const want& w : cases) {
            scen.target = std::string(w.target);
            const std::string id = "bridge-" + std::to_string(n++);
            const std::string m = invite(id + "@c", "z9hG4bK-" + id);
            eng.on_datagram(m.data(), m.size(), k_caller, now);
            ASSERT_GE(net.out.size(), 2u) << w.target;
            EXPECT_EQ(msg(net.out.front().bytes)->status_code(), 100);
            net.out.pop_front();
            const sent& s = net.out.front();
            if (w.ip == nullptr) {
                EXPECT_EQ(msg(s.bytes)->status_code(), 503) << w.target;
                EXPECT_TRUE(s.dest == k_caller) << w.target;
            } else {
                EXPECT_EQ(msg(s.bytes)->method(), method::invite) << w.target;
                EXPECT_TRUE(s.dest == ep(w.ip, w.port))
                    << w.target << " went to port " << s.dest.port;
            }
            net.out.clear();
        }
        now += 1;
    }
}

TEST(B2bCombinedState, DerivedFromBothLegs) {
    EXPECT_EQ(combine(leg_state::established, leg_state::established), call_state::established);
    EXPECT_EQ(combine(leg_state::established, leg_state::establishing), call_state::establishing);
    EXPECT_EQ(combine(leg_state::terminated, leg_state::established), call_state::terminating);
    EXPECT_EQ(combine(leg_state::terminated, leg_state::terminated), call_state::terminated);
    EXPECT_EQ(combine(leg_state::incoming, leg_state::idle), call_state::incoming);
    EXPECT_EQ(to_string(call_state::established), "established");
}

TEST_F(B2bEngine, ReliableProvisionalsArePrackedOnEachLeg) {
    deliver(invite("call-p@client.example", "z9hG4bK-p1", 70, "Supported: 100rel\r\n"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    EXPECT_EQ(b_inv.header(header_id::supported), "100rel");
    // The callee's reliable 183 with the SDP answer.
    deliver(
        response(b_inv, 183, "Session Progress", "b-p", k_sdp_b, "Require: 100rel\r\nRSeq: 7\r\n"),
        k_callee);
    msg p183 = take(k_caller);
    EXPECT_EQ(p183->status_code(), 183);
    EXPECT_TRUE(p183->has_option_tag(header_id::require, "100rel"));
    ASSERT_TRUE(p183->rseq());
    const uint32_t a_rseq = *p183->rseq();
    EXPECT_EQ(p183->body(), k_sdp_b);
    // Re-sent until the caller's PRACK; the callee's own re-send is absorbed.
    advance(510);
    msg again = take(k_caller);
    EXPECT_EQ(again.bytes, p183.bytes);
    deliver(
        response(b_inv, 183, "Session Progress", "b-p", k_sdp_b, "Require: 100rel\r\nRSeq: 7\r\n"),
        k_callee);
    expect_idle();
    const std::string a_to = "<sip:bob@127.0.0.1>;tag=" + p183.to_tag();
    deliver(in_dialog("PRACK", "sip:127.0.0.1:5060",
                      "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-pr1",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1", a_to, "call-p@client.example",
                      11, "", "RAck: " + std::to_string(a_rseq) + " 10 INVITE\r\n"),
            k_caller);
    msg prack = take(k_callee);
    EXPECT_EQ(prack->method(), method::prack);
    EXPECT_EQ(prack.to_tag(), "b-p");
    ASSERT_TRUE(prack->rack());
    EXPECT_EQ(prack->rack()->rseq, 7u);
    EXPECT_EQ(prack->rack()->cseq, b_inv->cseq()->number);
    deliver(response(prack, 200, "OK", ""), k_callee);
    msg prack_ok = take(k_caller);
    EXPECT_EQ(prack_ok->status_code(), 200);
    EXPECT_EQ(prack_ok->cseq()->method, method::prack);
    advance(2000);
    expect_idle(); // the PRACK stopped the re-sends
    // A PRACK for an RSeq that was never sent: 481.
    deliver(in_dialog("PRACK", "sip:127.0.0.1:5060",
                      "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-pr2",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1", a_to, "call-p@client.example",
                      12, "", "RAck: 1 10 INVITE\r\n"),
            k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 481);
    // The 200 without SDP: the caller still gets the answer it saw in the 183.
    deliver(response(b_inv, 200, "OK", "b-p"), k_callee);
    msg ok = take(k_caller);
    EXPECT_EQ(ok->status_code(), 200);
    EXPECT_EQ(ok->body(), k_sdp_b);
    EXPECT_EQ(ok.to_tag(), p183.to_tag());
}

TEST_F(B2bEngine, ReliableProvisionalForACallerWithout100relIsPrackedByTandem) {
    deliver(invite("call-q@client.example", "z9hG4bK-q1"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    EXPECT_EQ(b_inv->find(header_id::supported), message::npos);
    deliver(response(b_inv, 180, "Ringing", "b-q", "", "Require: 100rel\r\nRSeq: 1\r\n"), k_callee);
    msg prack = take(k_callee);
    EXPECT_EQ(prack->method(), method::prack);
    EXPECT_EQ(prack->rack()->rseq, 1u);
    msg ringing = take(k_caller);
    EXPECT_EQ(ringing->status_code(), 180);
    EXPECT_FALSE(ringing->has_option_tag(header_id::require, "100rel"));
    EXPECT_FALSE(ringing->rseq());
}

// The engine caches the parse of a stored message by (handle, generation): a buffer handed out
// again, or refilled, must never keep its old generation.
TEST(MsgStore, GenerationChangesWhenTheContentMayChange) {
    const uint32_t counts[3] = {1, 0, 0};
    msg_store store(counts);
    uint64_t h = store.alloc(10);
    ASSERT_NE(h, msg_store::npos);
    uint32_t g0 = store.generation(h);
    store.set_length(h, 5);
    uint32_t g1 = store.generation(h);
    EXPECT_NE(g1, g0);
    EXPECT_EQ(store.generation(h), g1); // reading does not change it
    store.ref(h);
    store.unref(h);
    EXPECT_EQ(store.generation(h), g1); // nor do references
    store.unref(h);
    uint64_t again = store.alloc(10);
    ASSERT_EQ(again, h); // the only buffer, reused
    EXPECT_NE(store.generation(again), g1);
    EXPECT_NE(store.generation(again), g0);
}

TEST_F(B2bEngine, AckForA2xxIsResentByteForByteBeforeAndAfterTimerM) {
    auto [b_inv, ok] = answered_call();
    // The first ACK to the callee was taken by answered_call; a retransmitted 200 gets it again.
    deliver(response(b_inv, 200, "OK", "b-tag-1", k_sdp_b), k_callee);
    msg ack1 = take(k_callee);
    EXPECT_EQ(ack1->method(), method::ack);
    expect_idle();
    // Past 64*T1 the B-leg INVITE transaction is gone; a late 200 still gets the same ACK
    // (rebuilt from the dialog and the branch's generator position), and no buffer is held.
    advance(40000);
    net.out.clear();
    EXPECT_EQ(eng->buffers_in_use(), 0u);
    deliver(response(b_inv, 200, "OK", "b-tag-1", k_sdp_b), k_callee);
    msg ack2 = take(k_callee);
    EXPECT_EQ(ack2.bytes, ack1.bytes);
    expect_idle();
    EXPECT_EQ(eng->buffers_in_use(), 0u);
}

TEST_F(B2bEngine, AckWithABodyIsKeptUntilTimerMAndResentByteForByte) {
    // An ACK with a body (as a late offer's answer would be) must reach the callee as sent and
    // be repeated for each retransmitted 200 while the callee may still send them.
    const std::string call_id = "late-1@client.example";
    deliver(invite(call_id, "z9hG4bK-l1", 70), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    deliver(response(b_inv, 200, "OK", "b-tag-1", k_sdp_b), k_callee);
    msg ok = take(k_caller);
    ASSERT_EQ(ok->status_code(), 200);
    deliver(in_dialog("ACK", "sip:127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-l2",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1",
                      "<sip:bob@127.0.0.1>;tag=" + ok.to_tag(), call_id, 10, k_sdp),
            k_caller);
    msg ack = take(k_callee);
    ASSERT_EQ(ack->method(), method::ack);
    EXPECT_EQ(ack->body(), k_sdp);
    const size_t held = eng->buffers_in_use();
    EXPECT_GE(held, 1u);
    deliver(response(b_inv, 200, "OK", "b-tag-1", k_sdp_b), k_callee);
    msg again = take(k_callee);
    EXPECT_EQ(again.bytes, ack.bytes);
    expect_idle();
    // Timer M ends the B-leg INVITE transaction: the kept ACK is released with it.
    advance(40000);
    net.out.clear();
    EXPECT_EQ(eng->buffers_in_use(), 0u);
    EXPECT_EQ(eng->calls_active(), 1u);
}

// A callee that rang, took the CANCEL and never sent the 487: the B-leg INVITE ends 64*T1 after
// the CANCEL (RFC 3261 s9.1) and the call with it (it was held for ever before).
TEST_F(B2bEngine, CancelledCalleeThatNeverAnswersIsGivenUpAfterSixtyFourT1) {
    deliver(invite("call-cs@client.example", "z9hG4bK-cs"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    deliver(response(b_inv, 180, "Ringing", "b-tag-cs"), k_callee);
    (void)take(k_caller);
    advance(60000); // ring timeout: 480 to the caller, CANCEL to the callee
    EXPECT_EQ(take(k_caller)->status_code(), 480);
    msg cancel = take(k_callee);
    ASSERT_EQ(cancel->method(), method::cancel);
    deliver(response(cancel, 200, "OK", ""), k_callee); // and then nothing
    net.out.clear();
    EXPECT_EQ(eng->calls_active(), 1u);
    advance(32000 + 100);
    EXPECT_EQ(eng->calls_active(), 0u);
    expect_all_released();
}

// RFC 3261 s15: the caller may BYE an early dialog. The call ends as a CANCEL would end it:
// 200 to the BYE, 487 to the INVITE, CANCEL to the callee (before: only the 200, and both
// INVITE transactions were left open).
TEST_F(B2bEngine, ByeInAnEarlyDialogEndsTheCallAsACancel) {
    deliver(invite("call-eb@client.example", "z9hG4bK-eb"), k_caller);
    (void)take(k_caller);
    msg b_inv = take(k_callee);
    deliver(response(b_inv, 180, "Ringing", "b-tag-eb"), k_callee);
    msg ringing = take(k_caller);
    ASSERT_EQ(ringing->status_code(), 180);
    deliver(in_dialog("BYE", "sip:127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.2:5061;branch=z9hG4bK-eb2",
                      "\"Alice\" <sip:alice@127.0.0.2>;tag=a-tag-1",
                      "<sip:bob@127.0.0.1>;tag=" + ringing.to_tag(), "call-eb@client.example", 11),
            k_caller);
    msg bye_ok = take(k_caller);
    EXPECT_EQ(bye_ok->status_code(), 200);
    EXPECT_EQ(bye_ok->cseq()->method, method::bye);
    msg term = take(k_caller);
    EXPECT_EQ(term->status_code(), 487);
    EXPECT_EQ(term->cseq()->method, method::invite);
    msg cancel = take(k_callee);
    ASSERT_EQ(cancel->method(), method::cancel);
    EXPECT_EQ(cancel->top_via()->branch, b_inv->top_via()->branch);
    deliver(response(cancel, 200, "OK", ""), k_callee);
    deliver(response(b_inv, 487, "Request Terminated", "b-tag-eb"), k_callee);
    EXPECT_EQ(take(k_callee)->method(), method::ack);
    expect_idle();
    EXPECT_EQ(eng->calls_active(), 0u);
    expect_all_released();
}

namespace {
// Bridges to the callee and limits every call to `seconds` of talk time.
class limited_scenario final : public scenario {
public:
    void on_initial_invite(engine& e, call_handle call, const message&) override {
        ASSERT_TRUE(e.bridge(call, "sip:bob@127.0.0.3:5070"));
        e.limit_duration(call, seconds);
    }
    uint32_t seconds = 5;
};
} // namespace

// The talk-time limit (prepaid, fraud) survives the callee re-sending its 200: an ordinary UDP
// retransmission used to disarm it, and the call then never ended.
TEST_F(B2bEngine, RetransmittedAnswerKeepsTheTalkTimeLimit) {
    limited_scenario limited;
    eng = std::make_unique<engine>(base_config(), net, limited, policy, k_key, now);
    auto [b_inv, ok] = answered_call("call-tl@client.example");
    deliver(response(b_inv, 200, "OK", "b-tag-1", k_sdp_b), k_callee); // a retransmission
    msg ack = take(k_callee);                                          // re-sent ACK
    EXPECT_EQ(ack->method(), method::ack);
    expect_idle();
    advance(5000 + 100);
    msg bye_a = take(k_caller);
    msg bye_b = take(k_callee);
    EXPECT_EQ(bye_a->method(), method::bye);
    EXPECT_EQ(bye_b->method(), method::bye);
}

// A callee's 200 without a To tag (RFC 2543 style) forms no dialog: the B-leg fails with 502
// and the caller hears it. It was taken for "the caller has given up": the caller's INVITE was
// never answered and its server transaction and buffer stayed for ever (found by the engine
// fuzzer).
TEST_F(B2bEngine, AnswerWithoutAToTagFailsTheBLegWith502) {
    deliver(invite("call-nt@client.example", "z9hG4bK-nt"), k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 100);
    msg b_inv = take(k_callee);
    deliver(response(b_inv, 200, "OK", "", k_sdp_b), k_callee);
    msg failed = take(k_caller);
    EXPECT_EQ(failed->status_code(), 502);
    EXPECT_EQ(failed->cseq()->method, method::invite);
    deliver(response(b_inv, 200, "OK", "", k_sdp_b), k_callee); // its retransmission: dropped
    expect_idle();
    advance(64 * 500 + 100);
    EXPECT_EQ(eng->calls_active(), 0u);
    expect_all_released();
}

// The same after the caller's CANCEL and before any provisional: the leg ends with it.
TEST_F(B2bEngine, AnswerWithoutAToTagAfterACancelEndsTheCall) {
    deliver(invite("call-nc@client.example", "z9hG4bK-nc"), k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 100);
    msg b_inv = take(k_callee);
    deliver(cancel_for("call-nc@client.example", "z9hG4bK-nc"), k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 200);
    EXPECT_EQ(take(k_caller)->status_code(), 487);
    deliver(response(b_inv, 200, "OK", "", k_sdp_b), k_callee);
    EXPECT_EQ(eng->calls_active(), 0u);
    advance(64 * 500 + 100);
    expect_all_released();
}

// With no buffer for the caller's 200 the call cannot be answered: the callee's answer is ACKed
// and hung up, the call counts as failed, and the caller's INVITE transaction ends after 64*T1.
// The 2xx path used to mark the caller answered anyway: its INVITE stayed open for ever.
TEST_F(B2bEngine, NoBufferForTheCallersAnswerHangsUpTheCallee) {
    engine_config cfg = base_config();
    cfg.buffers[2] = 0; // no buffer for a 200 over 2 KiB
    eng = std::make_unique<engine>(cfg, net, *scen, policy, k_key, now);
    deliver(invite("call-nb@client.example", "z9hG4bK-nb"), k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 100);
    msg b_inv = take(k_callee);
    std::string big_sdp(k_sdp_b);
    for (int i = 0; i < 150; ++i)
        big_sdp += "a=x-padding:" + std::to_string(i) + "\r\n";
    deliver(response(b_inv, 200, "OK", "b-tag-nb", big_sdp), k_callee);
    expect_answer_hung_up_unbridged();
}

// The caller's CANCEL whose 487 finds no buffer still ends the caller's side: an answer from the
// callee crossing Tandem's CANCEL is ACKed and hung up, never bridged. It was bridged (a 200 to
// the caller whose INVITE had been given up, the call counted both failed and answered).
TEST_F(B2bEngine, AnswerAfterACancelWithoutABufferForThe487IsHungUp) {
    engine_config cfg = base_config();
    cfg.buffers[1] = 3; // the caller's INVITE, its 100 Trying and the callee's INVITE
    cfg.buffers[2] = 0;
    eng = std::make_unique<engine>(cfg, net, *scen, policy, k_key, now);
    // A long Via parameter makes every response to the caller bigger than 512 bytes.
    const std::string branch = "z9hG4bK-nc2;x-pad=" + std::string(400, 'x');
    deliver(invite("call-nc2@client.example", branch), k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 100);
    msg b_inv = take(k_callee);
    deliver(cancel_for("call-nc2@client.example", branch), k_caller); // no buffer for 200, 487
    deliver(response(b_inv, 180, "Ringing", "b-tag-nc2"), k_callee);
    EXPECT_EQ(take(k_callee)->method(), method::cancel);
    expect_idle();
    deliver(response(b_inv, 200, "OK", "b-tag-nc2", k_sdp_b), k_callee); // crosses the CANCEL
    expect_answer_hung_up_unbridged();
}

// An answer the dialog table has no room for (here: a route set too long for a dialog's text)
// fails the B-leg with 500 to the caller; the call was left half open for ever.
TEST_F(B2bEngine, AnswerWithNoRoomForItsDialogFailsTheBLeg) {
    deliver(invite("call-big@client.example", "z9hG4bK-big"), k_caller);
    EXPECT_EQ(take(k_caller)->status_code(), 100);
    msg b_inv = take(k_callee);
    const std::string route = "Record-Route: <sip:" + std::string(1500, 'r') + ".example;lr>\r\n";
    deliver(response(b_inv, 200, "OK", "b-tag-big", k_sdp_b, route), k_callee);
    msg failed = take(k_caller);
    EXPECT_EQ(failed->status_code(), 500);
    expect_idle();
    EXPECT_EQ(eng->calls_active(), 0u);
    advance(64 * 500 + 100);
    expect_all_released();
}
