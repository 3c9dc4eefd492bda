#pragma once
// Loads and validates config/tandem.toml. Control-plane code: throws config_error.

#include <stdexcept>
#include <string>
#include <string_view>

#include "config/config.h"

namespace tandem::config {

/// A configuration that cannot be used. what() is `FILE:LINE:COL: message`, naming the key.
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct load_options {
    /// Check that the files the configuration names (scenario, policy folder) exist.
    bool check_files = true;
};

/// Parses and validates a configuration file. Unknown sections and keys, wrong types, bad
/// addresses and ports, and missing files are errors. Relative paths inside the file are taken
/// relative to the working directory.
[[nodiscard]] config load_file(const std::string& path, const load_options& opts = {});

/// The same for text already in memory; `source_name` is used in error messages.
[[nodiscard]] config load_string(std::string_view text, const std::string& source_name,
                                 const load_options& opts = {});

/// The default configuration (config/tandem.toml), embedded into the binary at build time.
[[nodiscard]] std::string_view default_config();

/// Parses `udp:127.0.0.1:5060` or `udp:[::1]:5060`. Throws std::invalid_argument with a reason.
[[nodiscard]] listen_address parse_listen_address(std::string_view text);

/// Parses `127.0.0.1:8080` or `[::1]:8080` into host and port. Throws std::invalid_argument.
void parse_host_port(std::string_view text, std::string& host, uint16_t& port);

} // namespace tandem::config
