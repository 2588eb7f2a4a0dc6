/// \file
/// GreenPool: green threads with a bound on how many run at once.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <unordered_set>
#include <utility>

#include "eventlet/detail/wait_queue.hpp"
#include "eventlet/greenthread.hpp"
#include "eventlet/imap.hpp"

namespace eventlet {

namespace detail {

/// What a pool's green threads share with the pool: the count of running
/// ones and the lines of green threads waiting for a slot or for the pool
/// to empty. Held by a shared_ptr, so that a green thread that ends after
/// its pool was destroyed still has somewhere to give its slot back.
struct PoolState {
    explicit PoolState(std::size_t slots) : size(slots) {}

    /// True if the calling green thread is one of this pool's and the pool
    /// has no free slot: spawning must then not wait (see GreenPool::spawn).
    bool must_run_inline() const;
    /// Takes a slot, parking in line while there is none.
    /// \throws std::logic_error if the pool is destroyed meanwhile.
    void acquire_slot();
    /// Gives a slot back (the green thread holding it has ended).
    void release_slot(const Greenlet* member) noexcept;
    /// Does nothing unless the pool's green threads run on another OS
    /// thread than the caller's: its counts and lines are that thread's.
    /// \throws std::logic_error naming `operation` then.
    void check_thread(const char* operation) const
    {
        if (running > 0 && thread != this_thread) [[unlikely]]
            throw_other_thread(operation);
    }

    std::size_t size;
    std::size_t running = 0;
    // The thread (its state) of the green threads counted in `running`:
    // while any runs, the pool belongs to that thread's hub.
    const ThreadState* thread = nullptr;
    bool destroyed = false; // the GreenPool is gone: no slot will be given
    std::unordered_set<const Greenlet*> members;
    detail::WaitQueue spawners;
    detail::WaitQueue emptied;

private:
    [[noreturn, gnu::cold]] static void throw_other_thread(const char* operation);
    // Counts a slot as taken by the calling thread's green threads. (Its
    // state may not exist yet: a thread's first spawn makes it.)
    void take_slot()
    {
        thread = &ThreadState::get();
        ++running;
    }
};

/// A pool slot taken and not yet handed to a green thread; given back if
/// the green thread cannot be created. It holds the pool's state, so that
/// a caller parked for a slot still has a line to leave when the pool is
/// destroyed under it.
class SlotGuard {
public:
    explicit SlotGuard(std::shared_ptr<PoolState> pool) : pool_(std::move(pool))
    {
        pool_->acquire_slot();
    }
    ~SlotGuard()
    {
        if (pool_ != nullptr)
            pool_->release_slot(nullptr);
    }
    SlotGuard(const SlotGuard&) = delete;
    SlotGuard& operator=(const SlotGuard&) = delete;
    /// The slot now belongs to a green thread.
    void hand_over() noexcept { pool_.reset(); }

private:
    std::shared_ptr<PoolState> pool_;
};

/// A pool's size given as a signed number (an int, a literal).
/// \throws std::invalid_argument if `count` is negative: converted to
///         std::size_t it would make a pool without a limit.
std::size_t pool_size(std::intmax_t count);

} // namespace detail

/// A bound on how many green threads run at once (Eventlet's
/// `eventlet.GreenPool`). spawn() waits for a free slot; the green thread
/// gives its slot back when it ends, however it ends.
///
/// Destroying a pool neither waits for nor stops its green threads; call
/// waitall() first to wait for them. Callers parked in spawn() for a slot
/// wake with std::logic_error.
class GreenPool {
public:
    /// A pool of `size` slots.
    /// \throws std::invalid_argument if `size` is 0 (spawn would wait for ever).
    explicit GreenPool(std::size_t size = 1000);
    /// A pool of `size` slots, given as a signed number (`GreenPool(-1)`
    /// would otherwise be a pool of SIZE_MAX slots).
    /// \throws std::invalid_argument if `size` is 0 or negative (Eventlet's
    ///         ValueError).
    template <std::signed_integral Count>
    explicit GreenPool(Count size) : GreenPool(detail::pool_size(size))
    {
    }
    /// Wakes the callers parked in spawn() with std::logic_error; the
    /// running green threads go on. Never switches.
    ~GreenPool();
    GreenPool(const GreenPool&) = delete;
    GreenPool& operator=(const GreenPool&) = delete;

    /// Starts `f(args...)` in a green thread of the pool, as eventlet::spawn
    /// does, once a slot is free; the caller parks until then, in line with
    /// other callers waiting for a slot.
    /// \throws std::logic_error if the pool is destroyed while the caller
    ///         waits (a pool must outlive its spawners), or, before anything
    ///         is done, on another OS thread than the one the pool's green
    ///         threads run on (a pool belongs to one hub while it is in use).
    ///
    /// When the caller is itself one of the pool's green threads and the
    /// pool is full, `f` runs at once in the caller instead, as in Eventlet:
    /// waiting for a slot there could deadlock (every slot held by a thread
    /// waiting for a slot), and the caller's own slot already counts it.
    /// What `f` throws is kept in the handle, as if it had run apart; what
    /// is thrown into the caller meanwhile (its Timeout, a kill) and `f`
    /// lets through is the caller's too, and spawn() rethrows it.
    /// \returns its handle (for an inline call, a handle on a thread that
    ///          has already ended).
    template <class F, class... Args>
    auto spawn(F&& f, Args&&... args)
    {
        state_->check_thread("spawn");
        auto call = detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
        using Result = detail::result_of_call<decltype(call)>;
        if (state_->must_run_inline()) {
            auto thread = detail::make_green_thread_state<Result>(false, std::move(call));
            thread->run_inline();
            return GreenThread<Result>(std::move(thread));
        }
        detail::SlotGuard slot(state_);
        auto thread = detail::make_green_thread_state<Result>(false, std::move(call));
        admit(*thread);
        slot.hand_over();
        thread->start(0, thread);
        return GreenThread<Result>(std::move(thread));
    }

    /// Like spawn(), without a handle (eventlet::spawn_n): an exception
    /// escaping `f` is reported on stderr, and the slot is given back.
    template <class F, class... Args>
    void spawn_n(F&& f, Args&&... args)
    {
        state_->check_thread("spawn_n");
        auto call = detail::bind_call(std::forward<F>(f), std::forward<Args>(args)...);
        using Result = detail::result_of_call<decltype(call)>;
        using State = detail::GreenThreadState<Result, decltype(call)>;
        if (state_->must_run_inline()) {
            State(true, std::move(call)).run_inline();
            return;
        }
        detail::SlotGuard slot(state_);
        auto thread = detail::make_green_thread_state<Result>(true, std::move(call));
        admit(*thread);
        slot.hand_over();
        thread->start(0, thread);
    }

    /// Calls `f` on the elements of `ranges` taken in step (like zip; the
    /// shortest range ends it) in green threads of this pool, and yields the
    /// results in input order. See Imap for the guarantees.
    template <class F, class... Ranges>
        requires(sizeof...(Ranges) > 0 && (std::ranges::input_range<Ranges> && ...))
    auto imap(F f, Ranges&&... ranges)
    {
        return Imap<GreenPool, F, std::views::all_t<Ranges>...>(
            *this, std::move(f), std::views::all(std::forward<Ranges>(ranges))...);
    }

    /// imap() over one range of tuples, each unpacked into the arguments of
    /// `f` (Eventlet's starmap).
    template <class F, class Range>
        requires std::ranges::input_range<Range>
    auto starmap(F f, Range&& tuples)
    {
        return imap([f = std::move(f)](auto& arguments) mutable { return std::apply(f, arguments); },
                    std::forward<Range>(tuples));
    }

    /// Parks until none of the pool's green threads is running.
    /// \throws std::logic_error when called from one of them (it would wait
    ///         for itself for ever), or on another OS thread than theirs.
    void waitall();

    /// Number of the pool's green threads running now.
    std::size_t running() const noexcept { return state_->running; }
    /// Number of slots free now (0 while a shrink is still taking effect).
    std::size_t free() const noexcept;
    /// Number of callers parked in spawn() or spawn_n(), waiting for a slot.
    std::size_t waiting() const noexcept { return state_->spawners.size(); }
    /// Number of slots.
    std::size_t size() const noexcept { return state_->size; }
    /// Changes the number of slots. Growing lets callers waiting for a slot
    /// in (at the hub's next turn); shrinking stops nothing: the running
    /// green threads finish, and new ones start only once fewer than
    /// `new_size` run. \throws std::invalid_argument if `new_size` is 0;
    ///         std::logic_error on another OS thread than the one the pool's
    ///         green threads run on (nothing changes then).
    void resize(std::size_t new_size);
    /// Same as resize(std::size_t), for a signed number.
    /// \throws std::invalid_argument if `new_size` is 0 or negative.
    template <std::signed_integral Count>
    void resize(Count new_size)
    {
        resize(detail::pool_size(new_size));
    }

private:
    // Counts `thread` as running and gives its slot back when it ends.
    void admit(detail::GreenThreadCore& thread);

    std::shared_ptr<detail::PoolState> state_;
};

} // namespace eventlet
