#pragma once

#include "sip/txn/txn_types.h"
#include "sip/util/ids.h"
#include "sip/util/open_table.h"
#include "sip/util/pool.h"
#include "sip/util/siphash.h"
#include "sip/util/text_slab.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace tandem::sip::dialog {

using txn::method_id;

/// Dialog-layer settings, one copy per shard, read at start.
struct dialog_config {
    /// Capacity of the per-shard dialog pool and table.
    uint32_t max_dialogs = 65536;
    /// The most text bytes one dialog may hold (Call-ID, tags, local/remote URI, route set,
    /// remote target). Each dialog takes a block of the size its text needs (32-byte classes)
    /// from a per-shard slab that reserves twice max_dialogs * text_bytes of address space and
    /// touches memory only as blocks are used. A dialog whose text is larger is refused
    /// (`too_large`). At most 65535.
    uint32_t text_bytes = 512;
};

enum class dialog_state : uint8_t { early, confirmed, terminated };
enum class dialog_role : uint8_t { uac, uas };

/// Handle to a dialog: pool index + generation; goes stale when the dialog terminates.
struct dialog_id {
    uint32_t index = UINT32_MAX;
    uint32_t generation = 0;
    [[nodiscard]] bool valid() const noexcept { return index != UINT32_MAX; }
    friend bool operator==(const dialog_id&, const dialog_id&) = default;
};

/// RFC 3261 s12: a dialog is identified by Call-ID, local tag and remote tag (views).
struct dialog_key {
    std::string_view call_id;
    std::string_view local_tag;
    std::string_view remote_tag;
};

/// What establishes (or updates) a dialog, as views into the message at hand, seen from our
/// side: for a UAC, local = From, remote = To; for a UAS the other way round.
struct dialog_params {
    dialog_key id;
    std::string_view local_uri;
    std::string_view remote_uri;
    std::string_view remote_target; ///< the Contact URI (without < >)
    /// Record-Route values in message order (each a name-addr such as `<sip:p1;lr>`). The UAS
    /// keeps that order, the UAC reverses it (s12.1.1, s12.1.2).
    std::span<const std::string_view> record_route;
    uint32_t cseq = 0; ///< the request's CSeq number (UAS: remote CSeq; UAC: local CSeq)
};

/// One dialog's state (RFC 3261 s12.1). Text fields are views into the dialog's own text block,
/// valid until the dialog terminates or its route set or remote target is updated (an update
/// may move the whole block).
class dialog {
public:
    [[nodiscard]] std::string_view call_id() const noexcept { return view(_call_id); }
    [[nodiscard]] std::string_view local_tag() const noexcept { return view(_local_tag); }
    [[nodiscard]] std::string_view remote_tag() const noexcept { return view(_remote_tag); }
    [[nodiscard]] std::string_view local_uri() const noexcept { return view(_local_uri); }
    [[nodiscard]] std::string_view remote_uri() const noexcept { return view(_remote_uri); }
    [[nodiscard]] std::string_view remote_target() const noexcept { return view(_remote_target); }
    /// The route set as one Route header value ("<sip:a;lr>, <sip:b;lr>"), in the order to
    /// send it; empty when there is none.
    [[nodiscard]] std::string_view route_set() const noexcept { return view(_route_set); }
    /// The first element of the route set (the next hop with loose routing); empty if none.
    [[nodiscard]] std::string_view first_route() const noexcept { return view(_first_route); }
    [[nodiscard]] size_t route_count() const noexcept { return _route_count; }
    [[nodiscard]] dialog_state state() const noexcept { return _state; }
    [[nodiscard]] dialog_role role() const noexcept { return _role; }
    [[nodiscard]] uint32_t local_cseq() const noexcept { return _local_cseq; }
    /// Highest CSeq received from the peer; meaningful only if `has_remote_cseq()`.
    [[nodiscard]] uint32_t remote_cseq() const noexcept { return _remote_cseq; }
    [[nodiscard]] bool has_remote_cseq() const noexcept { return _has_remote_cseq; }
    [[nodiscard]] uint64_t user() const noexcept { return _user; }

private:
    friend class dialog_layer;
    struct text_span {
        uint16_t off = 0;
        uint16_t len = 0;
    };
    [[nodiscard]] std::string_view view(text_span s) const noexcept {
        return {_text + s.off, s.len};
    }

    // (Call-ID, local tag, remote tag); for a local tag Tandem minted, that tag's PRF bits.
    util::digest128 _key;
    // (Call-ID, local tag): the dialogs forked from one INVITE; for a minted tag, its bits.
    util::digest128 _group_key;
    char* _text = nullptr;
    uint64_t _user = 0;
    uint64_t _ack_msg = txn::no_msg; // UAC: the ACK for the 2xx, re-sent on retransmissions
    uint32_t _ack_cseq = 0;
    uint32_t _group_next = 0; // circular list of the group (UAC); self when alone
    uint32_t _local_cseq = 0;
    uint32_t _remote_cseq = 0;
    text_span _call_id, _local_tag, _remote_tag, _local_uri, _remote_uri;
    text_span _route_set, _first_route, _remote_target;
    uint16_t _text_cap = 0; // size of the block `_text` points to
    uint16_t _route_count = 0;
    dialog_state _state = dialog_state::terminated;
    dialog_role _role = dialog_role::uac;
    bool _has_remote_cseq = false;
    bool _in_group = false;
};

enum class dialog_status : uint8_t {
    ok,
    full,         ///< no free dialog: answer 503 + Retry-After, count it
    too_large,    ///< the dialog's text does not fit `text_bytes` (or the text slab is
                  ///< exhausted): answer 500 (or 513)
    stale,        ///< the id refers to a terminated dialog
    out_of_order, ///< s12.2.2: CSeq lower than the remote CSeq: answer 500
    exists,       ///< a dialog with this id exists already
};

/// What `on_uac_response` did.
enum class uac_outcome : uint8_t {
    created_early,     ///< a new early dialog (a new fork, 1xx with a new To tag)
    updated_early,     ///< an existing early dialog (remote target refreshed)
    confirmed,         ///< the dialog is confirmed by this 2xx; its early siblings terminated
    retransmitted_2xx, ///< a 2xx for a dialog already confirmed: re-send the ACK (`ack_for_2xx`)
    extra_confirmed,   ///< a 2xx from a second fork after another was confirmed: the TU ACKs
                       ///< it and sends BYE on it (s13.2.2.4)
    ignored,           ///< not dialog-creating (no To tag, status 100 or >= 300)
    refused,           ///< could not create it (`status` says why)
};

struct uac_result {
    uac_outcome outcome = uac_outcome::ignored;
    dialog_status status = dialog_status::ok;
    dialog_id id;
};

struct create_result {
    dialog_status status = dialog_status::full;
    dialog_id id;
};

/// RFC 3261 s12 dialogs of one shard: creation on either side, forking (several early dialogs
/// per INVITE, one confirmed), CSeq checks, route set, target refresh and lookup. Pool, text
/// arena and table are allocated in the constructor; nothing allocates afterwards. One per
/// shard; not thread-safe.
class dialog_layer {
public:
    dialog_layer(const dialog_config& cfg, const util::hash_key& key);

    /// A local tag this shard just minted, with its `util::id_generator::last_bits`: a dialog
    /// keyed by it next is keyed without decoding the tag.
    void note_minted_tag(std::string_view tag, const util::digest128& bits) noexcept {
        _tags.remember(tag, bits);
    }

    /// UAS side: the TU answers a dialog-creating request with a To tag, in a 101-199
    /// (`early`) or a 2xx (`confirmed`). `p.cseq` is the request's CSeq (the remote CSeq);
    /// `local_cseq` is the first CSeq this side will use minus one (s12.1.1: any value).
    [[nodiscard]] create_result create_uas(const dialog_params& p, dialog_state state,
                                           uint32_t local_cseq, uint64_t user);

    /// UAC side: a response to our dialog-creating INVITE (`p` from it, `p.cseq` = the
    /// INVITE's CSeq). 101-199 with a To tag creates or updates an early dialog, one per To
    /// tag (forking). A 2xx creates or confirms the dialog and terminates its early siblings,
    /// calling `on_terminated(dialog_id, user)` for each before they are freed.
    template <class OnTerminated>
    uac_result on_uac_response(const dialog_params& p, uint16_t status, uint64_t user,
                               OnTerminated&& on_terminated);

    /// UAC side: the INVITE failed (final 300-699, timeout): terminates every early dialog of
    /// (Call-ID, local tag), calling `on_terminated` for each. Returns how many.
    template <class OnTerminated>
    size_t on_uac_failure(std::string_view call_id, std::string_view local_tag,
                          OnTerminated&& on_terminated);

    /// Starts loading the table slot a `find` (or the create/update) of `k` probes first, so
    /// that its cache miss overlaps the caller's checks of the message. Changes nothing. Only
    /// for a local tag Tandem minted (its key is the tag's bits, key_of): any other key would
    /// cost a SipHash here and again in `find`, for a tag no dialog of ours carries.
    void prefetch(const dialog_key& k) const noexcept {
        util::digest128 bits;
        if (_tags.bits(k.local_tag, bits)) _table.prefetch(bits.lo);
    }

    /// Finds the dialog of an in-dialog request or response. An invalid id means "no such
    /// dialog": answer 481 (s12.2.2).
    [[nodiscard]] dialog_id find(const dialog_key& k) const noexcept;
    /// The dialog behind `id`, or nullptr if stale.
    [[nodiscard]] const dialog* get(dialog_id id) const noexcept;

    /// s12.2.2, a request received inside the dialog: rejects a CSeq lower than the remote
    /// CSeq (`out_of_order`: answer 500), records the new remote CSeq, and for a target
    /// refresh request (INVITE, UPDATE) with a Contact replaces the remote target. ACK is not
    /// checked (it carries its INVITE's CSeq).
    [[nodiscard]] dialog_status on_remote_request(dialog_id id, uint32_t cseq, method_id m,
                                                  std::string_view contact);

    /// UAC side of a target refresh: a 2xx to our re-INVITE / UPDATE with this Contact.
    [[nodiscard]] dialog_status refresh_target(dialog_id id, std::string_view contact);

    /// Confirms an early dialog (UAS: the 2xx was sent).
    [[nodiscard]] dialog_status confirm(dialog_id id);

    /// The CSeq for the next request this side sends in the dialog (increments it).
    [[nodiscard]] uint32_t next_local_cseq(dialog_id id) noexcept;

    /// UAC: keeps the ACK (`msg`, CSeq `cseq`) sent for the 2xx, to re-send it for each
    /// retransmitted 2xx. Returns the previous ACK handle for the caller to release, or no_msg.
    [[nodiscard]] uint64_t set_ack(dialog_id id, uint32_t cseq, uint64_t msg) noexcept;
    /// UAC: the ACK to re-send for a retransmitted 2xx with CSeq `cseq`, or no_msg.
    [[nodiscard]] uint64_t ack_for_2xx(dialog_id id, uint32_t cseq) const noexcept;

    /// Ends the dialog and frees it. Returns the ACK handle it held (release it), or no_msg.
    uint64_t terminate(dialog_id id) noexcept;

    [[nodiscard]] size_t size() const noexcept { return _pool.size(); }
    [[nodiscard]] size_t capacity() const noexcept { return _pool.capacity(); }
    [[nodiscard]] uint64_t full_count() const noexcept { return _full_count; }
    /// Bytes the layer owns: pool and table, plus the text blocks carved so far (the text's
    /// high-water mark; the rest of the slab's reservation is address space only).
    [[nodiscard]] size_t memory_bytes() const noexcept {
        return sizeof(*this) + _pool.memory_bytes() + _table.memory_bytes() + _slab.carved_bytes();
    }
    /// Bytes of text blocks held by live dialogs.
    [[nodiscard]] size_t text_bytes_in_use() const noexcept { return _slab.used_bytes(); }

private:
    dialog* get_mut(dialog_id id) noexcept;
    dialog_id id_of(uint32_t i) const noexcept { return {i, _pool.generation(i)}; }
    util::digest128 key_of(const dialog_key& k) const noexcept;
    util::digest128 group_of(std::string_view call_id, std::string_view local_tag) const noexcept;
    // The dialog with key `k` (key_of(id)) and id `id`, or npos.
    uint32_t find_index(const util::digest128& k, const dialog_key& id) const noexcept;
    // The member of fork group `g` (group_of(call_id, ...)) the table names, or npos.
    uint32_t find_group(const util::digest128& g, std::string_view call_id) const noexcept;
    // `k` is key_of(p.id), hashed once by the caller; `known_absent` when the caller has just
    // looked it up and found nothing.
    create_result create(const dialog_params& p, const util::digest128& k, bool known_absent,
                         dialog_role role, dialog_state state);
    bool write_variable(dialog& d, std::span<const std::string_view> rr, bool reverse,
                        std::string_view target) noexcept;
    bool set_target(dialog& d, std::string_view target) noexcept;
    // Makes `d`'s block hold at least `need` bytes, keeping its first `keep` bytes; the old
    // block (if moved) is returned in `old`/`old_size` for the caller to free once it has read
    // from it. False when no block is free.
    bool grow(dialog& d, size_t need, size_t keep, uint32_t& old, uint32_t& old_size) noexcept;
    void free_index(uint32_t i) noexcept;
    // Frees the early members of `i`'s fork group other than `i`, calling f(id, user) first.
    template <class F>
    size_t end_siblings(uint32_t i, F&& f);

    dialog_config _cfg;
    util::hash_key _key;
    util::pool<dialog> _pool;
    util::open_table _table; // dialog keys and group keys
    util::text_slab _slab;
    uint64_t _full_count = 0;
    mutable util::tag_bits_memo _tags; // key_of / group_of: minted local tags decoded
};

// ---------------------------------------------------------------------------------------------

template <class F>
size_t dialog_layer::end_siblings(uint32_t i, F&& f) {
    // Walks the circular group list once; freeing a member unlinks it but keeps `next` valid.
    size_t n = 0;
    uint32_t cur = _pool[i]._group_next;
    while (cur != i) {
        const uint32_t next = _pool[cur]._group_next;
        if (_pool[cur]._state == dialog_state::early) {
            f(id_of(cur), _pool[cur]._user);
            free_index(cur);
            ++n;
        }
        cur = next;
    }
    return n;
}

template <class OnTerminated>
uac_result dialog_layer::on_uac_response(const dialog_params& p, uint16_t status, uint64_t user,
                                         OnTerminated&& on_terminated) {
    uac_result r;
    if (status <= 100 || status >= 300 || p.id.remote_tag.empty()) return r;
    const util::digest128 k = key_of(p.id);
    uint32_t i = find_index(k, p.id);
    if (i == util::open_table::npos) {
        const create_result c =
            create(p, k, true, dialog_role::uac,
                   status < 200 ? dialog_state::early : dialog_state::confirmed);
        if (c.status != dialog_status::ok) {
            r.outcome = uac_outcome::refused;
            r.status = c.status;
            return r;
        }
        i = c.id.index;
        _pool[i]._user = user;
        _pool[i]._local_cseq = p.cseq;
        r.id = c.id;
        if (status < 200) {
            r.outcome = uac_outcome::created_early;
            return r;
        }
        // A new confirmed dialog: is another fork already confirmed?
        bool other_confirmed = false;
        for (uint32_t c2 = _pool[i]._group_next; c2 != i; c2 = _pool[c2]._group_next)
            if (_pool[c2]._state == dialog_state::confirmed) other_confirmed = true;
        end_siblings(i, on_terminated);
        r.outcome = other_confirmed ? uac_outcome::extra_confirmed : uac_outcome::confirmed;
        return r;
    }
    dialog& d = _pool[i];
    r.id = id_of(i);
    if (status < 200) {
        if (d._state != dialog_state::early) return r; // late 1xx: ignored
        if (!p.remote_target.empty() && !set_target(d, p.remote_target)) {
            r.outcome = uac_outcome::refused;
            r.status = dialog_status::too_large;
            return r;
        }
        r.outcome = uac_outcome::updated_early;
        return r;
    }
    if (d._state == dialog_state::confirmed) {
        r.outcome = uac_outcome::retransmitted_2xx;
        return r;
    }
    // s13.2.2.4: early -> confirmed, route set recomputed from the 2xx.
    if (!write_variable(d, p.record_route, true,
                        p.remote_target.empty() ? d.remote_target() : p.remote_target)) {
        r.outcome = uac_outcome::refused;
        r.status = dialog_status::too_large;
        return r;
    }
    d._state = dialog_state::confirmed;
    bool other_confirmed = false;
    for (uint32_t c2 = d._group_next; c2 != i; c2 = _pool[c2]._group_next)
        if (_pool[c2]._state == dialog_state::confirmed) other_confirmed = true;
    end_siblings(i, on_terminated);
    r.outcome = other_confirmed ? uac_outcome::extra_confirmed : uac_outcome::confirmed;
    return r;
}

template <class OnTerminated>
size_t dialog_layer::on_uac_failure(std::string_view call_id, std::string_view local_tag,
                                    OnTerminated&& on_terminated) {
    const uint32_t i = find_group(group_of(call_id, local_tag), call_id);
    if (i == util::open_table::npos) return 0;
    size_t n = end_siblings(i, on_terminated);
    if (_pool[i]._state == dialog_state::early) {
        on_terminated(id_of(i), _pool[i]._user);
        free_index(i);
        ++n;
    }
    return n;
}

} // namespace tandem::sip::dialog
