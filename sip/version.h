#pragma once

#include <string_view>

namespace tandem {

/// The product version, as `meson.build` declares it. Safe from any thread.
[[nodiscard]] std::string_view version() noexcept;

} // namespace tandem
