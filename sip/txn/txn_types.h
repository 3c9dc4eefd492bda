#pragma once

#include "sip/endpoint.h"
#include "sip/message.h"

#include <cstdint>
#include <string_view>

namespace tandem::sip::txn {

/// Request methods, as the parser names them (`sip::method`; `other` covers extension methods,
/// which are keyed by their name). `sip::lookup_method` / `sip::method_name` map tokens.
using method_id = sip::method;

/// RFC 3261 s8.1.1.7 magic cookie: branches that start with it are unique (s17.2.3 matching).
inline constexpr std::string_view magic_cookie = "z9hG4bK";

/// Handle to a transaction: pool index plus generation. Goes stale (is refused) once the
/// transaction terminates, so a TU may keep it without a use-after-free.
struct txn_id {
    uint32_t index = UINT32_MAX;
    uint32_t generation = 0;
    [[nodiscard]] bool valid() const noexcept { return index != UINT32_MAX; }
    friend bool operator==(const txn_id&, const txn_id&) = default;
};

/// The fields of an incoming request that transaction matching reads (s17.2.3), as views into
/// the packet; only valid during the call that takes it. A parser adapter fills it.
struct request_key {
    method_id method = method_id::other;
    std::string_view method_name;  ///< the request-line method token
    std::string_view branch;       ///< top Via branch parameter (may be empty)
    std::string_view sent_by_host; ///< top Via sent-by host
    uint16_t sent_by_port = 0;     ///< top Via sent-by port (0 when absent)
    // RFC 2543 fallback, read only when `branch` lacks the magic cookie.
    std::string_view request_uri;
    std::string_view call_id;
    std::string_view from_tag;
    std::string_view to_tag;
    std::string_view top_via; ///< the whole top Via value
    uint32_t cseq = 0;
};

/// The fields of an incoming response that client-transaction matching reads (s17.1.3).
struct response_key {
    uint16_t status = 0;
    std::string_view branch; ///< top Via branch
    method_id cseq_method = method_id::other;
    std::string_view cseq_method_name; ///< the CSeq method token
};

/// Status of the calls that act on a transaction or a helper entry.
enum class txn_status : uint8_t {
    ok,
    full,      ///< table/pool full (caller answers 503 / fails the request)
    stale,     ///< the id refers to a terminated transaction
    bad_state, ///< the call is not allowed in the transaction's state (e.g. 1xx after final)
};

/// Sentinel for "no message held".
inline constexpr uint64_t no_msg = UINT64_MAX;

/// What the layer asks its driver (the shard / TU) to do. Message bytes never enter sip/txn:
/// the driver owns them and names them with an opaque 64-bit handle (an mbuf pointer, a buffer
/// index). Every call that takes a handle takes one reference to it, and the layer later emits
/// exactly one `release` for that reference.
enum class action_kind : uint8_t {
    send,            ///< transmit `msg` to `dest` (first send or retransmission)
    release,         ///< the layer no longer needs `msg`
    timeout,         ///< timer B or F: no final response; the TU acts as on a 408 (`status`)
                     ///< or timer H: no ACK for the non-2xx final response (`status` = 0)
    transport_error, ///< a send failed (driver reported it); the TU acts as on a 503 (s8.1.3.1)
    terminated,      ///< the transaction is gone; its id is stale from now on
    ack_timeout,     ///< (2xx helper) no ACK for a 2xx within 64*T1: TU confirms and sends BYE
};

struct action {
    action_kind kind = action_kind::send;
    uint16_t status = 0;
    txn_id txn;
    uint64_t user = 0; ///< the TU's cookie for this transaction (see `set_user`)
    uint64_t msg = no_msg;
    endpoint dest;
};

/// Receives the layer's actions, in order, synchronously, during the call that produced them.
/// The sink must not call back into the layer.
class action_sink {
public:
    virtual ~action_sink() = default;
    virtual void emit(const action& a) noexcept = 0;
};

} // namespace tandem::sip::txn
