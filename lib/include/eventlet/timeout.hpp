/// \file
/// Timeout: a scope that must finish within a span of time.
#pragma once

#include <optional>

#include "eventlet/errors.hpp"
#include "eventlet/greenlet.hpp"
#include "eventlet/seconds.hpp"
#include "eventlet/timer.hpp"

namespace eventlet {

/// Raises TimeoutError in the green thread that created it if the scope
/// is still running when the time is up (Eventlet's `eventlet.Timeout`):
///
///     eventlet::Timeout limit(2.5);
///     auto item = queue.get(); // throws TimeoutError after 2.5 s of waiting
///
/// The error arrives at the green thread's next blocking point (a green
/// thread is never interrupted while it computes). It is no std::exception
/// (see TimeoutError): a `catch (const std::exception&)` inside the scope
/// does not swallow it, and the limit holds. Leaving the scope, by
/// any path, cancels it; a Timeout whose time comes after its scope ended
/// does nothing, and so does one kept (in an object that outlives the scope)
/// after its green thread has ended, unless that green thread is parked in
/// one of its links then: as a kill() there, it interrupts the link, and the
/// links after it do not run. To tell your own Timeout's error from an
/// inner one's, check expired().
///
/// A blocking call in a destructor is a trap: the TimeoutError (or a kill's
/// GreenletExit) thrown there leaves a destructor, which C++ answers with
/// std::terminate. A destructor that may block catches what it is thrown
/// (as GreenPile's does). While an exception already unwinds the green
/// thread, a Timeout falling due there does nothing, as kill() does: it is
/// ending anyway.
class Timeout {
public:
    /// Starts the clock; `std::nullopt` means no limit (nothing happens).
    /// \throws std::logic_error inside the hub (it has nothing to interrupt).
    explicit Timeout(std::optional<Seconds> seconds);
    /// Cancels the timeout. Like cancel(), only on the OS thread that made it.
    ~Timeout();
    Timeout(const Timeout&) = delete;
    Timeout& operator=(const Timeout&) = delete;

    /// Makes sure it never fires. Never switches. On another OS thread than
    /// the one that made it, it ends the program with a message (see
    /// TimerHandle::cancel()).
    void cancel() noexcept;
    /// True while it may still fire.
    bool pending() const noexcept;
    /// True if it fired: the TimeoutError being handled is this one's.
    bool expired() const noexcept { return expired_; }

private:
    TimerHandle timer_;
    bool expired_ = false;
};

} // namespace eventlet
