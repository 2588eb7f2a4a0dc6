/// \file
/// SharedQueue: a FIFO that green threads of different OS threads share.
#pragma once

#include <cstddef>
#include <deque>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "eventlet/detail/shared_wait_line.hpp"
#include "eventlet/queue.hpp"
#include "eventlet/seconds.hpp"

namespace eventlet {

/// A first-in, first-out queue that any OS thread may use, and in each OS
/// thread any green thread: Queue's interface, for items that cross from
/// one hub to another, or between a hub and a plain thread.
///
///     eventlet::SharedQueue<std::string> lines;
///     std::thread producer([&] { lines.put(read_line_blocking()); });
///     auto line = lines.get();   // parks this green thread; its hub runs the others
///
/// get() parks while the queue is empty, put() while a bounded queue is
/// full. Parking is green: only the calling green thread waits, and the
/// other green threads of its hub run meanwhile. A plain OS thread (one
/// that never made a green thread) parks its root greenlet the same way,
/// by running its own hub until an item comes. A green thread parked here
/// keeps its hub's loop alive: the hub cannot tell that no other thread
/// will ever put, and does not raise Deadlock.
///
/// Unlike Queue, whose methods never switch when they need not park, every
/// call here takes a lock (a std::mutex, held for a few instructions) and
/// hands wake-ups across threads through HubHandle: use Queue for green
/// threads of one hub, this one only where the items cross threads. Parked
/// getters, and putters, are served in the order they arrived. There is no
/// channel (`Queue(0)`): a rendezvous across threads would block a hub on
/// another thread's schedule.
template <class T>
class SharedQueue {
public:
    /// An unbounded queue: put() never parks.
    SharedQueue() = default;
    /// A queue of at most `maxsize` items.
    /// \throws std::invalid_argument for 0 (see SharedQueue).
    explicit SharedQueue(std::size_t maxsize) : maxsize_(maxsize)
    {
        if (maxsize == 0)
            throw std::invalid_argument("a SharedQueue holds at least one item; for a "
                                        "rendezvous between green threads of one hub, use Queue(0)");
    }
    /// Destroy it only when no green thread and no OS thread uses it: builds
    /// without NDEBUG and AddressSanitizer builds abort with a message that
    /// names the first green thread parked (see detail::SharedWaitLine), or,
    /// with none parked, that counts the calls still under way: a green
    /// thread woken for an item or for room is in get() or put() until it
    /// has run again, on its own hub's turn, and locks the queue then.
    ~SharedQueue()
    {
#if !defined(NDEBUG) || defined(__SANITIZE_ADDRESS__)
        const std::lock_guard lock(mutex_);
        if (calls_under_way_ != 0 && getters_.size() == 0 && putters_.size() == 0)
            detail::abort_destroyed_in_use("a SharedQueue", calls_under_way_);
#endif
    }
    SharedQueue(const SharedQueue&) = delete;
    SharedQueue& operator=(const SharedQueue&) = delete;

    /// Appends `item`, parking while the queue is full. An rvalue is moved
    /// from only once there is room: if the wait ends with an exception, the
    /// caller still has the item.
    /// \throws whatever is thrown into the green thread while it waits;
    ///         std::logic_error in the hub.
    void put(const T& item) { put_until(item, detail::Deadline(std::nullopt)); }
    /// Same as put(const T&), moving the item in.
    void put(T&& item) { put_until(std::move(item), detail::Deadline(std::nullopt)); }
    /// Like put(), but gives up after `timeout`.
    /// \throws QueueFull if no room came in time (an rvalue is left as it was).
    void put(const T& item, Seconds timeout) { put_until(item, detail::Deadline(timeout)); }
    /// Same as put(const T&, Seconds), moving the item in.
    void put(T&& item, Seconds timeout) { put_until(std::move(item), detail::Deadline(timeout)); }
    /// Appends `item` if there is room. Never parks; callable in the hub.
    /// \throws QueueFull if the queue is full (an rvalue is left as it was).
    void put_nowait(const T& item) { put_until(item, detail::Deadline(Seconds(0))); }
    /// Same as put_nowait(const T&), moving the item in.
    void put_nowait(T&& item) { put_until(std::move(item), detail::Deadline(Seconds(0))); }

    /// Removes and returns the oldest item, parking while the queue is empty.
    /// \throws whatever is thrown into the green thread while it waits;
    ///         std::logic_error in the hub.
    T get() { return get_until(detail::Deadline(std::nullopt)); }
    /// Like get(), but gives up after `timeout`.
    /// \throws QueueEmpty if no item came in time.
    T get(Seconds timeout) { return get_until(detail::Deadline(timeout)); }
    /// Removes and returns the oldest item, if any. Never parks; callable in the hub.
    /// \throws QueueEmpty if the queue is empty.
    T get_nowait() { return get_until(detail::Deadline(Seconds(0))); }

    /// Number of items in the queue (another thread may change it at once).
    std::size_t size() const
    {
        const std::lock_guard lock(mutex_);
        return items_.size();
    }
    /// True if the queue holds no item (another thread may change it at once).
    bool empty() const { return size() == 0; }
    /// The bound (the largest std::size_t for an unbounded queue).
    std::size_t maxsize() const noexcept { return maxsize_; }

private:
    // Counts a call of put() or get() from its start to its end, under the
    // lock (held at every way out: a wait takes it back before it returns
    // or throws), for ~SharedQueue().
    class CallUnderWay {
    public:
        explicit CallUnderWay(std::size_t& count) noexcept : count_(count) { ++count_; }
        ~CallUnderWay() { --count_; }
        CallUnderWay(const CallUnderWay&) = delete;
        CallUnderWay& operator=(const CallUnderWay&) = delete;

    private:
        std::size_t& count_;
    };

    template <class Item>
    void put_until(Item&& item, const detail::Deadline& deadline)
    {
        std::unique_lock lock(mutex_);
        const CallUnderWay call(calls_under_way_);
        while (items_.size() >= maxsize_) {
            if (deadline.expired())
                throw QueueFull();
            putters_.wait(lock, deadline);
        }
        items_.push_back(std::forward<Item>(item));
        getters_.notify_one();
    }

    T get_until(const detail::Deadline& deadline)
    {
        std::unique_lock lock(mutex_);
        const CallUnderWay call(calls_under_way_);
        while (items_.empty()) {
            if (deadline.expired())
                throw QueueEmpty();
            getters_.wait(lock, deadline);
        }
        T item = std::move(items_.front());
        items_.pop_front();
        putters_.notify_one();
        return item;
    }

    mutable std::mutex mutex_;
    std::deque<T> items_;
    std::size_t maxsize_ = std::numeric_limits<std::size_t>::max();
    std::size_t calls_under_way_ = 0;
    detail::SharedWaitLine getters_{"a SharedQueue (a getter)"};
    detail::SharedWaitLine putters_{"a SharedQueue (a putter)"};
};

} // namespace eventlet
