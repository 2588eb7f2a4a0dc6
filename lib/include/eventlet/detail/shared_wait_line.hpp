/// \file
/// A condition variable for green threads of different hubs.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>

#include "eventlet/detail/remote_waiter.hpp"
#include "eventlet/detail/wait_queue.hpp"

namespace eventlet::detail {

/// A first-in, first-out line of green threads, of any hubs, that wait for
/// a condition guarded by one std::mutex: what WaitQueue is within one hub,
/// across OS threads. Every member is called with that mutex held.
///
/// As with WaitQueue, a notification is a chance, not a promise: the green
/// thread it wakes checks its condition again, since another thread may
/// have taken what it was woken for. A green thread that leaves the line by
/// an exception after it was notified passes the notification on, so that
/// none is lost.
class SharedWaitLine {
public:
    SharedWaitLine() noexcept = default;
    /// A line that names its owner ("a SharedQueue (a getter)") when a
    /// lifetime rule is broken (see ~SharedWaitLine()).
    explicit SharedWaitLine(const char* owner) noexcept : owner_(owner) {}
    /// Destroy the owner only when nobody waits on it: a green thread parked
    /// in a destroyed line would lock the owner's freed mutex when it
    /// leaves. Checked as ~WaitQueue() checks it (builds without NDEBUG and
    /// AddressSanitizer builds abort with a message naming the owner and the
    /// first green thread in line).
    ~SharedWaitLine();
    SharedWaitLine(const SharedWaitLine&) = delete;
    SharedWaitLine& operator=(const SharedWaitLine&) = delete;

    /// Parks the current green thread at the end of the line, with `lock`
    /// released, until a notification reaches it or `deadline` passes;
    /// `lock` is held again when it returns or throws.
    /// \returns true if notified, false if the deadline passed first.
    /// \throws whatever is thrown into the green thread while it is parked;
    ///         std::logic_error in the hub.
    bool wait(std::unique_lock<std::mutex>& lock, const Deadline& deadline);

    /// Wakes the first green thread in line, at its hub's next turn.
    void notify_one() noexcept;
    /// Wakes every green thread in line now.
    void notify_all() noexcept;
    /// Number of green threads in line.
    std::size_t size() const noexcept { return size_; }

private:
    // Lives on the waiting green thread's stack for the length of its wait.
    struct Entry {
        std::shared_ptr<RemoteWaiter> waiter;
        Entry* previous = nullptr;
        Entry* next = nullptr;
        bool in_line = false;
        bool notified = false;
    };
    void append(Entry& entry) noexcept;
    void remove(Entry& entry) noexcept;

    Entry* first_ = nullptr;
    Entry* last_ = nullptr;
    std::size_t size_ = 0;
    const char* owner_ = "a shared wait line";
};

/// Ends the program with a message: `owner` was destroyed while `calls` of
/// its calls were under way, with nobody in its lines (green threads woken,
/// not yet resumed, that will lock it when they run).
[[noreturn]] void abort_destroyed_in_use(const char* owner, std::size_t calls) noexcept;

} // namespace eventlet::detail
