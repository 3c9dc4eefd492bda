// The message parser: start lines, header index, folding, list splitting, Content-Length
// framing, error reasons and offsets, and each typed header grammar.
#include "sip/message.h"
#include "sip/util/swar.h"
#include "sip/validate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace tandem::sip;

namespace {

struct parsed {
    std::string bytes;
    std::unique_ptr<message> m = std::make_unique<message>();
    parse_result r;
};

parsed parse_text(std::string text, parse_mode mode = parse_mode::datagram) {
    parsed p;
    p.bytes = std::move(text);
    p.r = parse(p.bytes.data(), p.bytes.size(), *p.m, mode);
    return p;
}

const std::string k_invite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    "Supported: 100rel, timer\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n";

} // namespace

TEST(SipParser, ParsesRequestLineAndIndexesHeaders) {
    auto p = parse_text(k_invite);
    ASSERT_TRUE(p.r.ok()) << p.r.reason;
    const message& m = *p.m;
    EXPECT_TRUE(m.is_request());
    EXPECT_EQ(m.method(), method::invite);
    EXPECT_EQ(m.method_name(), "INVITE");
    EXPECT_EQ(m.request_uri(), "sip:bob@biloxi.example.com");
    EXPECT_EQ(m.version(), "SIP/2.0");
    EXPECT_EQ(m.header_count(), 11u); // Supported is split into two slots
    EXPECT_EQ(m.count(header_id::supported), 2u);
    EXPECT_EQ(m.line_count(header_id::supported), 1u);
    EXPECT_TRUE(m.has_option_tag(header_id::supported, "TIMER"));
    EXPECT_FALSE(m.has_option_tag(header_id::supported, "path"));
    EXPECT_EQ(*m.option_tag(header_id::supported, 1), "timer");
    EXPECT_EQ(m.body(), "v=0\n");
    EXPECT_EQ(m.size(), p.bytes.size());
    EXPECT_EQ(p.r.offset, p.bytes.size());
    EXPECT_TRUE(semantic_check(m).ok()) << semantic_check(m).reason;
}

TEST(SipParser, TopViaFromToCallIdCseqAccessors) {
    auto p = parse_text(k_invite);
    const message& m = *p.m;
    const auto& via = m.top_via();
    ASSERT_TRUE(via.ok());
    EXPECT_EQ(via->protocol_name, "SIP");
    EXPECT_EQ(via->protocol_version, "2.0");
    EXPECT_EQ(via->transport, "UDP");
    EXPECT_EQ(via->host, "pc33.atlanta.example.com");
    EXPECT_EQ(via->port, 5060);
    EXPECT_EQ(via->branch, "z9hG4bK776asdhds");
    EXPECT_TRUE(via->rport);
    EXPECT_FALSE(via->has_rport_value);
    EXPECT_EQ(&m.top_via(), &via); // cached
    EXPECT_EQ(m.from()->display_name, "\"Alice\"");
    EXPECT_EQ(m.from()->uri, "sip:alice@atlanta.example.com");
    EXPECT_EQ(m.from()->tag, "1928301774");
    EXPECT_EQ(m.to()->display_name, "Bob");
    EXPECT_FALSE(m.to()->has_tag);
    EXPECT_EQ(*m.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
    EXPECT_EQ(m.cseq()->number, 314159u);
    EXPECT_EQ(m.cseq()->method, method::invite);
    EXPECT_EQ(*m.max_forwards(), 70u);
    EXPECT_EQ(m.content_type()->subtype, "sdp");
    EXPECT_EQ(m.contact(0)->addr.uri, "sip:alice@pc33.atlanta.example.com");
    EXPECT_TRUE(m.contact(1).absent());
    EXPECT_TRUE(m.rack().absent());
}

TEST(SipParser, CompactFormsMapToLongForm) {
    const char* compact = "ifmtvlcskeorbuxyajdn";
    for (const char* c = compact; *c; ++c) {
        header_id id = lookup_header(std::string_view(c, 1));
        EXPECT_NE(id, header_id::unknown) << *c;
        char up = static_cast<char>(*c - 'a' + 'A');
        EXPECT_EQ(lookup_header(std::string_view(&up, 1)), id) << up;
    }
    EXPECT_EQ(lookup_header("i"), header_id::call_id);
    EXPECT_EQ(lookup_header("m"), header_id::contact);
    EXPECT_EQ(lookup_header("e"), header_id::content_encoding);
    EXPECT_EQ(lookup_header("l"), header_id::content_length);
    EXPECT_EQ(lookup_header("f"), header_id::from);
    EXPECT_EQ(lookup_header("t"), header_id::to);
    EXPECT_EQ(lookup_header("v"), header_id::via);
    EXPECT_EQ(lookup_header("s"), header_id::subject);
    EXPECT_EQ(lookup_header("k"), header_id::supported);
    EXPECT_EQ(lookup_header("c"), header_id::content_type);
    EXPECT_EQ(lookup_header("o"), header_id::event);
    EXPECT_EQ(lookup_header("r"), header_id::refer_to);
    EXPECT_EQ(lookup_header("b"), header_id::referred_by);
    EXPECT_EQ(lookup_header("u"), header_id::allow_events);
    EXPECT_EQ(lookup_header("x"), header_id::session_expires);
    EXPECT_EQ(lookup_header("y"), header_id::identity);
    EXPECT_EQ(lookup_header("a"), header_id::accept_contact);
    EXPECT_EQ(lookup_header("j"), header_id::reject_contact);
    EXPECT_EQ(lookup_header("d"), header_id::request_disposition);
    EXPECT_EQ(lookup_header("n"), header_id::identity_info);
    EXPECT_EQ(lookup_header("z"), header_id::unknown);
    EXPECT_EQ(lookup_header("cALL-iD"), header_id::call_id);
    EXPECT_EQ(lookup_header("CSEQ"), header_id::cseq);
    EXPECT_EQ(lookup_header("Call-IDx"), header_id::unknown);
    EXPECT_EQ(lookup_header("X-Call-ID"), header_id::unknown);
    EXPECT_EQ(lookup_header(""), header_id::unknown);
}

TEST(SipParser, EveryCanonicalNameRoundTrips) {
    for (size_t i = 1; i < header_id_count; ++i) {
        auto id = static_cast<header_id>(i);
        std::string_view n = header_name(id);
        ASSERT_FALSE(n.empty()) << i;
        EXPECT_EQ(lookup_header(n), id) << n;
        std::string lower(n);
        for (char& ch : lower)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        EXPECT_EQ(lookup_header(lower), id) << lower;
    }
}

TEST(SipParser, MethodsMapAndUnknownKeptRaw) {
    EXPECT_EQ(lookup_method("INVITE"), method::invite);
    EXPECT_EQ(lookup_method("SUBSCRIBE"), method::subscribe);
    EXPECT_EQ(lookup_method("PUBLISH"), method::publish);
    EXPECT_EQ(lookup_method("invite"), method::other); // methods are case-sensitive
    EXPECT_EQ(lookup_method("FOO"), method::other);
    for (int i = 1; i <= static_cast<int>(method::publish); ++i) {
        auto m = static_cast<method>(i);
        EXPECT_EQ(lookup_method(method_name(m)), m);
    }
}

TEST(SipParser, StatusLine) {
    auto p = parse_text("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                        "Content-Length: 0\r\n\r\n");
    ASSERT_TRUE(p.r.ok());
    EXPECT_TRUE(p.m->is_response());
    EXPECT_EQ(p.m->status_code(), 180);
    EXPECT_EQ(p.m->reason_phrase(), "Ringing");
    EXPECT_EQ(p.m->method_name(), "");
    for (const char* bad :
         {"SIP/2.0 99 Low\r\n\r\n", "SIP/2.0 700 High\r\n\r\n", "SIP/2.0 1000 X\r\n\r\n",
          "SIP/2.0 20 X\r\n\r\n", "SIP/2.0x 200 OK\r\n\r\n"}) {
        auto q = parse_text(bad);
        EXPECT_EQ(q.r.status, parse_status::invalid) << bad;
    }
}

TEST(SipParser, StartLineErrorsHaveReasonAndOffset) {
    struct c {
        const char* text;
        const char* reason;
        uint32_t offset;
    };
    const c cases[] = {
        {"INVITE  sip:a@b SIP/2.0\r\n\r\n", "bad Request-URI", 7},
        {"INVITE sip:a@b SIP/2.0 \r\n\r\n", "bad SIP version", 15},
        {"INVITE <sip:a@b> SIP/2.0\r\n\r\n", "bad Request-URI", 7},
        {"INV(TE sip:a@b SIP/2.0\r\n\r\n", "bad method", 0},
        {"INVITE sip:a@b SIP/2.0\n\r\n", "bad line ending", 22},
        {"INVITE sip:a@b SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n", "bad header name", 24},
        {"INVITE sip:a@b SIP/2.0\r\n: x\r\n\r\n", "bad header name", 24},
        {"INVITE sip:a@b SIP/2.0\r\nl: 10\r\n\r\nabc", "Content-Length larger than message", 27},
        // At the last Content-Length line's value, after a list header's slots.
        {"INVITE sip:a@b SIP/2.0\r\nl: 10\r\nAllow: A, B\r\nContent-Length:  10 \r\n\r\nabc",
         "Content-Length larger than message", 61},
        {"INVITE sip:a@b SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\n", "conflicting Content-Length", 33},
        {"INVITE sip:a@b SIP/2.0\r\nl: 0x10\r\n\r\n", "bad Content-Length", 27},
        {"INVITE sip:a@b SIP/2.0\r\nVia: a,,b\r\n\r\n", "empty list element", 31},
        {"INVITE sip:a@b SIP/2.0\r\nContact: \"a,b\r\n\r\n", "unterminated quoted string", 33},
        {"INVITE sip:a@b SIP/2.0\r\nX: y\r\n", "headers not terminated", 30},
    };
    for (const auto& k : cases) {
        auto p = parse_text(k.text);
        EXPECT_EQ(p.r.status, parse_status::invalid) << k.text;
        EXPECT_STREQ(p.r.reason, k.reason) << k.text;
        EXPECT_EQ(p.r.offset, k.offset) << k.text;
    }
    auto p = parse_text("INVITE sip:a@b SIP/2.0\r\nCSeq: x\r\nl: -1\r\n\r\n");
    char buf[64];
    size_t n = p.r.format(buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n), "bad Content-Length at 36");
}

TEST(SipParser, StreamModeIncompleteAndBodyFraming) {
    std::string msg = "BYE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello";
    auto full = parse_text(msg + "NEXT", parse_mode::stream);
    ASSERT_TRUE(full.r.ok());
    EXPECT_EQ(full.r.offset, msg.size()); // the next message starts here
    EXPECT_EQ(full.m->body(), "hello");
    for (size_t n = 0; n < msg.size(); ++n) {
        auto p = parse_text(msg.substr(0, n), parse_mode::stream);
        EXPECT_EQ(p.r.status, parse_status::incomplete) << n;
    }
    // No Content-Length: a datagram's body runs to the end, a stream's is empty.
    std::string nocl = "BYE sip:a@b SIP/2.0\r\nX: y\r\n\r\nbody";
    EXPECT_EQ(parse_text(nocl).m->body(), "body");
    auto s = parse_text(nocl, parse_mode::stream);
    EXPECT_EQ(s.m->body(), "");
    EXPECT_EQ(s.m->content_length(), -1);
    // A smaller Content-Length cuts the datagram's body (RFC 3261 s18.3).
    auto cut = parse_text("BYE sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhello");
    EXPECT_EQ(cut.m->body(), "he");
}

TEST(SipParser, FoldedHeadersAndListSplitting) {
    auto p = parse_text("OPTIONS sip:a@b SIP/2.0\r\n"
                        "Route: <sip:p1;lr>,\r\n <sip:p2;lr> , \"a, b\" <sip:p3,x>\r\n"
                        "Subject: one\r\n\ttwo\r\n"
                        "Supported:\r\n"
                        "Require: 100rel\r\n"
                        "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
                        "\r\n");
    ASSERT_TRUE(p.r.ok()) << p.r.reason;
    const message& m = *p.m;
    ASSERT_EQ(m.route_count(), 3u);
    EXPECT_EQ(m.route(0)->uri, "sip:p1;lr");
    EXPECT_EQ(m.route(1)->uri, "sip:p2;lr");
    EXPECT_EQ(m.route(2)->uri, "sip:p3,x");
    EXPECT_EQ(m.route(2)->display_name, "\"a, b\"");
    EXPECT_EQ(m.value(m.find(header_id::subject)), "one\r\n\ttwo");
    // The Date header is not a list: its comma stays.
    EXPECT_EQ(m.value(m.find(header_id::date)), "Sat, 13 Nov 2010 23:29:00 GMT");
    // An empty Supported is one empty slot.
    EXPECT_EQ(m.count(header_id::supported), 1u);
    EXPECT_EQ(m.value(m.find(header_id::supported)), "");
    EXPECT_EQ(m.find(header_id::require, 0), m.find("require"));
    EXPECT_EQ(m.find(header_id::route, m.find(header_id::route) + 1), m.nth(header_id::route, 1));
    EXPECT_EQ(m.find(header_id::rack), message::npos);
    EXPECT_EQ(m.nth(header_id::route, 3), message::npos);
}

TEST(SipParser, TooManyHeadersIsAnErrorWithReason) {
    std::string s = "OPTIONS sip:a@b SIP/2.0\r\n";
    for (size_t i = 0; i < message::max_headers; ++i)
        s += "X: y\r\n";
    s += "\r\n";
    EXPECT_TRUE(parse_text(s).r.ok());
    std::string t = "OPTIONS sip:a@b SIP/2.0\r\n";
    for (size_t i = 0; i <= message::max_headers; ++i)
        t += "X: y\r\n";
    t += "\r\n";
    auto p = parse_text(t);
    EXPECT_EQ(p.r.status, parse_status::invalid);
    EXPECT_STREQ(p.r.reason, "too many headers");
}

TEST(SipParser, ViaGrammar) {
    via_value v;
    ASSERT_TRUE(parse_via_value("SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKx;received=192.0.2.1;"
                                "rport=4000;maddr=224.2.0.1;ttl=16",
                                v));
    EXPECT_EQ(v.transport, "TLS");
    EXPECT_EQ(v.host, "[2001:db8::1]");
    EXPECT_EQ(v.port, 5061);
    EXPECT_EQ(v.received, "192.0.2.1");
    EXPECT_TRUE(v.rport);
    EXPECT_EQ(v.rport_value, 4000);
    EXPECT_EQ(v.maddr, "224.2.0.1");
    EXPECT_EQ(v.ttl, 16);
    EXPECT_EQ(v.params.substr(0, 8), ";branch=");
    ASSERT_TRUE(parse_via_value("SIP / 2.0 / UDP\r\n host ; branch = z9hG4bK1", v));
    EXPECT_EQ(v.host, "host");
    EXPECT_EQ(v.branch, "z9hG4bK1");
    EXPECT_FALSE(v.has_port);
    for (const char* bad :
         {"SIP/2.0/UDP", "SIP/2.0 host", "SIP/2.0/UDP host;;branch=x", "SIP/2.0/UDP host;ttl=256",
          "SIP/2.0/UDP host:70000", "SIP/2.0/UDP host;rport=x", "SIP/2.0/UDPhost",
          "SIP/2.0/UDP host junk", "SIP/2.0/UDP host;branch", "SIP/2.0/UDP [::1"}) {
        EXPECT_FALSE(parse_via_value(bad, v)) << bad;
    }
}

TEST(SipParser, NameAddrGrammar) {
    name_addr_value n;
    ASSERT_TRUE(parse_name_addr_value("\"A \\\"q\\\"\" <sip:a@b>;tag=x;foo", n));
    EXPECT_EQ(n.display_name, "\"A \\\"q\\\"\"");
    EXPECT_EQ(n.tag, "x");
    EXPECT_EQ(n.params, ";tag=x;foo");
    ASSERT_TRUE(parse_name_addr_value("sip:a@b;tag=y", n));
    EXPECT_EQ(n.uri, "sip:a@b");
    EXPECT_EQ(n.tag, "y");
    EXPECT_FALSE(n.angle_brackets);
    ASSERT_TRUE(parse_name_addr_value("tok1 tok2<sip:a@b>", n));
    EXPECT_EQ(n.display_name, "tok1 tok2");
    ASSERT_TRUE(parse_name_addr_value("<urn:service:sos>", n));
    EXPECT_EQ(n.uri, "urn:service:sos");
    for (const char* bad :
         {"\"unterminated <sip:a@b>", "Bell, Alexander <sip:a@b>", "< sip:a@b >", "<sip:a@b",
          "sip:a@b?x=y", "<sip:a@b>;tag", "<sip:a@b>;tag=1;tag=2", "<sip:a@b>;;", "noscheme",
          "<:x>", "\"x\" sip:a@b", "<sip:a@b> trailing"}) {
        EXPECT_FALSE(parse_name_addr_value(bad, n)) << bad;
    }
}

TEST(SipParser, CseqCallIdAndNumbers) {
    cseq_value c;
    ASSERT_TRUE(parse_cseq_value("0009\r\n  INVITE", c));
    EXPECT_EQ(c.number, 9u);
    ASSERT_TRUE(parse_cseq_value("2147483647 BYE", c));
    EXPECT_EQ(c.method, method::bye);
    EXPECT_FALSE(parse_cseq_value("2147483648 BYE", c));
    EXPECT_FALSE(parse_cseq_value("1INVITE", c));
    EXPECT_FALSE(parse_cseq_value("1 INVITE x", c));
    EXPECT_FALSE(parse_cseq_value("INVITE", c));
    std::string_view id;
    EXPECT_TRUE(parse_call_id_value(" abc@def ", id));
    EXPECT_EQ(id, "abc@def");
    EXPECT_FALSE(parse_call_id_value("a@b@c", id));
    EXPECT_FALSE(parse_call_id_value("a b", id));
    EXPECT_FALSE(parse_call_id_value("", id));
    uint64_t n;
    EXPECT_TRUE(parse_uint_value("0068", 255, n));
    EXPECT_EQ(n, 68u);
    EXPECT_FALSE(parse_uint_value("256", 255, n));
    EXPECT_FALSE(parse_uint_value("99999999999999999999999", 0xffffffffu, n));
    EXPECT_FALSE(parse_uint_value("-1", 255, n));
}

TEST(SipParser, ContactGrammar) {
    contact_value c;
    ASSERT_TRUE(parse_contact_value("*", c));
    EXPECT_TRUE(c.star);
    ASSERT_TRUE(parse_contact_value("<sip:a@b>;expires=3600;q=0.7", c));
    EXPECT_EQ(c.expires, 3600);
    EXPECT_EQ(c.q, 700);
    ASSERT_TRUE(parse_contact_value("<sip:a@b>;q=1.000", c));
    EXPECT_EQ(c.q, 1000);
    EXPECT_EQ(c.expires, -1);
    EXPECT_FALSE(parse_contact_value("<sip:a@b>;q=1.5", c));
    EXPECT_FALSE(parse_contact_value("<sip:a@b>;q=0.1234", c));
    EXPECT_FALSE(parse_contact_value("<sip:a@b>;expires=4294967296", c));
}

TEST(SipParser, OtherTypedGrammars) {
    media_type_value t;
    ASSERT_TRUE(parse_media_type_value("multipart/mixed;boundary=unique-boundary-1", t));
    EXPECT_EQ(t.type, "multipart");
    EXPECT_EQ(t.params, ";boundary=unique-boundary-1");
    EXPECT_FALSE(parse_media_type_value("application", t));
    // The one-walk shape and the neighbours that the general path decides.
    ASSERT_TRUE(parse_media_type_value("application/sdp", t));
    EXPECT_EQ(t.type, "application");
    EXPECT_EQ(t.subtype, "sdp");
    EXPECT_TRUE(t.params.empty());
    ASSERT_TRUE(parse_media_type_value("text / plain ;charset=utf-8", t));
    EXPECT_EQ(t.type, "text");
    EXPECT_EQ(t.subtype, "plain");
    EXPECT_EQ(t.params, ";charset=utf-8");
    ASSERT_TRUE(parse_media_type_value("text/plain;charset=\"utf-8\"", t));
    EXPECT_EQ(t.params, ";charset=\"utf-8\"");
    EXPECT_FALSE(parse_media_type_value("text/plain;", t));
    EXPECT_FALSE(parse_media_type_value("text/", t));
    EXPECT_FALSE(parse_media_type_value("/plain", t));
    EXPECT_FALSE(parse_media_type_value("text/pl@in", t));
    rack_value r;
    ASSERT_TRUE(parse_rack_value("776656 1 INVITE", r));
    EXPECT_EQ(r.rseq, 776656u);
    EXPECT_EQ(r.cseq, 1u);
    EXPECT_EQ(r.method, method::invite);
    EXPECT_FALSE(parse_rack_value("1 INVITE", r));
    reason_value rv;
    ASSERT_TRUE(parse_reason_value("Q.850 ;cause=16 ;text=\"Normal call clearing\"", rv));
    EXPECT_EQ(rv.protocol, "Q.850");
    EXPECT_EQ(rv.cause, 16);
    EXPECT_EQ(rv.text, "Normal call clearing");
    EXPECT_FALSE(parse_reason_value("SIP;cause=abc", rv));
    session_expires_value se;
    ASSERT_TRUE(parse_session_expires_value("1800;refresher=uac", se));
    EXPECT_EQ(se.seconds, 1800u);
    EXPECT_EQ(se.refresher, "uac");
    EXPECT_FALSE(parse_session_expires_value("1800;refresher=me", se));
    // The one-walk shapes and their neighbours that the general path decides.
    ASSERT_TRUE(parse_session_expires_value("90", se));
    EXPECT_EQ(se.seconds, 90u);
    EXPECT_TRUE(se.refresher.empty());
    EXPECT_TRUE(se.params.empty());
    ASSERT_TRUE(parse_session_expires_value("1800;REFRESHER=UAS", se));
    EXPECT_EQ(se.refresher, "UAS");
    EXPECT_EQ(se.params, ";REFRESHER=UAS");
    ASSERT_TRUE(parse_session_expires_value("4294967295;refresher=uas", se));
    EXPECT_EQ(se.seconds, 4294967295u);
    EXPECT_EQ(se.refresher, "uas");
    EXPECT_FALSE(parse_session_expires_value("4294967296", se));
    EXPECT_FALSE(parse_session_expires_value("1800;refresher=uax", se));
    EXPECT_FALSE(parse_session_expires_value("1800;refresher=", se));
    ASSERT_TRUE(parse_session_expires_value("1800;refresher=uac;x=1", se));
    EXPECT_EQ(se.refresher, "uac");
    EXPECT_EQ(se.params, ";refresher=uac;x=1");
    ASSERT_TRUE(parse_session_expires_value("1800 ;refresher=uac", se));
    EXPECT_EQ(se.refresher, "uac");
    ASSERT_TRUE(parse_session_expires_value("1800;refreshes=uac", se));
    EXPECT_TRUE(se.refresher.empty());
    EXPECT_FALSE(parse_session_expires_value(";refresher=uac", se));
    replaces_value rp;
    ASSERT_TRUE(parse_replaces_value(
        "98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only", rp));
    EXPECT_EQ(rp.call_id, "98732@sip.example.com");
    EXPECT_EQ(rp.from_tag, "r33th4x0r");
    EXPECT_EQ(rp.to_tag, "ff87ff");
    EXPECT_TRUE(rp.early_only);
    EXPECT_FALSE(parse_replaces_value("98732@sip.example.com;to-tag=x", rp));
    std::string_view tag;
    EXPECT_TRUE(parse_token_value(" 100rel ", tag));
    EXPECT_EQ(tag, "100rel");
    EXPECT_FALSE(parse_token_value("a b", tag));
}

TEST(SipParser, TypedAccessorsReportBadAndAbsent) {
    auto p = parse_text("SIP/2.0 200 OK\r\n"
                        "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                        "CSeq: 99999999999 INVITE\r\n"
                        "Max-Forwards: 300\r\n"
                        "RSeq: 5\r\n"
                        "RAck: 5 1 INVITE\r\n"
                        "Session-Expires: 90;refresher=uas\r\n"
                        "Min-SE: 90\r\n"
                        "Expires: 60\r\n"
                        "Refer-To: <sip:c@d?Replaces=abc%40d%3Bto-tag%3D1%3Bfrom-tag%3D2>\r\n"
                        "Referred-By: <sip:e@f>\r\n"
                        "Replaces: abc@d;to-tag=1;from-tag=2\r\n"
                        "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"
                        "P-Asserted-Identity: <sip:+15551234@d>, <tel:+15551234>\r\n"
                        "Record-Route: <sip:rr1;lr>, <sip:rr2;lr>\r\n"
                        "\r\n");
    ASSERT_TRUE(p.r.ok()) << p.r.reason;
    const message& m = *p.m;
    EXPECT_TRUE(m.cseq().bad());
    EXPECT_TRUE(m.max_forwards().bad());
    EXPECT_TRUE(m.call_id().absent());
    EXPECT_EQ(*m.rseq(), 5u);
    EXPECT_EQ(m.rack()->cseq, 1u);
    EXPECT_EQ(m.session_expires()->refresher, "uas");
    EXPECT_EQ(*m.min_se(), 90u);
    EXPECT_EQ(*m.expires(), 60u);
    EXPECT_TRUE(m.refer_to().ok());
    EXPECT_EQ(m.referred_by()->uri, "sip:e@f");
    EXPECT_EQ(m.replaces()->to_tag, "1");
    EXPECT_EQ(m.reason()->cause, 200);
    EXPECT_EQ(m.p_asserted_identity(1)->uri, "tel:+15551234");
    EXPECT_EQ(m.record_route(1)->uri, "sip:rr2;lr");
    EXPECT_EQ(m.record_route_count(), 2u);
    semantic_verdict v = semantic_check(m);
    EXPECT_EQ(v.code, 400);
    EXPECT_STREQ(v.reason, "Missing Call-ID");
}

// The mandatory headers' usual case is one word compare, the rest the ordered table: every
// count 0..2 of Via, From, To, Call-ID and CSeq (in both the request and the response) against
// the table's order: Call-ID, From, To, CSeq (missing or multiple), then Via (missing).
TEST(SipValidate, MandatoryHeaderCounts) {
    struct mandatory {
        const char* line;
        const char* name;
        bool single;
    };
    const mandatory ids[] = {{"Call-ID: x@y\r\n", "Call-ID", true},
                             {"From: <sip:a@example.com>;tag=1\r\n", "From", true},
                             {"To: <sip:b@example.com>\r\n", "To", true},
                             {"CSeq: 1 INVITE\r\n", "CSeq", true},
                             {"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n", "Via", false}};
    for (const char* start : {"INVITE sip:b@example.com SIP/2.0\r\n", "SIP/2.0 200 OK\r\n"}) {
        const bool request = start[0] == 'I';
        for (unsigned combo = 0; combo < 243; ++combo) {
            unsigned n[5];
            std::string text = start;
            for (unsigned k = 0, c = combo; k < 5; ++k, c /= 3) {
                n[k] = c % 3;
                for (unsigned j = 0; j < n[k]; ++j)
                    text += ids[k].line;
            }
            std::string want;
            for (unsigned k = 0; k < 5 && want.empty(); ++k) {
                if (n[k] == 0)
                    want = std::string("Missing ") + ids[k].name;
                else if (n[k] > 1 && ids[k].single)
                    want = std::string("Multiple ") + ids[k].name;
            }
            if (want.empty() && !request && n[4] > 1) want = "More than one Via in response";
            auto p = parse_text(text + "\r\n");
            ASSERT_TRUE(p.r.ok()) << text;
            const semantic_verdict v = semantic_check(*p.m);
            EXPECT_EQ(v.code, want.empty() ? 0 : 400) << text;
            EXPECT_EQ(std::string(v.reason), want) << text;
        }
    }
}

TEST(SipValidate, SemanticRefusals) {
    const std::string base_head = "INVITE sip:b@example.com SIP/2.0\r\n"
                                  "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                                  "From: <sip:a@example.com>;tag=1\r\n"
                                  "To: <sip:b@example.com>\r\n"
                                  "Call-ID: x@y\r\n";
    auto check = [&](const std::string& extra, int code, const char* reason) {
        auto p = parse_text(base_head + extra + "\r\n");
        ASSERT_TRUE(p.r.ok()) << extra << p.r.reason;
        semantic_verdict v = semantic_check(*p.m);
        EXPECT_EQ(v.code, code) << extra;
        EXPECT_STREQ(v.reason, reason) << extra;
    };
    check("CSeq: 1 INVITE\r\nMax-Forwards: 70\r\n", 0, "");
    check("CSeq: 1 INVITE\r\n", 0, ""); // RFC 2543 peers send no Max-Forwards
    check("Max-Forwards: 70\r\n", 400, "Missing CSeq");
    check("CSeq: 1 BYE\r\n", 400, "CSeq method mismatch");
    // Known methods compare as methods, any other by name, exactly (case included).
    check("CSeq: 1 invite\r\n", 400, "CSeq method mismatch");
    check("CSeq: 1 INVITEX\r\n", 400, "CSeq method mismatch");
    for (const auto& [cseq, code] :
         {std::pair<const char*, int>{"FOO", 0}, {"BAR", 501}, {"INVITE", 501}, {"foo", 501}}) {
        auto p = parse_text("FOO" + base_head.substr(6) + "CSeq: 1 " + cseq + "\r\n\r\n");
        ASSERT_TRUE(p.r.ok()) << cseq;
        EXPECT_EQ(semantic_check(*p.m).code, code) << cseq;
    }
    check("CSeq: 1 INVITE\r\nMax-Forwards: 0\r\n", 483, "Too Many Hops");
    check("CSeq: 1 INVITE\r\nRequire: foo\r\n", 420, "Bad Extension");
    check("CSeq: 1 INVITE\r\nRequire: 100rel, timer\r\n", 0, "");
    check("CSeq: 1 INVITE\r\nCall-ID: z@w\r\n", 400, "Multiple Call-ID");
    check("CSeq: 1 INVITE\r\nContact: <sip:a@b>;expires=x\r\n", 400, "bad Contact");
    check("CSeq: 1 INVITE\r\nRAck: 1 INVITE\r\n", 400, "bad RAck");
    check("CSeq: 1 INVITE\r\nDate: Sat, 13 Nov 2010 23:29:00 EST\r\n", 400, "bad Date");
    check("CSeq: 1 INVITE\r\nAccept: text/plain\r\n", 406, "Not Acceptable");
    check("CSeq: 1 INVITE\r\nAccept: application/*\r\n", 0, "");
    auto body =
        parse_text(base_head +
                   "CSeq: 1 INVITE\r\nContent-Type: text/x-nonsense\r\nContent-Length: 1\r\n\r\nx");
    EXPECT_EQ(semantic_check(*body.m).code, 415);
    // Media types compare case-insensitively (RFC 3261 s7.3.1), and only whole names match.
    for (const auto& [type, code] :
         std::initializer_list<std::pair<std::string, int>>{{"Application/SDP", 0},
                                                            {"APPLICATION/VND.ETSI.AOC+XML", 0},
                                                            {"application/Dtmf-Relay", 0},
                                                            {"application/sdpx", 415},
                                                            {"application/sd", 415},
                                                            {"application/dtmf_relay", 415},
                                                            {"applicatio/sdp", 415}}) {
        auto t = parse_text(base_head + "CSeq: 1 INVITE\r\nContent-Type: " + type +
                            "\r\nContent-Length: 1\r\n\r\nx");
        ASSERT_TRUE(t.r.ok()) << type;
        EXPECT_EQ(semantic_check(*t.m).code, code) << type;
    }
    auto ver = parse_text("OPTIONS sip:a@b SIP/3.0\r\n\r\n");
    ASSERT_TRUE(ver.r.ok());
    EXPECT_EQ(semantic_check(*ver.m).code, 505);
    auto scheme = parse_text("OPTIONS mailto:a@b SIP/2.0\r\n\r\n");
    EXPECT_EQ(semantic_check(*scheme.m).code, 416);
    EXPECT_TRUE(option_tag_supported("100REL"));
    EXPECT_FALSE(option_tag_supported("nobodyknowsthistag"));
    for (std::string_view t :
         {"100rel", "timer", "replaces", "norefersub", "path", "gruu", "outbound", "tdialog",
          "histinfo", "precondition", "Timer", "PRECONDITION", "GrUu"})
        EXPECT_TRUE(option_tag_supported(t)) << t;
    for (std::string_view t : {"", "pat", "paths", "timer ", "100rel2", "foo", "replace",
                               "outbounds", "sec-agree", "100re1", "timeR_"})
        EXPECT_FALSE(option_tag_supported(t)) << t;
    // Option tags: a Require the engine does not know is 420 (after every 400); a tag that is
    // not a token is a 400, whatever the header.
    check("CSeq: 1 INVITE\r\nRequire: 100rel, Timer\r\n", 0, "");
    check("CSeq: 1 INVITE\r\nRequire: 100rel, foo\r\n", 420, "Bad Extension");
    check("CSeq: 1 INVITE\r\nRequire: foo\r\nMax-Forwards: 0\r\n", 483, "Too Many Hops");
    check("CSeq: 1 INVITE\r\nRequire: foo\r\nSupported: a b\r\n", 400, "bad option tag");
    check("CSeq: 1 INVITE\r\nSupported: 100rel, a@b\r\n", 400, "bad option tag");
    check("CSeq: 1 INVITE\r\nAllow: INVITE, ACK\r\nSupported:\r\n", 0, "");
    check("CSeq: 1 INVITE\r\nAllow: INVITE, X-FOO, ack\r\n", 0, "");
    check("CSeq: 1 INVITE\r\nAllow: INVITE, AC@K\r\n", 400, "bad option tag");
}

// lookup_header compares names a word at a time: against the byte rule (ASCII letters fold,
// nothing else does), every long name with each byte replaced by each of the 256 values, in
// both cases, must give the id of the canonical name it then equals, or unknown.
TEST(SipParser, HeaderLookupFoldsOnlyAsciiLetters) {
    const auto fold = [](unsigned char c) {
        return static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
    };
    const auto reference = [&](const std::string& s) {
        for (size_t i = 1; i < header_id_count; ++i) {
            std::string_view n = header_name(static_cast<header_id>(i));
            if (n.size() != s.size() || n.size() < 2) continue;
            bool same = true;
            for (size_t k = 0; k < n.size(); ++k)
                same = same && fold(static_cast<unsigned char>(n[k])) ==
                                   fold(static_cast<unsigned char>(s[k]));
            if (same) return static_cast<header_id>(i);
        }
        return header_id::unknown;
    };
    size_t checked = 0;
    for (size_t i = 1; i < header_id_count; ++i) {
        const std::string name(header_name(static_cast<header_id>(i)));
        if (name.size() < 2) continue;
        std::string upper = name, lower = name;
        for (char& c : upper)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (char& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        for (const std::string& base : {name, upper, lower}) {
            ASSERT_EQ(lookup_header(base), static_cast<header_id>(i)) << base;
            for (size_t at = 0; at < base.size(); ++at) {
                for (int b = 0; b < 256; ++b) {
                    std::string s = base;
                    s[at] = static_cast<char>(b);
                    ASSERT_EQ(lookup_header(s), reference(s)) << name << " at " << at << " " << b;
                    ++checked;
                }
            }
        }
    }
    EXPECT_GT(checked, 10000u);
}

// lookup_header_wide (the parser's word-compare lookup) gives lookup_header's answer for every
// token-character name: each known name and compact form in three cases with each byte replaced
// by each token byte, whatever the bytes after the name up to header_name_max are.
TEST(SipParser, WideHeaderLookupMatchesLookupOnTokenNames) {
    std::string token_bytes;
    for (int c = 0; c < 256; ++c) {
        if (std::isalnum(c) ||
            std::string_view("-.!%*_+`'~").find(static_cast<char>(c)) != std::string_view::npos)
            token_bytes += static_cast<char>(c);
    }
    const auto wide = [](const std::string& name, char pad) {
        std::string buf = name + std::string(header_name_max, pad);
        const header_id id = lookup_header_wide(buf.data(), name.size());
        EXPECT_EQ(lookup_header_wide_inline(buf.data(), name.size()), id) << name;
        return id;
    };
    size_t checked = 0;
    for (size_t i = 1; i < header_id_count; ++i) {
        const std::string name(header_name(static_cast<header_id>(i)));
        std::string upper = name, lower = name;
        for (char& c : upper)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (char& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        for (const std::string& base : {name, upper, lower}) {
            ASSERT_EQ(wide(base, ':'), static_cast<header_id>(i)) << base;
            ASSERT_EQ(wide(base, 'a'), static_cast<header_id>(i)) << base;
            ASSERT_EQ(wide(base + "x", ' '), lookup_header(base + "x")) << base;
            ASSERT_EQ(wide(base.substr(1), ' '), lookup_header(base.substr(1))) << base;
            for (size_t at = 0; at < base.size(); ++at) {
                for (char b : token_bytes) {
                    std::string s = base;
                    s[at] = b;
                    ASSERT_EQ(wide(s, ':'), lookup_header(s)) << s;
                    ASSERT_EQ(wide(s, '\xff'), lookup_header(s)) << s;
                    ++checked;
                }
            }
        }
    }
    for (char b : token_bytes) {
        ASSERT_EQ(wide(std::string(1, b), ':'), lookup_header(std::string(1, b))) << b;
        ASSERT_EQ(wide(std::string(2, b), ':'), lookup_header(std::string(2, b))) << b;
    }
    // The parser's inline form, given the line end, answers the same.
    const auto before_colon = [](const std::string& line, size_t& n) {
        std::string buf = line + std::string(header_name_window, 'z');
        size_t n_inline = n;
        const size_t eol = std::min(buf.find_first_of("\r\n"), buf.size());
        const header_id id = lookup_header_before_colon(buf.data(), n);
        EXPECT_EQ(lookup_header_in_line(buf.data(), eol, n_inline), id) << line;
        EXPECT_EQ(n_inline, n) << line;
        return id;
    };
    size_t n = 99;
    EXPECT_EQ(before_colon("vIA: x", n), header_id::via);
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(before_colon("P-Asserted-Identity:x", n), header_id::p_asserted_identity);
    EXPECT_EQ(n, 19u);
    n = 99;
    EXPECT_EQ(before_colon("Via : x", n), header_id::unknown);     // SP before ':'
    EXPECT_EQ(before_colon("Call\rID: x", n), header_id::unknown); // CR folds onto '-'
    EXPECT_EQ(before_colon("X-Custom: x", n), header_id::unknown);
    EXPECT_EQ(before_colon(": x", n), header_id::unknown);
    EXPECT_EQ(before_colon("Via", n), header_id::unknown); // no ':' in the window
    EXPECT_EQ(n, 99u);                                     // untouched when unknown
    EXPECT_EQ(wide("", ':'), header_id::unknown);
    EXPECT_EQ(wide(std::string(header_name_max + 1, 'a'), ':'), header_id::unknown);
    EXPECT_GT(checked, 10000u);
}

// The parser takes "Known-Name:" through a vector ':' search plus lookup_header_wide when 32
// bytes follow the name, and the token scan otherwise. Against the grammar (a token, optional
// SP/HT, ':'), on known names in random case with random bytes put in (CR, LF, SP, HT, ':',
// '_', '@', 0x80, ...), with and without 32 bytes after the name: same verdict, offset and id.
TEST(SipParser, HeaderNamesMatchTheGrammarOnBothPaths) {
    const std::string odd = "\r\n \t:_@-.!~x9\x80\xad\x0d";
    const auto is_token = [](unsigned char c) {
        return std::isalnum(c) ||
               std::string_view("-.!%*_+`'~").find(static_cast<char>(c)) != std::string_view::npos;
    };
    const std::string start = "OPTIONS sip:a@b SIP/2.0\r\n";
    uint32_t rng = 12345;
    const auto next = [&] { return rng = rng * 1103515245u + 12345u, rng >> 8; };
    size_t checked = 0;
    for (size_t i = 1; i < header_id_count; ++i) {
        const std::string base(header_name(static_cast<header_id>(i)));
        for (int round = 0; round < 60; ++round) {
            std::string n = base;
            for (char& c : n)
                c = static_cast<char>(next() % 2 ? std::toupper(c) : std::tolower(c));
            for (unsigned k = next() % 3; k > 0; --k)
                n[next() % n.size()] = odd[next() % odd.size()];
            if (next() % 4 == 0) n += std::string(next() % 3, next() % 2 ? ' ' : '\t');
            if (n[0] == '\r') continue; // that is the end of the headers, not a name
            // The grammar: a token run, SP/HT, then ':'.
            size_t t = 0;
            while (t < n.size() && is_token(static_cast<unsigned char>(n[t])))
                ++t;
            size_t c = t;
            while (c < n.size() && (n[c] == ' ' || n[c] == '\t'))
                ++c;
            const bool want_ok = t > 0 && (c < n.size() ? n[c] == ':' : true);
            // Past a ':' inside n the bytes are value: a bare CR or LF there is another error.
            if (c < n.size() && n.find_first_of("\r\n", c) != std::string::npos && want_ok)
                continue;
            for (const std::string& tail :
                 {std::string("\r\n\r\n"), "\r\nX-Pad: " + std::string(40, 'p') + "\r\n\r\n"}) {
                const std::string text = start + n + ": 0" + tail; // 0: a valid Content-Length too
                auto p = parse_text(text);
                ASSERT_EQ(p.r.ok(), want_ok) << text;
                if (want_ok) {
                    ASSERT_GE(p.m->header_count(), 1u);
                    EXPECT_EQ(p.m->name(p.m->header(0)), n.substr(0, t)) << text;
                    EXPECT_EQ(p.m->header(0).id, lookup_header(n.substr(0, t))) << text;
                } else {
                    EXPECT_STREQ(p.r.reason, "bad header name") << text;
                    EXPECT_EQ(p.r.offset, start.size()) << text;
                }
                ++checked;
            }
        }
    }
    EXPECT_GT(checked, 5000u);
    // CR folds onto '-' under | 0x20: a CR where a known name has '-' is still no name.
    const std::string pad = "\r\nX-Pad: " + std::string(40, 'p') + "\r\n\r\n";
    auto cr = parse_text(start + "Call\rID: 0" + pad);
    EXPECT_STREQ(cr.r.reason, "bad header name");
    EXPECT_EQ(cr.r.offset, start.size());
    auto ok = parse_text(start + "cALL-id: 0" + pad);
    ASSERT_TRUE(ok.r.ok());
    EXPECT_EQ(ok.m->header(0).id, header_id::call_id);
}

// Call-ID = word ["@" word] (RFC 3261 s25.1): the '@' at most once and never at either end.
TEST(SipParser, CallIdIsWordAtWord) {
    std::string_view out;
    for (std::string_view ok :
         {"a", "a@b", " f81d4fae-7dec@foo.bar.com ", "(x)<y>@[::1]", "a@b?c"}) {
        EXPECT_TRUE(parse_call_id_value(ok, out)) << ok;
    }
    EXPECT_TRUE(parse_call_id_value(" a@b\t", out));
    EXPECT_EQ(out, "a@b");
    for (std::string_view bad : {"", " ", "@", "@b", "a@", "a@@b", "a@b@c", "a b", "a@b c", "a;b",
                                 "a@b;c", "a,b", "\xe9"}) {
        EXPECT_FALSE(parse_call_id_value(bad, out)) << bad;
    }
}

// Class runs go four bytes a step: a byte outside the class at any position of a header name,
// a Request-URI or a name-addr URI must still end the run exactly there.
TEST(SipParser, ClassRunsStopAtEveryPosition) {
    for (size_t len = 1; len <= 13; ++len) {
        for (size_t at = 0; at <= len; ++at) {
            std::string name(len, 'x');
            if (at < len) name[at] = '@'; // not a token byte
            parsed p = parse_text("OPTIONS sip:a SIP/2.0\r\n" + name + ": v\r\n\r\n");
            if (at < len) {
                EXPECT_EQ(p.r.status, parse_status::invalid) << name;
                EXPECT_STREQ(p.r.reason, "bad header name") << name;
            } else {
                ASSERT_TRUE(p.r.ok()) << name;
                EXPECT_EQ(p.m->name(p.m->header(0)), name);
            }
            std::string uri = "sip:" + std::string(len, 'u');
            if (at < len) uri[4 + at] = '"'; // not a URI byte
            parsed q = parse_text("OPTIONS " + uri + " SIP/2.0\r\n\r\n");
            EXPECT_EQ(q.r.ok(), at == len) << uri;
            name_addr_value na;
            const std::string addr = "<" + uri + ">;tag=1"; // the views point into it
            EXPECT_EQ(parse_name_addr_value(addr, na), at == len) << uri;
            if (at == len) {
                EXPECT_EQ(na.uri, uri);
                EXPECT_EQ(na.tag, "1");
            }
        }
    }
}

namespace {

// Every view the two parses give must be the same bytes at the same place, not only equal text.
bool same_view(std::string_view a, std::string_view b) {
    return a.size() == b.size() && (a.empty() || a.data() == b.data());
}

// The base values and, for each, every one-byte replacement by a byte that matters to the
// grammars, every one-byte deletion and every one-byte insertion of those bytes.
std::vector<std::string> mutations(const std::vector<std::string>& bases) {
    static const std::string k_bytes = " \t\r\n;=\"[]:\\,<>@?/.A9_-";
    std::vector<std::string> out;
    for (const std::string& b : bases) {
        out.push_back(b);
        for (size_t i = 0; i <= b.size(); ++i) {
            if (i < b.size()) out.push_back(b.substr(0, i) + b.substr(i + 1));
            for (char c : k_bytes) {
                if (i < b.size()) {
                    std::string r = b;
                    r[i] = c;
                    out.push_back(r);
                }
                out.push_back(b.substr(0, i) + c + b.substr(i));
            }
        }
    }
    return out;
}

} // namespace

// parse_via_value's fast path against the reference grammar: same verdict, same fields.
TEST(SipParser, ViaFastPathMatchesReference) {
    const std::vector<std::string> k_bases = {
        "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-524287-1---a8f3c2d1e0b9;rport",
        "SIP/2.0/TCP host.example.com;received=192.0.2.1;rport=5060;maddr=x;ttl=16;BRANCH=z9",
        "SIP/2.0/TLS h:5;x;y=1;branch=a;branch=b;rport;ttl=255;ttl=0",
        "SIP/2.0/UDP h:65535;Received=1.2.3.4;MADDR=m;RPORT=65535",
        "SIP/2.0/UDP h:065536;rport=70000;ttl=256",
        "SIP/2.0/UDP 192.0.2.7;RPort",
        "SIP/2.0/TCP h:5;branch=b;rport",
        "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-1;rport=5060;received=198.51.100.10",
        "SIP/2.0/UDP h;branch=x;received=[::1];rport=1;RECEIVED=a:b;rport=01234",
    };
    size_t accepted = 0;
    for (const std::string& s : mutations(k_bases)) {
        via_value a, b;
        const bool ra = parse_via_value(s, a);
        const bool rb = detail::parse_via_value_reference(s, b);
        ASSERT_EQ(ra, rb) << s;
        if (!ra) continue;
        ++accepted;
        EXPECT_TRUE(same_view(a.protocol_name, b.protocol_name)) << s;
        EXPECT_TRUE(same_view(a.protocol_version, b.protocol_version)) << s;
        EXPECT_TRUE(same_view(a.transport, b.transport)) << s;
        EXPECT_TRUE(same_view(a.host, b.host)) << s;
        EXPECT_TRUE(same_view(a.branch, b.branch)) << s;
        EXPECT_TRUE(same_view(a.received, b.received)) << s;
        EXPECT_TRUE(same_view(a.maddr, b.maddr)) << s;
        EXPECT_TRUE(same_view(a.params, b.params)) << s;
        EXPECT_EQ(a.port, b.port) << s;
        EXPECT_EQ(a.has_port, b.has_port) << s;
        EXPECT_EQ(a.has_branch, b.has_branch) << s;
        EXPECT_EQ(a.has_received, b.has_received) << s;
        EXPECT_EQ(a.has_maddr, b.has_maddr) << s;
        EXPECT_EQ(a.rport, b.rport) << s;
        EXPECT_EQ(a.has_rport_value, b.has_rport_value) << s;
        EXPECT_EQ(a.rport_value, b.rport_value) << s;
        EXPECT_EQ(a.ttl, b.ttl) << s;
    }
    EXPECT_GT(accepted, 1000u);
}

// parse_name_addr_value's fast path against the reference grammar: same verdict, same fields.
TEST(SipParser, NameAddrFastPathMatchesReference) {
    const std::vector<std::string> k_bases = {
        "\"Alice Example\" <sip:+15559876543@pbx.example.com;user=phone>;tag=8f3c2d1e",
        "<sip:+15551234567@carrier.example.net;user=phone>",
        "<SIPS:a@b>;TAG=x;foo;bar=1",
        "\"\" <sip:a@b:5060;transport=udp>;tag=1;tag=2",
        "\"q\\\"x\" <sip:a@b>;tag=t",
        "<tel:+1555>;tag=z",
        "\"J\xc3\xbcrgen M\xc3\xbcller, \xe2\x80\x9c"
        "A\xe2\x80\x9d\" <sip:j@h>;tag=1",
        "\"0123456789abcdefghij\\\"\" <sip:a@b>",
    };
    size_t accepted = 0;
    for (const std::string& s : mutations(k_bases)) {
        name_addr_value a, b;
        const bool ra = parse_name_addr_value(s, a);
        const bool rb = detail::parse_name_addr_value_reference(s, b);
        ASSERT_EQ(ra, rb) << s;
        if (!ra) continue;
        ++accepted;
        EXPECT_TRUE(same_view(a.display_name, b.display_name)) << s;
        EXPECT_TRUE(same_view(a.uri, b.uri)) << s;
        EXPECT_TRUE(same_view(a.tag, b.tag)) << s;
        EXPECT_TRUE(same_view(a.params, b.params)) << s;
        EXPECT_EQ(a.angle_brackets, b.angle_brackets) << s;
        EXPECT_EQ(a.has_tag, b.has_tag) << s;
    }
    EXPECT_GT(accepted, 1000u);
}

// CSeq, Call-ID and the decimal values are scanned as given and trimmed only when that fails:
// the same verdict and fields as on the trimmed value, with LWS of each kind on either side.
TEST(SipParser, UntrimmedScansMatchTrimmed) {
    const auto trimmed = [](std::string_view v) {
        const auto lws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
        while (!v.empty() && lws(v.front()))
            v.remove_prefix(1);
        while (!v.empty() && lws(v.back()))
            v.remove_suffix(1);
        return v;
    };
    std::vector<std::string> all;
    for (const std::string& s : mutations(
             {"1 INVITE", "2147483647 BYE", "3c26700c-7f1a@198.51.100.10", "0068", "4294967295"}))
        for (std::string_view pad : {"", " ", "\t", "\r\n ", "  "}) {
            all.push_back(std::string(pad) + s);
            all.push_back(s + std::string(pad));
            all.push_back(std::string(pad) + s + std::string(pad));
        }
    size_t accepted = 0;
    for (const std::string& s : all) {
        const std::string_view t = trimmed(s);
        cseq_value a, b;
        const bool ra = parse_cseq_value(s, a);
        ASSERT_EQ(ra, parse_cseq_value(t, b)) << s;
        if (ra) {
            ++accepted;
            EXPECT_TRUE(same_view(a.method_name, b.method_name)) << s;
            EXPECT_EQ(a.number, b.number) << s;
            EXPECT_EQ(a.method, b.method) << s;
        }
        std::string_view ia, ib;
        const bool ri = parse_call_id_value(s, ia);
        ASSERT_EQ(ri, parse_call_id_value(t, ib)) << s;
        if (ri) {
            ++accepted;
            EXPECT_TRUE(same_view(ia, ib)) << s;
        }
        for (uint64_t max : {uint64_t{255}, uint64_t{0xffffffffu}}) {
            uint64_t na = 7, nb = 7;
            const bool rn = parse_uint_value(s, max, na);
            ASSERT_EQ(rn, parse_uint_value(t, max, nb)) << s;
            EXPECT_EQ(na, nb) << s;
            accepted += rn;
        }
    }
    EXPECT_GT(accepted, 1000u);
}

// Content-Type: the value as given (its "application/sdp" compare included) against the same
// value behind one SP, which only the general walk takes: same verdict, same fields.
TEST(SipParser, MediaTypeFastPathMatchesGeneralWalk) {
    std::vector<std::string> all = mutations(
        {"application/sdp", "APPLICATION/SDP", "Application/Sdp;x=1", "application/sdpx"});
    const std::string k_sdp = "application/sdp";
    for (unsigned flips = 0; flips < 1u << 15; flips += 97) { // letter cases, a spread of them
        std::string s = k_sdp;
        for (size_t i = 0; i < s.size(); ++i)
            if ((flips >> i) & 1 && s[i] != '/') s[i] = static_cast<char>(s[i] ^ 0x20);
        all.push_back(s);
    }
    size_t accepted = 0;
    for (const std::string& s : all) {
        const std::string padded = " " + s;
        media_type_value a, b;
        const bool ra = parse_media_type_value(s, a);
        ASSERT_EQ(ra, parse_media_type_value(padded, b)) << s;
        if (!ra) continue;
        ++accepted;
        const auto offset = [](std::string_view v, const std::string& base) {
            return v.empty() ? size_t{0} : static_cast<size_t>(v.data() - base.data());
        };
        EXPECT_EQ(a.type, b.type) << s;
        EXPECT_EQ(a.subtype, b.subtype) << s;
        EXPECT_EQ(a.params, b.params) << s;
        EXPECT_EQ(offset(a.type, s) + 1, offset(b.type, padded)) << s;
        EXPECT_EQ(offset(a.subtype, s) + 1, offset(b.subtype, padded)) << s;
    }
    EXPECT_GT(accepted, 300u);
}

// Letters-only list elements (option tags, Allow methods) proved by word compares: every byte
// value at every position of letter runs 4..40 long, against a byte-wise test.
TEST(SipParser, AllLettersWordsMatchByteTest) {
    const auto letter = [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    };
    std::string base;
    for (size_t i = 0; i < 40; ++i)
        base += static_cast<char>(i % 2 ? 'A' + i % 26 : 'z' - i % 26);
    size_t refused = 0;
    for (size_t n = 4; n <= base.size(); ++n)
        for (size_t at = 0; at < n; ++at)
            for (unsigned c = 0; c < 256; ++c) {
                std::string s = base.substr(0, n);
                s[at] = static_cast<char>(c);
                const bool want = letter(static_cast<unsigned char>(c));
                ASSERT_EQ(swar::all_letters(s.data(), s.size()), want)
                    << n << ' ' << at << ' ' << c;
                refused += !want;
            }
    EXPECT_GT(refused, 100000u);
}

// The "byte below n" word test the builder and the SDP scan use: every byte value at every
// position of a word whose other bytes sit at n (the worst case for a borrow) or at 0xff, for
// each bound they use and the extremes, against a byte-wise test.
TEST(SipParser, HasByteBelowMatchesByteTest) {
    for (unsigned n : {1u, 14u, 0x21u, 0x80u})
        for (unsigned fill : {n, 0xffu})
            for (unsigned at = 0; at < 8; ++at)
                for (unsigned c = 0; c < 256; ++c) {
                    unsigned char bytes[8];
                    std::memset(bytes, static_cast<int>(fill), 8);
                    bytes[at] = static_cast<unsigned char>(c);
                    uint64_t w;
                    std::memcpy(&w, bytes, 8);
                    ASSERT_EQ(swar::has_byte_below(w, static_cast<uint8_t>(n)), c < n)
                        << n << ' ' << fill << ' ' << at << ' ' << c;
                }
}

// Four-digit numbers read as one word (a Via port, rport=, a Session-Expires delta): every
// four-byte string of digits and the bytes around the digit range, against the reference
// grammar's byte walk, and every four-digit interval.
TEST(SipParser, FourDigitWordsMatchByteWalk) {
    const std::string bytes = std::string("0159/:; a") + '\x80' + '\xb0' + '\xb9';
    size_t accepted = 0;
    for (char c0 : bytes)
        for (char c1 : bytes)
            for (char c2 : bytes)
                for (char c3 : bytes) {
                    const std::string n = {c0, c1, c2, c3};
                    for (const std::string& s :
                         {"SIP/2.0/UDP h:" + n + ";branch=b", "SIP/2.0/UDP h;rport=" + n,
                          "SIP/2.0/UDP h:" + n + "5;rport=" + n + "0"}) {
                        via_value a, b;
                        const bool ra = parse_via_value(s, a);
                        ASSERT_EQ(ra, detail::parse_via_value_reference(s, b)) << s;
                        if (!ra) continue;
                        ++accepted;
                        EXPECT_EQ(a.port, b.port) << s;
                        EXPECT_EQ(a.has_port, b.has_port) << s;
                        EXPECT_EQ(a.rport_value, b.rport_value) << s;
                        EXPECT_EQ(a.has_rport_value, b.has_rport_value) << s;
                        EXPECT_TRUE(same_view(a.params, b.params)) << s;
                    }
                }
    EXPECT_GT(accepted, 1000u);
    for (unsigned v = 0; v < 10000; ++v) {
        char text[32];
        std::snprintf(text, sizeof(text), "%04u;refresher=uac", v);
        session_expires_value se;
        ASSERT_TRUE(parse_session_expires_value(text, se)) << text;
        EXPECT_EQ(se.seconds, v) << text;
        ASSERT_TRUE(parse_session_expires_value(std::string_view(text, 4), se)) << text;
        EXPECT_EQ(se.seconds, v) << text;
    }
}

// The start line's fast paths (a known method found with one word, "sip:", "SIP/2.0") and the
// byte loops behind them give the same lines the same reading.
TEST(SipParser, RequestLineFastPathsAgreeWithTheGrammar) {
    struct c {
        const char* line;
        method id;
        const char* name;
        const char* uri;
    };
    const c cases[] = {
        {"INVITE sip:a@b SIP/2.0", method::invite, "INVITE", "sip:a@b"},
        {"ACK sips:a@b SIP/2.0", method::ack, "ACK", "sips:a@b"},
        {"invite sip:a@b SIP/2.0", method::other, "invite", "sip:a@b"},
        {"INVITEX sip:a@b SIP/2.0", method::other, "INVITEX", "sip:a@b"},
        {"REGISTER sip:b SIP/2.0", method::register_, "REGISTER", "sip:b"},
        {"SUBSCRIBE SIP:a@b sip/2.0", method::subscribe, "SUBSCRIBE", "SIP:a@b"},
        {"BYE tel:+1555 SIP/02.00", method::bye, "BYE", "tel:+1555"},
        {"X-Y.Z sip:a@b SIP/2.0", method::other, "X-Y.Z", "sip:a@b"},
    };
    for (const auto& k : cases) {
        auto p = parse_text(std::string(k.line) + "\r\n\r\n");
        ASSERT_EQ(p.r.status, parse_status::ok) << k.line;
        EXPECT_EQ(p.m->method(), k.id) << k.line;
        EXPECT_EQ(p.m->method_name(), k.name) << k.line;
        EXPECT_EQ(p.m->request_uri(), k.uri) << k.line;
    }
    for (const char* bad : {"INVITE  sip:a@b SIP/2.0", "INVITE sip:a@b SIP/2.0 ",
                            "INVITE sip:a@b SIP/2", "INV@TE sip:a@b SIP/2.0", "INVITE"}) {
        EXPECT_EQ(parse_text(std::string(bad) + "\r\n\r\n").r.status, parse_status::invalid) << bad;
    }
}
