#include "sip/uri.h"

#include "sip/util/swar.h"

#include <array>
#include <bit>
#include <cstring>

namespace tandem::sip {

namespace {

enum : uint8_t {
    k_unreserved = 1, // alphanum / mark
    k_user = 2,       // user-unreserved "&=+$,;?/"
    k_password = 4,   // "&=+$,"
    k_param = 8,      // param-unreserved "[]/:&+$"
    k_header = 16,    // hnv-unreserved "[]/?:+$"
    k_hex = 32,
    k_alnum = 64,
    k_tel = 128, // tel number characters (RFC 3966 phonedigit-hex / visual separators)
};

constexpr std::array<uint8_t, 256> build() {
    std::array<uint8_t, 256> t{};
    auto set = [&](std::string_view s, uint8_t f) {
        for (char c : s)
            t[static_cast<unsigned char>(c)] |= f;
    };
    for (int c = 0; c < 256; ++c) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum) t[static_cast<size_t>(c)] |= k_unreserved | k_alnum | k_tel;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
            t[static_cast<size_t>(c)] |= k_hex;
    }
    set("-_.!~*'()", k_unreserved);
    set("&=+$,;?/", k_user);
    set("&=+$,", k_password);
    set("[]/:&+$", k_param);
    set("[]/?:+$", k_header);
    set("*#+-.()", k_tel);
    return t;
}
constexpr std::array<uint8_t, 256> k_cls = build();

inline bool has(char c, uint8_t f) noexcept {
    return (k_cls[static_cast<unsigned char>(c)] & f) != 0;
}
inline unsigned char lower(unsigned char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c | 0x20) : c;
}
inline int hexval(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// 1*( allowed / escaped ); false if empty (when `nonempty`) or a bad byte / bad escape.
bool check_run(std::string_view s, uint8_t allowed, bool nonempty) noexcept {
    if (nonempty && s.empty()) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) return false;
            if (hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) return false;
            i += 2;
        } else if (!has(c, static_cast<uint8_t>(allowed | k_unreserved))) {
            return false;
        }
    }
    return true;
}

// Decodes %HH while walking; a malformed escape yields the '%' byte itself.
struct decoder {
    std::string_view s;
    size_t i = 0;
    bool done() const noexcept { return i >= s.size(); }
    int next() noexcept {
        char c = s[i];
        if (c == '%' && i + 2 < s.size()) {
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h >= 0 && l >= 0) {
                i += 3;
                return h * 16 + l;
            }
        }
        ++i;
        return static_cast<unsigned char>(c);
    }
};

bool host_ok(std::string_view h, host_kind& kind) noexcept {
    if (h.empty()) return false;
    if (h.front() == '[') {
        if (h.size() < 4 || h.back() != ']') return false;
        // RFC 5118 s4.10: accept what RFC 3261's ABNF bug let through (e.g. ":::").
        size_t colons = 0;
        for (size_t i = 1; i + 1 < h.size(); ++i) {
            char c = h[i];
            if (c == ':')
                ++colons;
            else if (!has(c, k_hex) && c != '.')
                return false;
        }
        if (colons < 2) return false;
        kind = host_kind::ipv6;
        return true;
    }
    bool all_digits_dots = true;
    size_t dots = 0;
    for (char c : h) {
        if (c == '.')
            ++dots;
        else if (c < '0' || c > '9')
            all_digits_dots = false;
        if (!has(c, k_alnum) && c != '-' && c != '.') return false;
    }
    if (all_digits_dots && dots == 3) {
        // IPv4address: four 1*3DIGIT groups
        size_t n = 0, groups = 0;
        unsigned v = 0;
        for (size_t i = 0; i <= h.size(); ++i) {
            if (i == h.size() || h[i] == '.') {
                if (n == 0 || n > 3 || v > 255) return false;
                ++groups;
                n = 0;
                v = 0;
            } else {
                v = v * 10 + static_cast<unsigned>(h[i] - '0');
                ++n;
            }
        }
        kind = host_kind::ipv4;
        return groups == 4;
    }
    // hostname: labels of alphanum / '-', optional trailing '.'.
    if (h.front() == '.' || h.front() == '-') return false;
    for (size_t i = 1; i < h.size(); ++i)
        if (h[i] == '.' && h[i - 1] == '.') return false;
    kind = host_kind::hostname;
    return true;
}

template <class Fn>
bool each_param(std::string_view params, Fn&& fn) noexcept {
    size_t i = 0;
    while (i < params.size()) {
        size_t e = params.find(';', i);
        if (e == std::string_view::npos) e = params.size();
        std::string_view p = params.substr(i, e - i);
        size_t eq = p.find('=');
        std::string_view n = p.substr(0, eq);
        std::string_view v = eq == std::string_view::npos ? std::string_view{} : p.substr(eq + 1);
        if (!fn(n, v)) return false;
        i = e + 1;
    }
    return true;
}

// uri-parameters: every ';'-separated element non-empty, pname ["=" pvalue].
bool params_ok(std::string_view params) noexcept {
    if (params.empty() || params.back() == ';') return false;
    return each_param(params, [](std::string_view n, std::string_view v) {
        return check_run(n, k_param, true) && check_run(v, k_param, false);
    });
}

bool parse_sip(std::string_view r, uri& out) noexcept {
    size_t at = r.find('@');
    std::string_view hp = r;
    if (at != std::string_view::npos) {
        std::string_view ui = r.substr(0, at);
        size_t colon = ui.find(':');
        out.user = ui.substr(0, colon);
        out.has_user = true;
        if (!check_run(out.user, k_user, true)) return false;
        if (colon != std::string_view::npos) {
            out.password = ui.substr(colon + 1);
            out.has_password = true;
            if (!check_run(out.password, k_password, false)) return false;
        }
        hp = r.substr(at + 1);
    }
    size_t i = 0;
    if (!hp.empty() && hp[0] == '[') {
        size_t close = hp.find(']');
        if (close == std::string_view::npos) return false;
        i = close + 1;
    } else {
        while (i < hp.size() && (has(hp[i], k_alnum) || hp[i] == '-' || hp[i] == '.'))
            ++i;
    }
    out.host = hp.substr(0, i);
    if (!host_ok(out.host, out.host_type)) return false;
    if (i < hp.size() && hp[i] == ':') {
        size_t b = ++i;
        unsigned v = 0;
        while (i < hp.size() && hp[i] >= '0' && hp[i] <= '9' && i - b < 6)
            v = v * 10 + static_cast<unsigned>(hp[i++] - '0');
        if (i == b || v > 65535) return false;
        out.port = static_cast<uint16_t>(v);
        out.has_port = true;
    }
    if (i < hp.size() && hp[i] == ';') {
        size_t q = hp.find('?', i);
        out.params = hp.substr(i + 1, (q == std::string_view::npos ? hp.size() : q) - i - 1);
        i = q == std::string_view::npos ? hp.size() : q;
        if (!params_ok(out.params)) return false;
    }
    if (i < hp.size() && hp[i] == '?') {
        out.headers = hp.substr(i + 1);
        out.has_headers = true;
        i = hp.size();
        size_t j = 0;
        while (j <= out.headers.size()) {
            size_t e = out.headers.find('&', j);
            if (e == std::string_view::npos) e = out.headers.size();
            std::string_view h = out.headers.substr(j, e - j);
            size_t eq = h.find('=');
            if (eq == std::string_view::npos) return false;
            if (!check_run(h.substr(0, eq), k_header, true)) return false;
            if (!check_run(h.substr(eq + 1), k_header, false)) return false;
            j = e + 1;
        }
    }
    return i == hp.size();
}

bool parse_tel(std::string_view r, uri& out) noexcept {
    size_t semi = r.find(';');
    out.user = r.substr(0, semi);
    out.has_user = true;
    if (out.user.empty()) return false;
    for (char c : out.user)
        if (!has(c, k_tel)) return false;
    if (semi != std::string_view::npos) {
        out.params = r.substr(semi + 1);
        if (!params_ok(out.params)) return false;
    }
    return true;
}

bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

} // namespace

bool unescaped_equal(std::string_view a, std::string_view b, bool nocase) noexcept {
    decoder da{a}, db{b};
    while (!da.done() && !db.done()) {
        int x = da.next(), y = db.next();
        if (nocase) {
            x = lower(static_cast<unsigned char>(x));
            y = lower(static_cast<unsigned char>(y));
        }
        if (x != y) return false;
    }
    return da.done() && db.done();
}

namespace {

// User bytes the fast path below takes: unreserved / "&=+$,/" (no escape, ';', '?' or ':').
constexpr std::array<bool, 256> k_fast_user = [] {
    std::array<bool, 256> t{};
    for (size_t c = 0; c < 256; ++c)
        t[c] = (k_cls[c] & k_unreserved) != 0;
    for (char c : std::string_view("&=+$,/"))
        t[static_cast<unsigned char>(c)] = true;
    return t;
}();

// Per byte: bit 0 a host byte the fast path takes (alphanum, '-', '.'), bit 1 one that rules
// out an IPv4 address (a letter or '-').
constexpr std::array<uint8_t, 256> k_fast_host = [] {
    std::array<uint8_t, 256> t{};
    for (size_t c = 0; c < 256; ++c) {
        if ((k_cls[c] & k_alnum) || c == '-' || c == '.') t[c] |= 1;
        if (((k_cls[c] & k_alnum) && !(c >= '0' && c <= '9')) || c == '-') t[c] |= 2;
    }
    return t;
}();

// 0x80 in each byte of `w` that is a '.', the others 0: the zero bytes of `w` XOR "........".
constexpr uint64_t dot_bytes(uint64_t w) noexcept {
    return swar::zero_bytes(w ^ 0x2e2e2e2e2e2e2e2eu);
}

// Whether [b, e) holds two adjacent dots, for a run of host bytes (alphanumerics, '-', '.': all
// below 0x80). Eight bytes a step, at a stride of seven so that every adjacent pair lies in one
// step, where a dot byte next to another is a double dot.
inline bool has_double_dot(const char* b, const char* e) noexcept {
    const auto len = static_cast<size_t>(e - b);
    if (len < 8) {
        for (size_t k = 1; k < len; ++k)
            if (b[k] == '.' && b[k - 1] == '.') return true;
        return false;
    }
    for (size_t s = 0;; s += 7) {
        if (s + 8 > len) s = len - 8;
        uint64_t w;
        std::memcpy(&w, b + s, 8);
        const uint64_t d = dot_bytes(w);
        if ((d & (d >> 8)) != 0) return true;
        if (s + 8 == len) return false;
    }
}

// An IPv4 address over [b, b + len), a run of digits and dots of 8 to 15 bytes (the usual
// address), on a little-endian machine: the dots' positions from two overlapping 8-byte words
// (dot_bytes, one bit a byte gathered by a multiply), then each group's length and value from
// them. True only for exactly three dots around four groups of one to three digits at most
// 255; false on anything else, which the caller's byte walk then decides.
inline bool ipv4_words(const char* b, size_t len) noexcept {
    if (std::endian::native != std::endian::little || len < 8 || len > 15) return false;
    uint64_t lo, hi;
    std::memcpy(&lo, b, 8);
    std::memcpy(&hi, b + len - 8, 8);
    // Bit 8j of d >> 7 times bit 7k + 7 of the multiplier is bit 56 + j when k = 7 - j; the
    // products are all distinct bits (nothing carries) and no other lands in bits 56..63.
    const auto gather = [](uint64_t d) {
        return static_cast<unsigned>(((d >> 7) * 0x0102040810204080u) >> 56);
    };
    unsigned m = gather(dot_bytes(lo)) | gather(dot_bytes(hi)) << (len - 8);
    unsigned at[3];
    for (unsigned& a : at) { // the three lowest dots, each taken off in turn
        if (m == 0) return false;
        a = static_cast<unsigned>(__builtin_ctz(m));
        m &= m - 1;
    }
    if (m != 0) return false;
    const auto group = [b](unsigned from, unsigned to) {
        const unsigned n = to - from; // 0 (two dots, or one first) wraps: refused below
        if (n - 1 >= 3) return false;
        unsigned v = static_cast<unsigned>(b[from] - '0');
        if (n > 1) v = v * 10 + static_cast<unsigned>(b[from + 1] - '0');
        if (n > 2) v = v * 10 + static_cast<unsigned>(b[from + 2] - '0');
        return v <= 255;
    };
    return group(0, at[0]) && group(at[0] + 1, at[1]) && group(at[1] + 1, at[2]) &&
           group(at[2] + 1, static_cast<unsigned>(len));
}

// params_ok for params of plain bytes, in one walk: every ';'-separated element a non-empty
// name of param characters with at most one '=' and a value of param characters. False also
// for what params_ok may accept ('%' escapes): the caller then runs the full parser.
bool params_fast_ok(std::string_view params) noexcept {
    const char* p = params.data();
    const char* const e = p + params.size();
    // A run of param characters, four table lookups and one branch a step while it lasts.
    const auto run = [e](const char* q) {
        const auto in = [](char c) {
            return (k_cls[static_cast<unsigned char>(c)] & (k_param | k_unreserved)) != 0;
        };
        while (e - q >= 4 && (in(q[0]) & in(q[1]) & in(q[2]) & in(q[3])))
            q += 4;
        while (q < e && in(*q))
            ++q;
        return q;
    };
    for (;;) {
        const char* nb = p;
        p = run(p);
        if (p == nb) return false; // an empty name (also ";;", a trailing ';', "=v")
        if (p < e && *p == '=') p = run(p + 1);
        if (p == e) return true;
        if (*p != ';') return false; // a second '=', or a byte that is no param character
        ++p;
    }
}

// The common shape `sip:user@host[:port][;params]` (or `sip:host...`) in one walk: user bytes
// from unreserved and "&=+$,/", a hostname or IPv4 host, a port of at most five digits, params
// with no '?'. Returns true only when it filled `out` exactly as the full parser would;
// anything else (escapes, password, IPv6, headers, sips/tel, a bad byte) returns false and the
// caller runs the full parser, which also gives every verdict on malformed input.
// What the fast walk learns; parse_sip_fast copies it into a `uri`.
struct sip_fast_fields {
    std::string_view host, params;
    size_t host_b;
    host_kind kind;
    uint16_t port;
    bool has_port, has_user;
};

bool sip_fast_scan(std::string_view text, sip_fast_fields& f) noexcept {
    const size_t n = text.size();
    const char* const p = text.data();
    // "sip:" in any letter case as one 4-byte compare: the three letters folded by 0x20 (the
    // byte-order-free constants come from the same bytes as the load).
    constexpr auto word = [](char a, char b, char c, char d) {
        return std::bit_cast<uint32_t>(std::array<char, 4>{a, b, c, d});
    };
    uint32_t w;
    if (n < 5) return false;
    std::memcpy(&w, p, 4);
    if ((w | word(0x20, 0x20, 0x20, 0)) != word('s', 'i', 'p', ':')) return false;
    size_t i = 4;
    // user-unreserved minus ';' and '?' (the full parser splits those by the first '@'); four
    // table lookups and one branch a step while the run lasts.
    const auto user = [&](size_t k) { return k_fast_user[static_cast<unsigned char>(p[k])]; };
    while (n - i >= 4 && (user(i) & user(i + 1) & user(i + 2) & user(i + 3)))
        i += 4;
    while (i < n && user(i))
        ++i;
    size_t host_b = 4;
    bool has_user = false;
    // No '@' ends the run: the URI has no user when it has no '@' at all. One further on needs
    // no search: the host starts at 4 and its bytes are user bytes, so it ends by i, and the
    // port digits and parameter bytes that must take the rest exclude '@', so the walk below
    // gives up on it.
    if (i < n && p[i] == '@') {
        if (i == 4) return false;
        has_user = true;
        host_b = i + 1;
    }
    // host_ok's hostname / IPv4 rules. The host run is found four bytes a step, noting whether
    // it holds a letter or '-'; only a run of digits and dots is walked again, for IPv4.
    const auto host_cls = [&](size_t k) { return k_fast_host[static_cast<unsigned char>(p[k])]; };
    i = host_b;
    unsigned seen = 0;
    while (n - i >= 4) {
        const unsigned a = host_cls(i), b = host_cls(i + 1), c = host_cls(i + 2),
                       d = host_cls(i + 3);
        if ((a & b & c & d & 1) == 0) break;
        seen |= a | b | c | d;
        i += 4;
    }
    for (; i < n && (host_cls(i) & 1); ++i)
        seen |= host_cls(i);
    if (i == host_b) return false;
    std::string_view host(p + host_b, i - host_b);
    host_kind kind = host_kind::hostname;
    if ((seen & 2) == 0 && ipv4_words(p + host_b, i - host_b)) {
        kind = host_kind::ipv4;
    } else if ((seen & 2) == 0) {
        // Digits and dots only: a group (digits up to a dot or the end) at a time. A group of
        // 1..3 digits at most 255 is an IPv4 one (unsigned wrap on longer groups is harmless:
        // the length already fails); an empty group after the first is a double dot.
        size_t dots = 0;
        bool ipv4_ok = true, double_dot = false;
        for (size_t k = host_b;;) {
            const size_t gb = k;
            unsigned group = 0;
            for (; k < i && p[k] != '.'; ++k)
                group = group * 10 + static_cast<unsigned>(p[k] - '0');
            const size_t digits = k - gb;
            ipv4_ok &= digits - 1 < 3 && group <= 255;
            if (k == i) break;
            double_dot |= digits == 0 && gb > host_b;
            ++dots;
            ++k;
        }
        if (dots == 3) {
            if (!ipv4_ok) return false;
            kind = host_kind::ipv4;
        } else if (p[host_b] == '.' || double_dot) {
            return false;
        }
    } else {
        if (p[host_b] == '.' || p[host_b] == '-' || has_double_dot(p + host_b, p + i)) return false;
    }
    uint16_t port = 0;
    bool has_port = false;
    if (i < n && p[i] == ':') {
        // 1..5 digits at most 65535: a sixth digit read refuses.
        uint32_t v;
        const size_t b = ++i;
        i = static_cast<size_t>(swar::read_digits(p + b, p + n, 6, v) - p);
        if (i == b || i - b > 5 || v > 65535) return false;
        port = static_cast<uint16_t>(v);
        has_port = true;
    }
    std::string_view params;
    if (i < n) {
        if (p[i] != ';') return false;
        params = std::string_view(p + i + 1, n - i - 1);
        if (!params_fast_ok(params)) return false;
    }
    f.host = host;
    f.params = params;
    f.host_b = host_b;
    f.kind = kind;
    f.port = port;
    f.has_port = has_port;
    f.has_user = has_user;
    return true;
}

bool parse_sip_fast(std::string_view text, uri& out) noexcept {
    sip_fast_fields f;
    if (!sip_fast_scan(text, f)) return false;
    // Field by field: a whole-struct clear of this size compiles to `rep stos`, slow for it.
    out.scheme = uri_scheme::sip;
    out.scheme_name = text.substr(0, 3);
    out.user = f.has_user ? text.substr(4, f.host_b - 1 - 4) : std::string_view{};
    out.password = {};
    out.has_user = f.has_user;
    out.has_password = false;
    out.host = f.host;
    out.host_type = f.kind;
    out.port = f.port;
    out.has_port = f.has_port;
    out.params = f.params;
    out.headers = {};
    out.has_headers = false;
    out.opaque = {};
    return true;
}

} // namespace

bool parse_uri(std::string_view text, uri& out) noexcept {
    if (parse_sip_fast(text, out)) return true;
    return detail::parse_uri_reference(text, out);
}

bool detail::parse_uri_reference(std::string_view text, uri& out) noexcept {
    out = uri{};
    size_t i = 0;
    while (i < text.size() &&
           (has(text[i], k_alnum) || text[i] == '+' || text[i] == '-' || text[i] == '.'))
        ++i;
    if (i == 0 || i >= text.size() || text[i] != ':' || !has(text[0], k_alnum) ||
        (text[0] >= '0' && text[0] <= '9'))
        return false;
    out.scheme_name = text.substr(0, i);
    std::string_view rest = text.substr(i + 1);
    if (rest.empty()) return false;
    if (iequal(out.scheme_name, "sip")) {
        out.scheme = uri_scheme::sip;
        return parse_sip(rest, out);
    }
    if (iequal(out.scheme_name, "sips")) {
        out.scheme = uri_scheme::sips;
        return parse_sip(rest, out);
    }
    if (iequal(out.scheme_name, "tel")) {
        out.scheme = uri_scheme::tel;
        return parse_tel(rest, out);
    }
    out.scheme = uri_scheme::other;
    out.opaque = rest;
    for (char c : rest) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '<' || c == '>' || c == '"') return false;
    }
    return true;
}

bool parse_uri_scheme(std::string_view text, uri_scheme& scheme, bool& has_headers) noexcept {
    sip_fast_fields f;
    if (sip_fast_scan(text, f)) {
        scheme = uri_scheme::sip;
        has_headers = false;
        return true;
    }
    uri u;
    const bool ok = parse_uri(text, u);
    scheme = u.scheme;
    has_headers = u.has_headers;
    return ok;
}

bool find_uri_param(std::string_view params, std::string_view name,
                    std::string_view& value) noexcept {
    bool found = false;
    (void)each_param(params, [&](std::string_view n, std::string_view v) {
        if (unescaped_equal(n, name, true)) {
            value = v;
            found = true;
            return false;
        }
        return true;
    });
    return found;
}

namespace {

bool special_param(std::string_view n) noexcept {
    return unescaped_equal(n, "user", true) || unescaped_equal(n, "ttl", true) ||
           unescaped_equal(n, "method", true) || unescaped_equal(n, "maddr", true) ||
           unescaped_equal(n, "transport", true);
}

bool params_equal(std::string_view pa, std::string_view pb) noexcept {
    // Every param of a that b also has must match; special ones must be in both.
    auto one_way = [](std::string_view x, std::string_view y) {
        return each_param(x, [&](std::string_view n, std::string_view v) {
            std::string_view other;
            if (find_uri_param(y, n, other)) return unescaped_equal(v, other, true);
            return !special_param(n);
        });
    };
    return one_way(pa, pb) && one_way(pb, pa);
}

template <class Fn>
bool each_header(std::string_view hs, Fn&& fn) noexcept {
    size_t j = 0;
    while (j < hs.size()) {
        size_t e = hs.find('&', j);
        if (e == std::string_view::npos) e = hs.size();
        std::string_view h = hs.substr(j, e - j);
        size_t eq = h.find('=');
        if (!fn(h.substr(0, eq),
                eq == std::string_view::npos ? std::string_view{} : h.substr(eq + 1)))
            return false;
        j = e + 1;
    }
    return true;
}

bool headers_equal(std::string_view ha, std::string_view hb) noexcept {
    auto one_way = [](std::string_view x, std::string_view y) {
        return each_header(x, [&](std::string_view n, std::string_view v) {
            bool match = false;
            (void)each_header(y, [&](std::string_view n2, std::string_view v2) {
                if (unescaped_equal(n, n2, true) && unescaped_equal(v, v2, false)) {
                    match = true;
                    return false;
                }
                return true;
            });
            return match;
        });
    };
    return one_way(ha, hb) && one_way(hb, ha);
}

bool tel_number_equal(std::string_view a, std::string_view b) noexcept {
    auto visual = [](char c) { return c == '-' || c == '.' || c == '(' || c == ')'; };
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a.size() && visual(a[i]))
            ++i;
        while (j < b.size() && visual(b[j]))
            ++j;
        if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
        if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[j])))
            return false;
        ++i;
        ++j;
    }
}

} // namespace

bool uri_equal(const uri& a, const uri& b) noexcept {
    if (a.scheme != b.scheme) return false;
    switch (a.scheme) {
    case uri_scheme::other:
        return iequal(a.scheme_name, b.scheme_name) && unescaped_equal(a.opaque, b.opaque, false);
    case uri_scheme::tel:
        return tel_number_equal(a.user, b.user) && params_equal(a.params, b.params);
    default:
        break;
    }
    if (a.has_user != b.has_user || !unescaped_equal(a.user, b.user, false)) return false;
    if (a.has_password != b.has_password || !unescaped_equal(a.password, b.password, false))
        return false;
    if (!unescaped_equal(a.host, b.host, true)) return false;
    if (a.has_port != b.has_port || a.port != b.port) return false;
    if (!params_equal(a.params, b.params)) return false;
    if (a.has_headers != b.has_headers) return false;
    return !a.has_headers || headers_equal(a.headers, b.headers);
}

} // namespace tandem::sip
