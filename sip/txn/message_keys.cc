#include "sip/txn/message_keys.h"

namespace tandem::sip::txn {

bool request_key_from(const message& m, request_key& out) noexcept {
    if (!m.is_request()) return false;
    const auto& via = m.top_via();
    const auto& cseq = m.cseq();
    const auto& call_id = m.call_id();
    if (!via.ok() || !cseq.ok() || !call_id.ok()) return false;
    out = request_key{};
    out.method = m.method();
    out.method_name = m.method_name();
    out.branch = via->branch;
    out.sent_by_host = via->host;
    out.sent_by_port = via->port;
    out.request_uri = m.request_uri();
    out.call_id = *call_id;
    out.cseq = cseq->number;
    if (const auto& from = m.from(); from.ok()) out.from_tag = from->tag;
    if (const auto& to = m.to(); to.ok()) out.to_tag = to->tag;
    if (const size_t i = m.find(header_id::via); i != message::npos) out.top_via = m.value(i);
    return true;
}

bool response_key_from(const message& m, response_key& out) noexcept {
    if (!m.is_response()) return false;
    const auto& via = m.top_via();
    const auto& cseq = m.cseq();
    if (!via.ok() || !cseq.ok()) return false;
    out = response_key{};
    out.status = static_cast<uint16_t>(m.status_code());
    out.branch = via->branch;
    out.cseq_method = cseq->method;
    out.cseq_method_name = cseq->method_name;
    return true;
}

} // namespace tandem::sip::txn
