// Transaction layer, timer wheel and dialog lookup costs (issue 4 targets: transaction round
// trip <= 150 ns, timer start+cancel <= 20 ns, dialog lookup <= 50 ns).
#include "sip/dialog/dialog_layer.h"
#include "sip/txn/transaction_layer.h"
#include "sip/util/ids.h"
#include "sip/util/timer_wheel.h"

#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace tandem::sip;
using namespace tandem::sip::txn;

namespace {

const util::hash_key key{0x0123456789abcdefull, 0xfedcba9876543210ull};
const endpoint peer = endpoint::v4(0x0100007f, 5060);

struct null_sink final : action_sink {
    uint64_t n = 0;
    void emit(const action& a) noexcept override { n += a.msg; }
};

// Branches as Tandem mints them (the client side) and as a typical UA sends them.
std::vector<std::string> make_branches(size_t n, uint16_t shard) {
    util::id_generator g(shard, key);
    std::vector<std::string> v;
    v.reserve(n);
    char buf[util::id_generator::max_branch];
    for (size_t i = 0; i < n; ++i)
        v.emplace_back(buf, g.make_branch(buf, sizeof buf));
    return v;
}

txn_config config(uint32_t max) {
    txn_config c;
    c.max_transactions = max;
    return c;
}

request_key server_req(std::string_view branch, method_id m) {
    request_key k;
    k.method = m;
    k.method_name = m == method_id::invite ? "INVITE" : m == method_id::ack ? "ACK" : "BYE";
    k.branch = branch;
    k.sent_by_host = "192.0.2.10";
    k.sent_by_port = 5060;
    return k;
}

// Server non-INVITE over a reliable transport: create (new request), match (a retransmission),
// complete (final response; timer J is zero, so the transaction terminates and is freed).
void BM_ServerTxnRoundTrip(benchmark::State& state) {
    transaction_layer l(config(4096), key);
    null_sink out;
    const auto branches = make_branches(4096, 1);
    size_t i = 0;
    for (auto _ : state) {
        const request_key k = server_req(branches[i++ & 4095], method_id::bye);
        const auto r = l.on_request(k, true, 0, out);
        const auto again = l.on_request(k, true, 0, out);
        benchmark::DoNotOptimize(again.disposition);
        (void)l.respond(r.txn, 200, 1, peer, 0, out);
    }
    state.counters["live"] = static_cast<double>(l.size());
}
BENCHMARK(BM_ServerTxnRoundTrip);

// Client non-INVITE over a reliable transport: create (send), match (the final response),
// complete (timer K is zero: terminated and freed).
void BM_ClientTxnRoundTrip(benchmark::State& state) {
    transaction_layer l(config(4096), key);
    null_sink out;
    const auto branches = make_branches(4096, 2);
    client_request c;
    c.method = method_id::bye;
    c.reliable = true;
    response_key rk;
    rk.status = 200;
    rk.cseq_method = method_id::bye;
    size_t i = 0;
    for (auto _ : state) {
        c.branch = rk.branch = branches[i++ & 4095];
        (void)l.start_client(c, 1, peer, 0, 0, out);
        const auto r = l.on_response(rk, 0, out);
        benchmark::DoNotOptimize(r.disposition);
    }
    state.counters["live"] = static_cast<double>(l.size());
}
BENCHMARK(BM_ClientTxnRoundTrip);

// UDP steady state: the server INVITE transaction answers 486, gets its ACK and waits timer I;
// the clock moves 1 ms per iteration, so about T4/1ms transactions are alive and the wheel
// expires one per tick. Includes timers G/H/I start, cancel and expiry.
void BM_ServerInviteUdpSteadyState(benchmark::State& state) {
    transaction_layer l(config(65536), key);
    null_sink out;
    const auto branches = make_branches(65536, 3);
    size_t i = 0;
    tick_t now = 0;
    for (auto _ : state) {
        const std::string& b = branches[i++ & 65535];
        const auto r = l.on_request(server_req(b, method_id::invite), false, now, out);
        (void)l.respond(r.txn, 486, 1, peer, now, out);
        const auto a = l.on_request(server_req(b, method_id::ack), false, now, out);
        benchmark::DoNotOptimize(a.disposition);
        l.advance(++now, out);
    }
    state.counters["live"] = static_cast<double>(l.size());
}
BENCHMARK(BM_ServerInviteUdpSteadyState);

void BM_TimerStartCancel(benchmark::State& state) {
    util::timer_wheel w(0);
    util::timer t;
    util::tick_t d = 500;
    for (auto _ : state) {
        w.start(t, d);
        w.cancel(t);
        d = d == 500 ? 32000 : 500; // T1 (level 1) and 64*T1 (level 1): the common cases
    }
}
BENCHMARK(BM_TimerStartCancel);

// Start + cancel in a wheel that already holds 100k timers spread over hours.
void BM_TimerStartCancelBusyWheel(benchmark::State& state) {
    util::timer_wheel w(0);
    constexpr size_t n = 100000;
    auto bg = std::make_unique<util::timer[]>(n);
    std::mt19937_64 rng(1);
    for (size_t k = 0; k < n; ++k)
        w.start(bg[k], rng() % (4 * 3600 * 1000ull));
    std::vector<util::tick_t> delays(1024);
    for (auto& x : delays)
        x = 1 + rng() % (2 * 3600 * 1000ull);
    util::timer t;
    size_t i = 0;
    for (auto _ : state) {
        w.start(t, delays[i++ & 1023]);
        w.cancel(t);
    }
}
BENCHMARK(BM_TimerStartCancelBusyWheel);

// Lookup of an existing dialog by (Call-ID, local tag, remote tag) among N dialogs (1k: the
// table and dialogs sit in cache, the cost is the keyed hash and the probe; 100k: mostly two
// cache misses, table slot then dialog).
void BM_DialogLookup(benchmark::State& state) {
    const auto count = static_cast<size_t>(state.range(0));
    dialog::dialog_config dc;
    dc.max_dialogs = static_cast<uint32_t>(count);
    dialog::dialog_layer l(dc, key);
    util::id_generator g(4, key);
    struct ids {
        std::string call_id, local, remote;
    };
    std::vector<ids> v(count);
    char buf[64];
    for (auto& x : v) {
        x.call_id.assign(buf, g.make_call_id(buf, sizeof buf));
        x.local.assign(buf, g.make_tag(buf, sizeof buf));
        x.remote.assign(buf, g.make_tag(buf, sizeof buf));
        dialog::dialog_params p;
        p.id = {x.call_id, x.local, x.remote};
        p.remote_target = "sip:user@192.0.2.33:5060";
        (void)l.create_uas(p, dialog::dialog_state::confirmed, 1, 0);
    }
    std::mt19937_64 rng(5);
    std::vector<uint32_t> order(4096);
    for (auto& o : order)
        o = static_cast<uint32_t>(rng() % v.size());
    size_t i = 0;
    for (auto _ : state) {
        const ids& x = v[order[i++ & 4095]];
        benchmark::DoNotOptimize(l.find({x.call_id, x.local, x.remote}));
    }
    state.counters["dialogs"] = static_cast<double>(l.size());
}
BENCHMARK(BM_DialogLookup)->Arg(1000)->Arg(100000);

// The keyed 128-bit digest of a dialog id (Call-ID 33 bytes, two 16-byte tags).
void BM_DialogKeyHash(benchmark::State& state) {
    const std::string call_id = "7-0123456789abcdefghij@tandem", a = "0123456789abcdef",
                      b = "fedcba9876543210";
    for (auto _ : state) {
        util::siphash13 h(key, true);
        h.add_u32(0x44);
        h.add_field(call_id);
        h.add_field(a);
        h.add_field(b);
        benchmark::DoNotOptimize(h.finish128());
    }
}
BENCHMARK(BM_DialogKeyHash);

void BM_MintBranch(benchmark::State& state) {
    util::id_generator g(7, key);
    char buf[util::id_generator::max_branch];
    for (auto _ : state)
        benchmark::DoNotOptimize(g.make_branch(buf, sizeof buf));
}
BENCHMARK(BM_MintBranch);

// Memory per object: sizeof plus its share of pool bookkeeping, table slots and text arena.
void BM_MemoryPerObject(benchmark::State& state) {
    transaction_layer tl(config(65536), key);
    dialog::dialog_config dc;
    dc.max_dialogs = 65536;
    dialog::dialog_layer dl(dc, key);
    for (auto _ : state)
        benchmark::DoNotOptimize(tl.size());
    state.counters["sizeof_txn"] = sizeof(transaction);
    state.counters["txn_bytes_each"] =
        static_cast<double>(tl.memory_bytes()) / static_cast<double>(tl.capacity());
    state.counters["sizeof_dialog"] = sizeof(dialog::dialog);
    state.counters["dialog_bytes_each"] =
        static_cast<double>(dl.memory_bytes()) / static_cast<double>(dl.capacity());
}
BENCHMARK(BM_MemoryPerObject)->Iterations(1);

} // namespace

BENCHMARK_MAIN();
