// tandem-dataplane-echo: the dataplane runtime with the echo handler, for end-to-end tests of a
// backend without the SIP layers (tests/e2e/dataplane_dpdk_veth.sh).
//
//   tandem-dataplane-echo --backend dpdk --address 198.18.0.2/24 --port 5060 --workers 1
//       --seconds 30 -- <EAL arguments>
//
// Runs until SIGTERM/SIGINT or --seconds, then prints the summed counters as `name value` lines.

#include <arpa/inet.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "config/config.h"
#include "dataplane/echo_handler.h"
#include "dataplane/runtime.h"

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) {
    stop_requested = 1;
}

int usage() {
    std::fprintf(stderr, "usage: tandem-dataplane-echo [--backend socket|dpdk] [--address A/P] "
                         "[--listen IP] [--port N] [--workers N] [--seconds N] [-- EAL args]\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    using namespace tandem;
    config::config cfg;
    std::string listen_ip = "127.0.0.1";
    uint16_t port = 5060;
    int seconds = 30;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--") {
            ++i;
            break;
        }
        if (i + 1 >= argc) {
            return usage();
        }
        const std::string value = argv[++i];
        if (arg == "--backend") {
            cfg.dataplane.backend =
                value == "dpdk" ? config::backend_kind::dpdk : config::backend_kind::socket;
        } else if (arg == "--address") {
            const auto slash = value.find('/');
            const std::string ip = value.substr(0, slash);
            if (inet_pton(AF_INET, ip.c_str(), &cfg.dpdk.ipv4) != 1) {
                return usage();
            }
            cfg.dpdk.address = value;
            cfg.dpdk.prefix_len = static_cast<uint8_t>(
                slash == std::string::npos ? 32 : std::atoi(value.c_str() + slash + 1));
        } else if (arg == "--listen") {
            listen_ip = value;
        } else if (arg == "--port") {
            port = static_cast<uint16_t>(std::atoi(value.c_str()));
        } else if (arg == "--workers") {
            cfg.dataplane.workers = static_cast<uint32_t>(std::atoi(value.c_str()));
        } else if (arg == "--seconds") {
            seconds = std::atoi(value.c_str());
        } else {
            return usage();
        }
    }
    for (; i < argc; ++i) {
        cfg.dpdk.eal_args.emplace_back(argv[i]);
    }
    config::listen_address l;
    l.host = listen_ip;
    l.port = port;
    auto& sin = reinterpret_cast<sockaddr_in&>(l.storage);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    if (inet_pton(AF_INET, listen_ip.c_str(), &sin.sin_addr) != 1) {
        return usage();
    }
    l.storage_len = sizeof(sockaddr_in);
    cfg.sip.listen.push_back(l);

    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    dataplane::runtime rt;
    const dataplane::status st = rt.start(
        cfg, [](uint32_t, uint32_t) { return std::make_unique<dataplane::echo_handler>(); });
    if (!st.ok) {
        std::fprintf(stderr, "tandem-dataplane-echo: %s\n", st.message.c_str());
        return 1;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    for (int tenth = 0; tenth < seconds * 10 && stop_requested == 0; ++tenth) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const dataplane::stats_snapshot s = rt.stats();
    rt.stop();
    s.for_each([](const char* name, uint64_t value) {
        std::printf("%s %llu\n", name, static_cast<unsigned long long>(value));
    });
    return 0;
}
