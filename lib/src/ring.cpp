#include "ring.hpp"

#include <liburing.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace eventlet::detail {

struct Ring::Native {
    io_uring ring{};
};

namespace {

// Entries a turn may queue before the ring hands them over early; and room
// for the completions of many more reads than that, since every parked
// reader may complete in the same turn (the kernel keeps what does not fit,
// IORING_FEAT_NODROP, and collect() fetches it).
constexpr unsigned queue_entries = 256;
constexpr unsigned completion_entries = 4096;

int set_up(io_uring& ring)
{
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
                   IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
    params.cq_entries = completion_entries;
    return ::io_uring_queue_init_params(queue_entries, &ring, &params);
}

bool disabled_by_environment()
{
    const char* hub = std::getenv("EVENTLET_HUB");
    return hub != nullptr && std::string_view(hub) == "epoll";
}

// A descriptor closed when the scope ends.
struct Closer {
    int fd = -1;
    ~Closer()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

// A ring made with set_up(), taken down when the scope ends; not made if
// `made` is false.
struct ScopedRing {
    io_uring ring{};
    bool made = set_up(ring) == 0;
    ~ScopedRing()
    {
        if (made)
            ::io_uring_queue_exit(&ring);
    }
};

// Does a read complete, and write the eventfd when it does? The hub sleeps
// on the eventfd; a kernel that took the flags and did not signal would let
// a hub with readers sleep through their data.
bool signals_completions()
{
    // Declared first, so that it outlives the ring: the kernel may write it
    // until the ring is gone.
    char byte = 0;
    ScopedRing probe;
    io_uring& ring = probe.ring;
    Closer event{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
    int pair[2];
    if (!probe.made || event.fd < 0 || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return false;
    const Closer reader{pair[0]};
    const Closer writer{pair[1]};
    io_uring_sqe* entry = ::io_uring_get_sqe(&ring);
    if (entry == nullptr || ::io_uring_register_eventfd(&ring, event.fd) != 0)
        return false;
    ::io_uring_prep_recv(entry, reader.fd, &byte, 1, 0);
    // The read completes as this thread leaves the kernel (after the write),
    // which is when the kernel writes the eventfd.
    std::uint64_t count = 0;
    if (::io_uring_submit(&ring) != 1 || ::write(writer.fd, "x", 1) != 1 ||
        ::read(event.fd, &count, sizeof count) != sizeof count)
        return false;
    ::io_uring_get_events(&ring);
    io_uring_cqe* completion = nullptr;
    return ::io_uring_peek_cqe(&ring, &completion) == 0 && completion->res == 1;
}

constexpr io_uring_sync_cancel_reg cancel_request(std::uint64_t user_data, int flags)
{
    io_uring_sync_cancel_reg request{};
    request.addr = user_data;
    request.flags = static_cast<std::uint32_t>(flags);
    request.timeout.tv_sec = -1; // no limit
    request.timeout.tv_nsec = -1;
    return request;
}

} // namespace

std::unique_ptr<Ring> Ring::open()
{
    static const bool usable = !disabled_by_environment() && signals_completions();
    if (!usable)
        return nullptr;
    auto native = std::make_unique<Native>();
    // Out of descriptors or of locked memory, say: this hub reads the
    // readiness way, as the hubs of a kernel without io_uring do.
    if (set_up(native->ring) < 0)
        return nullptr;
    const int event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event < 0 || ::io_uring_register_eventfd(&native->ring, event) != 0) {
        if (event >= 0)
            ::close(event);
        ::io_uring_queue_exit(&native->ring);
        return nullptr;
    }
    // Quiet until the hub is about to sleep (signal_completions()).
    ::io_uring_cq_eventfd_toggle(&native->ring, false);
    return std::unique_ptr<Ring>(new Ring(std::move(native), event));
}

Ring::Ring(std::unique_ptr<Native> native, int event_fd) noexcept
    : native_(std::move(native)), event_fd_(event_fd)
{
}

Ring::~Ring()
{
    ::io_uring_queue_exit(&native_->ring);
    ::close(event_fd_);
}

bool Ring::submit(RingRead& read) noexcept
{
    if (abandoned_)
        return false;
    io_uring& ring = native_->ring;
    io_uring_sqe* entry = ::io_uring_get_sqe(&ring);
    if (entry == nullptr) {
        ::io_uring_submit(&ring); // a full queue goes to the kernel early
        entry = ::io_uring_get_sqe(&ring);
        if (entry == nullptr)
            return false;
    }
    read.queue_index = ring.sq.sqe_tail - 1;
    ::io_uring_prep_recv(entry, read.fd, read.data, read.size, 0);
    ::io_uring_sqe_set_data(entry, &read);
    read.result = 0;
    read.completed = false;
    read.abandoned = false;
    read.previous_in_flight = nullptr;
    read.next_in_flight = in_flight_;
    if (in_flight_ != nullptr)
        in_flight_->previous_in_flight = &read;
    in_flight_ = &read;
    return true;
}

bool Ring::signal_completions(bool on) noexcept
{
    if (abandoned_)
        return false;
    io_uring& ring = native_->ring;
    ::io_uring_cq_eventfd_toggle(&ring, on);
    // A completion posted, or waiting for the thread, before the switch
    // wrote no eventfd.
    return ::io_uring_cq_ready(&ring) != 0 ||
           (IO_URING_READ_ONCE(*ring.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0;
}

bool Ring::reap() noexcept
{
    if (abandoned_)
        return !done_.empty();
    io_uring& ring = native_->ring;
    // The kernel raises IORING_SQ_TASKRUN when completions wait for this
    // thread to run them (it runs them too as it leaves any system call,
    // its sends among them): without it, and with nothing queued, the
    // completions are all in the queue already, and there is nothing to
    // ask the kernel for.
    const unsigned kernel_flags = IO_URING_READ_ONCE(*ring.sq.kflags);
    if (::io_uring_sq_ready(&ring) != 0 ||
        (kernel_flags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0)
        ::io_uring_submit_and_get_events(&ring); // an error (EINTR) is retried next turn
    collect();
    return !done_.empty();
}

bool Ring::collect_posted() noexcept
{
    if (!abandoned_)
        collect();
    return !done_.empty();
}

void Ring::collect() noexcept
{
    io_uring& ring = native_->ring;
    for (;;) {
        unsigned head = 0;
        unsigned seen = 0;
        io_uring_cqe* completion = nullptr;
        io_uring_for_each_cqe(&ring, head, completion)
        {
            // Null: the no-op of a read taken back before the kernel saw it.
            if (auto* read = static_cast<RingRead*>(::io_uring_cqe_get_data(completion)))
                complete(*read, completion->res);
            ++seen;
        }
        ::io_uring_cq_advance(&ring, seen);
        if (seen == 0 || !::io_uring_cq_has_overflow(&ring))
            return;
        ::io_uring_get_events(&ring); // what did not fit, now that there is room
    }
}

void Ring::complete(RingRead& read, int result) noexcept
{
    read.result = result;
    read.completed = true;
    unlink_in_flight(read);
    if (!read.abandoned)
        done_.push_back(read);
}

RingRead* Ring::take_done() noexcept { return done_.pop_front(); }

void Ring::unlink_in_flight(RingRead& read) noexcept
{
    (read.previous_in_flight != nullptr ? read.previous_in_flight->next_in_flight : in_flight_) =
        read.next_in_flight;
    if (read.next_in_flight != nullptr)
        read.next_in_flight->previous_in_flight = read.previous_in_flight;
    read.previous_in_flight = read.next_in_flight = nullptr;
}

void Ring::cancel(RingRead& read) noexcept
{
    if (read.completed) {
        done_.remove(read);
        return;
    }
    read.abandoned = true;
    io_uring& ring = native_->ring;
    // Still in the queue, unseen by the kernel: it becomes a no-op, and the
    // socket keeps every byte.
    if (read.queue_index - ring.sq.sqe_head < ring.sq.sqe_tail - ring.sq.sqe_head) {
        io_uring_sqe& entry = ring.sq.sqes[read.queue_index & ring.sq.ring_mask];
        ::io_uring_prep_nop(&entry);
        ::io_uring_sqe_set_data(&entry, nullptr);
        complete(read, -ECANCELED);
        return;
    }
    const auto request = cancel_request(reinterpret_cast<std::uint64_t>(&read), 0);
    while (!read.completed) {
        // Returns once the read is cancelled (its data left in the socket)
        // or was found complete (ENOENT): either way its completion is
        // posted, and the next collect() sees it.
        auto copy = request;
        const int result = ::io_uring_register_sync_cancel(&ring, &copy);
        ::io_uring_get_events(&ring);
        collect();
        if (read.completed || result == 0 || result == -ENOENT || result == -EALREADY ||
            result == -EINTR)
            continue;
        // The kernel cannot cancel synchronously: ask by an entry, and wait
        // for the read's completion, which the cancellation brings.
        io_uring_sqe* entry = ::io_uring_get_sqe(&ring);
        if (entry != nullptr) {
            ::io_uring_prep_cancel64(entry, reinterpret_cast<std::uint64_t>(&read), 0);
            ::io_uring_sqe_set_data(entry, nullptr);
        }
        ::io_uring_submit_and_wait(&ring, 1);
        collect();
    }
}

void Ring::cancel_all() noexcept
{
    if (abandoned_) {
        while (take_done() != nullptr) {
        }
        return;
    }
    io_uring& ring = native_->ring;
    for (RingRead* read = in_flight_; read != nullptr; read = read->next_in_flight)
        read->abandoned = true;
    ::io_uring_submit(&ring); // the kernel cancels only what it has
    const auto request = cancel_request(0, IORING_ASYNC_CANCEL_ANY);
    while (in_flight_ != nullptr) {
        auto copy = request;
        const int result = ::io_uring_register_sync_cancel(&ring, &copy);
        ::io_uring_get_events(&ring);
        collect();
        if (in_flight_ == nullptr || result == 0 || result == -ENOENT || result == -EALREADY ||
            result == -EINTR)
            continue;
        cancel(*in_flight_); // one by one, by entries if need be
    }
    while (take_done() != nullptr) {
    }
}

void Ring::take_over(Ring& parent) noexcept
{
    RingRead* const reads = std::exchange(parent.in_flight_, nullptr);
    done_ = std::exchange(parent.done_, {});
    for (RingRead* read = reads; read != nullptr;) {
        RingRead* const next = read->next_in_flight;
        // A read this ring cannot take ends as cancelled: its reader asks
        // again (GreenSocket::recv()).
        if (!submit(*read)) {
            read->completed = true;
            read->result = -ECANCELED;
            read->previous_in_flight = read->next_in_flight = nullptr;
            done_.push_back(*read);
        }
        read = next;
    }
}

void Ring::abandon_to_fork() noexcept
{
    abandoned_ = true;
    while (in_flight_ != nullptr)
        complete(*in_flight_, -ECANCELED);
}

} // namespace eventlet::detail
