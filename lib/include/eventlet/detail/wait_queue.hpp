/// \file
/// The primitive every green synchronisation object is built on.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "eventlet/greenlet.hpp"
#include "eventlet/seconds.hpp"

namespace eventlet::detail {

/// The moment a timeout given as a span of time runs out, for calls that
/// may park several times before they are done.
class Deadline {
public:
    /// No timeout (std::nullopt) means never.
    explicit Deadline(std::optional<Seconds> timeout)
    {
        if (timeout)
            at_ = std::chrono::steady_clock::now() + timeout->to_steady();
    }
    /// The time left (zero once expired), or std::nullopt for never.
    std::optional<Seconds> remaining() const
    {
        if (!at_)
            return std::nullopt;
        const auto left = *at_ - std::chrono::steady_clock::now();
        return Seconds(left > left.zero() ? left : left.zero());
    }
    /// True once the moment has passed (never, without a timeout).
    bool expired() const { return at_ && std::chrono::steady_clock::now() >= *at_; }

private:
    std::optional<std::chrono::steady_clock::time_point> at_;
};

/// True when the caller runs in the hub's own greenlet (a hub callback):
/// it cannot park there.
bool in_hub() noexcept;

/// Ends the process with a message: `owner` was destroyed while `waiter`
/// (null if unknown) and `more` other green threads waited on it. What
/// ~WaitQueue() does, for an object whose waiters park in lines of their
/// own (a channel's putters).
[[noreturn]] void abort_destroyed_while_waited(const char* owner, const Greenlet* waiter,
                                               std::size_t more) noexcept;

/// A first-in, first-out line of parked green threads, used like a
/// condition variable: a green thread parks until notified, then checks
/// its condition again.
///
/// Notifying never switches: the wake-up happens at the hub's next turn,
/// and it goes to whoever is first in line *then*, so a notification is
/// never lost on a green thread that left the line meanwhile (killed, or
/// timed out). Every green thread in the line is parked on the hub.
class WaitQueue {
public:
    /// How a park ended.
    enum class Woken { notified, timed_out };

    WaitQueue() noexcept = default;
    /// A line that names its owner ("Event", "Semaphore") when a lifetime
    /// rule is broken (see ~WaitQueue()).
    explicit WaitQueue(const char* owner) noexcept : owner_(owner) {}
    /// Wake-ups still scheduled for this line are dropped.
    ///
    /// Destroy a waitable object only when nobody waits on it: a green
    /// thread parked in a destroyed line would stay parked for ever, and
    /// write into the freed line when it is unwound. Builds without NDEBUG
    /// and AddressSanitizer builds check the rule, as Boost.Fiber asserts
    /// it: they abort with a message that names the owner and the first
    /// green thread in line.
    ~WaitQueue();
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;

    /// Parks the current green thread at the end of the line until a
    /// notification reaches it, or until `timeout` expires.
    /// \throws whatever is thrown into the green thread while it is parked
    ///         (it leaves the line first); Deadlock; std::logic_error in the
    ///         hub, or on another OS thread than the green threads already
    ///         in line (it does not park then).
    Woken park(std::optional<Seconds> timeout = std::nullopt);
    /// Parks until notified or until `deadline`; an expired deadline
    /// returns Woken::timed_out at once, without parking.
    Woken park(const Deadline& deadline);

    /// Wakes the first green thread in line at the hub's next turn.
    /// \throws std::logic_error on another OS thread than the waiters'
    ///         (see check_notifier()).
    void notify_one();
    /// Wakes, at the hub's next turn, as many green threads as are in line now.
    void notify_all();

    /// Does nothing if a notification from the calling thread can wake the
    /// green threads in line (they are parked on its hub), or if nobody is
    /// in line. For an owner to call before it changes its state.
    /// \throws std::logic_error naming the owner, on another OS thread.
    void check_notifier() const;
    /// The green thread first in line, or null.
    const Greenlet* first_in_line() const noexcept { return first_ != nullptr ? first_->greenlet : nullptr; }
    /// Number of green threads in line.
    std::size_t size() const noexcept { return size_; }
    /// Number of green threads in line that a notification already made
    /// will wake: the first notified() in line. An owner that hands out
    /// what it notifies for (a queue's items) keeps that many for them.
    std::size_t notified() const noexcept { return pending_ < size_ ? pending_ : size_; }
    /// True if nobody is in line.
    bool empty() const noexcept { return size_ == 0; }

private:
    struct Waiter {
        Greenlet* greenlet;
        Waiter* previous = nullptr;
        Waiter* next = nullptr;
        bool in_line = false;
        bool timed_out = false;
    };

    bool held_by_another_thread() const noexcept;
    [[noreturn, gnu::cold]] void throw_wrong_thread(const char* verb) const;
    void append(Waiter& waiter) noexcept;
    void remove(Waiter& waiter) noexcept;
    void deliver();
    std::shared_ptr<WaitQueue*> handle();

    Waiter* first_ = nullptr;
    Waiter* last_ = nullptr;
    // 32 bits each, so that both fit where one size_t would: every green
    // thread's record holds a WaitQueue (its waiters), and a green thread
    // costs its memory (4 billion waiters in one line would need as many
    // stacks first).
    std::uint32_t size_ = 0;
    // Notifications scheduled and not yet run; more than size_ when
    // notified waiters left the line (each still wakes whoever is first).
    std::uint32_t pending_ = 0;
    // What scheduled wake-ups hold instead of `this`: the destructor clears
    // it, so a wake-up that outlives the queue finds nothing to do.
    std::shared_ptr<WaitQueue*> self_;
    const char* owner_ = "a wait queue";
};

} // namespace eventlet::detail
