// Private: the calls scheduled on a hub, in the order they are due.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace eventlet::detail {

class TimerQueue;

/// A call scheduled on the hub. Shared by the TimerHandle and the queue, so
/// that either may outlive the other.
struct TimerState {
    explicit TimerState(std::function<void()> callback) : callback(std::move(callback)) {}
    std::function<void()> callback;
    std::chrono::steady_clock::time_point deadline;
    std::uint64_t sequence = 0; // equal deadlines: the call scheduled first is due first
    TimerQueue* queue = nullptr; // while queued: where a cancel is counted
    bool done = false;           // ran or cancelled: never run (again)
};

/// The hub's timers, Eventlet's heap: a call is due at its deadline, and
/// calls are fired in the order of their deadlines, then of their
/// scheduling. A call at the next turn is a timer too, due the moment it
/// was scheduled, so that a timer that became overdue before it runs first.
///
/// A cancelled call stays queued until it reaches the front (or until
/// cancelled calls are the majority, then they all go at once), but it no
/// longer counts: earliest() skips it.
class TimerQueue {
public:
    using Clock = std::chrono::steady_clock;

    TimerQueue() = default;
    /// Handles that outlive the queue must not count their cancels in it.
    ~TimerQueue();
    TimerQueue(const TimerQueue&) = delete;
    TimerQueue& operator=(const TimerQueue&) = delete;

    /// Queues `state` to be due `delay` from now (zero or less: now).
    void push(const std::shared_ptr<TimerState>& state, Clock::duration delay);
    /// The sequence number the next call pushed will get: calls pushed from
    /// now on are not due before the hub's next turn.
    std::uint64_t next_sequence() const noexcept { return sequence_; }
    /// Takes out the first call that is due at `now` and was pushed before
    /// `before`, or returns null.
    std::shared_ptr<TimerState> pop_due(Clock::time_point now, std::uint64_t before);
    /// The deadline of the first call not cancelled, if any.
    std::optional<Clock::time_point> earliest();
    /// Counts a queued call that was cancelled (TimerHandle::cancel()).
    void note_cancelled() noexcept;

private:
    void drop_cancelled_fronts() noexcept;
    void compact() noexcept;
    bool front_is_soon() const noexcept;

    // Timers with a delay, a binary heap (std::push_heap) whose front is due first.
    std::vector<std::shared_ptr<TimerState>> heap_;
    // Calls at the next turn, due when scheduled: the clock never goes back,
    // so they are in order already, and a deque keeps them cheap.
    std::deque<std::shared_ptr<TimerState>> soon_;
    std::uint64_t sequence_ = 0;
    std::size_t cancelled_ = 0;
    // The latest time the queue read or was told (push(), pop_due()): never
    // later than now, never earlier than a deadline already in soon_.
    Clock::time_point last_now_ = Clock::now();
};

} // namespace eventlet::detail
