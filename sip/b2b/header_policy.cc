#include "sip/b2b/header_policy.h"

#include <bit>

namespace tandem::sip::b2b {

namespace {

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// FNV-1a over the lower-cased name, mixed with a seed chosen at build time so that the table
// has no collisions (a perfect hash for the names the policy lists).
uint64_t name_hash(std::string_view name, uint64_t seed) noexcept {
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (char c : name) {
        h ^= static_cast<uint8_t>(lower(c));
        h *= 0x100000001b3ull;
    }
    h ^= h >> 29;
    return h;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != b[i]) return false; // b is lower-cased
    }
    return true;
}

bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

// Error text, built by appending (GCC 12 at -O3 warns falsely about operator+ chains).
std::string concat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (auto p : parts)
        out.append(p);
    return out;
}

} // namespace

bool is_restricted(header_id id) noexcept {
    switch (id) {
    case header_id::via:
    case header_id::call_id:
    case header_id::from:
    case header_id::to:
    case header_id::cseq:
    case header_id::contact:
    case header_id::record_route:
    case header_id::route:
    case header_id::max_forwards:
    case header_id::rseq:
    case header_id::rack:
    case header_id::content_length:
    case header_id::content_type:
    case header_id::refer_to:
    case header_id::referred_by:
    case header_id::replaces:
    // Option tags are negotiated per leg (100rel, timer): relaying them raw would promise what
    // the other leg never agreed to.
    case header_id::require:
    case header_id::proxy_require:
    case header_id::unsupported:
        return true;
    default:
        return false;
    }
}

bool is_identity(header_id id) noexcept {
    return id == header_id::p_asserted_identity || id == header_id::p_preferred_identity ||
           id == header_id::history_info;
}

bool is_auth(header_id id) noexcept {
    return id == header_id::authorization || id == header_id::proxy_authorization ||
           id == header_id::www_authenticate || id == header_id::proxy_authenticate ||
           id == header_id::authentication_info;
}

const header_rule& header_policy::extension_rule(const side& s, std::string_view name) noexcept {
    if (!s.table.empty()) {
        const slot& sl = s.table[name_hash(name, s.seed) & (s.table.size() - 1)];
        if (!sl.key.empty() && iequals(name, sl.key)) return sl.rule;
    }
    return s.unknown_default;
}

header_policy_builder::header_policy_builder(std::string name) : _name(std::move(name)) {}

void header_policy_builder::set_default(direction dir, policy_action action) {
    _default[static_cast<int>(dir)] = action;
}

std::string header_policy_builder::add(direction dir, std::string_view header, policy_action action,
                                       std::string_view argument) {
    if (!is_token(header)) return concat({"'", header, "' is not a header name"});
    header_id id = lookup_header(header);
    if (is_restricted(id)) {
        return concat({"'", header, "' never passes raw: Tandem writes its own on each leg"});
    }
    if (id == header_id::allow || id == header_id::supported) {
        return concat({"'", header, "' is merged with what Tandem supports: it cannot be listed"});
    }
    if (is_identity(id) && action != policy_action::drop) {
        return concat(
            {"'", header, "' is an identity header: it passes only with [identity] trust = true"});
    }
    if (is_auth(id) && action != policy_action::drop) {
        return concat({"'", header, "' passes only with [auth] transparent = true"});
    }
    if (action == policy_action::rename) {
        if (!is_token(argument))
            return concat({"rename target '", argument, "' is not a header name"});
        header_id target = lookup_header(argument);
        if (is_restricted(target) || target == header_id::allow || target == header_id::supported ||
            is_identity(target)) {
            return concat({"cannot rename to '", argument, "': Tandem owns that header"});
        }
    }
    if (action == policy_action::rewrite) {
        for (char c : argument) {
            if (c == '\r' || c == '\n' || c == '\0')
                return concat({"rewrite value of '", header, "' contains a line break"});
        }
    }
    std::string key;
    for (char c : header)
        key.push_back(lower(c));
    for (const auto& p : _rules[static_cast<int>(dir)]) {
        bool same = (id != header_id::unknown) ? p.id == id : p.name == key;
        if (same) return concat({"'", header, "' already has a rule"});
    }
    _rules[static_cast<int>(dir)].push_back(
        {std::move(key), id, header_rule{action, {}, {}}, std::string(argument)});
    return {};
}

std::shared_ptr<const header_policy> header_policy_builder::build() {
    auto p = std::make_shared<header_policy>();
    p->_name = _name;
    p->_trust_identity = _trust_identity;
    p->_transparent_auth = _transparent_auth;
    for (int d = 0; d < 2; ++d) {
        auto& s = p->_sides[d];
        header_rule fallback{_default[d], {}, {}};
        s.unknown_default = fallback;
        for (size_t i = 0; i < header_id_count; ++i) {
            auto id = static_cast<header_id>(i);
            header_rule r = fallback;
            if (is_restricted(id)) r.action = policy_action::owned;
            if (id == header_id::allow || id == header_id::supported)
                r.action = policy_action::merged;
            if (is_identity(id))
                r.action = _trust_identity ? policy_action::pass : policy_action::drop;
            if (is_auth(id))
                r.action = _transparent_auth ? policy_action::pass : policy_action::drop;
            s.known[i] = r;
        }
        std::vector<pending*> unknown;
        for (auto& pr : _rules[d]) {
            if (pr.rule.action == policy_action::rename ||
                pr.rule.action == policy_action::rewrite) {
                p->_strings.push_back(std::make_unique<std::string>(pr.argument));
                std::string_view arg = *p->_strings.back();
                (pr.rule.action == policy_action::rename ? pr.rule.new_name : pr.rule.new_value) =
                    arg;
            }
            if (pr.id != header_id::unknown) {
                s.known[static_cast<size_t>(pr.id)] = pr.rule;
            } else {
                unknown.push_back(&pr);
            }
        }
        if (unknown.empty()) continue;
        // Search for a seed that places every listed name in its own slot; with a table at
        // least twice the number of names this takes a handful of tries.
        size_t size = std::bit_ceil(unknown.size() * 2);
        for (uint64_t seed = 1;; ++seed) {
            if (seed % 64 == 0) size *= 2;
            std::vector<header_policy::slot> table(size);
            bool ok = true;
            for (auto* pr : unknown) {
                header_policy::slot& sl = table[name_hash(pr->name, seed) & (size - 1)];
                if (!sl.key.empty()) {
                    ok = false;
                    break;
                }
                sl.key = pr->name;
                sl.rule = pr->rule;
            }
            if (ok) {
                s.table = std::move(table);
                s.seed = seed;
                break;
            }
        }
    }
    _rules[0].clear();
    _rules[1].clear();
    return p;
}

} // namespace tandem::sip::b2b
