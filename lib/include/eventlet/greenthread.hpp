/// \file
/// Green threads: spawn, spawn_n, spawn_after, and the GreenThread handle.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "eventlet/detail/record_arena.hpp"
#include "eventlet/detail/recycling_allocator.hpp"
#include "eventlet/detail/timer_node.hpp"
#include "eventlet/detail/wait_queue.hpp"
#include "eventlet/greenlet.hpp"
#include "eventlet/seconds.hpp"
#include "eventlet/timer.hpp"

namespace eventlet {

template <class T>
class GreenThread;

namespace detail {

/// What a green thread is, whatever its result type: a greenlet whose
/// parent is the hub, started by a hub callback, and the record of how it
/// ended for those who wait for it. It is its own start on the hub's queue
/// of timers (the TimerNode base): a spawn allocates nothing but this state.
class GreenThreadCore : private TimerNode {
public:
    GreenThreadCore(const GreenThreadCore&) = delete;
    GreenThreadCore& operator=(const GreenThreadCore&) = delete;
    virtual ~GreenThreadCore();

    /// Schedules the start after `delay` and keeps `self` (this object)
    /// alive until the green thread has ended.
    void start(Seconds delay, std::shared_ptr<GreenThreadCore> self);
    /// Parks until the green thread has ended; rethrows what ended it.
    void wait_for_end();
    /// Parks until the green thread has ended; throws only what is thrown
    /// into the waiter.
    void join();
    /// Raises `error` in the green thread (see GreenThread::kill()).
    void kill(std::exception_ptr error);
    /// Kills the green thread only if it has not started; true if it did.
    bool cancel();
    /// Runs `callback` when the green thread ends (now, if it has).
    void add_link(std::function<void()> callback);
    /// Runs the function now, in the calling green thread, instead of in a
    /// green thread of its own (what GreenPool does when a green thread of
    /// a full pool spawns into it). Its outcome is kept as if it had run
    /// apart. Also rethrown in the caller: GreenletExit, which can only be
    /// meant for the caller, and whatever else was thrown into the caller
    /// while the function ran (its Timeout, a kill) and let through.
    void run_inline();

    /// True once the green thread has ended (or was killed before it started).
    bool dead() const noexcept { return finished_; }
    /// True once the green thread has begun to run.
    bool started() const noexcept { return greenlet_.started(); }
    /// The greenlet it runs in.
    Greenlet& greenlet() noexcept { return greenlet_; }

protected:
    /// `detached`: nobody can wait for it (spawn_n), so an exception that
    /// ends it is reported on stderr instead of being kept.
    explicit GreenThreadCore(bool detached);
    /// Calls the function and keeps its result.
    virtual void invoke() = 0;
    /// \throws std::logic_error naming `operation` on another OS thread
    ///         than the green thread's.
    void check_thread(const char* operation) const;

    /// Set once invoke() has destroyed the function: it then no longer
    /// exists for the state's destructor to destroy.
    bool function_destroyed_ = false;

private:
    void main();
    // Records the end and runs the links, in the calling greenlet. Returns
    // what was thrown into that greenlet while a link ran in it, when it is
    // not this green thread (the links of one ended before it started run
    // in whoever ended it): the caller's to rethrow.
    [[nodiscard]] std::exception_ptr finish(std::exception_ptr error) noexcept;
    [[nodiscard]] std::exception_ptr run_links() noexcept;
    static void start_now(TimerNode& node, TimerEvent event);
    TimerNode& start_node() noexcept { return *this; }

    // The two flags first: they fit in the padding at the end of the base.
    bool finished_ = false;
    bool detached_;
    Greenlet greenlet_;
    std::shared_ptr<GreenThreadCore> keep_alive_;
    detail::WaitQueue waiters_{"a GreenThread"};
    // Made by the first link(): few green threads have one.
    std::unique_ptr<std::vector<std::function<void()>>> links_;
    std::exception_ptr error_;
};

/// A green thread's result, once it has one.
template <class T>
class GreenThreadResult : public GreenThreadCore {
public:
    /// Set by invoke() when the function returns.
    std::optional<T> value;

protected:
    using GreenThreadCore::GreenThreadCore;
};

/// A green thread whose function returns nothing.
template <>
class GreenThreadResult<void> : public GreenThreadCore {
protected:
    using GreenThreadCore::GreenThreadCore;
};

/// A green thread running a callable of type F that returns T.
///
/// The callable, and what it captured, is destroyed in the green thread as
/// soon as it returns or throws, as a function's locals are, not with this
/// state: the hub may be the one that frees the state (spawn_n, or the last
/// handle dropped), and a capture whose destructor blocks (a connection
/// that flushes on close) can do so only in a green thread.
template <class T, class F>
class GreenThreadState final : public GreenThreadResult<T> {
public:
    GreenThreadState(bool detached, F function) : GreenThreadResult<T>(detached)
    {
        std::construct_at(&function_, std::move(function));
    }
    ~GreenThreadState() override
    {
        // Never invoked: killed, or cancelled, before it started.
        if (!this->function_destroyed_)
            std::destroy_at(&function_);
    }

private:
    void invoke() override
    {
        struct DestroyOnExit {
            GreenThreadState& state;
            ~DestroyOnExit()
            {
                state.function_destroyed_ = true;
                std::destroy_at(&state.function_);
            }
        } destroy_on_exit{*this};
        if constexpr (std::is_void_v<T>)
            function_();
        else
            this->value.emplace(function_());
    }
    // In a union so that its lifetime is the state's to manage (above).
    union {
        F function_;
    };
};

/// Binds `f` to copies of `args`, as std::thread does (std::ref to pass a reference).
template <class F, class... Args>
auto bind_call(F&& f, Args&&... args)
{
    // With nothing to bind, the function itself: a wrapper would cost every
    // green thread's state a few bytes (an empty tuple still takes one) and
    // every spawn's caller the compiling of one more class.
    if constexpr (sizeof...(Args) == 0) {
        return std::decay_t<F>(std::forward<F>(f));
    } else {
        return [function = std::decay_t<F>(std::forward<F>(f)),
                arguments = std::make_tuple(std::forward<Args>(args)...)]() mutable
               -> decltype(auto) { return std::apply(function, std::move(arguments)); };
    }
}

/// The result type a green thread keeps for a bound call.
template <class Call>
using result_of_call = std::remove_cvref_t<std::invoke_result_t<Call&>>;

/// A green thread's state, from the thread's RecordArena: a server that
/// spawns a green thread per request or per connection reuses the records
/// of those that ended instead of asking malloc for each, and a burst of
/// spawns touches few fresh pages. Under AddressSanitizer each state is
/// malloc's, with the red zones that catch an overflow into a neighbour
/// (kept per type for reuse, as the hub's other records are).
template <class Result, class Call>
auto make_green_thread_state(bool detached, Call call)
{
    using State = GreenThreadState<Result, Call>;
#if defined(__SANITIZE_ADDRESS__)
    constexpr std::size_t kept_per_thread = 1024;
    using Allocator = RecyclingAllocator<State, kept_per_thread>;
#else
    using Allocator = ArenaAllocator<State>;
#endif
    return std::allocate_shared<State>(Allocator{}, detached, std::move(call));
}

} // namespace detail

/// A handle on a green thread started by spawn() or spawn_after(); copies
/// refer to the same green thread. Destroying every handle neither stops
/// nor detaches the green thread: it runs to its end regardless.
///
/// A handle may travel to another OS thread (through a SharedQueue, say),
/// but the last one must be dropped on the green thread's own thread, or
/// after that thread has exited: the green thread's record belongs to its
/// hub, which is not thread-safe. Dropped elsewhere, it ends the program
/// with a message naming the green thread (a destructor cannot throw).
template <class T>
class GreenThread {
public:
    /// A handle that refers to no green thread.
    GreenThread() = default;
    /// Used by spawn(); see there.
    explicit GreenThread(std::shared_ptr<detail::GreenThreadResult<T>> state)
        : state_(std::move(state))
    {
    }

    /// Parks the current green thread until this one ends.
    /// \returns its result: a copy, or, for a move-only type, the result
    ///          itself (which only the first wait() gets).
    /// \throws the exception that ended it (GreenletExit if it was killed);
    ///         std::logic_error when a green thread waits for itself, for
    ///         a move-only result already taken, or, while it has not ended,
    ///         on another OS thread than its own (it wakes its waiters
    ///         through its own hub); whatever is thrown into the waiter while
    ///         it waits.
    T wait()
    {
        if (state().dead())
            return outcome(*state_);
        const std::shared_ptr<detail::GreenThreadResult<T>> held = hold_for_wait();
        held->join();
        return outcome(*held);
    }

    /// Parks the current green thread until this one ends, without taking
    /// its result or rethrowing its exception (wait() does both, at once,
    /// afterwards). Useful to wait in a way that an interruption of the
    /// waiter cannot confuse with the green thread's own failure.
    /// \throws std::logic_error when a green thread joins itself, or on
    ///         another OS thread (as wait()); whatever is thrown into the
    ///         waiter while it waits.
    void join()
    {
        if (!state().dead())
            hold_for_wait()->join();
    }

    /// Raises GreenletExit in the green thread at the point where it is
    /// blocked, so that it unwinds (its destructors run). The caller yields:
    /// the target runs at once, the caller again at the hub's next turn. A
    /// green thread that has not started never will. Does nothing to one that
    /// ended, unless it is parked in one of its links (see link()): the link
    /// is interrupted, and the links after it do not run. Nor to one parked
    /// in a destructor while an exception unwinds it (an earlier kill, say):
    /// it is ending already, and C++ would end the process for a second
    /// exception there (Eventlet raises it again in the `finally`). Otherwise a
    /// GreenletExit that escapes a destructor ends the process (C++ calls
    /// std::terminate): see Timeout about blocking in destructors.
    /// \throws std::logic_error on another OS thread than the green
    ///         thread's (its hub is not thread-safe: use a HubHandle).
    void kill() { kill(std::make_exception_ptr(GreenletExit{})); }
    /// Like kill(), but raises `error` instead of GreenletExit.
    void kill(std::exception_ptr error) { state().kill(std::move(error)); }
    /// Kills the green thread only if it has not started yet (Eventlet's cancel).
    /// \returns true if it was cancelled. Never switches.
    /// \throws std::logic_error on another OS thread than the green thread's.
    bool cancel() { return state().cancel(); }

    /// Calls `callback` with this handle when the green thread ends, in the
    /// green thread itself (or at once, if it has already ended). An
    /// exception escaping `callback` is reported on stderr; the other links still run.
    ///
    /// A link runs in the caller when the green thread has ended already, and
    /// when the caller's kill() or cancel() ends one that had not started. If
    /// the caller is interrupted there while the link waits (killed, or its
    /// Timeout falls due), that exception is the caller's: it leaves the link
    /// and, once the other links have run, reaches the caller (link(),
    /// kill(), cancel() throw it), instead of being reported as the link's.
    void link(std::function<void(GreenThread&)> callback)
    {
        std::weak_ptr<detail::GreenThreadResult<T>> weak = state_;
        state().add_link([weak, callback = std::move(callback)] {
            if (auto state = weak.lock()) {
                GreenThread handle(std::move(state));
                callback(handle);
            }
        });
    }

    /// True once it has ended, or was killed before it started.
    bool dead() const { return state().dead(); }
    /// True once it has begun to run.
    bool started() const { return state().started(); }
    /// The greenlet it runs in (its name is in error messages).
    Greenlet& greenlet() const { return state().greenlet(); }
    /// True if this handle refers to a green thread.
    explicit operator bool() const noexcept { return state_ != nullptr; }
    /// True if both handles refer to the same green thread (or to none).
    bool operator==(const GreenThread& other) const noexcept { return state_ == other.state_; }

private:
    // A parked waiter holds the state itself: the green threads that wait
    // for this one wake in turn, and one woken first may destroy or reset
    // the handle the others wait through (a handle shared by reference, or
    // a pile's line read by two green threads).
    std::shared_ptr<detail::GreenThreadResult<T>> hold_for_wait() const { return state_; }

    // What wait() returns once the green thread has ended (it never parks).
    static T outcome(detail::GreenThreadResult<T>& ended)
    {
        ended.wait_for_end();
        if constexpr (!std::is_void_v<T>) {
            if constexpr (std::is_copy_constructible_v<T>) {
                return *ended.value;
            } else {
                if (!ended.value)
                    throw std::logic_error("this green thread's result was already taken by wait()");
                T result = std::move(*ended.value);
                ended.value.reset();
                return result;
            }
        }
    }

    detail::GreenThreadResult<T>& state() const
    {
        if (!state_)
            throw std::logic_error("this GreenThread handle refers to no green thread");
        return *state_;
    }
    std::shared_ptr<detail::GreenThreadResult<T>> state_;
};

/// Starts `f(args...)` in a new green thread after `delay`.
/// Arguments are copied (or moved) into the green thread, as by std::thread.
/// Never switches. \returns its handle.
template <class F, class... Args>
auto spawn_after(Seconds delay, F&& f, Args&&... args)
{
    auto call = detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
    using Result = detail::result_of_call<decltype(call)>;
    auto state = detail::make_green_thread_state<Result>(false, std::move(call));
    state->start(delay, state);
    return GreenThread<Result>(std::move(state));
}

/// Starts `f(args...)` in a new green thread at the hub's next turn (not
/// inline: the caller goes on until it blocks). Never switches.
/// \returns its handle: wait() for the result.
template <class F, class... Args>
auto spawn(F&& f, Args&&... args)
{
    return spawn_after(0, std::forward<F>(f), std::forward<Args>(args)...);
}

/// Like spawn(), without a handle: cheaper, and nobody can wait for it. An
/// exception escaping `f` is reported on stderr with the green thread's name;
/// neither the hub nor the process stops.
template <class F, class... Args>
void spawn_n(F&& f, Args&&... args)
{
    auto call = detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
    using Result = detail::result_of_call<decltype(call)>;
    auto state = detail::make_green_thread_state<Result>(true, std::move(call));
    state->start(0, state);
}

/// Kills `thread` (see GreenThread::kill()).
template <class T>
void kill(GreenThread<T>& thread)
{
    thread.kill();
}

} // namespace eventlet
