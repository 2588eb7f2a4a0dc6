#include "eventlet/hub.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include <pthread.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <asio/executor_work_guard.hpp>

#include "eventlet/detail/recycling_allocator.hpp"
#include "hub_impl.hpp"
#include "report.hpp"

namespace eventlet {

std::atomic<std::uint32_t> detail::fork_generation{0};

Hub::Impl::Impl()
    : greenlet([this] { run_loop(); }, {.name = "hub", .parent = &Greenlet::root()})
{
    const int set = ::epoll_create1(EPOLL_CLOEXEC);
    if (set < 0)
        throw std::system_error(errno, std::system_category(), "the hub cannot create its epoll set");
    try {
        // Asio owns the set's descriptor from here on, and closes it.
        epoll_watch = std::make_unique<asio::posix::stream_descriptor>(io, set);
    } catch (...) {
        ::close(set);
        throw;
    }
    epoll_fd = set;
    blocking_watch.start_from_environment();
}

Hub::Impl::~Impl()
{
    closing = true; // before `greenlet`, a member, unwinds the loop
    // A child of fork() that exits before its hub ever turned: taking the
    // hub's descriptors out of Asio's reactor (as destroying them does)
    // would take them out of the parent's too, which shares the reactor's
    // epoll set until the child has its own; the parent would then never
    // wake for its descriptors or signals again.
    renew_if_forked();
    // The kernel must write into no green thread's stack after the ring
    // is gone: their reads end here, as cancelled.
    if (ring) {
        ring->cancel_all();
        ring.reset();
    }
    const std::lock_guard lock(inbox->mutex);
    inbox->hub = nullptr;
    inbox->expected_work.reset(); // its context goes with this hub
}

namespace {

// Every call the hub schedules itself runs through run_reporting(), but
// Asio runs other handlers too: those of code that adds its own I/O objects
// through io_context() (the resolver's completion, say). An exception
// escaping one leaves io.run(); were it to leave this greenlet too, the hub
// would be finished for good, and every later wait of the thread would fail.
template <class Run>
void run_guarded(asio::io_context& io, const bool& closing, Run run)
{
    // Asio stops whenever it runs out of work. Asked here, just before it
    // runs, not on every turn: the question takes the context's lock.
    if (io.stopped())
        io.restart();
    try {
        run();
    } catch (const GreenletExit&) {
        if (closing)
            throw; // thrown into the hub by its destructor: unwind the loop
        detail::report_current_exception("a hub handler"); // a handler's own (see run_reporting)
    } catch (...) {
        detail::report_current_exception("a hub handler");
    }
}

// The kernel's monotonic time at its last tick (CLOCK_MONOTONIC_COARSE):
// the clock steady_clock reads, without the read of the hardware counter.
// A few nanoseconds where steady_clock::now() costs tens on a virtual
// machine, and at most a tick (1 to 4 ms) behind it.
detail::TimerQueue::Clock::time_point coarse_now() noexcept
{
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return detail::TimerQueue::Clock::time_point(
        std::chrono::duration_cast<detail::TimerQueue::Clock::duration>(
            std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec)));
}

} // namespace

// The body of the hub's greenlet: one turn per pass, as Eventlet's hub runs
// it. First the calls due now, in the order of their deadlines; a call at
// the next turn (sleep(0), a wake-up) is due the moment it was scheduled,
// so a timer that became overdue before it was scheduled runs first. Calls
// scheduled meanwhile wait for the next turn, after the descriptors have
// had theirs. When nothing is left that could wake a parked greenlet, tell
// the root instead of hanging.
void Hub::Impl::run_loop()
{
    for (;;) {
        // Only a timer with a delay needs the time: a call at the next turn
        // is due whatever the clock says. A loop of sleep(0)s then reads no
        // clock (see run_ready() for Asio's share).
        const bool clock_read = timers.has_deadlines();
        const auto now = clock_read ? detail::TimerQueue::Clock::now() : timers.last_now();
        const std::uint32_t before = timers.turn_mark();
        while (detail::TimerNode* const node = timers.pop_due(now, before))
            fire(*node);
        if (!run_ready(now, clock_read))
            Greenlet::root().throw_in(std::make_exception_ptr(
                Deadlock("every green thread is waiting and nothing can wake one: the hub has no "
                         "timers, no descriptors to watch and no callbacks left")));
    }
}

bool Hub::Impl::run_ready(detail::TimerQueue::Clock::time_point turn_start, bool clock_read)
{
    // The hub's own descriptors first, straight from the kernel: looked at
    // on every turn while anyone waits on one, so that a green thread that
    // keeps yielding cannot starve them. (Each function that asks the
    // kernel, the hub's set, its ring or Asio's set, first makes sure that
    // a child of fork() has its own: reap_ring(), harvest_ready(),
    // poll_asio(), and below, before the loop may wait. A turn that asks
    // nothing, as in a sleep(0) loop, checks nothing.)
    bool ran = resume_closed();
    // The reads in the ring before the harvest: their completions are in the queue
    // already, most of them, posted as the thread left its last system
    // calls; they came before what the harvest finds. One system call hands
    // over the reads queued since the last turn, if any (see Ring::reap()).
    if (ring_reads > 0 && reap_ring())
        ran = true;
    if (fd_waiters > 0 && harvest_ready())
        ran = true;
    // The turn's start stands for now: the calls just fired took little
    // time, and a busy loop spares a clock reading per turn. A deadline it
    // misses is one Asio finds passed, and returns at once.
    const auto now = turn_start;
    const auto earliest = timers.earliest();
    if (ran || (earliest && *earliest <= now)) {
        // Something ran or is due: the loop must not wait. Asio's own
        // completions (resolver, signals, a user's Asio objects) are looked
        // at too, but not on every busy turn: each look is an epoll_wait on
        // Asio's set, and a busy loop turns far more often than they come.
        // A turn that read no clock asks the coarse one: the look then comes
        // at the first tick after the interval (1 to 4 ms on a busy loop
        // without timers), not on every turn. A call posted by another
        // thread (HubHandle::post) does not wait for it: the count of posts
        // says at once that one is in Asio's queue.
        const auto look_time = clock_read ? now : coarse_now();
        const bool post_waiting =
            inbox->posted.load(std::memory_order_acquire) != inbox->delivered;
        if (post_waiting || look_time - last_asio_look >= asio_look_interval) {
            last_asio_look = look_time;
            run_guarded(io, closing, [this] { poll_asio(); });
        }
        return true;
    }
    last_asio_look = clock_read ? now : coarse_now(); // what comes below looks, and may wait
    renew_if_forked();
    if (post_at_hand()) {
        run_guarded(io, closing, [this] { poll_asio(); });
        return true;
    }
    // The ring's eventfd may have an edge in the set from completions reaped
    // already, which would end the wait below at once: the harvest takes it
    // out, and what completed meanwhile is reaped now instead.
    if (ring_reads > 0) {
        const bool harvested = harvest_ready();
        if (reap_ring() || harvested)
            return true;
        if (ring->signal_completions(true)) {
            ring->signal_completions(false);
            return true;
        }
    }
    // Turned off again when the wait below ends, however it ends.
    struct QuietRing {
        detail::Ring* ring;
        ~QuietRing()
        {
            if (ring != nullptr)
                ring->signal_completions(false);
        }
    } const quiet{ring_reads > 0 ? ring.get() : nullptr};
    // Nothing to do now: wait in Asio, which watches the epoll set too.
    watch_epoll_set();
    if (earliest) {
        // Asio counts only its own work, and would return at once if it had
        // none: the guard makes it wait for I/O until the next deadline.
        const auto work = asio::make_work_guard(io);
        run_guarded(io, closing, [this, deadline = *earliest] {
            if (io.run_one_until(deadline) != 0)
                poll_asio();
        });
        return true;
    }
    std::size_t handlers = 1; // a handler that threw ran
    run_guarded(io, closing, [this, &handlers] {
        handlers = io.run_one();
        if (handlers != 0)
            poll_asio();
    });
    return handlers != 0;
}

void Hub::Impl::renew_if_forked() noexcept
{
    if (!forked()) [[likely]]
        return;
    try {
        renew_after_fork();
    } catch (...) {
        detail::report_current_exception("the hub, making its own epoll set after fork()");
    }
}

void Hub::Impl::poll_asio()
{
    renew_if_forked();
    // Not io.poll(): it runs until Asio's queue is empty, and a thread that
    // posts without pause keeps it from ever being empty, so the turn never
    // ended and the green threads and timers never ran again. A post's
    // handler only moves its call to the next turn (HubHandle::post), so a
    // batch costs little; the rest waits in Asio's queue for the next turn.
    for (std::size_t ran = 0; ran < asio_batch && io.poll_one() != 0; ++ran) {
    }
}

bool Hub::Impl::post_at_hand()
{
    const std::uint64_t posted = inbox->posted.load(std::memory_order_acquire);
    if (posted != inbox->delivered)
        return true;
    if (inbox->expecting == 0)
        return false; // nobody waits for another thread: sleep at once
    return post_spin.spin(
        [this, posted] { return inbox->posted.load(std::memory_order_acquire) != posted; });
}

void Hub::Impl::throw_blocking_in_hub()
{
    throw std::logic_error("cannot block inside the hub: a hub callback must not sleep or wait");
}

namespace {

// This thread's hub while it lives. A plain pointer, unlike the hub itself,
// stays readable during the thread's exit, after the hub is destroyed.
constinit thread_local Hub* live_hub = nullptr;
// Set when the hub is destroyed: a thread's hub is made once, and what runs
// after it during the thread's exit (destructors of thread_local objects,
// of globals on the main thread) would otherwise get the dead one.
constinit thread_local bool hub_destroyed = false;

} // namespace

Hub::Hub() : impl_(std::make_unique<Impl>())
{
    // Once, with the first hub, so that every hub sees every fork() after
    // it. The forking thread's hub goes on in the child, and other threads
    // post to it under its inbox's lock (HubHandle::post), into Asio's
    // queue: held across fork(), the lock keeps them out, so the child finds
    // it, and Asio's queue, free (a thread that held them would never let
    // go, since it is not in the child).
    static const int registered = ::pthread_atfork(
        [] {
            if (Hub* hub = live_hub)
                hub->impl_->inbox->mutex.lock();
        },
        [] {
            if (Hub* hub = live_hub)
                hub->impl_->inbox->mutex.unlock();
        },
        [] {
            detail::fork_generation.fetch_add(1, std::memory_order_relaxed);
            if (Hub* hub = live_hub)
                hub->impl_->inbox->mutex.unlock(); // taken by this thread, before the fork
        });
    (void)registered;
    impl_->inbox->hub = this; // before any handle exists: no lock needed
    live_hub = this;
}

Hub::~Hub()
{
    live_hub = nullptr;
    hub_destroyed = true;
    // std::exit() called in a hub callback destroys the thread's hub (a
    // thread_local) while the hub's own greenlet runs, on the stack this
    // code runs on: a greenlet cannot unwind itself. The process is ending;
    // its hub is left to it, so that exit() goes on, with its status, to
    // the other destructors and the flush of stdio.
    if (detail::this_thread != nullptr && detail::this_thread->current == &impl_->greenlet)
        static_cast<void>(impl_.release());
}

Hub* Hub::existing() noexcept { return live_hub; }

Hub& Hub::current()
{
    if (Hub* hub = live_hub) [[likely]]
        return *hub;
    if (hub_destroyed)
        throw std::logic_error("this thread's hub was used after it was destroyed, during the thread's "
                               "exit (by the destructor of a thread_local or global object?): "
                               "green threads, sleeps and waits end before their thread does");
    thread_local Hub hub;
    return hub;
}

std::any Hub::switch_to()
{
    impl_->blockable_current();
    return impl_->park_current();
}

Greenlet& Hub::greenlet() noexcept { return impl_->greenlet; }

asio::io_context& Hub::io_context() noexcept { return impl_->io; }

HubHandle Hub::handle() const noexcept { return HubHandle(impl_->inbox); }

TimerHandle Hub::schedule_call(Seconds delay, std::function<void()> callback)
{
    if (!callback)
        throw std::invalid_argument("schedule_call needs a callback");
    // Recycled: a busy hub makes and drops one of these at every wake-up.
    auto state = std::allocate_shared<detail::TimerState>(
        detail::RecyclingAllocator<detail::TimerState>{}, std::move(callback));
    impl_->timers.push(*state, delay.to_steady());
    state->queued_self = state;
    return TimerHandle(std::move(state));
}

TimerHandle::TimerHandle(std::shared_ptr<detail::TimerState> state) noexcept
    : state_(std::move(state))
{
}

void TimerHandle::cancel() noexcept
{
    if (!state_ || state_->done)
        return;
    // Taking the call out of another thread's queue would corrupt it under
    // that thread's hub, and this call cannot throw. (Out of any queue and
    // not done, the call was let go by a hub that is gone: any thread may
    // mark it.)
    if (state_->queue != nullptr && !state_->queue->on_this_thread()) [[unlikely]]
        detail::fatal_misuse("a call scheduled on the hub of another OS thread was cancelled (a "
                             "Timeout destroyed or cancelled, or a TimerHandle cancelled, on "
                             "another thread than the one that set it); cancel it on its own "
                             "thread (a HubHandle reaches it)");
    state_->done = true;
    state_->callback = nullptr;
    // Out of the queue at once: a cancelled timer no longer counts as
    // something that could wake a greenlet.
    if (state_->queue != nullptr) {
        state_->queue->remove(*state_);
        state_->queued_self.reset();
    }
}

bool TimerHandle::pending() const noexcept { return state_ && !state_->done; }

void detail::GreenletWake::wake(TimerNode& node, TimerEvent event)
{
    if (event == TimerEvent::due)
        static_cast<GreenletWake&>(node).greenlet->switch_to();
}

// The wake-up lives on the sleeper's stack, in a page it has touched
// already: a parked green thread costs the hub no allocation.
void sleep(Seconds seconds)
{
    auto& hub = detail::HubInternals::impl(Hub::current());
    detail::GreenletWake wake(hub.blockable_current());
    hub.timers.push(wake, seconds.to_steady());
    // However this greenlet leaves (woken, or unwound by an exception thrown
    // into it), the node must leave the queue before its frame goes.
    const detail::UnqueueOnExit unqueue(wake);
    hub.park_current();
}

} // namespace eventlet
