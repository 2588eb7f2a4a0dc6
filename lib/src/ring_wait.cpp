// Reading a socket through the hub's ring: the read goes to the kernel and
// the green thread parks until it completes (see ring.hpp for why).
#include <sys/epoll.h>

#include <cerrno>
#include <stdexcept>
#include <string>

#include "hub_impl.hpp"
#include "ring_receive.hpp"

namespace eventlet {

namespace {

// The ring's eventfd into the hub's set: while the loop sleeps in Asio (which
// watches the set), a completion then wakes it. Edge-triggered: the kernel
// writes the eventfd when completions start to wait, and the harvest takes
// the edge out of the set before the loop sleeps (run_ready()).
bool watch_signal(int epoll_fd, const detail::Ring& ring) noexcept
{
    epoll_event event{};
    event.events = EPOLLIN | EPOLLET;
    event.data.u64 = detail::ring_signal_tag;
    return ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, ring.event_fd(), &event) == 0;
}

} // namespace

detail::Ring* Hub::Impl::reading_ring() noexcept
{
    if (ring_opened) [[likely]]
        return ring.get();
    ring_opened = true;
    ring = detail::Ring::open();
    if (ring && !watch_signal(epoll_fd, *ring))
        ring.reset();
    return ring.get();
}

void Hub::Impl::renew_ring() noexcept
{
    if (!ring)
        return;
    // With no read to take over, the child opens a ring of its own at its
    // first read that waits, if it ever reads.
    if (ring->idle()) {
        ring.reset();
        ring_opened = false;
        return;
    }
    std::unique_ptr<detail::Ring> fresh = detail::Ring::open();
    if (fresh && !watch_signal(epoll_fd, *fresh))
        fresh.reset();
    if (!fresh) {
        // The child reads the readiness way from here on: the parent's reads
        // end as cancelled, and their readers ask again (GreenSocket::recv()).
        // Their completions come from the old ring's lists alone: it is
        // never asked anything of the kernel again.
        ring->abandon_to_fork();
        return;
    }
    fresh->take_over(*ring);
    ring = std::move(fresh);
}

bool Hub::Impl::reap_ring(bool ask_kernel)
{
    renew_if_forked();
    if (!(ask_kernel ? ring->reap() : ring->collect_posted()))
        return false;
    // Resumed in the order the kernel completed them. A reader may end
    // another's read meanwhile (a kill, a close): that one leaves the list.
    while (detail::RingRead* const read = ring->take_done()) {
        detail::FdWait& wait = static_cast<detail::RingWait&>(*read).wait;
        if (wait.outcome != detail::FdWait::Outcome::waiting)
            continue;
        wait.outcome = detail::FdWait::Outcome::ready;
        resume(*wait.greenlet);
    }
    return true;
}

std::optional<int> Hub::Impl::ring_receive(int fd, std::span<std::byte> buffer,
                                           std::optional<Seconds> timeout, std::size_t& landed)
{
    using Outcome = detail::FdWait::Outcome;
    Greenlet& reader = blockable_current();
    // Never into the ring a child of fork() still shares with its parent.
    renew_if_forked();
    if (reading_ring() == nullptr)
        return std::nullopt;
    detail::FdWatch* watch = watches.find(fd);
    if (watch == nullptr)
        watch = &watches.insert(fd); // a socket's descriptor: it exists
    // Kept until the socket's close, which tells the hub first.
    watch->until_close = true;
    if (watch->reader != nullptr)
        throw std::logic_error("two green threads wait to read descriptor " + std::to_string(fd) +
                               "; only one may, or they would steal each other's data");
    detail::RingWait wait(reader);
    wait.fd = fd;
    wait.data = buffer.data();
    wait.size = buffer.size();
    if (!ring->submit(wait))
        return std::nullopt;
    watch->reader = &wait.wait;
    ++ring_reads;
    detail::FdTimeoutWake timer{wait.wait};

    // However the green thread leaves (completed, timed out, closed, or
    // unwound by an exception thrown into it), the read ends before its
    // frame does, and the wait with it.
    struct Cleanup {
        Impl& hub;
        int fd;
        detail::RingWait& wait;
        detail::TimerNode& timer;
        // Ends the read: cancelled if still in the kernel (ring->cancel()
        // looks at the ring the hub has now, a new one after fork()).
        void end_read() noexcept
        {
            if (!wait.completed || wait.in_done_list)
                hub.ring->cancel(wait);
        }
        ~Cleanup()
        {
            end_read();
            if (timer.queue != nullptr)
                timer.queue->remove(timer);
            --hub.ring_reads;
            hub.closed.remove(wait.wait);
            if (wait.wait.outcome == Outcome::closed)
                return; // notify_close() has forgotten the descriptor
            if (detail::FdWatch* const watch = hub.watches.find(fd))
                watch->reader = nullptr;
        }
    } cleanup{*this, fd, wait, timer};

    if (timeout)
        timers.push(timer, timeout->to_steady());
    try {
        park_current();
    } catch (...) {
        cleanup.end_read();
        if (wait.result > 0)
            landed = static_cast<std::size_t>(wait.result);
        throw;
    }
    cleanup.end_read();
    switch (wait.wait.outcome) {
    case Outcome::ready:
        return wait.result;
    case Outcome::timed_out:
        // Completed before it could be cancelled: what came is the answer.
        if (wait.result != -ECANCELED)
            return wait.result;
        detail::throw_wait_timed_out(fd, Readiness::read);
    case Outcome::closed:
        detail::throw_wait_closed(fd);
    case Outcome::waiting:
        break;
    }
    throw std::logic_error("a green thread reading descriptor " + std::to_string(fd) +
                           " through the hub's ring was switched to before its read completed");
}

std::optional<int> detail::receive_through_ring(Hub& hub, int fd, std::span<std::byte> buffer,
                                                std::optional<Seconds> timeout,
                                                std::size_t& landed)
{
    return HubInternals::impl(hub).ring_receive(fd, buffer, timeout, landed);
}

} // namespace eventlet
