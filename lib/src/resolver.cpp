// Resolving names off the hub, with Asio's resolver.
#include "eventlet/resolver.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include <asio/ip/tcp.hpp>

#include "eventlet/hub.hpp"
#include "eventlet/timeout.hpp"

namespace eventlet {

std::vector<Address> resolve(const Address& where, std::optional<Seconds> timeout)
{
    if (where.is_numeric())
        return {where};
    Hub& hub = Hub::current();
    if (&Greenlet::current() == &hub.greenlet())
        throw std::logic_error("cannot resolve a name inside the hub: a hub callback must not wait");

    // Shared with the completion handler, which outlives this call when the
    // green thread leaves early (killed, timed out): the lookup itself
    // cannot be stopped once its thread is inside getaddrinfo().
    struct Lookup {
        Greenlet* waiter; // null once nobody waits
        bool done = false;
        std::error_code error;
        std::vector<Address> found;
    };
    auto lookup = std::make_shared<Lookup>();
    lookup->waiter = &Greenlet::current();
    struct StopWaiting {
        Lookup& lookup;
        ~StopWaiting() { lookup.waiter = nullptr; }
    } stop_waiting{*lookup};

    Timeout limit(timeout);
    // Asio runs getaddrinfo() on a private thread and posts the handler
    // back to the hub's context. Until then the lookup counts as work, so
    // the hub does not mistake the wait for a deadlock. Declared after
    // stop_waiting, so that it is destroyed (and its lookup cancelled) first.
    asio::ip::tcp::resolver resolver(hub.io_context());
    resolver.async_resolve(
        where.host(), std::to_string(where.port()), asio::ip::tcp::resolver::numeric_service,
        [lookup, &hub](std::error_code error, asio::ip::tcp::resolver::results_type results) {
            lookup->done = true;
            lookup->error = error;
            if (!error) {
                for (const auto& entry : results)
                    lookup->found.emplace_back(entry.endpoint().address().to_string(),
                                               entry.endpoint().port());
            }
            // Through schedule_call, so that the switch runs where the hub
            // reports what escapes a callback, like every other wake-up.
            if (lookup->waiter != nullptr)
                hub.schedule_call(0, [lookup] {
                    if (lookup->waiter != nullptr)
                        lookup->waiter->switch_to();
                });
        });

    try {
        hub.switch_to();
    } catch (const TimeoutError&) {
        if (!limit.expired())
            throw; // somebody else's Timeout
        throw IOTimeout("resolving '" + where.host() + "' timed out after " +
                           std::to_string(timeout->count()) + " s");
    }
    if (!lookup->done)
        throw std::logic_error("a green thread resolving '" + where.host() +
                               "' was switched to before the lookup ended");
    if (lookup->error)
        throw ResolveError(lookup->error, "cannot resolve '" + where.host() + "'");
    if (lookup->found.empty())
        throw ResolveError(std::make_error_code(std::errc::address_not_available),
                           "'" + where.host() + "' has no address");
    return lookup->found;
}

} // namespace eventlet
