/// \file
/// run_in_thread(): a blocking call on an OS thread of its own, while the
/// calling green thread parks. Exercise 12 (README.md): the starter. It
/// compiles, and makes the call itself, in the caller's thread, blocking
/// the hub; fill in the four gaps marked TODO(exercise).
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

    // TODO(exercise): the state that the thread and the caller share, made
    // on the heap and owned by both (a std::shared_ptr): an Outcome, and
    // what the caller parks on (an eventlet::Event<void> is enough). Mind
    // that the caller may be gone, killed, long before the thread is done.
    detail::Outcome<Result> outcome;

    // TODO(exercise): the caller's hub, as the thread will reach it (a
    // HubHandle, taken here, in the hub's own thread), and a promise to
    // that hub that a post will come (an eventlet::ExpectPosts, alive for
    // as long as the caller waits, and no longer).

    // TODO(exercise): on a std::thread of its own, not here. The thread
    // makes the call, then posts to the hub the one thing the hub must do:
    // wake the caller. Then what becomes of the std::thread object?
    outcome.make(f);

    // TODO(exercise): park until the post has come. As written, the call
    // above blocked the whole hub until `f` returned.
    return outcome.take();
}

} // namespace exercise
