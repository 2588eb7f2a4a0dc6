/// \file
/// The blocking detector: names a green thread that holds its hub too long
/// (Eventlet's `eventlet.debug.hub_blocking_detection`).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "eventlet/seconds.hpp"

namespace eventlet::debug {

/// What the detector knows about a green thread that holds its hub: it was
/// handed control by the hub (resumed, or given a callback to run) and has
/// not given it back for at least the resolution, so every other green
/// thread of its OS thread waits.
struct BlockingReport {
    /// The name of the greenlet that holds the hub (Greenlet::name(); "hub"
    /// for a callback the hub runs itself, "root" for the thread's main
    /// code). Empty when its OS thread did not answer the detector's
    /// signal (see hub_blocking_detection()).
    std::string green_thread;
    /// How long it had held the hub when the detector looked: at least the
    /// resolution, and short of the truth by about a quarter of it at most
    /// (the detector looks four times per resolution).
    Seconds held = 0;
    /// Where it was, innermost call first: "function+0xOFFSET (file)" where
    /// the dynamic symbol table names the function, else "file(+0xOFFSET)"
    /// (`addr2line -f -C -e FILE OFFSET` names it; a program linked with
    /// `-rdynamic` has its own functions named). Empty when the OS thread
    /// did not answer the signal.
    std::vector<std::string> backtrace;
};

/// Receives each report. Runs on the detector's own OS thread, not on the
/// hub's: it may do anything thread-safe, but must not touch the hub, its
/// green threads or their sockets (HubHandle::post() reaches the hub), must
/// not wait for the hub's thread, and must not call hub_blocking_detection().
/// Keep it short: the one detector thread watches every hub, and watches
/// none while a reporter runs (a slow one, or a stderr pipe nobody reads,
/// hides the holds of every other hub meanwhile).
/// An exception escaping it is reported on stderr.
using BlockingReporter = std::function<void(const BlockingReport&)>;

/// Turns the blocking detector on or off for the calling OS thread's hub
/// (created if it does not exist yet); other threads' hubs keep their own
/// setting.
///
/// While it is on, a detector thread (one per process, started with the
/// first hub that turns detection on) looks at the hub about four times per
/// `resolution`. A green thread that has held the hub for `resolution` or
/// more, whether it computes, blocks in a system call or in a C library,
/// is reported once per hold: the detector interrupts it with SIGURG, whose
/// handler notes which greenlet runs and where (backtrace()), and the
/// reporter gets the report. A hold that ends just as the detector
/// interrupts it is not reported. The hub pays the same per switch with
/// detection on or off, and never reads the clock for the detector.
///
/// What the hub does not hand out is not watched: a hub waiting for I/O or
/// a timer is idle, not held, and the handlers of Asio objects that a
/// program adds itself through Hub::io_context() run unwatched.
///
/// The signal has side effects of its own. A held green thread blocked in a
/// system call that the kernel restarts after a handler (read, write,
/// accept...) goes on; one that never restarts (nanosleep, poll, epoll_wait)
/// returns early with EINTR, once per report, as with any signal. A thread
/// that blocks SIGURG, or a program that installs its own SIGURG handler
/// after turning detection on, gets its reports without name and backtrace,
/// up to two seconds late. A SIGURG of the program's own (out-of-band
/// socket data) still reaches the handler installed before.
///
/// The environment variable `EVENTLET_HUB_BLOCKING_DETECTION=<seconds>`
/// turns detection on, with the default reporter and that resolution, for
/// every hub as it is created; `0` or empty leaves it off. A value that is
/// not a positive number of seconds is named on stderr, and detection stays
/// off.
///
/// \param on         true to turn detection on (again: with the new
///                   resolution and reporter), false to turn it off; once
///                   the call returns, no report about this hub starts and
///                   none is running. A hold that the detector had caught
///                   (its signal came: a sleep it cut short has returned)
///                   is reported before the call returns.
/// \param resolution how long a green thread may hold the hub before it is
///                   reported (Eventlet's default, one second).
/// \param reporter   what receives the reports; empty means
///                   print_blocking_report().
/// \throws std::invalid_argument for a resolution of zero or less;
///         std::system_error if the detector thread cannot be started.
void hub_blocking_detection(bool on, Seconds resolution = Seconds(1),
                            BlockingReporter reporter = {});

/// The default reporter: writes `report` to stderr in one piece, the green
/// thread's name and how long it held the hub, then the backtrace, one
/// frame per line.
void print_blocking_report(const BlockingReport& report);

} // namespace eventlet::debug
