#pragma once

#include "sip/message.h"
#include "sip/txn/txn_types.h"

namespace tandem::sip::txn {

/// Fills the transaction-matching key of a parsed request from its top Via, CSeq, Call-ID,
/// From/To tags and Request-URI. The views point into `m`'s buffer and live as long as it.
/// Returns false when `m` is not a request or lacks a usable top Via, CSeq or Call-ID (the
/// caller answers 400 or drops it). Any core; no allocation.
[[nodiscard]] bool request_key_from(const message& m, request_key& out) noexcept;

/// Fills the client-matching key of a parsed response (top Via branch, CSeq method, status).
/// Returns false when `m` is not a response or lacks a usable top Via or CSeq (drop it).
[[nodiscard]] bool response_key_from(const message& m, response_key& out) noexcept;

} // namespace tandem::sip::txn
