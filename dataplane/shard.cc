#include "dataplane/shard.h"

#include <algorithm>

#include "dataplane/steering.h"

namespace tandem::dataplane {

shard_context::shard_context(uint32_t id, uint32_t count, uint32_t burst,
                             std::unique_ptr<shard_io> io)
    : _id(id), _count(count), _burst(burst), _io(std::move(io)),
      _tx(std::make_unique<pkt_buf*[]>(burst)) {}

shard_context::~shard_context() = default;

pkt_buf* shard_context::alloc_tx() noexcept {
    pkt_buf* buf = _io->alloc_tx();
    if (buf == nullptr) {
        _counters.tx_no_buffer.add();
    }
    return buf;
}

bool shard_context::send(pkt_buf* buf, const sip::endpoint& dst, uint16_t listen_index) noexcept {
    if (!dst.valid()) {
        _counters.tx_dropped.add();
        _io->free(buf);
        return false;
    }
    buf->remote = dst;
    buf->listen_index = listen_index;
    _tx[_tx_count++] = buf;
    if (_tx_count == _burst) {
        flush_tx();
    }
    return true;
}

void shard_context::release_tx(pkt_buf* buf) noexcept {
    _io->free(buf);
}

void shard_context::flush_tx() noexcept {
    if (_tx_count == 0) {
        return;
    }
    const uint32_t n = _tx_count;
    _tx_count = 0;
    const uint32_t sent = _io->tx_burst(_tx.get(), n);
    if (sent < n) {
        _counters.tx_dropped.add(n - sent);
    }
}

shard_mesh::shard_mesh(uint32_t count, uint32_t ring_size, uint32_t return_size)
    : _count(count), _shards(count, nullptr) {
    _handoff.reserve(static_cast<size_t>(count) * count);
    _returns.reserve(static_cast<size_t>(count) * count);
    for (uint32_t i = 0; i < count * count; ++i) {
        const bool self = i / count == i % count;
        // A shard never hands to itself: keep the slot but make the ring tiny.
        _handoff.push_back(std::make_unique<spsc_ring<pkt_buf*>>(self ? 2 : ring_size));
        _returns.push_back(std::make_unique<spsc_ring<pkt_buf*>>(self ? 2 : return_size));
    }
}

shard::shard(uint32_t id, uint32_t count, const shard_options& options,
             std::unique_ptr<shard_io> io, std::unique_ptr<packet_handler> handler,
             shard_mesh* mesh, epoch_registry* registry)
    : shard_context(id, count, std::max<uint32_t>(options.burst, 1), std::move(io)),
      _options(options), _handler(std::move(handler)), _mesh(mesh), _registry(registry),
      _rx(std::make_unique<pkt_buf*[]>(_burst)),
      _staged(std::make_unique<pkt_buf*[]>(static_cast<size_t>(count) * _burst)),
      _staged_count(std::make_unique<uint32_t[]>(count)), _commands(options.command_ring_size) {
    _options.burst = _burst;
    _io->bind(_counters, static_cast<uint16_t>(id));
    if (_mesh != nullptr) {
        _mesh->attach(id, this);
    }
}

shard::~shard() {
    // Packets still queued for transmit go back to the pool.
    for (uint32_t i = 0; i < _tx_count; ++i) {
        _io->free(_tx[i]);
    }
    _tx_count = 0;
}

void shard::release(pkt_buf* pkt) noexcept {
    if (pkt->origin_shard == _id || _io->frees_anywhere() || _mesh == nullptr) {
        _io->free(pkt);
        return;
    }
    // The return ring holds a whole pool, so this cannot fail while the origin's buffers are
    // the only thing on it.
    (void)_mesh->returns(_id, pkt->origin_shard).enqueue(pkt);
}

void shard::deliver(pkt_buf* pkt) noexcept {
    const rx_packet view{pkt->data, pkt->len, pkt->remote, pkt->local, pkt->listen_index};
    _counters.handled.add();
    _handler->on_packet(*this, view);
    release(pkt);
}

void shard::steer_out(pkt_buf* pkt, uint32_t owner) noexcept {
    uint32_t& n = _staged_count[owner];
    _staged[static_cast<size_t>(owner) * _burst + n++] = pkt;
    if (n == _burst) {
        flush_steered();
    }
}

void shard::wake_if_sleeping(uint32_t dst) noexcept {
    // Pairs with the fence in poll_once before the sleeping shard re-checks its rings.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    shard* target = _mesh->at(dst);
    if (target != nullptr && target->_sleeping.load(std::memory_order_relaxed)) {
        target->wake();
    }
}

void shard::flush_steered() noexcept {
    for (uint32_t dst = 0; dst < _count; ++dst) {
        const uint32_t n = _staged_count[dst];
        if (n == 0) {
            continue;
        }
        _staged_count[dst] = 0;
        pkt_buf** batch = &_staged[static_cast<size_t>(dst) * _burst];
        const uint32_t moved = _mesh->handoff(_id, dst).enqueue_burst(batch, n);
        _counters.steered_out.add(moved);
        for (uint32_t i = moved; i < n; ++i) {
            _counters.ring_full.add();
            release(batch[i]);
        }
        if (moved > 0) {
            wake_if_sleeping(dst);
        }
    }
}

bool shard::has_pending_input() noexcept {
    if (_commands.size() > 0) {
        return true;
    }
    if (_mesh != nullptr) {
        for (uint32_t src = 0; src < _count; ++src) {
            if (src != _id &&
                (_mesh->handoff(src, _id).size() > 0 || _mesh->returns(src, _id).size() > 0)) {
                return true;
            }
        }
    }
    return false;
}

uint32_t shard::poll_once() noexcept {
    _now_ns = _io->now_ns();
    _counters.loops.add();
    uint32_t work = 0;
    const bool multi = _mesh != nullptr && _count > 1;

    // Buffers other shards have finished with.
    if (multi) {
        for (uint32_t src = 0; src < _count; ++src) {
            if (src == _id) {
                continue;
            }
            auto& ring = _mesh->returns(src, _id);
            uint32_t n;
            while ((n = ring.dequeue_burst(_rx.get(), _burst)) > 0) {
                for (uint32_t i = 0; i < n; ++i) {
                    _io->free(_rx[i]);
                }
            }
        }
    }

    // Receive and steer.
    const uint32_t received = _io->rx_burst(_rx.get(), _burst);
    for (uint32_t i = 0; i < received; ++i) {
        pkt_buf* pkt = _rx[i];
        uint32_t owner = _id;
        if (multi) {
            owner = owner_shard(scan_steering(pkt->data, pkt->len), _count, _id);
        }
        if (owner == _id) {
            deliver(pkt);
        } else {
            steer_out(pkt, owner);
        }
    }
    work += received;
    if (multi) {
        flush_steered();
        // Packets other shards steered here.
        for (uint32_t src = 0; src < _count; ++src) {
            if (src == _id) {
                continue;
            }
            const uint32_t n = _mesh->handoff(src, _id).dequeue_burst(_rx.get(), _burst);
            _counters.steered_in.add(n);
            for (uint32_t i = 0; i < n; ++i) {
                deliver(_rx[i]);
            }
            work += n;
        }
    }
    flush_tx();

    const bool ticked = _now_ns >= _next_tick_ns;
    if (ticked) {
        _handler->on_tick(*this, _now_ns);
        _next_tick_ns = _now_ns + _options.tick_interval_ns;
    }
    _io->housekeeping(_now_ns);

    command cmd;
    for (uint32_t i = 0; i < 16 && _commands.dequeue(cmd); ++i) {
        _counters.commands.add();
        ++work;
        switch (cmd.kind) {
        case command::kind_t::stop:
            _stop_requested = true;
            break;
        case command::kind_t::drain:
            _draining = true;
            _handler->on_command(*this, cmd);
            break;
        case command::kind_t::handler:
            _handler->on_command(*this, cmd);
            break;
        }
    }

    // Quiescent point: report that no snapshot pointer read earlier is in use, then the handler
    // reloads them (reporting after a reload could let a snapshot retired in between be freed
    // under the handler).
    quiescent_point();
    flush_tx();
    // A polling backend is always at 100 % of its core: the time of the iterations that did
    // something is what the traffic costs (per call: busy_ns / calls).
    if (work > 0 || ticked) {
        _counters.busy_ns.add(_io->now_ns() - _now_ns);
    }

    // Sleep when this iteration found nothing, or when all it found was what the sockets held
    // (drained): asking them again would only return nothing. Hand-over rings and commands are
    // checked below; a timer due now has run above.
    const bool only_rx_work = work == received;
    if ((work == 0 || (only_rx_work && _io->rx_drained())) && _options.sleep_when_idle &&
        !_stop_requested) {
        _sleeping.store(true, std::memory_order_relaxed);
        // Pairs with wake_if_sleeping: either the producer sees us sleeping, or we see its
        // packet here.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (!has_pending_input()) {
            const uint64_t now = _io->now_ns();
            const uint64_t wake_at = sleep_until(now);
            if (wake_at > now) {
                _counters.idle_waits.add();
                // Offline while asleep, so that an idle shard does not hold back reclamation;
                // back online (and its snapshots reloaded) before it touches a packet.
                if (_registry != nullptr) {
                    _registry->offline(_id);
                }
                _io->idle_wait(wake_at - now);
                quiescent_point();
            }
        }
        _sleeping.store(false, std::memory_order_relaxed);
    }
    return work;
}

void shard::quiescent_point() noexcept {
    if (_registry != nullptr) {
        _registry->quiescent(_id);
    }
    _handler->on_quiescent(*this);
    _counters.snapshots.add();
}

uint64_t shard::sleep_until(uint64_t now) const noexcept {
    const uint64_t longest = now + _options.max_sleep_ns;
    const uint64_t due = _handler->next_timer_ns();
    if (due == packet_handler::no_timer_ns) {
        return longest;
    }
    // A timer due at `due` may run up to one tick late, so sleep to the end of that tick: while
    // traffic flows a packet nearly always comes first and the timer runs in its iteration,
    // instead of every armed timer (several per call) waking the shard by itself.
    const uint64_t slack = _options.tick_interval_ns;
    const uint64_t lax = due > longest - slack ? longest : due + slack;
    return std::min(longest, std::max(_next_tick_ns, lax));
}

void shard::run(const std::atomic<bool>& stop) noexcept {
    if (_registry != nullptr) {
        _registry->quiescent(_id);
    }
    while (!_stop_requested && !stop.load(std::memory_order_relaxed)) {
        (void)poll_once();
    }
    if (_registry != nullptr) {
        _registry->offline(_id);
    }
}

bool shard::post(const command& cmd) {
    bool ok;
    {
        std::lock_guard guard(_post_mutex);
        ok = _commands.enqueue(cmd);
    }
    if (ok) {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (_sleeping.load(std::memory_order_relaxed)) {
            wake();
        }
    }
    return ok;
}

void shard::wake() noexcept {
    _io->wake();
}

} // namespace tandem::dataplane
