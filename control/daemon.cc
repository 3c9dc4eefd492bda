#include "control/daemon.h"

#include <chrono>
#include <csignal>
#include <map>
#include <pthread.h>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "control/api_server.h"
#include "control/policy_loader.h"
#include "dataplane/b2b_handler.h"
#include "dataplane/runtime.h"
#include "sip/version.h"

namespace tandem::control {

namespace {

nlohmann::json config_summary(const config::config& cfg) {
    nlohmann::json listen = nlohmann::json::array();
    for (const auto& l : cfg.sip.listen)
        listen.push_back(l.to_string());
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
                 cfg.source,
                 cfg.dataplane.backend == config::backend_kind::dpdk ? "dpdk" : "socket",
                 cfg.dataplane.workers);

    // Header policies are compiled before anything starts: a bad one stops the start.
    dataplane::b2b_shared shared;
    shared.cfg = &cfg;
    try {
        auto policies = load_policies(cfg.policy.dir);
        auto it = policies.find(cfg.policy.default_policy);
        if (it == policies.end()) {
            spdlog::error("start failed: no policy '{}' in {}", cfg.policy.default_policy,
                          cfg.policy.dir);
            return 1;
        }
        shared.policy = it->second;
    } catch (const std::exception& e) {
        spdlog::error("start failed: {}", e.what());
        return 1;
    }

    std::vector<dataplane::b2b_handler*> handlers;
    dataplane::runtime dp;
    dataplane::status st = dp.start(cfg, [&](uint32_t id, uint32_t count) {
        auto h = std::make_unique<dataplane::b2b_handler>(shared, id, count);
        handlers.push_back(h.get());
        return h;
    });
    if (!st) {
        spdlog::error("start failed: {}", st.message);
        return 1;
    }

    api_sources sources;
    sources.status = [&cfg, started] {
        auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::steady_clock::now() - started);
        return nlohmann::json{{"version", std::string(tandem::version())},
                              {"uptime_s", uptime.count()},
                              {"config", config_summary(cfg)}};
    };
    sources.stats = [&dp, &handlers] {
        nlohmann::json out;
        nlohmann::json shards = nlohmann::json::array();
        std::map<std::string, uint64_t> totals;
        for (uint32_t i = 0; i < handlers.size(); ++i) {
            nlohmann::json one;
            handlers[i]->counters().for_each([&](const char* name, uint64_t v) {
                one[name] = v;
                totals[name] += v;
            });
            dp.shard_stats(i).for_each([&](const char* name, uint64_t v) { one[name] = v; });
            shards.push_back(std::move(one));
        }
        for (const auto& [name, v] : totals)
            out[name] = v;
        dp.stats().for_each([&](const char* name, uint64_t v) { out[name] = v; });
        out["shards"] = std::move(shards);
        return out;
    };

    api_server api(cfg.api.host, cfg.api.port, cfg.api.token, std::move(sources));
    try {
        api.start();
    } catch (const std::exception& e) {
        spdlog::error("start failed: {}", e.what());
        dp.stop();
        return 1;
    }
    for (size_t i = 0; i < cfg.sip.listen.size(); ++i) {
        spdlog::info("sip listening {}", cfg.sip.listen[i].to_string());
    }
    spdlog::info("ready: stop with Ctrl-C or SIGTERM");

    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("stopping signal={}", sig == SIGINT ? "SIGINT" : "SIGTERM");
    api.stop();
    dp.stop();
    spdlog::info("stopped");
    return 0;
}

} // namespace tandem::control
