/// \file
/// EdgeSet: an edge-triggered readiness set on a raw epoll descriptor, each
/// descriptor registered once. The reference solution of exercise 11.
#pragma once

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace exercise {

/// The direction a wait is for.
enum class Readiness {
    read,  ///< data, the end of the peer's stream, or an error to read
    write, ///< room in the send buffer, or an error to write
};

/// A set of descriptors that tells when one is ready, as the hub of
/// chapter 11 does: each descriptor is registered with the kernel once, for
/// both directions, edge-triggered, and a wait makes no epoll_ctl call.
///
///     exercise::EdgeSet set;
///     set.add(fd);                     // one epoll_ctl, the first time only
///     while (true) {
///         // read until EAGAIN, then:
///         if (!set.wait(fd, exercise::Readiness::read, 5s))
///             break;                   // nothing came in 5 s
///     }
///
/// The kernel reports an edge once. An edge that comes while nobody waits
/// for it (the other direction, another descriptor) is remembered, and the
/// next wait for it returns at once. The caller's side of the bargain: wait
/// only after a read or a write failed with EAGAIN. Data that was already
/// there, and reported, is not reported again; a wait with unread data in
/// the buffer can sleep until its timeout.
///
/// One thread at a time. remove() a descriptor before closing it: the set
/// knows descriptors by number, and a closed number comes back with the next
/// socket.
class EdgeSet {
public:
    /// An empty set, with an epoll descriptor of its own (close-on-exec).
    /// \throws std::system_error if the kernel gives no epoll descriptor.
    EdgeSet()
        : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC))
    {
        if (epoll_fd_ < 0)
            throw std::system_error(errno, std::system_category(),
                                    "EdgeSet: cannot create an epoll descriptor");
    }

    /// Closes the epoll descriptor; the descriptors in the set stay open.
    ~EdgeSet() { ::close(epoll_fd_); }

    EdgeSet(const EdgeSet&) = delete;            ///< one owner of the epoll descriptor
    EdgeSet& operator=(const EdgeSet&) = delete; ///< one owner of the epoll descriptor

    /// Puts `fd` in the set, for both directions, edge-triggered. A
    /// descriptor already in the set costs nothing: no system call, and its
    /// remembered edges stay. An edge that is there when it enters (data
    /// already buffered, room to write) is reported to the first wait.
    /// \throws std::system_error if the kernel refuses `fd`: not open
    ///         (EBADF), or a regular file or directory, which epoll cannot
    ///         watch (EPERM).
    void add(int fd)
    {
        // The entry first: if it cannot be made, the kernel has not been
        // told, and nothing needs undoing.
        const auto [entry, added] = watched_.try_emplace(fd);
        if (!added)
            return;
        epoll_event event{};
        event.events = watched_events;
        event.data.fd = fd;
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
            const int error = errno;
            watched_.erase(entry);
            throw std::system_error(error, std::system_category(), refusal(fd, error));
        }
        ++registrations_;
    }

    /// Takes `fd` out of the set, and forgets its remembered edges. Does
    /// nothing for a descriptor not in the set. Call it before closing `fd`.
    void remove(int fd) noexcept
    {
        if (watched_.erase(fd) == 0)
            return;
        // Fails with EBADF if `fd` is closed already; closing it took it out
        // of the kernel's set too.
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    }

    /// Waits until `fd` is ready for `want`, for at most `timeout` (a
    /// negative one counts as zero: look, do not wait; one longer than
    /// INT_MAX ms, about 24 days, is cut to that). True when an edge came
    /// for `want` since `fd` entered the set or since the last wait that
    /// returned true for it; false when the time is up. An edge remembered
    /// from before is taken at once, without a system call. Edges of other
    /// descriptors, and of the other direction, seen on the way are
    /// remembered for their own waits.
    /// \throws std::logic_error if `fd` is not in the set.
    /// \throws std::system_error if epoll_wait fails (not for a signal).
    [[nodiscard]] bool wait(int fd, Readiness want, std::chrono::milliseconds timeout)
    {
        bool& edge = edge_of(fd, want);
        // An edge that came while nobody waited: the kernel will not report
        // it again, so this is the only chance to hand it over.
        if (std::exchange(edge, false))
            return true;

        using Clock = std::chrono::steady_clock;
        const auto bounded =
            std::clamp(timeout, std::chrono::milliseconds{0}, std::chrono::milliseconds{INT_MAX});
        const auto deadline = Clock::now() + bounded;
        for (;;) {
            const auto ready = ask_kernel(milliseconds_until(deadline));
            for (const epoll_event& event : ready)
                remember(event);
            if (std::exchange(edge, false))
                return true;
            // Another descriptor's edge woke the call early: wait again, for
            // what is left, not for the whole timeout once more. A full batch
            // may have left ours in the kernel's ready list: look once more
            // (at once, the time left being zero) before calling it a timeout.
            if (ready.size() < batch_.size() && Clock::now() >= deadline)
                return false;
        }
    }

    /// How many descriptors have been registered with the kernel so far
    /// (epoll_ctl ADD calls that succeeded). A descriptor counts once
    /// however often it is added and waited on, and again after remove().
    std::size_t registrations() const noexcept { return registrations_; }

    /// How many times the set has asked the kernel (epoll_wait calls).
    /// A wait that takes a remembered edge does not ask.
    std::size_t waits_in_kernel() const noexcept { return waits_in_kernel_; }

private:
    // Both directions in one registration, so that a socket that reads and
    // writes is registered once; the peer's half-close (RDHUP), which Linux
    // also reports as readable, by name; edge-triggered, so that a
    // descriptor is reported once per change and never needs re-arming.
    static constexpr std::uint32_t watched_events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    // An error or a hang-up wakes both directions: the caller's next read or
    // write reports it, where a wait would sleep until the timeout.
    static constexpr std::uint32_t read_events = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
    static constexpr std::uint32_t write_events = EPOLLOUT | EPOLLHUP | EPOLLERR;

    struct Edges {
        bool read = false;
        bool write = false;
    };

    bool& edge_of(int fd, Readiness want)
    {
        const auto found = watched_.find(fd);
        if (found == watched_.end())
            throw std::logic_error("EdgeSet::wait: descriptor " + std::to_string(fd) +
                                   " is not in the set; add() it first");
        return want == Readiness::read ? found->second.read : found->second.write;
    }

    // Every edge is written down, whoever waits: the kernel has handed it
    // over and will not do so again. Events are taken out of the kernel and
    // remembered in one go, with no code of the caller's in between, so each
    // belongs to a descriptor still in the set: remove() takes a
    // descriptor's queued events out of the kernel with it. The hub needs a
    // generation in each event because it runs green threads between two
    // events of one batch; this set does not.
    void remember(const epoll_event& event) noexcept
    {
        const auto found = watched_.find(event.data.fd);
        if (found == watched_.end())
            return;
        if ((event.events & read_events) != 0)
            found->second.read = true;
        if ((event.events & write_events) != 0)
            found->second.write = true;
    }

    // One epoll_wait. A signal ends it early with nothing, and the caller's
    // loop waits again for the time left.
    std::span<const epoll_event> ask_kernel(int timeout_ms)
    {
        ++waits_in_kernel_;
        const int count =
            ::epoll_wait(epoll_fd_, batch_.data(), static_cast<int>(batch_.size()), timeout_ms);
        if (count < 0) {
            if (errno == EINTR)
                return {};
            throw std::system_error(errno, std::system_category(), "EdgeSet::wait: epoll_wait");
        }
        return {batch_.data(), static_cast<std::size_t>(count)};
    }

    // Rounded up: rounded down, the last millisecond would be spent in calls
    // with a timeout of 0, spinning.
    static int milliseconds_until(std::chrono::steady_clock::time_point deadline)
    {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        return static_cast<int>(std::clamp(left, std::chrono::milliseconds{0},
                                           std::chrono::milliseconds{INT_MAX})
                                    .count());
    }

    static std::string refusal(int fd, int error)
    {
        std::string what = "EdgeSet::add: cannot watch descriptor " + std::to_string(fd);
        if (error == EPERM)
            what += " (epoll refuses regular files and directories: they are always ready)";
        return what;
    }

    int epoll_fd_;
    std::unordered_map<int, Edges> watched_;
    std::array<epoll_event, 64> batch_{};
    std::size_t registrations_ = 0;
    std::size_t waits_in_kernel_ = 0;
};

} // namespace exercise
