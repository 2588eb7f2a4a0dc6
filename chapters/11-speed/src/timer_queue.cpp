#include "timer_queue.hpp"

#include <algorithm>

namespace eventlet::detail {
namespace {

// The heap's order: std::push_heap keeps the greatest in front, so
// "greater" here means "due earlier".
bool due_later(const std::shared_ptr<TimerState>& a, const std::shared_ptr<TimerState>& b)
{
    if (a->deadline != b->deadline)
        return a->deadline > b->deadline;
    return a->sequence > b->sequence;
}

// Cancelled calls are let go of at once when they are this many and the
// majority: a server that sets a long Timeout per request and cancels it
// soon after would otherwise keep every one of them queued until its deadline.
constexpr std::size_t compact_threshold = 256;

} // namespace

TimerQueue::~TimerQueue()
{
    for (const auto& state : heap_)
        state->queue = nullptr;
    for (const auto& state : soon_)
        state->queue = nullptr;
}

void TimerQueue::push(const std::shared_ptr<TimerState>& state, Clock::duration delay)
{
    state->sequence = sequence_++;
    state->queue = this;
    if (delay <= Clock::duration::zero()) {
        // Due now. Its deadline only orders it against the timers queued
        // already: with none, the last time read is as good as the clock
        // (any later timer is due after it either way), and a busy hub
        // spares a clock reading per wake-up.
        if (!heap_.empty())
            last_now_ = Clock::now();
        state->deadline = last_now_;
        soon_.push_back(state);
    } else {
        last_now_ = Clock::now();
        state->deadline = last_now_ + delay;
        heap_.push_back(state);
        std::push_heap(heap_.begin(), heap_.end(), due_later);
    }
}

bool TimerQueue::front_is_soon() const noexcept
{
    if (soon_.empty())
        return false;
    return heap_.empty() || !due_later(soon_.front(), heap_.front());
}

void TimerQueue::drop_cancelled_fronts() noexcept
{
    for (;;) {
        if (!soon_.empty() && soon_.front()->done) {
            soon_.front()->queue = nullptr;
            soon_.pop_front();
        } else if (!heap_.empty() && heap_.front()->done) {
            heap_.front()->queue = nullptr;
            std::pop_heap(heap_.begin(), heap_.end(), due_later);
            heap_.pop_back();
        } else {
            return;
        }
        --cancelled_;
    }
}

std::shared_ptr<TimerState> TimerQueue::pop_due(Clock::time_point now, std::uint64_t before)
{
    if (now > last_now_)
        last_now_ = now;
    drop_cancelled_fronts();
    std::shared_ptr<TimerState> state;
    if (front_is_soon()) {
        if (soon_.front()->sequence >= before)
            return nullptr;
        state = std::move(soon_.front());
        soon_.pop_front();
    } else {
        if (heap_.empty() || heap_.front()->deadline > now || heap_.front()->sequence >= before)
            return nullptr;
        std::pop_heap(heap_.begin(), heap_.end(), due_later);
        state = std::move(heap_.back());
        heap_.pop_back();
    }
    state->queue = nullptr;
    return state;
}

std::optional<TimerQueue::Clock::time_point> TimerQueue::earliest()
{
    drop_cancelled_fronts();
    if (front_is_soon())
        return soon_.front()->deadline;
    if (heap_.empty())
        return std::nullopt;
    return heap_.front()->deadline;
}

void TimerQueue::note_cancelled() noexcept
{
    ++cancelled_;
    if (cancelled_ >= compact_threshold && 2 * cancelled_ > heap_.size() + soon_.size())
        compact();
}

// Takes every cancelled call out. Neither erasing nor re-making the heap
// allocates, so a cancel, which must not throw, may do it.
void TimerQueue::compact() noexcept
{
    const auto cancelled = [](const std::shared_ptr<TimerState>& state) {
        if (!state->done)
            return false;
        state->queue = nullptr;
        return true;
    };
    std::erase_if(heap_, cancelled);
    std::make_heap(heap_.begin(), heap_.end(), due_later);
    std::erase_if(soon_, cancelled);
    cancelled_ = 0;
}

} // namespace eventlet::detail
