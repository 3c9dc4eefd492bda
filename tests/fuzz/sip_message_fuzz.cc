// Fuzz target: the SIP message parser, every typed accessor and the semantic check, in both
// parse modes; also checks the SIMD scanning kernels against their scalar twins and that every
// view the parser returns lies inside the input.
#include "sip/message.h"
#include "sip/scan.h"
#include "sip/uri.h"
#include "sip/validate.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace {

using namespace tandem::sip;

void require(bool ok) {
    if (!ok) __builtin_trap();
}

void inside(std::string_view v, const char* b, size_t n) {
    require(v.empty() || (v.data() >= b && v.data() + v.size() <= b + n));
}

void exercise(const message& m, const char* b, size_t n) {
    inside(m.request_uri(), b, n);
    inside(m.method_name(), b, n);
    inside(m.reason_phrase(), b, n);
    inside(m.body(), b, n);
    require(m.size() <= n);
    for (size_t i = 0; i < m.header_count(); ++i) {
        inside(m.value(i), b, n);
        inside(m.name(m.header(i)), b, n);
        require(m.find(m.header(i).id) <= i);
    }
    if (m.top_via().ok()) inside(m.top_via()->branch, b, n);
    if (m.from().ok()) inside(m.from()->tag, b, n);
    if (m.to().ok()) inside(m.to()->uri, b, n);
    (void)m.call_id();
    if (m.cseq().ok()) require(m.cseq()->number <= 0x7fffffffu);
    for (size_t i = 0; i < m.count(header_id::via); ++i)
        (void)m.via(i);
    if (m.max_forwards().ok()) require(*m.max_forwards() <= 255);
    for (size_t i = 0; i < m.contact_count(); ++i) {
        auto c = m.contact(i);
        if (c.ok()) require(c->q <= 1000);
    }
    for (size_t i = 0; i < m.route_count(); ++i)
        (void)m.route(i);
    for (size_t i = 0; i < m.record_route_count(); ++i)
        (void)m.record_route(i);
    (void)m.content_type();
    (void)m.expires();
    (void)m.rseq();
    (void)m.rack();
    (void)m.reason();
    (void)m.refer_to();
    (void)m.referred_by();
    (void)m.replaces();
    (void)m.session_expires();
    (void)m.min_se();
    (void)m.p_asserted_identity();
    for (header_id id : {header_id::require, header_id::supported, header_id::allow})
        for (size_t i = 0; i < m.count(id); ++i)
            (void)m.option_tag(id, i);
    (void)m.find("X-Unknown");
    uri u;
    if (m.is_request() && parse_uri(m.request_uri(), u)) {
        inside(u.host, b, n);
        require(uri_equal(u, u) || !u.params.empty() || u.has_headers);
    }
    semantic_verdict v = semantic_check(m);
    require(v.ok() || (v.code >= 400 && v.code <= 699 && v.reason[0] != '\0'));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const char* b = reinterpret_cast<const char*>(data);
    require(scan::find_eol(b, size) == scan::find_eol_scalar(b, size));
    require(scan::find_list_delim(b, size) == scan::find_list_delim_scalar(b, size));
    {
        constexpr scan::byte_set uri_bytes = scan::make_byte_set(
            [](unsigned c) { return c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"'; });
        require(scan::span(b, size, uri_bytes) == scan::span_scalar(b, size, uri_bytes));
    }
    {
        scan::structural_index idx(b, size);
        require(idx.next_eol(0) == scan::find_eol_scalar(b, size));
        for (size_t from = 0; from < size;) {
            size_t d = idx.next_delim(from, size);
            require(d == from + scan::find_list_delim_scalar(b + from, size - from));
            from = d + 1;
        }
    }
    auto m = std::make_unique<message>();
    for (parse_mode mode : {parse_mode::datagram, parse_mode::stream}) {
        parse_result r = parse(b, size, *m, mode);
        require(r.reason != nullptr);
        if (r.ok()) {
            require(r.offset <= size);
            exercise(*m, b, size);
        } else if (r.status == parse_status::invalid) {
            require(r.offset <= size && r.reason[0] != '\0');
        } else {
            require(mode == parse_mode::stream);
        }
    }
    return 0;
}
