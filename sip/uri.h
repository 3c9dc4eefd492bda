#pragma once

// SIP, SIPS (RFC 3261 s19.1, s25.1) and tel (RFC 3966) URIs: a zero-copy view, and the
// RFC 3261 s19.1.4 comparison done by walking both URIs with %-escapes decoded on the fly (no
// allocation, no copy).

#include <cstdint>
#include <string_view>

namespace tandem::sip {

enum class uri_scheme : uint8_t { sip, sips, tel, other };
enum class host_kind : uint8_t { none, hostname, ipv4, ipv6 };

/// A parsed URI. Views point into the parsed text, which must outlive this struct.
struct uri {
    uri_scheme scheme = uri_scheme::other;
    std::string_view scheme_name; ///< as written, without ':'
    std::string_view user;        ///< sip/sips userinfo user (escaped form); tel: the number
    std::string_view password;    ///< "" when absent
    bool has_user = false;
    bool has_password = false;
    std::string_view host; ///< IPv6 references keep their brackets
    host_kind host_type = host_kind::none;
    uint16_t port = 0;
    bool has_port = false;
    std::string_view params;  ///< raw uri-parameters after the first ';' (that ';' excluded)
    std::string_view headers; ///< raw headers after '?' ('?' excluded)
    bool has_headers = false;
    /// For `other` schemes: everything after "scheme:".
    std::string_view opaque;
};

/// Parses `text` (no surrounding LWS or < >). sip/sips/tel are checked against their grammar;
/// any other scheme only needs `scheme ":" 1*char` and fills `opaque`. Returns false on bad
/// syntax. No allocation; any thread.
[[nodiscard]] bool parse_uri(std::string_view text, uri& out) noexcept;

namespace detail {
/// parse_uri without its one-walk path for the common sip: shape: the full grammar, which
/// gives the same result. Exposed for the differential test, not for production callers.
[[nodiscard]] bool parse_uri_reference(std::string_view text, uri& out) noexcept;
} // namespace detail

/// parse_uri's verdict on `text`, keeping only the scheme and whether the URI has headers, for
/// callers that need no views (semantic_check's Request-URI check): the common sip: shape is
/// walked without filling a `uri`. `scheme` and `has_headers` are unspecified on false.
[[nodiscard]] bool parse_uri_scheme(std::string_view text, uri_scheme& scheme,
                                    bool& has_headers) noexcept;

/// Finds uri-parameter `name` (case-insensitive, escapes decoded) in `params` (uri::params).
/// Sets `value` (raw, "" for a flag) and returns true when present.
[[nodiscard]] bool find_uri_param(std::string_view params, std::string_view name,
                                  std::string_view& value) noexcept;

/// RFC 3261 s19.1.4 equivalence: same scheme; user/password compared byte-wise after
/// unescaping; host case-insensitive; port present in both and equal, or absent in both;
/// user, ttl, method, maddr and transport params must match when either side has them, other
/// params only when both have them (case-insensitive); headers must all match. tel URIs compare
/// numbers ignoring visual separators (RFC 3966 s4), params as above. Other schemes compare
/// byte-wise after unescaping. Both must have parsed.
[[nodiscard]] bool uri_equal(const uri& a, const uri& b) noexcept;

/// Compares two escaped strings after decoding %HH on the fly; `nocase` folds ASCII case.
[[nodiscard]] bool unescaped_equal(std::string_view a, std::string_view b, bool nocase) noexcept;

} // namespace tandem::sip
