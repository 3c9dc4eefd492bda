#pragma once

#include <string_view>

namespace tandem::control {

/// Sets up the process logger: one structured line per event on stderr,
/// `2026-11-22T02:30:00.123Z level=info msg key=value ...`. Call once, from main, before any
/// other thread starts. Unknown levels fall back to info.
void setup_logging(std::string_view level);

} // namespace tandem::control
