// SIP parser throughput: typical call-flow messages (INVITE with SDP, 100, 180, 200 with SDP,
// ACK, BYE) parsed "fully indexed" (every header located, and Via/From/To/Call-ID/CSeq parsed),
// against libosip2 (osip_message_init + osip_message_parse + osip_message_free) when the build
// found it, so the figure is a ratio. Also the index-only parse and the scanning kernels.
#include "sip/message.h"
#include "sip/scan.h"
#include "sip/validate.h"

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#if TANDEM_HAVE_OSIP
#include <osipparser2/osip_parser.h>
#endif

namespace {

using namespace tandem::sip;

const std::string k_sdp = "v=0\r\n"
                          "o=alice 2890844526 2890844526 IN IP4 198.51.100.10\r\n"
                          "s=-\r\n"
                          "c=IN IP4 198.51.100.10\r\n"
                          "t=0 0\r\n"
                          "m=audio 49170 RTP/AVP 0 8 18 101\r\n"
                          "a=rtpmap:0 PCMU/8000\r\n"
                          "a=rtpmap:8 PCMA/8000\r\n"
                          "a=rtpmap:18 G729/8000\r\n"
                          "a=fmtp:18 annexb=no\r\n"
                          "a=rtpmap:101 telephone-event/8000\r\n"
                          "a=fmtp:101 0-16\r\n"
                          "a=ptime:20\r\n"
                          "a=sendrecv\r\n";

std::string with_body(std::string head, const std::string& body) {
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return head;
}

const std::string k_invite = with_body(
    "INVITE sip:+15551234567@carrier.example.net:5060;user=phone SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-524287-1---a8f3c2d1e0b9;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Contact: <sip:alice@198.51.100.10:5060;transport=udp>\r\n"
    "To: <sip:+15551234567@carrier.example.net;user=phone>\r\n"
    "From: \"Alice Example\" <sip:+15559876543@pbx.example.com;user=phone>;tag=8f3c2d1e\r\n"
    "Call-ID: 3c26700c-7f1a-4b5e-9a1d-8e2f6b4c1a90@198.51.100.10\r\n"
    "CSeq: 1 INVITE\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, REFER, NOTIFY, INFO\r\n"
    "Supported: 100rel, timer, replaces\r\n"
    "Session-Expires: 1800;refresher=uac\r\n"
    "P-Asserted-Identity: \"Alice Example\" <sip:+15559876543@pbx.example.com;user=phone>\r\n"
    "User-Agent: ExamplePBX/4.2.1\r\n"
    "Content-Type: application/sdp\r\n",
    k_sdp);

const std::string k_100 = with_body(
    "SIP/2.0 100 Trying\r\n"
    "Via: SIP/2.0/UDP "
    "198.51.100.10:5060;branch=z9hG4bK-524287-1---a8f3c2d1e0b9;rport=5060;received=198.51.100."
    "10\r\n"
    "To: <sip:+15551234567@carrier.example.net;user=phone>\r\n"
    "From: \"Alice Example\" <sip:+15559876543@pbx.example.com;user=phone>;tag=8f3c2d1e\r\n"
    "Call-ID: 3c26700c-7f1a-4b5e-9a1d-8e2f6b4c1a90@198.51.100.10\r\n"
    "CSeq: 1 INVITE\r\n",
    "");

const std::string k_180 = with_body(
    "SIP/2.0 180 Ringing\r\n"
    "Via: SIP/2.0/UDP "
    "198.51.100.10:5060;branch=z9hG4bK-524287-1---a8f3c2d1e0b9;rport=5060;received=198.51.100."
    "10\r\n"
    "Record-Route: <sip:203.0.113.5;lr>\r\n"
    "Contact: <sip:bob@203.0.113.20:5060>\r\n"
    "To: <sip:+15551234567@carrier.example.net;user=phone>;tag=a6c85cf\r\n"
    "From: \"Alice Example\" <sip:+15559876543@pbx.example.com;user=phone>;tag=8f3c2d1e\r\n"
    "Call-ID: 3c26700c-7f1a-4b5e-9a1d-8e2f6b4c1a90@198.51.100.10\r\n"
    "CSeq: 1 INVITE\r\n"
    "Require: 100rel\r\n"
    "RSeq: 1\r\n",
    "");

const std::string k_200 = with_body(
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP "
    "198.51.100.10:5060;branch=z9hG4bK-524287-1---a8f3c2d1e0b9;rport=5060;received=198.51.100."
    "10\r\n"
    "Record-Route: <sip:203.0.113.5;lr>\r\n"
    "Contact: <sip:bob@203.0.113.20:5060>\r\n"
    "To: <sip:+15551234567@carrier.example.net;user=phone>;tag=a6c85cf\r\n"
    "From: \"Alice Example\" <sip:+15559876543@pbx.example.com;user=phone>;tag=8f3c2d1e\r\n"
    "Call-ID: 3c26700c-7f1a-4b5e-9a1d-8e2f6b4c1a90@198.51.100.10\r\n"
    "CSeq: 1 INVITE\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE\r\n"
    "Supported: timer\r\n"
    "Session-Expires: 1800;refresher=uac\r\n"
    "Content-Type: application/sdp\r\n",
    k_sdp);

const std::string k_ack = with_body(
    "ACK sip:bob@203.0.113.20:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-524287-1---77e1d0c4;rport\r\n"
    "Route: <sip:203.0.113.5;lr>\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:+15551234567@carrier.example.net;user=phone>;tag=a6c85cf\r\n"
    "From: \"Alice Example\" <sip:+15559876543@pbx.example.com;user=phone>;tag=8f3c2d1e\r\n"
    "Call-ID: 3c26700c-7f1a-4b5e-9a1d-8e2f6b4c1a90@198.51.100.10\r\n"
    "CSeq: 1 ACK\r\n",
    "");

const std::string k_bye = with_body(
    "BYE sip:bob@203.0.113.20:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-524287-1---2b9e44f1;rport\r\n"
    "Route: <sip:203.0.113.5;lr>\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:+15551234567@carrier.example.net;user=phone>;tag=a6c85cf\r\n"
    "From: \"Alice Example\" <sip:+15559876543@pbx.example.com;user=phone>;tag=8f3c2d1e\r\n"
    "Call-ID: 3c26700c-7f1a-4b5e-9a1d-8e2f6b4c1a90@198.51.100.10\r\n"
    "CSeq: 2 BYE\r\n"
    "Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\n",
    "");

const std::string& message_for(int64_t i) {
    static const std::string* all[] = {&k_invite, &k_100, &k_180, &k_200, &k_ack, &k_bye};
    return *all[i];
}

const char* name_for(int64_t i) {
    static const char* names[] = {"INVITE+SDP", "100", "180", "200+SDP", "ACK", "BYE"};
    return names[i];
}

void tandem_fully_indexed(benchmark::State& state) {
    const std::string& s = message_for(state.range(0));
    auto m = std::make_unique<message>();
    for (auto _ : state) {
        parse_result r = parse(s.data(), s.size(), *m);
        bool ok = r.ok() && m->top_via().ok() && m->from().ok() && m->to().ok() &&
                  m->call_id().ok() && m->cseq().ok();
        if (!ok) state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(m->cseq()->number);
        benchmark::ClobberMemory();
    }
    state.SetLabel(name_for(state.range(0)) + std::string(" ") + std::to_string(s.size()) + "B " +
                   std::to_string(m->header_count()) + " slots");
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(tandem_fully_indexed)->DenseRange(0, 5);

// What the daemon does to every message before acting on it: index, then semantic_check
// (which parses every typed header; the cached ones stay for the layers above).
void tandem_semantic_check(benchmark::State& state) {
    const std::string& s = message_for(state.range(0));
    auto m = std::make_unique<message>();
    for (auto _ : state) {
        parse_result r = parse(s.data(), s.size(), *m);
        bool ok = r.ok() && semantic_check(*m).ok();
        if (!ok) state.SkipWithError("parse or semantic_check failed");
        benchmark::DoNotOptimize(ok);
        benchmark::ClobberMemory();
    }
    state.SetLabel(name_for(state.range(0)));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(tandem_semantic_check)->DenseRange(0, 5);

void tandem_index_only(benchmark::State& state) {
    const std::string& s = message_for(state.range(0));
    auto m = std::make_unique<message>();
    for (auto _ : state) {
        parse_result r = parse(s.data(), s.size(), *m);
        benchmark::DoNotOptimize(r);
        benchmark::ClobberMemory();
    }
    state.SetLabel(name_for(state.range(0)));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(tandem_index_only)->DenseRange(0, 5);

#if TANDEM_HAVE_OSIP
void osip2_parse(benchmark::State& state) {
    static const int init = parser_init();
    (void)init;
    const std::string& s = message_for(state.range(0));
    for (auto _ : state) {
        osip_message_t* msg = nullptr;
        osip_message_init(&msg);
        int rc = osip_message_parse(msg, s.data(), s.size());
        if (rc != 0) state.SkipWithError("osip parse failed");
        benchmark::DoNotOptimize(msg);
        osip_message_free(msg);
    }
    state.SetLabel(name_for(state.range(0)));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(osip2_parse)->DenseRange(0, 5);
#endif

void scan_find_eol(benchmark::State& state) {
    std::string s(static_cast<size_t>(state.range(1)), 'a');
    s.back() = '\r';
    for (auto _ : state) {
        size_t n = state.range(0) == 0   ? scan::find_eol_scalar(s.data(), s.size())
                   : state.range(0) == 1 ? scan::find_eol_sse2(s.data(), s.size())
                                         : scan::find_eol(s.data(), s.size());
        benchmark::DoNotOptimize(n);
    }
    state.SetLabel(state.range(0) == 0   ? "scalar"
                   : state.range(0) == 1 ? "sse2"
                                         : (scan::have_avx2() ? "dispatch=avx2" : "dispatch=sse2"));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
}
BENCHMARK(scan_find_eol)->ArgsProduct({{0, 1, 2}, {64, 900}});

} // namespace

BENCHMARK_MAIN();
