// Fuzzes the builder through the parser: parse a message; if it is ok, build it back with no
// edits and parse again, and the two must agree (start line, every header's name, id, value and
// order, body). Then build with edits into a buffer too small, which must report overflow.
#include "sip/builder.h"
#include "sip/message.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

using namespace tandem::sip;

namespace {

// Names the property that failed, so a crash report from CI says which one without a rerun.
#define check(ok) check_at((ok), #ok, __LINE__)

void check_at(bool ok, const char* what, int line) {
    if (ok) return;
    std::fprintf(stderr, "sip_builder_fuzz.cc:%d: property failed: %s\n", line, what);
    std::abort();
}

bool too_many_headers(const parse_result& r) {
    return r.status == parse_status::invalid && std::string_view(r.reason) == "too many headers";
}

// Header slots other than Content-Length, in order.
std::size_t next_slot(const message& m, std::size_t i) {
    while (i < m.header_count() && m.header(i).id == header_id::content_length)
        ++i;
    return i;
}

void check_same(const message& a, const message& b) {
    check(a.start_line() == b.start_line());
    check(a.body() == b.body());
    check(b.content_length() == static_cast<int64_t>(b.body().size()));
    std::size_t i = next_slot(a, 0);
    std::size_t j = next_slot(b, 0);
    while (i < a.header_count() && j < b.header_count()) {
        const header_field& x = a.header(i);
        const header_field& y = b.header(j);
        check(a.name(x) == b.name(y));
        check(x.id == y.id && x.flags == y.flags);
        check(a.value(x) == b.value(y));
        i = next_slot(a, i + 1);
        j = next_slot(b, j + 1);
    }
    check(i == a.header_count() && j == b.header_count());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const char* bytes = reinterpret_cast<const char*>(data);
    message src;
    if (!parse(bytes, size, src).ok()) return 0;

    // Room for the message plus a Content-Length line it may not have had.
    std::vector<char> out(src.size() + 32);
    const build_result r = build_from(src, build_edits{}, out.data(), out.size());
    check(r.ok());
    message again;
    const parse_result pr = parse(out.data(), r.length, again);
    if (src.content_length() < 0 && src.header_count() == message::max_headers) {
        // A full index without Content-Length: the one the builder adds cannot fit on re-parse.
        check(too_many_headers(pr));
        return 0;
    }
    check(pr.ok() && pr.offset == r.length);
    check_same(src, again);

    // Rebuilding the rebuilt message is a fixed point.
    std::vector<char> out2(r.length + 32);
    const build_result r2 = build_from(again, build_edits{}, out2.data(), out2.size());
    check(r2.ok() && r2.length == r.length && std::memcmp(out.data(), out2.data(), r.length) == 0);

    // With edits, into every buffer size up to the full one: overflow, or the same bytes.
    const std::array<header_edit, 4> edits{{
        {header_id::via, {}, header_action::remove, {}},
        {header_id::max_forwards, {}, header_action::replace, "69"},
        {header_id::unknown, "X-Fuzz", header_action::replace, "1"},
        {header_id::contact, {}, header_action::copy, {}},
    }};
    const std::array<header_text, 1> add{{{"Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKf"}}};
    // Headers the edits may write that the source need not have: Max-Forwards, X-Fuzz, the
    // added Via and Content-Length.
    constexpr std::size_t max_added = 4;
    build_edits e;
    e.headers = edits;
    e.add = add;
    e.copy_by_default = (size & 1) != 0;
    std::vector<char> full(src.size() + 256);
    const build_result rf = build_from(src, e, full.data(), full.size());
    check(rf.ok());
    message edited;
    const parse_result pe = parse(full.data(), rf.length, edited);
    if (too_many_headers(pe)) {
        // The edits added more lines than the full index had room for.
        check(src.header_count() + max_added > message::max_headers);
    } else {
        check(pe.ok());
        check(edited.body() == src.body());
    }
    const std::size_t step = rf.length / 16 + 1;
    for (std::size_t cap = 0; cap < rf.length; cap += step) {
        std::vector<char> small(cap);
        const build_result rs = build_from(src, e, small.data(), small.size());
        check(rs.status == build_status::overflow);
    }
    return 0;
}
