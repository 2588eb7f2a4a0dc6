/// \file
/// Queue: a FIFO that green threads pass items through.
#pragma once

#include <cstddef>
#include <deque>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>

#include "eventlet/detail/wait_queue.hpp"
#include "eventlet/seconds.hpp"

namespace eventlet {

/// Thrown by Queue::get() when no item came before the timeout, and by
/// Queue::get_nowait() on an empty queue (Python's queue.Empty).
class QueueEmpty : public std::runtime_error {
public:
    QueueEmpty() : std::runtime_error("the queue is empty") {}
};

/// Thrown by Queue::put() when no room came before the timeout, and by
/// Queue::put_nowait() on a full queue (Python's queue.Full).
class QueueFull : public std::runtime_error {
public:
    QueueFull() : std::runtime_error("the queue is full") {}
};

/// A first-in, first-out queue for green threads (Eventlet's
/// `eventlet.queue.Queue`), unbounded or bounded. get() parks while the
/// queue is empty; put() parks while a bounded queue is full. Neither
/// switches when it need not park. Parked getters (and putters) are served
/// in the order they arrived.
template <class T>
class Queue {
public:
    /// An unbounded queue: put() never parks.
    Queue() = default;
    /// A queue of at most `maxsize` items (at least 1).
    explicit Queue(std::size_t maxsize) : maxsize_(maxsize)
    {
        if (maxsize == 0)
            throw std::invalid_argument(
                "a queue of size 0 would be a channel, which this Queue is not; "
                "use Queue() for an unbounded queue");
    }
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

    /// Appends `item`, parking while the queue is full. An rvalue is moved
    /// from only once there is room: if the wait ends with an exception, the
    /// caller still has the item.
    /// \throws whatever is thrown into the green thread while it waits; Deadlock.
    void put(const T& item) { put_until(item, detail::Deadline(std::nullopt)); }
    /// Same as put(const T&), moving the item in.
    void put(T&& item) { put_until(std::move(item), detail::Deadline(std::nullopt)); }
    /// Like put(), but gives up after `timeout`.
    /// \throws QueueFull if no room came in time (the item is not added,
    ///         and an rvalue is left as it was).
    void put(const T& item, Seconds timeout) { put_until(item, detail::Deadline(timeout)); }
    /// Same as put(const T&, Seconds), moving the item in.
    void put(T&& item, Seconds timeout) { put_until(std::move(item), detail::Deadline(timeout)); }
    /// Appends `item` if there is room. Never switches.
    /// \throws QueueFull if the queue is full (an rvalue is left as it was).
    void put_nowait(const T& item) { put_until(item, detail::Deadline(Seconds(0))); }
    /// Same as put_nowait(const T&), moving the item in.
    void put_nowait(T&& item) { put_until(std::move(item), detail::Deadline(Seconds(0))); }

    /// Removes and returns the oldest item, parking while the queue is empty.
    /// \throws whatever is thrown into the green thread while it waits; Deadlock.
    T get() { return get_until(detail::Deadline(std::nullopt)); }
    /// Like get(), but gives up after `timeout`.
    /// \throws QueueEmpty if no item came in time.
    T get(Seconds timeout) { return get_until(detail::Deadline(timeout)); }
    /// Removes and returns the oldest item, if any. Never switches.
    /// \throws QueueEmpty if the queue is empty.
    T get_nowait() { return get_until(detail::Deadline(Seconds(0))); }

    /// Number of items in the queue.
    std::size_t size() const noexcept { return items_.size(); }
    /// True if the queue holds no item.
    bool empty() const noexcept { return items_.empty(); }
    /// True if a put() would park.
    bool full() const noexcept { return items_.size() >= maxsize_; }
    /// The bound (the largest std::size_t for an unbounded queue).
    std::size_t maxsize() const noexcept { return maxsize_; }
    /// Green threads parked in get().
    std::size_t getting() const noexcept { return getters_.size(); }
    /// Green threads parked in put().
    std::size_t putting() const noexcept { return putters_.size(); }

private:
    template <class Item>
    void put_until(Item&& item, const detail::Deadline& deadline)
    {
        // Newcomers wait behind parked putters, so that none starves.
        if (full() || !putters_.empty()) {
            do {
                if (putters_.park(deadline) == detail::WaitQueue::Woken::timed_out)
                    throw QueueFull();
            } while (full());
        }
        items_.push_back(std::forward<Item>(item));
        getters_.notify_one();
    }

    T get_until(const detail::Deadline& deadline)
    {
        if (items_.empty() || !getters_.empty()) {
            do {
                if (getters_.park(deadline) == detail::WaitQueue::Woken::timed_out)
                    throw QueueEmpty();
            } while (items_.empty());
        }
        T item = std::move(items_.front());
        items_.pop_front();
        putters_.notify_one();
        return item;
    }

    std::deque<T> items_;
    std::size_t maxsize_ = std::numeric_limits<std::size_t>::max();
    detail::WaitQueue getters_;
    detail::WaitQueue putters_;
};

} // namespace eventlet
