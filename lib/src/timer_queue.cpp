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
    // The heap's last entries: a heap without them is still a heap, nothing
    // moves. (The front, the last to go, is never emptied.)
    while (!heap_.empty()) {
        const Entry last = heap_.back();
        heap_.pop_back();
        TimerNode* const node = node_of(last.ticket);
        free_ticket(last);
        if (node != nullptr)
            return node;
        --emptied_;
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
    const std::uint32_t ticket = first_free_;
    heap_.push_back(Entry{now + delay, sequence_, ticket});
    first_free_ = static_cast<std::uint32_t>(tickets_[ticket] >> 1);
    tickets_[ticket] = slot_for(&node);
    last_now_ = now;
    ++sequence_;
    node.next_turn = false;
    node.slot = ticket;
    sift_up(heap_.size() - 1, heap_.back());
    node.queue = this;
}

void TimerQueue::remove(TimerNode& node) noexcept
{
    node.queue = nullptr;
    if (node.next_turn) {
        next_turn_[node.slot - next_turn_popped_] = nullptr;
        drop_removed_fronts();
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

} // namespace eventlet::detail
