#pragma once
// The REST API: JSON over HTTP/1.1 on [api] listen. Runs its own thread; handlers run on the
// server's threads and never touch a shard's memory: they read summed counters and publish
// snapshots or commands through the dataplane's interfaces.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace httplib {
class Server;
}

namespace tandem::control {

struct api_sources {
    /// Returns the daemon's status (version, uptime, configuration summary).
    std::function<nlohmann::json()> status;
    /// Returns counters summed over all shards.
    std::function<nlohmann::json()> stats;
};

class api_server {
public:
    /// `token` empty: no authentication (the config loader allows that on loopback only).
    api_server(std::string host, uint16_t port, std::string token, api_sources sources);
    ~api_server();
    api_server(const api_server&) = delete;
    api_server& operator=(const api_server&) = delete;

    /// Binds and starts serving on a thread of its own. Throws std::runtime_error when the
    /// address cannot be bound.
    void start();
    /// Stops serving and joins the thread. Safe to call twice.
    void stop();

private:
    void install_routes();

    std::string _host;
    uint16_t _port;
    std::string _token;
    api_sources _sources;
    std::unique_ptr<httplib::Server> _server;
    std::thread _thread;
};

/// The JSON body of an error answer: {"error": {"code": 404, "message": "..."}}.
[[nodiscard]] std::string json_error(int code, const std::string& message);

} // namespace tandem::control
