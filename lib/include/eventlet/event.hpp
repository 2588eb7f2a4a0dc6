/// \file
/// Event: a value (or an exception) that green threads wait for.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "eventlet/detail/wait_queue.hpp"
#include "eventlet/seconds.hpp"

namespace eventlet {

namespace detail {

/// What Event<T> and Event<void> share: readiness, the exception, the line.
class EventBase {
public:
    /// True once a value or an exception has been sent.
    bool ready() const noexcept { return ready_; }
    /// True if what was sent is an exception.
    bool has_exception() const noexcept { return ready_ && error_ != nullptr; }

    /// Sends an exception: every waiter, present and future, throws it.
    /// Never switches; the waiters wake at the hub's next turn.
    /// \throws std::logic_error if the event was already sent (reset() it
    ///         first), or from another OS thread than the waiters'.
    void send_exception(std::exception_ptr error)
    {
        if (!error)
            throw std::invalid_argument("send_exception needs an exception");
        mark_sent();
        error_ = std::move(error);
        waiters_.notify_all();
    }

protected:
    EventBase() = default;
    ~EventBase() = default;

    void mark_sent()
    {
        if (ready_)
            throw std::logic_error("this event was already sent; reset() it before sending again");
        waiters_.check_notifier();
        ready_ = true;
        ++sends_;
        error_ = nullptr;
    }
    // The outcome stays for the waiters already woken by the last send; the
    // next send replaces it.
    void clear() noexcept { ready_ = false; }
    /// Parks until sent; false if `timeout` expires first. Rethrows a sent exception.
    bool wait_until_sent(std::optional<Seconds> timeout)
    {
        if (!ready_) {
            // Wait for the next send, not for ready(): a waiter that was in
            // line when the event was sent gets that outcome even if reset()
            // comes before it runs (as in Eventlet, which hands the value
            // over at the send).
            const std::uint64_t sends_before = sends_;
            const Deadline deadline(timeout);
            while (sends_ == sends_before)
                if (waiters_.park(deadline) == WaitQueue::Woken::timed_out)
                    return false;
        }
        if (error_)
            std::rethrow_exception(error_);
        return true;
    }
    detail::WaitQueue waiters_{"an Event"};

private:
    bool ready_ = false;
    std::uint64_t sends_ = 0;
    std::exception_ptr error_;
};

} // namespace detail

/// A one-shot value many green threads can wait for (Eventlet's
/// `eventlet.event.Event`). `send()` never switches: waiters wake at the
/// hub's next turn, in the order they began to wait.
template <class T = void>
class Event : public detail::EventBase {
public:
    /// An event not yet sent.
    Event() = default;

    /// Sends `value` to every waiter, present and future. Never switches.
    /// \throws std::logic_error if the event was already sent, or from
    ///         another OS thread than the waiters' (nothing is sent then).
    void send(T value)
    {
        mark_sent();
        value_.emplace(std::move(value));
        waiters_.notify_all();
    }

    /// Parks the current green thread until the event is sent.
    /// \returns a copy of the value sent.
    /// \throws the exception sent with send_exception(); whatever is thrown
    ///         into the waiter (TimeoutError from a Timeout, GreenletExit).
    T wait()
    {
        wait_until_sent(std::nullopt);
        return *value_;
    }

    /// Like wait(), but gives up after `timeout`.
    /// \returns the value, or std::nullopt if `timeout` expired first.
    std::optional<T> wait(Seconds timeout)
    {
        if (!wait_until_sent(timeout))
            return std::nullopt;
        return *value_;
    }

    /// Makes the event unsent again, so that it can be sent anew. Green
    /// threads that were waiting when it was sent still get what was sent.
    /// On an event never sent it does nothing (Eventlet raises
    /// AssertionError there).
    void reset() noexcept { clear(); }

private:
    std::optional<T> value_;
};

/// An event that carries no value, only the fact that it happened.
template <>
class Event<void> : public detail::EventBase {
public:
    /// An event not yet sent.
    Event() = default;

    /// Marks the event as happened and wakes every waiter. Never switches.
    /// \throws std::logic_error if the event was already sent, or from
    ///         another OS thread than the waiters' (nothing is sent then).
    void send()
    {
        mark_sent();
        waiters_.notify_all();
    }

    /// Parks the current green thread until the event is sent.
    /// \throws as Event<T>::wait().
    void wait() { wait_until_sent(std::nullopt); }

    /// Like wait(), but gives up after `timeout`.
    /// \returns false if `timeout` expired first.
    bool wait(Seconds timeout) { return wait_until_sent(timeout); }

    /// Makes the event unsent again (see Event<T>::reset()).
    void reset() noexcept { clear(); }
};

} // namespace eventlet
