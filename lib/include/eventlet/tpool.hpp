/// \file
/// ThreadPool and tpool::execute(): blocking calls on OS threads, while the
/// calling green thread parks (Eventlet's `eventlet.tpool`).
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "eventlet/detail/remote_waiter.hpp"

namespace eventlet {

namespace detail {

/// One call for a ThreadPool's threads, and the green thread that waits for it.
class PoolJob {
public:
    virtual ~PoolJob() = default;
    /// Makes the call on a pool thread, and keeps its result or exception.
    virtual void run() noexcept = 0;

    /// Where the call is; read and written under the pool's lock.
    enum class Stage { queued, running, done, abandoned };
    /// See Stage.
    Stage stage = Stage::queued;
    /// Woken when the call is done.
    std::shared_ptr<RemoteWaiter> waiter;
};

/// A PoolJob for a callable of type `Function`, which returns `Result`.
template <class Function, class Result>
class TypedPoolJob final : public PoolJob {
public:
    /// Holds `function` until a pool thread calls it.
    explicit TypedPoolJob(Function function) : function_(std::move(function)) {}

    void run() noexcept override
    {
        try {
            if constexpr (std::is_void_v<Result>)
                std::invoke(function_);
            else if constexpr (std::is_reference_v<Result>)
                result_.emplace(&std::invoke(function_));
            else
                result_.emplace(std::invoke(function_));
        } catch (...) {
            error_ = std::current_exception();
        }
    }

    /// The call's result, once done. \throws what the call threw.
    Result take()
    {
        if (error_)
            std::rethrow_exception(error_);
        if constexpr (std::is_reference_v<Result>)
            return static_cast<Result>(**result_);
        else if constexpr (!std::is_void_v<Result>)
            return std::move(*result_);
    }

private:
    // A reference result is kept as a pointer; void as nothing at all.
    using Stored = std::conditional_t<std::is_reference_v<Result>,
                                      std::add_pointer_t<std::remove_reference_t<Result>>,
                                      std::conditional_t<std::is_void_v<Result>, char, Result>>;
    Function function_;
    std::optional<Stored> result_;
    std::exception_ptr error_;
};

/// True on a thread of any ThreadPool (see ThreadPool::execute()).
bool on_pool_thread() noexcept;

} // namespace detail

/// A bounded pool of OS threads that run calls for green threads: the
/// calling green thread parks, its hub runs the others, and the call's
/// result (or exception) comes back to it.
///
///     eventlet::ThreadPool disk(4);
///     std::string text = disk.execute([&] { return read_whole_file(path); });
///
/// Use it for what would otherwise block the hub: a blocking system call
/// with no green version (a regular file's read(), which epoll cannot
/// watch; fsync()), a C library that blocks (a database client), or a
/// computation long enough to keep the hub's other green threads waiting.
/// A round trip costs two context switches between OS threads and a few
/// locks (`make bench BENCH=tpool` measures it): worth it for a call of
/// a hundred microseconds or more, not for a short one.
///
/// Threads start on demand, up to max_threads(), and stay for the next
/// call. The function runs on a pool thread: it must not touch the green
/// threads, sockets or timers of the caller's hub (only HubHandle may cross
/// threads), and anything it shares with other threads needs a lock.
class ThreadPool {
public:
    /// Eventlet's default size (its EVENTLET_THREADPOOL_SIZE).
    static constexpr std::size_t default_max_threads = 20;

    /// A pool that starts at most `max_threads` threads. 0 makes a pool with
    /// no thread, whose execute() makes the call itself, as Eventlet does
    /// with a pool of size 0 (the hub then blocks for the call), but without
    /// Eventlet's warning: the blocking detector, when on, names such a call
    /// that holds the hub too long (see debug.hpp).
    explicit ThreadPool(std::size_t max_threads = default_max_threads);
    /// Runs the calls still in line, waits for those running, and joins the
    /// threads. A call that never ends keeps the destructor waiting.
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    /// Calls `function()` on a pool thread and parks the calling green
    /// thread until it returns. The call waits in line while every thread is
    /// busy. Called on a pool thread itself, it makes the call at once, in
    /// that thread: a call that waited for a free thread from inside a pool
    /// thread could wait for ever.
    ///
    /// A green thread that stops waiting (killed, or its Timeout expired)
    /// goes on at once: a call still in line is dropped without running; a
    /// call already running cannot be stopped, and its result is destroyed,
    /// on the pool thread, when it ends. Such a call outlives the caller's
    /// frame: where the caller may be killed or timed out, give `function`
    /// what it reads by value (a capture by copy, or moved in), not by a
    /// reference to the caller's locals.
    /// \returns what `function` returned (a reference, if it returned one).
    /// \throws what `function` threw; whatever is thrown into the green
    ///         thread while it waits; std::logic_error in the hub or on a
    ///         pool being destroyed; std::system_error if no thread could
    ///         be started and none runs.
    template <class Function>
    std::invoke_result_t<std::decay_t<Function>&> execute(Function&& function)
    {
        using Result = std::invoke_result_t<std::decay_t<Function>&>;
        if (detail::on_pool_thread())
            return std::invoke(function);
        auto job = std::make_shared<detail::TypedPoolJob<std::decay_t<Function>, Result>>(
            std::forward<Function>(function));
        if (!wait_for(job))
            job->run(); // a pool of no thread
        return job->take();
    }

    /// The most threads the pool starts.
    std::size_t max_threads() const;
    /// Changes max_threads() (Eventlet's `tpool.set_num_threads`). Threads
    /// beyond the new bound end once their current call is done.
    void set_max_threads(std::size_t max_threads);
    /// Threads running now, busy or idle.
    std::size_t threads() const;

private:
    /// Puts `job` in line and parks until it is done.
    /// \returns false, at once, if the pool may start no thread.
    bool wait_for(const std::shared_ptr<detail::PoolJob>& job);
    /// In the child of fork(): gives every pool a state of its own, with no
    /// thread, in place of the parent's.
    static void renew_after_fork() noexcept;
    struct State;
    // Shared with the green threads that wait: one may still be leaving
    // wait_for() (woken, not yet run) when the pool is destroyed.
    std::shared_ptr<State> state_;
};

/// The process's shared pool, as Eventlet's `eventlet.tpool` module has one.
namespace tpool {

/// The shared pool, made on first use with EVENTLET_THREADPOOL_SIZE threads
/// at most (a whole number from 0 to 1000), or ThreadPool::default_max_threads
/// without it. Destroyed at the process's exit, after waiting for the calls
/// still running.
/// \throws std::invalid_argument if EVENTLET_THREADPOOL_SIZE is not such a
///         number (the next call reads it again).
ThreadPool& pool();

/// Calls `function(args...)` on the shared pool and parks the calling green
/// thread until it returns (Eventlet's `tpool.execute`); see
/// ThreadPool::execute().
template <class Function, class... Args>
decltype(auto) execute(Function&& function, Args&&... args)
{
    if constexpr (sizeof...(Args) == 0)
        return pool().execute(std::forward<Function>(function));
    else
        return pool().execute(
            std::bind_front(std::forward<Function>(function), std::forward<Args>(args)...));
}

/// Sets the shared pool's max_threads() (Eventlet's `tpool.set_num_threads`).
void set_num_threads(std::size_t max_threads);

} // namespace tpool

} // namespace eventlet
