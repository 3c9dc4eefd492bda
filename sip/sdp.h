#pragma once

// SDP (RFC 4566) as a zero-copy view, and the SBC edits written once into a caller buffer.
//
// `sdp_view::parse` splits a body into its session section and up to `sdp_max_media` media
// sections, records every line as offsets into the caller's bytes and decodes the lines an SBC
// needs (o=, c=, m=, b=, a=). It never allocates and never copies: every string_view it hands
// out points into the parsed body, which must outlive the view. `sdp_write` walks a parsed view
// plus an `sdp_edits` list and writes the edited SDP into a caller buffer in one pass.
//
// Both are pure functions of their inputs: any core may call them on its own objects.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace tandem::sip {

/// Fixed capacities. A body that needs more is rejected with `sdp_status::over_capacity`.
inline constexpr std::size_t sdp_max_media = 16;      ///< m= sections per body
inline constexpr std::size_t sdp_max_attributes = 64; ///< a= lines per section
inline constexpr std::size_t sdp_max_formats = 32;    ///< formats on one m= line
inline constexpr std::size_t sdp_max_bandwidths = 4;  ///< b= lines per section
inline constexpr std::size_t sdp_max_lines = 512;     ///< lines in the whole body
inline constexpr std::size_t sdp_max_body = 0xffff;   ///< body bytes (one UDP datagram)

enum class sdp_status : std::uint8_t {
    ok,
    invalid,       ///< not well-formed SDP; `reason` and `offset` say where
    over_capacity, ///< well-formed so far, but more lines/media/formats than the view holds
    overflow,      ///< sdp_write: the output buffer is too small (nothing usable was written)
    bad_edit,      ///< sdp_write: the edit list itself is unusable (e.g. an empty address)
};

/// Result of `sdp_view::parse`. `reason` is a static string; `offset` is the byte offset in the
/// body where the problem was found (0 when ok).
struct [[nodiscard]] sdp_result {
    sdp_status status = sdp_status::ok;
    const char* reason = "";
    std::uint32_t offset = 0;

    [[nodiscard]] bool ok() const noexcept { return status == sdp_status::ok; }
};

enum class sdp_addrtype : std::uint8_t { other, ip4, ip6 };

/// a=sendrecv / sendonly / recvonly / inactive. `none`: the section carries none of them.
enum class sdp_direction : std::uint8_t { none, sendrecv, sendonly, recvonly, inactive };

/// "sendrecv", ...; "" for none.
[[nodiscard]] std::string_view to_string(sdp_direction d) noexcept;

/// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
struct sdp_origin {
    std::string_view username;
    std::string_view sess_id;
    std::uint64_t sess_version = 0;
    std::string_view sess_version_text;
    std::string_view nettype;
    std::string_view addrtype_text;
    sdp_addrtype addrtype = sdp_addrtype::other;
    std::string_view address;
};

/// c=<nettype> <addrtype> <connection-address>. `address` stops before any "/ttl/count"
/// suffix, which is kept in `suffix` (with its leading '/').
struct sdp_connection {
    std::string_view nettype;
    std::string_view addrtype_text;
    sdp_addrtype addrtype = sdp_addrtype::other;
    std::string_view address;
    std::string_view suffix;
};

/// b=<bwtype>:<bandwidth>
struct sdp_bandwidth {
    std::string_view type;
    std::uint32_t value = 0;
};

/// a=<name>[:<value>]. `has_value` tells "a=x:" (empty value) from "a=x".
struct sdp_attribute {
    std::string_view name;
    std::string_view value;
    bool has_value = false;
};

/// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
struct sdp_rtpmap {
    std::uint8_t payload_type = 0;
    std::string_view encoding_name;
    std::uint32_t clock_rate = 0;
    std::string_view encoding_params;
};

/// One line as written: its type letter and its value (after "x=", before the line end).
struct sdp_line {
    char type = 0;
    std::string_view value;
};

/// The parse: offsets into one body. Copyable, about 8.5 KiB; keep one per shard and re-parse into
/// it. Section 0 is the session level; sections 1..media_count() are the m= sections, and media
/// index `i` (0-based) is section `i + 1`.
class sdp_view {
public:
    /// Parses `body` (CRLF or bare LF line ends; trailing empty lines after the last line are
    /// accepted). Rules: v=0 first, o= second, every line `<letter>=<value>` with a known letter
    /// (v o s i u e p c b t r z k a m), media sections hold only i c b k a lines, no NUL or lone
    /// CR, at most one c= per section. On failure the view is empty (no sections) and the result
    /// says why and where. Reads only the bytes of `body` (no padding needed). Any thread.
    sdp_result parse(std::string_view body) noexcept;

    [[nodiscard]] std::string_view body() const noexcept { return {_base, _size}; }

    [[nodiscard]] const sdp_origin& origin() const noexcept { return _origin; }
    [[nodiscard]] std::string_view session_name() const noexcept;

    [[nodiscard]] std::size_t media_count() const noexcept { return _media_count; }
    /// m= type ("audio", "video", ...), port, port count (1 when absent), proto, format list.
    [[nodiscard]] std::string_view media_type(std::size_t media) const noexcept;
    [[nodiscard]] std::uint16_t media_port(std::size_t media) const noexcept;
    [[nodiscard]] std::uint16_t media_port_count(std::size_t media) const noexcept;
    [[nodiscard]] std::string_view media_proto(std::size_t media) const noexcept;
    /// True when the proto carries RTP payload types (RTP/AVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF...).
    [[nodiscard]] bool media_is_rtp(std::size_t media) const noexcept;
    [[nodiscard]] std::size_t format_count(std::size_t media) const noexcept;
    [[nodiscard]] std::string_view format(std::size_t media, std::size_t i) const noexcept;

    /// c= of the session (`session_connection`) or of one media section (`media_connection`,
    /// its own line only). `effective_connection` is the media's c= or else the session's.
    [[nodiscard]] std::optional<sdp_connection> session_connection() const noexcept;
    [[nodiscard]] std::optional<sdp_connection> media_connection(std::size_t media) const noexcept;
    [[nodiscard]] std::optional<sdp_connection>
    effective_connection(std::size_t media) const noexcept;

    /// Section-indexed accessors (0 = session, 1.. = media): b= lines, a= lines and all lines.
    [[nodiscard]] std::size_t section_count() const noexcept { return _media_count + 1; }
    [[nodiscard]] std::size_t bandwidth_count(std::size_t section) const noexcept;
    [[nodiscard]] sdp_bandwidth bandwidth(std::size_t section, std::size_t i) const noexcept;
    [[nodiscard]] std::size_t attribute_count(std::size_t section) const noexcept;
    [[nodiscard]] sdp_attribute attribute(std::size_t section, std::size_t i) const noexcept;
    /// First a= line named `name` (exact, case-sensitive as RFC 4566 att-field), if any.
    [[nodiscard]] std::optional<sdp_attribute> find_attribute(std::size_t section,
                                                              std::string_view name) const noexcept;
    [[nodiscard]] std::size_t line_count(std::size_t section) const noexcept;
    [[nodiscard]] sdp_line line(std::size_t section, std::size_t i) const noexcept;

    /// Decoded a=rtpmap / a=fmtp parameters for payload type `pt` of media `media`.
    [[nodiscard]] std::optional<sdp_rtpmap> rtpmap(std::size_t media,
                                                   std::uint8_t pt) const noexcept;
    [[nodiscard]] std::optional<std::string_view> fmtp(std::size_t media,
                                                       std::uint8_t pt) const noexcept;
    /// Encoding name of `pt`: from its rtpmap, else the RFC 3551 static name (PCMU, PCMA, G722,
    /// G729, ...), else "".
    [[nodiscard]] std::string_view encoding_name(std::size_t media, std::uint8_t pt) const noexcept;

    /// The section's own direction attribute (last one wins), `none` if it has none.
    [[nodiscard]] sdp_direction direction(std::size_t section) const noexcept;
    /// Media direction per RFC 3264: the media's, else the session's, else sendrecv.
    [[nodiscard]] sdp_direction effective_direction(std::size_t media) const noexcept;

    // Internals shared with sdp_write (sdp.cc); not part of the contract.
    struct line_rec {
        std::uint32_t start;     // offset of the type letter
        std::uint16_t value_len; // bytes after "x=" up to the line end
        std::uint8_t eol_len;    // 0 (last line, no terminator), 1 (LF) or 2 (CRLF)
        char type;
    };
    struct section_rec {
        std::uint16_t first_line = 0; // the m= line for media sections
        std::uint16_t end_line = 0;   // one past the last line
        std::int16_t c_line = -1;     // line index of its c=, or -1
        std::uint8_t attr_count = 0;
        std::uint8_t bw_count = 0;
        std::array<std::uint16_t, sdp_max_attributes> attrs{};
        std::array<std::uint16_t, sdp_max_bandwidths> bws{};
    };
    struct media_rec {
        std::uint16_t port = 0;
        std::uint16_t port_count = 1;
        bool has_port_count = false;
        std::uint8_t format_count = 0;
        std::uint16_t type_len = 0;
        std::uint16_t port_off = 0; // offsets relative to the m= value
        std::uint16_t port_len = 0; // the port digits only (not "/count")
        std::uint16_t proto_off = 0;
        std::uint16_t proto_len = 0;
        std::array<std::uint16_t, sdp_max_formats> fmt_off{};
        std::array<std::uint8_t, sdp_max_formats> fmt_len{};
    };
    [[nodiscard]] std::string_view line_value(std::size_t line) const noexcept;
    [[nodiscard]] const line_rec& raw_line(std::size_t line) const noexcept { return _lines[line]; }
    [[nodiscard]] const section_rec& raw_section(std::size_t s) const noexcept {
        return _sections[s];
    }
    [[nodiscard]] const media_rec& raw_media(std::size_t m) const noexcept { return _media[m]; }
    [[nodiscard]] std::size_t total_lines() const noexcept { return _line_count; }
    [[nodiscard]] std::uint32_t origin_line() const noexcept { return _origin_line; }
    [[nodiscard]] std::uint32_t content_end() const noexcept { return _content_end; }

private:
    sdp_result fail(sdp_status s, const char* reason, std::size_t offset) noexcept;
    static void reset_section(section_rec& s, std::size_t first_line) noexcept;

    const char* _base = nullptr;
    std::uint32_t _size = 0;
    std::uint32_t _content_end = 0; // end of the last line; trailing blank lines follow
    std::uint16_t _line_count = 0;
    std::uint16_t _media_count = 0;
    std::uint32_t _origin_line = 0;
    sdp_origin _origin{};
    std::array<line_rec, sdp_max_lines> _lines{};
    std::array<section_rec, sdp_max_media + 1> _sections{};
    std::array<media_rec, sdp_max_media> _media{};
};

/// Per-media edits. Defaults change nothing.
struct sdp_media_edit {
    /// New c= address for this media section; written as "c=IN IP4|IP6 <address>" replacing the
    /// section's c= (its "/ttl" suffix is dropped) or, if the section has none, inserted after
    /// its m= (and i=) line.
    std::string_view connection_address;
    sdp_addrtype connection_addrtype = sdp_addrtype::ip4;
    /// New m= port (the "/count" suffix is kept); -1 keeps it.
    std::int32_t port = -1;
    /// New port for an existing a=rtcp line (RFC 3605); its address, if any, becomes this media's
    /// new connection address when one is set. -1 keeps it.
    std::int32_t rtcp_port = -1;
    /// Direction for this media section; `none` falls back to `sdp_edits::direction`.
    sdp_direction direction = sdp_direction::none;
};

/// Everything `sdp_write` can change. Spans and views are borrowed for the call only.
struct sdp_edits {
    /// Session-level c= address (replaced, or inserted before the first b=/t= line).
    std::string_view session_connection_address;
    sdp_addrtype session_connection_addrtype = sdp_addrtype::ip4;
    /// o= unicast address (and its addrtype) for topology hiding; empty keeps it.
    std::string_view origin_address;
    sdp_addrtype origin_addrtype = sdp_addrtype::ip4;
    /// Increment o= sess-version (RFC 3264 s8: a changed offer carries a higher version).
    bool bump_version = false;
    /// Edits for media 0..n-1; media past `media.size()` are left alone.
    std::span<const sdp_media_edit> media;
    /// Codec filter on RTP media: when `filter_codecs`, a format stays only if its payload type
    /// is in `keep_payload_types` or its encoding name (rtpmap, or the static RFC 3551 name)
    /// matches one of `keep_encodings` case-insensitively. Dropped formats leave the m= list and
    /// lose their rtpmap/fmtp/rtcp-fb lines. A media section left with no format is rejected
    /// per RFC 3264 s6: its port becomes 0 and it keeps only its first original format.
    bool filter_codecs = false;
    std::span<const std::uint8_t> keep_payload_types;
    std::span<const std::string_view> keep_encodings;
    /// a= lines with these names are dropped from every section.
    std::span<const std::string_view> drop_attributes;
    /// Direction for every media section (session-level direction lines are then dropped).
    /// Existing direction lines are replaced in place; a section without one gets it appended.
    sdp_direction direction = sdp_direction::none;
};

struct [[nodiscard]] sdp_write_result {
    sdp_status status = sdp_status::ok;
    /// Bytes written when ok; on overflow, the bytes the output would need.
    std::size_t length = 0;

    [[nodiscard]] bool ok() const noexcept { return status == sdp_status::ok; }
};

/// Writes `view` with `edits` applied into out[0, capacity). Returns the length written, or
/// `overflow` with the size that would be needed (the buffer's contents are then unspecified), or
/// `bad_edit`. Unedited lines are copied byte for byte with their own line ends; new lines use the
/// body's first line end. `out` must not overlap the parsed body. No allocation.
sdp_write_result sdp_write(const sdp_view& view, const sdp_edits& edits, char* out,
                           std::size_t capacity) noexcept;

} // namespace tandem::sip
