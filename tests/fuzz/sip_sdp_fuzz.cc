// Fuzzes the SDP view and editor: parse, every accessor, then every edit into a small and a
// large buffer. Checks: no crash or over-read (ASan), no-edit output is the input byte for byte,
// the small buffer either holds the same bytes or reports overflow with the size the large one
// used, and every edited output parses again.
#include "sip/sdp.h"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

using namespace tandem::sip;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

volatile std::size_t g_sink = 0;

void touch(std::string_view s) {
    g_sink = g_sink + s.size() + (s.empty() ? 0 : s[0]);
}

void read_all(const sdp_view& v) {
    const sdp_origin& o = v.origin();
    touch(o.username);
    touch(o.sess_id);
    touch(o.address);
    g_sink = g_sink + o.sess_version;
    touch(v.session_name());
    if (auto c = v.session_connection()) touch(c->address);
    for (std::size_t m = 0; m < v.media_count(); ++m) {
        touch(v.media_type(m));
        touch(v.media_proto(m));
        g_sink = g_sink + v.media_port(m) + v.media_port_count(m) + v.media_is_rtp(m);
        for (std::size_t i = 0; i < v.format_count(m); ++i)
            touch(v.format(m, i));
        if (auto c = v.media_connection(m)) touch(c->suffix);
        if (auto c = v.effective_connection(m)) touch(c->addrtype_text);
        for (unsigned pt = 0; pt < 128; pt += 1) {
            if (auto r = v.rtpmap(m, static_cast<std::uint8_t>(pt))) touch(r->encoding_params);
            if (auto f = v.fmtp(m, static_cast<std::uint8_t>(pt))) touch(*f);
            touch(v.encoding_name(m, static_cast<std::uint8_t>(pt)));
        }
        g_sink = g_sink + static_cast<std::size_t>(v.effective_direction(m));
    }
    for (std::size_t s = 0; s <= v.section_count(); ++s) { // one past the end on purpose
        for (std::size_t i = 0; i <= v.bandwidth_count(s); ++i)
            g_sink = g_sink + v.bandwidth(s, i).value;
        for (std::size_t i = 0; i <= v.attribute_count(s); ++i)
            touch(v.attribute(s, i).value);
        for (std::size_t i = 0; i <= v.line_count(s); ++i)
            touch(v.line(s, i).value);
        if (auto a = v.find_attribute(s, "rtpmap")) touch(a->name);
        g_sink = g_sink + static_cast<std::size_t>(v.direction(s));
    }
}

void write_both(const sdp_view& v, const sdp_edits& e, std::size_t small_cap) {
    static std::array<char, 1 << 17> large;
    static std::array<char, 1 << 17> small;
    const sdp_write_result rl = sdp_write(v, e, large.data(), large.size());
    if (!rl.ok()) {
        check(rl.status == sdp_status::bad_edit);
        return;
    }
    const sdp_write_result rs = sdp_write(v, e, small.data(), small_cap);
    if (rl.length <= small_cap) {
        check(rs.ok() && rs.length == rl.length);
        check(std::memcmp(small.data(), large.data(), rl.length) == 0);
    } else {
        check(rs.status == sdp_status::overflow && rs.length == rl.length);
    }
    if (rl.length <= sdp_max_body) {
        sdp_view again;
        const sdp_result pr = again.parse(std::string_view(large.data(), rl.length));
        // Edits never add lines beyond one c= per section and one direction per section.
        check(pr.ok() || pr.status == sdp_status::over_capacity);
        if (pr.ok()) check(again.media_count() == v.media_count());
    }
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto la = static_cast<char>(a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i]);
        const auto lb = static_cast<char>(b[i] >= 'A' && b[i] <= 'Z' ? b[i] + 32 : b[i]);
        if (la != lb) return false;
    }
    return true;
}

bool numeric_pt(std::string_view f, std::uint8_t& pt) {
    if (f.empty() || f.size() > 20) return false;
    unsigned n = 0;
    for (char c : f) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<unsigned>(c - '0');
        if (n > 127) return false;
    }
    if (n > 127) return false;
    pt = static_cast<std::uint8_t>(n);
    return true;
}

// The codec filter by name agrees with the view's own encoding_name(): a payload type stays
// exactly when its name is kept (unless the whole stream was rejected with port 0).
void check_filter(const sdp_view& v, const sdp_edits& e) {
    static std::array<char, 1 << 17> out;
    const sdp_write_result r = sdp_write(v, e, out.data(), out.size());
    if (!r.ok() || r.length > sdp_max_body) return;
    sdp_view w;
    if (!w.parse(std::string_view(out.data(), r.length)).ok()) return;
    check(w.media_count() == v.media_count());
    for (std::size_t m = 0; m < v.media_count(); ++m) {
        if (!v.media_is_rtp(m)) {
            check(w.format_count(m) == v.format_count(m));
            continue;
        }
        if (w.media_port(m) == 0 && v.media_port(m) != 0) continue; // rejected stream
        std::size_t k = 0;
        for (std::size_t i = 0; i < v.format_count(m); ++i) {
            std::uint8_t pt = 0;
            bool keep = true;
            if (numeric_pt(v.format(m, i), pt)) {
                keep = false;
                for (std::string_view n : e.keep_encodings) {
                    const std::string_view enc = v.encoding_name(m, pt);
                    if (!enc.empty() && iequal(n, enc)) keep = true;
                }
            }
            if (keep) {
                check(k < w.format_count(m) && w.format(m, k) == v.format(m, i));
                ++k;
            }
        }
        if (w.media_port(m) != 0 || v.media_port(m) == 0) {
            // All kept, none extra (a port-0 input stream may also be a rejected one).
            check(k == w.format_count(m) || (k == 0 && w.format_count(m) == 1));
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    sdp_view v;
    const sdp_result r = v.parse(body);
    read_all(v);
    if (!r.ok()) {
        check(v.media_count() == 0 && r.reason != nullptr && r.reason[0] != '\0');
        check(r.offset <= size);
        return 0;
    }

    // No edits: the same bytes.
    {
        std::vector<char> out(size);
        const sdp_write_result w = sdp_write(v, sdp_edits{}, out.data(), out.size());
        check(w.ok() && w.length == size && std::memcmp(out.data(), data, size) == 0);
    }

    // Parameters drawn from the input itself, so each input explores its own edits.
    std::uint32_t h = 2166136261u;
    for (std::size_t i = 0; i < size; ++i)
        h = (h ^ data[i]) * 16777619u;
    const std::size_t small_cap = h % 256;

    std::array<sdp_media_edit, sdp_max_media> me{};
    for (std::size_t m = 0; m < me.size(); ++m) {
        me[m].port = static_cast<std::int32_t>((h >> (m % 16)) % 65536);
        me[m].rtcp_port = (h & (1u << m)) ? me[m].port + 1 : -1;
        me[m].connection_address = (m & 1) ? "2001:db8::1" : "192.0.2.77";
        me[m].connection_addrtype = (m & 1) ? sdp_addrtype::ip6 : sdp_addrtype::ip4;
        me[m].direction = static_cast<sdp_direction>((h >> m) % 5);
    }
    const std::array<std::uint8_t, 3> pts{0, 8, static_cast<std::uint8_t>(h % 128)};
    const std::array<std::string_view, 3> names{"PCMA", "opus", "telephone-event"};
    const std::array<std::string_view, 3> drops{"rtcp", "ice-ufrag", "sendrecv"};

    sdp_edits e;
    e.session_connection_address = "203.0.113.5";
    write_both(v, e, small_cap);
    e = sdp_edits{};
    e.origin_address = "::1";
    e.origin_addrtype = sdp_addrtype::ip6;
    e.bump_version = true;
    write_both(v, e, small_cap);
    e = sdp_edits{};
    e.media = std::span<const sdp_media_edit>(me.data(), h % (me.size() + 1));
    write_both(v, e, small_cap);
    e = sdp_edits{};
    e.filter_codecs = true;
    e.keep_payload_types = pts;
    write_both(v, e, small_cap);
    e.keep_payload_types = {};
    e.keep_encodings = names;
    write_both(v, e, small_cap);
    check_filter(v, e);
    e = sdp_edits{};
    e.drop_attributes = drops;
    write_both(v, e, small_cap);
    e = sdp_edits{};
    e.direction = static_cast<sdp_direction>(h % 5);
    write_both(v, e, small_cap);
    // Everything at once.
    e.session_connection_address = "198.51.100.1";
    e.origin_address = "198.51.100.1";
    e.bump_version = true;
    e.media = me;
    e.filter_codecs = true;
    e.keep_payload_types = pts;
    e.keep_encodings = names;
    e.drop_attributes = drops;
    write_both(v, e, small_cap);
    return 0;
}
