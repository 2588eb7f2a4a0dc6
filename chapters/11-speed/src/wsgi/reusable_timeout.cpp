// One timer for the waits of a green thread: each wait writes down its
// deadline; the timer, when it fires, decides.
#include "wsgi/reusable_timeout.hpp"

#include <exception>
#include <stdexcept>

#include "eventlet/errors.hpp"
#include "eventlet/hub.hpp"

namespace eventlet::detail {

ReusableTimeout::Wait ReusableTimeout::start(std::optional<Seconds> limit)
{
    expired_ = false;
    if (limit) {
        Greenlet& current = Greenlet::current();
        if (&current == &Hub::current().greenlet())
            throw std::logic_error("a timeout cannot be used inside the hub: there is nothing to interrupt");
        deadline_ = Clock::now() + limit->to_steady();
        // A timer due later than this deadline would fire too late for it.
        if (!timer_.pending() || timer_due_ > deadline_)
            set_timer(deadline_);
        waiter_ = &current; // last: nothing after it can throw
    }
    return Wait(*this);
}

void ReusableTimeout::set_timer(Clock::time_point due)
{
    timer_.cancel();
    timer_ = Hub::current().schedule_call(Seconds(due - Clock::now()), [this] { on_timer(); });
    timer_due_ = due;
}

void ReusableTimeout::on_timer()
{
    if (waiter_ == nullptr)
        return; // no wait under way: the next one sets the timer again
    if (Clock::now() < deadline_) {
        set_timer(deadline_); // a later wait, with time left
        return;
    }
    expired_ = true;
    waiter_->throw_in(std::make_exception_ptr(TimeoutError("the wait exceeded its limit")));
}

} // namespace eventlet::detail
