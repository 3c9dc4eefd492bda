#include "sip/txn/ack_2xx.h"

#include <algorithm>

#include "sip/util/ids.h"

namespace tandem::sip::txn {

uas_2xx_retransmitter::uas_2xx_retransmitter(const txn_config& cfg, size_t capacity,
                                             const util::hash_key& key, util::tick_t now)
    : _key(key), _t1(cfg.ticks(cfg.t1_ms)), _t2(cfg.ticks(cfg.t2_ms)),
      _t64(cfg.ticks(uint64_t{64} * cfg.t1_ms)), _pool(capacity), _table(capacity), _wheel(now) {}

util::digest128 uas_2xx_retransmitter::key_of(std::string_view call_id, std::string_view local_tag,
                                              uint32_t cseq) const noexcept {
    // A local tag Tandem minted (util::id_generator) is 80 bits of keyed PRF output, drawn once
    // for one INVITE and so for one Call-ID: the tag's bits and the CSeq are the key, unhashed.
    // The upper half keeps the tag's last 16 bits, the CSeq and a mark in bits SipHash output
    // fills at random; the CSeq is also multiplied into the lower half, which places the entry.
    util::digest128 bits;
    if (_tags.bits(local_tag, bits)) {
        return {bits.lo ^ (uint64_t{cseq} * 0x9e3779b97f4a7c15ULL),
                bits.hi | uint64_t{cseq} << 16 | uint64_t{0xa} << 60};
    }
    util::siphash13 h(_key, true);
    h.add_field(call_id);
    h.add_field(local_tag);
    h.add_u32(cseq);
    return h.finish128();
}

void uas_2xx_retransmitter::emit(uint32_t index, action_kind k, uint64_t msg,
                                 action_sink& out) const noexcept {
    const entry& e = _pool[index];
    action a;
    a.kind = k;
    a.txn = {index, _pool.generation(index)};
    a.user = e.user;
    a.msg = msg;
    a.dest = e.dest;
    out.emit(a);
}

void uas_2xx_retransmitter::remove(uint32_t index, action_sink& out) noexcept {
    entry& e = _pool[index];
    _wheel.cancel(e.timer);
    (void)_table.erase(e.key.lo, index);
    if (e.msg != no_msg) emit(index, action_kind::release, e.msg, out);
    _pool.free(index);
}

txn_status uas_2xx_retransmitter::start(std::string_view call_id, std::string_view local_tag,
                                        uint32_t cseq, uint64_t msg, const endpoint& dest,
                                        uint64_t user, util::tick_t now, action_sink& out) {
    const util::digest128 key = key_of(call_id, local_tag, cseq);
    uint32_t index = _table.find(key.lo, [&](uint32_t i) { return _pool[i].key == key; });
    if (index != util::open_table::npos) {
        entry& e = _pool[index];
        if (e.msg != no_msg) emit(index, action_kind::release, e.msg, out);
    } else {
        index = _pool.alloc();
        if (index == util::pool<entry>::npos) return txn_status::full;
        if (_table.insert(key.lo, index) != util::insert_status::ok) {
            _pool.free(index);
            return txn_status::full;
        }
    }
    entry& e = _pool[index];
    e.key = key;
    e.msg = msg;
    e.user = user;
    e.dest = dest;
    e.deadline = now + _t64;
    e.interval = static_cast<uint32_t>(_t1);
    e.timer.data = index;
    _wheel.start(e.timer, now + _t1);
    return txn_status::ok;
}

bool uas_2xx_retransmitter::on_ack(std::string_view call_id, std::string_view local_tag,
                                   uint32_t cseq, action_sink& out) {
    const util::digest128 key = key_of(call_id, local_tag, cseq);
    const uint32_t index = _table.find(key.lo, [&](uint32_t i) { return _pool[i].key == key; });
    if (index == util::open_table::npos) return false;
    remove(index, out);
    return true;
}

size_t uas_2xx_retransmitter::advance(util::tick_t now, action_sink& out) {
    return _wheel.advance(now, [&](util::timer& tm) {
        const auto index = static_cast<uint32_t>(tm.data);
        entry& e = _pool[index];
        const util::tick_t at = tm.expire;
        if (at >= e.deadline) {
            emit(index, action_kind::ack_timeout, no_msg, out);
            remove(index, out);
            return;
        }
        emit(index, action_kind::send, e.msg, out);
        e.interval = static_cast<uint32_t>(std::min<uint64_t>(2 * uint64_t{e.interval}, _t2));
        _wheel.start(e.timer, std::min(at + e.interval, e.deadline));
    });
}

} // namespace tandem::sip::txn
