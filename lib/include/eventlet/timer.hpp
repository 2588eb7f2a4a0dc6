/// \file
/// A handle on a call scheduled on the hub.
#pragma once

#include <memory>

namespace eventlet {

namespace detail {
struct TimerState;
} // namespace detail

/// Refers to a call scheduled with Hub::schedule_call(). Copies refer to the
/// same call. Destroying a handle does not cancel the call: a scheduled call
/// runs whether or not anybody keeps its handle.
class TimerHandle {
public:
    /// A handle that refers to no call.
    TimerHandle() noexcept = default;
    /// Used by the hub.
    explicit TimerHandle(std::shared_ptr<detail::TimerState> state) noexcept;

    /// Makes sure the call never runs. Does nothing if it already ran, was
    /// cancelled, or if the handle is empty. Never switches. Only on the
    /// OS thread of the hub it was scheduled on (that hub is not
    /// thread-safe): elsewhere it ends the program with a message, since it
    /// cannot throw.
    void cancel() noexcept;
    /// True while the call is scheduled: it has neither run nor been cancelled.
    bool pending() const noexcept;

private:
    std::shared_ptr<detail::TimerState> state_;
};

} // namespace eventlet
