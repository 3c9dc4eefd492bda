#pragma once
// A small result type for start-up paths (bind, EAL, port setup). The poll loop itself never
// fails: it counts and drops.

#include <string>
#include <utility>

namespace tandem::dataplane {

/// Success, or a failure with a message for the operator. Not used on the hot path.
struct [[nodiscard]] status {
    bool ok = true;
    std::string message;

    [[nodiscard]] static status success() { return {}; }
    [[nodiscard]] static status failure(std::string msg) { return {false, std::move(msg)}; }
    explicit operator bool() const noexcept { return ok; }
};

} // namespace tandem::dataplane
