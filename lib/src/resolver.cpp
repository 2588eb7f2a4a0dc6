// Resolving names off the hub, on the lookup threads.
#include "eventlet/resolver.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include "eventlet/hub.hpp"
#include "eventlet/hub_handle.hpp"
#include "eventlet/timeout.hpp"
#include "lookup_threads.hpp"
#include "seconds_text.hpp"

namespace eventlet {

std::vector<Address> resolve(const Address& where, std::optional<Seconds> timeout)
{
    if (where.is_numeric())
        return {where};
    Hub& hub = Hub::current();
    if (&Greenlet::current() == &hub.greenlet())
        throw std::logic_error("cannot resolve a name inside the hub: a hub callback must not wait");

    // Shared with the lookup thread, which outlives this call when the
    // green thread leaves early (killed, timed out): a getaddrinfo() in
    // progress cannot be stopped, only its result dropped.
    auto lookup = std::make_shared<detail::Lookup>(where.host(), where.port(), hub.handle());
    lookup->waiter = &Greenlet::current();
    // The result comes from a lookup thread: a hub whose green threads all
    // wait on lookups must wait for it, not raise Deadlock.
    const ExpectPosts expecting;
    struct StopWaiting {
        detail::Lookup& lookup;
        ~StopWaiting() { detail::abandon(lookup); }
    } stop_waiting{*lookup};

    Timeout limit(timeout);
    detail::submit(lookup);
    try {
        hub.switch_to();
    } catch (const TimeoutError&) {
        if (!limit.expired())
            throw; // somebody else's Timeout
        throw IOTimeout("resolving '" + where.host() + "' timed out after " +
                           detail::seconds_text(*timeout) + " s");
    }
    std::vector<Address> found = detail::take_result(*lookup);
    if (found.empty())
        throw ResolveError(std::make_error_code(std::errc::address_not_available),
                           "'" + where.host() + "' has no address");
    return found;
}

} // namespace eventlet
