#pragma once
// The B2BUA engine of one shard: every datagram the shard owns goes in, every message Tandem
// sends comes out through `transport`. It parses, runs the transaction layer, keeps the calls
// (each a BackToBackCall of two dialogs, the A-leg where Tandem is UAS and the B-leg where it is
// UAC), and asks the scenario what to do at each decision point. Pure: no I/O, no clock, no
// threads; time comes in as ticks. Preallocated at construction; the per-message path does not
// allocate. One engine per shard; not thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "sip/b2b/header_policy.h"
#include "sip/endpoint.h"
#include "sip/message.h"
#include "sip/txn/txn_config.h"
#include "sip/util/siphash.h"
#include "sip/util/timer_wheel.h"

namespace tandem::sip::b2b {

using util::tick_t;

/// Where outgoing datagrams go. The shard implements it over its I/O backend.
class transport {
public:
    virtual ~transport() = default;
    /// Queues `len` bytes for `dest`. The bytes are only valid during the call: copy them.
    /// Returns false when the datagram could not be queued (counted by the engine).
    virtual bool send(const char* data, size_t len, const endpoint& dest) noexcept = 0;
};

/// The state of one leg (Microsoft UCMA's BackToBackCall leg states).
enum class leg_state : uint8_t {
    idle,
    incoming,
    establishing,
    established,
    terminating,
    terminated
};
/// The call's state derived from both legs: established only when both are, terminated only
/// when both are.
enum class call_state : uint8_t {
    idle,
    incoming,
    establishing,
    established,
    terminating,
    terminated
};

[[nodiscard]] std::string_view to_string(leg_state s) noexcept;
[[nodiscard]] std::string_view to_string(call_state s) noexcept;
[[nodiscard]] call_state combine(leg_state a, leg_state b) noexcept;

/// A handle on a call given to the scenario. Valid only during the callback that received it.
class engine;
struct call_handle {
    engine* owner = nullptr;
    uint32_t index = 0;
};

/// The decisions a scenario program makes. The built-in default (`default_scenario`) bridges
/// every call to one target; the scenario language compiles to an implementation of this.
class scenario {
public:
    virtual ~scenario() = default;
    /// A new call (the A-leg's initial INVITE). Decide with bridge() or reject(); doing
    /// neither rejects the call with 500.
    virtual void on_initial_invite(engine& e, call_handle call, const message& invite) = 0;
    /// The B-leg failed before it was answered: `code` is its final response (or 408 for no
    /// answer, 503 for a transport failure). Calling bridge() again tries another target
    /// (failover) without the caller noticing; doing nothing relays the failure to the A-leg.
    virtual void on_bridge_failure(engine& e, call_handle call, int code) {
        (void)e;
        (void)call;
        (void)code;
    }
};

/// Bridges every call to `target`, or to the A-leg's Request-URI when `use_request_uri`.
class default_scenario final : public scenario {
public:
    default_scenario(std::string_view target, bool use_request_uri) noexcept
        : _target(target), _use_request_uri(use_request_uri) {}
    void on_initial_invite(engine& e, call_handle call, const message& invite) override;

private:
    std::string_view _target; // owned by the configuration snapshot
    bool _use_request_uri;
};

struct engine_config {
    uint16_t shard = 0;
    txn::txn_config txn;
    /// Calls this engine holds at most; a new INVITE beyond gets 503 + Retry-After.
    uint32_t max_calls = 10000;
    /// New calls admitted per second (a token bucket with one second of burst); beyond it, 503
    /// with Retry-After. 0: unlimited.
    uint32_t max_cps = 0;
    uint32_t retry_after_s = 5;
    /// No final answer from the B-leg within this time: CANCEL it, 480 to the caller. 0: none.
    uint32_t ring_timeout_ms = 120000;
    /// Message buffers per size class (512 B, 2 KiB, 64 KiB).
    uint32_t buffers[3] = {65536, 16384, 64};
    /// The address Tandem writes in its Via and Contact headers.
    endpoint local;
    /// What Tandem calls itself in Server and User-Agent headers.
    std::string_view user_agent = "Tandem";
};

/// Counters of one engine; single writer (its shard), read racily by the control plane.
struct engine_stats {
    uint64_t rx_requests = 0;
    uint64_t rx_responses = 0;
    uint64_t parse_errors = 0;      ///< answered 400 where possible, else dropped
    uint64_t dropped = 0;           ///< not answerable (bad responses, stray ACKs, ...)
    uint64_t rejected_semantic = 0; ///< answered with the semantic check's code
    uint64_t calls_started = 0;
    uint64_t calls_answered = 0;
    uint64_t calls_failed = 0;       ///< ended before they were answered
    uint64_t calls_ended = 0;        ///< every call that was freed
    uint64_t calls_refused_full = 0; ///< 503: call, transaction or buffer capacity reached
    uint64_t calls_refused_rate = 0; ///< 503: over `max_cps`
    uint64_t no_dialog = 0;          ///< 481 answers
    uint64_t send_failures = 0;
    uint64_t buffer_exhausted = 0;
};

class engine {
public:
    engine(const engine_config& cfg, transport& out, scenario& scen,
           std::shared_ptr<const header_policy> policy, const util::hash_key& key, tick_t now);
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    /// One datagram from `src`. `data` must stay valid and unchanged during the call only.
    void on_datagram(const char* data, size_t len, const endpoint& src, tick_t now) noexcept;
    /// Runs every timer due at or before `now`.
    void on_tick(tick_t now) noexcept;
    /// The earliest tick at which `on_tick` may have a timer to run (`util::no_timer` when none
    /// is armed): until then the shard may sleep without calling it.
    [[nodiscard]] tick_t next_due() const noexcept;

    // The scenario's actions (call them from a scenario callback, with its handle) -----------
    /// Opens (or, after a failure, re-opens) the B-leg towards `target_uri` (a sip: URI with an
    /// IP literal host). Returns false when the target is unusable or capacity is exhausted.
    bool bridge(call_handle call, std::string_view target_uri) noexcept;
    /// Answers the A-leg with a final failure `code` (300-699).
    void reject(call_handle call, int code, std::string_view reason) noexcept;
    /// Ends the call after `seconds` of talk time (prepaid, fraud limits). 0: no limit.
    void limit_duration(call_handle call, uint32_t seconds) noexcept;
    /// Uses `policy` for this call's header pass-through from now on.
    void set_policy(call_handle call, std::shared_ptr<const header_policy> policy) noexcept;
    /// The call's combined state.
    [[nodiscard]] call_state state(call_handle call) const noexcept;
    /// Ends the call: BYE (or CANCEL / a final failure) on each leg that is still up.
    void hangup(call_handle call) noexcept;

    [[nodiscard]] size_t calls_active() const noexcept;
    [[nodiscard]] const engine_stats& stats() const noexcept { return _stats; }
    /// Transactions alive, for tests that check nothing is left behind.
    [[nodiscard]] size_t transactions_active() const noexcept;
    /// Message buffers in use.
    [[nodiscard]] size_t buffers_in_use() const noexcept;
    /// Bytes of state one call takes in the call pool.
    [[nodiscard]] static size_t call_bytes() noexcept;

    struct impl;

private:
    std::unique_ptr<impl> _impl;
    engine_stats _stats;
};

} // namespace tandem::sip::b2b
