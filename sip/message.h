#pragma once

// The zero-copy SIP message view (RFC 3261 s7). `parse()` indexes a message in one pass over the
// caller's bytes: start line, every header (name looked up to a `header_id`, long or compact
// form, list headers split into one slot per comma-separated element, folded lines joined), and
// the body as bounded by Content-Length. Nothing is allocated or copied: every view points into
// the caller's buffer, which must outlive the `message` and stay unchanged.
//
// Typed accessors parse a header value on first use. The ones every layer needs (top Via,
// From, To, Call-ID, CSeq, first Contact) cache their result inside the message; the others parse
// on each call (they are cheap and rarely called twice). A `message` belongs to one thread (the
// shard that parsed it); its const accessors write the caches, so do not share one across threads.

#include "sip/header_id.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tandem::sip {

// ---------------------------------------------------------------------------------------------
// Methods

/// Request methods Tandem names. `other` is any extension method: the raw span is kept
/// byte-exact by `message::method_name()`.
enum class method : uint8_t {
    other = 0,
    invite,
    ack,
    bye,
    cancel,
    options,
    register_,
    prack,
    update,
    info,
    message,
    notify,
    subscribe,
    refer,
    publish,
};

/// Maps a method token to its id (case-sensitive, RFC 3261 s7.1); `other` when not known.
[[nodiscard]] method lookup_method(std::string_view token) noexcept;
/// The method's token ("INVITE", ...); "" for `other`.
[[nodiscard]] std::string_view method_name(method m) noexcept;

// ---------------------------------------------------------------------------------------------
// Parse status

enum class parse_status : uint8_t {
    ok,         ///< a whole message was indexed
    incomplete, ///< stream mode only: more bytes are needed (headers or body not all there)
    invalid,    ///< malformed: `reason` and `offset` say what and where
};

/// How the bytes arrived, which decides what a short message means (RFC 3261 s18.3).
enum class parse_mode : uint8_t {
    /// One datagram is one message: bytes past the body are ignored, a body shorter than
    /// Content-Length is invalid, no Content-Length means the body runs to the end.
    datagram,
    /// TCP/TLS: the message may be cut anywhere; missing bytes give `incomplete`. No
    /// Content-Length means an empty body.
    stream,
};

/// Outcome of `parse()`. Trivially copyable, no ownership.
struct [[nodiscard]] parse_result {
    parse_status status = parse_status::invalid;
    /// ok: bytes the message occupies (start line to end of body; trailing bytes of a datagram
    /// are not counted). invalid: byte offset where the error was found. incomplete: 0.
    uint32_t offset = 0;
    /// Static string, never null: "" when ok, else a short phrase ("bad CSeq") usable as a
    /// 400 reason phrase.
    const char* reason = "";

    [[nodiscard]] bool ok() const noexcept { return status == parse_status::ok; }
    /// Writes "bad CSeq at 212" (or "ok", "incomplete") NUL-terminated into `out` (truncated to
    /// `cap`); returns the length it wanted to write, like snprintf.
    size_t format(char* out, size_t cap) const noexcept;
};

// ---------------------------------------------------------------------------------------------
// Typed header values. All views point into the parsed buffer. A folded value keeps its CRLF
// bytes inside the view; typed parsers treat CR and LF as linear white space.

/// Result of a typed accessor: the header may be absent, well-formed, or present but malformed.
enum class field_status : uint8_t { absent, ok, bad };

template <class T>
struct field {
    field_status status = field_status::absent;
    T value{};

    [[nodiscard]] bool ok() const noexcept { return status == field_status::ok; }
    [[nodiscard]] bool absent() const noexcept { return status == field_status::absent; }
    [[nodiscard]] bool bad() const noexcept { return status == field_status::bad; }
    explicit operator bool() const noexcept { return ok(); }
    const T* operator->() const noexcept { return &value; }
    const T& operator*() const noexcept { return value; }
};

/// One Via value (RFC 3261 s20.42, RFC 3581 rport).
struct via_value {
    std::string_view protocol_name;    ///< "SIP"
    std::string_view protocol_version; ///< "2.0"
    std::string_view transport;        ///< "UDP", "TCP", ... as written
    std::string_view host;             ///< sent-by host; an IPv6 reference keeps its brackets
    uint16_t port = 0;                 ///< sent-by port, 0 when absent
    bool has_port = false;
    bool has_branch = false;
    bool has_received = false;
    bool has_maddr = false;
    bool rport = false;           ///< rport parameter present (with or without value)
    bool has_rport_value = false; ///< rport=N
    uint16_t rport_value = 0;
    int16_t ttl = -1; ///< 0..255, -1 when absent
    std::string_view branch;
    std::string_view received; ///< IPv6 with or without brackets (RFC 5118 s4.5)
    std::string_view maddr;
    std::string_view params; ///< raw parameters after sent-by, starting at the first ';'
};

/// From, To, Route, Record-Route, Refer-To, Referred-By, P-Asserted-Identity, Contact
/// (RFC 3261 s20.10 name-addr / addr-spec with header parameters).
struct name_addr_value {
    std::string_view display_name; ///< as written: quotes kept, "" when none
    std::string_view uri;          ///< the URI, without < >
    bool angle_brackets = false;   ///< the URI was in < >
    bool has_tag = false;
    std::string_view tag;
    std::string_view params; ///< raw header parameters after the URI, from the first ';'
};

/// CSeq (RFC 3261 s20.16): number <= 2^31-1.
struct cseq_value {
    uint32_t number = 0;
    sip::method method = sip::method::other;
    std::string_view method_name; ///< byte-exact token
};

/// One Contact value (RFC 3261 s20.10): `*` or a name-addr with expires and q.
struct contact_value {
    bool star = false;
    name_addr_value addr;
    int64_t expires = -1; ///< expires param, 0..2^32-1; -1 when absent
    int q = -1;           ///< q param in thousandths (0..1000); -1 when absent
};

/// Content-Type (RFC 3261 s20.15).
struct media_type_value {
    std::string_view type;    ///< "application"
    std::string_view subtype; ///< "sdp"
    std::string_view params;  ///< raw, from the first ';'
};

/// RAck (RFC 3262 s7.2).
struct rack_value {
    uint32_t rseq = 0;
    uint32_t cseq = 0;
    sip::method method = sip::method::other;
    std::string_view method_name;
};

/// One Reason value (RFC 3326).
struct reason_value {
    std::string_view protocol; ///< "SIP", "Q.850", ...
    int cause = -1;            ///< cause param, -1 when absent
    std::string_view text;     ///< text param without its quotes, "" when absent
    std::string_view params;
};

/// Session-Expires (RFC 4028 s4); also Min-SE (refresher empty).
struct session_expires_value {
    uint32_t seconds = 0;
    std::string_view refresher; ///< "uac", "uas" or "" when absent
    std::string_view params;
};

/// Replaces (RFC 3891 s6.1).
struct replaces_value {
    std::string_view call_id;
    std::string_view to_tag;
    std::string_view from_tag;
    bool early_only = false;
};

// Header grammars, usable on any value string (the accessors below use them). Each returns
// true when `value` is well-formed and fills `out`; on false `out` is unspecified. `value` is
// one list element (no top-level commas), leading and trailing LWS allowed.
[[nodiscard]] bool parse_via_value(std::string_view value, via_value& out) noexcept;
[[nodiscard]] bool parse_name_addr_value(std::string_view value, name_addr_value& out) noexcept;
[[nodiscard]] bool parse_cseq_value(std::string_view value, cseq_value& out) noexcept;
[[nodiscard]] bool parse_contact_value(std::string_view value, contact_value& out) noexcept;
[[nodiscard]] bool parse_media_type_value(std::string_view value, media_type_value& out) noexcept;
[[nodiscard]] bool parse_rack_value(std::string_view value, rack_value& out) noexcept;
[[nodiscard]] bool parse_reason_value(std::string_view value, reason_value& out) noexcept;
[[nodiscard]] bool parse_session_expires_value(std::string_view value,
                                               session_expires_value& out) noexcept;
[[nodiscard]] bool parse_replaces_value(std::string_view value, replaces_value& out) noexcept;
/// Call-ID (RFC 3261 s20.8: word ["@" word]); `out` is the trimmed value.
[[nodiscard]] bool parse_call_id_value(std::string_view value, std::string_view& out) noexcept;
/// A decimal 1*DIGIT (leading zeros allowed) not above `max`.
[[nodiscard]] bool parse_uint_value(std::string_view value, uint64_t max, uint64_t& out) noexcept;
/// An option tag (token) as in Require/Supported/Proxy-Require/Unsupported; `out` trimmed.
[[nodiscard]] bool parse_token_value(std::string_view value, std::string_view& out) noexcept;

namespace detail {
/// The reference grammars behind parse_via_value and parse_name_addr_value, which take the
/// common shapes on a one-pass fast path and hand everything else to these. Same contract and
/// same results; exposed for the differential test, not for production callers.
[[nodiscard]] bool parse_via_value_reference(std::string_view value, via_value& out) noexcept;
[[nodiscard]] bool parse_name_addr_value_reference(std::string_view value,
                                                   name_addr_value& out) noexcept;
} // namespace detail

// ---------------------------------------------------------------------------------------------
// The message view

/// One index slot: one header line, or one element of a list header's line.
struct header_field {
    uint32_t name_off = 0;  ///< offset of the name as written (compact or long)
    uint32_t value_off = 0; ///< offset of the trimmed value (element)
    uint32_t value_len = 0;
    uint16_t name_len = 0;
    header_id id = header_id::unknown;
    uint8_t flags = 0; ///< `first_in_line` when this slot starts its header line
    static constexpr uint8_t first_in_line = 1;
};

class message {
public:
    /// Capacity of the header index (slots: a list header uses one per element). A message
    /// with more is invalid with reason "too many headers".
    static constexpr size_t max_headers = 128;
    /// `find()` and friends return this when nothing matches.
    static constexpr size_t npos = static_cast<size_t>(-1);

    message() noexcept = default;
    message(const message&) = delete;
    message& operator=(const message&) = delete;

    // Start line ------------------------------------------------------------------------------
    [[nodiscard]] bool is_request() const noexcept { return _is_request; }
    [[nodiscard]] bool is_response() const noexcept { return !_is_request; }
    /// Request method id; `other` for extension methods and for responses.
    [[nodiscard]] sip::method method() const noexcept { return _method; }
    /// The method token byte-exact; "" for responses.
    [[nodiscard]] std::string_view method_name() const noexcept {
        return view(_method_off, _method_len);
    }
    /// The Request-URI as written; "" for responses.
    [[nodiscard]] std::string_view request_uri() const noexcept {
        return view(_ruri_off, _ruri_len);
    }
    /// "SIP/2.0" (or whatever version the start line carries; checked by semantic_check()).
    [[nodiscard]] std::string_view version() const noexcept {
        return view(_version_off, _version_len);
    }
    /// Status code 100..699 for responses, 0 for requests.
    [[nodiscard]] int status_code() const noexcept { return _status; }
    /// Reason phrase (may be empty); "" for requests.
    [[nodiscard]] std::string_view reason_phrase() const noexcept {
        return view(_reason_off, _reason_len);
    }
    /// The start line without its CRLF.
    [[nodiscard]] std::string_view start_line() const noexcept { return view(0, _start_len); }

    // Raw bytes -------------------------------------------------------------------------------
    /// The parsed buffer (first byte of the start line).
    [[nodiscard]] const char* data() const noexcept { return _base; }
    /// Bytes the message occupies, start line to the end of the body.
    [[nodiscard]] size_t size() const noexcept { return _size; }
    /// Offset of the body (just past the blank line).
    [[nodiscard]] size_t body_offset() const noexcept { return _body_off; }
    [[nodiscard]] std::string_view body() const noexcept { return view(_body_off, _body_len); }
    /// Content-Length as sent; -1 when the header is absent.
    [[nodiscard]] int64_t content_length() const noexcept { return _content_length; }

    // Header index ----------------------------------------------------------------------------
    [[nodiscard]] size_t header_count() const noexcept { return _header_count; }
    [[nodiscard]] const header_field& header(size_t i) const noexcept { return _headers[i]; }
    [[nodiscard]] std::string_view name(const header_field& h) const noexcept {
        return view(h.name_off, h.name_len);
    }
    [[nodiscard]] std::string_view value(const header_field& h) const noexcept {
        return view(h.value_off, h.value_len);
    }
    [[nodiscard]] std::string_view value(size_t i) const noexcept { return value(_headers[i]); }
    /// Index of the first slot with `id` at or after `from`; npos when none. O(1) for from==0
    /// (inline: the layers above call it for every header they read).
    [[nodiscard]] size_t find(header_id id, size_t from = 0) const noexcept {
        const size_t f = _first[static_cast<size_t>(id)];
        if (f == 0xffff) return npos;
        return from <= f ? f : find_after(id, from);
    }
    /// First slot whose name matches `name` case-insensitively (any header, also unknown ones;
    /// known names also match their compact form); npos when none.
    [[nodiscard]] size_t find(std::string_view name) const noexcept;
    /// Number of slots with `id` (list elements counted one by one).
    [[nodiscard]] size_t count(header_id id) const noexcept;
    /// Number of header lines with `id` (a list line counts once).
    [[nodiscard]] size_t line_count(header_id id) const noexcept;
    /// Index of the `nth` slot with `id`; npos when fewer.
    [[nodiscard]] size_t nth(header_id id, size_t n) const noexcept;

    // Typed accessors (cached) -------------------------------------------------------------------
    // Inline for the cached case: the layers above read these again and again.
    [[nodiscard]] const field<via_value>& top_via() const noexcept {
        if (!(_cached & cached_top_via)) fill_top_via();
        return _top_via;
    }
    [[nodiscard]] const field<name_addr_value>& from() const noexcept {
        if (!(_cached & cached_from)) fill_from();
        return _from;
    }
    [[nodiscard]] const field<name_addr_value>& to() const noexcept {
        if (!(_cached & cached_to)) fill_to();
        return _to;
    }
    [[nodiscard]] const field<std::string_view>& call_id() const noexcept {
        if (!(_cached & cached_call_id)) fill_call_id();
        return _call_id;
    }
    [[nodiscard]] const field<cseq_value>& cseq() const noexcept {
        if (!(_cached & cached_cseq)) fill_cseq();
        return _cseq;
    }

    // Typed accessors (parsed per call) ----------------------------------------------------------
    /// The `n`th Via value (0 = top).
    [[nodiscard]] field<via_value> via(size_t n) const noexcept;
    /// Max-Forwards 0..255.
    [[nodiscard]] field<uint32_t> max_forwards() const noexcept;
    [[nodiscard]] size_t contact_count() const noexcept { return count(header_id::contact); }
    /// The `n`th Contact value; the first (n == 0) is parsed once and cached.
    [[nodiscard]] field<contact_value> contact(size_t n = 0) const noexcept;
    /// The first Contact's cache itself: a reader that only tests it skips contact(0)'s copy.
    [[nodiscard]] const field<contact_value>& first_contact() const noexcept {
        if (!(_cached & cached_contact)) fill_contact();
        return _contact;
    }
    [[nodiscard]] size_t route_count() const noexcept { return count(header_id::route); }
    [[nodiscard]] field<name_addr_value> route(size_t n) const noexcept;
    [[nodiscard]] size_t record_route_count() const noexcept {
        return count(header_id::record_route);
    }
    [[nodiscard]] field<name_addr_value> record_route(size_t n) const noexcept;
    [[nodiscard]] field<media_type_value> content_type() const noexcept;
    /// Expires (delta-seconds, 0..2^32-1).
    [[nodiscard]] field<uint32_t> expires() const noexcept;
    [[nodiscard]] field<uint32_t> rseq() const noexcept;
    [[nodiscard]] field<rack_value> rack() const noexcept;
    [[nodiscard]] field<reason_value> reason(size_t n = 0) const noexcept;
    [[nodiscard]] field<name_addr_value> refer_to() const noexcept;
    [[nodiscard]] field<name_addr_value> referred_by() const noexcept;
    [[nodiscard]] field<replaces_value> replaces() const noexcept;
    [[nodiscard]] field<session_expires_value> session_expires() const noexcept;
    [[nodiscard]] field<uint32_t> min_se() const noexcept;
    [[nodiscard]] field<name_addr_value> p_asserted_identity(size_t n = 0) const noexcept;
    /// The `n`th option tag of Require/Supported/Proxy-Require/Unsupported/Allow (`id`).
    [[nodiscard]] field<std::string_view> option_tag(header_id id, size_t n) const noexcept;
    /// True when a slot of `id` holds `tag` (case-insensitive, RFC 3261 s19.2).
    [[nodiscard]] bool has_option_tag(header_id id, std::string_view tag) const noexcept;

private:
    friend parse_result parse(const char* data, size_t len, message& out, parse_mode mode) noexcept;

    [[nodiscard]] std::string_view view(uint32_t off, uint32_t len) const noexcept {
        return {_base + off, len};
    }
    void reset(const char* base) noexcept;
    /// find() past the first slot of `id`.
    [[nodiscard]] size_t find_after(header_id id, size_t from) const noexcept;
    // Parse a cached accessor's header into its cache and set its _cached bit.
    void fill_top_via() const noexcept;
    void fill_from() const noexcept;
    void fill_to() const noexcept;
    void fill_call_id() const noexcept;
    void fill_cseq() const noexcept;
    void fill_contact() const noexcept;
    static constexpr uint8_t cached_top_via = 1, cached_from = 2, cached_to = 4, cached_call_id = 8,
                             cached_cseq = 16, cached_contact = 32;

    const char* _base = nullptr;
    uint32_t _size = 0;
    uint32_t _body_off = 0;
    uint32_t _body_len = 0;
    int64_t _content_length = -1;
    uint32_t _start_len = 0;
    uint32_t _method_off = 0, _method_len = 0;
    uint32_t _ruri_off = 0, _ruri_len = 0;
    uint32_t _version_off = 0, _version_len = 0;
    uint32_t _reason_off = 0, _reason_len = 0;
    int _status = 0;
    sip::method _method = sip::method::other;
    bool _is_request = false;
    uint16_t _header_count = 0;
    uint16_t _first[header_id_count] = {};

    // Lazy caches: bit i of _cached set once the i-th cache below is filled.
    mutable uint8_t _cached = 0;
    mutable field<via_value> _top_via;
    mutable field<name_addr_value> _from;
    mutable field<name_addr_value> _to;
    mutable field<std::string_view> _call_id;
    mutable field<cseq_value> _cseq;
    mutable field<contact_value> _contact; // first Contact (semantic_check, then the dialog)

    header_field _headers[max_headers];
};

/// Indexes `len` bytes at `data` into `out` (which is reset first). No allocation, no copy; the
/// bytes must outlive `out`. Reads only [data, data+len) (see sip/scan.h). Any thread; `out`
/// must not be in use by another thread.
parse_result parse(const char* data, size_t len, message& out,
                   parse_mode mode = parse_mode::datagram) noexcept;

} // namespace tandem::sip
