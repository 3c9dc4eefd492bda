#include "sip/builder.h"

#include "sip/message.h"
#include "sip/scan.h"
#include "sip/util/swar.h"

#include <array>
#include <cassert>
#include <cstdint>
#include <cstring>

namespace tandem::sip {

namespace {

// RFC 3261 s25.1 token characters.
constexpr bool token_char_rule(unsigned c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '-':
    case '.':
    case '!':
    case '%':
    case '*':
    case '_':
    case '+':
    case '`':
    case '\'':
    case '~':
        return true;
    default:
        return false;
    }
}
constexpr std::array<bool, 256> build_token_table() noexcept {
    std::array<bool, 256> t{};
    for (unsigned c = 0; c < 256; ++c)
        t[c] = token_char_rule(c);
    return t;
}
// Every header name of every message is checked: one load per byte, not a switch.
constexpr std::array<bool, 256> k_token_char = build_token_table();

inline bool is_token_char(char c) noexcept {
    return k_token_char[static_cast<unsigned char>(c)];
}

bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        if (!is_token_char(c)) return false;
    }
    return true;
}

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// SP, HT, CR or LF anywhere (a Request-URI holds none): one table load per byte, where
// find_first_of(" \t\r\n") costs a memchr call per byte.
constexpr std::array<bool, 256> build_space_eol_table() noexcept {
    std::array<bool, 256> t{};
    t[' '] = t['\t'] = t['\r'] = t['\n'] = true;
    return t;
}
constexpr std::array<bool, 256> k_space_eol = build_space_eol_table();

bool has_space_or_eol(std::string_view s) noexcept {
    // Eight bytes a step: a URI with no byte below 0x21 holds none of the four, and only one
    // with such a byte (rare) pays the table test per byte.
    if (s.size() >= 8) {
        const char* p = s.data();
        std::uint64_t w;
        bool low = false;
        for (std::size_t i = 0; i + 8 <= s.size(); i += 8) {
            std::memcpy(&w, p + i, 8);
            low |= swar::has_byte_below(w, 0x21);
        }
        std::memcpy(&w, p + s.size() - 8, 8);
        if (!low && !swar::has_byte_below(w, 0x21)) return false;
    }
    for (char c : s)
        if (k_space_eol[static_cast<unsigned char>(c)]) return true;
    return false;
}

inline void copy_short(char* dst, const char* src, std::size_t n) noexcept {
    if (n > 32) {
        std::memcpy(dst, src, n);
    } else {
        detail::copy_upto32(dst, src, n);
    }
}

bool has_cr_lf(std::string_view s) noexcept {
    // Reason phrases and start lines are short: a byte loop beats the vector scan's call.
    if (s.size() <= 16) {
        bool eol = false;
        for (char c : s)
            eol |= (c == '\r') | (c == '\n');
        return eol;
    }
    return scan::has_eol(s.data(), s.size());
}

// CR and LF only as a fold: CRLF followed by SP or HT (RFC 3261 s7.3.1), never at the end.
bool valid_value(std::string_view v) noexcept {
    if (v.empty()) return true;
    // Values rarely hold CR or LF: a vector test first, the byte rule only when there is one.
    if (!scan::has_eol(v.data(), v.size())) return true;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\r') {
            if (i + 2 >= v.size() || v[i + 1] != '\n' || (v[i + 2] != ' ' && v[i + 2] != '\t')) {
                return false;
            }
            i += 1;
        } else if (v[i] == '\n') {
            return false;
        }
    }
    return true;
}

// "Content-Length" or its compact "l": the only lengths worth a lookup.
bool is_content_length(std::string_view name) noexcept {
    return (name.size() == 1 || name.size() == 14) &&
           lookup_header(name) == header_id::content_length;
}

bool same_header(std::string_view written, std::string_view name, header_id id) noexcept {
    if (iequal(written, name)) return true;
    return id != header_id::unknown && lookup_header(written) == id;
}

std::size_t write_sdp(const void* ctx, char* out, std::size_t cap) noexcept {
    const auto* b = static_cast<const sdp_body*>(ctx);
    const sdp_write_result r = sdp_write(*b->view, *b->edits, out, cap);
    if (r.ok()) return r.length;
    return r.status == sdp_status::overflow ? body_source::overflow : body_source::error;
}

} // namespace

body_source make_body_source(const sdp_body& body) noexcept {
    return body_source{&write_sdp, &body};
}

void message_builder::fail(build_status s) noexcept {
    if (_status == build_status::ok) _status = s;
    _writing = false;
}

void message_builder::put(std::string_view s) noexcept {
    if (failed()) return;
    if (s.size() > _cap - _len) {
        _len += s.size();
        fail(build_status::overflow);
        return;
    }
    copy_short(_buf + _len, s.data(), s.size());
    _len += s.size();
}

void message_builder::put_parts(std::initializer_list<std::string_view> parts) noexcept {
    if (failed()) return;
    std::size_t n = 0;
    for (std::string_view part : parts)
        n += part.size();
    if (n > _cap - _len) {
        _len += n;
        fail(build_status::overflow);
        return;
    }
    // One bounds check for the whole run.
    char* p = _buf + _len;
    for (std::string_view part : parts) {
        copy_short(p, part.data(), part.size());
        p += part.size();
    }
    _len += n;
}

void message_builder::put_uint(std::uint64_t v) noexcept {
    put(decimal_text(v).view());
}

void message_builder::request_line(std::string_view method, std::string_view uri) noexcept {
    if (failed()) return;
    if (_started || !is_token(method) || uri.empty() || has_space_or_eol(uri)) {
        fail(build_status::bad_input);
        return;
    }
    // One bounds check, then the pieces written in place (put_parts' loop costs more here).
    constexpr std::string_view version = " SIP/2.0\r\n";
    const std::size_t n = method.size() + 1 + uri.size() + version.size();
    if (n > _cap - _len) {
        _len += n;
        fail(build_status::overflow);
        return;
    }
    char* p = _buf + _len;
    _len += n;
    _started = true;
    _writing = !failed();
    _headers_begin = _len;
    // The URI's copy last: when it needs memcpy, that is a tail call (no registers kept).
    std::memcpy(p + method.size() + 1 + uri.size(), version.data(), version.size());
    if (method.size() <= 32) [[likely]] {
        detail::copy_upto32(p, method.data(), method.size());
    } else {
        std::memcpy(p, method.data(), method.size());
    }
    p += method.size();
    *p++ = ' ';
    if (uri.size() > 32) {
        std::memcpy(p, uri.data(), uri.size());
        return;
    }
    detail::copy_upto32(p, uri.data(), uri.size());
}

void message_builder::status_line(int code, std::string_view reason) noexcept {
    if (failed()) return;
    if (_started || code < 100 || code > 699 || has_cr_lf(reason)) {
        fail(build_status::bad_input);
        return;
    }
    // "SIP/2.0 ddd " is 12 bytes: one bounds check, the pieces written in place.
    const std::size_t n = 12 + reason.size() + 2;
    if (n > _cap - _len) {
        _len += n;
        fail(build_status::overflow);
        return;
    }
    char* p = _buf + _len;
    std::memcpy(p, "SIP/2.0 ", 8);
    // One division and a table load of the last two digits, instead of three divisions.
    const unsigned hundreds = static_cast<unsigned>(code) / 100;
    p[8] = static_cast<char>('0' + hundreds);
    std::memcpy(p + 9, detail::k_digit_pairs + 2 * (static_cast<unsigned>(code) - 100 * hundreds),
                2);
    p[11] = ' ';
    p[12 + reason.size()] = '\r';
    p[13 + reason.size()] = '\n';
    _len += n;
    _started = true;
    _writing = !failed();
    _headers_begin = _len;
    // The reason's copy last: when it needs memcpy, that is a tail call (no registers kept).
    if (reason.size() > 32) {
        std::memcpy(p + 12, reason.data(), reason.size());
        return;
    }
    detail::copy_upto32(p + 12, reason.data(), reason.size());
}

void message_builder::start_line(std::string_view line) noexcept {
    if (failed()) return;
    if (_started || line.empty() || has_cr_lf(line)) {
        fail(build_status::bad_input);
        return;
    }
    put(line);
    put("\r\n");
    _started = true;
    _writing = !failed();
    _headers_begin = _len;
}

bool message_builder::check_header(std::string_view name, std::string_view value) noexcept {
    if (!in_headers()) return false;
    if (!is_token(name) || !valid_value(value) || is_content_length(name)) {
        fail(build_status::bad_input);
        return false;
    }
    return true;
}

void message_builder::header(std::string_view name, std::string_view value) noexcept {
    if (!check_header(name, value)) return;
    write_value_line(name, value);
}

void message_builder::write_value_line_slow(std::string_view name,
                                            std::string_view value) noexcept {
    write_line_slow(name, {value});
}

void message_builder::header_uint(std::string_view name, std::uint64_t value) noexcept {
    if (!check_header(name, {})) return;
    write_line(name, {decimal_text(value).view()});
}

void message_builder::write_line_slow(std::string_view name,
                                      std::initializer_list<std::string_view> parts) noexcept {
    std::size_t n = name.size() + 4;
    for (std::string_view p : parts)
        n += p.size();
    if (n > _cap - _len) {
        _len += n;
        fail(build_status::overflow);
        return;
    }
    // One bounds check for the whole line.
    char* p = _buf + _len;
    copy_short(p, name.data(), name.size());
    p += name.size();
    *p++ = ':';
    *p++ = ' ';
    for (std::string_view part : parts) {
        copy_short(p, part.data(), part.size());
        p += part.size();
    }
    *p++ = '\r';
    *p = '\n';
    _len += n;
}

void message_builder::header_parts(std::string_view name,
                                   std::initializer_list<std::string_view> parts) noexcept {
    if (!check_header(name, {})) return;
    for (std::string_view p : parts) {
        if (!valid_value(p)) {
            fail(build_status::bad_input);
            return;
        }
    }
    write_line(name, parts);
}

bool message_builder::prechecked_name(std::string_view name) noexcept {
    return is_token(name) && !is_content_length(name);
}

bool message_builder::prechecked_value(std::string_view value) noexcept {
    return valid_value(value);
}

void message_builder::raw_header(std::string_view line) noexcept {
    if (line.ends_with("\r\n")) line.remove_suffix(2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
        fail(build_status::bad_input);
        return;
    }
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
        name.remove_suffix(1);
    if (!check_header(name, line.substr(colon + 1))) return;
    put(line);
    put("\r\n");
}

std::size_t message_builder::line_end(std::size_t pos) const noexcept {
    // Every line this builder wrote ends in CRLF; a CRLF followed by SP/HT is a fold.
    for (std::size_t i = pos; i + 1 < _len; ++i) {
        if (_buf[i] == '\r' && _buf[i + 1] == '\n' &&
            (i + 2 >= _len || (_buf[i + 2] != ' ' && _buf[i + 2] != '\t'))) {
            return i + 2;
        }
    }
    return _len;
}

bool message_builder::line_named(std::size_t pos, std::string_view name,
                                 header_id id) const noexcept {
    std::size_t e = pos;
    while (e < _len && is_token_char(_buf[e]))
        ++e;
    return same_header(std::string_view(_buf + pos, e - pos), name, id);
}

std::size_t message_builder::remove_from(std::size_t pos, std::string_view name) noexcept {
    const header_id id = lookup_header(name);
    std::size_t removed = 0;
    while (pos < _len) {
        const std::size_t end = line_end(pos);
        if (line_named(pos, name, id)) {
            std::memmove(_buf + pos, _buf + end, _len - end);
            _len -= end - pos;
            ++removed;
        } else {
            pos = end;
        }
    }
    return removed;
}

std::size_t message_builder::remove_header(std::string_view name) noexcept {
    if (failed() || !_started || _finished) return 0;
    return remove_from(_headers_begin, name);
}

void message_builder::replace_header(std::string_view name, std::string_view value) noexcept {
    if (!check_header(name, value)) return;
    const header_id id = lookup_header(name);
    std::size_t pos = _headers_begin;
    while (pos < _len && !line_named(pos, name, id))
        pos = line_end(pos);
    if (pos >= _len) {
        header(name, value);
        return;
    }
    const std::size_t old_end = line_end(pos);
    const std::size_t new_len = name.size() + 2 + value.size() + 2;
    const std::size_t tail = _len - old_end;
    if (pos + new_len + tail > _cap) {
        _len = pos + new_len + tail;
        fail(build_status::overflow);
        return;
    }
    std::memmove(_buf + pos + new_len, _buf + old_end, tail);
    char* p = _buf + pos;
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    std::memcpy(p, ": ", 2);
    p += 2;
    if (!value.empty()) std::memcpy(p, value.data(), value.size());
    p += value.size();
    std::memcpy(p, "\r\n", 2);
    _len = pos + new_len + tail;
    remove_from(pos + new_len, name);
}

build_result message_builder::finish(std::string_view body) noexcept {
    if (!_writing) fail(build_status::bad_input); // not started, or finished (or failed: kept)
    _finished = true;
    _writing = false;
    if (failed()) return build_result{_status, _len};
    const decimal_text length(body.size());
    const std::string_view digits = length.view();
    constexpr std::string_view name = "Content-Length: ";
    const std::size_t n = name.size() + digits.size() + 4 + body.size();
    if (n > _cap - _len) {
        _len += n;
        fail(build_status::overflow);
        return build_result{_status, _len};
    }
    char* p = _buf + _len;
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    copy_short(p, digits.data(), digits.size());
    p += digits.size();
    std::memcpy(p, "\r\n\r\n", 4);
    p += 4;
    if (!body.empty()) std::memcpy(p, body.data(), body.size());
    _len += n;
    return build_result{_status, _len};
}

build_result message_builder::finish(const body_source& src) noexcept {
    if (!_writing || src.write == nullptr)
        fail(build_status::bad_input); // an earlier failure is kept
    put("Content-Length: ");
    _finished = true;
    _writing = false;
    if (failed()) return build_result{_status, _len};
    // Room for the widest length (10 digits: a body is < 4 GiB) and the blank line.
    constexpr std::size_t reserve = 10 + 4;
    if (reserve > _cap - _len) {
        fail(build_status::overflow);
        return build_result{_status, _len + reserve};
    }
    const std::size_t body_at = _len + reserve;
    const std::size_t room = _cap - body_at;
    const std::size_t n = src.write(src.ctx, _buf + body_at, room);
    if (n == body_source::overflow) {
        fail(build_status::overflow);
        return build_result{_status, body_at + room + 1};
    }
    if (n > room || n > 0xffffffffu) {
        fail(build_status::bad_input);
        return build_result{_status, _len};
    }
    put_uint(n);
    put("\r\n\r\n");
    // The real line is at most as wide as the reserve: move the body down over the rest.
    std::memmove(_buf + _len, _buf + body_at, n);
    _len += n;
    return build_result{_status, _len};
}

// ---------------------------------------------------------------------------------------------

void copy_headers(const message& src, std::span<const header_edit> edits, bool copy_by_default,
                  message_builder& b) noexcept {
    if (b.failed()) return;
    if (edits.size() > max_header_edits || !b._started || b._finished) {
        b.fail(build_status::bad_input);
        return;
    }
    std::array<header_id, max_header_edits> ids{};
    std::array<bool, max_header_edits> done{};
    for (std::size_t e = 0; e < edits.size(); ++e) {
        ids[e] = edits[e].id != header_id::unknown ? edits[e].id : lookup_header(edits[e].name);
        if (edits[e].action == header_action::replace) {
            const std::string_view nm =
                edits[e].name.empty() ? header_name(edits[e].id) : edits[e].name;
            if (!is_token(nm) || !valid_value(edits[e].value) ||
                ids[e] == header_id::content_length) {
                b.fail(build_status::bad_input);
                return;
            }
        }
    }
    const auto replace_name = [&](std::size_t e) {
        return edits[e].name.empty() ? header_name(edits[e].id) : edits[e].name;
    };
    const std::size_t count = src.header_count();
    const char* const base = src.data();
    std::size_t i = 0;
    while (i < count && !b.failed()) {
        const header_field& first = src.header(i);
        std::size_t j = i + 1;
        while (j < count && (src.header(j).flags & header_field::first_in_line) == 0)
            ++j;
        const header_field& last = src.header(j - 1);
        i = j;
        if (first.id == header_id::content_length) continue;
        std::size_t match = edits.size();
        for (std::size_t e = 0; e < edits.size(); ++e) {
            const bool hit =
                ids[e] != header_id::unknown
                    ? first.id == ids[e]
                    : (first.id == header_id::unknown && iequal(src.name(first), edits[e].name));
            if (hit) {
                match = e;
                break;
            }
        }
        header_action action = copy_by_default ? header_action::copy : header_action::remove;
        if (match < edits.size()) action = edits[match].action;
        switch (action) {
        case header_action::copy:
            // The parser checked these bytes (CRLF only inside folds): copied without re-checks.
            b.put(std::string_view(base + first.name_off,
                                   last.value_off + last.value_len - first.name_off));
            b.put("\r\n");
            break;
        case header_action::remove:
            break;
        case header_action::replace:
            if (!done[match]) {
                b.header(replace_name(match), edits[match].value);
                done[match] = true;
            }
            break;
        }
    }
    for (std::size_t e = 0; e < edits.size(); ++e) {
        if (edits[e].action == header_action::replace && !done[e]) {
            b.header(replace_name(e), edits[e].value);
        }
    }
}

build_result build_from(const message& src, const build_edits& edits, char* out,
                        std::size_t capacity) noexcept {
    message_builder b(out, capacity);
    b.start_line(edits.start_line.empty() ? src.start_line() : edits.start_line);
    copy_headers(src, edits.headers, edits.copy_by_default, b);
    for (const header_text& h : edits.add)
        b.header(h.name, h.value);
    switch (edits.body) {
    case build_edits::body_kind::copy:
        return b.finish(src.body());
    case build_edits::body_kind::none:
        return b.finish();
    case build_edits::body_kind::bytes:
        return b.finish(edits.body_bytes);
    case build_edits::body_kind::produced:
        return b.finish(edits.body_producer);
    }
    return b.finish();
}

} // namespace tandem::sip
