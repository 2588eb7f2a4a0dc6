/// \file
/// The primitive every cross-thread wait is built on.
#pragma once

#include <memory>

#include "eventlet/detail/wait_queue.hpp"
#include "eventlet/greenlet.hpp"
#include "eventlet/hub_handle.hpp"

namespace eventlet::detail {

/// A green thread, of any hub, parked until another OS thread wakes it.
///
/// Always held by a std::shared_ptr: a wake-up on its way to the hub holds
/// it too, so that a wake-up that arrives after the green thread stopped
/// waiting (it timed out, it was killed) finds the waiter alive, sees that
/// it is no longer parked, and does nothing.
class RemoteWaiter : public std::enable_shared_from_this<RemoteWaiter> {
    struct Key {}; // make_shared needs a public constructor; only for_current() may call it

public:
    /// A waiter for the calling OS thread's current green thread (its root
    /// greenlet included: a plain OS thread parks by running its own hub).
    /// \throws std::logic_error in the hub (a hub callback must not wait).
    static std::shared_ptr<RemoteWaiter> for_current();

    /// Not for direct use: see for_current().
    RemoteWaiter(Key, HubHandle hub, Greenlet& greenlet) noexcept;

    /// Parks the green thread until wake() reaches it or `deadline` passes.
    /// The hub's loop is kept alive meanwhile: a hub whose green threads all
    /// wait on other OS threads is not deadlocked. Call it from the green
    /// thread for_current() was made in.
    /// \returns true if woken, false if the deadline passed first (at once,
    ///          without parking, if it had passed already).
    /// \throws whatever is thrown into the green thread while it is parked.
    bool park(const Deadline& deadline);

    /// Wakes the green thread at its hub's next turn, if it is still parked
    /// then (a wake-up that finds it gone does nothing). Callable from any
    /// OS thread. Never blocks beyond a short lock, never throws: out of
    /// memory, the green thread stays parked until its deadline, if any.
    void wake() noexcept;

    /// The green thread that waits (for messages: it may be another OS thread's).
    const Greenlet& greenlet() const noexcept { return greenlet_; }

private:
    const HubHandle hub_;
    Greenlet& greenlet_;
    // The rest belongs to the hub's thread.
    bool parked_ = false;
    bool timed_out_ = false;
};

} // namespace eventlet::detail
