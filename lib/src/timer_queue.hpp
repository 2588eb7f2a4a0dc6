// Private: the calls scheduled on a hub, in the order they are due.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "eventlet/detail/switch_path.hpp"
#include "eventlet/detail/timer_node.hpp"
#include "mapped_allocator.hpp"

namespace eventlet::detail {

/// A call scheduled with Hub::schedule_call(): a node shared by the
/// TimerHandle and the queue, so that either may outlive the other. While
/// queued, it holds a reference to itself (`queued_self`), the queue's:
/// a call whose handles were all dropped still runs.
struct TimerState : TimerNode {
    explicit TimerState(std::function<void()> callback);
    std::function<void()> callback;
    std::shared_ptr<TimerState> queued_self;
    bool done = false; // ran or cancelled: never run (again)
};

/// The hub's timers, Eventlet's heap: a call is due at its deadline, and
/// calls are fired in the order of their deadlines, then of their
/// scheduling. A call at the next turn is a timer too, due the moment it
/// was scheduled, so that a timer that became overdue before it runs first.
///
/// The queue holds nodes it does not own (TimerNode): a node taken out
/// (remove()) is gone from it at once, since its owner may be about to
/// free it.
///
/// The heap touches no node while it moves its entries: the nodes are
/// scattered over the stacks of the green threads that sleep or wait, a
/// cache miss (and often a TLB miss) each. An entry holds its timer's
/// deadline and sequence number (the queue's, not the node's), and a ticket:
/// the index of a slot, in an array of the queue's own, that points to the
/// node. The node knows its ticket, not its place in the heap, so that
/// entries move without telling it. A node taken out empties its ticket's
/// slot and leaves its entry behind rather than moving others: a timed wait
/// that ends early, the common case of a socket's timeout, then costs the
/// heap one store. Emptied entries leave at the front as if due, and all at
/// once when they are half of the heap (it is rebuilt without them: O(n) for
/// n/2 removals). An entry is 16 bytes and a ticket 8, in blocks mapped on
/// their own (MappedAllocator): what a sleeping green thread costs the queue.
///
/// Most timers of a busy server are the timeouts of its sockets, all of one
/// length: each is due later than every one pushed before it. Such a timer
/// goes to the back of a second array, kept in order as it is (a push is an
/// append, and the front is due first), instead of into the heap; a timer due
/// before the array's last goes into the heap. An entry taken out of the
/// array is emptied as in the heap, and the emptied ones go when they reach
/// the front, or all at once when they are half of the array. The first call
/// due is the earlier of the two fronts.
///
/// A call at the next turn keeps its deadline in its node; the list of them
/// is in the order they were pushed. It comes after a timer with the same
/// deadline: that one was pushed first (a timer pushed later is due after
/// the time the list's deadlines were read at).
class TimerQueue {
public:
    using Clock = std::chrono::steady_clock;

    TimerQueue() = default;
    /// Lets go of the nodes still queued (TimerEvent::dropped), one at a
    /// time, each out of the queue before its handler runs: a handler may
    /// destroy the owners of other nodes, which then take them out as
    /// usual, or push new ones, which are let go of in their turn.
    ~TimerQueue();
    TimerQueue(const TimerQueue&) = delete;
    TimerQueue& operator=(const TimerQueue&) = delete;

    // What every turn and every sleep(0) calls is inline here; the heap's
    // moves stay out of line, in timer_queue.cpp.

    /// Queues `node`, which must be in no queue, to be due `delay` from now
    /// (zero or less: at the next turn).
    void push(TimerNode& node, Clock::duration delay)
    {
        if (delay > Clock::duration::zero()) {
            push_timed(node, delay);
            return;
        }
        // The node counts as queued (its `queue` set) only once it is in: a
        // push_back that throws leaves it out, and its owner must not remove it.
        if (has_deadlines())
            last_now_ = Clock::now();
        next_turn_.push_back(&node);
        node.deadline = last_now_;
        node.place = TimerNode::Place::next_turn;
        node.slot = next_turn_pushed_++;
        node.queue = this;
    }
    /// Takes `node` out of this queue, where it must be.
    void remove(TimerNode& node) noexcept;
    /// A mark of the calls pushed so far: those pushed from now on are not
    /// due before the hub's next turn (see pop_due()).
    std::uint32_t turn_mark() const noexcept { return next_turn_pushed_; }
    /// Takes out the first call that is due at `now` and was pushed before
    /// `before` (a turn_mark()), or returns null. (`now` is read before
    /// `before`, and before any call of the turn runs: a call pushed since
    /// with a delay is due after `now`. Only the calls at the next turn need
    /// the mark: the list's place of the first, modulo 2^32, against it.)
    TimerNode* pop_due(Clock::time_point now, std::uint32_t before) noexcept
    {
        if (now > last_now_)
            last_now_ = now;
        TimerNode* node = nullptr;
        if (front_is_next_turn()) {
            if (static_cast<std::int32_t>(next_turn_popped_ - before) >= 0)
                return nullptr;
            node = next_turn_.front();
            next_turn_.pop_front();
            ++next_turn_popped_;
            drop_removed_fronts();
        } else {
            const Entry* const front = timed_front();
            if (front == nullptr || front->deadline > now)
                return nullptr;
            node = front == in_order_front() ? take_in_order_front() : take_heap_front();
        }
        node->queue = nullptr;
        return node;
    }
    /// True if the calling OS thread is the one whose hub owns this queue.
    bool on_this_thread() const noexcept { return owner_ == this_thread; }
    /// True if a call with a delay is queued: only those need the clock.
    /// (The fronts are never emptied entries: an array with any entry has a
    /// timer.)
    bool has_deadlines() const noexcept { return !heap_.empty() || in_order_front() != nullptr; }
    /// The latest time the queue read or was told (see last_now_).
    Clock::time_point last_now() const noexcept { return last_now_; }
    /// The deadline of the first call, if any.
    std::optional<Clock::time_point> earliest() noexcept
    {
        if (front_is_next_turn())
            return next_turn_.front()->deadline;
        const Entry* const front = timed_front();
        if (front == nullptr)
            return std::nullopt;
        return front->deadline;
    }

private:
    // A timer of the heap: its key (the sequence number modulo 2^32, see
    // due_before()), and its ticket.
    struct Entry {
        Clock::time_point deadline;
        std::uint32_t sequence;
        std::uint32_t ticket;
    };
    static_assert(sizeof(Entry) == 16);
    using Entries = std::vector<Entry, MappedAllocator<Entry>>;
    // Deadlines first, then the order of pushing. Only equal deadlines, to
    // the nanosecond, compare sequence numbers, as a difference modulo
    // 2^32: two timers with the same deadline are pushed far fewer than
    // 2^31 pushes apart.
    static bool due_before(const Entry& a, const Entry& b) noexcept
    {
        if (a.deadline != b.deadline)
            return a.deadline < b.deadline;
        const std::uint32_t difference = a.sequence - b.sequence;
        return static_cast<std::int32_t>(difference) < 0;
    }
    // push() with a delay: at the back of the array in order if it is due
    // no sooner than the last there, else into the heap.
    void push_timed(TimerNode& node, Clock::duration delay);
    // The live entry of the array in order that is due first, or null.
    const Entry* in_order_front() const noexcept
    {
        return in_order_first_ < in_order_.size() ? &in_order_[in_order_first_] : nullptr;
    }
    // The entry due first of the heap's and the array's, or null.
    const Entry* timed_front() const noexcept
    {
        const Entry* const ordered = in_order_front();
        if (heap_.empty())
            return ordered;
        return ordered != nullptr && due_before(*ordered, heap_.front()) ? ordered : &heap_.front();
    }
    void drop_removed_fronts() noexcept
    {
        while (!next_turn_.empty() && next_turn_.front() == nullptr) {
            next_turn_.pop_front();
            ++next_turn_popped_;
        }
    }
    bool front_is_next_turn() const noexcept
    {
        if (next_turn_.empty())
            return false;
        const Entry* const front = timed_front();
        return front == nullptr || next_turn_.front()->deadline < front->deadline;
    }
    bool emptied(const Entry& entry) const noexcept { return tickets_[entry.ticket] == 0; }
    // The node of a live entry's ticket, and the reverse.
    TimerNode* node_of(std::uint32_t ticket) const noexcept
    {
        return reinterpret_cast<TimerNode*>(tickets_[ticket]);
    }
    static std::uintptr_t slot_for(TimerNode* node) noexcept
    {
        return reinterpret_cast<std::uintptr_t>(node);
    }
    // A free ticket's slot links to the next free one: that ticket's number,
    // shifted and tagged with 1 (a node's address is even; 0 is emptied).
    static constexpr std::uint32_t no_ticket = 0xffffffffU;
    static std::uintptr_t free_link(std::uint32_t next) noexcept
    {
        return (std::uintptr_t{next} << 1) | 1U;
    }
    // Gives the ticket of an entry leaving the heap back; its slot is 0.
    void free_ticket(const Entry& entry) noexcept
    {
        tickets_[entry.ticket] = free_link(first_free_);
        first_free_ = entry.ticket;
    }
    // The destructor's next node, taken out (its `queue` still set), or
    // null once the queue is empty.
    TimerNode* take_any() noexcept;
    // Takes the last entries of `entries` off, down to `first`, until one
    // whose node is queued: returns that node, or null if none is left.
    // `emptied_count` counts the emptied entries among them.
    TimerNode* take_last(Entries& entries, std::size_t first, std::size_t& emptied_count) noexcept;
    void sift_up(std::size_t index, Entry entry) noexcept;
    void sift_down(std::size_t index, Entry entry) noexcept;
    // Takes the front entry off, and the emptied entries that come to the
    // front after it; returns the front's node.
    TimerNode* take_heap_front() noexcept;
    // Rebuilds the heap without its emptied entries.
    void drop_emptied() noexcept;
    // remove() for a node of the array in order.
    void remove_in_order(const TimerNode& node) noexcept;
    // Takes the array's front off, and the emptied entries that come to the
    // front after it; returns the front's node.
    TimerNode* take_in_order_front() noexcept;
    // Moves the array's live entries to its start, in order, without its
    // emptied ones.
    void compact_in_order() noexcept;

    // Timers with a delay, a binary heap whose front is due first. Its
    // front is never an emptied entry.
    Entries heap_;
    // The nodes of the heap's entries, by ticket (a node's slot): a node's
    // address; 0 for an entry whose node was taken out; a free_link() for
    // a ticket not in use.
    std::vector<std::uintptr_t, MappedAllocator<std::uintptr_t>> tickets_;
    std::uint32_t first_free_ = no_ticket;
    // How many of heap_'s entries are emptied.
    std::size_t emptied_ = 0;
    // Timers each due no sooner than the one before: the entries from
    // in_order_first_ on (those before it have gone), the first never
    // emptied; in_order_emptied_ of them are.
    Entries in_order_;
    std::size_t in_order_first_ = 0;
    std::size_t in_order_emptied_ = 0;
    // Calls at the next turn, due when scheduled: the clock never goes back,
    // so they are in order already, and a deque keeps them cheap. A node's
    // slot is its place counted from the first ever pushed (modulo 2^32);
    // one removed leaves a null behind, dropped when it reaches the front.
    std::deque<TimerNode*> next_turn_;
    std::uint32_t next_turn_popped_ = 0; // fronts taken off next_turn_, modulo 2^32
    std::uint32_t next_turn_pushed_ = 0; // calls pushed onto it, modulo 2^32
    std::uint32_t sequence_ = 0; // of the timers pushed into the heap, modulo 2^32
    // The latest time the queue read or was told (push(), pop_due()): never
    // later than now, never earlier than a deadline already in next_turn_.
    Clock::time_point last_now_ = Clock::now();
    // The thread of the hub that owns it: a node can be taken out of it
    // from no other (see TimerHandle::cancel()).
    const ThreadState* owner_ = &ThreadState::get();
};

} // namespace eventlet::detail
