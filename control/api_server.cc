#include "control/api_server.h"

#include <stdexcept>

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

namespace tandem::control {

std::string json_error(int code, const std::string& message) {
    return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
}

api_server::api_server(std::string host, uint16_t port, std::string token, api_sources sources)
    : _host(std::move(host)), _port(port), _token(std::move(token)), _sources(std::move(sources)),
      _server(std::make_unique<httplib::Server>()) {
    install_routes();
}

api_server::~api_server() {
    stop();
}

void api_server::install_routes() {
    auto& s = *_server;
    const std::string content_type = "application/json";

    // Authentication first: every route but none is protected when a token is set.
    s.set_pre_routing_handler(
        [this, content_type](const httplib::Request& req, httplib::Response& res) {
            if (_token.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string expected = "Bearer " + _token;
            if (req.get_header_value("Authorization") != expected) {
                res.status = 401;
                res.set_header("WWW-Authenticate", "Bearer");
                res.set_content(json_error(401, "missing or wrong bearer token"), content_type);
                return httplib::Server::HandlerResponse::Handled;
            }
            return httplib::Server::HandlerResponse::Unhandled;
        });

    s.Get("/v1/status", [this, content_type](const httplib::Request&, httplib::Response& res) {
        res.set_content(_sources.status().dump(), content_type);
    });
    s.Get("/v1/stats", [this, content_type](const httplib::Request&, httplib::Response& res) {
        res.set_content(_sources.stats().dump(), content_type);
    });

    s.set_error_handler([content_type](const httplib::Request& req, httplib::Response& res) {
        if (res.body.empty()) {
            std::string message = res.status == 404
                                      ? fmt::format("no such resource: {} {}", req.method, req.path)
                                      : fmt::format("HTTP {}", res.status);
            res.set_content(json_error(res.status, message), content_type);
        }
    });
    s.set_exception_handler(
        [content_type](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
            std::string message = "internal error";
            try {
                if (ep) std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                message = e.what();
            } catch (...) {
            }
            res.status = 500;
            res.set_content(json_error(500, message), content_type);
        });
}

void api_server::start() {
    if (!_server->bind_to_port(_host, _port)) {
        throw std::runtime_error(fmt::format("cannot bind the REST API to {}:{}", _host, _port));
    }
    _thread = std::thread([this] { _server->listen_after_bind(); });
    spdlog::info("api listening http=http://{}:{}/v1/",
                 _host.find(':') != std::string::npos ? "[" + _host + "]" : _host, _port);
}

void api_server::stop() {
    if (_thread.joinable()) {
        _server->stop();
        _thread.join();
    }
}

} // namespace tandem::control
