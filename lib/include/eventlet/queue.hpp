/// \file
/// Queue: a FIFO that green threads pass items through.
#pragma once

#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
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
/// `eventlet.queue.Queue`), unbounded, bounded, or a channel. get() parks
/// while the queue is empty; put() parks while a bounded queue is full.
/// Neither switches when it need not park. Parked getters (and putters) are
/// served in the order they arrived.
///
/// A parked getter woken for an item runs at the hub's next turn, and the
/// item is kept for it meanwhile (as is the slot a parked putter is woken
/// for). Whatever is left beyond those kept goes to a newcomer at once,
/// without parking: get() and get_nowait() take an
/// item that no woken getter needs, oldest first; put() and put_nowait()
/// use a slot that no woken putter needs. (Eventlet gives even the kept
/// item away, and parks its getter again.)
///
/// `Queue(0)` is a channel, as in Eventlet: it holds no item, and put()
/// parks until a get() has taken its item from it (a rendezvous, Go's
/// unbuffered channel). The getter goes on first, with the item; the putter
/// returns at the hub's next turn.
template <class T>
class Queue {
public:
    /// An unbounded queue: put() never parks.
    Queue() = default;
    /// A queue of at most `maxsize` items; 0 makes a channel (see Queue).
    explicit Queue(std::size_t maxsize) : maxsize_(maxsize) {}
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;

    /// Appends `item`, parking while the queue is full. An rvalue is moved
    /// from only once there is room: if the wait ends with an exception, the
    /// caller still has the item. One exception to that, on a channel: an
    /// exception thrown into the putter (a Timeout expiring, a kill) in the
    /// turn between a getter's taking the item and the putter's waking up
    /// still ends put() with it, though the getter has the item. (Eventlet's
    /// getter switches straight into the putter, which leaves no such turn.)
    /// \throws whatever is thrown into the green thread while it waits;
    ///         Deadlock; std::logic_error from another OS thread than the
    ///         green threads parked on the queue (nothing is added then).
    void put(const T& item) { put_until(item, detail::Deadline(std::nullopt)); }
    /// Same as put(const T&), moving the item in.
    void put(T&& item) { put_until(std::move(item), detail::Deadline(std::nullopt)); }
    /// Like put(), but gives up after `timeout`.
    /// \throws QueueFull if no room came in time (the item is not added,
    ///         and an rvalue is left as it was).
    void put(const T& item, Seconds timeout) { put_until(item, detail::Deadline(timeout)); }
    /// Same as put(const T&, Seconds), moving the item in.
    void put(T&& item, Seconds timeout) { put_until(std::move(item), detail::Deadline(timeout)); }
    /// Appends `item` if there is room that no putter woken for room needs
    /// (see Queue): then full() is false. Never switches, except on a channel:
    /// with a getter parked, it parks until the next turn, when the getter
    /// takes the item (as in Eventlet). A hub callback, which cannot park,
    /// hands the item over and returns: the getter has it at the next turn.
    /// \throws QueueFull if the queue is full(), or on a channel if no
    ///         getter took the item (an rvalue is left as it was).
    void put_nowait(const T& item) { put_until(item, detail::Deadline(Seconds(0))); }
    /// Same as put_nowait(const T&), moving the item in.
    void put_nowait(T&& item) { put_until(std::move(item), detail::Deadline(Seconds(0))); }

    /// Removes and returns the oldest item, parking while the queue is empty.
    /// \throws whatever is thrown into the green thread while it waits;
    ///         Deadlock; std::logic_error from another OS thread than the
    ///         green threads parked on the queue (nothing is taken then).
    T get() { return get_until(detail::Deadline(std::nullopt)); }
    /// Like get(), but gives up after `timeout`.
    /// \throws QueueEmpty if no item came in time.
    T get(Seconds timeout) { return get_until(detail::Deadline(timeout)); }
    /// Removes and returns the oldest item, if the queue holds one that no
    /// getter woken for an item needs (see Queue): a queue that holds 2
    /// items, one of them kept for a woken getter, gives the oldest to
    /// get_nowait(), the other to the getter. Never switches.
    /// \throws QueueEmpty if the queue is empty, or if each of its items is
    ///         kept for a woken getter.
    T get_nowait() { return get_until(detail::Deadline(Seconds(0))); }

    /// Number of items in the queue.
    std::size_t size() const noexcept { return items_.size(); }
    /// True if the queue holds no item.
    bool empty() const noexcept { return items_.empty(); }
    /// True if a put() would park: the queue holds maxsize() items, or the
    /// slots left are kept for putters woken for room (see Queue).
    bool full() const noexcept { return !has_spare_room(); }
    /// The bound (the largest std::size_t for an unbounded queue).
    std::size_t maxsize() const noexcept { return maxsize_; }
    /// Green threads parked in get().
    std::size_t getting() const noexcept { return getters_.size(); }
    /// Green threads parked in put().
    std::size_t putting() const noexcept { return putters_.size() + offers_.size(); }

    /// Destroy a queue only when nobody waits on it: builds without NDEBUG
    /// and AddressSanitizer builds abort with a message that names the
    /// first green thread parked (see detail::WaitQueue).
    ~Queue()
    {
#if !defined(NDEBUG) || defined(__SANITIZE_ADDRESS__)
        // A channel's putters park in lines of their own, on their stacks:
        // the getters' and putters' lines check themselves.
        if (!offers_.empty())
            detail::abort_destroyed_while_waited("a Queue (a putter)", offers_.front()->putter.first_in_line(),
                                                 offers_.size() - 1 + putters_.size());
#endif
    }

private:
    // A putter's item on a channel, waiting on the putter's stack for a getter.
    struct Offer {
        Offer(void* offered, T (*take_out)(void*)) noexcept : item(offered), take(take_out) {}
        void* item;            // the putter's item
        T (*take)(void* item); // copies or moves it out, as put() was called
        bool taken = false;    // a getter has it: the put() succeeded
        detail::WaitQueue putter{"a Queue (a putter)"}; // the putter alone, until taken
    };

    template <class Item>
    void put_until(Item&& item, const detail::Deadline& deadline)
    {
        if (maxsize_ == 0) {
            offer(std::forward<Item>(item), deadline);
            return;
        }
        // Newcomers wait behind parked putters, so that none starves: while
        // one of them waits for room, each slot that frees up wakes one, and
        // none is spare. A putter woken for room finds it kept.
        while (!has_spare_room())
            if (putters_.park(deadline) == detail::WaitQueue::Woken::timed_out && !has_spare_room())
                throw QueueFull();
        // The getter to wake is parked on its own thread's hub: refuse
        // before the item is in, not after (when notify_one() would throw).
        getters_.check_notifier();
        items_.push_back(std::forward<Item>(item));
        getters_.notify_one();
    }

    // put() on a channel: the item stays with the putter until a getter takes it.
    template <class Item>
    void offer(Item&& item, const detail::Deadline& deadline)
    {
        using Stored = std::remove_reference_t<Item>;
        // Without time to wait (put_nowait), only a getter already parked
        // and not yet promised an item can take it.
        const bool nowait = deadline.expired();
        if (nowait && getters_.size() <= offers_.size() + handed_.size())
            throw QueueFull();
        getters_.check_notifier();
        if (nowait && detail::in_hub()) {
            handed_.push_back(T(std::forward<Item>(item)));
            getters_.notify_one();
            return;
        }
        Offer offer(const_cast<void*>(static_cast<const void*>(std::addressof(item))),
                    [](void* stored) -> T { return T(std::forward<Item>(*static_cast<Stored*>(stored))); });
        offers_.push_back(&offer);
        // However the put ends, an offer not taken leaves with it.
        struct Withdraw {
            std::deque<Offer*>& offers;
            Offer& offer;
            ~Withdraw()
            {
                if (!offer.taken)
                    std::erase(offers, &offer);
            }
        } withdraw{offers_, offer};
        getters_.notify_one();
        while (!offer.taken) {
            // put_nowait() waits one turn: the getter it notified runs first.
            const auto woken = nowait ? offer.putter.park(Seconds(0)) : offer.putter.park(deadline);
            if (woken == detail::WaitQueue::Woken::timed_out && !offer.taken)
                throw QueueFull();
        }
    }

    // The getters woken for an item have not run yet: each is owed one of
    // the items there are. A getter that comes meanwhile takes only what is
    // left beyond those (oldest first: items have no owner, only a count).
    bool has_spare_item() const noexcept
    {
        const std::size_t items = maxsize_ == 0 ? offers_.size() + handed_.size() : items_.size();
        return items > getters_.notified();
    }
    bool has_spare_room() const noexcept { return items_.size() + putters_.notified() < maxsize_; }

    T get_until(const detail::Deadline& deadline)
    {
        // As put_until(): newcomers wait behind parked getters.
        while (!has_spare_item())
            if (getters_.park(deadline) == detail::WaitQueue::Woken::timed_out && !has_spare_item())
                throw QueueEmpty();
        if (maxsize_ == 0 && offers_.empty()) {
            T item = std::move(handed_.front());
            handed_.pop_front();
            return item;
        }
        if (maxsize_ == 0) {
            // The oldest offer; its putter leaves put() at the next turn.
            Offer& oldest = *offers_.front();
            oldest.putter.check_notifier(); // before the item is taken from the putter
            T item = oldest.take(oldest.item);
            offers_.pop_front();
            oldest.taken = true;
            oldest.putter.notify_one();
            return item;
        }
        putters_.check_notifier(); // before the item leaves the queue
        T item = std::move(items_.front());
        items_.pop_front();
        putters_.notify_one();
        return item;
    }

    std::deque<T> items_;
    std::deque<Offer*> offers_; // a channel's putters, oldest first
    std::deque<T> handed_;      // a channel's items handed over by hub callbacks
    std::size_t maxsize_ = std::numeric_limits<std::size_t>::max();
    detail::WaitQueue getters_{"a Queue (a getter)"};
    detail::WaitQueue putters_{"a Queue (a putter)"};
};

} // namespace eventlet
