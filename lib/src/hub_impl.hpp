// Private: the hub's state, shared by the files that implement it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <system_error>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "eventlet/hub.hpp"
#include "blocking_detector.hpp"
#include "fd_table.hpp"
#include "ring.hpp"
#include "threaded_list.hpp"
#include "report.hpp"
#include "spin.hpp"
#include "eventlet/detail/switch_path.hpp"
#include "timer_queue.hpp"

namespace eventlet::detail {

/// One green thread waiting on a descriptor; lives on that green thread's
/// stack for the length of its wait.
struct FdWait {
    enum class Outcome { waiting, ready, timed_out, closed };
    Greenlet* greenlet;
    Outcome outcome = Outcome::waiting;
    // In the hub's list of waits to end with IOClosed at its next turn.
    FdWait* next_closed = nullptr;
    bool in_closed_list = false;
    // The read this wait is for, if it went through the hub's ring (see
    // RingWait): then the ring, not readiness, ends the wait.
    RingRead* ring_read = nullptr;
};

/// The tag of the ring's eventfd in the hub's epoll set: no watch's (a
/// watch's tag holds its descriptor's number, never -1).
inline constexpr std::uint64_t ring_signal_tag = ~std::uint64_t{0};

/// A green thread parked on a read it handed to the hub's ring.
struct RingWait : RingRead {
    explicit RingWait(Greenlet& reader) noexcept : wait{&reader} { wait.ring_read = this; }
    FdWait wait;
};

/// What a wait on `fd` for `want` throws when its timeout passes first.
[[noreturn]] void throw_wait_timed_out(int fd, Readiness want);
/// What a wait on `fd` throws when notify_close() ends it.
[[noreturn]] void throw_wait_closed(int fd);

/// Ends a wait with IOTimeout when its deadline comes; lives on the
/// waiter's stack beside the wait, so that a timed wait allocates nothing.
struct FdTimeoutWake : TimerNode {
    explicit FdTimeoutWake(FdWait& wait) noexcept : TimerNode(&fire), wait(wait) {}
    static void fire(TimerNode& node, TimerEvent event);
    FdWait& wait;
};

/// How many fork()s the process is away from the one that first made a
/// hub: bumped in the child of each fork() (a pthread_atfork handler, which
/// runs while the child has a single thread), read by each hub on its turns
/// to see that it must take its state back from the parent (see
/// Hub::Impl::renew_after_fork()). Never changes in a process that does not
/// fork.
extern std::atomic<std::uint32_t> fork_generation;

/// What a HubHandle reaches: the hub while it lives, null after.
struct HubInbox {
    std::mutex mutex;
    Hub* hub = nullptr;
    // Calls posted, counted by the posting threads after each post; and
    // those the hub's thread has taken from Asio's queue. A hub about to
    // sleep while it expects posts watches the first for a while (spin.hpp).
    std::atomic<std::uint64_t> posted{0};
    std::uint64_t delivered = 0;
    // The hub's thread only: how many ExpectPosts live, and the work that
    // keeps Asio's loop waiting for posts while any does.
    std::size_t expecting = 0;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> expected_work;
};

/// Cancels a timer when the scope ends, however it ends.
class CancelOnExit {
public:
    explicit CancelOnExit(TimerHandle& timer) noexcept : timer_(timer) {}
    ~CancelOnExit() { timer_.cancel(); }
    CancelOnExit(const CancelOnExit&) = delete;
    CancelOnExit& operator=(const CancelOnExit&) = delete;

private:
    TimerHandle& timer_;
};

// A node that switches to a greenlet parked until a deadline (sleep()) or
// until the next turn. It lives on that greenlet's stack.
struct GreenletWake : TimerNode {
    explicit GreenletWake(Greenlet& sleeper) noexcept : TimerNode(&wake), greenlet(&sleeper) {}
    static void wake(TimerNode& node, TimerEvent event);
    Greenlet* greenlet;
};

// Takes a node out of its queue, if it is still in one, when a scope ends:
// the node's owner is about to free it.
class UnqueueOnExit {
public:
    explicit UnqueueOnExit(TimerNode& node) noexcept : node_(node) {}
    ~UnqueueOnExit()
    {
        if (node_.queue != nullptr)
            node_.queue->remove(node_);
    }
    UnqueueOnExit(const UnqueueOnExit&) = delete;
    UnqueueOnExit& operator=(const UnqueueOnExit&) = delete;

private:
    TimerNode& node_;
};

} // namespace eventlet::detail

namespace eventlet {

struct Hub::Impl {
    Impl();
    ~Impl();
    void run_loop();
    /// The second half of a turn: runs the handlers of what is ready (I/O,
    /// Asio's own completions), waiting for one if no call is due now.
    /// `clock_read`: `turn_start` is a reading of the clock, not the queue's
    /// last known time. \returns false if nothing is left that could ever
    /// wake anyone.
    bool run_ready(detail::TimerQueue::Clock::time_point turn_start, bool clock_read);
    /// Runs a call that is due; it is out of the queue, so its handler may
    /// free it or queue it again.
    [[gnu::always_inline]] void fire(detail::TimerNode& node);
    /// Switches to a parked greenlet from the hub's loop.
    [[gnu::always_inline]] void resume(Greenlet& greenlet);
    /// Switches from the running green thread (not the hub: see
    /// blockable_current()) to the hub's loop; returns when it is resumed.
    [[gnu::always_inline]] std::any park_current()
    {
        return detail::SwitchPath::switch_to(greenlet, {});
    }
    /// Runs `callback` (in the hub), reporting whatever escapes it, but for
    /// the GreenletExit that unwinds the loop when the hub is destroyed.
    template <class Call>
    void run_reporting(Call&& call);
    /// Takes `fd` out of the epoll set and forgets it.
    void forget(int fd) noexcept;
    /// True in a child of fork() until renew_after_fork(): the epoll set
    /// and Asio's reactor are still the parent's too. A load, no system call.
    bool forked() const noexcept
    {
        return fork_seen != detail::fork_generation.load(std::memory_order_relaxed);
    }
    /// In a child of fork(): gives this hub an epoll set of its own, with
    /// every watched descriptor registered again, and has Asio re-create its
    /// reactor and signal pipe, so that parent and child no longer steal
    /// each other's wake-ups. \throws std::system_error if the kernel
    /// refuses a new set (the hub then goes on with the shared one).
    void renew_after_fork();
    /// renew_after_fork() if forked(), reporting what it throws: the loop
    /// then goes on with the shared state.
    void renew_if_forked() noexcept;
    /// Runs the waiters of the descriptors that became ready, without
    /// waiting for any. \returns false if the kernel had nothing to report
    /// but, at most, the ring's signal (which it takes out of the set).
    bool harvest_ready();
    /// Before the loop blocks in Asio: has Asio watch the epoll set while
    /// some green thread waits on a descriptor, and stop watching it when
    /// none does (an idle watch would hide a deadlock).
    void watch_epoll_set();
    /// The running greenlet; throws std::logic_error if it is the hub's.
    Greenlet& blockable_current() const
    {
        // The hub's greenlet exists: so does the thread's state.
        Greenlet& current = *detail::this_thread->current;
        if (&current == &greenlet) [[unlikely]]
            throw_blocking_in_hub();
        return current;
    }
    [[noreturn, gnu::cold]] static void throw_blocking_in_hub();
    /// Before the loop sleeps: true if a call posted from another thread is
    /// in Asio's queue, or comes within detail::hand_over_spin while some
    /// green thread expects one (ExpectPosts). Then the loop polls instead.
    bool post_at_hand();
    /// Runs the handlers ready in Asio's queue, without waiting for any: at
    /// most asio_batch of them, so that a turn ends however fast other
    /// threads post.
    void poll_asio();
    /// The most handlers one look at Asio's queue runs (poll_asio()): enough
    /// that a hub fed by many threads spends its turns on their calls, not
    /// on the turns themselves; few enough that a turn stays short (a
    /// post's handler takes well under a microsecond).
    static constexpr std::size_t asio_batch = 256;

    // A single-threaded context: the hub is the only thread that runs it.
    asio::io_context io{1};
    detail::FdTable watches;
    // The hub's own epoll set, and Asio's view of it: the loop harvests the
    // set itself while it runs, and blocks in Asio (which watches the set
    // as one descriptor, beside its own timers, signals and resolver).
    int epoll_fd = -1;
    std::unique_ptr<asio::posix::stream_descriptor> epoll_watch;
    bool epoll_watched = false; // an async_wait on the set is pending
    // Counts the sets the hub had (one more after each fork()): the handler
    // of a wait on a set closed since must not touch epoll_watched.
    std::uint32_t epoll_sets = 0;
    // detail::fork_generation when this hub last had state of its own.
    std::uint32_t fork_seen = detail::fork_generation.load(std::memory_order_relaxed);
    std::size_t fd_waiters = 0; // green threads parked on a descriptor's readiness now
    // While the loop is busy it looks at Asio's completions at most this
    // often (by the coarse clock's ticks on turns that read no clock: see
    // run_ready()); an idle loop waits in Asio and sees them at once.
    static constexpr std::chrono::microseconds asio_look_interval{500};
    detail::TimerQueue::Clock::time_point last_asio_look{};
    // Waits that notify_close() ended, to be resumed at the next turn (it
    // never switches itself); a list through the waits, so that adding one
    // cannot fail.
    detail::ThreadedList<detail::FdWait, &detail::FdWait::next_closed,
                         &detail::FdWait::in_closed_list>
        closed;
    /// Hub::notify_close(): the waits on `fd` end with IOClosed at the next
    /// turn, and the hub forgets it.
    void notify_close_of(int fd) noexcept;

    // The ring the hub reads sockets through (ring.hpp), opened at the
    // first read that has to wait; null if the kernel refuses one. Its
    // eventfd is in the epoll set, tagged detail::ring_signal_tag.
    std::unique_ptr<detail::Ring> ring;
    bool ring_opened = false;
    std::size_t ring_reads = 0; // green threads parked on a read in the ring
    /// The hub's ring, opened (and its eventfd put in the set) on the first
    /// call; null if this hub reads the readiness way.
    detail::Ring* reading_ring() noexcept;
    /// Hands the queued reads to the kernel and resumes the green threads
    /// whose reads completed, in order; only those completed already if
    /// not `ask_kernel`. \returns false if none was.
    bool reap_ring(bool ask_kernel = true);
    /// In a child of fork(), after the new epoll set: a new ring, which
    /// takes over the reads in flight (see Ring::take_over()); or none, to
    /// be opened at the first read, if no read is in flight.
    void renew_ring() noexcept;
    /// Reads from `fd` into `buffer` through the ring: queues the read and
    /// parks until it completes. \returns recv(2)'s result, or -errno;
    /// nullopt if the hub has no ring or its queue is full (read the
    /// readiness way). When an exception thrown into the green thread ends
    /// the call (a kill, a Timeout), the read is cancelled first; bytes it
    /// took before that are in `buffer`, and counted in `landed`.
    /// \throws IOTimeout, IOClosed, as wait(); std::logic_error if another
    ///         green thread reads `fd` already.
    std::optional<int> ring_receive(int fd, std::span<std::byte> buffer,
                                    std::optional<Seconds> timeout, std::size_t& landed);
    /// Resumes the waits of `closed`. \returns false if there were none.
    bool resume_closed();
    detail::TimerQueue timers;
    // How long the loop watches for a post before it sleeps (post_at_hand).
    detail::SpinLimit post_spin;
    // Shared with every HubHandle; the destructor empties it, under its
    // lock, before the context goes, so that no post reaches a dead hub.
    std::shared_ptr<detail::HubInbox> inbox = std::make_shared<detail::HubInbox>();
    // The blocking detector's view of the hub (blocking_detector.hpp): odd
    // while user code holds it; and its registration while detection is on.
    detail::HandoffCount handoffs{0};
    detail::BlockingWatch blocking_watch{handoffs};
    // Set when the hub is destroyed, before its greenlet is: the
    // GreenletExit thrown into the loop then is the one that ends it.
    bool closing = false;
    // Declared last so that it is destroyed first: unwinding the loop
    // still finds the context alive.
    Greenlet greenlet;
};

// Inline, as the switch path is (switch_path.hpp): the loop switches to a
// greenlet from its own frame, and resumes there when the greenlet parks.
inline void Hub::Impl::fire(detail::TimerNode& node)
{
    // A parked greenlet's wake-up (sleep(), a killer waiting for its
    // victim) is most of what a busy hub fires: switch to it from here,
    // rather than from its handler, one call deeper.
    if (node.handler == &detail::GreenletWake::wake) {
        resume(*static_cast<detail::GreenletWake&>(node).greenlet);
        return;
    }
    const detail::UserCodeSpan user_code(handoffs);
    run_reporting([&node] { node.handler(node, detail::TimerEvent::due); });
}

inline void Hub::Impl::resume(Greenlet& greenlet)
{
    const detail::UserCodeSpan user_code(handoffs);
    run_reporting([&greenlet] { detail::SwitchPath::switch_to(greenlet, {}); });
}

template <class Call>
void Hub::Impl::run_reporting(Call&& call)
{
    try {
        call();
    } catch (const GreenletExit&) {
        // Thrown into the hub's greenlet by its destructor: let it unwind
        // the loop. Any other is a callback's own (one that waited for a
        // killed green thread, say), and ending the loop for it would leave
        // every later wait of the thread failing: report it as any other.
        if (closing)
            throw;
        detail::report_current_exception("a hub callback");
    } catch (...) {
        // An exception escaping a callback, or a green thread whose parent
        // is the hub: nobody waits for it, and the loop must go on.
        detail::report_current_exception("a hub callback");
    }
}

namespace detail {

/// What the library's other files need of a hub's private state.
struct HubInternals {
    static Hub::Impl& impl(Hub& hub) noexcept { return *hub.impl_; }
};

} // namespace detail

} // namespace eventlet
