// Green threads that wait for other OS threads.
#include "eventlet/detail/remote_waiter.hpp"
#include "eventlet/detail/shared_wait_line.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "eventlet/hub.hpp"
#include "hub_impl.hpp"
#include "report.hpp"

namespace eventlet::detail {

std::shared_ptr<RemoteWaiter> RemoteWaiter::for_current()
{
    Hub& hub = Hub::current();
    Greenlet& current = Greenlet::current();
    if (&current == &hub.greenlet())
        throw std::logic_error("cannot wait for another thread inside the hub: a hub callback must "
                               "not wait");
    return std::make_shared<RemoteWaiter>(Key{}, hub.handle(), current);
}

RemoteWaiter::RemoteWaiter(Key, HubHandle hub, Greenlet& greenlet) noexcept
    : hub_(std::move(hub)), greenlet_(greenlet)
{
}

bool RemoteWaiter::park(const Deadline& deadline)
{
    if (deadline.expired())
        return false;
    Hub& hub = Hub::current();
    // Without it, a hub whose green threads all wait on other OS threads
    // would find nothing that could wake anyone, and raise Deadlock.
    const ExpectPosts expecting;
    TimerHandle timer;
    if (const auto left = deadline.remaining()) {
        timer = hub.schedule_call(*left, [this] {
            if (!parked_)
                return; // a wake-up got there first
            parked_ = false;
            timed_out_ = true;
            greenlet_.switch_to();
        });
    }
    CancelOnExit cancel_timer(timer);
    timed_out_ = false;
    parked_ = true;
    // However the park ends (woken, timed out, an exception thrown in), a
    // wake-up still on its way must find the green thread gone.
    struct Unpark {
        bool& parked;
        ~Unpark() { parked = false; }
    } unpark{parked_};
    hub.switch_to();
    return !timed_out_;
}

void RemoteWaiter::wake() noexcept
{
    try {
        hub_.post([self = shared_from_this()] {
            if (!self->parked_)
                return; // it left: timed out, or unwound
            self->parked_ = false;
            self->greenlet_.switch_to();
        });
    } catch (...) {
        report_current_exception("a wake-up from another thread");
    }
}

SharedWaitLine::~SharedWaitLine()
{
#if !defined(NDEBUG) || defined(__SANITIZE_ADDRESS__)
    // As in ~WaitQueue(): no exception can leave a destructor, and the
    // parked green threads would go on into freed memory.
    if (first_ != nullptr)
        abort_destroyed_while_waited(owner_, &first_->waiter->greenlet(), size_ - 1);
#endif
}

void abort_destroyed_in_use(const char* owner, std::size_t calls) noexcept
{
    fatal_misuse(std::string(owner) + " was destroyed while " + std::to_string(calls) +
                 (calls == 1 ? " call of get() or put() was" : " calls of get() or put() were") +
                 " under way: a green thread woken for an item or for room "
                 "had not run again yet, and would lock the freed queue when it did (destroy it "
                 "once every thread that uses it is done with it)");
}

bool SharedWaitLine::wait(std::unique_lock<std::mutex>& lock, const Deadline& deadline)
{
    Entry entry{RemoteWaiter::for_current()};
    append(entry);
    bool returned = false;
    // The entry lives on this stack: however the wait ends, it leaves the
    // line, under the lock, before the frame goes.
    struct Leave {
        SharedWaitLine& line;
        Entry& entry;
        std::unique_lock<std::mutex>& lock;
        const bool& returned;
        ~Leave()
        {
            if (!lock.owns_lock())
                lock.lock();
            if (entry.in_line)
                line.remove(entry);
            else if (!returned)
                line.notify_one(); // notified, but leaving by an exception: pass it on
        }
    } leave{*this, entry, lock, returned};
    lock.unlock();
    entry.waiter->park(deadline);
    lock.lock();
    returned = true;
    return entry.notified;
}

void SharedWaitLine::notify_one() noexcept
{
    Entry* first = first_;
    if (first == nullptr)
        return;
    remove(*first);
    first->notified = true;
    first->waiter->wake();
}

void SharedWaitLine::notify_all() noexcept
{
    while (first_ != nullptr)
        notify_one();
}

void SharedWaitLine::append(Entry& entry) noexcept
{
    entry.previous = last_;
    entry.next = nullptr;
    if (last_ != nullptr)
        last_->next = &entry;
    else
        first_ = &entry;
    last_ = &entry;
    entry.in_line = true;
    ++size_;
}

void SharedWaitLine::remove(Entry& entry) noexcept
{
    if (!entry.in_line)
        return;
    (entry.previous != nullptr ? entry.previous->next : first_) = entry.next;
    (entry.next != nullptr ? entry.next->previous : last_) = entry.previous;
    entry.in_line = false;
    --size_;
}

} // namespace eventlet::detail
