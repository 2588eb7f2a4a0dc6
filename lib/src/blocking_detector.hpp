// Private: what the hub does for the blocking detector (eventlet/debug.hpp);
// the watchdog itself is in blocking_detector.cpp.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "eventlet/debug.hpp"

namespace eventlet::detail {

/// How many times the hub has handed control to user code and taken it
/// back: odd while user code holds the hub. The hub's thread is its only
/// writer, so a bump is a plain load and store, no locked instruction: a
/// switch costs about 20 ns, and the detector must not make it dearer (nor
/// read the clock on it). The watchdog reads it from its own thread; seeing
/// the same odd value for a whole resolution means the hold never ended.
using HandoffCount = std::atomic<std::uint64_t>;

/// Holds off the detector's probe signal from the calling thread while it
/// lives: the probe's handler reads the current greenlet's name, which must
/// not be caught half-changed (Greenlet::set_name()).
class ProbeHold {
public:
    ProbeHold() noexcept;
    ~ProbeHold();
    ProbeHold(const ProbeHold&) = delete;
    ProbeHold& operator=(const ProbeHold&) = delete;

private:
    sigset_t previous_;
};

/// Marks the span during which the hub has handed control to user code (a
/// callback, or a resumed green thread) and not got it back. Spans never
/// nest: a callback cannot re-enter the loop (Hub::switch_to() refuses to
/// block inside the hub), so the parity of the count is the state.
class UserCodeSpan {
public:
    explicit UserCodeSpan(HandoffCount& handoffs) noexcept : handoffs_(handoffs) { bump(); }
    // Also when an exception unwinds the hub (GreenletExit at its end).
    ~UserCodeSpan() { bump(); }
    UserCodeSpan(const UserCodeSpan&) = delete;
    UserCodeSpan& operator=(const UserCodeSpan&) = delete;

private:
    void bump() noexcept
    {
        handoffs_.store(handoffs_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    HandoffCount& handoffs_;
};

struct WatchedHub;

/// One hub's registration with the watchdog, while detection is on for it.
/// Used by the hub's own thread only.
class BlockingWatch {
public:
    /// `handoffs` must outlive the watch; the calling thread is the hub's.
    explicit BlockingWatch(const HandoffCount& handoffs) noexcept : handoffs_(handoffs) {}
    /// Turns detection off (see stop()): a hub is destroyed when its thread
    /// exits, and the watchdog must not look at it or signal the thread after.
    ~BlockingWatch() { stop(); }
    BlockingWatch(const BlockingWatch&) = delete;
    BlockingWatch& operator=(const BlockingWatch&) = delete;

    /// Turns detection on, or changes its resolution and reporter.
    /// \throws std::invalid_argument for a resolution of zero or less.
    void start(Seconds resolution, debug::BlockingReporter reporter);
    /// Turns detection off; when it returns, no report about this hub runs
    /// or will start.
    void stop() noexcept;
    /// Turns detection on if EVENTLET_HUB_BLOCKING_DETECTION says so, for a
    /// hub being created; a bad value is named on stderr and ignored.
    void start_from_environment() noexcept;

private:
    const HandoffCount& handoffs_;
    std::shared_ptr<WatchedHub> watched_;
};

} // namespace eventlet::detail
