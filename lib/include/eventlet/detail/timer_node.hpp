/// \file
/// Private: one place in a hub's queue of timers, kept where its owner lives.
#pragma once

#include <chrono>
#include <cstdint>

namespace eventlet::detail {

class TimerQueue;

/// Why the queue calls a node's handler: it is due, or the queue is being
/// destroyed and lets go of it without running it.
enum class TimerEvent : unsigned char { due, dropped };

/// A call scheduled on a hub, stored by whoever scheduled it: on the stack
/// of a sleeping greenlet (sleep()), inside a green thread's state (its
/// start), or inside a shared TimerState (Hub::schedule_call()). The queue
/// only points to it, so scheduling allocates nothing; in exchange, an owner
/// that goes away while its node is queued must take it out first
/// (TimerQueue::remove(), a store: the queue never reads the node again).
///
/// Neither copyable nor movable: the queue holds its address.
struct TimerNode {
    /// What the queue calls: with TimerEvent::due from the hub's loop, once
    /// the node is out of the queue (so the handler may free it, or push it
    /// again), and with TimerEvent::dropped from the queue's destructor,
    /// likewise once the node is out: the nodes that are left are still
    /// queued, so that freeing their owners from the handler is safe.
    using Handler = void (*)(TimerNode& node, TimerEvent event);

    /// A node not queued, that calls `handler`. An owner that needs more
    /// (the greenlet to wake, say) derives from it.
    explicit TimerNode(Handler on_event) noexcept : handler(on_event) {}
    TimerNode(const TimerNode&) = delete;
    TimerNode& operator=(const TimerNode&) = delete;

    /// Called when due or dropped (see Handler).
    Handler handler;
    /// For a call at the next turn, when it was scheduled: its deadline. (A
    /// timed call's deadline is the queue's, in its own arrays, so that
    /// ordering the timers reads no node.)
    std::chrono::steady_clock::time_point deadline{};
    /// The queue it is in, or null when it is in none.
    TimerQueue* queue = nullptr;
    /// Where the queue keeps its entry (the queue's business).
    std::uint32_t slot = 0;
    /// Which of the queue's lists holds the node's entry.
    enum class Place : unsigned char {
        heap,      ///< the heap of timers
        next_turn, ///< the calls for the next turn
        in_order,  ///< the array of timers each due no sooner than the one before
    };
    /// Where the queue keeps the node's entry (the queue's business). One
    /// byte: a record derived from a node may keep its own in the rest.
    Place place = Place::heap;
};

} // namespace eventlet::detail
