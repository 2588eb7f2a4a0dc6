/// \file
/// run_in_thread(): a blocking call on an OS thread of its own, while the
/// calling green thread parks. Exercise 12: the reference solution (see
/// README.md for why it is shaped so).
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

#include <eventlet/event.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/hub_handle.hpp>

namespace exercise {

namespace detail {

/// How a call of `f` ended: the value it returned, or the exception it
/// threw. Written by the thread that makes the call, read by the caller
/// once the call is over.
template <class Result>
class Outcome {
public:
    /// Calls `f` and keeps what it returned or threw. Never throws: an
    /// exception escaping a std::thread's function ends the process.
    template <class F>
    void make(F& f) noexcept
    {
        try {
            value_.emplace(f());
        } catch (...) {
            error_ = std::current_exception();
        }
    }

    /// The value, moved out (a move-only one too). \throws what `f` threw.
    Result take()
    {
        if (error_)
            std::rethrow_exception(error_);
        return std::move(*value_);
    }

private:
    std::optional<Result> value_;
    std::exception_ptr error_;
};

/// The outcome of a call that returns nothing: only an exception, if any.
template <>
class Outcome<void> {
public:
    /// Calls `f` and keeps the exception it threw, if any. Never throws.
    template <class F>
    void make(F& f) noexcept
    {
        try {
            f();
        } catch (...) {
            error_ = std::current_exception();
        }
    }

    /// Returns if `f` did. \throws what `f` threw.
    void take()
    {
        if (error_)
            std::rethrow_exception(error_);
    }

private:
    std::exception_ptr error_;
};

/// What run_in_thread()'s thread and its caller share: the outcome, and
/// the event the caller parks on, sent in the hub's thread by the post.
template <class Result>
struct Handoff {
    Outcome<Result> outcome;   ///< written by the thread, before it posts
    eventlet::Event<void> done; ///< the hub's: sent and destroyed in its thread
};

} // namespace detail

/// Calls `f()` on a new OS thread, and parks the calling green thread until
/// it returns; the hub runs its other green threads meanwhile. A minimal
/// eventlet::tpool::execute(), with one thread per call:
///
///     std::string text = exercise::run_in_thread([&] { return read_whole_file(path); });
///
/// Callable from any green thread, and from the root greenlet of any OS
/// thread (the hub waits for the answer instead of raising Deadlock). `f`
/// runs on the new thread: it must not touch the caller's hub, its green
/// threads or its sockets, and anything it shares with the caller's thread
/// needs a lock, or must be left alone until the call returns.
///
/// A caller that stops waiting (killed, or its Timeout expired) goes on at
/// once; `f` cannot be stopped, and runs to its end, and its result is then
/// destroyed. The thread ends with the call.
/// \returns what `f` returned (a move-only value too).
/// \throws what `f` threw, of the same type; whatever is thrown into the
///         green thread while it waits; std::system_error if no thread
///         could be started.
template <class F>
std::invoke_result_t<F&> run_in_thread(F f)
{
    using Result = std::invoke_result_t<F&>;
    static_assert(!std::is_reference_v<Result>,
                  "run_in_thread(f): f returns a value or nothing, not a reference");

    // The caller may be killed, and its frame gone, long before the thread
    // is done: what they share lives on the heap, and each owns it.
    auto handoff = std::make_shared<detail::Handoff<Result>>();
    // Taken here, in the hub's thread: Hub::current() on the new thread
    // would make that thread a hub of its own.
    const eventlet::HubHandle hub = eventlet::Hub::current().handle();
    // Before the thread starts, and until the wait ends however it ends: a
    // hub that sees nothing left that could wake the caller (the root
    // greenlet alone, say) raises Deadlock.
    const eventlet::ExpectPosts expecting;
    std::thread([handoff, hub, f = std::move(f)]() mutable {
        handoff->outcome.make(f);
        // The thread lets go of the handoff here: it goes with the posted
        // call, so that the Event is sent, and destroyed with the result,
        // in the hub's thread. post() fails only once the hub is gone, and
        // the caller with it: the handoff is then destroyed in this thread.
        hub.post([handoff = std::move(handoff)] { handoff->done.send(); });
    }).detach(); // the thread owns all it uses; nobody need join it
    handoff->done.wait();
    return handoff->outcome.take();
}

} // namespace exercise
