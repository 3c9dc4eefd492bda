// SIP/SIPS/tel URI parsing (RFC 3261 s19.1, s25.1; RFC 3966; RFC 5118) and s19.1.4 comparison.
#include "sip/uri.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace tandem::sip;

namespace {
uri must_parse(std::string_view s) {
    uri u;
    EXPECT_TRUE(parse_uri(s, u)) << s;
    return u;
}
bool eq(std::string_view a, std::string_view b) {
    uri x = must_parse(a), y = must_parse(b);
    bool r = uri_equal(x, y);
    EXPECT_EQ(r, uri_equal(y, x)) << "not symmetric: " << a << " / " << b;
    return r;
}
} // namespace

TEST(SipUri, Components) {
    uri u = must_parse("sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject="
                       "project%20x&priority=urgent");
    EXPECT_EQ(u.scheme, uri_scheme::sips);
    EXPECT_EQ(u.user, "alice");
    EXPECT_EQ(u.password, "secret");
    EXPECT_EQ(u.host, "atlanta.example.com");
    EXPECT_EQ(u.host_type, host_kind::hostname);
    EXPECT_EQ(u.port, 5061);
    EXPECT_EQ(u.params, "transport=tcp;lr");
    EXPECT_EQ(u.headers, "subject=project%20x&priority=urgent");
    std::string_view v;
    EXPECT_TRUE(find_uri_param(u.params, "TRANSPORT", v));
    EXPECT_EQ(v, "tcp");
    EXPECT_TRUE(find_uri_param(u.params, "lr", v));
    EXPECT_EQ(v, "");
    EXPECT_FALSE(find_uri_param(u.params, "maddr", v));

    uri h = must_parse("sip:192.0.2.4");
    EXPECT_FALSE(h.has_user);
    EXPECT_EQ(h.host_type, host_kind::ipv4);
    uri s = must_parse("sip:user;par=u%40example.net@example.com");
    EXPECT_EQ(s.user, "user;par=u%40example.net");
    EXPECT_EQ(s.host, "example.com");
}

TEST(SipUri, Ipv6ReferencesRfc5118) {
    uri a = must_parse("sip:[2001:db8::10]:5070");
    EXPECT_EQ(a.host, "[2001:db8::10]");
    EXPECT_EQ(a.host_type, host_kind::ipv6);
    EXPECT_EQ(a.port, 5070);
    uri b = must_parse("sip:[2001:db8::10:5070]");
    EXPECT_FALSE(b.has_port);
    uri c = must_parse("sip:user@[2001:db8:::192.0.2.1]"); // s4.10: tolerated
    EXPECT_EQ(c.host_type, host_kind::ipv6);
    must_parse("sip:ted@[::ffff:192.0.2.2]");
    uri bad;
    EXPECT_FALSE(parse_uri("sip:2001:db8::10", bad));
    EXPECT_FALSE(parse_uri("sip:[2001:db8::10", bad));
    EXPECT_FALSE(parse_uri("sip:[zz::1]", bad));
}

TEST(SipUri, TelUris) {
    uri t = must_parse("tel:+1-201-555-0123;phone-context=example.com");
    EXPECT_EQ(t.scheme, uri_scheme::tel);
    EXPECT_EQ(t.user, "+1-201-555-0123");
    EXPECT_EQ(t.params, "phone-context=example.com");
    EXPECT_TRUE(eq("tel:+1-201-555-0123", "tel:+12015550123"));
    EXPECT_FALSE(eq("tel:+1-201-555-0123", "tel:+12015550124"));
    uri bad;
    EXPECT_FALSE(parse_uri("tel:", bad));
    EXPECT_FALSE(parse_uri("tel:12 34", bad));
}

TEST(SipUri, OtherSchemesAndSyntaxErrors) {
    uri o = must_parse("soap.beep://192.0.2.103:3002");
    EXPECT_EQ(o.scheme, uri_scheme::other);
    EXPECT_EQ(o.scheme_name, "soap.beep");
    EXPECT_EQ(o.opaque, "//192.0.2.103:3002");
    must_parse("isbn:2983792873");
    uri bad;
    for (const char* s : {"", "sip:", "sip", ":x", "1sip:a@b", "sip:a@b:port", "sip:a@b:99999",
                          "sip:a@", "sip:@b", "sip:a@b;", "sip:a@b?x", "sip:a%4@b", "sip:a@b c",
                          "sip:a@b;p=<x>", "sip:a@-b", "sip:a@b..c", "http:a b"}) {
        EXPECT_FALSE(parse_uri(s, bad)) << s;
    }
}

TEST(SipUri, ComparisonRulesRfc3261_19_1_4) {
    // The examples of RFC 3261 s19.1.4.
    EXPECT_TRUE(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
    EXPECT_TRUE(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
    EXPECT_TRUE(eq("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
    EXPECT_TRUE(eq("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"));
    EXPECT_TRUE(eq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                   "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
    EXPECT_TRUE(eq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                   "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
    EXPECT_FALSE(eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
    EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
    EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
    EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
    EXPECT_FALSE(eq("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
    EXPECT_FALSE(eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
    EXPECT_FALSE(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
    EXPECT_FALSE(eq("sip:a@b", "sips:a@b"));
    EXPECT_FALSE(eq("sip:a:pw@b", "sip:a@b"));
    EXPECT_FALSE(eq("sip:a@b;maddr=1.2.3.4", "sip:a@b"));
    // User part is case-sensitive; escaped equals unescaped.
    EXPECT_FALSE(eq("sip:Alice@b", "sip:alice@b"));
    EXPECT_TRUE(eq("sip:I%20have%20spaces@example.net", "sip:I%20have%20spaces@EXAMPLE.net"));
    EXPECT_TRUE(eq("sip:%75se%72@example.com", "sip:user@example.com"));
    EXPECT_TRUE(eq("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31",
                   "sip:caller@host5.example.net;lr;name=value%2541"));
    EXPECT_FALSE(eq("sip:a@b;lr", "sip:a@b;lr?x=1"));
}

TEST(SipUri, UnescapedEqual) {
    EXPECT_TRUE(unescaped_equal("a%41", "aA", false));
    EXPECT_TRUE(unescaped_equal("%61", "A", true));
    EXPECT_FALSE(unescaped_equal("%61", "A", false));
    EXPECT_TRUE(unescaped_equal("%00", std::string_view("\0", 1), false));
    EXPECT_TRUE(unescaped_equal("50%", "50%", false)); // a stray % is itself
    EXPECT_FALSE(unescaped_equal("ab", "abc", false));
}

// parse_uri takes a one-walk path for `sip:user@host[:port][;params]`; these are the edges of
// that shape, each of which must come out as the full RFC 3261 s25 grammar says.
TEST(SipUri, CommonShapeEdgesMatchTheGrammar) {
    uri u = must_parse("SIP:bob@127.0.0.1:5060");
    EXPECT_EQ(u.scheme, uri_scheme::sip);
    EXPECT_EQ(u.scheme_name, "SIP");
    EXPECT_TRUE(u.has_user);
    EXPECT_EQ(u.user, "bob");
    EXPECT_EQ(u.host, "127.0.0.1");
    EXPECT_EQ(u.host_type, host_kind::ipv4);
    EXPECT_TRUE(u.has_port);
    EXPECT_EQ(u.port, 5060);
    EXPECT_EQ(u.params, "");
    EXPECT_FALSE(u.has_headers);

    uri p = must_parse("sip:+1-555/x&=+$,@carrier.example.net;user=phone;lr");
    EXPECT_EQ(p.user, "+1-555/x&=+$,");
    EXPECT_EQ(p.host_type, host_kind::hostname);
    EXPECT_FALSE(p.has_port);
    EXPECT_EQ(p.params, "user=phone;lr");

    uri h = must_parse("sip:example.com:65535");
    EXPECT_FALSE(h.has_user);
    EXPECT_EQ(h.port, 65535);
    EXPECT_EQ(must_parse("sip:u@h:005060").port, 5060); // six digits, leading zeros
    EXPECT_EQ(must_parse("sip:1.2.3").host_type, host_kind::hostname);
    EXPECT_EQ(must_parse("sip:u@h;a=").params, "a=");
    EXPECT_EQ(must_parse("sip:a%40b@h").user, "a%40b");
    EXPECT_EQ(must_parse("sip:u;x=1@h").user, "u;x=1");
    EXPECT_EQ(must_parse("sip:u:pw@h").password, "pw");
    EXPECT_EQ(must_parse("sip:u@[::1]:5060").host_type, host_kind::ipv6);
    EXPECT_EQ(must_parse("sip:u@h;a=%41").params, "a=%41");

    uri bad;
    for (std::string_view s :
         {"sip:u@h:65536", "sip:u@h:0050600", "sip:u@1.2.3.256", "sip:u@1.2.3.0001", "sip:@h",
          "sip:u@", "sip:u@h:", "sip:u@h;", "sip:u@h;;a", "sip:u@h;=a", "sip:u@h;a==b",
          "sip:u@a..b", "sip:u@-a", "sip:u@.a", "sip:u@h@g", "sip:u[@h", "sip:u@h x", "sip:"})
        EXPECT_FALSE(parse_uri(s, bad)) << s;
    EXPECT_TRUE(parse_uri("sip:u@h;a=b?x=y", bad));
    EXPECT_TRUE(bad.has_headers);

    // Hosts of digits and dots (the fast walk's IPv4 groups): the full grammar's verdict and
    // host kind.
    for (std::string_view host : {"1.2.3.4",
                                  "255.255.255.255",
                                  "0.0.0.0",
                                  "256.1.1.1",
                                  "1.2.3.",
                                  ".1.2.3",
                                  "1..2.3",
                                  "1.2..3",
                                  "1.2.3..",
                                  "1.2.3.4.5",
                                  "1.2",
                                  "12345",
                                  "1",
                                  "1.",
                                  "01.02.03.04",
                                  "1234.1.1.1",
                                  "99999999999.1.1.1",
                                  "1.2.3.4444",
                                  "1...",
                                  "...",
                                  "1.2.3.4.",
                                  "10.0.0.1",
                                  "127.0.0.1",
                                  "192.168.100.200",
                                  "1.22.333.4",
                                  "256.0.0.10",
                                  "10.0.0.256",
                                  "10.0.0.10.",
                                  "10..0.0.1",
                                  ".10.0.0.1",
                                  "10.0.0..1",
                                  "100.100.100.100",
                                  "100.100.100.1000",
                                  "1000.1.1.1",
                                  "10.0.0.0.1",
                                  "12345678",
                                  "1.2.3456"}) {
        for (std::string_view prefix : {"sip:", "sip:u@"}) {
            const std::string text = std::string(prefix) + std::string(host);
            uri fast, ref;
            const bool ok = parse_uri(text, fast);
            ASSERT_EQ(ok, detail::parse_uri_reference(text, ref)) << text;
            if (ok) {
                EXPECT_EQ(fast.host, ref.host) << text;
                EXPECT_EQ(fast.host_type, ref.host_type) << text;
            }
        }
    }
}

// parse_uri's one-walk path gives the full grammar's result, and parse_uri_scheme (semantic_check's
// Request-URI check) parse_uri's verdict, scheme and has_headers, on the common shape, its edges,
// the other schemes and every one-byte mutation of them.
TEST(SipUri, SchemeOnlyCheckMatchesParseUri) {
    const std::vector<std::string> bases = {
        "sip:+15551234567@carrier.example.net:5060;user=phone",
        "SIP:bob@127.0.0.1:5060",
        "sip:u@h;a=b?x=y",
        "sips:a@b",
        "tel:+1-555-0100;phone-context=example.com",
        "urn:service:sos",
        "sip:u:pw@[::1]:5060;lr",
        "sip:a%40b@h",
        "sip:198.51.100.10:5060",
        "sip:alice@198.51.100.10;transport=udp",
        "sip:u@1.2.3;x",
        "sip:u@a-b.c-d.example.com:5;lr;x=y",
        "sip:bob@203.0.113.20:5060",
        "sip:127.0.0.1:5060;lr;x=a@b",
        "sip:host.example;a=1@2",
        "sip:u@a.bb.ccc.dddd.eeeee.ffffff.ggggggg.hhhhhhhh.i",
    };
    const std::string bytes = "@:;?=.%[]-x9 \"<>";
    std::vector<std::string> all;
    for (const std::string& b : bases) {
        all.push_back(b);
        for (size_t i = 0; i < b.size(); ++i) {
            all.push_back(b.substr(0, i) + b.substr(i + 1));
            for (char c : bytes) {
                std::string r = b;
                r[i] = c;
                all.push_back(r);
            }
        }
    }
    // The scheme is one folded 4-byte compare: every byte value at each of its positions.
    for (size_t i = 0; i < 4; ++i)
        for (unsigned c = 0; c < 256; ++c) {
            std::string r = "sIp:u@h";
            r[i] = static_cast<char>(c);
            all.push_back(r);
        }
    size_t accepted = 0;
    const auto same = [](std::string_view a, std::string_view b) {
        return a.size() == b.size() && (a.empty() || a.data() == b.data());
    };
    for (const std::string& s : all) {
        // The one-walk path against the full grammar: same verdict, same fields.
        uri f, r;
        const bool fast = parse_uri(s, f);
        ASSERT_EQ(detail::parse_uri_reference(s, r), fast) << s;
        if (fast) {
            EXPECT_EQ(f.scheme, r.scheme) << s;
            EXPECT_TRUE(same(f.scheme_name, r.scheme_name)) << s;
            EXPECT_TRUE(same(f.user, r.user)) << s;
            EXPECT_TRUE(same(f.password, r.password)) << s;
            EXPECT_EQ(f.has_user, r.has_user) << s;
            EXPECT_EQ(f.has_password, r.has_password) << s;
            EXPECT_TRUE(same(f.host, r.host)) << s;
            EXPECT_EQ(f.host_type, r.host_type) << s;
            EXPECT_EQ(f.port, r.port) << s;
            EXPECT_EQ(f.has_port, r.has_port) << s;
            EXPECT_TRUE(same(f.params, r.params)) << s;
            EXPECT_TRUE(same(f.headers, r.headers)) << s;
            EXPECT_EQ(f.has_headers, r.has_headers) << s;
            EXPECT_TRUE(same(f.opaque, r.opaque)) << s;
        }
        uri u;
        uri_scheme scheme = uri_scheme::other;
        bool has_headers = false;
        const bool full = parse_uri(s, u);
        ASSERT_EQ(parse_uri_scheme(s, scheme, has_headers), full) << s;
        if (!full) continue;
        ++accepted;
        EXPECT_EQ(scheme, u.scheme) << s;
        EXPECT_EQ(has_headers, u.has_headers) << s;
    }
    EXPECT_GT(accepted, 200u);
}
