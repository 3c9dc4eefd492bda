#pragma once

#include "sip/txn/txn_config.h"
#include "sip/txn/txn_types.h"
#include "sip/util/ids.h"
#include "sip/util/open_table.h"
#include "sip/util/pool.h"
#include "sip/util/siphash.h"
#include "sip/util/timer_wheel.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tandem::sip::txn {

/// UAS 2xx reliability (RFC 3261 s13.3.1.4), a TU-level helper: the INVITE server transaction
/// does not retransmit a 2xx (RFC 6026), so the TU hands the 2xx here. It is re-sent at T1,
/// then at intervals doubling up to T2, until the matching ACK arrives (`on_ack`) or 64*T1
/// passes; then `ack_timeout` tells the TU to confirm the dialog and send BYE. Retransmission
/// happens on every transport (the 2xx is end to end). The UAC side (re-send the ACK for each
/// retransmitted 2xx) lives in the dialog (`dialog_layer::ack_for_2xx`).
///
/// Entries are keyed by (Call-ID, local tag, CSeq number); actions carry the entry's handle in
/// `txn`. A local tag in util::id_generator's format is taken as Tandem's own, minted for one
/// INVITE and so naming one Call-ID: such entries are keyed by (local tag, CSeq) alone, so the
/// TU checks the Call-ID (it finds the dialog first). Preallocated; one per shard; not
/// thread-safe.
class uas_2xx_retransmitter {
public:
    uas_2xx_retransmitter(const txn_config& cfg, size_t capacity, const util::hash_key& key,
                          util::tick_t now = 0);

    /// A local tag this shard just minted, with its `util::id_generator::last_bits`: an entry
    /// keyed by it next is keyed without decoding the tag.
    void note_minted_tag(std::string_view tag, const util::digest128& bits) noexcept {
        _tags.remember(tag, bits);
    }

    /// Call right after sending the 2xx (first transmission is the TU's). Takes one reference
    /// to `msg`. Starting again for the same key replaces the message (and restarts timers).
    /// Returns `full` when no entry is free (the 2xx then goes unprotected; count it).
    [[nodiscard]] txn_status start(std::string_view call_id, std::string_view local_tag,
                                   uint32_t cseq, uint64_t msg, const endpoint& dest, uint64_t user,
                                   util::tick_t now, action_sink& out);

    /// An ACK for a 2xx arrived (the transaction layer said `ack_to_tu`). Stops the matching
    /// entry and releases its message. Returns false when nothing matched (a re-sent ACK).
    bool on_ack(std::string_view call_id, std::string_view local_tag, uint32_t cseq,
                action_sink& out);

    /// Runs retransmissions and timeouts due at or before `now`.
    size_t advance(util::tick_t now, action_sink& out);
    /// No retransmission or timeout is due before this tick (`util::no_timer`: none armed).
    [[nodiscard]] util::tick_t next_due() const noexcept { return _wheel.next_due(); }

    [[nodiscard]] size_t size() const noexcept { return _pool.size(); }
    [[nodiscard]] size_t memory_bytes() const noexcept {
        return sizeof(*this) + _pool.memory_bytes() + _table.memory_bytes();
    }

private:
    struct entry {
        util::timer timer;
        util::digest128 key;
        uint64_t msg = no_msg;
        uint64_t user = 0;
        util::tick_t deadline = 0;
        endpoint dest;
        uint32_t interval = 0;
    };
    util::digest128 key_of(std::string_view call_id, std::string_view local_tag,
                           uint32_t cseq) const noexcept;
    void emit(uint32_t index, action_kind k, uint64_t msg, action_sink& out) const noexcept;
    void remove(uint32_t index, action_sink& out) noexcept;

    util::hash_key _key;
    uint64_t _t1, _t2, _t64;
    util::pool<entry> _pool;
    util::open_table _table;
    util::timer_wheel _wheel;
    mutable util::tag_bits_memo _tags; // key_of: minted local tags decoded
};

} // namespace tandem::sip::txn
