#pragma once
// Loads header pass-through policies from TOML files (config/policies/NAME.toml) and compiles
// them into immutable sip::b2b::header_policy objects. Control-plane code: throws.

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sip/b2b/header_policy.h"

namespace tandem::control {

/// A policy that cannot be compiled. what() is `FILE:LINE:COL: message`.
class policy_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Compiles one policy from TOML text. The policy is named `name`; `source` is used in errors.
[[nodiscard]] std::shared_ptr<const sip::b2b::header_policy>
compile_policy(std::string_view text, const std::string& name, const std::string& source);

/// Compiles every `*.toml` in `dir`, keyed by file stem. Throws on the first error.
[[nodiscard]] std::map<std::string, std::shared_ptr<const sip::b2b::header_policy>>
load_policies(const std::string& dir);

} // namespace tandem::control
