#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace tandem::control {

/// `tandem parse [FILE...]`: parses each file (stdin when `files` is empty) as one SIP datagram
/// and prints one line per message to `out`: `ok {json}` with method (or status), request_uri,
/// call_id, cseq, via_branch, from_tag, to_tag, header_count, body_length, and "would_reject":
/// "400 Missing Call-ID" when sip::semantic_check() refuses it; or `error: <reason> at byte N`
/// (`error: cannot read <file>` for a file that cannot be read). Returns 1 if any message failed
/// to parse or could not be read, 0 otherwise. Control-plane code: allocates, may throw
/// std::bad_alloc.
int run_parse_command(const std::vector<std::string>& files, std::istream& in, std::ostream& out);

} // namespace tandem::control
