#include "timer_queue.hpp"

#include <utility>

namespace eventlet::detail {
namespace {

// A shared call's handler. The queue's reference is taken over first: the
// state then lives until its call has returned, even if the call drops
// every handle to it.
void run_shared_call(TimerNode& node, TimerEvent event)
{
    auto& state = static_cast<TimerState&>(node);
    const std::shared_ptr<TimerState> self = std::move(state.queued_self);
    if (event == TimerEvent::dropped || state.done)
        return;
    state.done = true;
    // Moved out first, so that the callback may cancel its own handle.
    const std::function<void()> callback = std::move(state.callback);
    callback();
}

} // namespace

TimerState::TimerState(std::function<void()> callback)
    : TimerNode(&run_shared_call), callback(std::move(callback))
{
}

TimerQueue::~TimerQueue()
{
    // One node at a time, each taken out before its handler runs: the
    // handler may free the owners of other nodes (a call that holds the last
    // reference to a Timeout), and they take their nodes out of a queue that
    // must still be whole, so that no freed node is left in it. A node
    // pushed meanwhile is let go of in its turn.
    while (TimerNode* const node = take_any()) {
        node->queue = nullptr;
        node->handler(*node, TimerEvent::dropped);
    }
}

TimerNode* TimerQueue::take_any() noexcept
{
    if (!next_turn_.empty()) {
        // Never a null: drop_removed_fronts() runs after every change.
        TimerNode* const node = next_turn_.front();
        next_turn_.pop_front();
        ++next_turn_popped_;
        drop_removed_fronts();
        return node;
    }
    // The array's last entries, then the heap's: without them each is still
    // in order, nothing moves. (A front, the last to go, is never emptied.)
    if (TimerNode* const node = take_last(in_order_, in_order_first_, in_order_emptied_))
        return node;
    in_order_.clear();
    in_order_first_ = 0;
    return take_last(heap_, 0, emptied_);
}

TimerNode* TimerQueue::take_last(Entries& entries, std::size_t first, std::size_t& emptied_count) noexcept
{
    while (entries.size() > first) {
        const Entry last = entries.back();
        entries.pop_back();
        TimerNode* const node = node_of(last.ticket);
        free_ticket(last);
        if (node != nullptr)
            return node;
        --emptied_count;
    }
    return nullptr;
}

void TimerQueue::push_timed(TimerNode& node, Clock::duration delay)
{
    // What may throw comes first, and changes nothing that matters: a new
    // ticket, free, or an entry not pushed.
    if (first_free_ == no_ticket) {
        tickets_.push_back(free_link(no_ticket));
        first_free_ = static_cast<std::uint32_t>(tickets_.size() - 1);
    }
    const Clock::time_point now = Clock::now();
    const Clock::time_point deadline = now + delay;
    const std::uint32_t ticket = first_free_;
    const Entry entry{deadline, sequence_, ticket};
    // An emptied last entry still bounds the order: whatever comes after it
    // must be due no sooner.
    const bool in_order = in_order_.empty() || !(deadline < in_order_.back().deadline);
    (in_order ? in_order_ : heap_).push_back(entry);
    first_free_ = static_cast<std::uint32_t>(tickets_[ticket] >> 1);
    tickets_[ticket] = slot_for(&node);
    last_now_ = now;
    ++sequence_;
    node.place = in_order ? TimerNode::Place::in_order : TimerNode::Place::heap;
    node.slot = ticket;
    if (!in_order)
        sift_up(heap_.size() - 1, heap_.back());
    node.queue = this;
}

void TimerQueue::remove(TimerNode& node) noexcept
{
    node.queue = nullptr;
    if (node.place == TimerNode::Place::next_turn) {
        next_turn_[node.slot - next_turn_popped_] = nullptr;
        drop_removed_fronts();
        return;
    }
    if (node.place == TimerNode::Place::in_order) {
        remove_in_order(node);
        return;
    }
    if (heap_.front().ticket == node.slot) {
        (void)take_heap_front();
        return;
    }
    tickets_[node.slot] = 0;
    ++emptied_;
    if (emptied_ > heap_.size() / 2)
        drop_emptied();
}

void TimerQueue::sift_up(std::size_t index, Entry entry) noexcept
{
    while (index > 0) {
        const std::size_t parent = (index - 1) / 2;
        if (!due_before(entry, heap_[parent]))
            break;
        heap_[index] = heap_[parent];
        index = parent;
    }
    heap_[index] = entry;
}

void TimerQueue::sift_down(std::size_t index, Entry entry) noexcept
{
    const std::size_t size = heap_.size();
    for (;;) {
        std::size_t child = 2 * index + 1;
        if (child >= size)
            break;
        if (child + 1 < size && due_before(heap_[child + 1], heap_[child]))
            ++child;
        if (!due_before(heap_[child], entry))
            break;
        heap_[index] = heap_[child];
        index = child;
    }
    heap_[index] = entry;
}

TimerNode* TimerQueue::take_heap_front() noexcept
{
    // The front leaves as an emptied entry does, with those that follow it.
    TimerNode* const front = node_of(heap_.front().ticket);
    tickets_[heap_.front().ticket] = 0;
    ++emptied_;
    do {
        --emptied_;
        free_ticket(heap_.front());
        const Entry last = heap_.back();
        heap_.pop_back();
        if (!heap_.empty())
            sift_down(0, last);
    } while (!heap_.empty() && emptied(heap_.front()));
    return front;
}

void TimerQueue::drop_emptied() noexcept
{
    // The live entries to the array's start, in place, then Floyd's heap
    // construction, which moves each at most down its subtree.
    std::size_t kept = 0;
    for (const Entry& entry : heap_) {
        if (emptied(entry))
            free_ticket(entry);
        else
            heap_[kept++] = entry;
    }
    heap_.resize(kept);
    emptied_ = 0;
    for (std::size_t index = kept / 2; index-- > 0;)
        sift_down(index, heap_[index]);
}

void TimerQueue::remove_in_order(const TimerNode& node) noexcept
{
    if (in_order_[in_order_first_].ticket == node.slot) {
        (void)take_in_order_front();
        return;
    }
    tickets_[node.slot] = 0;
    ++in_order_emptied_;
    if (in_order_emptied_ > (in_order_.size() - in_order_first_) / 2)
        compact_in_order();
}

TimerNode* TimerQueue::take_in_order_front() noexcept
{
    TimerNode* const front = node_of(in_order_[in_order_first_].ticket);
    free_ticket(in_order_[in_order_first_]);
    ++in_order_first_;
    while (in_order_first_ < in_order_.size() && emptied(in_order_[in_order_first_])) {
        free_ticket(in_order_[in_order_first_]);
        ++in_order_first_;
        --in_order_emptied_;
    }
    // The array's start moves back only when what has gone is at least as
    // long as what is left: each entry moves once for each one that went.
    if (in_order_first_ == in_order_.size()) {
        in_order_.clear();
        in_order_first_ = 0;
    } else if (in_order_first_ >= in_order_.size() - in_order_first_) {
        compact_in_order();
    }
    return front;
}

void TimerQueue::compact_in_order() noexcept
{
    std::size_t kept = 0;
    for (std::size_t index = in_order_first_; index < in_order_.size(); ++index) {
        if (emptied(in_order_[index]))
            free_ticket(in_order_[index]);
        else
            in_order_[kept++] = in_order_[index];
    }
    in_order_.resize(kept);
    in_order_first_ = 0;
    in_order_emptied_ = 0;
}

} // namespace eventlet::detail
