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
    if (heap_.empty())
        return nullptr;
    // The heap's last node: a heap without it is still a heap, nothing moves.
    TimerNode* const node = heap_.back();
    heap_.pop_back();
    return node;
}

void TimerQueue::push_timed(TimerNode& node, Clock::duration delay)
{
    node.sequence = sequence_++;
    last_now_ = Clock::now();
    node.deadline = last_now_ + delay;
    node.next_turn = false;
    heap_.push_back(&node);
    sift_up(heap_.size() - 1, &node);
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
    TimerNode* last = heap_.back();
    heap_.pop_back();
    if (last == &node)
        return;
    // The last node takes the removed one's place, then moves up or down
    // to where its deadline belongs.
    const std::size_t index = node.slot;
    if (index > 0 && due_before(*last, *heap_[(index - 1) / 2]))
        sift_up(index, last);
    else
        sift_down(index, last);
}

void TimerQueue::place(std::size_t index, TimerNode* node) noexcept
{
    heap_[index] = node;
    node->slot = static_cast<std::uint32_t>(index);
}

void TimerQueue::sift_up(std::size_t index, TimerNode* node) noexcept
{
    while (index > 0) {
        const std::size_t parent = (index - 1) / 2;
        if (!due_before(*node, *heap_[parent]))
            break;
        place(index, heap_[parent]);
        index = parent;
    }
    place(index, node);
}

void TimerQueue::sift_down(std::size_t index, TimerNode* node) noexcept
{
    const std::size_t size = heap_.size();
    for (;;) {
        std::size_t child = 2 * index + 1;
        if (child >= size)
            break;
        if (child + 1 < size && due_before(*heap_[child + 1], *heap_[child]))
            ++child;
        if (!due_before(*heap_[child], *node))
            break;
        place(index, heap_[child]);
        index = child;
    }
    place(index, node);
}

TimerNode* TimerQueue::take_heap_front() noexcept
{
    TimerNode* front = heap_.front();
    TimerNode* last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty())
        sift_down(0, last);
    return front;
}

} // namespace eventlet::detail
