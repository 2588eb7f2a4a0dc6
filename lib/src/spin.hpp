// A short busy wait for another OS thread's hand-over, before sleeping.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

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

/// A spin limit that learns from its hand-overs. It doubles, up to
/// hand_over_spin, after a spin that saw its hand-over, and after one that
/// gave up too early: the hand-over came while the spinner slept, but
/// within hand_over_spin of the spin's start. It halves, down to a
/// microsecond, after a spin that saw nothing. A thread whose hand-overs
/// come late (a slow call, a queue fed once a second) soon stops paying
/// for the wait; one whose hand-overs come fast keeps the whole of it.
/// Safe to share between threads (its state is atomic).
class SpinLimit {
public:
    /// spin_until() with the current limit, which it then adjusts.
    template <class Ready>
    bool spin(Ready&& ready)
    {
        const std::chrono::nanoseconds limit(limit_ns_.load(std::memory_order_relaxed));
        const std::int64_t started = now_ns();
        const bool seen = spin_until(limit, ready);
        if (seen)
            grow();
        else
            limit_ns_.store(std::max(limit.count() / 2, shortest.count()), std::memory_order_relaxed);
        missed_at_ns_.store(seen ? 0 : started, std::memory_order_relaxed);
        return seen;
    }

    /// Tells the limit that a hand-over came, after the spinner slept (a
    /// spin that saw it needs no telling).
    void handed_over() noexcept
    {
        const std::int64_t missed_at = missed_at_ns_.exchange(0, std::memory_order_relaxed);
        if (missed_at != 0 && now_ns() - missed_at < hand_over_spin_ns)
            grow();
    }

private:
    static constexpr std::chrono::nanoseconds shortest{1000};
    static constexpr std::int64_t hand_over_spin_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(hand_over_spin).count();

    static std::int64_t now_ns() noexcept
    {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
    void grow() noexcept
    {
        const std::int64_t limit = limit_ns_.load(std::memory_order_relaxed);
        limit_ns_.store(std::min(limit * 2, hand_over_spin_ns), std::memory_order_relaxed);
    }

    std::atomic<std::int64_t> limit_ns_{hand_over_spin_ns};
    std::atomic<std::int64_t> missed_at_ns_{0}; // when a spin that saw nothing began; 0: none
};

} // namespace eventlet::detail
