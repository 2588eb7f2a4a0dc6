#include "eventlet/timeout.hpp"

#include <stdexcept>
#include <string>

#include "eventlet/hub.hpp"
#include "seconds_text.hpp"
#include "thread_state.hpp"

namespace eventlet {
namespace {

// Made when the timeout fires, not when it is set: most timeouts are
// cancelled, and formatting a number for each (a stream, a locale) cost
// more than setting its timer.
std::string message_for(Seconds span)
{
    return "timed out after " + detail::seconds_text(span) + " s";
}

} // namespace

Timeout::Timeout(std::optional<Seconds> seconds)
{
    if (!seconds)
        return;
    Hub& hub = Hub::current();
    Greenlet& target = Greenlet::current();
    if (&target == &hub.greenlet())
        throw std::logic_error("a Timeout cannot be used inside the hub: there is nothing to interrupt");
    // The callback cannot outlive this object (the destructor cancels it),
    // but this object may outlive its green thread, kept beyond its scope:
    // then its time finds nobody to interrupt, not a freed greenlet.
    timer_ = hub.schedule_call(*seconds, [this, &target, alive = target.lifetime(),
                                          span = *seconds] {
        // Parked in a destructor while an exception unwinds it: a second
        // exception thrown there would end the process (as kill() knows).
        if (alive.expired() || target.dead() ||
            detail::GreenletInternals::suspended_unwinding(target))
            return;
        expired_ = true;
        target.throw_in(std::make_exception_ptr(TimeoutError(message_for(span))));
    });
}

Timeout::~Timeout() { cancel(); }

void Timeout::cancel() noexcept { timer_.cancel(); }

bool Timeout::pending() const noexcept { return timer_.pending(); }

} // namespace eventlet
