// Private: the small pool of OS threads that run name lookups for resolve().
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "eventlet/address.hpp"
#include "eventlet/greenlet.hpp"
#include "eventlet/hub.hpp"

namespace eventlet::detail {

/// One name to look up for a green thread parked in resolve().
struct Lookup {
    Lookup(std::string host, std::uint16_t port, Hub& hub);

    const std::string host;
    const std::uint16_t port;
    Hub& hub;
    // The hub's thread only: the green thread to wake, null once it left.
    Greenlet* waiter = nullptr;

    // The rest is shared with the lookup threads, under their lock.
    enum class Stage { queued, running, done, abandoned };
    Stage stage = Stage::queued;
    std::vector<Address> found;
    std::exception_ptr error;
    // Counts as work for the hub's loop until the result is posted back,
    // so that a hub whose green threads all wait on lookups is not taken
    // for deadlocked.
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
};

/// Puts `lookup` in line for the next free lookup thread; when it is done,
/// wakes its waiter at the hub's next turn.
void submit(const std::shared_ptr<Lookup>& lookup);

/// The waiter leaves (woken, timed out or killed): a lookup still in line
/// is dropped from it without running, and the result of one running now
/// is dropped when it comes. Called on the hub's thread.
void abandon(Lookup& lookup) noexcept;

/// The result of a lookup whose waiter was woken.
/// \returns the addresses found. \throws what the lookup threw.
std::vector<Address> take_result(Lookup& lookup);

} // namespace eventlet::detail
