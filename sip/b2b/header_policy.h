#pragma once
// The header pass-through policy between the two legs of a call (default-deny, as UCMA's
// BackToBackCall pass-through header names). Built once by the control plane, then immutable:
// shards read it concurrently through a snapshot pointer, with no locks and no allocation.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sip/header_id.h"

namespace tandem::sip::b2b {

/// Which way a message crosses: a request relayed from one leg to the other, or a response.
enum class direction : uint8_t { request = 0, response = 1 };

/// What happens to one header when a message is relayed to the other leg.
enum class policy_action : uint8_t {
    drop,    ///< not copied (the default for anything the policy does not name)
    pass,    ///< copied byte-exact
    rename,  ///< copied with another name, same value
    rewrite, ///< copied with the same name and a fixed value
    owned,   ///< Tandem writes its own per leg (Via, Call-ID, CSeq, ...): never copied raw
    merged,  ///< Tandem writes its own, merged with what it supports (Allow, Supported)
};

/// Why a header never passes raw: Tandem owns it on each leg (RFC 3261 s16 would copy them in
/// a proxy; a B2BUA must not, or one network's topology leaks into the other).
[[nodiscard]] bool is_restricted(header_id id) noexcept;
/// P-Asserted-Identity, P-Preferred-Identity, History-Info (RFC 3325, RFC 7044): pass only
/// where the policy trusts the peer.
[[nodiscard]] bool is_identity(header_id id) noexcept;
/// Authorization, Proxy-Authorization, WWW-Authenticate, Proxy-Authenticate,
/// Authentication-Info: pass only with `transparent_auth`.
[[nodiscard]] bool is_auth(header_id id) noexcept;

struct header_rule {
    policy_action action = policy_action::drop;
    std::string_view new_name;  ///< rename: the name written on the other leg
    std::string_view new_value; ///< rewrite: the value written on the other leg
};

/// A compiled policy. Lookups are O(1): a table by header id for known headers, and a perfect
/// hash by lower-cased name for extension headers. Any thread may call the const members.
class header_policy {
public:
    /// The rule for a header of a relayed message. `name` is the header's name as written; it
    /// is only read for `header_id::unknown`.
    [[nodiscard]] const header_rule& rule(direction dir, header_id id,
                                          std::string_view name) const noexcept {
        // Known headers (nearly all of them) are one table load, inline in the caller's loop.
        const side& s = _sides[static_cast<int>(dir)];
        if (id != header_id::unknown) [[likely]]
            return s.known[static_cast<size_t>(id)];
        return extension_rule(s, name);
    }
    [[nodiscard]] bool trust_identity() const noexcept { return _trust_identity; }
    /// 401/407 from the far end are relayed as challenges to the caller only when set.
    [[nodiscard]] bool transparent_auth() const noexcept { return _transparent_auth; }
    [[nodiscard]] std::string_view name() const noexcept { return _name; }

private:
    friend class header_policy_builder;
    struct slot {
        std::string key; // lower-cased header name; empty: free
        header_rule rule;
    };
    struct side {
        std::array<header_rule, header_id_count> known{};
        header_rule unknown_default{};
        std::vector<slot> table; // perfect hash, size a power of two
        uint64_t seed = 0;
    };
    // rule() for a header whose name is not a known id: the perfect hash, else the default.
    [[nodiscard]] static const header_rule& extension_rule(const side& s,
                                                           std::string_view name) noexcept;

    std::string _name;
    bool _trust_identity = false;
    bool _transparent_auth = false;
    side _sides[2];
    std::vector<std::unique_ptr<std::string>> _strings; // owns new names/values
};

/// Builds a header_policy. Control-plane only: allocates, and reports errors as text.
class header_policy_builder {
public:
    explicit header_policy_builder(std::string name);

    /// Policy for headers it does not name: drop (default-deny) or pass.
    void set_default(direction dir, policy_action action);
    void set_trust_identity(bool trust) { _trust_identity = trust; }
    void set_transparent_auth(bool on) { _transparent_auth = on; }
    /// Adds a rule. Returns "" or an error: a restricted header cannot be passed, renamed or
    /// rewritten; a name cannot get two rules; a rename target must be a valid token and not a
    /// restricted header.
    [[nodiscard]] std::string add(direction dir, std::string_view header, policy_action action,
                                  std::string_view argument = {});
    /// Finishes the policy. The builder is left empty.
    [[nodiscard]] std::shared_ptr<const header_policy> build();

private:
    struct pending {
        std::string name;
        header_id id;
        header_rule rule;
        std::string argument;
    };
    std::string _name;
    bool _trust_identity = false;
    bool _transparent_auth = false;
    policy_action _default[2] = {policy_action::drop, policy_action::drop};
    std::vector<pending> _rules[2];
};

} // namespace tandem::sip::b2b
