// Internal: a timeout on each of a green thread's waits, with one timer for
// all of them.
#pragma once

#include <chrono>
#include <optional>

#include "eventlet/greenlet.hpp"
#include "eventlet/seconds.hpp"
#include "eventlet/timer.hpp"

namespace eventlet::detail {

/// A limit on each wait of one green thread, as a Timeout around each wait
/// would be, but with one timer for all of them. A Timeout sets a timer
/// and cancels it again; a connection that waits once per request, and
/// seldom for long, would do that once per request. Here a wait only
/// writes down its deadline. The timer, set by a wait when none is due
/// early enough, looks when it fires: a wait still under way past its
/// deadline gets TimeoutError thrown in; one with time left gets the timer
/// again, for the rest; no wait, and the timer is done until the next wait
/// sets it. Not movable: the timer's call refers to it.
class ReusableTimeout {
public:
    ReusableTimeout() = default;
    /// Cancels the timer.
    ~ReusableTimeout() { timer_.cancel(); }
    ReusableTimeout(const ReusableTimeout&) = delete;
    ReusableTimeout& operator=(const ReusableTimeout&) = delete;

    /// One wait of the calling green thread, within a limit, for as long as
    /// the object lives.
    class Wait {
    public:
        ~Wait() { owner_->waiter_ = nullptr; }
        Wait(const Wait&) = delete;
        Wait& operator=(const Wait&) = delete;

    private:
        friend class ReusableTimeout;
        explicit Wait(ReusableTimeout& owner) : owner_(&owner) {}
        ReusableTimeout* owner_;
    };

    /// Starts a wait of the calling green thread that may last `limit`
    /// (nullopt: for ever). If it lasts longer, TimeoutError is thrown into
    /// the green thread, and expired() is true. Hold the result for the
    /// length of the wait. \throws std::logic_error inside the hub.
    [[nodiscard]] Wait start(std::optional<Seconds> limit);
    /// True if the last wait was ended by its limit.
    bool expired() const noexcept { return expired_; }

private:
    using Clock = std::chrono::steady_clock;

    void set_timer(Clock::time_point due);
    void on_timer();

    TimerHandle timer_;
    Clock::time_point timer_due_{};
    Clock::time_point deadline_{};
    Greenlet* waiter_ = nullptr; // the green thread waiting now, if any
    bool expired_ = false;
};

} // namespace eventlet::detail
