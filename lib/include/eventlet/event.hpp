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
    /// A green thread waiting for a send, on its own stack: a wait
    /// allocates nothing. Event<T> derives one that can hold a value.
    struct Waiter {
        std::uint64_t send = 0;    ///< the number of the send it waits for
        Waiter* previous = nullptr; ///< in the event's line
        Waiter* next = nullptr;     ///< in the event's line
        bool in_line = false;       ///< in the event's line, not yet given its outcome
        /// The event was sent again before this waiter ran: the outcome of
        /// its own send is kept here (`error`, or Event<T>'s value).
        bool kept = false;
        std::exception_ptr error; ///< the exception of its send, once kept
    };
    /// Copies the event's value into `waiter` (an Event<T>'s Waiter).
    using KeepValue = void (*)(EventBase& event, Waiter& waiter);

    /// `keep_value` is null for an event that carries no value.
    explicit EventBase(KeepValue keep_value) noexcept : keep_value_(keep_value) {}
    ~EventBase() = default;
    EventBase(const EventBase&) = delete;
    EventBase& operator=(const EventBase&) = delete;

    /// Checks that the event may be sent, then makes it sent, with no
    /// exception yet; the caller stores what it sends.
    void mark_sent()
    {
        if (ready_)
            throw std::logic_error("this event was already sent; reset() it before sending again");
        waiters_.check_notifier();
        // The outcome about to be replaced is still owed to the waiters that
        // were in line when it was sent, if the event was reset before they
        // ran: hand it to them first (as Eventlet's send() hands each waiter
        // its result). If a copy throws, nothing is sent.
        keep_outcome();
        ready_ = true;
        ++sends_;
        error_ = nullptr;
    }
    // The outcome stays for the waiters already woken by the last send; the
    // next send hands it to those that have not run yet, then replaces it.
    void clear() noexcept { ready_ = false; }
    /// Parks until sent; false if `timeout` expires first. Rethrows a sent
    /// exception. On true, the value is `waiter`'s if `waiter.kept`, else
    /// the event's.
    bool wait_until_sent(Waiter& waiter, std::optional<Seconds> timeout)
    {
        if (!ready_) {
            // Wait for the next send, not for ready(): a waiter that was in
            // line when the event was sent gets that outcome even if reset()
            // and another send come before it runs.
            waiter.send = sends_ + 1;
            join_line(waiter);
            const LeaveLine leave{*this, waiter};
            const Deadline deadline(timeout);
            // A send that came before the timeout's wake-up ran counts.
            while (sends_ < waiter.send)
                if (waiters_.park(deadline) == WaitQueue::Woken::timed_out && sends_ < waiter.send)
                    return false;
            if (waiter.kept) {
                if (waiter.error)
                    std::rethrow_exception(waiter.error);
                return true;
            }
        }
        if (error_)
            std::rethrow_exception(error_);
        return true;
    }
    /// The green threads parked until a send.
    detail::WaitQueue waiters_{"an Event"};

private:
    struct LeaveLine {
        EventBase& event;
        Waiter& waiter;
        ~LeaveLine() { event.leave_line(waiter); }
    };

    void join_line(Waiter& waiter) noexcept
    {
        waiter.previous = last_;
        (last_ != nullptr ? last_->next : first_) = &waiter;
        last_ = &waiter;
        waiter.in_line = true;
    }
    void leave_line(Waiter& waiter) noexcept
    {
        if (!waiter.in_line)
            return;
        (waiter.previous != nullptr ? waiter.previous->next : first_) = waiter.next;
        (waiter.next != nullptr ? waiter.next->previous : last_) = waiter.previous;
        waiter.previous = waiter.next = nullptr;
        waiter.in_line = false;
    }
    void keep_outcome()
    {
        // Those owed the current outcome joined the line before it was sent,
        // so they come first, before any that joined after a reset().
        while (first_ != nullptr && first_->send == sends_) {
            Waiter& owed = *first_;
            if (error_)
                owed.error = error_;
            else if (keep_value_ != nullptr)
                keep_value_(*this, owed);
            owed.kept = true;
            leave_line(owed);
        }
    }

    bool ready_ = false;
    std::uint64_t sends_ = 0;
    std::exception_ptr error_;
    KeepValue keep_value_;
    // The waiters not yet given their outcome, in the order they came.
    Waiter* first_ = nullptr;
    Waiter* last_ = nullptr;
};

} // namespace detail

/// A one-shot value many green threads can wait for (Eventlet's
/// `eventlet.event.Event`). `send()` never switches: waiters wake at the
/// hub's next turn, in the order they began to wait. Each gets what was
/// sent while it waited, even if the event is reset() and sent again (a
/// value or an exception) before it runs.
template <class T = void>
class Event : public detail::EventBase {
public:
    /// An event not yet sent.
    Event() : EventBase(&keep_value) {}

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
        Waiter waiter;
        wait_until_sent(waiter, std::nullopt);
        return waiter.kept ? std::move(*waiter.value) : *value_;
    }

    /// Like wait(), but gives up after `timeout`.
    /// \returns the value, or std::nullopt if `timeout` expired first (a
    ///          send that came before the waiter's wake-up ran counts).
    std::optional<T> wait(Seconds timeout)
    {
        Waiter waiter;
        if (!wait_until_sent(waiter, timeout))
            return std::nullopt;
        return waiter.kept ? std::move(*waiter.value) : *value_;
    }

    /// Makes the event unsent again, so that it can be sent anew. Green
    /// threads that were waiting when it was sent still get what was sent.
    /// On an event never sent it does nothing (Eventlet raises
    /// AssertionError there).
    void reset() noexcept { clear(); }

private:
    // A waiter that can keep the value of its send.
    struct Waiter : EventBase::Waiter {
        std::optional<T> value;
    };
    static void keep_value(EventBase& event, EventBase::Waiter& waiter)
    {
        static_cast<Waiter&>(waiter).value.emplace(*static_cast<Event&>(event).value_);
    }

    std::optional<T> value_;
};

/// An event that carries no value, only the fact that it happened.
template <>
class Event<void> : public detail::EventBase {
public:
    /// An event not yet sent.
    Event() : EventBase(nullptr) {}

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
    void wait()
    {
        Waiter waiter;
        wait_until_sent(waiter, std::nullopt);
    }

    /// Like wait(), but gives up after `timeout`.
    /// \returns false if `timeout` expired first.
    bool wait(Seconds timeout)
    {
        Waiter waiter;
        return wait_until_sent(waiter, timeout);
    }

    /// Makes the event unsent again (see Event<T>::reset()).
    void reset() noexcept { clear(); }
};

} // namespace eventlet
