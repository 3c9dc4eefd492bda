#include "config/loader.h"

#include <arpa/inet.h>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace tandem::config {

extern const std::string_view default_config_text;

std::string_view default_config() {
    return default_config_text;
}

namespace {

// Walks the TOML tree against the schema. Every error names the file, the position and the key.
class reader {
public:
    explicit reader(std::string file) : _file(std::move(file)) {}

    [[noreturn]] void fail(const toml::source_region& where, std::string_view msg) const {
        throw config_error(
            fmt::format("{}:{}:{}: {}", _file, where.begin.line, where.begin.column, msg));
    }

    // Unknown keys are errors: a typo must not silently fall back to a default.
    void check_keys(const toml::table& t, std::string_view section,
                    std::initializer_list<std::string_view> known) const {
        for (const auto& [key, node] : t) {
            bool ok = false;
            for (auto k : known)
                ok = ok || key.str() == k;
            if (!ok) {
                std::string name = section.empty() ? std::string(key.str())
                                                   : fmt::format("{}.{}", section, key.str());
                fail(key.source(), section.empty()
                                       ? fmt::format("unknown section or key '{}'", name)
                                       : fmt::format("unknown key '{}'", name));
            }
        }
    }

    const toml::table* section(const toml::table& root, std::string_view name) const {
        const toml::node* n = root.get(name);
        if (n == nullptr) return nullptr;
        if (!n->is_table())
            fail(n->source(), fmt::format("'{}' must be a table ([{}])", name, name));
        return n->as_table();
    }

    void read(const toml::table& t, std::string_view sec, std::string_view key,
              std::string& out) const {
        const toml::node* n = t.get(key);
        if (n == nullptr) return;
        if (!n->is_string()) fail(n->source(), fmt::format("'{}.{}' must be a string", sec, key));
        out = n->as_string()->get();
    }

    void read(const toml::table& t, std::string_view sec, std::string_view key, bool& out) const {
        const toml::node* n = t.get(key);
        if (n == nullptr) return;
        if (!n->is_boolean())
            fail(n->source(), fmt::format("'{}.{}' must be true or false", sec, key));
        out = n->as_boolean()->get();
    }

    template <typename Int>
    void read(const toml::table& t, std::string_view sec, std::string_view key, Int& out,
              int64_t lo, int64_t hi) const {
        const toml::node* n = t.get(key);
        if (n == nullptr) return;
        if (!n->is_integer())
            fail(n->source(), fmt::format("'{}.{}' must be an integer", sec, key));
        int64_t v = n->as_integer()->get();
        if (v < lo || v > hi) {
            fail(n->source(),
                 fmt::format("'{}.{}' = {} is out of range [{}, {}]", sec, key, v, lo, hi));
        }
        out = static_cast<Int>(v);
    }

    void read(const toml::table& t, std::string_view sec, std::string_view key,
              std::vector<std::string>& out) const {
        const toml::node* n = t.get(key);
        if (n == nullptr) return;
        if (!n->is_array())
            fail(n->source(), fmt::format("'{}.{}' must be an array of strings", sec, key));
        out.clear();
        for (const auto& e : *n->as_array()) {
            if (!e.is_string()) {
                fail(e.source(), fmt::format("'{}.{}' must be an array of strings", sec, key));
            }
            out.push_back(e.as_string()->get());
        }
    }

    void read(const toml::table& t, std::string_view sec, std::string_view key,
              std::vector<uint32_t>& out) const {
        const toml::node* n = t.get(key);
        if (n == nullptr) return;
        if (!n->is_array())
            fail(n->source(), fmt::format("'{}.{}' must be an array of integers", sec, key));
        out.clear();
        for (const auto& e : *n->as_array()) {
            if (!e.is_integer() || e.as_integer()->get() < 0 || e.as_integer()->get() > 4095) {
                fail(e.source(),
                     fmt::format("'{}.{}' must be an array of CPU numbers (0-4095)", sec, key));
            }
            out.push_back(static_cast<uint32_t>(e.as_integer()->get()));
        }
    }

    // Wraps a value parser so that its std::invalid_argument becomes a positioned error.
    template <typename Fn>
    void at(const toml::table& t, std::string_view sec, std::string_view key, Fn&& fn) const {
        const toml::node* n = t.get(key);
        if (n == nullptr) return;
        try {
            fn();
        } catch (const std::invalid_argument& e) {
            fail(n->source(), fmt::format("'{}.{}': {}", sec, key, e.what()));
        }
    }

    template <typename Fn>
    void at_element(const toml::table& t, std::string_view sec, std::string_view key, size_t i,
                    Fn&& fn) const {
        const toml::node* n = t.get(key);
        try {
            fn();
        } catch (const std::invalid_argument& e) {
            const toml::node* el = n->as_array()->get(i);
            fail(el != nullptr ? el->source() : n->source(),
                 fmt::format("'{}.{}': {}", sec, key, e.what()));
        }
    }

    void check_path(const toml::table& t, std::string_view sec, std::string_view key,
                    const std::string& path, bool want_dir) const {
        const toml::node* n = t.get(key);
        std::error_code ec;
        auto status = std::filesystem::status(path, ec);
        bool ok = want_dir ? std::filesystem::is_directory(status)
                           : std::filesystem::is_regular_file(status);
        if (ok && !want_dir) {
            std::ifstream probe(path);
            ok = probe.good();
        }
        if (!ok) {
            std::string msg = fmt::format(
                "'{}.{}': cannot read {} '{}' ({})", sec, key, want_dir ? "folder" : "file", path,
                std::filesystem::exists(status) ? "wrong kind or unreadable" : "no such file");
            if (n != nullptr) fail(n->source(), msg);
            throw config_error(fmt::format("{}: {} (default value)", _file, msg));
        }
    }

private:
    std::string _file;
};

void parse_ipv4_prefix(std::string_view text, in_addr& addr, uint8_t& prefix) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        throw std::invalid_argument(fmt::format("bad address '{}' (expected a.b.c.d/len)", text));
    }
    std::string ip(text.substr(0, slash));
    std::string len(text.substr(slash + 1));
    if (inet_pton(AF_INET, ip.c_str(), &addr) != 1) {
        throw std::invalid_argument(fmt::format("bad IPv4 address '{}'", ip));
    }
    char* end = nullptr;
    long l = std::strtol(len.c_str(), &end, 10);
    if (len.empty() || *end != '\0' || l < 1 || l > 32) {
        throw std::invalid_argument(fmt::format("bad prefix length '/{}' (1-32)", len));
    }
    prefix = static_cast<uint8_t>(l);
}

config build(const toml::table& root, const std::string& source, const load_options& opts) {
    reader r(source);
    config c;
    c.source = source;
    r.check_keys(
        root, "",
        {"sip", "api", "dataplane", "dpdk", "scenario", "routing", "policy", "limits", "log"});

    if (const auto* t = r.section(root, "sip")) {
        r.check_keys(*t, "sip", {"listen", "t1_ms", "t2_ms", "t4_ms", "timer_c_ms", "user_agent"});
        std::vector<std::string> listen;
        r.read(*t, "sip", "listen", listen);
        if (t->get("listen") != nullptr) {
            if (listen.empty())
                r.fail(t->get("listen")->source(), "'sip.listen' must name at least one address");
            c.sip.listen.clear();
            for (size_t i = 0; i < listen.size(); ++i) {
                r.at_element(*t, "sip", "listen", i,
                             [&] { c.sip.listen.push_back(parse_listen_address(listen[i])); });
            }
        }
        r.read(*t, "sip", "t1_ms", c.sip.t1_ms, 10, 60000);
        r.read(*t, "sip", "t2_ms", c.sip.t2_ms, 100, 600000);
        r.read(*t, "sip", "t4_ms", c.sip.t4_ms, 100, 600000);
        r.read(*t, "sip", "timer_c_ms", c.sip.timer_c_ms, 1000, 3600000);
        r.read(*t, "sip", "user_agent", c.sip.user_agent);
        if (c.sip.t2_ms < c.sip.t1_ms)
            r.fail(t->source(), "'sip.t2_ms' must not be below 'sip.t1_ms'");
    }
    if (c.sip.listen.empty()) c.sip.listen.push_back(parse_listen_address("udp:127.0.0.1:5060"));

    if (const auto* t = r.section(root, "api")) {
        r.check_keys(*t, "api", {"listen", "token"});
        std::string listen;
        r.read(*t, "api", "listen", listen);
        if (!listen.empty()) {
            r.at(*t, "api", "listen", [&] { parse_host_port(listen, c.api.host, c.api.port); });
        }
        r.read(*t, "api", "token", c.api.token);
        bool loopback = c.api.host == "::1" || c.api.host.rfind("127.", 0) == 0;
        if (!loopback && c.api.token.empty()) {
            r.fail(t->get("listen") != nullptr ? t->get("listen")->source() : t->source(),
                   fmt::format("'api.listen' = '{}' is not a loopback address and 'api.token' is "
                               "empty: set a token to expose the API",
                               listen));
        }
    }

    if (const auto* t = r.section(root, "dataplane")) {
        r.check_keys(*t, "dataplane",
                     {"backend", "workers", "poll", "idle_timeout_us", "burst", "ring_size", "cpus",
                      "capture_dir"});
        std::string backend = "socket";
        r.read(*t, "dataplane", "backend", backend);
        if (backend == "socket") {
            c.dataplane.backend = backend_kind::socket;
        } else if (backend == "dpdk") {
            c.dataplane.backend = backend_kind::dpdk;
        } else {
            r.fail(t->get("backend")->source(),
                   fmt::format("'dataplane.backend' = '{}' (expected \"socket\" or \"dpdk\")",
                               backend));
        }
        std::string poll = "wait";
        r.read(*t, "dataplane", "poll", poll);
        if (poll == "wait") {
            c.dataplane.poll = poll_mode::wait;
        } else if (poll == "busy") {
            c.dataplane.poll = poll_mode::busy;
        } else {
            r.fail(t->get("poll")->source(),
                   fmt::format("'dataplane.poll' = '{}' (expected \"wait\" or \"busy\")", poll));
        }
        r.read(*t, "dataplane", "workers", c.dataplane.workers, 1, 128);
        r.read(*t, "dataplane", "idle_timeout_us", c.dataplane.idle_timeout_us, 10, 1000000);
        r.read(*t, "dataplane", "burst", c.dataplane.burst, 1, 256);
        r.read(*t, "dataplane", "ring_size", c.dataplane.ring_size, 64, 1 << 20);
        if ((c.dataplane.ring_size & (c.dataplane.ring_size - 1)) != 0) {
            r.fail(t->get("ring_size")->source(), "'dataplane.ring_size' must be a power of two");
        }
        r.read(*t, "dataplane", "cpus", c.dataplane.cpus);
        r.read(*t, "dataplane", "capture_dir", c.dataplane.capture_dir);
    }

    if (const auto* t = r.section(root, "dpdk")) {
        r.check_keys(*t, "dpdk",
                     {"eal_args", "address", "gateway", "port_id", "mbufs", "mbuf_cache", "rx_desc",
                      "tx_desc", "mtu"});
        r.read(*t, "dpdk", "eal_args", c.dpdk.eal_args);
        r.read(*t, "dpdk", "address", c.dpdk.address);
        if (!c.dpdk.address.empty()) {
            r.at(*t, "dpdk", "address",
                 [&] { parse_ipv4_prefix(c.dpdk.address, c.dpdk.ipv4, c.dpdk.prefix_len); });
        }
        r.read(*t, "dpdk", "gateway", c.dpdk.gateway);
        if (!c.dpdk.gateway.empty() &&
            inet_pton(AF_INET, c.dpdk.gateway.c_str(), &c.dpdk.gateway_ipv4) != 1) {
            r.fail(t->get("gateway")->source(),
                   fmt::format("'dpdk.gateway': bad IPv4 address '{}'", c.dpdk.gateway));
        }
        r.read(*t, "dpdk", "port_id", c.dpdk.port_id, 0, 1023);
        r.read(*t, "dpdk", "mbufs", c.dpdk.mbufs, 1023, 16 * 1024 * 1024);
        r.read(*t, "dpdk", "mbuf_cache", c.dpdk.mbuf_cache, 0, 512);
        r.read(*t, "dpdk", "rx_desc", c.dpdk.rx_desc, 64, 32768);
        r.read(*t, "dpdk", "tx_desc", c.dpdk.tx_desc, 64, 32768);
        r.read(*t, "dpdk", "mtu", c.dpdk.mtu, 576, 9000);
    }
    if (c.dataplane.backend == backend_kind::dpdk && c.dpdk.address.empty()) {
        throw config_error(fmt::format(
            "{}: 'dpdk.address' is required when 'dataplane.backend' = \"dpdk\"", source));
    }

    if (const auto* t = r.section(root, "scenario")) {
        r.check_keys(*t, "scenario", {"file"});
        r.read(*t, "scenario", "file", c.scenario.file);
    }
    if (const auto* t = r.section(root, "routing")) {
        r.check_keys(*t, "routing", {"default_target", "use_request_uri"});
        r.read(*t, "routing", "default_target", c.routing.default_target);
        r.read(*t, "routing", "use_request_uri", c.routing.use_request_uri);
        const auto& target = c.routing.default_target;
        if (target.rfind("sip:", 0) != 0 && target.rfind("sips:", 0) != 0) {
            r.fail(t->get("default_target") != nullptr ? t->get("default_target")->source()
                                                       : t->source(),
                   fmt::format("'routing.default_target' = '{}' is not a sip: URI", target));
        }
    }
    if (const auto* t = r.section(root, "policy")) {
        r.check_keys(*t, "policy", {"dir", "default"});
        r.read(*t, "policy", "dir", c.policy.dir);
        r.read(*t, "policy", "default", c.policy.default_policy);
    }
    if (const auto* t = r.section(root, "limits")) {
        r.check_keys(*t, "limits",
                     {"max_calls", "max_cps", "max_transactions", "max_dialogs", "retry_after_s",
                      "ring_timeout_s"});
        r.read(*t, "limits", "max_calls", c.limits.max_calls, 1, 100'000'000);
        r.read(*t, "limits", "max_cps", c.limits.max_cps, 0, 10'000'000);
        r.read(*t, "limits", "max_transactions", c.limits.max_transactions, 0, 100'000'000);
        r.read(*t, "limits", "max_dialogs", c.limits.max_dialogs, 0, 100'000'000);
        r.read(*t, "limits", "retry_after_s", c.limits.retry_after_s, 1, 3600);
        r.read(*t, "limits", "ring_timeout_s", c.limits.ring_timeout_s, 0, 3600);
    }
    if (const auto* t = r.section(root, "log")) {
        r.check_keys(*t, "log", {"level"});
        r.read(*t, "log", "level", c.log.level);
        static constexpr std::string_view levels[] = {"trace", "debug", "info",
                                                      "warn",  "error", "off"};
        bool ok = false;
        for (auto l : levels)
            ok = ok || c.log.level == l;
        if (!ok) {
            r.fail(
                t->get("level")->source(),
                fmt::format("'log.level' = '{}' (expected trace, debug, info, warn, error or off)",
                            c.log.level));
        }
    }

    if (opts.check_files) {
        static const toml::table empty;
        const auto* scen = r.section(root, "scenario");
        r.check_path(scen != nullptr ? *scen : empty, "scenario", "file", c.scenario.file, false);
        const auto* pol = r.section(root, "policy");
        r.check_path(pol != nullptr ? *pol : empty, "policy", "dir", c.policy.dir, true);
    }
    return c;
}

} // namespace

config load_string(std::string_view text, const std::string& source_name,
                   const load_options& opts) {
    toml::table root;
    try {
        root = toml::parse(text, source_name);
    } catch (const toml::parse_error& e) {
        throw config_error(fmt::format("{}:{}:{}: {}", source_name, e.source().begin.line,
                                       e.source().begin.column, e.description()));
    }
    return build(root, source_name, opts);
}

config load_file(const std::string& path, const load_options& opts) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error(fmt::format("{}: cannot read the configuration file", path));
    std::stringstream text;
    text << in.rdbuf();
    return load_string(text.str(), path, opts);
}

} // namespace tandem::config
