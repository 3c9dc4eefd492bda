#pragma once

// Writes an outgoing SIP message once, into a caller-provided buffer: start line, headers (from
// name/value spans or whole raw header lines copied from a parsed packet), then Content-Length
// and the body. No allocation, no intermediate strings, no exceptions.
//
// `message_builder` is the core: it knows nothing of the parser. `copy_headers` / `build_from`
// at the bottom are the thin layer the B2BUA uses: they walk a parsed `message`'s header index
// and copy each header line's raw bytes unless an edit list removes or replaces it.
//
// Content-Length is always written by `finish()`, last among the headers. With a body given as
// bytes its length is known and written directly. With a body produced in place (a
// `body_source`, e.g. the SDP editor), `finish()` reserves room for the widest Content-Length
// line, lets the producer write the body after that gap, then writes the real digits and moves
// the body down over the unused gap (a memmove of the body by at most 9 bytes).
//
// A builder belongs to one thread; the buffer is the caller's and must outlive the builder.

#include "sip/header_id.h"
#include "sip/sdp.h"

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string_view>

namespace tandem::sip {

namespace detail {
// "00" to "99": two decimal digits per table load.
inline constexpr char k_digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                        "25262728293031323334353637383940414243444546474849"
                                        "50515253545556575859606162636465666768697071727374"
                                        "75767778798081828384858687888990919293949596979899";
} // namespace detail

/// The decimal digits of `v`, written at the end of `buf` (no allocation, no locale): two
/// digits per step from a table of the 100 pairs, half the divisions of a digit loop (CSeq
/// numbers, Content-Length and Max-Forwards values on every message built).
struct decimal_text {
    char buf[20];
    std::size_t first = sizeof(buf);
    explicit decimal_text(std::uint64_t v) noexcept {
        constexpr const char* pairs = detail::k_digit_pairs;
        while (v >= 100) {
            const std::size_t r = static_cast<std::size_t>(v % 100) * 2;
            v /= 100;
            first -= 2;
            buf[first] = pairs[r];
            buf[first + 1] = pairs[r + 1];
        }
        if (v >= 10) {
            first -= 2;
            buf[first] = pairs[v * 2];
            buf[first + 1] = pairs[v * 2 + 1];
        } else {
            buf[--first] = static_cast<char>('0' + v);
        }
    }
    [[nodiscard]] std::string_view view() const noexcept {
        return {buf + first, sizeof(buf) - first};
    }
};

class message;
struct header_edit;
class message_builder;
void copy_headers(const message& src, std::span<const header_edit> edits, bool copy_by_default,
                  message_builder& b) noexcept;

enum class build_status : std::uint8_t {
    ok,
    overflow,  ///< the buffer is too small; its contents are unspecified
    bad_input, ///< a name/value that would corrupt the message (CR/LF injection, empty name,
               ///< a Content-Length header added by hand, a failing body producer, ...)
};

struct [[nodiscard]] build_result {
    build_status status = build_status::ok;
    /// ok: the message length in the buffer. overflow: at least this many bytes are needed.
    std::size_t length = 0;

    [[nodiscard]] bool ok() const noexcept { return status == build_status::ok; }
};

/// A body written in place. `write` gets the free space [out, out+cap) and returns the bytes
/// it wrote (<= cap), `body_source::overflow` when the body did not fit, or `body_source::error`.
/// It must not write past out+cap. `ctx` is passed back untouched.
struct body_source {
    static constexpr std::size_t overflow = static_cast<std::size_t>(-1);
    static constexpr std::size_t error = static_cast<std::size_t>(-2);
    std::size_t (*write)(const void* ctx, char* out, std::size_t cap) noexcept = nullptr;
    const void* ctx = nullptr;
};

/// The SDP editor as a body producer: `sdp_write(*view, *edits, ...)`. The returned source
/// points at `body`: `body`, the view and the edits must all outlive the `finish()` call.
struct sdp_body {
    const sdp_view* view;
    const sdp_edits* edits;
};
[[nodiscard]] body_source make_body_source(const sdp_body& body) noexcept;

namespace detail {

// Header pieces are short (a tag, a Call-ID, a Via): two overlapping loads and stores of a
// fixed width copy one, where a libc memcpy call costs more than the copy itself. Reads only
// [src, src+n), writes only [dst, dst+n); the ranges do not overlap.
// n <= 32 bytes, with no call: a caller that makes none keeps its registers (no spills).
inline void copy_upto32(char* dst, const char* src, std::size_t n) noexcept {
    if (n >= 16) {
        char a[16], b[16];
        std::memcpy(a, src, 16);
        std::memcpy(b, src + n - 16, 16);
        std::memcpy(dst, a, 16);
        std::memcpy(dst + n - 16, b, 16);
    } else if (n >= 8) {
        std::uint64_t a, b;
        std::memcpy(&a, src, 8);
        std::memcpy(&b, src + n - 8, 8);
        std::memcpy(dst, &a, 8);
        std::memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4) {
        std::uint32_t a, b;
        std::memcpy(&a, src, 4);
        std::memcpy(&b, src + n - 4, 4);
        std::memcpy(dst, &a, 4);
        std::memcpy(dst + n - 4, &b, 4);
    } else if (n != 0) {
        const char a = src[0], m = src[n / 2], z = src[n - 1];
        dst[0] = a;
        dst[n / 2] = m;
        dst[n - 1] = z;
    }
}

// n <= 64 bytes, with no call.
inline void copy_upto64(char* dst, const char* src, std::size_t n) noexcept {
    if (n > 32) {
        char a[16], b[16], c[16], d[16];
        std::memcpy(a, src, 16);
        std::memcpy(b, src + 16, 16);
        std::memcpy(c, src + n - 32, 16);
        std::memcpy(d, src + n - 16, 16);
        std::memcpy(dst, a, 16);
        std::memcpy(dst + 16, b, 16);
        std::memcpy(dst + n - 32, c, 16);
        std::memcpy(dst + n - 16, d, 16);
    } else {
        copy_upto32(dst, src, n);
    }
}

// "Name: " at p (name at most 32 bytes, room checked by the caller); returns the byte after.
inline char* put_name(char* p, std::string_view name) noexcept {
    copy_upto32(p, name.data(), name.size());
    p += name.size();
    p[0] = ':';
    p[1] = ' ';
    return p + 2;
}

} // namespace detail

/// The core builder. Call a start-line function first, then headers, then exactly one
/// `finish()`. After an overflow or bad input every further call is a no-op and `finish()`
/// reports the first failure: a message is never reported ok unless all of it was written.
class message_builder {
public:
    message_builder(char* buffer, std::size_t capacity) noexcept : _buf(buffer), _cap(capacity) {}

    /// "<method> <uri> SIP/2.0\r\n". Method must be a token, uri must not contain SP/CR/LF.
    void request_line(std::string_view method, std::string_view uri) noexcept;
    /// "SIP/2.0 <code> <reason>\r\n"; code 100..699.
    void status_line(int code, std::string_view reason) noexcept;
    /// A whole start line as written elsewhere (without its CRLF), e.g. a parsed one.
    void start_line(std::string_view line) noexcept;

    /// "<name>: <value>\r\n". `name` is a token; `value` may hold folds (CRLF + SP/HT) but no
    /// other CR or LF. Content-Length (or "l") is refused: finish() writes it.
    void header(std::string_view name, std::string_view value) noexcept;
    /// "<name>: <decimal>\r\n".
    void header_uint(std::string_view name, std::uint64_t value) noexcept;
    /// "<name>: " followed by the parts back to back, for values composed from pieces (a Via
    /// with a fresh branch, a From with a new tag) without a temporary string.
    void header_parts(std::string_view name,
                      std::initializer_list<std::string_view> parts) noexcept;
    /// header() without its checks, for values whose bytes are already known good: `name` is a
    /// token other than Content-Length (a literal, or a parsed header's name) and `value`
    /// holds CR/LF only as folds because the parser already delimited its line (a parsed
    /// header's value, or dialog state copied from one) or this process generated it (ids,
    /// numbers, its own address). Values from configuration or scenario text go through
    /// header(). Debug builds assert the contract.
    void prechecked_header(std::string_view name, std::string_view value) noexcept;
    /// header_uint() under prechecked_header()'s contract for `name`.
    void prechecked_header_uint(std::string_view name, std::uint64_t value) noexcept;
    /// header_parts() under prechecked_header()'s contract, for every part.
    void prechecked_header_parts(std::string_view name,
                                 std::initializer_list<std::string_view> parts) noexcept;
    /// A whole header line copied as is ("Name: value", folds kept); a trailing CRLF in `line`
    /// is dropped and one CRLF written. Same checks as header().
    void raw_header(std::string_view line) noexcept;

    /// Removes every header line already written whose name matches `name` (ASCII
    /// case-insensitive; a compact form matches its long form). Returns how many were removed.
    std::size_t remove_header(std::string_view name) noexcept;
    /// Replaces the first header line named `name` in place with "<name>: <value>" and removes
    /// the others; appends it when there is none.
    void replace_header(std::string_view name, std::string_view value) noexcept;

    /// Writes "Content-Length: <n>\r\n\r\n" and the body. Returns the message length.
    build_result finish(std::string_view body = {}) noexcept;
    /// Same, with the body produced in place by `src`.
    build_result finish(const body_source& src) noexcept;

    /// Bytes written so far (or needed, after an overflow).
    [[nodiscard]] std::size_t size() const noexcept { return _len; }
    [[nodiscard]] build_status status() const noexcept { return _status; }

private:
    friend void copy_headers(const message& src, std::span<const header_edit> edits,
                             bool copy_by_default, message_builder& b) noexcept;

    /// Headers may be written now (started, not finished, no earlier failure); otherwise
    /// fails the build (bad_input) unless it had failed already.
    bool in_headers() noexcept {
        if (_writing) [[likely]]
            return true;
        fail(build_status::bad_input); // not started, or finished (kept: an earlier failure)
        return false;
    }
    bool check_header(std::string_view name, std::string_view value) noexcept;
    // prechecked_*()'s contract, for their debug assertions: a token other than Content-Length,
    // and a value with CR/LF only as folds.
    [[nodiscard]] static bool prechecked_name(std::string_view name) noexcept;
    [[nodiscard]] static bool prechecked_value(std::string_view value) noexcept;
    void put(std::string_view s) noexcept;
    // The parts back to back, with one bounds check.
    void put_parts(std::initializer_list<std::string_view> parts) noexcept;
    void put_uint(std::uint64_t v) noexcept;
    // "<name>: <parts...>\r\n" with one bounds check (names and parts already checked).
    void write_line(std::string_view name, std::initializer_list<std::string_view> parts) noexcept;
    // write_line() when the line does not fit or a name or part is long (cold).
    [[gnu::cold, gnu::noinline]] void
    write_line_slow(std::string_view name, std::initializer_list<std::string_view> parts) noexcept;
    // The same for a single value.
    void write_value_line(std::string_view name, std::string_view value) noexcept;
    // The prechecked_*() writers, write_line() and write_value_line() are defined below the
    // class and always inlined: at a call site with a literal name (and literal parts) the
    // name's copy and the size tests fold into a few fixed stores, and no call is made.
    // write_value_line() when the line does not fit or its name is long (cold).
    [[gnu::cold, gnu::noinline]] void write_value_line_slow(std::string_view name,
                                                            std::string_view value) noexcept;
    void fail(build_status s) noexcept;
    std::size_t remove_from(std::size_t pos, std::string_view name) noexcept;
    [[nodiscard]] std::size_t line_end(std::size_t pos) const noexcept;
    [[nodiscard]] bool line_named(std::size_t pos, std::string_view name,
                                  header_id id) const noexcept;
    [[nodiscard]] bool failed() const noexcept { return _status != build_status::ok; }

    char* _buf;
    std::size_t _cap;
    std::size_t _len = 0;
    std::size_t _headers_begin = 0; // just past the start line
    build_status _status = build_status::ok;
    bool _started = false;
    bool _finished = false;
    // Started, not finished, not failed: what in_headers() asks before every header, in one
    // test instead of three.
    bool _writing = false;
};

[[gnu::always_inline]] inline void
message_builder::write_value_line(std::string_view name, std::string_view value) noexcept {
    // write_line() for one part, without its loops over the parts. The usual line (room left,
    // a name of at most 32 bytes) makes no call but the value's memcpy when it is long, and
    // that last, so it keeps no registers across a call; any other line goes out of line.
    const std::size_t n = name.size() + 2 + value.size() + 2;
    if (n > _cap - _len || name.size() > 32) [[unlikely]] {
        write_value_line_slow(name, value);
        return;
    }
    char* p = _buf + _len;
    _len += n;
    p = detail::put_name(p, name);
    p[value.size()] = '\r';
    p[value.size() + 1] = '\n';
    if (value.size() > 32) {
        std::memcpy(p, value.data(), value.size());
        return;
    }
    detail::copy_upto32(p, value.data(), value.size());
}

[[gnu::always_inline]] inline void
message_builder::write_line(std::string_view name,
                            std::initializer_list<std::string_view> parts) noexcept {
    // As write_value_line: the usual line (room left, a name of at most 32 bytes, parts of at
    // most 64) is written with no call; any other goes out of line.
    std::size_t n = name.size() + 4;
    bool short_parts = name.size() <= 32;
    for (std::string_view part : parts) {
        n += part.size();
        short_parts &= part.size() <= 64;
    }
    if (n > _cap - _len || !short_parts) [[unlikely]] {
        write_line_slow(name, parts);
        return;
    }
    char* p = _buf + _len;
    _len += n;
    p = detail::put_name(p, name);
    for (std::string_view part : parts) {
        detail::copy_upto64(p, part.data(), part.size());
        p += part.size();
    }
    p[0] = '\r';
    p[1] = '\n';
}

[[gnu::always_inline]] inline void
message_builder::prechecked_header(std::string_view name, std::string_view value) noexcept {
    assert(prechecked_name(name) && prechecked_value(value));
    if (!in_headers()) return;
    write_value_line(name, value);
}

[[gnu::always_inline]] inline void
message_builder::prechecked_header_uint(std::string_view name, std::uint64_t value) noexcept {
    assert(prechecked_name(name));
    if (!in_headers()) return;
    const decimal_text digits(value);
    const std::string_view text = digits.view();
    // At most 20 digits. Said so that GCC does not see write_value_line's memcpy of long values
    // reading past `digits` (-Warray-bounds in the sanitizer build).
    if (text.size() > sizeof(digits.buf)) __builtin_unreachable();
    write_value_line(name, text);
}

[[gnu::always_inline]] inline void
message_builder::prechecked_header_parts(std::string_view name,
                                         std::initializer_list<std::string_view> parts) noexcept {
    assert(prechecked_name(name));
#ifndef NDEBUG
    for (std::string_view p : parts)
        assert(prechecked_value(p));
#endif
    if (!in_headers()) return;
    write_line(name, parts);
}

// ---------------------------------------------------------------------------------------------
// Building from a parsed message

enum class header_action : std::uint8_t {
    copy,    ///< pass the header's lines through byte for byte
    remove,  ///< drop every line of it
    replace, ///< write "<name>: <value>" where its first line was (appended if absent)
};

/// One entry of an edit list. Matched by `id` when it is not `header_id::unknown` (0), else by
/// `name` (ASCII case-insensitive; a known name also matches its compact form).
struct header_edit {
    header_id id{};
    std::string_view name;
    header_action action = header_action::remove;
    std::string_view value; ///< replace only
};

/// A header appended after the copied ones.
struct header_text {
    std::string_view name;
    std::string_view value;
};

/// Up to this many edits per call (the policy layer compiles bigger lists to a hash table).
inline constexpr std::size_t max_header_edits = 64;

/// Writes every header line of `src` into `b`, in order, as raw bytes (name as written,
/// list elements and folds kept), except: Content-Length is never copied (finish() writes it);
/// a line matching an edit follows that edit; a line matching no edit is copied when
/// `copy_by_default`, dropped otherwise (a pass-through list: only `copy` edits pass).
/// Replace edits whose header is absent from `src` are appended at the end.
/// `bad_input` when there are more than `max_header_edits` edits.
void copy_headers(const message& src, std::span<const header_edit> edits, bool copy_by_default,
                  message_builder& b) noexcept;

/// What `build_from` writes besides the copied headers. Content-Type is an ordinary header
/// here: with a body of another type (or none), remove or replace it in `headers`.
struct build_edits {
    /// Start line: empty keeps the source's byte for byte.
    std::string_view start_line;
    std::span<const header_edit> headers;
    bool copy_by_default = true;
    std::span<const header_text> add;
    enum class body_kind : std::uint8_t { copy, none, bytes, produced } body = body_kind::copy;
    std::string_view body_bytes; ///< body_kind::bytes
    body_source body_producer;   ///< body_kind::produced
};

/// start line + copy_headers + added headers + Content-Length + body, into out[0, cap).
/// With no edits, parse(build_from(m)) gives m's start line, headers (name, value, order) and
/// body back; only Content-Length moves to the end of the headers.
build_result build_from(const message& src, const build_edits& edits, char* out,
                        std::size_t capacity) noexcept;

} // namespace tandem::sip
