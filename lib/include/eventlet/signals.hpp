/// \file
/// SignalSet: POSIX signals delivered to a green thread through the hub.
#pragma once

#include <initializer_list>
#include <memory>

namespace eventlet {

/// Catches some signals (SIGINT, SIGTERM...) and hands them to a green
/// thread that waits for them, through the hub: the signal handler itself
/// only records the signal, the green code runs later in the loop, where
/// it may do anything a green thread may.
///
///     eventlet::SignalSet signals{SIGINT, SIGTERM};
///     int number = signals.wait();   // parks until one arrives
///
/// From its creation to its destruction, the signals no longer have their
/// default action (ending the process, for these two); one that arrives
/// while nobody waits is kept, and the next wait() returns it at once.
/// The destructor gives the signals their default action back, not a
/// handler the program had installed before. Built on Asio's signal_set,
/// on the hub's io_context; use it in one OS thread.
///
/// It owns the signals' handlers while it lives: a sigaction() or signal()
/// the program makes for one of them meanwhile replaces the set's handler,
/// and the set then never sees that signal again, without an error. Let
/// the set be the one place that handles its signals.
class SignalSet {
public:
    /// Starts catching `signals`.
    /// \throws std::system_error if one of them cannot be caught
    ///         (SIGKILL, SIGSTOP, a number that is no signal).
    SignalSet(std::initializer_list<int> signals);
    /// Stops catching them (see the class). A green thread still waiting
    /// wakes with std::system_error (operation_aborted). A set that outlives
    /// its hub (a static, a thread_local made before the hub) stops catching
    /// them when the hub goes.
    ~SignalSet();
    SignalSet(const SignalSet&) = delete;
    SignalSet& operator=(const SignalSet&) = delete;

    /// Parks the current green thread until one of the signals arrives (or
    /// takes one that arrived before). A pending wait counts as something
    /// that can wake a green thread, so a program that waits only for a
    /// signal does not end in Deadlock.
    /// \returns the signal's number.
    /// \throws std::logic_error inside the hub, or if another green thread
    ///         already waits on this set; std::system_error if the set is
    ///         destroyed meanwhile; whatever is thrown into the green thread
    ///         while it waits (GreenletExit, TimeoutError).
    int wait();

private:
    struct Impl;
    // Shared with a green thread waiting in wait(), which may wake after
    // the set is gone (destroyed meanwhile).
    std::shared_ptr<Impl> impl_;
};

} // namespace eventlet
