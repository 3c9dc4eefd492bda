#include "sip/dialog/dialog_layer.h"

#include <cstring>

#include "sip/util/ids.h"

namespace tandem::sip::dialog {

namespace {
constexpr uint32_t domain_dialog = 0x44; // 'D'
constexpr uint32_t domain_group = 0x47;  // 'G'
// The same keys with every length packed into the first block (fields shorter than 64 KiB).
constexpr uint64_t domain_dialog_packed = 0x64; // 'd'
constexpr uint64_t domain_group_packed = 0x67;  // 'g'
constexpr size_t packed_max = 0xffff;
// The top nibble of a dialog or group key made from a local tag Tandem minted (key_of).
constexpr uint64_t native_dialog = 0xd;
constexpr uint64_t native_group = 0xe;
// True for a key key_of/group_of made from a minted tag: bits 16-59 of hi are zero there. A
// SipHash digest looks like one with probability 2^-48, and is then only compared as text too.
bool native(const util::digest128& k, uint64_t mark) noexcept {
    return (k.hi >> 16) == mark << 44;
}
constexpr std::string_view route_separator = ", ";
// memmove that accepts an empty view (whose data() may be null).
void put(char* dst, std::string_view s) noexcept {
    if (!s.empty()) std::memmove(dst, s.data(), s.size());
}
} // namespace

dialog_layer::dialog_layer(const dialog_config& cfg, const util::hash_key& key)
    : _cfg(cfg), _key(key), _pool(cfg.max_dialogs),
      // Dialog entries plus at most one fork-group entry per dialog: never full before the pool.
      _table(size_t{cfg.max_dialogs} * 2),
      _slab(size_t{cfg.max_dialogs} * (cfg.text_bytes > 65535 ? 65535 : cfg.text_bytes) * 2,
            cfg.text_bytes) {
    if (_cfg.text_bytes > 65535) _cfg.text_bytes = 65535;
}

util::digest128 dialog_layer::key_of(const dialog_key& k) const noexcept {
    // A local tag Tandem minted (util::id_generator) holds 80 bits of keyed PRF output, unique
    // per dialog it made (B-leg forks share theirs): those bits are the key, with no hashing,
    // and the Call-ID and remote tag are compared as text on lookup (find_index) instead.
    util::digest128 bits;
    if (_tags.bits(k.local_tag, bits)) {
        return {bits.lo, bits.hi | native_dialog << 60};
    }
    util::siphash13 h(_key, true);
    if (k.call_id.size() <= packed_max && k.local_tag.size() <= packed_max &&
        k.remote_tag.size() <= packed_max) {
        h.add_u64(domain_dialog_packed | uint64_t{k.call_id.size()} << 16 |
                  uint64_t{k.local_tag.size()} << 32 | uint64_t{k.remote_tag.size()} << 48);
        h.add_padded(k.call_id);
        h.add_padded(k.local_tag);
        h.add_padded(k.remote_tag);
        return h.finish128();
    }
    h.add_u32(domain_dialog);
    h.add_field(k.call_id);
    h.add_field(k.local_tag);
    h.add_field(k.remote_tag);
    return h.finish128();
}

util::digest128 dialog_layer::group_of(std::string_view call_id,
                                       std::string_view local_tag) const noexcept {
    util::digest128 bits;
    if (_tags.bits(local_tag, bits)) {
        return {bits.lo, bits.hi | native_group << 60}; // the Call-ID is compared on lookup
    }
    util::siphash13 h(_key, true);
    if (call_id.size() <= packed_max && local_tag.size() <= packed_max) {
        h.add_u64(domain_group_packed | uint64_t{call_id.size()} << 16 |
                  uint64_t{local_tag.size()} << 32);
        h.add_padded(call_id);
        h.add_padded(local_tag);
        return h.finish128();
    }
    h.add_u32(domain_group);
    h.add_field(call_id);
    h.add_field(local_tag);
    return h.finish128();
}

uint32_t dialog_layer::find_index(const util::digest128& k, const dialog_key& id) const noexcept {
    if (!native(k, native_dialog))
        return _table.find(k.lo, [&](uint32_t i) { return _pool[i]._key == k; });
    // Equal native keys mean the same local tag; the rest of the dialog id is compared here.
    return _table.find(k.lo, [&](uint32_t i) {
        const dialog& d = _pool[i];
        return d._key == k && d.call_id() == id.call_id && d.remote_tag() == id.remote_tag;
    });
}

uint32_t dialog_layer::find_group(const util::digest128& g,
                                  std::string_view call_id) const noexcept {
    const bool text = native(g, native_group);
    return _table.find(g.lo, [&](uint32_t i) {
        const dialog& d = _pool[i];
        return d._in_group && d._group_key == g && (!text || d.call_id() == call_id);
    });
}

dialog_id dialog_layer::find(const dialog_key& k) const noexcept {
    const uint32_t i = find_index(key_of(k), k);
    return i == util::open_table::npos ? dialog_id{} : id_of(i);
}

const dialog* dialog_layer::get(dialog_id id) const noexcept {
    if (!_pool.live(id.index) || _pool.generation(id.index) != id.generation) return nullptr;
    return &_pool[id.index];
}

dialog* dialog_layer::get_mut(dialog_id id) noexcept {
    if (!_pool.live(id.index) || _pool.generation(id.index) != id.generation) return nullptr;
    return &_pool[id.index];
}

bool dialog_layer::grow(dialog& d, size_t need, size_t keep, uint32_t& old,
                        uint32_t& old_size) noexcept {
    old = util::text_slab::npos;
    if (need <= d._text_cap) return true;
    uint32_t size = 0;
    const uint32_t off = _slab.alloc(need, size);
    if (off == util::text_slab::npos) return false;
    char* text = _slab.at(off);
    if (d._text != nullptr) {
        std::memcpy(text, d._text, keep);
        old = _slab.offset_of(d._text);
        old_size = d._text_cap;
    }
    d._text = text;
    d._text_cap = static_cast<uint16_t>(size);
    return true;
}

bool dialog_layer::write_variable(dialog& d, std::span<const std::string_view> rr, bool reverse,
                                  std::string_view target) noexcept {
    size_t routes_len = 0;
    for (size_t k = 0; k < rr.size(); ++k)
        routes_len += rr[k].size() + (k != 0 ? route_separator.size() : 0);
    const size_t start = size_t{d._remote_uri.off} + d._remote_uri.len;
    const size_t need = start + routes_len + target.size();
    if (need > _cfg.text_bytes || rr.size() > 65535) return false;
    uint32_t old = 0, old_size = 0;
    if (!grow(d, need, start, old, old_size)) return false;
    // The target may be the dialog's own current target (kept across a route-set update): move
    // it into place first (from the old block if the text moved, which stays intact until it
    // is freed below); the routes come from the message and never overlap it.
    put(d._text + start + routes_len, target);
    if (old != util::text_slab::npos) _slab.free(old, old_size);
    size_t pos = start;
    for (size_t k = 0; k < rr.size(); ++k) {
        const std::string_view r = reverse ? rr[rr.size() - 1 - k] : rr[k];
        if (k != 0) {
            put(d._text + pos, route_separator);
            pos += route_separator.size();
        }
        if (k == 0) d._first_route = {static_cast<uint16_t>(pos), static_cast<uint16_t>(r.size())};
        put(d._text + pos, r);
        pos += r.size();
    }
    if (rr.empty()) d._first_route = {static_cast<uint16_t>(start), 0};
    d._route_set = {static_cast<uint16_t>(start), static_cast<uint16_t>(routes_len)};
    d._route_count = static_cast<uint16_t>(rr.size());
    d._remote_target = {static_cast<uint16_t>(pos), static_cast<uint16_t>(target.size())};
    return true;
}

bool dialog_layer::set_target(dialog& d, std::string_view target) noexcept {
    const size_t pos = size_t{d._route_set.off} + d._route_set.len;
    if (pos + target.size() > _cfg.text_bytes) return false;
    uint32_t old = 0, old_size = 0;
    if (!grow(d, pos + target.size(), pos, old, old_size)) return false;
    put(d._text + pos, target);
    if (old != util::text_slab::npos) _slab.free(old, old_size);
    d._remote_target = {static_cast<uint16_t>(pos), static_cast<uint16_t>(target.size())};
    return true;
}

create_result dialog_layer::create(const dialog_params& p, const util::digest128& k,
                                   bool known_absent, dialog_role role, dialog_state state) {
    create_result r;
    if (!known_absent && find_index(k, p.id) != util::open_table::npos) {
        r.status = dialog_status::exists;
        return r;
    }
    const std::string_view fixed[] = {p.id.call_id, p.id.local_tag, p.id.remote_tag, p.local_uri,
                                      p.remote_uri};
    size_t fixed_len = 0;
    for (auto f : fixed)
        fixed_len += f.size();
    // One block for everything, the variable part included (grown later only if a target
    // refresh or route-set update needs more).
    size_t total = fixed_len + p.remote_target.size();
    for (size_t j = 0; j < p.record_route.size(); ++j)
        total += p.record_route[j].size() + (j != 0 ? route_separator.size() : 0);
    if (total > _cfg.text_bytes) {
        r.status = dialog_status::too_large;
        return r;
    }
    const uint32_t i = _pool.alloc();
    if (i == util::pool<dialog>::npos) {
        ++_full_count;
        r.status = dialog_status::full;
        return r;
    }
    dialog& d = _pool[i];
    d._text = nullptr;
    d._text_cap = 0;
    {
        uint32_t old = 0, old_size = 0;
        if (!grow(d, total, 0, old, old_size)) {
            _pool.free(i);
            ++_full_count;
            r.status = dialog_status::too_large;
            return r;
        }
    }
    dialog::text_span* spans[] = {&d._call_id, &d._local_tag, &d._remote_tag, &d._local_uri,
                                  &d._remote_uri};
    size_t pos = 0;
    for (size_t n = 0; n < 5; ++n) {
        put(d._text + pos, fixed[n]);
        *spans[n] = {static_cast<uint16_t>(pos), static_cast<uint16_t>(fixed[n].size())};
        pos += fixed[n].size();
    }
    if (!write_variable(d, p.record_route, role == dialog_role::uac, p.remote_target)) {
        _slab.free(_slab.offset_of(d._text), d._text_cap);
        _pool.free(i);
        r.status = dialog_status::too_large;
        return r;
    }
    if (_table.insert(k.lo, i) != util::insert_status::ok) {
        _slab.free(_slab.offset_of(d._text), d._text_cap);
        _pool.free(i);
        ++_full_count;
        r.status = dialog_status::full;
        return r;
    }
    d._key = k;
    d._role = role;
    d._state = state;
    d._group_next = i;
    if (role == dialog_role::uac) {
        d._group_key = group_of(p.id.call_id, p.id.local_tag);
        const uint32_t head = find_group(d._group_key, p.id.call_id);
        d._in_group = true;
        if (head != util::open_table::npos) {
            d._group_next = _pool[head]._group_next;
            _pool[head]._group_next = i;
        } else {
            (void)_table.insert(d._group_key.lo, i); // room: capacity is 2 * max_dialogs
        }
    }
    r.status = dialog_status::ok;
    r.id = id_of(i);
    return r;
}

create_result dialog_layer::create_uas(const dialog_params& p, dialog_state state,
                                       uint32_t local_cseq, uint64_t user) {
    create_result r = create(p, key_of(p.id), false, dialog_role::uas, state);
    if (r.status != dialog_status::ok) return r;
    dialog& d = _pool[r.id.index];
    d._user = user;
    d._local_cseq = local_cseq;
    d._remote_cseq = p.cseq;
    d._has_remote_cseq = true;
    return r;
}

void dialog_layer::free_index(uint32_t i) noexcept {
    dialog& d = _pool[i];
    (void)_table.erase(d._key.lo, i);
    if (d._in_group) {
        const uint32_t next = d._group_next;
        if (next != i) {
            uint32_t pred = next;
            while (_pool[pred]._group_next != i)
                pred = _pool[pred]._group_next;
            _pool[pred]._group_next = next;
        }
        // The group entry may name this dialog: hand it to the next member, if any.
        if (_table.erase(d._group_key.lo, i) && next != i)
            (void)_table.insert(d._group_key.lo, next);
    }
    d._state = dialog_state::terminated;
    _slab.free(_slab.offset_of(d._text), d._text_cap);
    d._text = nullptr;
    d._text_cap = 0;
    _pool.free(i);
}

dialog_status dialog_layer::on_remote_request(dialog_id id, uint32_t cseq, method_id m,
                                              std::string_view contact) {
    dialog* d = get_mut(id);
    if (d == nullptr) return dialog_status::stale;
    if (m == method_id::ack) return dialog_status::ok;
    if (d->_has_remote_cseq && cseq < d->_remote_cseq) return dialog_status::out_of_order;
    d->_remote_cseq = cseq;
    d->_has_remote_cseq = true;
    if ((m == method_id::invite || m == method_id::update) && !contact.empty() &&
        !set_target(*d, contact))
        return dialog_status::too_large;
    return dialog_status::ok;
}

dialog_status dialog_layer::refresh_target(dialog_id id, std::string_view contact) {
    dialog* d = get_mut(id);
    if (d == nullptr) return dialog_status::stale;
    if (contact.empty()) return dialog_status::ok;
    return set_target(*d, contact) ? dialog_status::ok : dialog_status::too_large;
}

dialog_status dialog_layer::confirm(dialog_id id) {
    dialog* d = get_mut(id);
    if (d == nullptr) return dialog_status::stale;
    d->_state = dialog_state::confirmed;
    return dialog_status::ok;
}

uint32_t dialog_layer::next_local_cseq(dialog_id id) noexcept {
    dialog* d = get_mut(id);
    if (d == nullptr) return 0;
    return ++d->_local_cseq;
}

uint64_t dialog_layer::set_ack(dialog_id id, uint32_t cseq, uint64_t msg) noexcept {
    dialog* d = get_mut(id);
    if (d == nullptr) return msg; // nothing keeps it: the caller releases it
    const uint64_t old = d->_ack_msg;
    d->_ack_msg = msg;
    d->_ack_cseq = cseq;
    return old;
}

uint64_t dialog_layer::ack_for_2xx(dialog_id id, uint32_t cseq) const noexcept {
    const dialog* d = get(id);
    if (d == nullptr || d->_ack_cseq != cseq) return txn::no_msg;
    return d->_ack_msg;
}

uint64_t dialog_layer::terminate(dialog_id id) noexcept {
    dialog* d = get_mut(id);
    if (d == nullptr) return txn::no_msg;
    const uint64_t ack = d->_ack_msg;
    free_index(id.index);
    return ack;
}

} // namespace tandem::sip::dialog
