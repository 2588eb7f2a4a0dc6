// The pool of OS threads behind tpool::execute().
#include "eventlet/tpool.hpp"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <pthread.h>

#include "spin.hpp"

namespace eventlet {

namespace {

constinit thread_local bool pool_thread = false;

// Every ThreadPool alive, for the child of fork(): see renew_after_fork().
// Never destroyed, as a pool may outlive the globals (a static one).
struct Pools {
    std::mutex mutex;
    std::vector<ThreadPool*> pools;
    // The states the pools had before a fork(), kept for ever: destroying
    // one would wait for threads that do not exist in the child.
    std::vector<std::shared_ptr<void>> inherited;
};

Pools& all_pools() noexcept
{
    static Pools* const pools = new Pools;
    return *pools;
}

} // namespace

bool detail::on_pool_thread() noexcept { return pool_thread; }

// Shared by the green threads that submit calls (on any OS thread) and the
// pool's threads, under one lock.
struct ThreadPool::State {
    std::mutex mutex;
    std::condition_variable work_ready;
    std::deque<std::shared_ptr<detail::PoolJob>> line;
    // line.size(), written under the lock, read by a thread that spins
    // without it; and whether a thread spins now (one is enough).
    std::atomic<std::size_t> calls_in_line{0};
    std::atomic<bool> a_thread_spins{false};
    detail::SpinLimit spin_limit; // of the thread that spins; told by those woken
    std::vector<std::thread> threads; // every thread started, joined by ~ThreadPool
    std::size_t max_threads;
    std::size_t running = 0; // threads not yet ended
    std::size_t busy = 0;    // threads making a call now
    bool stopping = false;

    explicit State(std::size_t max) : max_threads(max) {}
    void work();
    void start_thread_if_needed();
};

void ThreadPool::State::work()
{
    pool_thread = true;
    std::unique_lock lock(mutex);
    for (;;) {
        if (line.empty() && !stopping && !a_thread_spins.exchange(true)) {
            // A caller whose call just came back often makes the next one
            // at once: watch for it a while before sleeping (spin.hpp).
            lock.unlock();
            spin_limit.spin([this] { return calls_in_line.load(std::memory_order_relaxed) != 0; });
            a_thread_spins.store(false);
            lock.lock();
        }
        if (line.empty()) {
            work_ready.wait(lock, [this] { return !line.empty() || stopping || running > max_threads; });
            if (!line.empty())
                spin_limit.handed_over();
        }
        // Ends when there are too many threads (the last one drains the
        // line first: a pool set to no thread must not strand the calls
        // in it), or when the pool is going and its line is empty.
        const bool too_many = running > max_threads && (running > 1 || line.empty());
        if (too_many || line.empty()) {
            --running;
            // A call left in line may have skipped the wake-up for this
            // thread, which spun: pass it on to one that sleeps.
            if (!line.empty())
                work_ready.notify_one();
            return;
        }
        std::shared_ptr<detail::PoolJob> job = std::move(line.front());
        line.pop_front();
        calls_in_line.store(line.size(), std::memory_order_relaxed);
        if (job->stage == detail::PoolJob::Stage::queued) {
            job->stage = detail::PoolJob::Stage::running;
            ++busy;
            lock.unlock();
            job->run();
            lock.lock();
            --busy;
            // The waiter reads the result after it sees `done` under this
            // lock, which orders the result's writes before its reads.
            if (job->stage == detail::PoolJob::Stage::running) {
                job->stage = detail::PoolJob::Stage::done;
                // Let go of the call before the wake-up, so that the waiter,
                // who still holds it (it cannot leave while this lock is
                // held), is its last owner: a result it reads is destroyed
                // in its own thread. An exception object is freed by its
                // last owner through a count kept inside the C++ runtime,
                // which ThreadSanitizer does not see: freed here, after the
                // waiter read its message, it would look like a race.
                const std::shared_ptr<detail::RemoteWaiter> waiter = job->waiter;
                job.reset();
                lock.unlock();
                waiter->wake();
                lock.lock();
                continue;
            }
        }
        // A dropped call's result (or function) dies here, on this thread,
        // and outside the lock: its destructor may take time, or locks.
        lock.unlock();
        job.reset();
        lock.lock();
    }
}

void ThreadPool::State::start_thread_if_needed()
{
    // A thread not busy with a call takes the next one soon, asleep or not.
    if (line.size() <= running - busy || running >= max_threads)
        return;
    try {
        threads.emplace_back([this] { work(); });
        ++running;
    } catch (const std::system_error&) {
        if (running == 0)
            throw; // nobody would ever take the call
        // Out of threads: the call waits for one of those running.
    }
}

ThreadPool::ThreadPool(std::size_t max_threads) : state_(std::make_shared<State>(max_threads))
{
    // The registry's lock is held across fork(), so that the child finds
    // the list whole and the lock free.
    static const int registered = ::pthread_atfork(
        [] { all_pools().mutex.lock(); }, [] { all_pools().mutex.unlock(); },
        [] {
            all_pools().mutex.unlock(); // taken by this very thread, before the fork
            renew_after_fork();
        });
    (void)registered;
    const std::lock_guard lock(all_pools().mutex);
    all_pools().pools.push_back(this);
}

void ThreadPool::renew_after_fork() noexcept
{
    // The child has a single thread: none of the pools' threads is here,
    // but their lock, condition variable and std::thread objects still
    // count them, and would wait for them for ever (in ~ThreadPool, at the
    // child's exit; in the next call's wake-up). Each pool starts afresh,
    // with no thread; calls in line or running in the parent are left
    // behind, their waiters unanswered.
    Pools& pools = all_pools();
    const std::lock_guard lock(pools.mutex);
    for (ThreadPool* pool : pools.pools) {
        std::shared_ptr<State> fresh = std::make_shared<State>(pool->state_->max_threads);
        pools.inherited.push_back(std::exchange(pool->state_, std::move(fresh)));
    }
}

ThreadPool::~ThreadPool()
{
    {
        Pools& pools = all_pools();
        const std::lock_guard lock(pools.mutex);
        std::erase(pools.pools, this);
    }
    {
        const std::lock_guard lock(state_->mutex);
        state_->stopping = true;
    }
    state_->work_ready.notify_all();
    for (std::thread& thread : state_->threads) {
        // A call that destroys its own pool would wait for itself for ever
        // (std::thread says so with an exception, which ends the process).
        if (thread.get_id() == std::this_thread::get_id()) {
            std::fputs("eventlet: fatal: a ThreadPool was destroyed by a call running in one of its "
                       "own threads, which it would wait for; destroy a pool from outside it\n",
                       stderr);
            std::abort();
        }
        thread.join();
    }
}

bool ThreadPool::wait_for(const std::shared_ptr<detail::PoolJob>& job)
{
    job->waiter = detail::RemoteWaiter::for_current();
    const std::shared_ptr<State> keep = state_;
    State& state = *keep;
    bool wake_a_thread = true;
    {
        const std::lock_guard lock(state.mutex);
        if (state.max_threads == 0)
            return false;
        if (state.stopping)
            throw std::logic_error("ThreadPool::execute() on a pool being destroyed");
        state.line.push_back(job);
        try {
            state.start_thread_if_needed();
        } catch (...) {
            state.line.pop_back();
            throw;
        }
        state.calls_in_line.store(state.line.size(), std::memory_order_relaxed);
        // A spinning thread takes a lone call without a wake-up: it still
        // spins, or it is about to take the lock and find the call in line.
        wake_a_thread = state.line.size() > 1 || !state.a_thread_spins.load();
    }
    if (wake_a_thread)
        state.work_ready.notify_one();
    // However the wait ends, a call not done yet is the pool's to drop: in
    // line, it never runs; running, its result is not waited for.
    struct StopWaiting {
        State& state;
        detail::PoolJob& job;
        ~StopWaiting()
        {
            const std::lock_guard lock(state.mutex);
            if (job.stage != detail::PoolJob::Stage::done)
                job.stage = detail::PoolJob::Stage::abandoned;
        }
    } stop_waiting{state, *job};
    for (;;) {
        job->waiter->park(detail::Deadline(std::nullopt));
        const std::lock_guard lock(state.mutex);
        if (job->stage == detail::PoolJob::Stage::done)
            return true;
    }
}

std::size_t ThreadPool::max_threads() const
{
    const std::lock_guard lock(state_->mutex);
    return state_->max_threads;
}

void ThreadPool::set_max_threads(std::size_t max_threads)
{
    {
        const std::lock_guard lock(state_->mutex);
        state_->max_threads = max_threads;
        // Calls already in line may now have threads to start.
        while (state_->running < max_threads &&
               state_->line.size() > state_->running - state_->busy) {
            const std::size_t before = state_->running;
            state_->start_thread_if_needed();
            if (state_->running == before)
                break;
        }
    }
    state_->work_ready.notify_all(); // threads beyond the bound end
}

std::size_t ThreadPool::threads() const
{
    const std::lock_guard lock(state_->mutex);
    return state_->running;
}

namespace tpool {

namespace {

constexpr std::size_t largest_pool = 1000;

std::size_t size_from_environment()
{
    const char* text = std::getenv("EVENTLET_THREADPOOL_SIZE");
    if (text == nullptr)
        return ThreadPool::default_max_threads;
    const std::string_view value(text);
    std::size_t size = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), size);
    if (value.empty() || error != std::errc() || end != value.data() + value.size() ||
        size > largest_pool)
        throw std::invalid_argument("EVENTLET_THREADPOOL_SIZE must be a whole number from 0 to " +
                                    std::to_string(largest_pool) + ", not '" + std::string(value) +
                                    "'");
    return size;
}

} // namespace

ThreadPool& pool()
{
    static ThreadPool shared(size_from_environment());
    return shared;
}

void set_num_threads(std::size_t max_threads) { pool().set_max_threads(max_threads); }

} // namespace tpool

} // namespace eventlet
