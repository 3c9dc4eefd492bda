#include "dataplane/runtime.h"

#include <algorithm>
#include <string>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "dataplane/socket_io.h"
#include "tandem_build_config.h"
#if TANDEM_HAVE_DPDK
#include <rte_launch.h>
#include <rte_lcore.h>

#include "dataplane/dpdk_io.h"
#endif

namespace tandem::dataplane {

runtime::runtime() : _epochs(std::make_unique<epoch_registry>(1)) {}

runtime::~runtime() {
    stop();
}

status runtime::start(const config::config& cfg, const handler_factory& factory) {
    if (running()) {
        return status::failure("dataplane already running");
    }
    if (cfg.dataplane.workers == 0 || cfg.dataplane.workers > 1024) {
        return status::failure("dataplane.workers must be between 1 and 1024");
    }
    if (!factory) {
        return status::failure("no packet handler factory");
    }
    _stop.store(false);
    _epochs = std::make_unique<epoch_registry>(cfg.dataplane.workers);
    status st = cfg.dataplane.backend == config::backend_kind::dpdk ? start_dpdk(cfg, factory)
                                                                    : start_socket(cfg, factory);
    if (!st.ok) {
        stop();
    }
    return st;
}

namespace {

shard_options make_shard_options(const config::config& cfg) {
    shard_options o;
    o.burst = std::clamp<uint32_t>(cfg.dataplane.burst, 1, 512);
    o.tick_interval_ns =
        static_cast<uint64_t>(std::max<uint32_t>(cfg.dataplane.idle_timeout_us, 10)) * 1000;
    o.sleep_when_idle = cfg.dataplane.poll == config::poll_mode::wait;
    return o;
}

} // namespace

status runtime::start_socket(const config::config& cfg, const handler_factory& factory) {
    const uint32_t workers = cfg.dataplane.workers;
    const auto& listen = cfg.sip.listen;
    if (listen.empty()) {
        return status::failure("sip.listen is empty");
    }
    for (const auto& l : listen) {
        if (l.proto != config::transport::udp) {
            return status::failure("the socket backend serves UDP only: " + l.to_string());
        }
    }
    socket_io_options io_options;
    io_options.burst = std::clamp<uint32_t>(cfg.dataplane.burst, 1, 512);
    // Enough for a full hand-over ring to every other shard plus receive and transmit bursts.
    io_options.pool_size = std::max<uint32_t>(1024, cfg.dataplane.ring_size + 4 * io_options.burst);
    io_options.wait = cfg.dataplane.poll == config::poll_mode::wait;
    io_options.capture_dir = cfg.dataplane.capture_dir;

    _mesh = std::make_unique<shard_mesh>(workers, cfg.dataplane.ring_size, io_options.pool_size);
    _bound_ports.assign(listen.size(), 0);
    const shard_options options = make_shard_options(cfg);

    for (uint32_t id = 0; id < workers; ++id) {
        std::vector<int> fds;
        std::vector<sip::endpoint> locals;
        for (size_t i = 0; i < listen.size(); ++i) {
            sockaddr_storage addr = listen[i].storage;
            sip::endpoint local = to_endpoint(addr);
            if (local.port == 0 && _bound_ports[i] != 0) {
                // Port 0: the first shard's socket picked one; the others share it.
                local.port = _bound_ports[i];
                (void)to_sockaddr(local, addr);
            }
            std::string error;
            const int fd = open_udp_socket(addr, listen[i].storage_len, error);
            if (fd < 0) {
                for (const int open_fd : fds) {
                    ::close(open_fd);
                }
                return status::failure("cannot listen on " + listen[i].to_string() + ": " + error);
            }
            if (_bound_ports[i] == 0) {
                _bound_ports[i] = dataplane::bound_port(fd);
            }
            local.port = _bound_ports[i];
            fds.push_back(fd);
            locals.push_back(local);
        }
        auto io = std::make_unique<socket_io>(std::move(fds), std::move(locals), io_options);
        if (!io->init_status().ok) {
            return io->init_status();
        }
        std::unique_ptr<packet_handler> handler = factory(id, workers);
        if (!handler) {
            return status::failure("the handler factory failed for shard " + std::to_string(id));
        }
        auto s = std::make_unique<shard>(id, workers, options, std::move(io), std::move(handler),
                                         _mesh.get(), _epochs.get());
        if (!static_cast<socket_io&>(s->io()).init_status().ok) {
            return static_cast<socket_io&>(s->io()).init_status();
        }
        _shards.push_back(std::move(s));
    }

    for (uint32_t id = 0; id < workers; ++id) {
        // Until its thread runs, a shard must not hold reclamation back.
        _epochs->offline(id);
    }
    for (uint32_t id = 0; id < workers; ++id) {
        shard* s = _shards[id].get();
        _threads.emplace_back([this, s] { s->run(_stop); });
        if (!cfg.dataplane.cpus.empty()) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cfg.dataplane.cpus[id % cfg.dataplane.cpus.size()], &set);
            (void)pthread_setaffinity_np(_threads.back().native_handle(), sizeof set, &set);
        }
        const std::string name = "shard-" + std::to_string(id);
        (void)pthread_setname_np(_threads.back().native_handle(), name.c_str());
    }
    return status::success();
}

#if TANDEM_HAVE_DPDK
int runtime_lcore_main(void* arg);

status runtime::start_dpdk(const config::config& cfg, const handler_factory& factory) {
    const uint32_t workers = cfg.dataplane.workers;
    status st = dpdk::eal_init(cfg.dpdk.eal_args);
    if (!st.ok) {
        return st;
    }
    std::vector<unsigned> lcores;
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        lcores.push_back(lcore);
    }
    if (lcores.size() < workers) {
        return status::failure("dataplane.workers = " + std::to_string(workers) + " but EAL has " +
                               std::to_string(lcores.size()) +
                               " worker lcores (add cores with -l in dpdk.eal_args)");
    }
    auto port = std::make_unique<dpdk::port>();
    st = port->open(cfg, static_cast<uint16_t>(workers));
    if (!st.ok) {
        return st;
    }
    _mesh = std::make_unique<shard_mesh>(workers, cfg.dataplane.ring_size, 2);
    shard_options options = make_shard_options(cfg);
    options.sleep_when_idle = false; // a poll-mode lcore spins; `dataplane.poll` is for sockets
    for (uint32_t id = 0; id < workers; ++id) {
        std::unique_ptr<packet_handler> handler = factory(id, workers);
        if (!handler) {
            port->close();
            return status::failure("the handler factory failed for shard " + std::to_string(id));
        }
        auto s =
            std::make_unique<shard>(id, workers, options, port->make_io(static_cast<uint16_t>(id)),
                                    std::move(handler), _mesh.get(), _epochs.get());
        _shards.push_back(std::move(s));
        _epochs->offline(id);
    }
    st = port->start();
    if (!st.ok) {
        _shards.clear();
        port->close();
        return st;
    }
    // From here stop() owns the port and waits for whatever lcores were launched.
    _dpdk = true;
    _dpdk_state = port.release();
    _launch.assign(workers, {});
    for (uint32_t id = 0; id < workers; ++id) {
        _launch[id] = {_shards[id].get(), &_stop};
        if (rte_eal_remote_launch(runtime_lcore_main, &_launch[id], lcores[id]) != 0) {
            return status::failure("cannot launch shard " + std::to_string(id) + " on lcore " +
                                   std::to_string(lcores[id]));
        }
    }
    return status::success();
}

int runtime_lcore_main(void* arg) {
    auto* launch = static_cast<runtime::lcore_launch*>(arg);
    launch->s->run(*launch->stop);
    return 0;
}
#else
status runtime::start_dpdk(const config::config&, const handler_factory&) {
    return status::failure("dataplane.backend = \"dpdk\" but Tandem was built without DPDK "
                           "(libdpdk not found or -Ddpdk=disabled)");
}
#endif

void runtime::stop() {
    _stop.store(true);
    for (auto& s : _shards) {
        (void)s->post({command::kind_t::stop, 0, 0});
        s->wake();
    }
    for (auto& t : _threads) {
        if (t.joinable()) {
            t.join();
        }
    }
    _threads.clear();
#if TANDEM_HAVE_DPDK
    if (_dpdk) {
        rte_eal_mp_wait_lcore();
    }
    auto* port = static_cast<dpdk::port*>(_dpdk_state);
    if (port != nullptr) {
        port->stop();
    }
    _shards.clear();
    if (port != nullptr) {
        port->close();
        delete port;
        _dpdk_state = nullptr;
    }
    _dpdk = false;
#endif
    _shards.clear();
    _mesh.reset();
}

stats_snapshot runtime::stats() const {
    stats_snapshot sum;
    for (const auto& s : _shards) {
        sum.add(s->counters());
    }
    return sum;
}

stats_snapshot runtime::shard_stats(uint32_t id) const {
    stats_snapshot one;
    if (id < _shards.size()) {
        one.add(_shards[id]->counters());
    }
    return one;
}

bool runtime::post(uint32_t id, const command& cmd) {
    return id < _shards.size() && _shards[id]->post(cmd);
}

packet_handler* runtime::handler(uint32_t id) noexcept {
    return id < _shards.size() ? &_shards[id]->handler() : nullptr;
}

} // namespace tandem::dataplane
