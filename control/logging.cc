#include "control/logging.h"

#include <memory>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace tandem::control {

void setup_logging(std::string_view level) {
    auto logger = spdlog::stderr_logger_mt("tandem");
    // UTC timestamps so lines from several nodes sort together.
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
    auto lvl = spdlog::level::from_str(std::string(level));
    logger->set_level(lvl == spdlog::level::off && level != "off" ? spdlog::level::info : lvl);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(std::move(logger));
}

} // namespace tandem::control
