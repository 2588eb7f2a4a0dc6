// Private: the hub's state, shared by the files that implement it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <unordered_map>

#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "eventlet/hub.hpp"
#include "timer_queue.hpp"

namespace eventlet::detail {

/// One green thread waiting on a descriptor. Shared with the Asio handler,
/// which outlives the wait when the green thread stops waiting early.
struct FdWait {
    enum class Outcome { waiting, ready, failed, timed_out, closed, abandoned };
    Greenlet* greenlet; // null once the green thread no longer waits
    Outcome outcome = Outcome::waiting;
    std::error_code error;
    bool completed = false; // the Asio handler has run
    asio::cancellation_signal cancel;
};

/// A descriptor the hub watches: Asio allows one registration per
/// descriptor, shared by its reader and its writer.
struct FdWatch {
    FdWatch(asio::io_context& io, int fd) : descriptor(io, fd) {}
    // The descriptor belongs to whoever waits on it: the hub only watches
    // it, and must not close it (Asio's destructor would), even when the
    // hub goes before a socket it still watches.
    ~FdWatch() { descriptor.release(); }
    FdWatch(const FdWatch&) = delete;
    FdWatch& operator=(const FdWatch&) = delete;
    asio::posix::stream_descriptor descriptor;
    FdWait* reader = nullptr;
    FdWait* writer = nullptr;
    // Kept registered with the loop between waits, until notify_close():
    // registering and deregistering (two epoll_ctl calls) on every wait
    // costs more than the wait itself on a busy connection.
    bool until_close = false;
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
    bool run_ready();
    /// Runs a scheduled call unless it already ran or was cancelled.
    void fire(detail::TimerState& state);
    /// Switches to a parked greenlet from a hub callback.
    void resume(Greenlet& greenlet);
    /// Runs `callback` (in the hub), reporting whatever escapes it.
    static void run_reporting(const std::function<void()>& callback);
    /// Forgets `fd`: Asio lets go of the descriptor without closing it.
    void forget(int fd) noexcept;
    /// Throws std::logic_error if the current greenlet is the hub.
    Greenlet& blockable_current() const;

    // A single-threaded context: the hub is the only thread that runs it.
    asio::io_context io{1};
    std::unordered_map<int, std::unique_ptr<detail::FdWatch>> watches;
    detail::TimerQueue timers;
    // Declared last so that it is destroyed first: unwinding the loop
    // still finds the context alive.
    Greenlet greenlet;
};

} // namespace eventlet
