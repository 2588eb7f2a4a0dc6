#include "eventlet/detail/wait_queue.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "eventlet/hub.hpp"
#include "hub_impl.hpp"
#include "thread_state.hpp"

namespace eventlet::detail {

void abort_destroyed_while_waited(const char* owner, const Greenlet* waiter, std::size_t more) noexcept
{
    std::fprintf(stderr,
                 "eventlet: %s was destroyed while green thread '%s' (and %zu more) waited on "
                 "it; destroy a waitable object only when nobody waits on it\n",
                 owner, waiter != nullptr ? waiter->name().c_str() : "?", more);
    std::abort();
}

WaitQueue::~WaitQueue()
{
#if !defined(NDEBUG) || defined(__SANITIZE_ADDRESS__)
    // No exception can leave a destructor, and going on would leave the
    // parked green threads pointing into freed memory: stop here, with
    // the names that let the reader find the mistake.
    if (first_ != nullptr)
        abort_destroyed_while_waited(owner_, first_->greenlet, size_ - 1);
#endif
    if (self_)
        *self_ = nullptr;
}

std::shared_ptr<WaitQueue*> WaitQueue::handle()
{
    if (!self_)
        self_ = std::make_shared<WaitQueue*>(this);
    return self_;
}

void WaitQueue::append(Waiter& waiter) noexcept
{
    waiter.previous = last_;
    waiter.next = nullptr;
    if (last_ != nullptr)
        last_->next = &waiter;
    else
        first_ = &waiter;
    last_ = &waiter;
    waiter.in_line = true;
    ++size_;
}

void WaitQueue::remove(Waiter& waiter) noexcept
{
    if (!waiter.in_line)
        return;
    (waiter.previous != nullptr ? waiter.previous->next : first_) = waiter.next;
    (waiter.next != nullptr ? waiter.next->previous : last_) = waiter.previous;
    waiter.in_line = false;
    --size_;
}

bool in_hub() noexcept
{
    Hub* hub = Hub::existing();
    return hub != nullptr && &Greenlet::current() == &hub->greenlet();
}

WaitQueue::Woken WaitQueue::park(std::optional<Seconds> timeout)
{
    // A line holds the green threads of one hub: a waiter from another
    // thread would be woken through the wrong hub, or by nobody.
    if (held_by_another_thread()) [[unlikely]]
        throw_wrong_thread("waited on");
    auto& hub = HubInternals::impl(Hub::current());
    Waiter waiter{&hub.blockable_current()};
    append(waiter);
    // The timeout's wake-up lives on this stack, beside the waiter: a timed
    // park allocates nothing. Both go before this call returns, and the
    // queue may not be destroyed while anyone waits on it.
    struct TimeoutWake : TimerNode {
        TimeoutWake(WaitQueue& queue, Waiter& waiter) noexcept
            : TimerNode(&fire), queue(queue), waiter(waiter)
        {
        }
        static void fire(TimerNode& node, TimerEvent event)
        {
            auto& wake = static_cast<TimeoutWake&>(node);
            if (event == TimerEvent::dropped || !wake.waiter.in_line)
                return; // a notification got there first
            wake.queue.remove(wake.waiter);
            wake.waiter.timed_out = true;
            wake.waiter.greenlet->switch_to();
        }
        WaitQueue& queue;
        Waiter& waiter;
    } timer{*this, waiter};
    // Whatever ends the park (a wake-up, an exception thrown in, a push that
    // throws), the waiter must leave the line and its timeout the hub's queue.
    struct Leave {
        WaitQueue& queue;
        Waiter& waiter;
        TimerNode& timer;
        ~Leave()
        {
            if (timer.queue != nullptr)
                timer.queue->remove(timer);
            queue.remove(waiter);
        }
    } leave{*this, waiter, timer};
    if (timeout)
        hub.timers.push(timer, timeout->to_steady());
    hub.park_current();
    return waiter.timed_out ? Woken::timed_out : Woken::notified;
}

WaitQueue::Woken WaitQueue::park(const Deadline& deadline)
{
    if (deadline.expired())
        return Woken::timed_out;
    return park(deadline.remaining());
}

void WaitQueue::deliver()
{
    --pending_;
    Waiter* first = first_;
    if (first == nullptr)
        return;
    remove(*first);
    first->greenlet->switch_to();
}

bool WaitQueue::held_by_another_thread() const noexcept
{
    // Every waiter in line belongs to the first one's thread: park() lets
    // no other in.
    return first_ != nullptr && !GreenletInternals::on_this_thread(*first_->greenlet);
}

void WaitQueue::throw_wrong_thread(const char* verb) const
{
    throw std::logic_error(std::string(owner_) + " " + verb + " from another OS thread than its waiters' "
                           "(hand the call to their hub with a HubHandle, or use a SharedQueue)");
}

void WaitQueue::check_notifier() const
{
    // A wake-up goes through the hub of the thread that notifies: from
    // another thread than the waiters', it would wake nobody.
    if (held_by_another_thread())
        throw_wrong_thread("notified");
}

void WaitQueue::notify_one()
{
    if (empty())
        return;
    check_notifier();
    Hub::current().schedule_call(0, [self = handle()] {
        if (*self != nullptr)
            (*self)->deliver();
    });
    ++pending_;
}

void WaitQueue::notify_all()
{
    for (std::size_t i = 0; i < size_; ++i)
        notify_one();
}

} // namespace eventlet::detail
