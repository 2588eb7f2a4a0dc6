// Private: the small pool of OS threads that run name lookups for resolve().
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "eventlet/address.hpp"
#include "eventlet/greenlet.hpp"
#include "eventlet/hub_handle.hpp"

namespace eventlet::detail {

/// One name to look up for a green thread parked in resolve().
struct Lookup {
    Lookup(std::string host, std::uint16_t port, HubHandle hub);

    const std::string host;
    const std::uint16_t port;
    // The waiter's hub, reached through its handle: the waiter's OS thread
    // may exit while the waiter is parked, its hub with it, before the
    // lookup ends; the result is then dropped.
    const HubHandle hub;
    // The hub's thread only: the green thread to wake, null once it left.
    Greenlet* waiter = nullptr;

    // The rest is shared with the lookup threads, under their lock.
    enum class Stage { queued, running, done, abandoned };
    Stage stage = Stage::queued;
    std::vector<Address> found;
    std::exception_ptr error;
};

/// Puts `lookup` in line for the next free lookup thread; when it is done,
/// wakes its waiter at the hub's next turns (HubHandle::post()), if the hub
/// is still there. The waiter keeps an ExpectPosts meanwhile.
void submit(const std::shared_ptr<Lookup>& lookup);

/// The waiter leaves (woken, timed out or killed): a lookup still in line
/// is dropped from it without running, and the result of one running now
/// is dropped when it comes. Called on the hub's thread.
void abandon(Lookup& lookup) noexcept;

/// The result of a lookup whose waiter was woken.
/// \returns the addresses found. \throws what the lookup threw.
std::vector<Address> take_result(Lookup& lookup);

} // namespace eventlet::detail
