#pragma once

// What Tandem would answer to a message that parsed: the checks the daemon runs before acting on
// it (RFC 3261 s8.2, s16.3, RFC 4475 s3.3), including a syntax check of every header that has a
// typed accessor in sip/message.h.

#include "sip/message.h"

namespace tandem::sip {

/// `code` 0: accept. Otherwise, for a request, the status code to answer with `reason` as its
/// phrase (400 "Missing Call-ID", 416, 420, 505, ...); for a response, the message must be
/// dropped and `code`/`reason` say why (for logs and counters).
struct semantic_verdict {
    int code = 0;
    const char* reason = ""; ///< static string
    [[nodiscard]] bool ok() const noexcept { return code == 0; }
};

/// Checks, in this order: SIP version (505); for requests the Request-URI (400 bad, 400 with
/// headers, 416 scheme not sip/sips/tel); the mandatory headers Via, From, To, Call-ID, CSeq
/// (400 "Missing ..."; Max-Forwards may be absent, RFC 2543 peers, RFC 4475 s3.4.1); single-value
/// headers given twice (400 "Multiple ..."); every typed header's syntax (400 "bad Via", ...,
/// and "bad Date"); CSeq method against the request method (400, or 501 for an unknown method);
/// a Via branch that is only the magic cookie (400); Max-Forwards 0 (483: the caller answers
/// OPTIONS itself first if it wants to); Require with option tags Tandem does not support
/// (420); a body type Tandem does not handle (415); an INVITE whose Accept excludes SDP (406);
/// REGISTER with non-SIP To/From/Contact (400) or an Authorization scheme other than Digest
/// (401). Responses: more than one Via (RFC 3261 s8.1.3.3: drop). Pure function; any thread
/// (it fills `m`'s accessor caches).
[[nodiscard]] semantic_verdict semantic_check(const message& m) noexcept;

/// Option tags Tandem implements (for Require checks and the Supported header it sends).
[[nodiscard]] bool option_tag_supported(std::string_view tag) noexcept;

} // namespace tandem::sip
