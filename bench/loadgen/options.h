#pragma once

// Command line of tandem-loadgen.

#include "bench/loadgen/engine.h"

#include <string>

namespace tandem::loadgen {

/// Everything the command line sets.
struct options {
    run_config run;
    double duration_s = 0; ///< 0: not given
    double timeout_s = 0;  ///< hard bound on the whole run; 0: derived
    double linger_s = 0.5; ///< callee: time to stay after the last call ended
    uint32_t progress_ms = 1000;
    std::string json_path;
};

/// Parses argv into `out`. Returns 0 to run, 1 when help was printed (exit 0), or -1 with a
/// message in `error` (exit 2).
int parse_options(int argc, char** argv, options& out, std::string& error);

/// "HOST:PORT" into `out`: an IPv4 dotted quad, "[IPv6]" in brackets, or "localhost"
/// (127.0.0.1). False if malformed.
bool parse_host_port(const std::string& text, net_addr& out);

/// The usage text.
const char* usage_text();

} // namespace tandem::loadgen
