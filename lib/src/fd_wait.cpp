// Waiting for a descriptor to become ready (Eventlet's trampoline), and
// waking the waiters of a descriptor that is being closed.
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <asio/detail/signal_set_service.hpp>

#include "hub_impl.hpp"

namespace eventlet {
namespace {

const char* describe(Readiness want) { return want == Readiness::read ? "readable" : "writable"; }

// Registered once for both directions, edge-triggered: the kernel reports a
// descriptor again only when something new arrives (or room frees up).
constexpr std::uint32_t watched_events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr std::uint32_t read_events = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
constexpr std::uint32_t write_events = EPOLLOUT | EPOLLHUP | EPOLLERR;
// The end of the stream (or an error) waits in the kernel behind the data,
// with no edge of its own to come.
constexpr std::uint32_t end_events = EPOLLRDHUP | EPOLLHUP | EPOLLERR;

std::uint64_t event_tag(int fd, std::uint32_t generation)
{
    return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
}

// Notes an edge for `want` that came while nobody waited.
void note_edge(detail::FdWatch& watch, Readiness want) noexcept
{
    if (want == Readiness::read)
        watch.read_edge = true;
    else
        watch.write_edge = true;
}

// The edge noted for `want`, cleared.
bool take_edge(detail::FdWatch& watch, Readiness want) noexcept
{
    const bool noted = want == Readiness::read ? watch.read_edge : watch.write_edge;
    if (want == Readiness::read)
        watch.read_edge = false;
    else
        watch.write_edge = false;
    return noted;
}

[[noreturn]] void throw_cannot_wait(int fd, int error)
{
    throw std::system_error(error, std::system_category(),
                            "cannot wait on descriptor " + std::to_string(fd));
}

} // namespace

void Hub::Impl::forget(int fd) noexcept
{
    if (!watches.contains(fd))
        return;
    // Fails with EBADF when the descriptor is closed already, which took it
    // out of the set too. A child of fork() that has not renewed its set
    // leaves it alone: the entry is the parent's as much as its own, and
    // the new set will not have it.
    if (!forked() && watches.find(fd)->in_epoll)
        ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    watches.erase(fd);
}

bool Hub::Impl::harvest_ready()
{
    renew_if_forked();
    using Outcome = detail::FdWait::Outcome;
    epoll_event events[64];
    const int count = ::epoll_wait(epoll_fd, events, 64, 0);
    if (count <= 0)
        return false; // nothing, or EINTR: the next turn looks again
    int reported = count; // events for watches, not the ring's signal
    // The kernel ran the completion work of the ring's reads as this thread
    // left epoll_wait(): what it completed came, most of it, before what
    // the set reports, and runs first. (A reader may close a descriptor
    // reported below: the lookups by generation see to that.)
    const bool reaped = ring_reads > 0 && reap_ring(false);
    // Each event is looked up by number and generation: a waiter woken by an
    // earlier event may have closed or replaced the descriptor of a later one,
    // or grown the table, which moves every watch.
    const auto find = [this](int fd, std::uint32_t generation) -> detail::FdWatch* {
        detail::FdWatch* const watch = watches.find(fd);
        return watch != nullptr && watch->generation == generation ? watch : nullptr;
    };
    const auto wake = [this, &find](int fd, std::uint32_t generation, Readiness which) {
        detail::FdWatch* const watch_found = find(fd, generation);
        if (watch_found == nullptr)
            return;
        detail::FdWatch& watch = *watch_found;
        detail::FdWait* wait = which == Readiness::read ? watch.reader : watch.writer;
        // A read in the ring takes what arrives by itself.
        if (wait != nullptr && wait->ring_read != nullptr)
            return;
        if (wait == nullptr) {
            note_edge(watch, which);
            return;
        }
        if (wait->outcome != Outcome::waiting)
            return;
        wait->outcome = Outcome::ready;
        resume(*wait->greenlet);
    };
    // Each wait lives on its waiter's stack, a page of its own: the first
    // touch of one is a cache miss, and often a TLB miss, a few hundred
    // nanoseconds on a virtual machine. Asked for all at once, before the
    // first waiter runs, they come in together instead of one after another.
    // (Asking for the waiters' greenlets too, in a second pass, costs more
    // than it saves: that pass waits for each wait to arrive.)
    for (int i = 0; i < count; ++i) {
        const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffU);
        if (const detail::FdWatch* watch = watches.find(fd)) {
            if ((events[i].events & read_events) != 0 && watch->reader != nullptr)
                __builtin_prefetch(watch->reader, 1);
            if ((events[i].events & write_events) != 0 && watch->writer != nullptr)
                __builtin_prefetch(watch->writer, 1);
        }
    }
    for (int i = 0; i < count; ++i) {
        // The ring's eventfd: what it signals, the ring's reap collects.
        if (events[i].data.u64 == detail::ring_signal_tag) {
            --reported;
            continue;
        }
        const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffU);
        const auto generation = static_cast<std::uint32_t>(events[i].data.u64 >> 32);
        if ((events[i].events & end_events) != 0) {
            if (detail::FdWatch* watch = find(fd, generation))
                watch->ended = true;
        }
        if ((events[i].events & read_events) != 0)
            wake(fd, generation, Readiness::read);
        if ((events[i].events & write_events) != 0)
            wake(fd, generation, Readiness::write);
    }
    return reaped || reported > 0;
}

void Hub::Impl::renew_after_fork()
{
    // Once, even if it fails below: a child that cannot have its own set
    // goes on with the shared one rather than retry on every turn.
    fork_seen = detail::fork_generation.load(std::memory_order_relaxed);
    // Asio's reactor first: a new epoll set, timer and wake-up descriptors
    // of its own, with its descriptors (the hub's old set among them)
    // registered again.
    io.notify_fork(asio::execution_context::fork_child);
    // Asio's signal pipe is the process's, shared with the parent, and Asio
    // makes a new one only after a fork_prepare. Said now, that the reactor
    // is the child's alone, it touches nothing of the parent's.
    if (asio::has_service<asio::detail::signal_set_service>(io)) {
        io.notify_fork(asio::execution_context::fork_prepare);
        io.notify_fork(asio::execution_context::fork_child);
    }
    const int set = ::epoll_create1(EPOLL_CLOEXEC);
    if (set < 0)
        throw std::system_error(errno, std::system_category(),
                                "the hub cannot create its epoll set after fork()");
    std::unique_ptr<asio::posix::stream_descriptor> watch;
    try {
        watch = std::make_unique<asio::posix::stream_descriptor>(io, set);
    } catch (...) {
        ::close(set);
        throw;
    }
    // Registered as they were, with the same tags; an edge-triggered
    // registration reports at once what is ready already, so nothing that
    // came before the fork is lost.
    std::vector<int> gone;
    watches.for_each([&](int fd, const detail::FdWatch& watched) {
        if (!watched.in_epoll)
            return;
        epoll_event event{};
        event.events = watched_events;
        event.data.u64 = event_tag(fd, watched.generation);
        if (::epoll_ctl(set, EPOLL_CTL_ADD, fd, &event) != 0)
            gone.push_back(fd); // closed without notify_close()
    });
    // The old set closes with its descriptor (in this process only); its
    // pending wait ends, aborted, at the next poll.
    epoll_watch = std::move(watch);
    epoll_fd = set;
    epoll_watched = false;
    ++epoll_sets;
    renew_ring();
    for (const int fd : gone)
        notify_close_of(fd);
}

void Hub::Impl::watch_epoll_set()
{
    const bool waiting = fd_waiters > 0 || ring_reads > 0;
    if (waiting && !epoll_watched) {
        epoll_watched = true;
        epoll_watch->async_wait(asio::posix::descriptor_base::wait_read,
                                [this, set = epoll_sets](std::error_code) {
                                    if (set == epoll_sets)
                                        epoll_watched = false;
                                });
    } else if (!waiting && epoll_watched) {
        // Its handler runs (aborted) at the next poll; until then Asio counts
        // it as work, after it the loop can see that nothing is left.
        epoll_watch->cancel();
    }
}

void detail::throw_wait_timed_out(int fd, Readiness want)
{
    throw IOTimeout("timed out waiting for descriptor " + std::to_string(fd) + " to become " +
                    describe(want));
}

void detail::throw_wait_closed(int fd)
{
    throw IOClosed("descriptor " + std::to_string(fd) +
                   " was closed while a green thread waited on it (or its socket was moved away)");
}

void detail::FdTimeoutWake::fire(TimerNode& node, TimerEvent event)
{
    FdWait& wait = static_cast<FdTimeoutWake&>(node).wait;
    if (event == TimerEvent::dropped || wait.outcome != FdWait::Outcome::waiting)
        return;
    wait.outcome = FdWait::Outcome::timed_out;
    wait.greenlet->switch_to();
}

bool Hub::Impl::resume_closed()
{
    if (closed.empty())
        return false;
    while (detail::FdWait* const wait = closed.pop_front())
        resume(*wait->greenlet);
    return true;
}

void Hub::wait(int fd, Readiness want, std::optional<Seconds> timeout, Registration registration,
               Tried tried)
{
    using Outcome = detail::FdWait::Outcome;
    Impl& impl = *impl_;
    Greenlet& waiter = impl.blockable_current();
    if (fd < 0)
        throw std::invalid_argument("cannot wait on descriptor " + std::to_string(fd));

    detail::FdWatch* found = impl.watches.find(fd);
    if (found == nullptr) {
        // The table grows to the number: one that no descriptor has (INT_MAX,
        // say) must fail as epoll_ctl would fail it, before the table
        // allocates gigabytes for it. A system call more, only on the few
        // waits that grow the table.
        if (!impl.watches.has_slot(fd) && ::fcntl(fd, F_GETFD) < 0)
            throw_cannot_wait(fd, errno);
        // Into the table first: if it cannot grow, the set is left as it was.
        found = &impl.watches.insert(fd);
    }
    if (!found->in_epoll) {
        // New, or read only through the ring so far. Not into the set a
        // child of fork() still shares with its parent. (The renewal
        // inserts no watch, so `found` stays where it is.)
        if (impl.forked()) [[unlikely]]
            impl.renew_after_fork();
        epoll_event event{};
        event.events = watched_events;
        event.data.u64 = event_tag(fd, found->generation);
        if (::epoll_ctl(impl.epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
            const int error = errno;
            if (found->reader == nullptr && found->writer == nullptr && !found->until_close)
                impl.watches.erase(fd);
            throw_cannot_wait(fd, error);
        }
        found->in_epoll = true;
    }
    // Not held across the park below: another green thread may grow the
    // table meanwhile, which moves every watch (Cleanup finds it again).
    detail::FdWatch& watch = *found;
    if (registration == Registration::until_close)
        watch.until_close = true;
    detail::FdWait*& slot = want == Readiness::read ? watch.reader : watch.writer;
    if (slot != nullptr)
        throw std::logic_error("two green threads wait for descriptor " + std::to_string(fd) +
                               " to become " + describe(want) +
                               "; only one may, or they would steal each other's data");
    if (take_edge(watch, want) && tried == Tried::not_yet)
        return; // something arrived since the last wait: let the caller look

    detail::FdWait wait{&waiter};
    slot = &wait;
    ++impl.fd_waiters;
    detail::FdTimeoutWake timer{wait};

    // However the greenlet leaves this call (ready, timed out, closed, or
    // unwound by an exception thrown into it), the wait ends with it.
    struct Cleanup {
        Impl& impl;
        int fd;
        Readiness want;
        detail::FdWait& wait;
        detail::TimerNode& timer;
        ~Cleanup()
        {
            if (timer.queue != nullptr)
                timer.queue->remove(timer);
            --impl.fd_waiters;
            // Unwound before the hub resumed it: it must not be resumed later.
            impl.closed.remove(wait);
            if (wait.outcome == Outcome::closed)
                return; // notify_close() has already forgotten the descriptor
            detail::FdWatch* const watch = impl.watches.find(fd);
            if (watch == nullptr)
                return;
            (want == Readiness::read ? watch->reader : watch->writer) = nullptr;
            if (watch->reader == nullptr && watch->writer == nullptr && !watch->until_close)
                impl.forget(fd);
        }
    } cleanup{impl, fd, want, wait, timer};

    if (timeout)
        impl.timers.push(timer, timeout->to_steady());

    impl.park_current();

    switch (wait.outcome) {
    case Outcome::ready:
        return;
    case Outcome::timed_out:
        detail::throw_wait_timed_out(fd, want);
    case Outcome::closed:
        detail::throw_wait_closed(fd);
    case Outcome::waiting:
        break;
    }
    // Someone switched to this greenlet while it waited: a bug in the caller.
    throw std::logic_error("a green thread waiting on descriptor " + std::to_string(fd) +
                           " was switched to before the descriptor was ready");
}

bool Hub::take_readiness(int fd, Readiness want) noexcept
{
    Impl& impl = *impl_;
    detail::FdWatch* const watch = impl.watches.find(fd);
    if (watch == nullptr)
        return true;
    // Read only through the ring: no edges are kept, and none need be, as
    // a read in the ring finds whatever is there.
    if (!watch->in_epoll)
        return want == Readiness::write;
    // Edges are noted only by the harvest, and the loop harvests only while
    // some green thread waits on a descriptor.
    if (impl.fd_waiters == 0)
        return true;
    const bool noted = take_edge(*watch, want);
    // After the peer's end, a read past the data returns it (0, or the
    // error) at once, though no new edge will ever say so.
    return noted || watch->ended;
}

void Hub::notify_close(int fd) noexcept { impl_->notify_close_of(fd); }

void Hub::Impl::notify_close_of(int fd) noexcept
{
    using Outcome = detail::FdWait::Outcome;
    Impl& impl = *this;
    const detail::FdWatch* const watch = impl.watches.find(fd);
    if (watch == nullptr)
        return;
    for (detail::FdWait* wait : {watch->reader, watch->writer}) {
        // A wait that ended otherwise (ready, timed out) was resumed at once.
        if (wait == nullptr || wait->outcome != Outcome::waiting)
            continue;
        // Cancelled now, before the descriptor closes and its number can be
        // handed out again: the kernel keeps no read of a closed socket into
        // a stack that may be gone by the time the reader would cancel it.
        if (wait->ring_read != nullptr)
            ring->cancel(*wait->ring_read);
        wait->outcome = Outcome::closed;
        impl.closed.push_back(*wait);
    }
    impl.forget(fd);
}

void Hub::notify_opened(int fd) noexcept
{
    if (impl_->watches.contains(fd))
        notify_close(fd);
}

bool Hub::waited_on(int fd) const noexcept
{
    const detail::FdWatch* const watch = impl_->watches.find(fd);
    return watch != nullptr && (watch->reader != nullptr || watch->writer != nullptr);
}

void trampoline(int fd, Readiness want, std::optional<Seconds> timeout, Registration registration,
                Tried tried)
{
    Hub::current().wait(fd, want, timeout, registration, tried);
}

void notify_close(int fd) noexcept { Hub::current().notify_close(fd); }

} // namespace eventlet
