#pragma once

#include "config/config.h"

namespace tandem::control {

/// Runs the daemon in the foreground: starts the dataplane shards and the REST API, then waits
/// for SIGINT or SIGTERM and stops everything cleanly. Must be called from the main thread
/// before any other thread exists (it blocks the stop signals for every thread it starts).
/// Returns the process exit code: 0 after a clean stop, 1 when start-up failed.
[[nodiscard]] int run_daemon(const config::config& cfg);

} // namespace tandem::control
