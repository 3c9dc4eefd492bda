// The builder and the SDP editor on the B2BUA's hot path: an A-leg INVITE with SDP becomes a
// B-leg INVITE (new Via, Call-ID, From tag, Contact, CSeq, Max-Forwards - 1, pass-through
// headers copied raw, SDP with the relay's c= and ports), written once into a packet buffer.
#include "sip/builder.h"
#include "sip/message.h"
#include "sip/sdp.h"

#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace tandem::sip;

namespace {

const std::string k_sdp = "v=0\r\n"
                          "o=- 1234567890 2 IN IP4 198.51.100.7\r\n"
                          "s=-\r\n"
                          "c=IN IP4 198.51.100.7\r\n"
                          "t=0 0\r\n"
                          "m=audio 40000 RTP/AVP 0 8 18 101\r\n"
                          "a=rtpmap:0 PCMU/8000\r\n"
                          "a=rtpmap:8 PCMA/8000\r\n"
                          "a=rtpmap:18 G729/8000\r\n"
                          "a=fmtp:18 annexb=no\r\n"
                          "a=rtpmap:101 telephone-event/8000\r\n"
                          "a=fmtp:101 0-16\r\n"
                          "a=ptime:20\r\n"
                          "a=rtcp:40001\r\n"
                          "a=sendrecv\r\n"
                          "m=video 40002 RTP/AVP 96\r\n"
                          "a=rtpmap:96 H264/90000\r\n"
                          "a=fmtp:96 profile-level-id=42e01f\r\n"
                          "a=sendrecv\r\n";

std::string a_leg_invite() {
    std::string m =
        "INVITE sip:+15551234567@sbc.example.net;user=phone SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-524287-1---5a4e1d2c;rport\r\n"
        "Max-Forwards: 70\r\n"
        "Contact: <sip:+15557654321@198.51.100.7:5060;transport=udp>\r\n"
        "To: <sip:+15551234567@sbc.example.net;user=phone>\r\n"
        "From: \"Alice\" <sip:+15557654321@carrier.example.com;user=phone>;tag=9fxced76sl\r\n"
        "Call-ID: 3848276298220188511@198.51.100.7\r\n"
        "CSeq: 1 INVITE\r\n"
        "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, INFO, UPDATE, PRACK\r\n"
        "Supported: 100rel, timer, replaces\r\n"
        "Session-Expires: 1800;refresher=uac\r\n"
        "Min-SE: 90\r\n"
        "User-Agent: CarrierSBC/4.2\r\n"
        "P-Asserted-Identity: <sip:+15557654321@carrier.example.com;user=phone>\r\n"
        "X-Billing-Account: 99-1234-5678\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: " +
        std::to_string(k_sdp.size()) + "\r\n\r\n" + k_sdp;
    return m;
}

// The policy: what passes from the A-leg (everything else is the B2BUA's own or dropped).
const std::array<header_edit, 6> k_pass{{
    {header_id::allow, {}, header_action::copy, {}},
    {header_id::supported, {}, header_action::copy, {}},
    {header_id::session_expires, {}, header_action::copy, {}},
    {header_id::min_se, {}, header_action::copy, {}},
    {header_id::content_type, {}, header_action::copy, {}},
    {header_id::unknown, "X-Billing-Account", header_action::copy, {}},
}};

// One B-leg INVITE; returns its length (0 on failure).
std::size_t build_b_leg(const message& a, sdp_view& sdp, char* out, std::size_t cap) {
    if (!sdp.parse(a.body()).ok()) return 0;
    std::array<sdp_media_edit, 2> me{};
    me[0].connection_address = "203.0.113.10";
    me[0].port = 20000;
    me[0].rtcp_port = 20001;
    me[1].connection_address = "203.0.113.10";
    me[1].port = 20002;
    sdp_edits se;
    se.session_connection_address = "203.0.113.10";
    se.origin_address = "203.0.113.10";
    se.media = me;
    const sdp_body body{&sdp, &se};

    const name_addr_value& from = a.from().value;
    const auto mf = a.max_forwards();
    if (!mf.ok() || mf.value == 0) return 0;

    message_builder b(out, cap);
    b.request_line("INVITE", "sip:+15551234567@10.20.30.40:5060;user=phone");
    b.header("Via", "SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK3-00000001-8c1e2f;rport");
    b.header_uint("Max-Forwards", mf.value - 1);
    b.header_parts("From", {from.display_name, from.display_name.empty() ? "" : " ", "<", from.uri,
                            ">;tag=3-5f1a9c02"});
    b.header_parts("To", {"<", a.to().value.uri, ">"});
    b.header("Call-ID", "3-a81f0c9d4e2b7716@tandem");
    b.header("CSeq", "1 INVITE");
    b.header("Contact", "<sip:b2bua@203.0.113.10:5060;transport=udp>");
    copy_headers(a, k_pass, false, b);
    const build_result r = b.finish(make_body_source(body));
    return r.ok() ? r.length : 0;
}

void BM_build_b_leg_invite(benchmark::State& state) {
    const std::string a = a_leg_invite();
    message m;
    if (!parse(a.data(), a.size(), m).ok()) {
        state.SkipWithError("A-leg does not parse");
        return;
    }
    sdp_view sdp;
    std::array<char, 2048> out{};
    std::size_t bytes = 0;
    for (auto _ : state) {
        const std::size_t n = build_b_leg(m, sdp, out.data(), out.size());
        if (n == 0) {
            state.SkipWithError("build failed");
            return;
        }
        bytes += n;
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_build_b_leg_invite);

// The same with the A-leg parse included: packet in, packet out.
void BM_parse_and_build_b_leg_invite(benchmark::State& state) {
    const std::string a = a_leg_invite();
    sdp_view sdp;
    std::array<char, 2048> out{};
    std::size_t bytes = 0;
    for (auto _ : state) {
        message m;
        if (!parse(a.data(), a.size(), m).ok()) {
            state.SkipWithError("A-leg does not parse");
            return;
        }
        const std::size_t n = build_b_leg(m, sdp, out.data(), out.size());
        if (n == 0) {
            state.SkipWithError("build failed");
            return;
        }
        bytes += n;
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_parse_and_build_b_leg_invite);

// build_from with no edits: the pass-everything copy.
void BM_build_from_no_edits(benchmark::State& state) {
    const std::string a = a_leg_invite();
    message m;
    if (!parse(a.data(), a.size(), m).ok()) {
        state.SkipWithError("A-leg does not parse");
        return;
    }
    std::array<char, 2048> out{};
    std::size_t bytes = 0;
    for (auto _ : state) {
        const build_result r = build_from(m, build_edits{}, out.data(), out.size());
        if (!r.ok()) {
            state.SkipWithError("build failed");
            return;
        }
        bytes += r.length;
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_build_from_no_edits);

void BM_sdp_parse(benchmark::State& state) {
    sdp_view v;
    for (auto _ : state) {
        const sdp_result r = v.parse(k_sdp);
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * k_sdp.size()));
}
BENCHMARK(BM_sdp_parse);

void BM_sdp_parse_and_edit(benchmark::State& state) {
    sdp_view v;
    std::array<char, 2048> out{};
    std::array<sdp_media_edit, 2> me{};
    me[0].connection_address = "203.0.113.10";
    me[0].port = 20000;
    me[0].rtcp_port = 20001;
    me[1].connection_address = "203.0.113.10";
    me[1].port = 20002;
    const std::array<std::string_view, 3> keep{"PCMA", "PCMU", "telephone-event"};
    sdp_edits e;
    e.session_connection_address = "203.0.113.10";
    e.origin_address = "203.0.113.10";
    e.bump_version = true;
    e.media = me;
    e.filter_codecs = true;
    e.keep_encodings = keep;
    for (auto _ : state) {
        if (!v.parse(k_sdp).ok()) {
            state.SkipWithError("sdp does not parse");
            return;
        }
        const sdp_write_result r = sdp_write(v, e, out.data(), out.size());
        if (!r.ok()) {
            state.SkipWithError("sdp edit failed");
            return;
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * k_sdp.size()));
}
BENCHMARK(BM_sdp_parse_and_edit);

} // namespace

BENCHMARK_MAIN();
