#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tandem::sip {

/// Every header Tandem knows by name. `unknown` is any other (extension) header: it is still
/// indexed, found by name with `message::find(std::string_view)`. Values are stable (they size
/// tables in the header policy); add new ids before `count_`.
enum class header_id : uint8_t {
    unknown = 0,
    via,
    from,
    to,
    call_id,
    cseq,
    max_forwards,
    contact,
    content_length,
    content_type,
    route,
    record_route,
    allow,
    supported,
    require,
    proxy_require,
    unsupported,
    rseq,
    rack,
    reason,
    refer_to,
    referred_by,
    replaces,
    session_expires,
    min_se,
    expires,
    min_expires,
    p_asserted_identity,
    p_preferred_identity,
    privacy,
    history_info,
    subject,
    accept,
    accept_encoding,
    accept_language,
    accept_contact,
    reject_contact,
    request_disposition,
    identity,
    identity_info,
    allow_events,
    event,
    subscription_state,
    content_encoding,
    content_language,
    content_disposition,
    authorization,
    proxy_authorization,
    www_authenticate,
    proxy_authenticate,
    authentication_info,
    date,
    user_agent,
    server,
    organization,
    priority,
    timestamp,
    warning,
    error_info,
    alert_info,
    call_info,
    in_reply_to,
    reply_to,
    mime_version,
    retry_after,
    path,
    service_route,
    sip_etag,
    sip_if_match,
    target_dialog,
    count_,
};

/// Number of ids, for tables indexed by `header_id`.
inline constexpr size_t header_id_count = static_cast<size_t>(header_id::count_);

/// Identifies a header name, long or compact form (RFC 3261 s7.3.3 and extensions: i m e l f t
/// v s k c o r b u x y a j d n), ASCII case-insensitively. Never allocates; any thread.
[[nodiscard]] header_id lookup_header(const char* name, size_t len) noexcept;
[[nodiscard]] inline header_id lookup_header(std::string_view name) noexcept {
    return lookup_header(name.data(), name.size());
}

/// Longest known header name; `lookup_header_wide` reads this many bytes.
inline constexpr size_t header_name_max = 24;

/// The same answer as `lookup_header(name, len)` for a name made of token characters (RFC 3261
/// s25.1; the parser's header names are), for the parser's hot loop: it reads the whole
/// [name, name + header_name_max) range (the caller guarantees those bytes are readable; only
/// the first `len` decide) and compares three case-folded words instead of bytes. On any other
/// bytes a known id still means each byte is that name's letter in either case or '-', except
/// that a CR may stand where the name has '-' (callers that rule out CR get an exact answer).
[[nodiscard]] header_id lookup_header_wide(const char* name, size_t len) noexcept;

/// Bytes `lookup_header_before_colon` reads.
inline constexpr size_t header_name_window = 32;

/// For the parser's header lines: finds the first ':' in [p, p + header_name_window) (the caller
/// guarantees those bytes are readable) and, when the bytes before it are a known header name
/// in any letter case, returns its id and sets `name_len`; else `unknown` (the caller then scans
/// the name itself). A known id proves the name is a token that ends at the ':' (known names are
/// letters and '-', and a CR before the ':' gives `unknown`).
[[nodiscard]] header_id lookup_header_before_colon(const char* p, size_t& name_len) noexcept;

/// The canonical long name ("Call-ID", "CSeq", ...); "" for `unknown`.
[[nodiscard]] std::string_view header_name(header_id id) noexcept;

/// Indexed by header_id: true for headers whose value is a comma-separated list that the parser
/// splits into one index slot per element. Read-only after static initialisation.
extern const std::array<bool, header_id_count> k_header_is_list;

/// True for headers whose value is a comma-separated list that the parser splits into one
/// index slot per element (Via, Contact, Route, Record-Route, Allow, Supported, Require, ...).
[[nodiscard]] inline bool header_is_list(header_id id) noexcept {
    return k_header_is_list[static_cast<size_t>(id)];
}

} // namespace tandem::sip
