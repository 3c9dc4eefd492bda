#include "sip/validate.h"

#include "sip/scan.h"
#include "sip/uri.h"
#include "sip/util/swar.h"

#include <array>
#include <cstring>

namespace tandem::sip {

namespace {

unsigned char lower(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return (u >= 'A' && u <= 'Z') ? static_cast<unsigned char>(u | 0x20) : u;
}
bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// RFC 3261 s25.1 token characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" /
// "'" / "~".
constexpr std::array<bool, 256> k_token = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c)
        t[static_cast<size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c)
        t[static_cast<size_t>(c)] = t[static_cast<size_t>(c - 'a' + 'A')] = true;
    for (char c : std::string_view("-.!%*_+`'~"))
        t[static_cast<unsigned char>(c)] = true;
    return t;
}();

// An option tag or Allow method (a list element, already trimmed by the index): letters only
// (nearly every tag and method) by word compares, else a token checked four bytes a step;
// anything else goes to parse_token_value, which decides (LWS around it, bad bytes).
bool option_tag_ok(std::string_view v) noexcept {
    if (v.size() >= 4 && swar::all_letters(v.data(), v.size())) return true;
    const auto* p = reinterpret_cast<const unsigned char*>(v.data());
    const auto* const e = p + v.size();
    bool all = true;
    for (; e - p >= 4 && all; p += 4) // four lookups, one branch
        all = k_token[p[0]] & k_token[p[1]] & k_token[p[2]] & k_token[p[3]];
    for (; p < e && all; ++p)
        all = k_token[*p];
    if (all) return true;
    std::string_view x;
    return parse_token_value(v, x);
}

constexpr semantic_verdict refuse(int code, const char* reason) noexcept {
    return {code, reason};
}

// RFC 3261 s25.1 SIP-date = rfc1123-date: wkday "," SP date1 SP time SP "GMT".
bool valid_date(std::string_view v) noexcept {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
        v.remove_suffix(1);
    // "Thu, 21 Feb 2002 13:02:03 GMT" is exactly 29 bytes.
    if (v.size() != 29) return false;
    static constexpr std::string_view days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    bool day_ok = false, month_ok = false;
    for (auto d : days)
        day_ok |= v.substr(0, 3) == d;
    for (auto mo : months)
        month_ok |= v.substr(8, 3) == mo;
    auto digit = [&](size_t i) { return v[i] >= '0' && v[i] <= '9'; };
    return day_ok && month_ok && v.substr(3, 2) == ", " && digit(5) && digit(6) && v[7] == ' ' &&
           v[11] == ' ' && digit(12) && digit(13) && digit(14) && digit(15) && v[16] == ' ' &&
           digit(17) && digit(18) && v[19] == ':' && digit(20) && digit(21) && v[22] == ':' &&
           digit(23) && digit(24) && v.substr(25) == " GMT";
}

bool body_type_supported(const media_type_value& t) noexcept {
    struct mt {
        std::string_view type, subtype;
    };
    static constexpr mt known[] = {
        {"application", "sdp"},       {"multipart", "mixed"},
        {"multipart", "alternative"}, {"multipart", "related"},
        {"message", "sipfrag"},       {"application", "dtmf-relay"},
        {"application", "dtmf"},      {"text", "plain"},
        {"application", "pidf+xml"},  {"application", "simple-message-summary"},
        {"application", "isup"},      {"application", "vnd.etsi.aoc+xml"},
    };
    // type and subtype are tokens (parse_media_type_value scanned them as such).
    for (const auto& k : known)
        if (scan::token_is(t.type, k.type) && scan::token_is(t.subtype, k.subtype)) return true;
    return false;
}

// Accept: does any listed media range cover application/sdp?
bool accepts_sdp(const message& m) noexcept {
    bool any = false;
    for (size_t i = m.find(header_id::accept); i < m.header_count(); ++i) {
        if (m.header(i).id != header_id::accept) continue;
        std::string_view v = m.value(i);
        if (v.empty()) continue; // an empty Accept is a list of nothing
        any = true;
        media_type_value t;
        if (!parse_media_type_value(v, t)) continue;
        if ((t.type == "*" && t.subtype == "*") ||
            (iequal(t.type, "application") && (t.subtype == "*" || iequal(t.subtype, "sdp"))))
            return true;
    }
    return !any;
}

bool sip_like(std::string_view text) noexcept {
    uri u;
    return parse_uri(text, u) && u.scheme != uri_scheme::other;
}

// What the one pass over the header index learns besides syntax, for the checks after it.
// The counts are cleared on their own and content_type is filled only when there is one: a clear
// of the whole struct at once compiles to a `rep stos`, slow at this size.
struct header_scan {
    uint8_t counts[header_id_count];
    const char* bad = nullptr; ///< reason of the first typed header that did not parse
    bool bad_require = false;  ///< a Require slot names a tag Tandem does not support
    bool has_max_forwards = false;
    bool has_content_type = false;
    bool has_authorization = false;
    uint64_t max_forwards = 0;     ///< first Max-Forwards value, when it parsed
    media_type_value content_type; ///< first Content-Type, when has_content_type

    header_scan() noexcept { std::memset(counts, 0, sizeof(counts)); }
};

// One slot's syntax check: nullptr when it parses, else the reason. The first slot of a cached
// accessor's header is checked through the accessor, so that the layers above reuse the parse;
// the other slots parse into a local that only that case constructs.
__attribute__((always_inline)) inline const char*
check_slot(const message& m, const header_field& h, bool first_of_id, header_scan& s) noexcept {
    std::string_view v = m.value(h);
    switch (h.id) {
    case header_id::via: {
        const bool ok = first_of_id ? m.top_via().ok() : [v] {
            via_value x; // only here: its clear is a `rep stos`
            return parse_via_value(v, x);
        }();
        return ok ? nullptr : "bad Via";
    }
    case header_id::from:
    case header_id::to: {
        const bool from = h.id == header_id::from;
        const bool ok = first_of_id ? (from ? m.from().ok() : m.to().ok()) : [v] {
            name_addr_value x;
            return parse_name_addr_value(v, x);
        }();
        return ok ? nullptr : from ? "bad From" : "bad To";
    }
    case header_id::route:
    case header_id::record_route:
    case header_id::refer_to:
    case header_id::referred_by:
    case header_id::p_asserted_identity:
    case header_id::p_preferred_identity: {
        name_addr_value x;
        if (parse_name_addr_value(v, x)) return nullptr;
        return h.id == header_id::route          ? "bad Route"
               : h.id == header_id::record_route ? "bad Record-Route"
               : h.id == header_id::refer_to     ? "bad Refer-To"
               : h.id == header_id::referred_by  ? "bad Referred-By"
                                                 : "bad P-Asserted-Identity";
    }
    case header_id::contact: {
        // The first is cached: the dialog layer reads it again.
        const bool ok = first_of_id ? m.first_contact().ok() : [v] {
            contact_value x;
            return parse_contact_value(v, x);
        }();
        return ok ? nullptr : "bad Contact";
    }
    case header_id::call_id: {
        const bool ok = first_of_id ? m.call_id().ok() : [v] {
            std::string_view x;
            return parse_call_id_value(v, x);
        }();
        return ok ? nullptr : "bad Call-ID";
    }
    case header_id::cseq: {
        const bool ok = first_of_id ? m.cseq().ok() : [v] {
            cseq_value x;
            return parse_cseq_value(v, x);
        }();
        return ok ? nullptr : "bad CSeq";
    }
    case header_id::max_forwards: {
        uint64_t x;
        if (!parse_uint_value(v, 255, x)) return "bad Max-Forwards";
        if (first_of_id) {
            s.has_max_forwards = true;
            s.max_forwards = x;
        }
        return nullptr;
    }
    case header_id::expires:
    case header_id::rseq:
    case header_id::min_expires:
    case header_id::retry_after: {
        uint64_t x;
        if (h.id == header_id::retry_after) {
            // delta-seconds [comment] *(SEMI retry-param): check the number only.
            size_t e = 0;
            while (e < v.size() && v[e] >= '0' && v[e] <= '9')
                ++e;
            v = v.substr(0, e);
        }
        if (parse_uint_value(v, 0xffffffffu, x)) return nullptr;
        return h.id == header_id::expires       ? "bad Expires"
               : h.id == header_id::rseq        ? "bad RSeq"
               : h.id == header_id::min_expires ? "bad Min-Expires"
                                                : "bad Retry-After";
    }
    case header_id::content_type: {
        bool ok;
        if (first_of_id) {
            ok = parse_media_type_value(v, s.content_type);
            s.has_content_type = ok;
        } else {
            media_type_value x;
            ok = parse_media_type_value(v, x);
        }
        return ok ? nullptr : "bad Content-Type";
    }
    case header_id::require:
    case header_id::supported:
    case header_id::proxy_require:
    case header_id::unsupported:
    case header_id::allow: {
        // An empty Supported/Allow is legal (no tags); an Allow method is a token like a tag.
        const bool ok = v.empty() ? h.id != header_id::require && h.id != header_id::proxy_require
                                  : option_tag_ok(v);
        // The Require verdict (420) comes later; note it while the value is at hand.
        if (h.id == header_id::require && !option_tag_supported(v)) s.bad_require = true;
        return ok ? nullptr : "bad option tag";
    }
    case header_id::rack: {
        rack_value x;
        return parse_rack_value(v, x) ? nullptr : "bad RAck";
    }
    case header_id::reason: {
        reason_value x;
        return parse_reason_value(v, x) ? nullptr : "bad Reason";
    }
    case header_id::replaces: {
        replaces_value x;
        return parse_replaces_value(v, x) ? nullptr : "bad Replaces";
    }
    case header_id::session_expires: {
        session_expires_value x;
        return parse_session_expires_value(v, x) ? nullptr : "bad Session-Expires";
    }
    case header_id::min_se: {
        session_expires_value x;
        return parse_session_expires_value(v, x) && x.refresher.empty() ? nullptr : "bad Min-SE";
    }
    case header_id::date:
        return valid_date(v) ? nullptr : "bad Date";
    case header_id::authorization:
        s.has_authorization = true;
        return nullptr;
    default:
        return nullptr;
    }
}

// Every typed header must parse: the first that does not gives `bad`. The slots are counted in
// the same pass (the caller's Missing/Multiple refusals come before `bad`); after the first
// failure a second loop only counts, so the checking loop needs no "failed yet?" test a slot.
void scan_headers(const message& m, header_scan& s) noexcept {
    static_assert(message::max_headers <= 255);
    const size_t n = m.header_count();
    size_t i = 0;
    while (i < n) {
        const header_field& h = m.header(i++);
        const bool first_of_id = s.counts[static_cast<size_t>(h.id)]++ == 0;
        if (const char* why = check_slot(m, h, first_of_id, s); why != nullptr) {
            s.bad = why;
            break;
        }
    }
    for (; i < n; ++i)
        ++s.counts[static_cast<size_t>(m.header(i).id)];
}

} // namespace

bool option_tag_supported(std::string_view tag) noexcept {
    // One length switch, then at most three compares (RFC 3261 s19.2: case-insensitive).
    switch (tag.size()) {
    case 4:
        return iequal(tag, "path") || iequal(tag, "gruu");
    case 5:
        return iequal(tag, "timer");
    case 6:
        return iequal(tag, "100rel");
    case 7:
        return iequal(tag, "tdialog");
    case 8:
        return iequal(tag, "replaces") || iequal(tag, "outbound") || iequal(tag, "histinfo");
    case 10:
        return iequal(tag, "norefersub");
    case 12:
        return iequal(tag, "precondition");
    default:
        return false;
    }
}

semantic_verdict semantic_check(const message& m) noexcept {
    if (std::string_view ver = m.version();
        ver.size() != 7 || std::memcmp(ver.data(), "SIP/2.0", 7))
        return refuse(505, "Version Not Supported");

    const bool request = m.is_request();
    if (request) {
        uri_scheme scheme;
        bool has_headers;
        if (!parse_uri_scheme(m.request_uri(), scheme, has_headers))
            return refuse(400, "Bad Request-URI");
        if (scheme == uri_scheme::other) return refuse(416, "Unsupported URI Scheme");
        if (has_headers) return refuse(400, "Request-URI with headers");
    }

    struct required {
        header_id id;
        const char* missing;
        const char* multiple;
    };
    static constexpr required mandatory[] = {
        {header_id::call_id, "Missing Call-ID", "Multiple Call-ID"},
        {header_id::from, "Missing From", "Multiple From"},
        {header_id::to, "Missing To", "Multiple To"},
        {header_id::cseq, "Missing CSeq", "Multiple CSeq"},
        {header_id::via, "Missing Via", nullptr},
    };
    header_scan s;
    scan_headers(m, s);
    const auto count = [&](header_id id) { return size_t{s.counts[static_cast<size_t>(id)]}; };
    // The usual case in one 4-byte compare: From, To, Call-ID and CSeq are adjacent ids, each
    // present once (all bytes equal, so no byte order enters it), and a Via; only otherwise the
    // table walk finds which refusal comes first.
    static_assert(static_cast<size_t>(header_id::to) == static_cast<size_t>(header_id::from) + 1 &&
                  static_cast<size_t>(header_id::call_id) ==
                      static_cast<size_t>(header_id::from) + 2 &&
                  static_cast<size_t>(header_id::cseq) == static_cast<size_t>(header_id::from) + 3);
    uint32_t once;
    std::memcpy(&once, &s.counts[static_cast<size_t>(header_id::from)], 4);
    if (once != 0x01010101u || count(header_id::via) == 0) {
        for (const auto& r : mandatory) {
            size_t n = count(r.id);
            if (n == 0) return refuse(400, r.missing);
            if (n > 1 && r.multiple != nullptr) return refuse(400, r.multiple);
        }
    }
    if (count(header_id::max_forwards) > 1) return refuse(400, "Multiple Max-Forwards");
    if (count(header_id::content_type) > 1) return refuse(400, "Multiple Content-Type");
    if (count(header_id::expires) > 1) return refuse(400, "Multiple Expires");
    if (s.bad != nullptr) return refuse(400, s.bad);

    if (!request) {
        // RFC 3261 s8.1.3.3: a UAC discards a response with more than one Via.
        if (count(header_id::via) > 1) return refuse(400, "More than one Via in response");
        return {};
    }

    const cseq_value& cs = *m.cseq();
    const via_value& top = *m.top_via();
    // Both methods known: the names match exactly when the methods do (lookup_method maps each
    // known name, and only it, to its method), so no byte compare; else the names are compared.
    const bool known = cs.method != method::other && m.method() != method::other;
    if (known ? cs.method != m.method() : cs.method_name != m.method_name()) {
        return m.method() == method::other ? refuse(501, "Not Implemented")
                                           : refuse(400, "CSeq method mismatch");
    }
    if (top.has_branch && top.branch.size() == 7 && top.branch == "z9hG4bK")
        return refuse(400, "Missing transaction identifier");
    if (s.has_max_forwards && s.max_forwards == 0) return refuse(483, "Too Many Hops");

    const method me = m.method();
    if (s.bad_require && me != method::ack && me != method::cancel)
        return refuse(420, "Bad Extension");

    if (!m.body().empty() || m.content_length() > 0) {
        // Content-Type parsed in the pass (a bad one was refused there).
        if (!s.has_content_type && !m.body().empty()) return refuse(400, "Missing Content-Type");
        if (s.has_content_type && !body_type_supported(s.content_type))
            return refuse(415, "Unsupported Media Type");
    }
    if (me == method::invite && count(header_id::accept) != 0 && !accepts_sdp(m))
        return refuse(406, "Not Acceptable");

    if (me == method::register_) {
        if (!sip_like(m.to()->uri)) return refuse(400, "Unsupported To URI");
        if (!sip_like(m.from()->uri)) return refuse(400, "Unsupported From URI");
        for (size_t n = 0; n < m.contact_count(); ++n) {
            auto c = m.contact(n);
            if (c.ok() && !c->star && !sip_like(c->addr.uri))
                return refuse(400, "Unsupported Contact URI");
        }
        if (!s.has_authorization) return {};
        for (size_t i = m.find(header_id::authorization); i < m.header_count(); ++i) {
            if (m.header(i).id != header_id::authorization) continue;
            std::string_view v = m.value(i);
            if (v.size() < 6 || !iequal(v.substr(0, 6), "Digest") ||
                (v.size() > 6 && v[6] != ' ' && v[6] != '\t' && v[6] != '\r'))
                return refuse(401, "Unsupported authorization scheme");
        }
    }
    return {};
}

} // namespace tandem::sip
