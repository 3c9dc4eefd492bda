#include "sip/message.h"

#include "sip/scan.h"
#include "sip/util/swar.h"

#include <array>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace tandem::sip {

namespace {

// ---------------------------------------------------------------------------------------------
// Character classes (RFC 3261 s25.1)

enum : uint8_t {
    c_token = 1,   // token
    c_word = 2,    // word (Call-ID)
    c_lws = 4,     // SP HT CR LF (CR/LF only appear inside a folded value)
    c_digit = 8,   //
    c_host = 16,   // hostname / IPv4 characters
    c_uri = 32,    // bytes allowed in a URI inside < > or a Request-URI (no LWS, no < > ")
    c_hexdig = 64, //
    c_list = 128,  // list-splitting delimiters , " < > backslash
};
// Second table: classes that need a bit of their own.
enum : uint8_t {
    c2_genval = 1, // token or ':' (gen-value, incl. an unbracketed IPv6 received=)
    c2_qplain = 2, // any byte but '"' and backslash (runs inside a quoted-string)
};

constexpr std::array<uint8_t, 256> build_classes() {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
        uint8_t f = 0;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum || c == '-' || c == '.' || c == '!' || c == '%' || c == '*' || c == '_' ||
            c == '+' || c == '`' || c == '\'' || c == '~')
            f |= c_token;
        if ((f & c_token) || c == '(' || c == ')' || c == '<' || c == '>' || c == ':' ||
            c == '\\' || c == '"' || c == '/' || c == '[' || c == ']' || c == '?' || c == '{' ||
            c == '}')
            f |= c_word;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') f |= c_lws;
        if (c >= '0' && c <= '9') f |= c_digit;
        if (alnum || c == '-' || c == '.') f |= c_host;
        if (c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"') f |= c_uri;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
            f |= c_hexdig;
        if (c == ',' || c == '"' || c == '<' || c == '>' || c == '\\') f |= c_list;
        t[static_cast<size_t>(c)] = f;
    }
    return t;
}
constexpr std::array<uint8_t, 256> k_class = build_classes();

constexpr std::array<uint8_t, 256> build_classes2() {
    std::array<uint8_t, 256> t{};
    for (size_t c = 0; c < 256; ++c) {
        if ((k_class[c] & c_token) || c == ':') t[c] |= c2_genval;
        if (c != '"' && c != '\\') t[c] |= c2_qplain;
    }
    return t;
}
constexpr std::array<uint8_t, 256> k_class2 = build_classes2();

inline bool is(char c, uint8_t cls) noexcept {
    return (k_class[static_cast<unsigned char>(c)] & cls) != 0;
}
// The end of the run of bytes of class `cls` (one class bit of table `t`) starting at p, at
// most `end`. Four bytes a step while the run lasts: their class bytes ANDed, one test, one
// branch.
__attribute__((always_inline)) inline const char*
skip_in(const std::array<uint8_t, 256>& t, const char* p, const char* end, uint8_t cls) noexcept {
    while (end - p >= 4) {
        const uint8_t all =
            t[static_cast<unsigned char>(p[0])] & t[static_cast<unsigned char>(p[1])] &
            t[static_cast<unsigned char>(p[2])] & t[static_cast<unsigned char>(p[3])];
        if ((all & cls) == 0) break;
        p += 4;
    }
    while (p < end && (t[static_cast<unsigned char>(*p)] & cls))
        ++p;
    return p;
}
__attribute__((always_inline)) inline const char* skip_class(const char* p, const char* end,
                                                             uint8_t cls) noexcept {
    return skip_in(k_class, p, end, cls);
}

// The classes of the runs that are often long (URIs, Call-ID words, branch and tag values) as
// byte sets for scan::span, which takes 16 bytes a step. All are ASCII-only, as byte_set needs.
constexpr scan::byte_set class_set(const std::array<uint8_t, 256>& t, uint8_t cls) {
    return scan::make_byte_set([&](unsigned c) { return (t[c] & cls) != 0; });
}
constexpr bool ascii_only(const std::array<uint8_t, 256>& t, uint8_t cls) {
    for (size_t c = 0x80; c < 256; ++c)
        if (t[c] & cls) return false;
    return true;
}
static_assert(ascii_only(k_class, c_uri | c_word | c_token) && ascii_only(k_class2, c2_genval));
constexpr scan::byte_set k_set_uri = class_set(k_class, c_uri);
constexpr scan::byte_set k_set_word = class_set(k_class, c_word);
constexpr scan::byte_set k_set_genval = class_set(k_class2, c2_genval);
constexpr scan::byte_set k_set_token = class_set(k_class, c_token);

// skip_in, but a range of 16 bytes or more goes to the vector kernel (same result: the set is
// the class bit's bytes).
__attribute__((always_inline)) inline const char* skip_long(const std::array<uint8_t, 256>& t,
                                                            const scan::byte_set& set,
                                                            const char* p, const char* end,
                                                            uint8_t cls) noexcept {
    if (end - p >= 16) return p + scan::span(p, static_cast<size_t>(end - p), set);
    return skip_in(t, p, end, cls);
}
// A token run expected to be short (a parameter name, a transport, a method): one byte a step.
inline const char* skip_token_short(const char* p, const char* end) noexcept {
    while (p < end && is(*p, c_token))
        ++p;
    return p;
}

inline bool is_sp(char c) noexcept {
    return c == ' ' || c == '\t';
}
inline unsigned char lower(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return (u >= 'A' && u <= 'Z') ? static_cast<unsigned char>(u | 0x20) : u;
}
// Inline: the parameter-name compares are mostly against literals of another length.
inline bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

inline std::string_view trim(std::string_view v) noexcept {
    size_t b = 0, e = v.size();
    while (b < e && is(v[b], c_lws))
        ++b;
    while (e > b && is(v[e - 1], c_lws))
        --e;
    return v.substr(b, e - b);
}

// scan(trim(v)) for a scan that fails on any value with LWS at either end: run on `v` as given
// first, as the index hands values over already trimmed, and trimmed only when that fails.
template <class Scan>
__attribute__((always_inline)) inline bool scan_trimmed(std::string_view v, Scan&& scan) noexcept {
    if (scan(v)) return true;
    const std::string_view t = trim(v);
    return t.size() != v.size() && scan(t);
}

// A cursor over one header value for the typed grammars.
struct cursor {
    const char* p;
    const char* end;

    explicit cursor(std::string_view v) noexcept : p(v.data()), end(v.data() + v.size()) {}
    bool done() const noexcept { return p >= end; }
    char peek() const noexcept { return p < end ? *p : '\0'; }
    void lws() noexcept {
        while (p < end && is(*p, c_lws))
            ++p;
    }
    bool eat(char c) noexcept {
        if (p < end && *p == c) {
            ++p;
            return true;
        }
        return false;
    }
    // SWS c SWS
    bool sep(char c) noexcept {
        const char* save = p;
        lws();
        if (eat(c)) {
            lws();
            return true;
        }
        p = save;
        return false;
    }
    std::string_view run(uint8_t cls) noexcept {
        const char* b = p;
        p = skip_class(p, end, cls);
        return {b, static_cast<size_t>(p - b)};
    }
    // quoted-string including its quotes; empty view when malformed.
    bool quoted(std::string_view& out) noexcept {
        const char* b = p;
        if (!eat('"')) return false;
        while (p < end) {
            p = skip_in(k_class2, p, end, c2_qplain);
            if (p >= end) break;
            char c = *p;
            if (c == '"') {
                ++p;
                out = {b, static_cast<size_t>(p - b)};
                return true;
            }
            if (c == '\\') {
                if (p + 1 >= end || p[1] == '\r' || p[1] == '\n') return false;
                p += 2;
                continue;
            }
            ++p;
        }
        return false;
    }
};

bool parse_uint(std::string_view s, uint64_t max, uint64_t& out) noexcept {
    if (s.empty()) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (!is(c, c_digit)) return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
        if (v > max) return false;
    }
    out = v;
    return true;
}

// host = hostname / IPv4address / IPv6reference. RFC 5118 s4.10: tolerate the 3261 ABNF bug.
bool scan_host(cursor& c, std::string_view& host) noexcept {
    const char* b = c.p;
    if (c.eat('[')) {
        while (!c.done() && (is(*c.p, c_hexdig) || *c.p == ':' || *c.p == '.'))
            ++c.p;
        if (!c.eat(']') || c.p - b < 4) return false;
    } else {
        c.run(c_host);
        if (c.p == b) return false;
    }
    host = {b, static_cast<size_t>(c.p - b)};
    return true;
}

// gen-value = token / host / quoted-string
bool scan_gen_value(cursor& c, std::string_view& v) noexcept {
    if (c.peek() == '"') return c.quoted(v);
    const char* b = c.p;
    if (c.peek() == '[') {
        std::string_view h;
        if (!scan_host(c, h)) return false;
        v = h;
        return true;
    }
    // Token characters plus ':' for an unbracketed IPv6 received= (RFC 5118 s4.5).
    c.p = skip_long(k_class2, k_set_genval, c.p, c.end, c2_genval);
    v = {b, static_cast<size_t>(c.p - b)};
    return c.p != b;
}

// *( SEMI generic-param ); calls fn(name, value, has_value) for each; false on bad syntax.
template <class Fn>
bool scan_params(cursor& c, Fn&& fn) noexcept {
    for (;;) {
        c.lws();
        if (c.done()) return true;
        if (!c.eat(';')) return false;
        c.lws();
        std::string_view name = c.run(c_token);
        if (name.empty()) return false;
        std::string_view value;
        bool has_value = false;
        if (c.sep('=')) {
            if (!scan_gen_value(c, value)) return false;
            has_value = true;
        }
        if (!fn(name, value, has_value)) return false;
    }
}

bool is_token(std::string_view s) noexcept {
    const char* e = s.data() + s.size();
    return !s.empty() && skip_class(s.data(), e, c_token) == e;
}

inline void clear_via(via_value& out) noexcept {
    // Field by field: a whole-struct clear compiles to `rep stos`, slow for ~200 bytes.
    out.port = 0;
    out.has_port = out.has_branch = out.has_received = out.has_maddr = false;
    out.rport = out.has_rport_value = false;
    out.rport_value = 0;
    out.ttl = -1;
    out.branch = out.received = out.maddr = out.params = out.host = {};
}

constexpr std::string_view k_method_names[] = {
    "",       "INVITE", "ACK",     "BYE",    "CANCEL",    "OPTIONS", "REGISTER", "PRACK",
    "UPDATE", "INFO",   "MESSAGE", "NOTIFY", "SUBSCRIBE", "REFER",   "PUBLISH",
};

} // namespace

// ---------------------------------------------------------------------------------------------
// Methods

method lookup_method(std::string_view token) noexcept {
    // The length picks at most four candidates; each compare is a fixed-size load.
    const char* t = token.data();
    const auto eq = [&](std::string_view lit) {
        return std::memcmp(t, lit.data(), lit.size()) == 0;
    };
    switch (token.size()) {
    case 3:
        return eq("ACK") ? method::ack : eq("BYE") ? method::bye : method::other;
    case 4:
        return eq("INFO") ? method::info : method::other;
    case 5:
        return eq("PRACK") ? method::prack : eq("REFER") ? method::refer : method::other;
    case 6:
        return eq("INVITE")   ? method::invite
               : eq("CANCEL") ? method::cancel
               : eq("UPDATE") ? method::update
               : eq("NOTIFY") ? method::notify
                              : method::other;
    case 7:
        return eq("OPTIONS")   ? method::options
               : eq("MESSAGE") ? method::message
               : eq("PUBLISH") ? method::publish
                               : method::other;
    case 8:
        return eq("REGISTER") ? method::register_ : method::other;
    case 9:
        return eq("SUBSCRIBE") ? method::subscribe : method::other;
    default:
        return method::other;
    }
}

std::string_view method_name(method m) noexcept {
    auto i = static_cast<size_t>(m);
    return i < std::size(k_method_names) ? k_method_names[i] : std::string_view{};
}

size_t parse_result::format(char* out, size_t cap) const noexcept {
    int n;
    switch (status) {
    case parse_status::ok:
        n = std::snprintf(out, cap, "ok");
        break;
    case parse_status::incomplete:
        n = std::snprintf(out, cap, "incomplete");
        break;
    default:
        n = std::snprintf(out, cap, "%s at %u", reason, static_cast<unsigned>(offset));
        break;
    }
    return n < 0 ? 0 : static_cast<size_t>(n);
}

// ---------------------------------------------------------------------------------------------
// Header grammars

bool parse_uint_value(std::string_view value, uint64_t max, uint64_t& out) noexcept {
    return scan_trimmed(value, [&](std::string_view v) { return parse_uint(v, max, out); });
}

bool parse_token_value(std::string_view value, std::string_view& out) noexcept {
    out = trim(value);
    return is_token(out);
}

namespace {

// parse_call_id_value's body, inlined into it and into message::fill_call_id.
__attribute__((always_inline)) inline bool call_id_of(std::string_view value,
                                                      std::string_view& out) noexcept {
    return scan_trimmed(value, [&](std::string_view v) {
        if (v.empty()) return false;
        // word ["@" word]: class runs four bytes a step, the '@' looked at once.
        const char* const b = v.data();
        const char* const e = b + v.size();
        const char* p = skip_long(k_class, k_set_word, b, e, c_word);
        if (p < e) {
            if (*p != '@' || p == b || p + 1 == e) return false;
            if (skip_long(k_class, k_set_word, p + 1, e, c_word) != e) return false;
        }
        out = v;
        return true;
    });
}

} // namespace

bool parse_call_id_value(std::string_view value, std::string_view& out) noexcept {
    return call_id_of(value, out);
}

bool detail::parse_via_value_reference(std::string_view value, via_value& out) noexcept {
    clear_via(out);
    cursor c(trim(value));
    if (c.end - c.p >= 8 && std::memcmp(c.p, "SIP/2.0/", 8) == 0) {
        // What the general path below gives for these bytes, without its byte loops.
        out.protocol_name = {c.p, 3};
        out.protocol_version = {c.p + 4, 3};
        c.p += 8;
        c.lws();
    } else {
        out.protocol_name = c.run(c_token);
        if (out.protocol_name.empty() || !c.sep('/')) return false;
        out.protocol_version = c.run(c_token);
        if (out.protocol_version.empty() || !c.sep('/')) return false;
    }
    out.transport = c.run(c_token);
    if (out.transport.empty()) return false;
    const char* before = c.p;
    c.lws();
    if (c.p == before) return false; // LWS required before sent-by
    if (!scan_host(c, out.host)) return false;
    if (c.sep(':')) {
        uint64_t port;
        if (!parse_uint(c.run(c_digit), 65535, port)) return false;
        out.port = static_cast<uint16_t>(port);
        out.has_port = true;
    }
    const char* params_begin = c.p;
    bool ok = scan_params(c, [&](std::string_view n, std::string_view v, bool has_v) {
        if (scan::token_is(n, "branch")) {
            // gen-value already checked token-or-':' bytes; a branch is a token (no ':').
            if (!has_v || v.front() == '"' || v.front() == '[' ||
                std::memchr(v.data(), ':', v.size()) != nullptr)
                return false;
            out.branch = v;
            out.has_branch = true;
        } else if (scan::token_is(n, "received")) {
            if (!has_v || v.front() == '"') return false;
            out.received = v;
            out.has_received = true;
        } else if (scan::token_is(n, "maddr")) {
            if (!has_v || v.front() == '"') return false;
            out.maddr = v;
            out.has_maddr = true;
        } else if (scan::token_is(n, "ttl")) {
            uint64_t t;
            if (!has_v || !parse_uint(v, 255, t)) return false;
            out.ttl = static_cast<int16_t>(t);
        } else if (scan::token_is(n, "rport")) {
            out.rport = true;
            if (has_v) {
                uint64_t r;
                if (!parse_uint(v, 65535, r)) return false;
                out.rport_value = static_cast<uint16_t>(r);
                out.has_rport_value = true;
            }
        }
        return true;
    });
    if (!ok) return false;
    out.params = trim(std::string_view(params_begin, static_cast<size_t>(c.end - params_begin)));
    return true;
}

namespace {

// name-addr / addr-spec followed by header params; `in_list` = addr-spec may not hold ',' etc.
bool scan_name_addr(cursor& c, name_addr_value& out) noexcept {
    out = name_addr_value{};
    c.lws();
    const char* disp_b = c.p;
    bool have_display = false;
    if (c.peek() == '"') {
        std::string_view q;
        if (!c.quoted(q)) return false;
        out.display_name = q;
        have_display = true;
        c.lws();
        if (c.peek() != '<') return false;
    } else if (c.peek() != '<') {
        // Either *(token LWS) "<" or an addr-spec: look for '<' after tokens.
        const char* save = c.p;
        const char* last = c.p;
        for (;;) {
            std::string_view t = c.run(c_token);
            if (t.empty()) break;
            last = c.p;
            c.lws();
        }
        if (c.peek() == '<' && last != save) {
            out.display_name = {disp_b, static_cast<size_t>(last - disp_b)};
            have_display = true;
        } else {
            c.p = save;
        }
    }
    if (c.eat('<')) {
        const char* b = c.p;
        c.p = skip_long(k_class, k_set_uri, c.p, c.end, c_uri);
        if (c.p == b || !c.eat('>')) return false;
        out.uri = {b, static_cast<size_t>(c.p - 1 - b)};
        out.angle_brackets = true;
    } else {
        if (have_display) return false;
        // addr-spec: the URI cannot carry ';' ',' '?' (RFC 3261 s20.10); they need < >.
        const char* b = c.p;
        while (!c.done() && is(*c.p, c_uri) && *c.p != ';' && *c.p != ',' && *c.p != '?')
            ++c.p;
        if (c.p == b) return false;
        out.uri = {b, static_cast<size_t>(c.p - b)};
        if (!c.done() && !is(*c.p, c_lws) && *c.p != ';') return false;
    }
    // scheme ":" required; "sip:" in any case passes the loop below, so it skips it.
    if (!(out.uri.size() > 4 && (out.uri[0] | 0x20) == 's' && (out.uri[1] | 0x20) == 'i' &&
          (out.uri[2] | 0x20) == 'p' && out.uri[3] == ':')) {
        size_t i = 0;
        while (i < out.uri.size() && (is(out.uri[i], c_host) || out.uri[i] == '+'))
            ++i;
        if (i == 0 || i >= out.uri.size() || out.uri[i] != ':' || i + 1 == out.uri.size() ||
            is(out.uri[0], c_digit) || out.uri[0] == '-' || out.uri[0] == '.')
            return false;
    }
    const char* pb = c.p;
    bool ok = scan_params(c, [&](std::string_view n, std::string_view v, bool has_v) {
        if (scan::token_is(n, "tag")) {
            // A gen-value that is neither quoted nor a bracketed host holds only token bytes
            // and ':' (scan_gen_value): it is a token exactly when it has no ':'.
            if (!has_v || v.front() == '"' || v.front() == '[' ||
                std::memchr(v.data(), ':', v.size()) != nullptr || out.has_tag)
                return false;
            out.tag = v;
            out.has_tag = true;
        }
        return true;
    });
    if (!ok) return false;
    out.params = trim(std::string_view(pb, static_cast<size_t>(c.end - pb)));
    return true;
}

bool parse_qvalue(std::string_view v, int& q) noexcept {
    // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) return false;
    int whole = v[0] - '0';
    int frac = 0;
    if (v.size() > 1) {
        if (v[1] != '.') return false;
        int scale = 100;
        for (size_t i = 2; i < v.size(); ++i) {
            if (!is(v[i], c_digit)) return false;
            frac += (v[i] - '0') * scale;
            scale /= 10;
        }
    }
    q = whole * 1000 + frac;
    return q <= 1000;
}

} // namespace

namespace {

// The fast paths below take the shape nearly every peer sends, with no LWS inside, no quoted or
// bracketed parameter values and no escapes, in one pass, and give up (return false) on
// anything else: the reference grammar above then decides. On success each fills exactly what
// the reference fills for the same bytes (tests/unit/sip_parser_test.cc compares the two).

// *( ";" token [ "=" token ] ) up to `end`, calling fn(name, value, has_value) for each; false
// (give up) at any other byte, or when fn does. A value made of token bytes is the gen-value the
// reference scans for it (it stops at ':' '"' '[' too, and the fast path gives up there).
template <class Fn>
__attribute__((always_inline)) inline bool fast_params(const char* p, const char* end,
                                                       Fn&& fn) noexcept {
    while (p < end) {
        if (*p != ';') return false;
        const char* nb = ++p;
        p = skip_token_short(p, end);
        if (p == nb) return false;
        const std::string_view name(nb, static_cast<size_t>(p - nb));
        std::string_view value;
        bool has_value = false;
        if (p < end && *p == '=') {
            const char* vb = ++p;
            p = skip_class(p, end, c_token);
            if (p == vb) return false;
            value = {vb, static_cast<size_t>(p - vb)};
            has_value = true;
        }
        if (!fn(name, value, has_value)) return false;
    }
    return true;
}

// A decimal of 1..`max_digits` digits not above `max`, the whole of `v` (parse_uint's answer
// on such input; false to give up otherwise).
inline bool fast_uint(std::string_view v, size_t max_digits, uint32_t max, uint32_t& out) noexcept {
    if (v.empty() || v.size() > max_digits) return false;
    uint32_t n = 0;
    for (char ch : v) {
        const auto d = static_cast<uint32_t>(static_cast<unsigned char>(ch) - '0');
        if (d > 9) return false;
        n = n * 10 + d;
    }
    if (n > max) return false;
    out = n;
    return true;
}

// Four bytes as a memcpy load reads them on this machine.
constexpr uint32_t word4(const char (&s)[5]) noexcept {
    uint32_t w = 0;
    for (size_t i = 0; i < 4; ++i)
        w |= static_cast<uint32_t>(static_cast<unsigned char>(s[i]))
             << (std::endian::native == std::endian::little ? 8 * i : 24 - 8 * i);
    return w;
}
constexpr uint32_t k_udp_sp = word4("UDP "), k_tcp_sp = word4("TCP "), k_tls_sp = word4("TLS ");

// A parameter prefix such as ";branch=" as one 8-byte compare: `word` holds its bytes lower-cased,
// `fold` the 0x20 bit on its letters (under | 0x20 only a letter's two cases give the letter),
// `mask` its length.
struct prefix8 {
    uint64_t word = 0, fold = 0, mask = 0;
};
template <size_t N>
constexpr prefix8 make_prefix8(const char (&s)[N]) noexcept {
    static_assert(N - 1 <= 8);
    prefix8 r;
    for (size_t i = 0; i + 1 < N; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        const bool letter = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
        const unsigned sh = std::endian::native == std::endian::little ? 8 * i : 56 - 8 * i;
        r.word |= static_cast<uint64_t>(letter ? (c | 0x20) : c) << sh;
        r.fold |= static_cast<uint64_t>(letter ? 0x20 : 0) << sh;
        r.mask |= uint64_t{0xff} << sh;
    }
    return r;
}
// True when [p, end) starts with `x` (letters in either case); reads 8 bytes only when there are.
inline bool has_prefix8(const char* p, const char* end, const prefix8& x) noexcept {
    if (end - p < 8) return false;
    uint64_t w;
    std::memcpy(&w, p, 8);
    return ((w | x.fold) & x.mask) == x.word;
}
constexpr prefix8 k_branch_eq = make_prefix8(";branch=");
constexpr prefix8 k_tag_eq = make_prefix8(";tag=");
// `x`, of `n` bytes, moved to the last n of 8: has_prefix8(end - 8, end, ...) then tests whether a
// range ends with it.
constexpr prefix8 at_end8(prefix8 x, size_t n) noexcept {
    const unsigned sh = static_cast<unsigned>(8 * (8 - n));
    const auto move = [sh](uint64_t w) {
        return std::endian::native == std::endian::little ? w << sh : w >> sh;
    };
    return {move(x.word), move(x.fold), move(x.mask)};
}
constexpr prefix8 k_rport_last = at_end8(make_prefix8(";rport"), 6);
constexpr prefix8 k_rport_eq = make_prefix8(";rport=");
constexpr prefix8 k_received = make_prefix8("received");

// "SIP/2.0/" transport SP host [":" port] params. Gives up on LWS at either end (no byte it
// ends on is LWS), so `v` may come untrimmed: the reference trims.
__attribute__((always_inline)) inline bool fast_via(std::string_view v, via_value& out) noexcept {
    const char* p = v.data();
    const char* const end = p + v.size();
    if (v.size() < 10 || std::memcmp(p, "SIP/2.0/", 8) != 0) return false;
    out.protocol_name = {p, 3};
    out.protocol_version = {p + 4, 3};
    p += 8;
    const char* tb = p;
    // UDP, TCP and TLS with their SP as one 4-byte compare; any other transport by the run.
    uint32_t t4 = 0;
    if (end - p >= 4) std::memcpy(&t4, p, 4);
    if (t4 == k_udp_sp || t4 == k_tcp_sp || t4 == k_tls_sp)
        p += 3;
    else
        p = skip_token_short(p, end);
    if (p == tb || p == end || *p != ' ') return false;
    out.transport = {tb, static_cast<size_t>(p - tb)};
    const char* hb = ++p;
    p = skip_class(p, end, c_host);
    if (p == hb) return false; // also an IPv6 reference: the reference scans it
    out.host = {hb, static_cast<size_t>(p - hb)};
    if (p < end && *p == ':') {
        // 1..5 digits, at most 65535, scanned and summed in one walk; more digits give up.
        const char* db = ++p;
        uint32_t port;
        p = swar::read_digits(p, end, 6, port);
        if (p == db || p - db > 5 || port > 65535) return false;
        out.port = static_cast<uint16_t>(port);
        out.has_port = true;
    }
    const char* const pb = p;
    if (has_prefix8(p, end, k_branch_eq)) { // nearly every Via starts its parameters so
        const char* bb = p + 8;
        p = skip_long(k_class, k_set_token, bb, end, c_token);
        if (p == bb || (p < end && *p != ';')) return false;
        out.branch = {bb, static_cast<size_t>(p - bb)};
        out.has_branch = true;
    }
    // ";rport=N" and ";received=X", which a response's Via nearly always carries next: each name
    // by one 8-byte compare instead of the name walk and compare of the general walk below,
    // taken only when the value ends the value or a ';' follows it (what the general walk would
    // accept, with the same fields); anything else is left to that walk, from the same byte.
    for (;;) {
        if (has_prefix8(p, end, k_rport_eq)) {
            const char* const vb = p + 7;
            uint32_t x;
            const char* const ve = swar::read_digits(vb, end, 6, x);
            if (ve == vb || ve - vb > 5 || x > 65535 || (ve < end && *ve != ';')) break;
            out.rport = true;
            out.rport_value = static_cast<uint16_t>(x);
            out.has_rport_value = true;
            p = ve;
        } else if (end - p >= 10 && *p == ';' && has_prefix8(p + 1, end, k_received) &&
                   p[9] == '=') {
            const char* const vb = p + 10;
            const char* const ve = skip_class(vb, end, c_token);
            if (ve == vb || (ve < end && *ve != ';')) break;
            out.received = {vb, static_cast<size_t>(ve - vb)};
            out.has_received = true;
            p = ve;
        } else {
            break;
        }
    }
    // ";rport" closing the value (what most clients send): its flag without the general walk
    // below, by one compare of the value's last 8 bytes (it has at least 10).
    if (end - p == 6 && has_prefix8(end - 8, end, k_rport_last)) {
        out.rport = true;
        p = end;
    }
    const bool ok = fast_params(p, end, [&](std::string_view n, std::string_view pv, bool has_v) {
        uint32_t x;
        switch (n.size()) {
        case 6:
            if (!scan::token_is(n, "branch")) return true;
            if (!has_v) return false;
            out.branch = pv;
            out.has_branch = true;
            return true;
        case 5:
            if (scan::token_is(n, "rport")) {
                out.rport = true;
                if (has_v) {
                    if (!fast_uint(pv, 5, 65535, x)) return false;
                    out.rport_value = static_cast<uint16_t>(x);
                    out.has_rport_value = true;
                }
            } else if (scan::token_is(n, "maddr")) {
                if (!has_v) return false;
                out.maddr = pv;
                out.has_maddr = true;
            }
            return true;
        case 8:
            if (!scan::token_is(n, "received")) return true;
            if (!has_v) return false;
            out.received = pv;
            out.has_received = true;
            return true;
        case 3:
            if (!scan::token_is(n, "ttl")) return true;
            if (!has_v || !fast_uint(pv, 3, 255, x)) return false;
            out.ttl = static_cast<int16_t>(x);
            return true;
        default:
            return true;
        }
    });
    if (!ok) return false;
    out.params = {pb, static_cast<size_t>(end - pb)};
    return true;
}

// The first '"' or backslash at or after q, or `end`: eight bytes a step on a little-endian
// machine (the zero bytes of the word XOR each), the class walk for the rest.
inline const char* skip_qplain(const char* q, const char* end) noexcept {
    if (std::endian::native == std::endian::little) {
        for (; end - q >= 8; q += 8) {
            uint64_t w;
            std::memcpy(&w, q, 8);
            const uint64_t hit = swar::zero_bytes(w ^ 0x2222222222222222u) |
                                 swar::zero_bytes(w ^ 0x5c5c5c5c5c5c5c5cu);
            if (hit != 0) return q + (__builtin_ctzll(hit) >> 3);
        }
    }
    return skip_in(k_class2, q, end, c2_qplain);
}

// [ quoted-string LWS ] "<" sip-URI ">" params; `out` cleared by the caller. Gives up on LWS at
// either end (it starts on '"' or '<' and ends on '>' or a parameter byte), so `v` may come
// untrimmed: the reference trims.
__attribute__((always_inline)) inline bool fast_name_addr(std::string_view v,
                                                          name_addr_value& out) noexcept {
    const char* p = v.data();
    const char* const end = p + v.size();
    if (p == end) return false;
    if (*p == '"') {
        const char* q = skip_qplain(p + 1, end);
        if (q == end || *q != '"') return false; // an escape, or unterminated
        ++q;
        out.display_name = {p, static_cast<size_t>(q - p)};
        p = q;
        while (p < end && is(*p, c_lws))
            ++p;
        if (p == end) return false;
    }
    if (*p != '<') return false;
    const char* ub = ++p;
    p = skip_long(k_class, k_set_uri, p, end, c_uri);
    if (p == end || *p != '>') return false;
    const size_t ulen = static_cast<size_t>(p - ub);
    // Other schemes go to the reference's scheme check.
    if (!(ulen > 4 && (ub[0] | 0x20) == 's' && (ub[1] | 0x20) == 'i' && (ub[2] | 0x20) == 'p' &&
          ub[3] == ':'))
        return false;
    out.uri = {ub, ulen};
    out.angle_brackets = true;
    const char* const pb = ++p;
    if (has_prefix8(p, end, k_tag_eq)) { // the usual From/To: the tag first
        const char* tb = p + 5;
        p = skip_long(k_class, k_set_token, tb, end, c_token);
        if (p == tb || (p < end && *p != ';')) return false;
        out.tag = {tb, static_cast<size_t>(p - tb)};
        out.has_tag = true;
    }
    const bool ok = fast_params(p, end, [&](std::string_view n, std::string_view pv, bool has_v) {
        if (n.size() != 3 || !scan::token_is(n, "tag")) return true;
        if (!has_v || out.has_tag) return false;
        out.tag = pv;
        out.has_tag = true;
        return true;
    });
    if (!ok) return false;
    out.params = {pb, static_cast<size_t>(end - pb)};
    return true;
}

} // namespace

namespace {

// The bodies of parse_via_value and parse_name_addr_value, inlined into them and into the
// cached accessors (message::fill_top_via, fill_from, fill_to), which so pay no call layer.
__attribute__((always_inline)) inline bool via_value_of(std::string_view value,
                                                        via_value& out) noexcept {
    clear_via(out);
    if (fast_via(value, out)) return true;
    return detail::parse_via_value_reference(value, out);
}

__attribute__((always_inline)) inline bool name_addr_value_of(std::string_view value,
                                                              name_addr_value& out) noexcept {
    out = name_addr_value{};
    if (fast_name_addr(value, out)) return true;
    return detail::parse_name_addr_value_reference(value, out);
}

} // namespace

bool parse_via_value(std::string_view value, via_value& out) noexcept {
    return via_value_of(value, out);
}

bool parse_name_addr_value(std::string_view value, name_addr_value& out) noexcept {
    return name_addr_value_of(value, out);
}

bool detail::parse_name_addr_value_reference(std::string_view value,
                                             name_addr_value& out) noexcept {
    cursor c(trim(value));
    return scan_name_addr(c, out);
}

bool parse_contact_value(std::string_view value, contact_value& out) noexcept {
    // Not `out = contact_value{}`: a clear of this size compiles to `rep stos`, slow for it.
    out.star = false;
    out.addr = name_addr_value{};
    out.expires = -1;
    out.q = -1;
    std::string_view v = trim(value);
    if (v == "*") {
        out.star = true;
        return true;
    }
    if (!fast_name_addr(v, out.addr)) {
        cursor c(v);
        if (!scan_name_addr(c, out.addr)) return false;
    }
    const auto param = [&](std::string_view n, std::string_view pv, bool has_v) {
        if (scan::token_is(n, "expires")) {
            uint64_t e;
            if (!has_v || !parse_uint(pv, 0xffffffffu, e)) return false;
            out.expires = static_cast<int64_t>(e);
        } else if (scan::token_is(n, "q")) {
            if (!has_v || !parse_qvalue(pv, out.q)) return false;
        }
        return true;
    };
    const char* pb = out.addr.params.data();
    if (fast_params(pb, pb + out.addr.params.size(), param)) return true;
    // The fast scan gave up (odd syntax or a bad value): the reference scan decides, setting
    // the same fields again from the first parameter on.
    out.expires = -1;
    out.q = -1;
    cursor pc(out.addr.params);
    return scan_params(pc, param);
}

namespace {

// parse_cseq_value's body, inlined into it and into message::fill_cseq.
__attribute__((always_inline)) inline bool cseq_of(std::string_view value,
                                                   cseq_value& out) noexcept {
    // 1*DIGIT LWS token, in one pass (RFC 3261 s20.16; the number at most 2^31-1).
    out = cseq_value{};
    return scan_trimmed(value, [&](std::string_view v) {
        const char* p = v.data();
        const char* const end = p + v.size();
        const char* const db = p;
        uint64_t n = 0;
        for (; p < end; ++p) {
            const auto d = static_cast<uint64_t>(static_cast<unsigned char>(*p) - '0');
            if (d > 9) break;
            n = n * 10 + d;
            if (n > 0x7fffffffu) return false;
        }
        if (p == db || p == end || !is(*p, c_lws)) return false;
        do
            ++p;
        while (p < end && is(*p, c_lws));
        // The rest is the method: one Tandem knows (nearly every CSeq) is a token, which
        // lookup_method's whole-name compare proves; any other is scanned as one.
        const std::string_view name(p, static_cast<size_t>(end - p));
        const method me = lookup_method(name);
        if (me == method::other && (name.empty() || skip_token_short(p, end) != end)) return false;
        out.method_name = name;
        out.number = static_cast<uint32_t>(n);
        out.method = me;
        return true;
    });
}

} // namespace

bool parse_cseq_value(std::string_view value, cseq_value& out) noexcept {
    return cseq_of(value, out);
}

namespace {

constexpr prefix8 k_applicat = make_prefix8("applicat"), k_tion_sdp = make_prefix8("tion/sdp");

} // namespace

bool parse_media_type_value(std::string_view value, media_type_value& out) noexcept {
    out = media_type_value{};
    if (value.size() == 15 && has_prefix8(value.data(), value.data() + 15, k_applicat) &&
        has_prefix8(value.data() + 7, value.data() + 15, k_tion_sdp)) {
        // "application/sdp" (letters in either case), nearly every body's type: two overlapping
        // 8-byte compares give the fields the walk below gives for these bytes.
        out.type = value.substr(0, 11);
        out.subtype = value.substr(12, 3);
        out.params = value.substr(15);
        return true;
    }
    {
        // type "/" subtype with no LWS around the '/' (nearly every peer), in one walk: the
        // same fields as the general path below for those bytes; anything else goes there.
        const char* const b = value.data();
        const char* const end = b + value.size();
        const char* p = skip_class(b, end, c_token);
        if (p != b && p < end && *p == '/') {
            const char* const sb = p + 1;
            const char* const se = skip_class(sb, end, c_token);
            const auto any = [](std::string_view, std::string_view, bool) { return true; };
            if (se != sb && fast_params(se, end, any)) {
                out.type = {b, static_cast<size_t>(p - b)};
                out.subtype = {sb, static_cast<size_t>(se - sb)};
                out.params = {se, static_cast<size_t>(end - se)};
                return true;
            }
        }
    }
    cursor c(trim(value));
    out.type = c.run(c_token);
    if (out.type.empty() || !c.sep('/')) return false;
    out.subtype = c.run(c_token);
    if (out.subtype.empty()) return false;
    const char* pb = c.p;
    const auto any = [](std::string_view, std::string_view, bool) { return true; };
    if (fast_params(pb, c.end, any)) { // no parameters, or plain ones: nothing to trim
        out.params = {pb, static_cast<size_t>(c.end - pb)};
        return true;
    }
    if (!scan_params(c, any)) return false;
    out.params = trim(std::string_view(pb, static_cast<size_t>(c.end - pb)));
    return true;
}

bool parse_rack_value(std::string_view value, rack_value& out) noexcept {
    out = rack_value{};
    cursor c(trim(value));
    uint64_t a, b;
    if (!parse_uint(c.run(c_digit), 0xffffffffu, a)) return false;
    c.lws();
    if (!parse_uint(c.run(c_digit), 0xffffffffu, b)) return false;
    c.lws();
    out.method_name = c.run(c_token);
    if (out.method_name.empty() || !c.done()) return false;
    out.rseq = static_cast<uint32_t>(a);
    out.cseq = static_cast<uint32_t>(b);
    out.method = lookup_method(out.method_name);
    return true;
}

bool parse_reason_value(std::string_view value, reason_value& out) noexcept {
    out = reason_value{};
    cursor c(trim(value));
    out.protocol = c.run(c_token);
    if (out.protocol.empty()) return false;
    const char* pb = c.p;
    bool ok = scan_params(c, [&](std::string_view n, std::string_view v, bool has_v) {
        if (scan::token_is(n, "cause")) {
            uint64_t cause;
            if (!has_v || !parse_uint(v, 65535, cause)) return false;
            out.cause = static_cast<int>(cause);
        } else if (scan::token_is(n, "text")) {
            if (!has_v || v.size() < 2 || v.front() != '"') return false;
            out.text = v.substr(1, v.size() - 2);
        }
        return true;
    });
    if (!ok) return false;
    out.params = trim(std::string_view(pb, static_cast<size_t>(c.end - pb)));
    return true;
}

namespace {

constexpr prefix8 k_refresh = make_prefix8(";refresh");
constexpr prefix8 k_sher_ua = make_prefix8("sher=ua");

// "delta-seconds" or "delta-seconds;refresher=uac" / "...=uas" (letters in either case), `v`
// as the index gives it: what the general path below fills for those bytes, in one walk and
// two word compares; false (give up) on anything else, or on 10 digits or more.
inline bool fast_session_expires(std::string_view v, session_expires_value& out) noexcept {
    const char* p = v.data();
    const char* const end = p + v.size();
    const char* const db = p;
    uint32_t n;
    p = swar::read_digits(p, end, 10, n);
    if (p == db || p - db > 9) return false;
    if (p != end) {
        const unsigned last = static_cast<unsigned char>(end[-1]) | 0x20u;
        if (end - p != 14 || !has_prefix8(p, end, k_refresh) ||
            !has_prefix8(p + 6, end, k_sher_ua) || (last != 'c' && last != 's'))
            return false;
        out.refresher = {p + 11, 3};
    }
    out.seconds = n;
    out.params = {p, static_cast<size_t>(end - p)};
    return true;
}

} // namespace

bool parse_session_expires_value(std::string_view value, session_expires_value& out) noexcept {
    out = session_expires_value{};
    if (fast_session_expires(value, out)) return true;
    cursor c(trim(value));
    uint64_t s;
    if (!parse_uint(c.run(c_digit), 0xffffffffu, s)) return false;
    out.seconds = static_cast<uint32_t>(s);
    const char* pb = c.p;
    const auto param = [&](std::string_view n, std::string_view v, bool has_v) {
        if (scan::token_is(n, "refresher")) {
            // All-letter literals: scan::token_is is exact on any bytes here.
            if (!has_v || (!scan::token_is(v, "uac") && !scan::token_is(v, "uas"))) return false;
            out.refresher = v;
        }
        return true;
    };
    if (fast_params(pb, c.end, param)) {
        out.params = {pb, static_cast<size_t>(c.end - pb)};
        return true;
    }
    out.refresher = {}; // the reference scan below sets it again from the first parameter on
    if (!scan_params(c, param)) return false;
    out.params = trim(std::string_view(pb, static_cast<size_t>(c.end - pb)));
    return true;
}

bool parse_replaces_value(std::string_view value, replaces_value& out) noexcept {
    out = replaces_value{};
    std::string_view v = trim(value);
    size_t semi = v.find(';');
    if (!parse_call_id_value(v.substr(0, semi), out.call_id)) return false;
    if (semi == std::string_view::npos) return false;
    cursor c(v.substr(semi));
    bool have_to = false, have_from = false;
    bool ok = scan_params(c, [&](std::string_view n, std::string_view pv, bool has_v) {
        if (scan::token_is(n, "to-tag")) {
            if (!has_v || !is_token(pv)) return false;
            out.to_tag = pv;
            have_to = true;
        } else if (scan::token_is(n, "from-tag")) {
            if (!has_v || !is_token(pv)) return false;
            out.from_tag = pv;
            have_from = true;
        } else if (scan::token_is(n, "early-only")) {
            out.early_only = true;
        }
        return true;
    });
    return ok && have_to && have_from;
}

// ---------------------------------------------------------------------------------------------
// The parser

void message::reset(const char* base) noexcept {
    _base = base;
    _size = _body_off = _body_len = 0;
    _content_length = -1;
    _start_len = _method_off = _method_len = _ruri_off = _ruri_len = 0;
    _version_off = _version_len = _reason_off = _reason_len = 0;
    _status = 0;
    _method = method::other;
    _is_request = false;
    _header_count = 0;
    std::memset(_first, 0xff, sizeof(_first));
    _cached = 0;
}

namespace {

inline uint16_t load_u16(const char* p) noexcept {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
// "\r\n" as load_u16 reads it on this machine.
constexpr uint16_t k_crlf = std::endian::native == std::endian::little ? 0x0a0d : 0x0d0a;

__attribute__((cold, noinline)) parse_result fail(const char* reason, size_t at) noexcept {
    return {parse_status::invalid, static_cast<uint32_t>(at), reason};
}
__attribute__((cold, noinline)) parse_result need_more() noexcept {
    return {parse_status::incomplete, 0, "incomplete"};
}

// The LWS bytes (SP HTAB, and CR LF inside a folded value) are all <= ' ': one compare settles
// every other byte before the class table.
inline bool is_lws(char c) noexcept {
    return static_cast<unsigned char>(c) <= ' ' && is(c, c_lws);
}
// [b, e) without its leading LWS: the new begin. Nearly every value and list element starts with
// exactly one SP; p[e] is readable (the CR that ends the line, or the delimiter that ends the
// element), so two byte tests settle that case without the loop.
inline size_t skip_lws(const char* p, size_t b, size_t e) noexcept {
    if (b < e && p[b] == ' ' && static_cast<unsigned char>(p[b + 1]) > ' ') return b + 1;
    while (b < e && is_lws(p[b]))
        ++b;
    return b;
}
// [b, e) without its trailing LWS: the new end.
inline size_t trim_lws_back(const char* p, size_t b, size_t e) noexcept {
    while (e > b && is_lws(p[e - 1]))
        --e;
    return e;
}

// An index slot written as two 8-byte stores instead of six field stores: `line` holds the
// fields every slot of one header line shares (name offset, name length, id) in the slot's
// layout, and each slot adds its value and flags.
static_assert(sizeof(header_field) == 16 && offsetof(header_field, value_off) == 4 &&
              offsetof(header_field, value_len) == 8 && offsetof(header_field, name_len) == 12 &&
              offsetof(header_field, id) == 14 && offsetof(header_field, flags) == 15 &&
              sizeof(header_id) == 1);
struct slot_line {
    uint64_t lo; // name_off
    uint64_t hi; // name_len, id
};
inline slot_line make_slot_line(size_t nb, size_t name_len, header_id id) noexcept {
    return {nb, static_cast<uint64_t>(name_len) << 32 |
                    static_cast<uint64_t>(static_cast<uint8_t>(id)) << 48};
}
__attribute__((always_inline)) inline void put_slot(header_field& h, const slot_line& line,
                                                    size_t b, size_t e, uint8_t flags) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        const uint64_t lo = line.lo | static_cast<uint64_t>(b) << 32;
        const uint64_t hi = line.hi | (e - b) | static_cast<uint64_t>(flags) << 56;
        std::memcpy(reinterpret_cast<char*>(&h), &lo, 8);
        std::memcpy(reinterpret_cast<char*>(&h) + 8, &hi, 8);
    } else {
        h.name_off = static_cast<uint32_t>(line.lo);
        h.value_off = static_cast<uint32_t>(b);
        h.value_len = static_cast<uint32_t>(e - b);
        h.name_len = static_cast<uint16_t>(line.hi >> 32);
        h.id = static_cast<header_id>(line.hi >> 48);
        h.flags = flags;
    }
}

// A request line's method when it is a known one of at most 7 letters followed by SP (nearly
// every request): the SP is the lowest zero byte of the first word XOR SPs (that lowest one is
// exact), and lookup_method knowing the bytes before it proves them a token. Sets `len` to the
// method's length then; else `other` and `len` unchanged.
inline method known_method_word(std::string_view line, size_t& len) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        if (line.size() < 8) return method::other;
        constexpr uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
        uint64_t w;
        std::memcpy(&w, line.data(), 8);
        const uint64_t x = w ^ (ones * ' ');
        const uint64_t z = (x - ones) & ~x & highs;
        if (z == 0) return method::other;
        const auto sp = static_cast<size_t>(__builtin_ctzll(z)) >> 3;
        const method known = sp > 0 ? lookup_method(line.substr(0, sp)) : method::other;
        if (known != method::other) len = sp;
        return known;
    } else {
        return method::other;
    }
}

bool valid_version_reference(std::string_view v) noexcept;

// "SIP" "/" 1*DIGIT "." 1*DIGIT, case-insensitive name; nearly always exactly SIP/2.0, which is
// tested inline.
inline bool valid_version(std::string_view v) noexcept {
    return (v.size() == 7 && std::memcmp(v.data(), "SIP/2.0", 7) == 0) ||
           valid_version_reference(v);
}

__attribute__((noinline)) bool valid_version_reference(std::string_view v) noexcept {
    if (v.size() < 7 || !iequal(v.substr(0, 4), "SIP/")) return false;
    size_t i = 4, d1 = 0, d2 = 0;
    while (i < v.size() && is(v[i], c_digit))
        ++i, ++d1;
    if (d1 == 0 || i >= v.size() || v[i] != '.') return false;
    ++i;
    while (i < v.size() && is(v[i], c_digit))
        ++i, ++d2;
    return d2 > 0 && i == v.size();
}

} // namespace

parse_result parse(const char* data, size_t len, message& m, parse_mode mode) noexcept {
    m.reset(data);
    const bool stream = mode == parse_mode::stream;
    if (len > 0xffffffffu) return fail("message too large", 0);

    // Start line (RFC 3261 s7.1, s7.2): single SP separators, CRLF terminated.
    scan::structural_index sx(data, len);
    size_t eol = sx.next_eol(0);
    if (eol == len || (data[eol] == '\r' && eol + 1 == len)) {
        return stream ? need_more() : fail("start line not terminated", len);
    }
    if (data[eol] != '\r' || data[eol + 1] != '\n') return fail("bad line ending", eol);
    std::string_view line(data, eol);
    m._start_len = static_cast<uint32_t>(eol);
    if (line.size() >= 4 && iequal(line.substr(0, 4), "SIP/")) {
        // Nearly always "SIP/2.0 ": its SP is the first, and the version is valid.
        size_t sp1 = 7;
        if (line.size() < 8 || std::memcmp(line.data(), "SIP/2.0 ", 8) != 0) {
            sp1 = line.find(' ');
            if (sp1 == std::string_view::npos || !valid_version(line.substr(0, sp1)))
                return fail("bad status line", 0);
        }
        if (sp1 + 4 > line.size()) return fail("bad status code", sp1 + 1);
        int code = 0;
        for (size_t i = sp1 + 1; i < sp1 + 4; ++i) {
            if (!is(line[i], c_digit)) return fail("bad status code", sp1 + 1);
            code = code * 10 + (line[i] - '0');
        }
        if (code < 100 || code > 699) return fail("bad status code", sp1 + 1);
        size_t rb = sp1 + 4;
        if (rb < line.size()) {
            if (line[rb] != ' ') return fail("bad status code", sp1 + 1);
            ++rb;
        }
        for (size_t i = rb; i < line.size(); ++i) {
            auto u = static_cast<unsigned char>(line[i]);
            if (u < 0x20 && u != '\t') return fail("bad reason phrase", i);
        }
        m._version_len = static_cast<uint32_t>(sp1);
        m._status = code;
        m._reason_off = static_cast<uint32_t>(rb);
        m._reason_len = static_cast<uint32_t>(line.size() - rb);
        m._is_request = false;
    } else {
        size_t i = 0;
        const method known = known_method_word(line, i);
        if (known == method::other) {
            while (i < line.size() && is(line[i], c_token))
                ++i;
        }
        if (i == 0 || i >= line.size() || line[i] != ' ') return fail("bad method", 0);
        m._method_len = static_cast<uint32_t>(i);
        size_t ub = ++i;
        // Request-URI: scheme ":" then URI bytes up to the next SP.
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        if (line.size() - ub > 4 && std::memcmp(line.data() + ub, "sip:", 4) == 0) {
            i = ub + 3; // the usual scheme: the loop below would stop at its ':'
        } else {
            while (i < line.size() && (is(line[i], c_host) || line[i] == '+'))
                ++i;
            if (i == ub || i >= line.size() || line[i] != ':' || is(line[ub], c_digit) ||
                line[ub] == '-' || line[ub] == '.' || line[ub] == '+')
                return fail("bad Request-URI", ub);
        }
        i = static_cast<size_t>(
            skip_long(k_class, k_set_uri, line.data() + i, line.data() + line.size(), c_uri) -
            line.data());
        if (i >= line.size() || line[i] != ' ' || i == ub) return fail("bad Request-URI", ub);
        m._ruri_off = static_cast<uint32_t>(ub);
        m._ruri_len = static_cast<uint32_t>(i - ub);
        size_t vb = i + 1;
        if (!valid_version(line.substr(vb))) return fail("bad SIP version", vb);
        m._version_off = static_cast<uint32_t>(vb);
        m._version_len = static_cast<uint32_t>(line.size() - vb);
        m._is_request = true;
        m._method = known != method::other ? known : lookup_method(line.substr(0, m._method_len));
    }

    // Headers (RFC 3261 s7.3): one pass; fold continuation lines into the value.
    size_t pos = eol + 2;
    size_t count = 0;
    int64_t content_length = -1;
    for (;;) {
        if (pos >= len) return stream ? need_more() : fail("headers not terminated", pos);
        char c0 = data[pos];
        if (c0 == '\r') {
            if (pos + 1 >= len) return stream ? need_more() : fail("headers not terminated", pos);
            if (data[pos + 1] != '\n') return fail("bad line ending", pos);
            pos += 2;
            break;
        }
        const size_t nb = pos;
        // The line's first CR or LF: bounds the name lookup and ends the value's first line.
        size_t le = sx.next_eol(nb);
        size_t ne = 0;
        header_id id = header_id::unknown;
        size_t known_len = 0;
        if (nb + header_name_window <= len &&
            (id = lookup_header_in_line(data + nb, le - nb, known_len)) != header_id::unknown) {
            ne = nb + known_len;
            pos = ne;
        } else {
            pos = static_cast<size_t>(
                skip_long(k_class, k_set_token, data + pos, data + len, c_token) - data);
            ne = pos;
            if (ne == nb) return fail("bad header name", nb);
            if (ne - nb > 0xffff) return fail("header name too long", nb);
            while (pos < len && is_sp(data[pos]))
                ++pos;
            if (pos >= len) return stream ? need_more() : fail("headers not terminated", pos);
            if (data[pos] != ':') return fail("bad header name", nb);
            // The name is followed by ':' and a line end, but maybe not by 24 readable bytes.
            id = nb + header_name_max <= len ? lookup_header_wide(data + nb, ne - nb)
                                             : lookup_header(data + nb, ne - nb);
        }
        ++pos; // the ':'

        size_t vb = pos;
        size_t ve;
        // No CR or LF in the name and its ':', so `le` is also the first one after `pos`.
        for (;;) {
            if (le + 2 > len) return stream ? need_more() : fail("headers not terminated", len);
            if (load_u16(data + le) != k_crlf) return fail("bad line ending", le);
            if (le + 2 == len) return stream ? need_more() : fail("headers not terminated", len);
            pos = le + 2;
            if (is_sp(data[pos])) { // folded line (LWS = [*WSP CRLF] 1*WSP)
                le = sx.next_eol(pos);
                continue;
            }
            ve = le;
            break;
        }
        vb = skip_lws(data, vb, ve);
        ve = trim_lws_back(data, vb, ve);

        // The line's first slot; `_first` keeps the first line of each id.
        const slot_line sl = make_slot_line(nb, ne - nb, id);
        const auto add_first = [&](size_t b, size_t e) __attribute__((always_inline))->bool {
            if (count >= message::max_headers) return false;
            put_slot(m._headers[count], sl, b, e, header_field::first_in_line);
            uint16_t& f = m._first[static_cast<size_t>(id)];
            if (f == 0xffff) f = static_cast<uint16_t>(count);
            ++count;
            return true;
        };
        if (header_is_list(id) && vb < ve) {
            // Split at top-level commas: not inside quoted strings or < >.
            scan::delim_walk dw(sx, vb, ve);
            const size_t line_first = count;
            size_t eb = vb;
            int angle = 0;
            for (;;) {
                const size_t i = dw.next();
                if (i >= ve || (data[i] == ',' && angle == 0)) {
                    const size_t b = skip_lws(data, eb, i);
                    const size_t ee = trim_lws_back(data, b, i);
                    if (b == ee) return fail("empty list element", b);
                    if (count == line_first) {
                        if (!add_first(b, ee)) return fail("too many headers", nb);
                    } else {
                        // A line's later elements follow its first, which has set _first.
                        if (count >= message::max_headers) return fail("too many headers", nb);
                        put_slot(m._headers[count++], sl, b, ee, 0);
                    }
                    if (i >= ve) break;
                    eb = i + 1;
                    continue;
                }
                const char d = data[i];
                if (d == '"') {
                    // To the closing quote; a backslash escapes the byte after it.
                    for (;;) {
                        const size_t q = dw.next();
                        if (q >= ve) return fail("unterminated quoted string", eb);
                        if (data[q] == '"') break;
                        if (data[q] == '\\') dw.seek(q + 2);
                    }
                } else if (d == '<') {
                    ++angle;
                } else if (d == '>') {
                    if (angle > 0) --angle;
                } // else ',' inside < >, or a stray backslash: nothing to do
            }
        } else {
            if (!add_first(vb, ve)) return fail("too many headers", nb);
        }
        if (id == header_id::content_length) {
            uint64_t v;
            if (!parse_uint(std::string_view(data + vb, ve - vb), 0xffffffffu, v))
                return fail("bad Content-Length", vb);
            if (content_length >= 0 && static_cast<uint64_t>(content_length) != v)
                return fail("conflicting Content-Length", vb);
            content_length = static_cast<int64_t>(v);
        }
    }
    m._header_count = static_cast<uint16_t>(count);
    m._body_off = static_cast<uint32_t>(pos);
    m._content_length = content_length;
    size_t avail = len - pos;
    size_t body;
    if (content_length >= 0) {
        body = static_cast<size_t>(content_length);
        if (body > avail) {
            // RFC 3261 s18.3: larger than the datagram is an error; a stream waits.
            if (stream) return need_more();
            // At the last Content-Length line's value (its one slot: not a list header); found
            // here, not carried through the header loop.
            size_t at = count;
            while (m._headers[--at].id != header_id::content_length) {
            }
            return fail("Content-Length larger than message", m._headers[at].value_off);
        }
    } else {
        body = stream ? 0 : avail;
    }
    m._body_len = static_cast<uint32_t>(body);
    m._size = static_cast<uint32_t>(pos + body);
    return {parse_status::ok, m._size, ""};
}

// ---------------------------------------------------------------------------------------------
// Index lookups

size_t message::find_after(header_id id, size_t from) const noexcept {
    for (size_t i = from; i < _header_count; ++i)
        if (_headers[i].id == id) return i;
    return npos;
}

size_t message::find(std::string_view hname) const noexcept {
    header_id id = lookup_header(hname);
    if (id != header_id::unknown) return find(id);
    for (size_t i = 0; i < _header_count; ++i) {
        if (_headers[i].id == header_id::unknown && iequal(name(_headers[i]), hname)) return i;
    }
    return npos;
}

size_t message::count(header_id id) const noexcept {
    size_t n = 0;
    for (size_t i = find(id); i < _header_count; ++i)
        n += _headers[i].id == id;
    return n;
}

size_t message::line_count(header_id id) const noexcept {
    size_t n = 0;
    for (size_t i = find(id); i < _header_count; ++i)
        n += _headers[i].id == id && (_headers[i].flags & header_field::first_in_line);
    return n;
}

size_t message::nth(header_id id, size_t n) const noexcept {
    for (size_t i = find(id); i < _header_count; ++i) {
        if (_headers[i].id == id && n-- == 0) return i;
    }
    return npos;
}

// ---------------------------------------------------------------------------------------------
// Typed accessors

namespace {

template <class T, class Parse>
field<T> parse_slot(const message& m, size_t slot, Parse&& fn) noexcept {
    field<T> f;
    if (slot == message::npos) return f;
    f.status = fn(m.value(slot), f.value) ? field_status::ok : field_status::bad;
    return f;
}

field<uint32_t> uint_slot(const message& m, size_t slot, uint64_t max) noexcept {
    field<uint32_t> f;
    if (slot == message::npos) return f;
    uint64_t v;
    if (parse_uint_value(m.value(slot), max, v)) {
        f.status = field_status::ok;
        f.value = static_cast<uint32_t>(v);
    } else {
        f.status = field_status::bad;
    }
    return f;
}

} // namespace

namespace {

// Parses slot `slot` straight into the cache (no copy of the parsed struct).
template <class T, class Parse>
void fill(field<T>& f, const message& m, size_t slot, Parse&& fn) noexcept {
    if (slot == message::npos) {
        f.status = field_status::absent;
        return;
    }
    f.status = fn(m.value(slot), f.value) ? field_status::ok : field_status::bad;
}

} // namespace

void message::fill_top_via() const noexcept {
    fill(_top_via, *this, find(header_id::via), via_value_of);
    _cached |= cached_top_via;
}

void message::fill_from() const noexcept {
    fill(_from, *this, find(header_id::from), name_addr_value_of);
    _cached |= cached_from;
}

void message::fill_to() const noexcept {
    fill(_to, *this, find(header_id::to), name_addr_value_of);
    _cached |= cached_to;
}

void message::fill_call_id() const noexcept {
    fill(_call_id, *this, find(header_id::call_id), call_id_of);
    _cached |= cached_call_id;
}

void message::fill_cseq() const noexcept {
    fill(_cseq, *this, find(header_id::cseq), cseq_of);
    _cached |= cached_cseq;
}

field<via_value> message::via(size_t n) const noexcept {
    if (n == 0) return top_via();
    return parse_slot<via_value>(*this, nth(header_id::via, n), parse_via_value);
}

field<uint32_t> message::max_forwards() const noexcept {
    return uint_slot(*this, find(header_id::max_forwards), 255);
}

void message::fill_contact() const noexcept {
    fill(_contact, *this, find(header_id::contact), parse_contact_value);
    _cached |= cached_contact;
}

field<contact_value> message::contact(size_t n) const noexcept {
    if (n == 0) return first_contact();
    return parse_slot<contact_value>(*this, nth(header_id::contact, n), parse_contact_value);
}

field<name_addr_value> message::route(size_t n) const noexcept {
    return parse_slot<name_addr_value>(*this, nth(header_id::route, n), parse_name_addr_value);
}

field<name_addr_value> message::record_route(size_t n) const noexcept {
    return parse_slot<name_addr_value>(*this, nth(header_id::record_route, n),
                                       parse_name_addr_value);
}

field<media_type_value> message::content_type() const noexcept {
    return parse_slot<media_type_value>(*this, find(header_id::content_type),
                                        parse_media_type_value);
}

field<uint32_t> message::expires() const noexcept {
    return uint_slot(*this, find(header_id::expires), 0xffffffffu);
}

field<uint32_t> message::rseq() const noexcept {
    return uint_slot(*this, find(header_id::rseq), 0xffffffffu);
}

field<rack_value> message::rack() const noexcept {
    return parse_slot<rack_value>(*this, find(header_id::rack), parse_rack_value);
}

field<reason_value> message::reason(size_t n) const noexcept {
    return parse_slot<reason_value>(*this, nth(header_id::reason, n), parse_reason_value);
}

field<name_addr_value> message::refer_to() const noexcept {
    return parse_slot<name_addr_value>(*this, find(header_id::refer_to), parse_name_addr_value);
}

field<name_addr_value> message::referred_by() const noexcept {
    return parse_slot<name_addr_value>(*this, find(header_id::referred_by), parse_name_addr_value);
}

field<replaces_value> message::replaces() const noexcept {
    return parse_slot<replaces_value>(*this, find(header_id::replaces), parse_replaces_value);
}

field<session_expires_value> message::session_expires() const noexcept {
    return parse_slot<session_expires_value>(*this, find(header_id::session_expires),
                                             parse_session_expires_value);
}

field<uint32_t> message::min_se() const noexcept {
    field<uint32_t> f;
    size_t slot = find(header_id::min_se);
    if (slot == npos) return f;
    session_expires_value v;
    if (parse_session_expires_value(value(slot), v) && v.refresher.empty()) {
        f.status = field_status::ok;
        f.value = v.seconds;
    } else {
        f.status = field_status::bad;
    }
    return f;
}

field<name_addr_value> message::p_asserted_identity(size_t n) const noexcept {
    return parse_slot<name_addr_value>(*this, nth(header_id::p_asserted_identity, n),
                                       parse_name_addr_value);
}

field<std::string_view> message::option_tag(header_id id, size_t n) const noexcept {
    return parse_slot<std::string_view>(*this, nth(id, n), parse_token_value);
}

bool message::has_option_tag(header_id id, std::string_view tag) const noexcept {
    for (size_t i = find(id); i < _header_count; ++i) {
        if (_headers[i].id == id && iequal(trim(value(i)), tag)) return true;
    }
    return false;
}

} // namespace tandem::sip
