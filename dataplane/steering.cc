#include "dataplane/steering.h"

#include <cstring>

#include "sip/util/ids.h"

namespace tandem::dataplane {
namespace {

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

bool is_ws(char c) noexcept {
    return c == ' ' || c == '\t';
}
bool is_eol(char c) noexcept {
    return c == '\r' || c == '\n';
}

// The end of the line starting at `p`: at its CRLF or LF (at a CR only as the last byte), or
// `end`. memchr: header lines are long and the scan should cost little per byte.
const char* line_end(const char* p, const char* end) noexcept {
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* e = nl != nullptr ? nl : end;
    if (e > p && e[-1] == '\r') {
        --e;
    }
    return e;
}

// Skips one line terminator (CRLF, LF, or a lone CR) at `p`.
const char* skip_eol(const char* p, const char* end) noexcept {
    if (p < end && *p == '\r') {
        ++p;
    }
    if (p < end && *p == '\n') {
        ++p;
    }
    return p;
}

// The branch parameter of the first via-parm in v[0, size), which may span folded lines.
std::string_view find_branch(std::string_view v) noexcept {
    size_t i = 0;
    while (i < v.size()) {
        const char c = v[i];
        if (c == ',') {
            return {}; // the first via-parm ended without a branch
        }
        if (c != ';') {
            ++i;
            continue;
        }
        ++i;
        while (i < v.size() && (is_ws(v[i]) || is_eol(v[i]))) {
            ++i;
        }
        const size_t name_start = i;
        while (i < v.size() && v[i] != '=' && v[i] != ';' && v[i] != ',' && !is_ws(v[i]) &&
               !is_eol(v[i])) {
            ++i;
        }
        if (!iequals(v.substr(name_start, i - name_start), "branch")) {
            continue;
        }
        while (i < v.size() && is_ws(v[i])) {
            ++i;
        }
        if (i >= v.size() || v[i] != '=') {
            return {};
        }
        ++i;
        while (i < v.size() && is_ws(v[i])) {
            ++i;
        }
        const size_t value_start = i;
        while (i < v.size() && v[i] != ';' && v[i] != ',' && !is_ws(v[i]) && !is_eol(v[i])) {
            ++i;
        }
        return v.substr(value_start, i - value_start);
    }
    return {};
}

} // namespace

int32_t minted_branch_shard(std::string_view branch) noexcept {
    const auto shard = sip::util::id_generator::shard_of_branch(branch);
    return shard ? static_cast<int32_t>(*shard) : -1;
}

int32_t minted_call_id_shard(std::string_view call_id) noexcept {
    const auto shard = sip::util::id_generator::shard_of_call_id(call_id);
    return shard ? static_cast<int32_t>(*shard) : -1;
}

uint32_t call_id_hash(std::string_view call_id) noexcept {
    uint32_t h = 2166136261u;
    for (const char c : call_id) {
        h ^= static_cast<uint8_t>(c);
        h *= 16777619u;
    }
    return h;
}

steer_info scan_steering(const uint8_t* data, size_t len) noexcept {
    steer_info info;
    const char* p = reinterpret_cast<const char*>(data);
    const char* const end = p + len;

    const char* eol = line_end(p, end);
    constexpr std::string_view status_prefix = "SIP/2.0 ";
    info.is_response = static_cast<size_t>(eol - p) >= status_prefix.size() &&
                       std::string_view(p, status_prefix.size()) == status_prefix;
    p = skip_eol(eol, end);

    bool via_seen = false;
    bool call_id_seen = false;
    while (p < end && !is_eol(*p)) {
        // One header: the name, then the value up to the next line that is not a continuation.
        const char* name_start = p;
        eol = line_end(p, end);
        const char* colon = name_start;
        while (colon < eol && *colon != ':') {
            ++colon;
        }
        const char* name_end = colon;
        while (name_end > name_start && is_ws(name_end[-1])) {
            --name_end;
        }
        const char* value_start = colon < eol ? colon + 1 : eol;
        const char* value_end = eol;
        p = skip_eol(eol, end);
        while (p < end && is_ws(*p)) { // folded continuation lines (RFC 3261 s7.3.1)
            eol = line_end(p, end);
            value_end = eol;
            p = skip_eol(eol, end);
        }
        if (colon == eol) {
            continue; // not a header line; ignore it
        }
        const std::string_view name(name_start, static_cast<size_t>(name_end - name_start));
        if (!via_seen && (iequals(name, "via") || iequals(name, "v"))) {
            via_seen = true;
            info.branch = find_branch({value_start, static_cast<size_t>(value_end - value_start)});
            info.branch_shard = minted_branch_shard(info.branch);
        } else if (!call_id_seen && (iequals(name, "call-id") || iequals(name, "i"))) {
            call_id_seen = true;
            const char* v = value_start;
            while (v < value_end && (is_ws(*v) || is_eol(*v))) {
                ++v;
            }
            const char* ve = v;
            while (ve < value_end && !is_ws(*ve) && !is_eol(*ve)) {
                ++ve;
            }
            info.call_id = {v, static_cast<size_t>(ve - v)};
            info.call_id_shard = minted_call_id_shard(info.call_id);
        }
        if (via_seen && call_id_seen) {
            break;
        }
    }
    return info;
}

uint32_t owner_shard(const steer_info& info, uint32_t shard_count, uint32_t fallback) noexcept {
    if (shard_count <= 1) {
        return 0;
    }
    if (info.is_response && info.branch_shard >= 0 &&
        static_cast<uint32_t>(info.branch_shard) < shard_count) {
        return static_cast<uint32_t>(info.branch_shard);
    }
    if (info.call_id_shard >= 0 && static_cast<uint32_t>(info.call_id_shard) < shard_count) {
        return static_cast<uint32_t>(info.call_id_shard);
    }
    if (!info.call_id.empty()) {
        return call_id_hash(info.call_id) % shard_count;
    }
    return fallback < shard_count ? fallback : 0;
}

} // namespace tandem::dataplane
