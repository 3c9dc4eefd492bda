#include "sip/sdp.h"

#include "sip/util/swar.h"

#include <cstring>
#include <limits>

namespace tandem::sip {

namespace {

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// Decimal digits only, no sign, no overflow past `max`.
bool parse_uint(std::string_view s, std::uint64_t max, std::uint64_t& out) noexcept {
    if (s.empty() || s.size() > 20) return false;
    std::uint64_t v = 0;
    for (char c : s) {
        if (!is_digit(c)) return false;
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (max - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

// Splits on runs of spaces; returns the number of tokens stored (at most `cap`), and whether
// more followed (`more`).
std::size_t split_spaces(std::string_view s, std::string_view* out, std::size_t cap,
                         bool& more) noexcept {
    std::size_t n = 0;
    std::size_t i = 0;
    more = false;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ')
            ++i;
        if (i >= s.size()) break;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ')
            ++j;
        if (n == cap) {
            more = true;
            break;
        }
        out[n++] = s.substr(i, j - i);
        i = j;
    }
    return n;
}

sdp_addrtype addrtype_of(std::string_view s) noexcept {
    if (iequals(s, "IP4")) return sdp_addrtype::ip4;
    if (iequals(s, "IP6")) return sdp_addrtype::ip6;
    return sdp_addrtype::other;
}

bool parse_connection(std::string_view v, sdp_connection& c) noexcept {
    std::string_view t[3];
    bool more = false;
    if (split_spaces(v, t, 3, more) != 3 || more) return false;
    c.nettype = t[0];
    c.addrtype_text = t[1];
    c.addrtype = addrtype_of(t[1]);
    const std::size_t slash = t[2].find('/');
    c.address = t[2].substr(0, slash);
    c.suffix = slash == std::string_view::npos ? std::string_view{} : t[2].substr(slash);
    return !c.address.empty();
}

sdp_direction direction_of(std::string_view name) noexcept {
    if (name == "sendrecv") return sdp_direction::sendrecv;
    if (name == "sendonly") return sdp_direction::sendonly;
    if (name == "recvonly") return sdp_direction::recvonly;
    if (name == "inactive") return sdp_direction::inactive;
    return sdp_direction::none;
}

sdp_attribute split_attribute(std::string_view v) noexcept {
    sdp_attribute a;
    const std::size_t colon = v.find(':');
    if (colon == std::string_view::npos) {
        a.name = v;
    } else {
        a.name = v.substr(0, colon);
        a.value = v.substr(colon + 1);
        a.has_value = true;
    }
    return a;
}

// Leading payload type of an rtpmap/fmtp/rtcp-fb value ("96 opus/48000/2" -> 96).
bool leading_pt(std::string_view v, std::uint8_t& pt) noexcept {
    std::size_t i = 0;
    while (i < v.size() && is_digit(v[i]))
        ++i;
    if (i == 0 || (i < v.size() && v[i] != ' ')) return false;
    std::uint64_t n = 0;
    if (!parse_uint(v.substr(0, i), 127, n)) return false;
    pt = static_cast<std::uint8_t>(n);
    return true;
}

bool parse_rtpmap(std::string_view v, sdp_rtpmap& r) noexcept {
    if (!leading_pt(v, r.payload_type)) return false;
    std::size_t i = v.find(' ');
    if (i == std::string_view::npos) return false;
    while (i < v.size() && v[i] == ' ')
        ++i;
    const std::string_view rest = v.substr(i);
    const std::size_t s1 = rest.find('/');
    if (s1 == std::string_view::npos || s1 == 0) return false;
    r.encoding_name = rest.substr(0, s1);
    const std::string_view after = rest.substr(s1 + 1);
    const std::size_t s2 = after.find('/');
    std::uint64_t rate = 0;
    if (!parse_uint(after.substr(0, s2), std::numeric_limits<std::uint32_t>::max(), rate)) {
        return false;
    }
    r.clock_rate = static_cast<std::uint32_t>(rate);
    r.encoding_params = s2 == std::string_view::npos ? std::string_view{} : after.substr(s2 + 1);
    return true;
}

// RFC 3551 tables 4 and 5: static payload type names.
std::string_view static_encoding(std::uint8_t pt) noexcept {
    switch (pt) {
    case 0:
        return "PCMU";
    case 3:
        return "GSM";
    case 4:
        return "G723";
    case 5:
    case 6:
    case 16:
    case 17:
        return "DVI4";
    case 7:
        return "LPC";
    case 8:
        return "PCMA";
    case 9:
        return "G722";
    case 10:
    case 11:
        return "L16";
    case 12:
        return "QCELP";
    case 13:
        return "CN";
    case 14:
        return "MPA";
    case 15:
        return "G728";
    case 18:
        return "G729";
    case 25:
        return "CelB";
    case 26:
        return "JPEG";
    case 28:
        return "nv";
    case 31:
        return "H261";
    case 32:
        return "MPV";
    case 33:
        return "MP2T";
    case 34:
        return "H263";
    default:
        return {};
    }
}

bool known_type(char t) noexcept {
    switch (t) {
    case 'v':
    case 'o':
    case 's':
    case 'i':
    case 'u':
    case 'e':
    case 'p':
    case 'c':
    case 'b':
    case 't':
    case 'r':
    case 'z':
    case 'k':
    case 'a':
    case 'm':
        return true;
    default:
        return false;
    }
}

bool media_level_type(char t) noexcept {
    return t == 'i' || t == 'c' || t == 'b' || t == 'k' || t == 'a' || t == 'm';
}

} // namespace

// Only the scalars: the index arrays are read up to their counts, so re-zeroing them on every
// parse would be wasted stores.
void sdp_view::reset_section(section_rec& s, std::size_t first_line) noexcept {
    s.first_line = static_cast<std::uint16_t>(first_line);
    s.end_line = static_cast<std::uint16_t>(first_line);
    s.c_line = -1;
    s.attr_count = 0;
    s.bw_count = 0;
}

std::string_view to_string(sdp_direction d) noexcept {
    switch (d) {
    case sdp_direction::sendrecv:
        return "sendrecv";
    case sdp_direction::sendonly:
        return "sendonly";
    case sdp_direction::recvonly:
        return "recvonly";
    case sdp_direction::inactive:
        return "inactive";
    case sdp_direction::none:
        break;
    }
    return {};
}

sdp_result sdp_view::fail(sdp_status s, const char* reason, std::size_t offset) noexcept {
    _line_count = 0;
    _media_count = 0;
    reset_section(_sections[0], 0);
    _origin = sdp_origin{};
    return sdp_result{s, reason, static_cast<std::uint32_t>(offset)};
}

sdp_result sdp_view::parse(std::string_view body) noexcept {
    _base = body.data();
    _size = static_cast<std::uint32_t>(body.size() > sdp_max_body ? 0 : body.size());
    _line_count = 0;
    _media_count = 0;
    _content_end = 0;
    reset_section(_sections[0], 0);
    _origin = sdp_origin{};
    if (body.size() > sdp_max_body) {
        return fail(sdp_status::over_capacity, "body larger than 65535 bytes", sdp_max_body);
    }
    if (body.empty()) return fail(sdp_status::invalid, "empty body", 0);

    const char* const p = body.data();
    const std::size_t n = body.size();
    std::size_t pos = 0;
    std::size_t cur = 0;
    while (pos < n) {
        if (p[pos] == '\r' || p[pos] == '\n') {
            // Blank lines are accepted only as trailing padding after the last line.
            for (std::size_t i = pos; i < n; ++i) {
                if (p[i] != '\r' && p[i] != '\n') {
                    return fail(sdp_status::invalid, "empty line inside the body", pos);
                }
            }
            break;
        }
        // One pass finds the line end and refuses NUL and bare CR: every byte above CR is
        // plain content, so the common case is a single compare.
        std::size_t value_end = pos;
        std::size_t nl = n;
        std::uint8_t eol = 0;
        for (std::size_t i = pos; i < n; ++i) {
            // Eight bytes at a time while none of them is a control byte up to CR (SWAR
            // "has a byte less than 14"); loads stay inside the body.
            while (i + 8 <= n) {
                std::uint64_t w;
                std::memcpy(&w, p + i, 8);
                if (swar::has_byte_below(w, 14)) break;
                i += 8;
            }
            if (i >= n) break;
            const auto c = static_cast<unsigned char>(p[i]);
            if (c > '\r') continue;
            if (c == '\n') {
                nl = i;
                break;
            }
            if (c == '\r') {
                if (i + 1 < n && p[i + 1] == '\n') {
                    nl = i + 1;
                    break;
                }
                return fail(sdp_status::invalid, "NUL or bare CR in a line", i);
            }
            if (c == 0) return fail(sdp_status::invalid, "NUL or bare CR in a line", i);
        }
        if (nl < n) {
            eol = (nl > pos && p[nl - 1] == '\r') ? 2 : 1;
            value_end = nl + 1 - eol;
        } else {
            value_end = n;
        }
        if (value_end - pos < 2 || p[pos + 1] != '=') {
            return fail(sdp_status::invalid, "line is not <type>=<value>", pos);
        }
        const char type = p[pos];
        if (!known_type(type)) return fail(sdp_status::invalid, "unknown line type", pos);
        if (_line_count == sdp_max_lines) {
            return fail(sdp_status::over_capacity, "more than 512 lines", pos);
        }
        const std::size_t idx = _line_count++;
        _lines[idx] = line_rec{static_cast<std::uint32_t>(pos),
                               static_cast<std::uint16_t>(value_end - pos - 2), eol, type};
        const std::string_view value(p + pos + 2, value_end - pos - 2);

        if (idx == 0) {
            if (type != 'v' || value != "0") {
                return fail(sdp_status::invalid, "first line must be v=0", pos);
            }
        } else if (idx == 1) {
            if (type != 'o') return fail(sdp_status::invalid, "second line must be o=", pos);
            std::string_view t[6];
            bool more = false;
            if (split_spaces(value, t, 6, more) != 6 || more) {
                return fail(sdp_status::invalid, "o= needs 6 fields", pos);
            }
            std::uint64_t version = 0;
            if (!parse_uint(t[2], std::numeric_limits<std::uint64_t>::max(), version)) {
                return fail(sdp_status::invalid, "o= sess-version is not a number", pos);
            }
            _origin = sdp_origin{t[0], t[1], version, t[2], t[3], t[4], addrtype_of(t[4]), t[5]};
            _origin_line = static_cast<std::uint32_t>(idx);
        } else if (type == 'v' || type == 'o') {
            return fail(sdp_status::invalid, "repeated v= or o= line", pos);
        }

        if (type == 'm') {
            if (_media_count == sdp_max_media) {
                return fail(sdp_status::over_capacity, "more than 16 media sections", pos);
            }
            _sections[cur].end_line = static_cast<std::uint16_t>(idx);
            cur = ++_media_count;
            reset_section(_sections[cur], idx);
            media_rec& m = _media[cur - 1];
            m.port_count = 1;
            m.has_port_count = false;
            m.format_count = 0;
            // RFC 4566 s5: no whitespace after '='. A leading space would make the media
            // field empty, and a lenient reading (media = the next token) is not what every
            // far end would read: refuse rather than rewrite an ambiguous m= line.
            if (!value.empty() && value[0] == ' ') {
                return fail(sdp_status::invalid, "m= starts with a space", pos);
            }
            std::string_view t[3];
            bool more = false;
            if (split_spaces(value, t, 3, more) < 3 || !more) {
                return fail(sdp_status::invalid, "m= needs media, port, proto, format", pos);
            }
            const auto rel = [&](std::string_view s) {
                return static_cast<std::uint16_t>(s.data() - value.data());
            };
            m.type_len = static_cast<std::uint16_t>(t[0].size());
            const std::size_t slash = t[1].find('/');
            const std::string_view port = t[1].substr(0, slash);
            std::uint64_t num = 0;
            if (!parse_uint(port, 65535, num)) {
                return fail(sdp_status::invalid, "m= port is not a number 0-65535", pos);
            }
            m.port = static_cast<std::uint16_t>(num);
            m.port_off = rel(port);
            m.port_len = static_cast<std::uint16_t>(port.size());
            if (slash != std::string_view::npos) {
                if (!parse_uint(t[1].substr(slash + 1), 65535, num) || num == 0) {
                    return fail(sdp_status::invalid, "m= port count is not a number", pos);
                }
                m.port_count = static_cast<std::uint16_t>(num);
                m.has_port_count = true;
            }
            m.proto_off = rel(t[2]);
            m.proto_len = static_cast<std::uint16_t>(t[2].size());
            // The format list: every token after proto.
            std::size_t i = static_cast<std::size_t>(m.proto_off) + m.proto_len;
            while (i < value.size()) {
                while (i < value.size() && value[i] == ' ')
                    ++i;
                if (i >= value.size()) break;
                std::size_t j = i;
                while (j < value.size() && value[j] != ' ')
                    ++j;
                if (m.format_count == sdp_max_formats) {
                    return fail(sdp_status::over_capacity, "more than 32 formats", pos);
                }
                if (j - i > 255) return fail(sdp_status::invalid, "format too long", pos);
                m.fmt_off[m.format_count] = static_cast<std::uint16_t>(i);
                m.fmt_len[m.format_count] = static_cast<std::uint8_t>(j - i);
                ++m.format_count;
                i = j;
            }
        } else if (cur > 0 && !media_level_type(type)) {
            return fail(sdp_status::invalid, "line type not allowed in a media section", pos);
        }

        section_rec& sec = _sections[cur];
        if (type == 'c') {
            if (sec.c_line >= 0) return fail(sdp_status::invalid, "second c= in a section", pos);
            sdp_connection c;
            if (!parse_connection(value, c)) {
                return fail(sdp_status::invalid, "c= needs nettype, addrtype, address", pos);
            }
            sec.c_line = static_cast<std::int16_t>(idx);
        } else if (type == 'b') {
            const std::size_t colon = value.find(':');
            std::uint64_t bw = 0;
            if (colon == std::string_view::npos || colon == 0 ||
                !parse_uint(value.substr(colon + 1), std::numeric_limits<std::uint32_t>::max(),
                            bw)) {
                return fail(sdp_status::invalid, "b= is not <bwtype>:<number>", pos);
            }
            if (sec.bw_count == sdp_max_bandwidths) {
                return fail(sdp_status::over_capacity, "more than 4 b= lines in a section", pos);
            }
            sec.bws[sec.bw_count++] = static_cast<std::uint16_t>(idx);
        } else if (type == 'a') {
            if (value.empty() || value[0] == ':') {
                return fail(sdp_status::invalid, "a= without a name", pos);
            }
            if (sec.attr_count == sdp_max_attributes) {
                return fail(sdp_status::over_capacity, "more than 64 a= lines in a section", pos);
            }
            sec.attrs[sec.attr_count++] = static_cast<std::uint16_t>(idx);
        }
        pos = nl < n ? nl + 1 : n;
        _content_end = static_cast<std::uint32_t>(pos);
    }
    if (_line_count < 2) return fail(sdp_status::invalid, "missing o= line", pos);
    _sections[cur].end_line = _line_count;
    return sdp_result{};
}

std::string_view sdp_view::line_value(std::size_t line) const noexcept {
    const line_rec& r = _lines[line];
    return {_base + r.start + 2, r.value_len};
}

std::string_view sdp_view::session_name() const noexcept {
    const section_rec& s = _sections[0];
    for (std::size_t i = s.first_line; i < s.end_line; ++i) {
        if (_lines[i].type == 's') return line_value(i);
    }
    return {};
}

std::string_view sdp_view::media_type(std::size_t media) const noexcept {
    if (media >= _media_count) return {};
    return line_value(_sections[media + 1].first_line).substr(0, _media[media].type_len);
}

std::uint16_t sdp_view::media_port(std::size_t media) const noexcept {
    return media < _media_count ? _media[media].port : 0;
}

std::uint16_t sdp_view::media_port_count(std::size_t media) const noexcept {
    return media < _media_count ? _media[media].port_count : 0;
}

std::string_view sdp_view::media_proto(std::size_t media) const noexcept {
    if (media >= _media_count) return {};
    const media_rec& m = _media[media];
    return line_value(_sections[media + 1].first_line).substr(m.proto_off, m.proto_len);
}

bool sdp_view::media_is_rtp(std::size_t media) const noexcept {
    return media_proto(media).find("RTP/") != std::string_view::npos;
}

std::size_t sdp_view::format_count(std::size_t media) const noexcept {
    return media < _media_count ? _media[media].format_count : 0;
}

std::string_view sdp_view::format(std::size_t media, std::size_t i) const noexcept {
    if (media >= _media_count || i >= _media[media].format_count) return {};
    const media_rec& m = _media[media];
    return line_value(_sections[media + 1].first_line).substr(m.fmt_off[i], m.fmt_len[i]);
}

std::optional<sdp_connection> sdp_view::session_connection() const noexcept {
    if (_line_count == 0 || _sections[0].c_line < 0) return std::nullopt;
    sdp_connection c;
    if (!parse_connection(line_value(static_cast<std::size_t>(_sections[0].c_line)), c)) {
        return std::nullopt;
    }
    return c;
}

std::optional<sdp_connection> sdp_view::media_connection(std::size_t media) const noexcept {
    if (media >= _media_count || _sections[media + 1].c_line < 0) return std::nullopt;
    sdp_connection c;
    if (!parse_connection(line_value(static_cast<std::size_t>(_sections[media + 1].c_line)), c)) {
        return std::nullopt;
    }
    return c;
}

std::optional<sdp_connection> sdp_view::effective_connection(std::size_t media) const noexcept {
    if (auto c = media_connection(media)) return c;
    return session_connection();
}

std::size_t sdp_view::bandwidth_count(std::size_t section) const noexcept {
    return section < section_count() && _line_count > 0 ? _sections[section].bw_count : 0;
}

sdp_bandwidth sdp_view::bandwidth(std::size_t section, std::size_t i) const noexcept {
    if (i >= bandwidth_count(section)) return {};
    const std::string_view v = line_value(_sections[section].bws[i]);
    const std::size_t colon = v.find(':');
    std::uint64_t n = 0;
    (void)parse_uint(v.substr(colon + 1), std::numeric_limits<std::uint32_t>::max(), n);
    return sdp_bandwidth{v.substr(0, colon), static_cast<std::uint32_t>(n)};
}

std::size_t sdp_view::attribute_count(std::size_t section) const noexcept {
    return section < section_count() && _line_count > 0 ? _sections[section].attr_count : 0;
}

sdp_attribute sdp_view::attribute(std::size_t section, std::size_t i) const noexcept {
    if (i >= attribute_count(section)) return {};
    return split_attribute(line_value(_sections[section].attrs[i]));
}

std::optional<sdp_attribute> sdp_view::find_attribute(std::size_t section,
                                                      std::string_view name) const noexcept {
    const std::size_t n = attribute_count(section);
    for (std::size_t i = 0; i < n; ++i) {
        sdp_attribute a = attribute(section, i);
        if (a.name == name) return a;
    }
    return std::nullopt;
}

std::size_t sdp_view::line_count(std::size_t section) const noexcept {
    if (section >= section_count() || _line_count == 0) return 0;
    return static_cast<std::size_t>(_sections[section].end_line - _sections[section].first_line);
}

sdp_line sdp_view::line(std::size_t section, std::size_t i) const noexcept {
    if (i >= line_count(section)) return {};
    const std::size_t idx = _sections[section].first_line + i;
    return sdp_line{_lines[idx].type, line_value(idx)};
}

std::optional<sdp_rtpmap> sdp_view::rtpmap(std::size_t media, std::uint8_t pt) const noexcept {
    const std::size_t n = attribute_count(media + 1);
    for (std::size_t i = 0; i < n && media < _media_count; ++i) {
        const sdp_attribute a = attribute(media + 1, i);
        sdp_rtpmap r;
        if (a.name == "rtpmap" && parse_rtpmap(a.value, r) && r.payload_type == pt) return r;
    }
    return std::nullopt;
}

std::optional<std::string_view> sdp_view::fmtp(std::size_t media, std::uint8_t pt) const noexcept {
    const std::size_t n = attribute_count(media + 1);
    for (std::size_t i = 0; i < n && media < _media_count; ++i) {
        const sdp_attribute a = attribute(media + 1, i);
        std::uint8_t p = 0;
        if (a.name == "fmtp" && leading_pt(a.value, p) && p == pt) {
            std::size_t k = a.value.find(' ');
            if (k == std::string_view::npos) return std::string_view{};
            while (k < a.value.size() && a.value[k] == ' ')
                ++k;
            return a.value.substr(k);
        }
    }
    return std::nullopt;
}

std::string_view sdp_view::encoding_name(std::size_t media, std::uint8_t pt) const noexcept {
    if (auto r = rtpmap(media, pt)) return r->encoding_name;
    return static_encoding(pt);
}

sdp_direction sdp_view::direction(std::size_t section) const noexcept {
    sdp_direction d = sdp_direction::none;
    const std::size_t n = attribute_count(section);
    for (std::size_t i = 0; i < n; ++i) {
        const sdp_attribute a = attribute(section, i);
        if (!a.has_value) {
            const sdp_direction x = direction_of(a.name);
            if (x != sdp_direction::none) d = x;
        }
    }
    return d;
}

sdp_direction sdp_view::effective_direction(std::size_t media) const noexcept {
    sdp_direction d = direction(media + 1);
    if (d == sdp_direction::none) d = direction(0);
    return d == sdp_direction::none ? sdp_direction::sendrecv : d;
}

// ---------------------------------------------------------------------------------------------
// sdp_write

namespace {

// Counts every byte it is asked for, and writes only while they fit: an overflow reports the
// size the output would have needed.
class writer {
public:
    writer(char* out, std::size_t cap) noexcept : _out(out), _cap(cap) {}

    void put(std::string_view s) noexcept {
        if (_len + s.size() <= _cap && !s.empty()) std::memcpy(_out + _len, s.data(), s.size());
        _len += s.size();
    }
    void put(char c) noexcept {
        if (_len < _cap) _out[_len] = c;
        ++_len;
    }
    void put_uint(std::uint64_t v) noexcept {
        char tmp[20];
        std::size_t k = sizeof(tmp);
        do {
            tmp[--k] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        put(std::string_view(tmp + k, sizeof(tmp) - k));
    }
    [[nodiscard]] std::size_t length() const noexcept { return _len; }
    [[nodiscard]] bool overflowed() const noexcept { return _len > _cap; }

private:
    char* _out;
    std::size_t _cap;
    std::size_t _len = 0;
};

std::string_view addrtype_text(sdp_addrtype t) noexcept {
    return t == sdp_addrtype::ip6 ? "IP6" : "IP4";
}

bool valid_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        if (c == ' ' || c == '\r' || c == '\n' || c == '\0') return false;
    }
    return true;
}

struct line_writer {
    writer& w;
    std::string_view default_eol;
    bool pending_eol = false; // the previous line was the body's last and had no terminator

    void begin() noexcept {
        if (pending_eol) {
            w.put(default_eol);
            pending_eol = false;
        }
    }
    void end(const sdp_view::line_rec& r) noexcept {
        if (r.eol_len == 2) {
            w.put("\r\n");
        } else if (r.eol_len == 1) {
            w.put('\n');
        } else {
            pending_eol = true;
        }
    }
    void end_new() noexcept { w.put(default_eol); }
};

} // namespace

sdp_write_result sdp_write(const sdp_view& view, const sdp_edits& edits, char* out,
                           std::size_t capacity) noexcept {
    if (view.total_lines() < 2) return {sdp_status::bad_edit, 0};
    if (!edits.session_connection_address.empty() &&
        !valid_token(edits.session_connection_address)) {
        return {sdp_status::bad_edit, 0};
    }
    if (!edits.origin_address.empty() && !valid_token(edits.origin_address)) {
        return {sdp_status::bad_edit, 0};
    }
    for (const sdp_media_edit& me : edits.media) {
        if ((!me.connection_address.empty() && !valid_token(me.connection_address)) ||
            me.port > 65535 || me.rtcp_port > 65535) {
            return {sdp_status::bad_edit, 0};
        }
    }
    const sdp_origin& o = view.origin();
    if (edits.bump_version && o.sess_version == std::numeric_limits<std::uint64_t>::max()) {
        return {sdp_status::bad_edit, 0};
    }

    writer w(out, capacity);
    line_writer lw{w, view.raw_line(0).eol_len == 2 ? std::string_view("\r\n") : "\n"};
    const char* const base = view.body().data();
    const auto copy_line = [&](std::size_t li) {
        const sdp_view::line_rec& r = view.raw_line(li);
        lw.begin();
        w.put(std::string_view(base + r.start, 2u + r.value_len));
        lw.end(r);
    };
    const auto put_connection = [&](std::string_view addr, sdp_addrtype t) {
        lw.begin();
        w.put("c=IN ");
        w.put(addrtype_text(t));
        w.put(' ');
        w.put(addr);
    };
    const auto put_direction = [&](sdp_direction d) {
        lw.begin();
        w.put("a=");
        w.put(to_string(d));
    };
    const auto dropped_by_name = [&](std::string_view name) {
        for (std::string_view d : edits.drop_attributes) {
            if (d == name) return true;
        }
        return false;
    };
    const std::size_t media_count = view.media_count();

    // Session section.
    {
        const sdp_view::section_rec& s = view.raw_section(0);
        const bool insert_c = !edits.session_connection_address.empty() && s.c_line < 0;
        bool inserted = false;
        // With no media sections, the session level is where a direction goes.
        const bool session_direction = media_count == 0 && edits.direction != sdp_direction::none;
        bool direction_written = false;
        for (std::size_t li = s.first_line; li < s.end_line; ++li) {
            const sdp_view::line_rec& r = view.raw_line(li);
            const std::string_view value = view.line_value(li);
            if (insert_c && !inserted &&
                (r.type == 'b' || r.type == 't' || r.type == 'r' || r.type == 'z' ||
                 r.type == 'k' || r.type == 'a')) {
                put_connection(edits.session_connection_address, edits.session_connection_addrtype);
                lw.end_new();
                inserted = true;
            }
            if (li == view.origin_line() && (edits.bump_version || !edits.origin_address.empty())) {
                lw.begin();
                w.put("o=");
                w.put(o.username);
                w.put(' ');
                w.put(o.sess_id);
                w.put(' ');
                if (edits.bump_version) {
                    w.put_uint(o.sess_version + 1);
                } else {
                    w.put(o.sess_version_text);
                }
                w.put(' ');
                w.put(o.nettype);
                w.put(' ');
                if (edits.origin_address.empty()) {
                    w.put(o.addrtype_text);
                    w.put(' ');
                    w.put(o.address);
                } else {
                    w.put(addrtype_text(edits.origin_addrtype));
                    w.put(' ');
                    w.put(edits.origin_address);
                }
                lw.end(r);
                continue;
            }
            if (r.type == 'c' && !edits.session_connection_address.empty()) {
                put_connection(edits.session_connection_address, edits.session_connection_addrtype);
                lw.end(r);
                continue;
            }
            if (r.type == 'a') {
                const sdp_attribute a = split_attribute(value);
                if (dropped_by_name(a.name)) continue;
                if (!a.has_value && direction_of(a.name) != sdp_direction::none &&
                    edits.direction != sdp_direction::none) {
                    if (session_direction && !direction_written) {
                        put_direction(edits.direction);
                        lw.end(r);
                        direction_written = true;
                    }
                    continue;
                }
            }
            copy_line(li);
        }
        if (insert_c && !inserted) {
            put_connection(edits.session_connection_address, edits.session_connection_addrtype);
            lw.end_new();
        }
        if (session_direction && !direction_written) {
            put_direction(edits.direction);
            lw.end_new();
        }
    }

    // Media sections.
    for (std::size_t m = 0; m < media_count; ++m) {
        const sdp_view::section_rec& s = view.raw_section(m + 1);
        const sdp_media_edit* me = m < edits.media.size() ? &edits.media[m] : nullptr;
        const sdp_media_edit none{};
        if (me == nullptr) me = &none;
        const sdp_direction dir =
            me->direction != sdp_direction::none ? me->direction : edits.direction;

        // Which formats stay, and which payload types lose their attribute lines.
        const std::size_t nf = view.format_count(m);
        std::array<bool, sdp_max_formats> keep{};
        std::array<bool, 128> dropped_pt{};
        bool any_dropped = false;
        bool rejected = false;
        for (std::size_t i = 0; i < nf; ++i)
            keep[i] = true;
        if (edits.filter_codecs && view.media_is_rtp(m)) {
            // One pass over the section's a= lines: payload type -> its rtpmap line (index + 1).
            std::array<std::uint8_t, 128> rtpmap_at{};
            if (!edits.keep_encodings.empty()) {
                const std::size_t na = view.attribute_count(m + 1);
                for (std::size_t a = 0; a < na; ++a) {
                    const std::string_view v = view.line_value(s.attrs[a]);
                    sdp_rtpmap r;
                    // The first decodable rtpmap per payload type, as sdp_view::rtpmap finds it.
                    if (v.starts_with("rtpmap:") && parse_rtpmap(v.substr(7), r) &&
                        rtpmap_at[r.payload_type] == 0) {
                        rtpmap_at[r.payload_type] = static_cast<std::uint8_t>(a + 1);
                    }
                }
            }
            std::size_t kept = 0;
            for (std::size_t i = 0; i < nf; ++i) {
                std::uint64_t pt = 0;
                if (!parse_uint(view.format(m, i), 127, pt)) {
                    ++kept; // not a payload type: not ours to filter
                    continue;
                }
                bool k = false;
                for (std::uint8_t p : edits.keep_payload_types) {
                    if (p == pt) k = true;
                }
                if (!k && !edits.keep_encodings.empty()) {
                    std::string_view enc = static_encoding(static_cast<std::uint8_t>(pt));
                    if (rtpmap_at[pt] != 0) {
                        sdp_rtpmap r;
                        const std::string_view v =
                            view.line_value(s.attrs[rtpmap_at[pt] - 1u]).substr(7);
                        if (parse_rtpmap(v, r)) enc = r.encoding_name;
                    }
                    for (std::string_view e : edits.keep_encodings) {
                        if (!enc.empty() && iequals(e, enc)) k = true;
                    }
                }
                keep[i] = k;
                if (k) {
                    ++kept;
                } else {
                    dropped_pt[pt] = true;
                    any_dropped = true;
                }
            }
            if (kept == 0) {
                // RFC 3264 s6: reject the stream with port 0, keeping one format.
                rejected = true;
                keep[0] = true;
                std::uint64_t pt = 0;
                if (parse_uint(view.format(m, 0), 127, pt)) dropped_pt[pt] = false;
            }
        }
        // A pt listed twice in the m= line may be both kept and dropped; keeping wins.
        for (std::size_t i = 0; i < nf; ++i) {
            std::uint64_t pt = 0;
            if (keep[i] && parse_uint(view.format(m, i), 127, pt)) dropped_pt[pt] = false;
        }

        const bool insert_c = !me->connection_address.empty() && s.c_line < 0;
        bool inserted = false;
        bool direction_written = false;
        for (std::size_t li = s.first_line; li < s.end_line; ++li) {
            const sdp_view::line_rec& r = view.raw_line(li);
            const std::string_view value = view.line_value(li);
            if (insert_c && !inserted && r.type != 'm' && r.type != 'i') {
                put_connection(me->connection_address, me->connection_addrtype);
                lw.end_new();
                inserted = true;
            }
            if (r.type == 'm') {
                if (me->port < 0 && !any_dropped && !rejected) {
                    copy_line(li);
                    continue;
                }
                lw.begin();
                w.put("m=");
                w.put(view.media_type(m));
                w.put(' ');
                if (rejected) {
                    w.put('0');
                } else if (me->port >= 0) {
                    w.put_uint(static_cast<std::uint64_t>(me->port));
                } else {
                    w.put_uint(view.media_port(m));
                }
                const sdp_view::media_rec& mr = view.raw_media(m);
                if (mr.has_port_count) {
                    // Keep an explicit "/count" exactly as given.
                    const std::string_view after = value.substr(mr.port_off + mr.port_len);
                    w.put(after.substr(0, after.find(' ')));
                }
                w.put(' ');
                w.put(view.media_proto(m));
                for (std::size_t i = 0; i < nf; ++i) {
                    if (!keep[i]) continue;
                    w.put(' ');
                    w.put(view.format(m, i));
                }
                lw.end(r);
                continue;
            }
            if (r.type == 'c' && !me->connection_address.empty()) {
                put_connection(me->connection_address, me->connection_addrtype);
                lw.end(r);
                continue;
            }
            if (r.type == 'a') {
                const sdp_attribute a = split_attribute(value);
                if (dropped_by_name(a.name)) continue;
                if (any_dropped && a.has_value &&
                    (a.name == "rtpmap" || a.name == "fmtp" || a.name == "rtcp-fb")) {
                    std::uint8_t pt = 0;
                    if (leading_pt(a.value, pt) && dropped_pt[pt]) continue;
                }
                if (!a.has_value && dir != sdp_direction::none &&
                    direction_of(a.name) != sdp_direction::none) {
                    if (!direction_written) {
                        put_direction(dir);
                        lw.end(r);
                        direction_written = true;
                    }
                    continue;
                }
                if (a.name == "rtcp" && a.has_value && me->rtcp_port >= 0) {
                    std::size_t k = 0;
                    while (k < a.value.size() && is_digit(a.value[k]))
                        ++k;
                    lw.begin();
                    w.put("a=rtcp:");
                    w.put_uint(static_cast<std::uint64_t>(me->rtcp_port));
                    const std::string_view rest = a.value.substr(k);
                    if (!rest.empty() && !me->connection_address.empty()) {
                        w.put(" IN ");
                        w.put(addrtype_text(me->connection_addrtype));
                        w.put(' ');
                        w.put(me->connection_address);
                    } else {
                        w.put(rest);
                    }
                    lw.end(r);
                    continue;
                }
            }
            copy_line(li);
        }
        if (insert_c && !inserted) {
            put_connection(me->connection_address, me->connection_addrtype);
            lw.end_new();
        }
        if (dir != sdp_direction::none && !direction_written) {
            put_direction(dir);
            lw.end_new();
        }
    }

    // Trailing blank lines, byte for byte.
    const std::string_view body = view.body();
    if (view.content_end() < body.size()) {
        lw.begin();
        w.put(body.substr(view.content_end()));
    }
    if (w.overflowed()) return {sdp_status::overflow, w.length()};
    return {sdp_status::ok, w.length()};
}

} // namespace tandem::sip
