// Private: the hub's state, shared by the files that implement it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <unordered_map>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "eventlet/hub.hpp"
#include "timer_queue.hpp"

namespace eventlet::detail {

/// One green thread waiting on a descriptor; lives on that green thread's
/// stack for the length of its wait.
struct FdWait {
    enum class Outcome { waiting, ready, timed_out, closed };
    Greenlet* greenlet;
    Outcome outcome = Outcome::waiting;
    // In the hub's list of waits to end with IOClosed at its next turn.
    FdWait* next_closed = nullptr;
    bool in_closed_list = false;
};

/// A descriptor in the hub's epoll set: registered once, for reading and
/// writing, edge-triggered, so that a wait after EAGAIN costs no system
/// call; the kernel reports each new arrival (or new room) once.
struct FdWatch {
    FdWait* reader = nullptr;
    FdWait* writer = nullptr;
    // Tells this registration's events from those of an earlier
    // registration of the same number (closed, reused) still on their way.
    std::uint32_t generation = 0;
    // Kept in the set between waits, until notify_close().
    bool until_close = false;
    // An edge that came while nobody waited: the next wait returns at once,
    // since whoever waits without trying first must not miss it; a wait
    // after EAGAIN (Tried::got_eagain) drops it, the kernel had nothing.
    bool read_edge = false;
    bool write_edge = false;
    // The peer ended its stream, or the descriptor has an error: reads and
    // writes return at once from now on (see Hub::take_readiness()).
    bool ended = false;
};

/// Cancels a timer when the scope ends, however it ends.
class CancelOnExit {
public:
    explicit CancelOnExit(TimerHandle& timer) noexcept : timer_(timer) {}
    ~CancelOnExit() { timer_.cancel(); }
    CancelOnExit(const CancelOnExit&) = delete;
    CancelOnExit& operator=(const CancelOnExit&) = delete;

private:
    TimerHandle& timer_;
};

} // namespace eventlet::detail

namespace eventlet {

struct Hub::Impl {
    Impl();
    ~Impl();
    void run_loop();
    /// The second half of a turn: runs the handlers of what is ready (I/O,
    /// Asio's own completions), waiting for one if no call is due now.
    /// \returns false if nothing is left that could ever wake anyone.
    bool run_ready(detail::TimerQueue::Clock::time_point turn_start);
    /// Runs a scheduled call unless it already ran or was cancelled.
    void fire(detail::TimerState& state);
    /// Switches to a parked greenlet from a hub callback.
    void resume(Greenlet& greenlet);
    /// Runs `callback` (in the hub), reporting whatever escapes it.
    static void run_reporting(const std::function<void()>& callback);
    /// Takes `fd` out of the epoll set and forgets it.
    void forget(int fd) noexcept;
    /// Runs the waiters of the descriptors that became ready, without
    /// waiting for any. \returns false if the kernel had nothing to report.
    bool harvest_ready();
    /// Before the loop blocks in Asio: has Asio watch the epoll set while
    /// some green thread waits on a descriptor, and stop watching it when
    /// none does (an idle watch would hide a deadlock).
    void watch_epoll_set();
    /// Throws std::logic_error if the current greenlet is the hub.
    Greenlet& blockable_current() const;

    // A single-threaded context: the hub is the only thread that runs it.
    asio::io_context io{1};
    std::unordered_map<int, detail::FdWatch> watches;
    // The hub's own epoll set, and Asio's view of it: the loop harvests the
    // set itself while it runs, and blocks in Asio (which watches the set
    // as one descriptor, beside its own timers, signals and resolver).
    int epoll_fd = -1;
    std::unique_ptr<asio::posix::stream_descriptor> epoll_watch;
    bool epoll_watched = false; // an async_wait on the set is pending
    std::size_t fd_waiters = 0; // green threads parked on a descriptor now
    std::uint32_t next_generation = 0;
    // While the loop is busy it looks at Asio's completions at most this
    // often; an idle loop waits in Asio and sees them at once.
    static constexpr std::chrono::microseconds asio_look_interval{500};
    detail::TimerQueue::Clock::time_point last_asio_look{};
    // Waits that notify_close() ended, to be resumed at the next turn (it
    // never switches itself); a list through the waits, so that adding one
    // cannot fail.
    detail::FdWait* closed_first = nullptr;
    detail::FdWait* closed_last = nullptr;
    /// Resumes the waits of closed_first. \returns false if there were none.
    bool resume_closed();
    detail::TimerQueue timers;
    // Declared last so that it is destroyed first: unwinding the loop
    // still finds the context alive.
    Greenlet greenlet;
};

} // namespace eventlet
