// tandem-loadgen: a SIP caller and callee for CPS benchmarks past sipp's rates (issue #7).
// See `tandem-loadgen --help` and bench/cps/README.md ("tandem-loadgen hook").

#include "bench/loadgen/engine.h"
#include "bench/loadgen/options.h"
#include "sip/util/ids.h"

#include <array>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

namespace {

using namespace tandem::loadgen;

volatile std::sig_atomic_t g_signal = 0;
void on_signal(int sig) {
    g_signal = sig;
}

struct totals {
    uint64_t attempted = 0, ok = 0, failed = 0, timeouts = 0, rejected = 0, table_full = 0;
    uint64_t retrans = 0, resp_retrans = 0;
    uint64_t uas_calls = 0, uas_ok = 0, uas_failed = 0, uas_retrans = 0, uas_req_retrans = 0;
    uint64_t uas_table_full = 0, uas_bye_unknown = 0;
    uint64_t rx = 0, tx = 0, malformed = 0, unmatched = 0, send_errors = 0;
    uint64_t uac_open = 0, uas_open = 0;
};

totals sum(const std::vector<std::unique_ptr<worker>>& workers) {
    totals t;
    auto rd = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    for (const auto& w : workers) {
        const worker_counters& c = w->stats().c;
        t.attempted += rd(c.attempted);
        t.ok += rd(c.ok);
        t.failed += rd(c.failed);
        t.timeouts += rd(c.timeouts);
        t.rejected += rd(c.rejected);
        t.table_full += rd(c.table_full);
        t.retrans += rd(c.retrans);
        t.resp_retrans += rd(c.resp_retrans);
        t.uas_calls += rd(c.uas_calls);
        t.uas_ok += rd(c.uas_ok);
        t.uas_failed += rd(c.uas_failed);
        t.uas_retrans += rd(c.uas_retrans);
        t.uas_req_retrans += rd(c.uas_req_retrans);
        t.uas_table_full += rd(c.uas_table_full);
        t.uas_bye_unknown += rd(c.uas_bye_unknown);
        t.rx += rd(c.rx);
        t.tx += rd(c.tx);
        t.malformed += rd(c.malformed);
        t.unmatched += rd(c.unmatched);
        t.send_errors += rd(c.send_errors);
        t.uac_open += w->uac_open();
        t.uas_open += w->uas_open();
    }
    return t;
}

void write_latency(FILE* f, const char* name, const latency_histogram& h, bool last) {
    auto ms = [](uint64_t us) { return static_cast<double>(us) / 1000.0; };
    std::fprintf(f,
                 "    \"%s\": {\"count\": %llu, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
                 "\"p99_ms\": %.3f, \"p99_9_ms\": %.3f, \"max_ms\": %.3f}%s\n",
                 name, static_cast<unsigned long long>(h.count()), ms(h.percentile(50)),
                 ms(h.percentile(90)), ms(h.percentile(99)), ms(h.percentile(99.9)), ms(h.max()),
                 last ? "" : ",");
}

bool write_json(const std::string& path, const options& o, const totals& t,
                const latency_histogram& inv, const latency_histogram& bye,
                const std::array<uint64_t, 1400>& codes, double elapsed_s, double placing_s,
                bool timed_out) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return false;
    auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    std::fprintf(f, "{\n");
    std::fprintf(f,
                 "  \"config\": {\"rate\": %s, \"threads\": %u, \"hold_min_ms\": %u, "
                 "\"hold_max_ms\": %u, \"max_inflight_per_thread\": %u, \"t1_ms\": %u, "
                 "\"caller\": %s, \"callee\": %s},\n",
                 o.run.rate > 0 ? std::to_string(o.run.rate).c_str() : "\"max\"", o.run.threads,
                 o.run.hold_min_ms, o.run.hold_max_ms, o.run.max_inflight, o.run.t1_ms,
                 o.run.uac ? "true" : "false", o.run.uas ? "true" : "false");
    std::fprintf(f, "  \"elapsed_s\": %.3f,\n  \"placing_s\": %.3f,\n  \"timed_out\": %s,\n",
                 elapsed_s, placing_s, timed_out ? "true" : "false");
    std::fprintf(f, "  \"achieved_cps\": %.1f,\n",
                 placing_s > 0 ? static_cast<double>(t.attempted) / placing_s : 0.0);
    std::fprintf(f, "  \"completed_cps\": %.1f,\n",
                 elapsed_s > 0 ? static_cast<double>(t.ok) / elapsed_s : 0.0);
    std::fprintf(f,
                 "  \"caller\": {\"attempted\": %llu, \"ok\": %llu, \"failed\": %llu, "
                 "\"timeouts\": %llu, \"rejected\": %llu, \"table_full\": %llu, "
                 "\"retransmissions\": %llu, \"response_retransmissions\": %llu, "
                 "\"rejected_by_code\": {",
                 u(t.attempted), u(t.ok), u(t.failed), u(t.timeouts), u(t.rejected),
                 u(t.table_full), u(t.retrans), u(t.resp_retrans));
    const char* sep = "";
    for (size_t code = 0; code < codes.size(); ++code) {
        if (codes[code] == 0) continue;
        std::fprintf(f, "%s\"%s %zu\": %llu", sep, code < 700 ? "INVITE" : "BYE", code % 700,
                     u(codes[code]));
        sep = ", ";
    }
    std::fprintf(f, "}},\n");
    std::fprintf(f,
                 "  \"callee\": {\"calls\": %llu, \"ok\": %llu, \"failed\": %llu, "
                 "\"retransmissions\": %llu, \"request_retransmissions\": %llu, "
                 "\"table_full\": %llu, \"bye_unknown\": %llu},\n",
                 u(t.uas_calls), u(t.uas_ok), u(t.uas_failed), u(t.uas_retrans),
                 u(t.uas_req_retrans), u(t.uas_table_full), u(t.uas_bye_unknown));
    std::fprintf(f,
                 "  \"datagrams\": {\"rx\": %llu, \"tx\": %llu, \"malformed\": %llu, "
                 "\"unmatched\": %llu, \"send_errors\": %llu},\n",
                 u(t.rx), u(t.tx), u(t.malformed), u(t.unmatched), u(t.send_errors));
    std::fprintf(f, "  \"latency\": {\n");
    write_latency(f, "invite_200", inv, false);
    write_latency(f, "bye_200", bye, true);
    std::fprintf(f, "  }\n}\n");
    return std::fclose(f) == 0;
}

} // namespace

int main(int argc, char** argv) {
    options o;
    std::string error;
    const int pr = parse_options(argc, argv, o, error);
    if (pr == 1) {
        std::fputs(usage_text(), stdout);
        return 0;
    }
    if (pr < 0) {
        std::fprintf(stderr, "tandem-loadgen: %s (try --help)\n", error.c_str());
        return 2;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGHUP, on_signal);
    std::signal(SIGPIPE, SIG_IGN);

    run_control ctl;
    {
        const auto key = tandem::sip::util::random_hash_key();
        o.run.nonce = key ? key->k0 : monotonic_ns();
    }
    std::vector<std::unique_ptr<worker>> workers;
    for (uint32_t i = 0; i < o.run.threads; ++i) {
        workers.push_back(std::make_unique<worker>(o.run, ctl, i));
        if (!workers.back()->open(error)) {
            std::fprintf(stderr, "tandem-loadgen: %s\n", error.c_str());
            return 2;
        }
    }
    ctl.start_ns = monotonic_ns();
    std::vector<std::thread> threads;
    for (auto& w : workers)
        threads.emplace_back([&w] { w->run(); });

    const uint64_t timeout_ns = static_cast<uint64_t>(o.timeout_s * 1e9);
    const uint64_t linger_ns = static_cast<uint64_t>(o.linger_s * 1e9);
    const uint64_t duration_ns = static_cast<uint64_t>(o.duration_s * 1e9);
    uint64_t next_progress = uint64_t{o.progress_ms} * 1000000;
    uint64_t quiet_since = 0; // when the end condition first held (0: not yet)
    uint64_t placing_end = 0;
    bool timed_out = false;
    totals prev;
    uint64_t prev_ns = 0;
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        const uint64_t now = monotonic_ns() - ctl.start_ns;
        const totals t = sum(workers);
        bool uac_done = true;
        for (const auto& w : workers)
            uac_done = uac_done && w->uac_done();
        if (o.run.uac && placing_end == 0 &&
            (t.attempted >= o.run.calls || (o.run.rate <= 0 && now >= duration_ns)))
            placing_end = now;
        if (o.progress_ms != 0 && now >= next_progress) {
            const double dt = static_cast<double>(now - prev_ns) / 1e9;
            std::fprintf(
                stderr,
                "loadgen: t=%.1fs attempted=%llu ok=%llu failed=%llu open=%llu "
                "rate=%.0f/s retrans=%llu uas_ok=%llu uas_failed=%llu uas_open=%llu "
                "malformed=%llu\n",
                static_cast<double>(now) / 1e9, static_cast<unsigned long long>(t.attempted),
                static_cast<unsigned long long>(t.ok), static_cast<unsigned long long>(t.failed),
                static_cast<unsigned long long>(t.uac_open),
                o.run.uac ? static_cast<double>(t.attempted - prev.attempted) / dt
                          : static_cast<double>(t.uas_calls - prev.uas_calls) / dt,
                static_cast<unsigned long long>(t.retrans + t.uas_retrans),
                static_cast<unsigned long long>(t.uas_ok),
                static_cast<unsigned long long>(t.uas_failed),
                static_cast<unsigned long long>(t.uas_open),
                static_cast<unsigned long long>(t.malformed));
            prev = t;
            prev_ns = now;
            next_progress = now + uint64_t{o.progress_ms} * 1000000;
        }
        if (g_signal != 0) break;
        if (now >= timeout_ns) {
            timed_out = true;
            break;
        }
        // The end: the caller has finished all of its calls; a callee alone has seen its
        // --calls end, or its --duration passed. Then the callee lingers for late requests.
        bool done;
        if (o.run.uac)
            done = uac_done;
        else
            done = (o.run.calls != UINT64_MAX && t.uas_ok + t.uas_failed >= o.run.calls) ||
                   (duration_ns != 0 && now >= duration_ns && t.uas_open == 0);
        if (!done) {
            quiet_since = 0;
            continue;
        }
        if (!o.run.uas) break;
        if (quiet_since == 0) quiet_since = now;
        if (now - quiet_since >= linger_ns) break;
    }
    ctl.stop.store(true);
    for (auto& th : threads)
        th.join();
    const uint64_t end = monotonic_ns() - ctl.start_ns;
    if (placing_end == 0) placing_end = end;

    const totals t = sum(workers);
    latency_histogram inv, bye;
    std::array<uint64_t, 1400> codes{};
    for (const auto& w : workers) {
        inv.merge(w->stats().invite_200);
        bye.merge(w->stats().bye_200);
        for (size_t i = 0; i < codes.size(); ++i)
            codes[i] += w->stats().rejected_by_code[i];
    }
    const double elapsed_s = static_cast<double>(end) / 1e9;
    const double placing_s = static_cast<double>(placing_end) / 1e9;
    if (!o.json_path.empty() &&
        !write_json(o.json_path, o, t, inv, bye, codes, elapsed_s, placing_s, timed_out))
        std::fprintf(stderr, "tandem-loadgen: cannot write %s\n", o.json_path.c_str());

    auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    if (timed_out) std::fprintf(stderr, "loadgen: hard timeout after %.1f s\n", elapsed_s);
    if (g_signal != 0) std::fprintf(stderr, "loadgen: stopped by signal %d\n", int(g_signal));
    if (o.run.uac) {
        std::printf("loadgen-latency: invite_200 p50=%.3fms p99=%.3fms max=%.3fms bye_200 "
                    "p50=%.3fms p99=%.3fms max=%.3fms\n",
                    inv.percentile(50) / 1e3, inv.percentile(99) / 1e3, inv.max() / 1e3,
                    bye.percentile(50) / 1e3, bye.percentile(99) / 1e3, bye.max() / 1e3);
        std::printf("loadgen-caller: timeouts=%llu rejected=%llu table_full=%llu retrans=%llu "
                    "achieved_cps=%.1f malformed=%llu unmatched=%llu send_errors=%llu\n",
                    u(t.timeouts), u(t.rejected), u(t.table_full), u(t.retrans),
                    placing_s > 0 ? static_cast<double>(t.attempted) / placing_s : 0.0,
                    u(t.malformed), u(t.unmatched), u(t.send_errors));
    }
    if (o.run.uas)
        std::printf("loadgen-callee: calls=%llu ok=%llu failed=%llu retrans=%llu "
                    "table_full=%llu bye_unknown=%llu\n",
                    u(t.uas_calls), u(t.uas_ok), u(t.uas_failed), u(t.uas_retrans),
                    u(t.uas_table_full), u(t.uas_bye_unknown));
    bool good;
    if (o.run.uac) {
        std::printf("loadgen: attempted=%llu ok=%llu failed=%llu\n", u(t.attempted), u(t.ok),
                    u(t.failed));
        good = t.attempted > 0 && t.ok == t.attempted && t.failed == 0;
        if (o.run.uas) good = good && t.uas_failed == 0;
    } else {
        std::printf("loadgen: attempted=%llu ok=%llu failed=%llu\n", u(t.uas_calls), u(t.uas_ok),
                    u(t.uas_failed));
        good = t.uas_calls > 0 && t.uas_failed == 0 && t.uas_ok == t.uas_calls &&
               (o.run.calls == UINT64_MAX || t.uas_ok >= o.run.calls);
    }
    std::fflush(stdout);
    return good ? 0 : 1;
}
