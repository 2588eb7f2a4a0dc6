/// \file
/// A periodic timer on the hub: a call repeated every interval, on a fixed
/// schedule, until its handle cancels it (the reference solution of the
/// exercise of chapter 2).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <utility>

#include <eventlet/hub.hpp>

namespace exercise {

namespace detail {

using Clock = std::chrono::steady_clock;

/// What a periodic timer shares between its handle and the hub. The handle
/// owns it; the call scheduled on the hub only observes it (a weak_ptr), so
/// a timer whose handle is gone is freed at once.
struct PeriodicState {
    PeriodicState(Clock::duration interval, std::function<void()> tick)
        : interval(interval), tick(std::move(tick))
    {
    }
    Clock::time_point start;        // tick k is due at start + k * interval
    Clock::duration interval;       // greater than zero
    std::function<void()> tick;     // never reset while the timer lives: it may be running
    eventlet::TimerHandle next;     // the call that will run the next tick
    std::uint64_t ticks = 0;        // ticks started so far
    bool cancelled = false;
};

inline void run_tick(const std::weak_ptr<PeriodicState>& weak);

/// Schedules the next tick at the first point of the schedule strictly
/// after `now`. Points that already passed are skipped, not replayed.
inline void schedule_next(const std::shared_ptr<PeriodicState>& state, Clock::time_point now)
{
    const auto periods_done = (now - state->start) / state->interval;
    const Clock::time_point due = state->start + (periods_done + 1) * state->interval;
    // Seconds holds a double, but to_steady() rounds up: the tick is never
    // run before `due`.
    const eventlet::Seconds delay = due - now;
    state->next = eventlet::Hub::current().schedule_call(
        delay, [weak = std::weak_ptr<PeriodicState>(state)] { run_tick(weak); });
}

/// The call the hub runs at each point of the schedule.
inline void run_tick(const std::weak_ptr<PeriodicState>& weak)
{
    // A strong reference for the duration of the tick: the tick may destroy
    // the last handle, and the state (with the function running now) must
    // outlive the call.
    const std::shared_ptr<PeriodicState> state = weak.lock();
    if (!state || state->cancelled)
        return;
    // The next tick is scheduled before this one runs, so that a tick that
    // throws does not end the timer, and a tick that calls cancel() cancels
    // the call scheduled here.
    schedule_next(state, Clock::now());
    ++state->ticks;
    state->tick(); // an exception goes to the hub, which reports it
}

} // namespace detail

/// A call the hub repeats every interval, until the handle cancels it.
///
/// Tick k is due at start + k * interval, however long the ticks before it
/// took: a slow tick does not shift the schedule. A tick that comes late
/// (the hub was busy past one or more points of the schedule) runs as soon
/// as the hub gets to it, once; the points it missed are skipped, not
/// replayed in a burst. Ticks run in the hub: they must not block, and an
/// exception escaping one is reported on stderr like any hub callback's,
/// and the timer goes on.
///
/// The handle is move-only and owns the timer: destroying it cancels the
/// timer, even from inside a tick. Use it only on the OS thread that
/// created it, while that thread's hub lives.
class PeriodicTimer {
public:
    /// A handle that refers to no timer.
    PeriodicTimer() noexcept = default;
    /// Takes over `other`'s timer; `other` refers to no timer afterwards.
    PeriodicTimer(PeriodicTimer&& other) noexcept = default;
    /// Cancels the timer this handle had, then takes over `other`'s.
    PeriodicTimer& operator=(PeriodicTimer&& other) noexcept
    {
        if (this != &other) {
            cancel();
            state_ = std::move(other.state_);
        }
        return *this;
    }
    PeriodicTimer(const PeriodicTimer&) = delete;
    PeriodicTimer& operator=(const PeriodicTimer&) = delete;
    /// Cancels the timer.
    ~PeriodicTimer() { cancel(); }

    /// Makes sure no tick runs after this call returns (a tick running now
    /// finishes), and takes the timer off the hub at once, so that it no
    /// longer counts as something that could wake a green thread. Does
    /// nothing if already cancelled or empty. Never switches.
    void cancel() noexcept
    {
        if (!state_ || state_->cancelled)
            return;
        state_->cancelled = true;
        state_->next.cancel();
    }

    /// True while more ticks will come: the handle refers to a timer that
    /// was not cancelled.
    bool active() const noexcept { return state_ && !state_->cancelled; }

    /// How many ticks have started, including any that threw.
    std::uint64_t ticks() const noexcept { return state_ ? state_->ticks : 0; }

private:
    friend PeriodicTimer every(eventlet::Seconds interval, std::function<void()> tick);
    explicit PeriodicTimer(std::shared_ptr<detail::PeriodicState> state) noexcept
        : state_(std::move(state))
    {
    }

    std::shared_ptr<detail::PeriodicState> state_;
};

/// Runs `tick` in the calling thread's hub every `interval`, the first time
/// one interval from now, until the returned handle is cancelled or
/// destroyed. Never switches.
/// \throws std::invalid_argument if `interval` is not greater than zero
///         (rounded to the steady clock's resolution) or `tick` is empty.
inline PeriodicTimer every(eventlet::Seconds interval, std::function<void()> tick)
{
    if (!tick)
        throw std::invalid_argument("every() needs a function to call");
    const detail::Clock::duration step = interval.to_steady();
    if (step <= detail::Clock::duration::zero())
        throw std::invalid_argument("a periodic timer needs an interval greater than zero");
    auto state = std::make_shared<detail::PeriodicState>(step, std::move(tick));
    state->start = detail::Clock::now();
    detail::schedule_next(state, state->start);
    return PeriodicTimer(std::move(state));
}

} // namespace exercise
