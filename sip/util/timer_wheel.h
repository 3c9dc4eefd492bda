#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace tandem::sip::util {

/// Time as the shard counts it: an unsigned tick count (the shard decides what one tick is;
/// the transaction layer defaults to one millisecond). Never read from a clock in sip/.
using tick_t = uint64_t;
/// "Never": what `timer_wheel::next_due` returns when nothing is armed.
inline constexpr tick_t no_timer = ~tick_t{0};

/// Doubly linked list node, embedded in `timer`. Private to the wheel.
struct timer_link {
    timer_link* next = nullptr;
    timer_link* prev = nullptr;
};

/// A timer embedded in its owner (a transaction, a dialog, a call): the wheel never allocates.
/// `data` is the owner's to use (typically an object index plus which timer it is); the wheel
/// hands the timer back on expiry. A timer must not be moved or destroyed while armed.
struct timer : timer_link {
    tick_t expire = 0;
    uint64_t data = 0;

    timer() = default;
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;

    /// True while the timer sits in a wheel (started and neither fired nor cancelled).
    [[nodiscard]] bool armed() const noexcept { return next != nullptr; }
};

/// Hierarchical timing wheel: 4 levels of 256 slots (2^32 ticks, 49 days at 1 ms ticks) plus
/// an overflow list beyond that. `start` and `cancel` are O(1); `advance` walks one slot per
/// elapsed tick and cascades a higher-level slot every 256^k ticks. Owned and driven by one
/// shard; not thread-safe. About 16 KiB of slot heads, allocated inside the object.
class timer_wheel {
public:
    static constexpr unsigned slot_bits = 8;
    static constexpr unsigned slots = 1u << slot_bits;
    static constexpr unsigned levels = 4;

    /// `now` is the first tick this wheel will process.
    explicit timer_wheel(tick_t now = 0) noexcept : _now(now) {
        for (auto& level : _slot)
            for (auto& head : level)
                head.next = head.prev = &head;
        _overflow.next = _overflow.prev = &_overflow;
    }
    timer_wheel(const timer_wheel&) = delete;
    timer_wheel& operator=(const timer_wheel&) = delete;

    /// Arms `t` to fire at tick `expire` (or on the next `advance` if `expire` already passed).
    /// Re-arms it if it was armed. O(1).
    void start(timer& t, tick_t expire) noexcept {
        if (t.armed())
            unlink(t);
        else
            ++_count;
        t.expire = expire < _now ? _now : expire;
        place(t);
    }

    /// Disarms `t`; a no-op if it is not armed. O(1).
    void cancel(timer& t) noexcept {
        if (!t.armed()) return;
        unlink(t);
        --_count;
    }

    /// Processes every tick up to and including `now`, calling `fire(timer&)` for each timer
    /// that expires (in tick order). The timer is disarmed before `fire` runs, so `fire` may
    /// re-arm it, start or cancel any other timer, or free its owner. Returns how many fired.
    /// Empty stretches are skipped with per-level occupancy bitmaps, so an idle wheel with one
    /// timer hours away does not walk every tick.
    template <class Fire>
    size_t advance(tick_t now, Fire&& fire) {
        return advance(now, fire, [](timer&) {});
    }
    /// The same, and before each `fire(x)` it calls `ahead(y)` for the timer `y` due to fire
    /// right after `x` in the same tick, if any: the owner can start loading what firing `y`
    /// will touch, so that its cache misses overlap `fire(x)`. `ahead` must change nothing (and
    /// `fire(x)` may still cancel `y`).
    template <class Fire, class Ahead>
    size_t advance(tick_t now, Fire&& fire, Ahead&& ahead) {
        size_t fired = 0;
        while (_now <= now) {
            if (_count == 0) {
                _now = now + 1; // nothing armed: jump
                break;
            }
            const tick_t t = _now;
            const unsigned idx = static_cast<unsigned>(t & (slots - 1));
            if (idx == 0) cascade(t);
            timer_link& head = _slot[0][idx];
            clear_bit(0, idx);
            if (head.next != &head) {
                // Detach the slot first: timers started by `fire` for this same tick land in
                // the next tick (`_now` has moved on), never in the list being walked.
                timer_link pending;
                pending.next = head.next;
                pending.prev = head.prev;
                pending.next->prev = &pending;
                pending.prev->next = &pending;
                head.next = head.prev = &head;
                _now = t + 1;
                while (pending.next != &pending) {
                    auto& x = static_cast<timer&>(*pending.next);
                    unlink(x);
                    --_count;
                    ++fired;
                    if (pending.next != &pending) ahead(static_cast<timer&>(*pending.next));
                    fire(x);
                }
            }
            const tick_t next = next_tick(t);
            _now = next <= now ? next : now + 1;
        }
        return fired;
    }

    /// The next tick `advance` will process.
    [[nodiscard]] tick_t now() const noexcept { return _now; }
    /// The earliest tick at which `advance` may fire a timer, for a shard deciding how long it
    /// may sleep: exact for a timer due in the current rotation of 256 ticks, else the rotation
    /// boundary whose cascade can bring one down; never later than the first armed expiry (a
    /// cancelled timer may make it earlier: one wake for nothing). `no_timer` when none is armed.
    [[nodiscard]] tick_t next_due() const noexcept {
        if (_count == 0) return no_timer;
        const auto idx = static_cast<unsigned>(_now & (slots - 1));
        if (idx == 0 || ((_bits[0][idx / 64] >> (idx % 64)) & 1) != 0) return _now;
        return next_tick(_now);
    }
    /// How many timers are armed.
    [[nodiscard]] size_t size() const noexcept { return _count; }

private:
    static constexpr unsigned words = slots / 64;

    void set_bit(unsigned level, unsigned i) noexcept { _bits[level][i / 64] |= 1ull << (i % 64); }
    void clear_bit(unsigned level, unsigned i) noexcept {
        _bits[level][i / 64] &= ~(1ull << (i % 64));
    }
    bool level_empty(unsigned level) const noexcept {
        for (unsigned w = 0; w < words; ++w)
            if (_bits[level][w] != 0) return false;
        return true;
    }
    // First level-0 slot index >= from whose bit is set (a set bit may be stale: the slot
    // emptied by cancels; it is cleared when visited). `slots` when none.
    unsigned next_set0(unsigned from) const noexcept {
        for (unsigned i = from; i < slots;) {
            const uint64_t w = _bits[0][i / 64] >> (i % 64);
            if (w != 0) return i + static_cast<unsigned>(std::countr_zero(w));
            i = (i / 64 + 1) * 64;
        }
        return slots;
    }
    // The next tick after `t` that can hold work: the next occupied level-0 slot in this
    // rotation, else the next boundary whose cascade can bring timers down.
    tick_t next_tick(tick_t t) const noexcept {
        const tick_t low = slots - 1;
        if (((t + 1) & low) == 0) return t + 1;
        const unsigned j = next_set0(static_cast<unsigned>(t & low) + 1);
        if (j < slots) return (t & ~low) + j;
        tick_t next = (t | low) + 1;
        if (!level_empty(0)) return next; // entries for the next rotation
        for (unsigned level = 1; level < levels; ++level) {
            if (!level_empty(level)) break;
            const tick_t span = (tick_t{1} << (slot_bits * (level + 1))) - 1;
            next = (t | span) + 1;
        }
        return next;
    }

    static void unlink(timer_link& t) noexcept {
        t.prev->next = t.next;
        t.next->prev = t.prev;
        t.next = t.prev = nullptr;
    }
    static void push(timer_link& head, timer_link& t) noexcept {
        t.prev = head.prev;
        t.next = &head;
        head.prev->next = &t;
        head.prev = &t;
    }
    void place(timer& t) noexcept {
        const tick_t delta = t.expire - _now;
        for (unsigned level = 0; level < levels; ++level) {
            if (delta < (tick_t{1} << (slot_bits * (level + 1)))) {
                const auto i =
                    static_cast<unsigned>((t.expire >> (slot_bits * level)) & (slots - 1));
                push(_slot[level][i], t);
                set_bit(level, i);
                return;
            }
        }
        push(_overflow, t);
    }
    // Called at a tick whose low 8 bits are zero: re-places the timers of each higher level
    // whose slot has now come up (from the highest level down, then the overflow list).
    void cascade(tick_t t) noexcept {
        unsigned top = 1;
        while (top < levels && ((t >> (slot_bits * top)) & (slots - 1)) == 0)
            ++top;
        if (top == levels) replace_all(_overflow);
        for (unsigned level = (top < levels ? top : levels - 1); level >= 1; --level) {
            const auto i = static_cast<unsigned>((t >> (slot_bits * level)) & (slots - 1));
            clear_bit(level, i);
            replace_all(_slot[level][i]);
        }
    }
    void replace_all(timer_link& head) noexcept {
        timer_link* x = head.next;
        head.next = head.prev = &head;
        while (x != &head) {
            timer_link* nx = x->next;
            place(static_cast<timer&>(*x));
            x = nx;
        }
    }

    timer_link _slot[levels][slots];
    timer_link _overflow;
    uint64_t _bits[levels][words] = {};
    tick_t _now;
    size_t _count = 0;
};

} // namespace tandem::sip::util
