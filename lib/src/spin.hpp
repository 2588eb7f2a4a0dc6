// A short busy wait for another OS thread's hand-over, before sleeping.
#pragma once

#include <algorithm>
#include <chrono>

namespace eventlet::detail {

/// How long a thread that expects another thread's hand-over (a call for
/// a pool thread, a result for a hub) watches for it before it sleeps. A
/// sleeping thread is woken through the kernel, and on a virtual machine
/// a CPU that went idle takes tens of microseconds to come back; a hand-over
/// seen while spinning costs a cache line. Long enough to cover a short
/// call's round trip, short enough that a long one wastes little.
inline constexpr std::chrono::microseconds hand_over_spin{50};

/// True if this process may run on more than one CPU. Spinning pays only
/// then: on one CPU the spinner holds the very CPU that the thread it waits
/// for needs.
bool other_cpus_available() noexcept;

/// Watches `ready()` for up to `limit`, with the CPU's pause hint between
/// looks. \returns true as soon as `ready()` does; false at the limit, or
/// at once (after one look) if other_cpus_available() is false.
template <class Ready>
bool spin_until(std::chrono::nanoseconds limit, Ready&& ready)
{
    if (ready())
        return true;
    if (!other_cpus_available())
        return false;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        // The clock is read once per batch: a look costs a few nanoseconds,
        // a clock reading about twenty.
        for (int look = 0; look < 64; ++look) {
            if (ready())
                return true;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause(); // spares the sibling hyperthread, and power
#endif
        }
        if (std::chrono::steady_clock::now() >= deadline)
            return ready();
    }
}

/// A spin limit that learns from its hand-overs: after a spin that saw one
/// it doubles, up to hand_over_spin; after one that did not it halves, down
/// to a microsecond. A thread whose hand-overs come late (a slow call, a
/// queue fed once a second) soon stops paying for the wait; one whose
/// hand-overs come fast keeps the whole of it.
class SpinLimit {
public:
    /// spin_until() with the current limit, which it then adjusts.
    template <class Ready>
    bool spin(Ready&& ready)
    {
        const bool seen = spin_until(limit_, ready);
        limit_ = seen ? std::min<std::chrono::nanoseconds>(limit_ * 2, hand_over_spin)
                      : std::max<std::chrono::nanoseconds>(limit_ / 2, shortest);
        return seen;
    }

private:
    static constexpr std::chrono::nanoseconds shortest{1000};
    std::chrono::nanoseconds limit_ = hand_over_spin;
};

} // namespace eventlet::detail
