/// \file
/// Semaphore and BoundedSemaphore: counted permits for green threads.
#pragma once

#include <optional>

#include "eventlet/detail/wait_queue.hpp"
#include "eventlet/seconds.hpp"

namespace eventlet {

/// A count of permits (Eventlet's `eventlet.semaphore.Semaphore`).
/// acquire() takes one, parking while there is none; release() gives one
/// back and never switches. Waiters get permits in the order they arrived:
/// a newcomer does not overtake green threads already waiting.
///
/// It is Lockable, so `std::lock_guard<eventlet::Semaphore>` holds a permit
/// for a scope, and a green thread killed inside the scope gives it back.
class Semaphore {
public:
    /// A semaphore with `permits` permits.
    explicit Semaphore(int permits = 1);
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    /// Takes a permit, parking the current green thread until one is free.
    /// \throws whatever is thrown into the green thread while it waits
    ///         (TimeoutError from a Timeout, GreenletExit); Deadlock.
    void acquire();
    /// Like acquire(), but gives up after `timeout`; zero or negative:
    /// takes a permit only if one is free now (Python's acquire(timeout=-1)
    /// waits for ever: here that is acquire()).
    /// \returns false if `timeout` expired first.
    bool acquire(Seconds timeout);
    /// Takes a permit if one is free and nobody waits. Never switches.
    bool try_acquire() noexcept;
    /// Gives a permit back; a waiter gets it at the hub's next turn. Never switches.
    /// \throws std::logic_error for a bounded semaphore released more often
    ///         than acquired, or from another OS thread than its waiters'.
    /// \throws std::overflow_error when the count would pass INT_MAX.
    void release();

    /// Same as acquire(), for std::lock_guard and std::unique_lock.
    void lock() { acquire(); }
    /// Same as try_acquire().
    bool try_lock() noexcept { return try_acquire(); }
    /// Same as release().
    void unlock() { release(); }

    /// Permits free now.
    int counter() const noexcept { return counter_; }
    /// True if acquire() would park.
    bool locked() const noexcept { return counter_ <= 0 || !waiters_.empty(); }
    /// Permits free minus green threads waiting: negative when some wait.
    int balance() const noexcept { return counter_ - static_cast<int>(waiters_.size()); }

protected:
    /// Used by BoundedSemaphore: release() refuses to go above `limit`.
    Semaphore(int permits, std::optional<int> limit);

private:
    bool acquire_until(const detail::Deadline& deadline);

    int counter_;
    std::optional<int> limit_;
    detail::WaitQueue waiters_{"a Semaphore"};
};

/// A Semaphore that refuses to be released more often than acquired
/// (Eventlet's BoundedSemaphore): an extra release() is a bug, reported at once.
class BoundedSemaphore : public Semaphore {
public:
    /// A semaphore with `permits` permits, never more.
    explicit BoundedSemaphore(int permits = 1);
    // release() throws std::logic_error when all `permits` are already free.
};

} // namespace eventlet
