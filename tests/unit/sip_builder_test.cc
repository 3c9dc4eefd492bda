#include "sip/builder.h"
#include "sip/message.h"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using namespace tandem::sip;
using namespace std::string_view_literals;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << path;
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Same start line, same headers (name as written, id, value, order; Content-Length aside),
// same body; `b`'s Content-Length matches its body.
void expect_same_message(const message& a, const message& b, const std::string& what) {
    EXPECT_EQ(a.start_line(), b.start_line()) << what;
    EXPECT_EQ(a.body(), b.body()) << what;
    EXPECT_EQ(b.content_length(), static_cast<int64_t>(b.body().size())) << what;
    std::vector<std::size_t> ha, hb;
    for (std::size_t i = 0; i < a.header_count(); ++i) {
        if (a.header(i).id != header_id::content_length) ha.push_back(i);
    }
    for (std::size_t i = 0; i < b.header_count(); ++i) {
        if (b.header(i).id != header_id::content_length) hb.push_back(i);
    }
    ASSERT_EQ(ha.size(), hb.size()) << what;
    for (std::size_t k = 0; k < ha.size(); ++k) {
        const header_field& x = a.header(ha[k]);
        const header_field& y = b.header(hb[k]);
        EXPECT_EQ(a.name(x), b.name(y)) << what << " header " << k;
        EXPECT_EQ(x.id, y.id) << what << " header " << k;
        EXPECT_EQ(x.flags, y.flags) << what << " header " << k;
        EXPECT_EQ(a.value(x), b.value(y)) << what << " header " << k;
    }
}

struct manifest_row {
    std::string file;
    std::string expected;
};

std::vector<manifest_row> read_manifest(const std::string& dir, std::size_t file_col,
                                        std::size_t expected_col) {
    std::vector<manifest_row> rows;
    std::istringstream in(read_file(dir + "/MANIFEST.tsv"));
    std::string line;
    std::getline(in, line); // header row
    while (std::getline(in, line)) {
        std::vector<std::string> cols;
        std::size_t b = 0;
        for (;;) {
            const std::size_t t = line.find('\t', b);
            cols.push_back(line.substr(b, t == std::string::npos ? std::string::npos : t - b));
            if (t == std::string::npos) break;
            b = t + 1;
        }
        if (cols.size() > std::max(file_col, expected_col)) {
            rows.push_back({cols[file_col], cols[expected_col]});
        }
    }
    return rows;
}

void round_trip_corpus(const std::string& dir, std::size_t file_col, std::size_t expected_col,
                       std::size_t& done) {
    for (const manifest_row& row : read_manifest(dir, file_col, expected_col)) {
        if (!row.expected.starts_with("valid")) continue;
        std::string file = row.file;
        if (file.starts_with("wire/")) file = file.substr(5);
        const std::string bytes = read_file(dir + "/" + file);
        message src;
        const parse_result pr = parse(bytes.data(), bytes.size(), src);
        EXPECT_TRUE(pr.ok()) << file << ": " << pr.reason << " at " << pr.offset;
        if (!pr.ok()) continue;
        std::vector<char> out(bytes.size() + 64);
        const build_result br = build_from(src, build_edits{}, out.data(), out.size());
        ASSERT_TRUE(br.ok()) << file;
        message again;
        const parse_result pr2 = parse(out.data(), br.length, again);
        ASSERT_TRUE(pr2.ok()) << file << ": " << pr2.reason << " at " << pr2.offset << "\n"
                              << std::string_view(out.data(), br.length);
        EXPECT_EQ(pr2.offset, br.length) << file;
        expect_same_message(src, again, file);
        // Building the rebuilt message again is a fixed point, byte for byte.
        std::vector<char> out2(out.size());
        const build_result br2 = build_from(again, build_edits{}, out2.data(), out2.size());
        ASSERT_TRUE(br2.ok());
        EXPECT_EQ(std::string_view(out.data(), br.length),
                  std::string_view(out2.data(), br2.length));
        ++done;
    }
}

TEST(SipBuilder, RoundTripsEveryValidCorpusMessage) {
    std::size_t done = 0;
    round_trip_corpus(std::string(TANDEM_SOURCE_DIR) + "/tests/corpus/rfc4475", 1, 3, done);
    round_trip_corpus(std::string(TANDEM_SOURCE_DIR) + "/tests/corpus/rfc5118", 2, 4, done);
    EXPECT_GE(done, 30u);
}

TEST(SipBuilder, WritesRequestExactly) {
    std::array<char, 512> buf{};
    message_builder b(buf.data(), buf.size());
    b.request_line("INVITE", "sip:bob@example.com");
    b.header("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds");
    b.header_uint("Max-Forwards", 69);
    b.header_parts("From", {"<sip:alice@example.com>", ";tag=", "1928301774"});
    b.raw_header("X-Folded: a,\r\n b\r\n");
    const build_result r = b.finish("v=0\r\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(std::string_view(buf.data(), r.length),
              "INVITE sip:bob@example.com SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"
              "Max-Forwards: 69\r\n"
              "From: <sip:alice@example.com>;tag=1928301774\r\n"
              "X-Folded: a,\r\n b\r\n"
              "Content-Length: 5\r\n\r\nv=0\r\n");
    message m;
    ASSERT_TRUE(parse(buf.data(), r.length, m).ok());
    EXPECT_EQ(m.from()->tag, "1928301774");
    EXPECT_EQ(m.max_forwards().value, 69u);
}

TEST(SipBuilder, PrecheckedFormsWriteWhatTheCheckedFormsWrite) {
    std::array<char, 512> a{}, b{};
    message_builder x(a.data(), a.size()), y(b.data(), b.size());
    x.status_line(180, "Ringing");
    y.status_line(180, "Ringing");
    for (uint64_t v : {uint64_t{0}, uint64_t{7}, uint64_t{70}, uint64_t{18446744073709551615u}}) {
        x.header_uint("Max-Forwards", v);
        y.prechecked_header_uint("Max-Forwards", v);
    }
    x.header_parts("CSeq", {"2", " ", "BYE"});
    y.prechecked_header_parts("CSeq", {"2", " ", "BYE"});
    const build_result rx = x.finish(), ry = y.finish();
    ASSERT_TRUE(rx.ok());
    ASSERT_TRUE(ry.ok());
    EXPECT_EQ(std::string_view(a.data(), rx.length), std::string_view(b.data(), ry.length));
    EXPECT_EQ(std::string_view(b.data(), ry.length),
              "SIP/2.0 180 Ringing\r\nMax-Forwards: 0\r\nMax-Forwards: 7\r\nMax-Forwards: 70\r\n"
              "Max-Forwards: 18446744073709551615\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n");
    // Before a start line, or after finish(), it is bad input like header_uint.
    message_builder z(a.data(), a.size());
    z.prechecked_header_uint("Max-Forwards", 1);
    EXPECT_EQ(z.status(), build_status::bad_input);
    // Overflow is reported with the size needed.
    message_builder small(a.data(), 30);
    small.status_line(200, "OK");
    small.prechecked_header_uint("Max-Forwards", 70);
    EXPECT_EQ(small.status(), build_status::overflow);
}

TEST(SipBuilder, WritesResponseWithoutBody) {
    std::array<char, 128> buf{};
    message_builder b(buf.data(), buf.size());
    b.status_line(180, "Ringing");
    b.header("CSeq", "1 INVITE");
    const build_result r = b.finish();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(std::string_view(buf.data(), r.length),
              "SIP/2.0 180 Ringing\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
}

// The prechecked writers write what header() / header_parts() write, overflow the same way, and
// still refuse a header before the start line.
TEST(SipBuilder, PrecheckedHeadersWriteWhatCheckedOnesWrite) {
    const auto build = [](char* out, std::size_t cap, bool prechecked) {
        message_builder b(out, cap);
        b.request_line("BYE", "sip:x@example.com");
        if (prechecked) {
            b.prechecked_header("Call-ID", "abc@host");
            b.prechecked_header_parts("From", {"<sip:a@h>", ";tag=", "t1"});
            b.prechecked_header("Subject", "folded\r\n line");
        } else {
            b.header("Call-ID", "abc@host");
            b.header_parts("From", {"<sip:a@h>", ";tag=", "t1"});
            b.header("Subject", "folded\r\n line");
        }
        return b.finish();
    };
    std::array<char, 256> a{}, c{};
    const build_result ra = build(a.data(), a.size(), true);
    const build_result rc = build(c.data(), c.size(), false);
    ASSERT_TRUE(ra.ok());
    ASSERT_TRUE(rc.ok());
    EXPECT_EQ(std::string_view(a.data(), ra.length), std::string_view(c.data(), rc.length));
    for (std::size_t cap = 0; cap < ra.length; ++cap) {
        std::vector<char> small(cap + 1, '#');
        const build_result r = build(small.data(), cap, true);
        EXPECT_EQ(r.status, build_status::overflow) << cap;
        EXPECT_EQ(small[cap], '#') << "wrote past capacity " << cap;
    }
    message_builder early(a.data(), a.size());
    early.prechecked_header("Call-ID", "abc@host");
    EXPECT_EQ(early.finish().status, build_status::bad_input);
}

// Every capacity below the full size is an overflow, never an ok with a cut message.
TEST(SipBuilder, OverflowAtEveryCapacity) {
    const auto build = [](char* out, std::size_t cap) {
        message_builder b(out, cap);
        b.request_line("OPTIONS", "sip:x@example.com");
        b.header("Call-ID", "abc@host");
        b.header_uint("CSeq-Extra", 12345);
        b.header_parts("Via", {"SIP/2.0/UDP h", ";branch=", "z9hG4bK1"});
        b.replace_header("Call-ID", "longer-call-id@host");
        return b.finish("hello body");
    };
    std::array<char, 256> full{};
    const build_result ok = build(full.data(), full.size());
    ASSERT_TRUE(ok.ok());
    for (std::size_t cap = 0; cap < ok.length; ++cap) {
        std::vector<char> small(cap + 1, '#');
        const build_result r = build(small.data(), cap);
        EXPECT_EQ(r.status, build_status::overflow) << cap;
        EXPECT_GT(r.length, cap) << cap;
        EXPECT_EQ(small[cap], '#') << "wrote past capacity " << cap;
    }
    std::vector<char> exact(ok.length);
    const build_result r = build(exact.data(), exact.size());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(std::string_view(exact.data(), r.length), std::string_view(full.data(), ok.length));
}

// Header lines are copied by size class (up to 32 and 64 bytes without a call, longer ones out
// of line): every name and part length across those bounds gives the same bytes as a plain
// concatenation, and a line one byte too long for the buffer overflows.
TEST(SipBuilder, HeaderLinesOfEveryLengthAcrossTheCopySizeClasses) {
    std::vector<char> buf(1024);
    for (std::size_t name_len : {1u, 15u, 16u, 31u, 32u, 33u, 40u}) {
        const std::string name(name_len, 'N');
        for (std::size_t len = 0; len <= 140; ++len) {
            std::string value;
            for (std::size_t i = 0; i < len; ++i)
                value += static_cast<char>('a' + i % 26);
            const std::string line = name + ": " + value + "\r\n";
            const std::string parts_line = name + ": " + value + ";x=" + value + "\r\n";
            const auto build = [&](std::size_t cap, bool parts) {
                message_builder b(buf.data(), cap);
                b.start_line("OPTIONS sip:x SIP/2.0");
                if (parts) {
                    b.prechecked_header_parts(name, {value, ";x=", value});
                } else {
                    b.prechecked_header(name, value);
                }
                return std::pair{b.size(), b.status()};
            };
            constexpr std::size_t start = 23; // "OPTIONS sip:x SIP/2.0\r\n"
            auto [size, status] = build(buf.size(), false);
            ASSERT_EQ(status, build_status::ok) << name_len << " " << len;
            EXPECT_EQ(std::string_view(buf.data() + start, size - start), line) << len;
            std::tie(size, status) = build(start + line.size() - 1, false);
            EXPECT_EQ(status, build_status::overflow) << name_len << " " << len;
            std::tie(size, status) = build(buf.size(), true);
            ASSERT_EQ(status, build_status::ok) << name_len << " " << len;
            EXPECT_EQ(std::string_view(buf.data() + start, size - start), parts_line) << len;
            std::tie(size, status) = build(start + parts_line.size() - 1, true);
            EXPECT_EQ(status, build_status::overflow) << name_len << " " << len;
        }
    }
}

// Start lines are copied by size class too: every reason and Request-URI length across the
// bounds gives the plain concatenation.
TEST(SipBuilder, StartLinesOfEveryLengthAcrossTheCopySizeClasses) {
    std::vector<char> buf(1024);
    for (std::size_t len = 1; len <= 140; ++len) {
        std::string text;
        for (std::size_t i = 0; i < len; ++i)
            text += static_cast<char>('a' + i % 26);
        message_builder s(buf.data(), buf.size());
        s.status_line(486, text);
        ASSERT_EQ(s.status(), build_status::ok) << len;
        EXPECT_EQ(std::string_view(buf.data(), s.size()), "SIP/2.0 486 " + text + "\r\n");
        const std::string method(len % 40 + 1, 'M');
        message_builder r(buf.data(), buf.size());
        r.request_line(method, text);
        ASSERT_EQ(r.status(), build_status::ok) << len;
        EXPECT_EQ(std::string_view(buf.data(), r.size()), method + " " + text + " SIP/2.0\r\n");
    }
}

// The Request-URI test reads eight bytes a step: SP, HT, CR or LF is refused at every position
// of every length around the word size, and bytes next to them in value (other controls, '!',
// bytes above 0x7f) are not.
TEST(SipBuilder, RequestUriSpaceOrEolFoundAtEveryPosition) {
    std::array<char, 256> buf{};
    for (std::size_t len = 1; len <= 40; ++len) {
        for (std::size_t pos = 0; pos < len; ++pos) {
            for (char bad : {' ', '\t', '\r', '\n'}) {
                std::string uri(len, 'a');
                uri[pos] = bad;
                message_builder b(buf.data(), buf.size());
                b.request_line("INVITE", uri);
                EXPECT_EQ(b.finish().status, build_status::bad_input) << len << " " << pos;
            }
            for (char fine : {'\x01', '\x1f', '!', '\x80', '\xff'}) {
                std::string uri(len, 'a');
                uri[pos] = fine;
                message_builder b(buf.data(), buf.size());
                b.request_line("INVITE", uri);
                EXPECT_TRUE(b.finish().ok()) << len << " " << pos;
            }
        }
    }
}

TEST(SipBuilder, RefusesBadInput) {
    std::array<char, 256> buf{};
    const auto expect_bad = [&](auto&& fill) {
        message_builder b(buf.data(), buf.size());
        fill(b);
        EXPECT_EQ(b.finish().status, build_status::bad_input);
    };
    expect_bad([](message_builder& b) { b.header("Via", "x"); }); // no start line
    expect_bad([](message_builder& b) { b.request_line("IN VITE", "sip:x"); });
    expect_bad([](message_builder& b) { b.request_line("INVITE", "sip:x y"); });
    expect_bad([](message_builder& b) { b.request_line("INVITE", ""); });
    expect_bad([](message_builder& b) { b.status_line(99, "x"); });
    expect_bad([](message_builder& b) { b.status_line(200, "OK\r\nX: y"); });
    expect_bad([](message_builder& b) { b.start_line("INVITE sip:x SIP/2.0\r\n"); });
    expect_bad([](message_builder& b) {
        b.status_line(200, "OK");
        b.header("X-Inject", "a\r\nVia: evil");
    });
    expect_bad([](message_builder& b) {
        b.status_line(200, "OK");
        b.header("X-Inject", "a\nb");
    });
    expect_bad([](message_builder& b) {
        b.status_line(200, "OK");
        b.header("X-Trailing-Fold", "a\r\n");
    });
    expect_bad([](message_builder& b) {
        b.status_line(200, "OK");
        b.header("", "a");
    });
    expect_bad([](message_builder& b) {
        b.status_line(200, "OK");
        b.header("Bad Name", "a");
    });
    expect_bad([](message_builder& b) {
        b.status_line(200, "OK");
        b.header("content-length", "0");
    });
    expect_bad([](message_builder& b) {
        b.status_line(200, "OK");
        b.raw_header("l: 0");
    });
    expect_bad([](message_builder& b) {
        b.status_line(200, "OK");
        b.raw_header("no colon here");
    });
    expect_bad([](message_builder& b) {
        b.status_line(200, "OK");
        b.header_parts("X", {"a", "\r\nVia: b"});
    });
    expect_bad([](message_builder& b) {
        b.status_line(200, "OK");
        b.status_line(200, "OK");
    });
    // A second finish is refused too.
    message_builder b(buf.data(), buf.size());
    b.status_line(200, "OK");
    ASSERT_TRUE(b.finish().ok());
    EXPECT_EQ(b.finish().status, build_status::bad_input);
}

TEST(SipBuilder, RemovesAndReplacesWrittenHeaders) {
    std::array<char, 512> buf{};
    message_builder b(buf.data(), buf.size());
    b.request_line("INVITE", "sip:b@h");
    b.header("v", "SIP/2.0/UDP a;branch=z9hG4bK1");
    b.header("Subject", "one");
    b.header("Via", "SIP/2.0/UDP b;branch=z9hG4bK2");
    b.raw_header("X-Fold: a,\r\n\tVia: not-a-header");
    b.header("subject", "two");
    EXPECT_EQ(b.remove_header("VIA"), 2u);
    b.replace_header("Subject", "three");
    b.replace_header("Call-ID", "new@h");
    const build_result r = b.finish();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(std::string_view(buf.data(), r.length), "INVITE sip:b@h SIP/2.0\r\n"
                                                      "Subject: three\r\n"
                                                      "X-Fold: a,\r\n\tVia: not-a-header\r\n"
                                                      "Call-ID: new@h\r\n"
                                                      "Content-Length: 0\r\n\r\n");
}

struct fixed_body {
    std::size_t n;
};

std::size_t write_fixed(const void* ctx, char* out, std::size_t cap) noexcept {
    const auto* f = static_cast<const fixed_body*>(ctx);
    if (f->n > cap) return body_source::overflow;
    for (std::size_t i = 0; i < f->n; ++i)
        out[i] = static_cast<char>('a' + i % 26);
    return f->n;
}

std::size_t write_error(const void*, char*, std::size_t) noexcept {
    return body_source::error;
}

TEST(SipBuilder, ProducedBodyGetsExactContentLength) {
    for (std::size_t n : {0u, 1u, 9u, 10u, 99u, 100u, 1000u, 12345u}) {
        std::vector<char> buf(n + 200);
        message_builder b(buf.data(), buf.size());
        b.status_line(200, "OK");
        b.header("Content-Type", "text/plain");
        const fixed_body fb{n};
        const build_result r = b.finish(body_source{&write_fixed, &fb});
        ASSERT_TRUE(r.ok()) << n;
        const std::string head =
            "SIP/2.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(n) +
            "\r\n\r\n";
        ASSERT_EQ(r.length, head.size() + n);
        EXPECT_EQ(std::string_view(buf.data(), head.size()), head);
        std::string body;
        for (std::size_t i = 0; i < n; ++i)
            body += static_cast<char>('a' + i % 26);
        EXPECT_EQ(std::string_view(buf.data() + head.size(), n), body);
        message m;
        ASSERT_TRUE(parse(buf.data(), r.length, m).ok());
        EXPECT_EQ(m.body().size(), n);

        // Too small for the body: overflow, whatever the size.
        std::vector<char> small(head.size() + n - (n > 0 ? 1 : 0));
        message_builder s(small.data(), small.size());
        s.status_line(200, "OK");
        s.header("Content-Type", "text/plain");
        const build_result rs = s.finish(body_source{&write_fixed, &fb});
        if (n > 0 || small.size() < head.size() + 9) {
            EXPECT_EQ(rs.status, build_status::overflow) << n;
        }
    }
    std::array<char, 128> buf{};
    message_builder b(buf.data(), buf.size());
    b.status_line(200, "OK");
    EXPECT_EQ(b.finish(body_source{&write_error, nullptr}).status, build_status::bad_input);
    message_builder b2(buf.data(), buf.size());
    b2.status_line(200, "OK");
    EXPECT_EQ(b2.finish(body_source{}).status, build_status::bad_input);
}

const std::string k_invite = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r\n"
                             "Max-Forwards: 70\r\n"
                             "To: Bob <sip:bob@biloxi.example.com>\r\n"
                             "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
                             "Call-ID: a84b4c76e66710\r\n"
                             "CSeq: 314159 INVITE\r\n"
                             "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
                             "Supported: timer, 100rel\r\n"
                             "X-Custom: keep me\r\n"
                             "P-Asserted-Identity: <sip:alice@atlanta.example.com>\r\n"
                             "Content-Type: application/sdp\r\n"
                             "Content-Length: 138\r\n"
                             "\r\n"
                             "v=0\r\n"
                             "o=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\n"
                             "s=-\r\n"
                             "c=IN IP4 192.0.2.101\r\n"
                             "t=0 0\r\n"
                             "m=audio 49172 RTP/AVP 0 8\r\n"
                             "a=rtpmap:0 PCMU/8000\r\n";

TEST(SipBuilder, BuildFromAppliesEditsAndProducesSdp) {
    message src;
    ASSERT_TRUE(parse(k_invite.data(), k_invite.size(), src).ok());
    ASSERT_EQ(src.body().size(), 138u);
    sdp_view sdp;
    ASSERT_TRUE(sdp.parse(src.body()).ok());
    std::array<sdp_media_edit, 1> me{};
    me[0].port = 30000;
    sdp_edits se;
    se.session_connection_address = "203.0.113.1";
    se.media = me;
    const sdp_body body{&sdp, &se};

    const std::array<header_edit, 5> edits{{
        {header_id::via, {}, header_action::remove, {}},
        {header_id::max_forwards, {}, header_action::replace, "69"},
        {header_id::unknown, "x-custom", header_action::remove, {}},
        {header_id::unknown, "P-Asserted-Identity", header_action::remove, {}},
        {header_id::unknown, "X-New", header_action::replace, "added"},
    }};
    const std::array<header_text, 1> add{{{"Via", "SIP/2.0/UDP sbc.example.net;branch=z9hG4bK9"}}};
    build_edits e;
    e.start_line = "INVITE sip:bob@10.0.0.5 SIP/2.0";
    e.headers = edits;
    e.add = add;
    e.body = build_edits::body_kind::produced;
    e.body_producer = make_body_source(body);
    std::array<char, 1024> buf{};
    const build_result r = build_from(src, e, buf.data(), buf.size());
    ASSERT_TRUE(r.ok());
    const std::string_view out(buf.data(), r.length);
    EXPECT_EQ(out.substr(0, out.find("\r\n\r\n")),
              "INVITE sip:bob@10.0.0.5 SIP/2.0\r\n"
              "Max-Forwards: 69\r\n"
              "To: Bob <sip:bob@biloxi.example.com>\r\n"
              "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
              "Call-ID: a84b4c76e66710\r\n"
              "CSeq: 314159 INVITE\r\n"
              "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
              "Supported: timer, 100rel\r\n"
              "Content-Type: application/sdp\r\n"
              "X-New: added\r\n"
              "Via: SIP/2.0/UDP sbc.example.net;branch=z9hG4bK9\r\n"
              "Content-Length: 138");
    message m;
    ASSERT_TRUE(parse(buf.data(), r.length, m).ok());
    EXPECT_EQ(m.body().size(), 138u);
    sdp_view v2;
    ASSERT_TRUE(v2.parse(m.body()).ok());
    EXPECT_EQ(v2.session_connection()->address, "203.0.113.1");
    EXPECT_EQ(v2.media_port(0), 30000);

    // Too small for the SDP: overflow, not a cut message.
    std::array<char, 450> small{};
    EXPECT_EQ(build_from(src, e, small.data(), small.size()).status, build_status::overflow);
}

TEST(SipBuilder, PassThroughPolicyCopiesOnlyListedHeaders) {
    message src;
    ASSERT_TRUE(parse(k_invite.data(), k_invite.size(), src).ok());
    const std::array<header_edit, 3> pass{{
        {header_id::unknown, "X-Custom", header_action::copy, {}},
        {header_id::supported, {}, header_action::copy, {}},
        {header_id::content_type, {}, header_action::copy, {}},
    }};
    build_edits e;
    e.headers = pass;
    e.copy_by_default = false;
    std::array<char, 1024> buf{};
    const build_result r = build_from(src, e, buf.data(), buf.size());
    ASSERT_TRUE(r.ok());
    const std::string_view out(buf.data(), r.length);
    EXPECT_EQ(out.substr(0, out.find("\r\n\r\n") + 4),
              "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
              "Supported: timer, 100rel\r\n"
              "X-Custom: keep me\r\n"
              "Content-Type: application/sdp\r\n"
              "Content-Length: 138\r\n\r\n");
    EXPECT_EQ(out.substr(out.find("\r\n\r\n") + 4), src.body());

    // Too many edits is refused, not silently truncated.
    std::vector<header_edit> many(max_header_edits + 1);
    e.headers = many;
    EXPECT_EQ(build_from(src, e, buf.data(), buf.size()).status, build_status::bad_input);
    // A replace value that would inject a header is refused.
    const std::array<header_edit, 1> inject{{
        {header_id::subject, {}, header_action::replace, "x\r\nVia: y"},
    }};
    e.headers = inject;
    e.copy_by_default = true;
    EXPECT_EQ(build_from(src, e, buf.data(), buf.size()).status, build_status::bad_input);
}

// The builder always writes Content-Length. A datagram without one whose index is full
// (message::max_headers slots) therefore rebuilds into one slot more than the parser holds:
// the build succeeds, the re-parse reports "too many headers". Stated here so it cannot change
// unnoticed.
TEST(SipBuilder, FullIndexWithoutContentLengthCannotRoundTrip) {
    std::string msg = "OPTIONS sip:x@h SIP/2.0\r\n";
    for (std::size_t i = 0; i < message::max_headers; ++i)
        msg += "X-H" + std::to_string(i) + ": v\r\n";
    msg += "\r\n";
    message src;
    ASSERT_TRUE(parse(msg.data(), msg.size(), src).ok());
    ASSERT_EQ(src.header_count(), message::max_headers);
    std::vector<char> out(msg.size() + 64);
    const build_result r = build_from(src, build_edits{}, out.data(), out.size());
    ASSERT_TRUE(r.ok());
    message again;
    EXPECT_FALSE(parse(out.data(), r.length, again).ok());
    // Dropping one header makes room.
    const std::array<header_edit, 1> drop{
        {{header_id::unknown, "X-H0", header_action::remove, {}}}};
    build_edits e;
    e.headers = drop;
    const build_result r2 = build_from(src, e, out.data(), out.size());
    ASSERT_TRUE(r2.ok());
    EXPECT_TRUE(parse(out.data(), r2.length, again).ok());
    EXPECT_EQ(again.header_count(), message::max_headers);
}

TEST(SipBuilder, CompactFormsMatchEdits) {
    const std::string compact = "OPTIONS sip:x@h SIP/2.0\r\n"
                                "v: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                                "i: abc@h\r\n"
                                "f: <sip:a@h>;tag=1\r\n"
                                "t: <sip:x@h>\r\n"
                                "CSeq: 1 OPTIONS\r\n"
                                "l: 0\r\n\r\n";
    message src;
    ASSERT_TRUE(parse(compact.data(), compact.size(), src).ok());
    const std::array<header_edit, 2> edits{{
        {header_id::unknown, "Call-ID", header_action::replace, "new@h"},
        {header_id::unknown, "VIA", header_action::remove, {}},
    }};
    build_edits e;
    e.headers = edits;
    std::array<char, 512> buf{};
    const build_result r = build_from(src, e, buf.data(), buf.size());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(std::string_view(buf.data(), r.length), "OPTIONS sip:x@h SIP/2.0\r\n"
                                                      "Call-ID: new@h\r\n"
                                                      "f: <sip:a@h>;tag=1\r\n"
                                                      "t: <sip:x@h>\r\n"
                                                      "CSeq: 1 OPTIONS\r\n"
                                                      "Content-Length: 0\r\n\r\n");
}

} // namespace

namespace {
// The rule header() enforces, byte by byte: CR and LF only as CRLF followed by SP or HT.
bool reference_valid_value(std::string_view v) {
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\r') {
            if (i + 2 >= v.size() || v[i + 1] != '\n' || (v[i + 2] != ' ' && v[i + 2] != '\t'))
                return false;
            ++i;
        } else if (v[i] == '\n') {
            return false;
        }
    }
    return true;
}
} // namespace

// The value check jumps between CR/LF bytes with a vector scan: put them (alone, as a fold,
// as a bad fold) at every position of values long enough for whole 16- and 32-byte blocks,
// and compare with the byte-by-byte rule.
TEST(SipBuilder, ValueCheckAgreesWithByteRuleAtEveryPosition) {
    std::array<char, 512> buf{};
    const std::string_view inserts[] = {"\r",    "\n",   "\r\n",       "\r\n ",  "\r\n\t",
                                        "\r\nx", "\n\r", "\r\n \r\n ", "\r\r\n "};
    for (std::size_t len : {0u, 1u, 15u, 16u, 17u, 31u, 32u, 33u, 63u, 64u, 65u, 100u}) {
        const std::string plain(len, 'a');
        message_builder p(buf.data(), buf.size());
        p.status_line(200, plain);
        p.header("X-Value", plain);
        EXPECT_TRUE(p.finish().ok()) << "plain, len " << len;
        for (std::size_t at = 0; at <= len; ++at) {
            for (std::string_view ins : inserts) {
                std::string v(len, 'a');
                v.insert(at, ins);
                message_builder b(buf.data(), buf.size());
                b.status_line(200, "OK");
                b.header("X-Value", v);
                const bool ok = b.finish().ok();
                EXPECT_EQ(ok, reference_valid_value(v)) << "len " << len << " at " << at;
                // A reason phrase may hold no CR or LF at all.
                message_builder r(buf.data(), buf.size());
                r.status_line(200, v);
                EXPECT_FALSE(r.finish().ok()) << "reason, len " << len << " at " << at;
            }
        }
    }
}
