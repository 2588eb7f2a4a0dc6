#include "eventlet/timeout.hpp"

#include <sstream>
#include <stdexcept>
#include <string>

#include "eventlet/hub.hpp"

namespace eventlet {

Timeout::Timeout(std::optional<Seconds> seconds)
{
    if (!seconds)
        return;
    Hub& hub = Hub::current();
    Greenlet& target = Greenlet::current();
    if (&target == &hub.greenlet())
        throw std::logic_error("a Timeout cannot be used inside the hub: there is nothing to interrupt");
    std::ostringstream message_text;
    message_text << "timed out after " << seconds->count() << " s";
    std::string message = message_text.str();
    timer_ = hub.schedule_call(*seconds, [this, &target, message = std::move(message)] {
        expired_ = true;
        target.throw_in(std::make_exception_ptr(TimeoutError(message)));
    });
}

Timeout::~Timeout() { cancel(); }

void Timeout::cancel() noexcept { timer_.cancel(); }

bool Timeout::pending() const noexcept { return timer_.pending(); }

} // namespace eventlet
