#include "control/daemon.h"

#include <csignal>
#include <chrono>
#include <pthread.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "control/api_server.h"
#include "sip/version.h"

namespace tandem::control {

namespace {

nlohmann::json config_summary(const config::config& cfg) {
    nlohmann::json listen = nlohmann::json::array();
    for (const auto& l : cfg.sip.listen) listen.push_back(l.to_string());
    return {
        {"source", cfg.source},
        {"sip_listen", listen},
        {"backend", cfg.dataplane.backend == config::backend_kind::dpdk ? "dpdk" : "socket"},
        {"workers", cfg.dataplane.workers},
        {"scenario", cfg.scenario.file},
        {"default_target", cfg.routing.default_target},
        {"max_calls", cfg.limits.max_calls},
        {"max_cps", cfg.limits.max_cps},
    };
}

} // namespace

int run_daemon(const config::config& cfg) {
    // Block the stop signals before any thread starts, so that every thread inherits the mask
    // and only sigwait below sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    const auto started = std::chrono::steady_clock::now();
    spdlog::info("starting version={} config={} backend={} workers={}", tandem::version(),
                 cfg.source, cfg.dataplane.backend == config::backend_kind::dpdk ? "dpdk" : "socket",
                 cfg.dataplane.workers);

    api_sources sources;
    sources.status = [&cfg, started] {
        auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::steady_clock::now() - started);
        return nlohmann::json{{"version", std::string(tandem::version())},
                              {"uptime_s", uptime.count()},
                              {"config", config_summary(cfg)}};
    };
    sources.stats = [] { return nlohmann::json{{"calls_active", 0}}; };

    api_server api(cfg.api.host, cfg.api.port, cfg.api.token, std::move(sources));
    try {
        api.start();
    } catch (const std::exception& e) {
        spdlog::error("start failed: {}", e.what());
        return 1;
    }
    for (const auto& l : cfg.sip.listen) spdlog::info("sip listening {}", l.to_string());
    spdlog::info("ready: stop with Ctrl-C or SIGTERM");

    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("stopping signal={}", sig == SIGINT ? "SIGINT" : "SIGTERM");
    api.stop();
    spdlog::info("stopped");
    return 0;
}

} // namespace tandem::control
