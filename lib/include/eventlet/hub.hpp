/// \file
/// The hub: the event loop every green thread of an OS thread shares.
#pragma once

#include <any>
#include <functional>
#include <memory>
#include <optional>

#include "eventlet/errors.hpp"
#include "eventlet/greenlet.hpp"
#include "eventlet/hub_handle.hpp"
#include "eventlet/seconds.hpp"
#include "eventlet/timer.hpp"

namespace asio {
class io_context;
} // namespace asio

namespace eventlet {

namespace detail {
struct HubInternals;
} // namespace detail

/// What a green thread waits for on a descriptor.
enum class Readiness {
    read,  ///< data to read, a connection to accept, or end of file
    write, ///< room to write
};

/// How long the hub keeps a descriptor registered with its loop.
enum class Registration {
    /// Only while a green thread waits on it: safe for any descriptor.
    per_wait,
    /// From the first wait until notify_close(): cheaper for a descriptor
    /// waited on again and again, and only for one whose owner always calls
    /// notify_close() before closing it (or giving it away), as GreenSocket
    /// does. Closed without it, the descriptor's number, once reused, would
    /// look registered to the hub while the kernel forgot it: waits on the
    /// new descriptor would never end.
    until_close,
};

/// What a green thread knows about a descriptor when it starts to wait on it.
enum class Tried {
    /// Nothing: it waits without having tried. Readiness the hub saw while
    /// nobody waited counts, and the wait returns at once.
    not_yet,
    /// It has just tried (read, written, accepted) and got EAGAIN, with no
    /// switch since: readiness the hub saw before is spent, since the kernel
    /// had nothing for it after all, so the wait skips it. With edge-
    /// triggered readiness this spares a useless try after every arrival that
    /// came while the green thread was busy.
    got_eagain,
};

/// The event loop of one OS thread, running in a greenlet of its own.
///
/// A green thread that must wait registers what would wake it (a timer, a
/// descriptor) and switches to the hub; the hub runs the loop until a
/// callback switches back. Created on first use, one per OS thread, and
/// destroyed when that thread exits.
///
/// Where the kernel allows it (Linux 6.0 or later, io_uring not disabled),
/// a GreenSocket's recv() that has to wait hands the read to the kernel
/// through the hub's io_uring ring and parks until it is done, and the hub
/// collects the completed reads on its turns; every other wait, and every
/// read where io_uring is refused, waits for readiness in the hub's epoll
/// set. The environment variable EVENTLET_HUB=epoll, read once per process,
/// asks for readiness only.
///
/// A green thread must not outlive its hub: every green thread of an OS
/// thread must have finished (or been destroyed, which unwinds it) before
/// the thread exits, since what would wake a parked one dies with the hub.
///
/// After fork(), the child has a single OS thread, the one that called
/// fork(), and a single hub, that thread's: it goes on in the child with
/// all its green threads (each one a copy that runs on in the child, as in
/// Eventlet, besides the original in the parent), its descriptors and its
/// timers. The first time its loop looks at the kernel in the child (it
/// waits, or polls its descriptors or Asio; a turn that only runs what is
/// ready looks at nothing), or at the child's first new wait on a
/// descriptor, it makes its own epoll set, with every descriptor it
/// watched registered again, and its own ring, with every read in flight
/// handed to it again, and Asio's reactor and signal pipe are made
/// anew, so that parent and child no longer take each other's wake-ups: a
/// signal sent to the child wakes the child's SignalSet. A signal that
/// comes before that may still reach the parent. The hubs of
/// other OS threads, ServerThreads' threads among them, do not exist in the
/// child, nor do their green threads; nor do the threads of ThreadPool and
/// of resolve(), which start anew in the child when called. A call posted
/// (HubHandle::post) by a thread of the parent does not reach the child,
/// and a green thread of the child still waiting for a ThreadPool call or a
/// lookup that began before the fork() waits until its Timeout.
class Hub {
public:
    /// The calling OS thread's hub, created on first use (Eventlet's get_hub()).
    /// \throws std::logic_error once the thread's hub has been destroyed
    ///         (during the thread's exit: from the destructor of a
    ///         thread_local or, on the main thread, of a global object).
    static Hub& current();
    /// The calling OS thread's hub if it exists and is not destroyed yet,
    /// else null; never creates one. For code that only has something to
    /// tell a hub, such as a socket closed during the thread's exit, after
    /// its hub is gone (a hub that is gone has nothing to be told).
    static Hub* existing() noexcept;
    ~Hub();
    Hub(const Hub&) = delete;
    Hub& operator=(const Hub&) = delete;

    /// Parks the current greenlet and runs the loop until something
    /// switches back to it.
    /// \returns the value passed by whoever switched back.
    /// \throws Deadlock, in the root greenlet, when the loop runs out of
    ///         everything that could wake anyone; std::logic_error when
    ///         called from the hub itself (a callback must not block).
    std::any switch_to();

    /// The greenlet the loop runs in. Green threads are its children, so
    /// that a green thread that finishes returns control to the loop.
    Greenlet& greenlet() noexcept;

    /// Runs `callback` in the hub after `delay` (zero or less: at the loop's
    /// next turn). Calls run in the order they are due, as Eventlet's timers
    /// do: a call at the next turn is due when it is scheduled, so a timer
    /// that was already overdue then runs before it; equal deadlines keep
    /// the scheduling order. A timer may fire up to 1 ms late (the loop
    /// waits in epoll, whose timeout counts milliseconds), never early.
    /// An exception escaping `callback` is reported on stderr and the loop
    /// goes on. Never switches.
    TimerHandle schedule_call(Seconds delay, std::function<void()> callback);

    /// Parks the current greenlet until `fd` is ready for `want`
    /// (Eventlet's trampoline). At most one green thread may wait to read,
    /// and one to write, on a descriptor at a time.
    /// \throws IOTimeout if `timeout` expires first; IOClosed if the
    ///         descriptor is closed through notify_close() meanwhile;
    ///         std::invalid_argument for a negative `fd`;
    ///         std::system_error for a descriptor the hub cannot watch
    ///         (closed, invalid, a regular file); std::logic_error if another
    ///         green thread already waits for the same readiness on `fd`.
    void wait(int fd, Readiness want, std::optional<Seconds> timeout = std::nullopt,
              Registration registration = Registration::per_wait, Tried tried = Tried::not_yet);

    /// Takes the hub's note that `fd` became ready for `want` while no green
    /// thread waited on it. For a caller that knows it emptied the
    /// descriptor (a short read of a stream socket) and asks whether trying
    /// again can find anything before it parks.
    /// \returns true if there was a note, or if the hub cannot tell: `fd`
    ///          is not in its set, or no green thread waits on any
    ///          descriptor, so that the hub is not taking notes (the kernel
    ///          keeps the readiness until it does). False only when nothing
    ///          came since the caller's last wait or try. Never switches.
    bool take_readiness(int fd, Readiness want) noexcept;

    /// Wakes every green thread waiting on `fd` with IOClosed, and forgets
    /// the descriptor. Call it before closing a descriptor others may wait
    /// on; a bare close() would leave them waiting for ever. Never switches.
    void notify_close(int fd) noexcept;
    /// Says that the system has just handed out `fd` (a new socket, an
    /// accepted connection, an adopted descriptor). If the hub still knows
    /// a descriptor of that number, it was closed without notify_close()
    /// (a raw close() under a socket) and its number is being reused: its
    /// waiters get IOClosed, and the new descriptor is watched afresh
    /// instead of through the old one's registration (Eventlet's
    /// notify_opened). GreenSocket calls it. Never switches.
    void notify_opened(int fd) noexcept;
    /// True while a green thread is parked in wait() on `fd`. Never switches.
    bool waited_on(int fd) const noexcept;

    /// The Asio context the loop runs, for code that adds its own I/O objects.
    asio::io_context& io_context() noexcept;

    /// A handle through which any OS thread may hand this hub a call (see
    /// HubHandle); it stays safe to use after the hub is gone.
    HubHandle handle() const noexcept;

private:
    friend struct detail::HubInternals;
    struct Impl;
    Hub();
    std::unique_ptr<Impl> impl_;
};

/// Suspends the current green thread for `seconds` and lets the others run.
/// `sleep(0)` yields: the others that are ready run first, then this one.
/// \throws Deadlock (see Hub::switch_to()); std::logic_error inside the hub.
void sleep(Seconds seconds = 0);

/// Same as sleep(Seconds). This overload and the next exist for the call
/// `sleep(0.5)` under `using namespace eventlet`: without them the C
/// library's sleep, which takes an unsigned int (unistd.h), is the better
/// match (a standard conversion beats a user-defined one), and it would
/// silently block the OS thread for 0 seconds instead of parking the green
/// thread.
inline void sleep(double seconds) { sleep(Seconds(seconds)); }
/// Same as sleep(Seconds), for a whole number of seconds (see sleep(double)).
inline void sleep(int seconds) { sleep(Seconds(seconds)); }

/// Parks the current green thread until `fd` is ready for `want` (see Hub::wait()).
void trampoline(int fd, Readiness want, std::optional<Seconds> timeout = std::nullopt,
                Registration registration = Registration::per_wait, Tried tried = Tried::not_yet);

/// Wakes the green threads waiting on `fd` with IOClosed (see Hub::notify_close()).
void notify_close(int fd) noexcept;

} // namespace eventlet
