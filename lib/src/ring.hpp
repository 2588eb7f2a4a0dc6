// Private: the hub's io_uring, through which green threads read sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "threaded_list.hpp"

namespace eventlet::detail {

/// A read handed to the kernel through the hub's ring. It lives on the
/// reading green thread's stack, and so does its buffer: the frame may end
/// only once `completed` is true, since until then the kernel may write
/// into the buffer (Ring::cancel() makes it so, whatever unwinds the frame).
struct RingRead {
    int fd = -1;
    std::byte* data = nullptr;
    std::size_t size = 0;
    /// What recv(2) would have returned, or -errno; valid once completed.
    int result = 0;
    bool completed = false;
    // The green thread ends the read itself (Ring::cancel()): its
    // completion is not put on the list of reads to resume.
    bool abandoned = false;
    // In the ring's list of reads in flight, which a child of fork() hands
    // to its own ring.
    RingRead* previous_in_flight = nullptr;
    RingRead* next_in_flight = nullptr;
    // In the list of completed reads whose green threads the hub has yet
    // to resume, in the order of their completions.
    RingRead* next_done = nullptr;
    bool in_done_list = false;
    // Where the read's entry sits in the submission queue until the kernel
    // takes it (see Ring::cancel()).
    unsigned queue_index = 0;
};

/// An io_uring instance of one hub, used for reads: a green thread whose
/// socket has nothing to read queues a recv and parks; the hub hands every
/// queued read to the kernel and collects every completion in one system
/// call per turn, where the readiness path pays a recv after each wake-up.
///
/// Made with IORING_SETUP_SINGLE_ISSUER and IORING_SETUP_COOP_TASKRUN: one
/// thread submits, with no locking against others, and the kernel does a
/// read's copy on that thread as it next leaves the kernel, rather than
/// interrupting it. A plain ring measured slower than epoll (bench/README.md,
/// "The floor on io_uring"), so a kernel that refuses the flags gets no ring
/// at all. (IORING_SETUP_DEFER_TASKRUN batches the copies further, but
/// writes the eventfd only tens of milliseconds late: a sleeping hub would
/// wake that late for its data.)
///
/// Completions are signalled through an eventfd, which the hub keeps in its
/// epoll set, so that the loop can sleep in Asio as it does without a ring.
/// The signal is on only while the loop sleeps (signal_completions()): a
/// busy loop looks at the ring on every turn anyway.
class Ring {
public:
    /// A new ring for the calling thread, or null when reads should go the
    /// readiness way: io_uring is missing or forbidden (a container's
    /// seccomp profile, kernel.io_uring_disabled), the kernel refuses the
    /// flags or does not signal the eventfd, or the environment says so
    /// (EVENTLET_HUB=epoll). The kernel is asked once per process.
    static std::unique_ptr<Ring> open();
    ~Ring();
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    /// True if no read is in flight or waits to be resumed.
    bool idle() const noexcept { return in_flight_ == nullptr && done_.empty(); }

    /// The eventfd the kernel writes to when a completion waits.
    int event_fd() const noexcept { return event_fd_; }

    /// Queues `read`, which must outlive its completion; the kernel gets it
    /// at the next reap() (or at once, if the queue is full).
    /// \returns false if the kernel takes no more entries now (its queue of
    /// completions overflowed, say): the caller reads the readiness way.
    bool submit(RingRead& read) noexcept;

    /// Turns the eventfd's signal on before the loop sleeps, off after.
    /// \returns true if completions are there already, which no signal will
    /// announce: the loop must look, not sleep.
    bool signal_completions(bool on) noexcept;

    /// Hands queued reads to the kernel and collects the completed ones
    /// onto the done list (take_done()); switches to nobody. No system call
    /// when nothing is queued and the kernel has nothing pending.
    /// \returns true if the done list is not empty.
    bool reap() noexcept;

    /// reap() without the system call: collects the completions posted
    /// already (as the thread left its last system call). \returns as reap().
    bool collect_posted() noexcept;

    /// The first read of the done list, taken off it; null if it is empty.
    RingRead* take_done() noexcept;

    /// Ends `read` now, before its frame goes: takes it back from the queue,
    /// or has the kernel cancel it and waits for its completion. A read
    /// cancelled before its copy leaves the data in the socket; one that
    /// completed first keeps its result. Either way `read.completed` is
    /// true on return and the read is on no list.
    void cancel(RingRead& read) noexcept;

    /// Cancels every read in flight and collects their completions, so
    /// that the kernel writes into no frame after the hub is gone.
    void cancel_all() noexcept;

    /// In a child of fork(), with this ring new: takes over `parent`'s
    /// reads, and submits those in flight again here (the parent's ring
    /// completes them in the parent only). `parent` is left empty, and is
    /// only closed after, never submitted to: its queues are shared with
    /// the parent's process.
    void take_over(Ring& parent) noexcept;

    /// In a child of fork() that could not have a ring of its own: ends
    /// every read in flight as cancelled (on the done list), and never
    /// asks the kernel anything again: submit() refuses from then on.
    void abandon_to_fork() noexcept;

private:
    struct Native;
    explicit Ring(std::unique_ptr<Native> native, int event_fd) noexcept;
    void collect() noexcept;
    void complete(RingRead& read, int result) noexcept;
    void unlink_in_flight(RingRead& read) noexcept;

    std::unique_ptr<Native> native_;
    int event_fd_ = -1;
    bool abandoned_ = false; // see abandon_to_fork()
    RingRead* in_flight_ = nullptr;
    ThreadedList<RingRead, &RingRead::next_done, &RingRead::in_done_list> done_;
};

} // namespace eventlet::detail
