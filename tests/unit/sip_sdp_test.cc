#include "sip/sdp.h"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

using namespace tandem::sip;
using namespace std::string_view_literals;

std::string read_corpus(const char* name) {
    const std::string path = std::string(TANDEM_SOURCE_DIR) + "/tests/corpus/sdp/" + name;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << path;
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string crlf(std::initializer_list<std::string_view> lines) {
    std::string s;
    for (std::string_view l : lines) {
        s += l;
        s += "\r\n";
    }
    return s;
}

// Writes `v` with `e` into an exactly sized buffer (checking that one byte less overflows and
// reports the needed size), and returns the text.
std::string write(const sdp_view& v, const sdp_edits& e) {
    std::array<char, 8192> big{};
    const sdp_write_result r = sdp_write(v, e, big.data(), big.size());
    EXPECT_EQ(r.status, sdp_status::ok);
    if (!r.ok()) return {};
    std::vector<char> exact(r.length);
    const sdp_write_result r2 = sdp_write(v, e, exact.data(), exact.size());
    EXPECT_TRUE(r2.ok());
    EXPECT_EQ(r2.length, r.length);
    EXPECT_EQ(std::string_view(exact.data(), exact.size()), std::string_view(big.data(), r.length));
    if (r.length > 0) {
        std::vector<char> small(r.length - 1);
        const sdp_write_result r3 = sdp_write(v, e, small.data(), small.size());
        EXPECT_EQ(r3.status, sdp_status::overflow);
        EXPECT_EQ(r3.length, r.length);
    }
    return std::string(big.data(), r.length);
}

const std::string k_carrier = crlf({
    "v=0",
    "o=- 1234567890 2 IN IP4 198.51.100.7",
    "s=-",
    "c=IN IP4 198.51.100.7",
    "b=AS:84",
    "t=0 0",
    "a=sendrecv",
    "m=audio 40000 RTP/AVP 0 8 18 101",
    "b=TIAS:64000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:18 G729/8000",
    "a=fmtp:18 annexb=no",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=ptime:20",
    "a=rtcp:40001",
    "a=sendrecv",
    "m=video 40002 RTP/AVPF 96 97",
    "a=rtpmap:96 H264/90000",
    "a=fmtp:96 profile-level-id=42e01f",
    "a=rtcp-fb:96 nack",
    "a=rtcp-fb:* ccm fir",
    "a=rtpmap:97 VP8/90000",
    "a=rtcp-fb:97 nack pli",
    "a=recvonly",
});

TEST(SipSdp, ParsesSessionAndMediaSections) {
    sdp_view v;
    ASSERT_TRUE(v.parse(k_carrier).ok());
    EXPECT_EQ(v.origin().username, "-");
    EXPECT_EQ(v.origin().sess_id, "1234567890");
    EXPECT_EQ(v.origin().sess_version, 2u);
    EXPECT_EQ(v.origin().nettype, "IN");
    EXPECT_EQ(v.origin().addrtype, sdp_addrtype::ip4);
    EXPECT_EQ(v.origin().address, "198.51.100.7");
    EXPECT_EQ(v.session_name(), "-");
    ASSERT_TRUE(v.session_connection());
    EXPECT_EQ(v.session_connection()->address, "198.51.100.7");
    ASSERT_EQ(v.media_count(), 2u);
    EXPECT_EQ(v.media_type(0), "audio");
    EXPECT_EQ(v.media_port(0), 40000);
    EXPECT_EQ(v.media_port_count(0), 1);
    EXPECT_EQ(v.media_proto(0), "RTP/AVP");
    ASSERT_EQ(v.format_count(0), 4u);
    EXPECT_EQ(v.format(0, 0), "0");
    EXPECT_EQ(v.format(0, 3), "101");
    EXPECT_FALSE(v.media_connection(0));
    EXPECT_EQ(v.effective_connection(0)->address, "198.51.100.7");
    ASSERT_EQ(v.bandwidth_count(0), 1u);
    EXPECT_EQ(v.bandwidth(0, 0).type, "AS");
    EXPECT_EQ(v.bandwidth(0, 0).value, 84u);
    EXPECT_EQ(v.bandwidth(1, 0).type, "TIAS");
    EXPECT_EQ(v.bandwidth(1, 0).value, 64000u);
    EXPECT_EQ(v.attribute_count(1), 9u);
    EXPECT_EQ(v.attribute(1, 6).name, "ptime");
    EXPECT_EQ(v.attribute(1, 6).value, "20");
    EXPECT_TRUE(v.attribute(1, 6).has_value);
    EXPECT_FALSE(v.attribute(1, 8).has_value);
    EXPECT_EQ(v.find_attribute(1, "rtcp")->value, "40001");
    EXPECT_FALSE(v.find_attribute(1, "nope"));
    EXPECT_EQ(v.line_count(0), 7u);
    EXPECT_EQ(v.line(0, 5).type, 't');
    EXPECT_EQ(v.line(0, 5).value, "0 0");
    EXPECT_EQ(v.line_count(1), 11u);
    EXPECT_EQ(v.line(1, 0).type, 'm');
}

TEST(SipSdp, DecodesRtpmapFmtpAndDirection) {
    sdp_view v;
    ASSERT_TRUE(v.parse(k_carrier).ok());
    auto r = v.rtpmap(0, 101);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->payload_type, 101);
    EXPECT_EQ(r->encoding_name, "telephone-event");
    EXPECT_EQ(r->clock_rate, 8000u);
    EXPECT_EQ(r->encoding_params, "");
    EXPECT_EQ(v.fmtp(0, 18), "annexb=no");
    EXPECT_EQ(v.fmtp(0, 101), "0-16");
    EXPECT_FALSE(v.fmtp(0, 0));
    EXPECT_FALSE(v.rtpmap(0, 96));
    EXPECT_EQ(v.rtpmap(1, 96)->encoding_name, "H264");
    EXPECT_EQ(v.encoding_name(0, 18), "G729");
    EXPECT_EQ(v.direction(0), sdp_direction::sendrecv);
    EXPECT_EQ(v.direction(1), sdp_direction::sendrecv);
    EXPECT_EQ(v.direction(2), sdp_direction::recvonly);
    EXPECT_EQ(v.effective_direction(1), sdp_direction::recvonly);
    EXPECT_TRUE(v.media_is_rtp(0));
}

TEST(SipSdp, StaticPayloadNamesAndEncodingParams) {
    const std::string s = read_corpus("webrtc-offer.sdp");
    sdp_view v;
    ASSERT_TRUE(v.parse(s).ok());
    EXPECT_EQ(v.rtpmap(0, 109)->encoding_params, "2");
    EXPECT_EQ(v.rtpmap(0, 109)->clock_rate, 48000u);
    EXPECT_EQ(v.fmtp(0, 109), "maxplaybackrate=48000;stereo=1;useinbandfec=1");
    EXPECT_EQ(v.media_proto(0), "UDP/TLS/RTP/SAVPF");
    EXPECT_TRUE(v.media_is_rtp(0));
    EXPECT_EQ(v.effective_direction(1), sdp_direction::recvonly);

    const std::string plain = read_corpus("rfc4475-sdp01.sdp");
    ASSERT_TRUE(v.parse(plain).ok());
    EXPECT_EQ(v.encoding_name(0, 0), "PCMU");
    EXPECT_EQ(v.encoding_name(0, 12), "QCELP");
    // "a=rtpmap:31 LPC" has no clock rate: not decodable, so the static name is used.
    EXPECT_FALSE(v.rtpmap(1, 31));
    EXPECT_EQ(v.encoding_name(1, 31), "H261");
    EXPECT_EQ(v.effective_direction(0), sdp_direction::sendrecv);
}

TEST(SipSdp, Rfc5118Ipv6InSdp) {
    const std::string s = read_corpus("rfc5118-ipv6-in-sdp.sdp");
    sdp_view v;
    ASSERT_TRUE(v.parse(s).ok());
    EXPECT_EQ(v.origin().addrtype, sdp_addrtype::ip6);
    EXPECT_EQ(v.origin().address, "2001:db8::20");
    EXPECT_EQ(v.origin().sess_version, 0u);
    EXPECT_EQ(v.origin().sess_id, "971731711378798081");
    ASSERT_TRUE(v.session_connection());
    EXPECT_EQ(v.session_connection()->addrtype, sdp_addrtype::ip6);
    EXPECT_EQ(v.session_connection()->address, "2001:db8::20");
    ASSERT_EQ(v.media_count(), 2u);
    EXPECT_EQ(v.media_port(1), 6024);
    EXPECT_EQ(v.rtpmap(1, 107)->encoding_name, "H263-1998");

    // Replace the IPv6 session address with an IPv4 one, and the origin too.
    sdp_edits e;
    e.session_connection_address = "203.0.113.9";
    e.origin_address = "203.0.113.9";
    e.bump_version = true;
    const std::string out = write(v, e);
    EXPECT_NE(out.find("o=assistant 971731711378798081 1 IN IP4 203.0.113.9\r\n"),
              std::string::npos);
    EXPECT_NE(out.find("\r\nc=IN IP4 203.0.113.9\r\n"), std::string::npos);
    EXPECT_EQ(out.find("2001:db8"), std::string::npos);
    sdp_view v2;
    ASSERT_TRUE(v2.parse(out).ok());
    EXPECT_EQ(v2.session_connection()->addrtype, sdp_addrtype::ip4);
}

TEST(SipSdp, Rfc5118MultipleIpInSdp) {
    const std::string s = read_corpus("rfc5118-mult-ip-in-sdp.sdp");
    sdp_view v;
    ASSERT_TRUE(v.parse(s).ok());
    EXPECT_EQ(v.session_name(), "");
    EXPECT_FALSE(v.session_connection());
    ASSERT_EQ(v.media_count(), 2u);
    EXPECT_EQ(v.media_connection(0)->addrtype, sdp_addrtype::ip4);
    EXPECT_EQ(v.media_connection(0)->address, "192.0.2.1");
    EXPECT_EQ(v.media_connection(1)->addrtype, sdp_addrtype::ip6);
    EXPECT_EQ(v.media_connection(1)->address, "2001:db8::1");

    // Anchor both streams on one IPv6 relay address with new ports.
    std::array<sdp_media_edit, 2> me{};
    me[0].connection_address = "2001:db8::99";
    me[0].connection_addrtype = sdp_addrtype::ip6;
    me[0].port = 30000;
    me[1].connection_address = "2001:db8::99";
    me[1].connection_addrtype = sdp_addrtype::ip6;
    me[1].port = 30002;
    sdp_edits e;
    e.media = me;
    const std::string out = write(v, e);
    EXPECT_EQ(out,
              crlf({"v=0", "o=bob 280744730 28977631 IN IP4 host.example.com", "s=", "t=0 0",
                    "m=audio 30000 RTP/AVP 0", "c=IN IP6 2001:db8::99", "m=video 30002 RTP/AVP 107",
                    "c=IN IP6 2001:db8::99", "a=rtpmap:107 H263-1998/90000"}));
}

TEST(SipSdp, NoEditsCopiesByteForByte) {
    for (const char* name : {"carrier-offer.sdp", "webrtc-offer.sdp", "lf-only-no-final-eol.sdp",
                             "rfc4475-sdp01.sdp", "rfc5118-ipv6-in-sdp.sdp",
                             "rfc5118-mult-ip-in-sdp.sdp", "rfc5118-ipv4-mapped-ipv6.sdp"}) {
        const std::string s = read_corpus(name);
        sdp_view v;
        ASSERT_TRUE(v.parse(s).ok()) << name;
        EXPECT_EQ(write(v, sdp_edits{}), s) << name;
    }
    const std::string padded = k_carrier + "\r\n\r\n";
    sdp_view v;
    ASSERT_TRUE(v.parse(padded).ok());
    EXPECT_EQ(write(v, sdp_edits{}), padded);
}

TEST(SipSdp, ReplacesMediaPortsKeepingPortCount) {
    const std::string s = read_corpus("lf-only-no-final-eol.sdp");
    sdp_view v;
    ASSERT_TRUE(v.parse(s).ok());
    EXPECT_EQ(v.media_port(1), 51372);
    EXPECT_EQ(v.media_port_count(1), 2);
    std::array<sdp_media_edit, 2> me{};
    me[0].port = 7000;
    me[1].port = 7002;
    me[1].direction = sdp_direction::inactive;
    sdp_edits e;
    e.media = me;
    const std::string out = write(v, e);
    EXPECT_NE(out.find("\nm=audio 7000 RTP/AVP 0 8 97\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\nm=video 7002/2 RTP/AVP 31 32\n"), std::string::npos) << out;
    // The body's last line had no line end; the appended direction line gets one before it.
    EXPECT_NE(out.find("a=rtpmap:32 MPV/90000\na=inactive\n"), std::string::npos) << out;
    sdp_view v2;
    ASSERT_TRUE(v2.parse(out).ok());
    EXPECT_EQ(v2.media_port(0), 7000);
    EXPECT_EQ(v2.media_port(1), 7002);
    EXPECT_EQ(v2.media_port_count(1), 2);
    EXPECT_EQ(v2.effective_direction(1), sdp_direction::inactive);
    EXPECT_EQ(v2.effective_direction(0), sdp_direction::sendrecv);
}

TEST(SipSdp, BumpsVersion) {
    sdp_view v;
    ASSERT_TRUE(v.parse(k_carrier).ok());
    sdp_edits e;
    e.bump_version = true;
    const std::string out = write(v, e);
    sdp_view v2;
    ASSERT_TRUE(v2.parse(out).ok());
    EXPECT_EQ(v2.origin().sess_version, 3u);
    EXPECT_EQ(v2.origin().sess_id, "1234567890");
    std::string expect = k_carrier;
    expect.replace(expect.find("1234567890 2"), 12, "1234567890 3");
    EXPECT_EQ(out, expect);

    const std::string max = crlf({"v=0", "o=- 1 18446744073709551615 IN IP4 1.2.3.4", "s=-"});
    ASSERT_TRUE(v.parse(max).ok());
    EXPECT_EQ(v.origin().sess_version, 18446744073709551615ull);
    std::array<char, 512> buf{};
    EXPECT_EQ(sdp_write(v, e, buf.data(), buf.size()).status, sdp_status::bad_edit);
}

TEST(SipSdp, ReplacesSessionAndMediaConnection) {
    sdp_view v;
    ASSERT_TRUE(v.parse(k_carrier).ok());
    std::array<sdp_media_edit, 1> me{};
    me[0].connection_address = "10.0.0.1";
    me[0].rtcp_port = 20001;
    me[0].port = 20000;
    sdp_edits e;
    e.session_connection_address = "10.0.0.2";
    e.media = me;
    const std::string out = write(v, e);
    sdp_view v2;
    ASSERT_TRUE(v2.parse(out).ok()) << out;
    EXPECT_EQ(v2.session_connection()->address, "10.0.0.2");
    // The audio section had no c=: it is inserted right after m=.
    EXPECT_NE(out.find("m=audio 20000 RTP/AVP 0 8 18 101\r\nc=IN IP4 10.0.0.1\r\nb=TIAS"),
              std::string::npos)
        << out;
    EXPECT_EQ(v2.media_connection(0)->address, "10.0.0.1");
    EXPECT_EQ(v2.find_attribute(1, "rtcp")->value, "20001");
    EXPECT_FALSE(v2.media_connection(1));
    EXPECT_EQ(v2.effective_connection(1)->address, "10.0.0.2");
    EXPECT_EQ(v2.media_port(1), 40002);

    // A session without c= gets one before t=.
    const std::string noc = crlf({"v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "t=0 0"});
    ASSERT_TRUE(v.parse(noc).ok());
    sdp_edits e2;
    e2.session_connection_address = "::1";
    e2.session_connection_addrtype = sdp_addrtype::ip6;
    EXPECT_EQ(write(v, e2),
              crlf({"v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP6 ::1", "t=0 0"}));

    // a=rtcp with an address follows the media's new address.
    const std::string rtcp =
        crlf({"v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 1.2.3.4/127", "t=0 0",
              "m=audio 5000 RTP/AVP 0", "a=rtcp:5001 IN IP4 1.2.3.4"});
    ASSERT_TRUE(v.parse(rtcp).ok());
    EXPECT_EQ(v.session_connection()->address, "1.2.3.4");
    EXPECT_EQ(v.session_connection()->suffix, "/127");
    me[0] = sdp_media_edit{};
    me[0].connection_address = "2001:db8::5";
    me[0].connection_addrtype = sdp_addrtype::ip6;
    me[0].rtcp_port = 6001;
    sdp_edits e3;
    e3.media = me;
    e3.session_connection_address = "5.6.7.8";
    EXPECT_EQ(write(v, e3), crlf({"v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 5.6.7.8",
                                  "t=0 0", "m=audio 5000 RTP/AVP 0", "c=IN IP6 2001:db8::5",
                                  "a=rtcp:6001 IN IP6 2001:db8::5"}));
}

TEST(SipSdp, FiltersCodecsByPayloadTypeAndName) {
    sdp_view v;
    ASSERT_TRUE(v.parse(k_carrier).ok());
    const std::array<std::uint8_t, 1> pts{101};
    const std::array<std::string_view, 2> names{"pcma"sv, "VP8"sv};
    sdp_edits e;
    e.filter_codecs = true;
    e.keep_payload_types = pts;
    e.keep_encodings = names;
    const std::string out = write(v, e);
    EXPECT_EQ(out, crlf({"v=0",
                         "o=- 1234567890 2 IN IP4 198.51.100.7",
                         "s=-",
                         "c=IN IP4 198.51.100.7",
                         "b=AS:84",
                         "t=0 0",
                         "a=sendrecv",
                         "m=audio 40000 RTP/AVP 8 101",
                         "b=TIAS:64000",
                         "a=rtpmap:8 PCMA/8000",
                         "a=rtpmap:101 telephone-event/8000",
                         "a=fmtp:101 0-16",
                         "a=ptime:20",
                         "a=rtcp:40001",
                         "a=sendrecv",
                         "m=video 40002 RTP/AVPF 97",
                         "a=rtcp-fb:* ccm fir",
                         "a=rtpmap:97 VP8/90000",
                         "a=rtcp-fb:97 nack pli",
                         "a=recvonly"}));
    sdp_view v2;
    ASSERT_TRUE(v2.parse(out).ok());
    EXPECT_EQ(v2.format_count(0), 2u);
    EXPECT_EQ(v2.format_count(1), 1u);
}

TEST(SipSdp, FilterThatKeepsNothingRejectsTheStream) {
    sdp_view v;
    ASSERT_TRUE(v.parse(k_carrier).ok());
    const std::array<std::string_view, 1> names{"PCMU"sv};
    sdp_edits e;
    e.filter_codecs = true;
    e.keep_encodings = names;
    const std::string out = write(v, e);
    sdp_view v2;
    ASSERT_TRUE(v2.parse(out).ok()) << out;
    EXPECT_EQ(v2.format_count(0), 1u);
    EXPECT_EQ(v2.format(0, 0), "0");
    EXPECT_EQ(v2.media_port(0), 40000);
    // Video keeps nothing: port 0 and its first format, with that format's lines.
    EXPECT_EQ(v2.media_port(1), 0);
    ASSERT_EQ(v2.format_count(1), 1u);
    EXPECT_EQ(v2.format(1, 0), "96");
    EXPECT_TRUE(v2.rtpmap(1, 96));
    EXPECT_FALSE(v2.rtpmap(1, 97));
    EXPECT_EQ(out.find("rtcp-fb:97"), std::string::npos);
}

TEST(SipSdp, FilterLeavesNonRtpMediaAlone) {
    const std::string s =
        crlf({"v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "t=0 0", "m=image 6000 udptl t38",
              "a=T38FaxVersion:0", "m=application 7000 TCP/BFCP *"});
    sdp_view v;
    ASSERT_TRUE(v.parse(s).ok());
    EXPECT_FALSE(v.media_is_rtp(0));
    const std::array<std::uint8_t, 1> pts{0};
    sdp_edits e;
    e.filter_codecs = true;
    e.keep_payload_types = pts;
    EXPECT_EQ(write(v, e), s);
}

TEST(SipSdp, DropsAttributesByName) {
    const std::string s = read_corpus("webrtc-offer.sdp");
    sdp_view v;
    ASSERT_TRUE(v.parse(s).ok());
    const std::array<std::string_view, 5> drop{"ice-ufrag"sv, "ice-pwd"sv, "fingerprint"sv,
                                               "setup"sv, "rtcp-fb"sv};
    sdp_edits e;
    e.drop_attributes = drop;
    const std::string out = write(v, e);
    sdp_view v2;
    ASSERT_TRUE(v2.parse(out).ok());
    for (std::size_t sec = 0; sec < v2.section_count(); ++sec) {
        for (std::string_view d : drop)
            EXPECT_FALSE(v2.find_attribute(sec, d)) << d;
    }
    EXPECT_EQ(v2.attribute_count(0), v.attribute_count(0) - 1);
    EXPECT_EQ(v2.attribute_count(1), v.attribute_count(1) - 3);
    EXPECT_EQ(v2.attribute_count(2), v.attribute_count(2) - 5);
    EXPECT_TRUE(v2.find_attribute(1, "mid"));
}

TEST(SipSdp, SetsDirection) {
    sdp_view v;
    ASSERT_TRUE(v.parse(k_carrier).ok());
    sdp_edits e;
    e.direction = sdp_direction::sendonly;
    const std::string out = write(v, e);
    sdp_view v2;
    ASSERT_TRUE(v2.parse(out).ok());
    EXPECT_EQ(v2.direction(0), sdp_direction::none);
    EXPECT_EQ(v2.direction(1), sdp_direction::sendonly);
    EXPECT_EQ(v2.direction(2), sdp_direction::sendonly);
    // Replaced in place, not appended.
    EXPECT_NE(out.find("a=rtcp:40001\r\na=sendonly\r\nm=video"), std::string::npos) << out;

    // No direction anywhere: appended to each media section.
    const std::string s = read_corpus("rfc5118-mult-ip-in-sdp.sdp");
    ASSERT_TRUE(v.parse(s).ok());
    e.direction = sdp_direction::inactive;
    const std::string out2 = write(v, e);
    EXPECT_NE(out2.find("c=IN IP4 192.0.2.1\r\na=inactive\r\nm=video"), std::string::npos);
    EXPECT_TRUE(out2.ends_with("a=rtpmap:107 H263-1998/90000\r\na=inactive\r\n"));

    // No media: the session level carries it.
    const std::string nomedia = crlf({"v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "t=0 0"});
    ASSERT_TRUE(v.parse(nomedia).ok());
    EXPECT_EQ(write(v, e), nomedia + "a=inactive\r\n");
}

TEST(SipSdp, RejectsMalformedWithReasonAndOffset) {
    struct bad {
        std::string body;
        sdp_status status;
        std::uint32_t offset;
    };
    const std::vector<bad> cases = {
        {"", sdp_status::invalid, 0},
        {"v=1\r\no=- 1 1 IN IP4 a\r\n", sdp_status::invalid, 0},
        {"v=0\r\ns=x\r\n", sdp_status::invalid, 5},
        {"v=0\r\no=- 1 x IN IP4 a\r\n", sdp_status::invalid, 5},
        {"v=0\r\no=- 1 1 IN IP4\r\n", sdp_status::invalid, 5},
        {"v=0\r\no=- 1 1 IN IP4 a\r\nx=1\r\n", sdp_status::invalid, 23},
        {"v=0\r\no=- 1 1 IN IP4 a\r\ns =1\r\n", sdp_status::invalid, 23},
        {"v=0\r\no=- 1 1 IN IP4 a\r\n\r\ns=x\r\n", sdp_status::invalid, 23},
        {"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 70000 RTP/AVP 0\r\n", sdp_status::invalid, 23},
        {"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 7 RTP/AVP\r\n", sdp_status::invalid, 23},
        // A space after "m=" (RFC 4566 s5 forbids it): the fields would be ambiguous.
        {"v=0\r\no=- 1 1 IN IP4 a\r\nm= audio 7 RTP/AVP 0\r\n", sdp_status::invalid, 23},
        {"v=0\r\no=- 1 1 IN IP4 a\r\nm= 0 8 18 101\r\n", sdp_status::invalid, 23},
        {"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 7 RTP/AVP 0\r\nt=0 0\r\n", sdp_status::invalid, 44},
        {"v=0\r\no=- 1 1 IN IP4 a\r\nc=IN IP4\r\n", sdp_status::invalid, 23},
        {"v=0\r\no=- 1 1 IN IP4 a\r\nc=IN IP4 a\r\nc=IN IP4 b\r\n", sdp_status::invalid, 35},
        {"v=0\r\no=- 1 1 IN IP4 a\r\nb=AS\r\n", sdp_status::invalid, 23},
        {"v=0\r\no=- 1 1 IN IP4 a\r\na=:x\r\n", sdp_status::invalid, 23},
        {std::string("v=0\r\no=- 1 1 IN IP4 a\r\ns=a\0b\r\n", 31), sdp_status::invalid, 26},
        {"v=0\r\no=- 1 1 IN IP4 a\r\ns=a\rb\r\n", sdp_status::invalid, 26},
        {"v=0\r\no=- 1 1 IN IP4 a\r\nv=0\r\n", sdp_status::invalid, 23},
    };
    for (const bad& c : cases) {
        sdp_view v;
        const sdp_result r = v.parse(c.body);
        EXPECT_EQ(r.status, c.status) << c.body;
        EXPECT_EQ(r.offset, c.offset) << c.body << " " << r.reason;
        EXPECT_STRNE(r.reason, "") << c.body;
        EXPECT_EQ(v.media_count(), 0u);
        EXPECT_EQ(v.attribute_count(0), 0u);
        std::array<char, 64> buf{};
        EXPECT_EQ(sdp_write(v, sdp_edits{}, buf.data(), buf.size()).status, sdp_status::bad_edit);
    }
}

// The line scanner reads eight bytes at a time: a control byte at any position of a long line
// is still found, at its exact offset.
TEST(SipSdp, FindsControlBytesAtEveryPosition) {
    const std::string head = "v=0\r\no=- 1 1 IN IP4 a\r\ns=";
    for (std::size_t at = 0; at < 24; ++at) {
        for (char bad : {'\0', '\r'}) {
            std::string body = head + std::string(24, 'x') + "\r\nt=0 0\r\n";
            body[head.size() + at] = bad;
            sdp_view v;
            const sdp_result r = v.parse(body);
            EXPECT_EQ(r.status, sdp_status::invalid) << at;
            EXPECT_EQ(r.offset, head.size() + at) << at;
        }
        std::string lf = head + std::string(24, 'x') + "\nt=0 0\n";
        lf[head.size() + at] = '\n';
        sdp_view v;
        const sdp_result r = v.parse(lf);
        // A LF inside the s= value ends that line early and starts a line of 'x's.
        EXPECT_EQ(r.status, sdp_status::invalid) << at;
        EXPECT_EQ(r.offset, head.size() + at + 1) << at;
    }
    // Bytes >= 0x80 (UTF-8) are content.
    const std::string utf8 = head + "caf\xc3\xa9 \xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\r\nt=0 0\r\n";
    sdp_view v;
    ASSERT_TRUE(v.parse(utf8).ok());
    EXPECT_EQ(v.session_name(), "caf\xc3\xa9 \xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");
}

TEST(SipSdp, OverCapacityIsAnError) {
    std::string many_media = crlf({"v=0", "o=- 1 1 IN IP4 a", "s=-", "t=0 0"});
    for (int i = 0; i < 16; ++i)
        many_media += "m=audio 1000 RTP/AVP 0\r\n";
    sdp_view v;
    ASSERT_TRUE(v.parse(many_media).ok());
    EXPECT_EQ(v.media_count(), 16u);
    many_media += "m=audio 1000 RTP/AVP 0\r\n";
    sdp_result r = v.parse(many_media);
    EXPECT_EQ(r.status, sdp_status::over_capacity);
    EXPECT_EQ(r.offset, many_media.size() - 24);

    std::string many_attrs = crlf({"v=0", "o=- 1 1 IN IP4 a", "s=-", "t=0 0"});
    for (int i = 0; i < 64; ++i)
        many_attrs += "a=x\r\n";
    ASSERT_TRUE(v.parse(many_attrs).ok());
    EXPECT_EQ(v.attribute_count(0), 64u);
    many_attrs += "a=x\r\n";
    EXPECT_EQ(v.parse(many_attrs).status, sdp_status::over_capacity);

    std::string many_formats =
        crlf({"v=0", "o=- 1 1 IN IP4 a", "s=-", "t=0 0"}) + "m=audio 1 RTP/AVP";
    for (int i = 0; i < 32; ++i)
        many_formats += " " + std::to_string(i);
    ASSERT_TRUE(v.parse(many_formats + "\r\n").ok());
    EXPECT_EQ(v.format_count(0), 32u);
    EXPECT_EQ(v.parse(many_formats + " 99\r\n").status, sdp_status::over_capacity);

    std::string too_big(sdp_max_body + 1, 'x');
    EXPECT_EQ(v.parse(too_big).status, sdp_status::over_capacity);
}

TEST(SipSdp, BadEditsAreRefused) {
    sdp_view v;
    ASSERT_TRUE(v.parse(k_carrier).ok());
    std::array<char, 1024> buf{};
    sdp_edits e;
    e.session_connection_address = "1.2.3.4 evil";
    EXPECT_EQ(sdp_write(v, e, buf.data(), buf.size()).status, sdp_status::bad_edit);
    e = sdp_edits{};
    e.origin_address = "a\r\nb";
    EXPECT_EQ(sdp_write(v, e, buf.data(), buf.size()).status, sdp_status::bad_edit);
    std::array<sdp_media_edit, 1> me{};
    me[0].port = 65536;
    e = sdp_edits{};
    e.media = me;
    EXPECT_EQ(sdp_write(v, e, buf.data(), buf.size()).status, sdp_status::bad_edit);
}

TEST(SipSdp, AllEditsTogetherOnIpv6) {
    const std::string s = read_corpus("rfc5118-ipv4-mapped-ipv6.sdp");
    sdp_view v;
    ASSERT_TRUE(v.parse(s).ok());
    std::array<sdp_media_edit, 2> me{};
    me[0].port = 1000;
    me[1].port = 1002;
    const std::array<std::string_view, 1> keep{"G726-32"sv};
    sdp_edits e;
    e.session_connection_address = "2001:db8::7";
    e.session_connection_addrtype = sdp_addrtype::ip6;
    e.origin_address = "2001:db8::7";
    e.origin_addrtype = sdp_addrtype::ip6;
    e.bump_version = true;
    e.media = me;
    e.filter_codecs = true;
    e.keep_encodings = keep;
    e.direction = sdp_direction::sendrecv;
    EXPECT_EQ(write(v, e),
              crlf({"v=0", "o=assistant 971731711378798081 1 IN IP6 2001:db8::7",
                    "s=Call me soon, please!", "c=IN IP6 2001:db8::7", "t=3338481189 3370017201",
                    "m=audio 1000 RTP/AVP 2", "a=rtpmap:2 G726-32/8000", "a=sendrecv",
                    "m=video 0 RTP/AVP 107", "a=rtpmap:107 H263-1998/90000", "a=sendrecv"}));
}

} // namespace
