/// \file
/// The errors a blocking call on the hub can end with.
#pragma once

#include <stdexcept>
#include <string>

/// Green threads for C++: greenlets, a hub, and everything built on them.
namespace eventlet {

/// Thrown by a blocking call when every green thread is waiting and the hub
/// has nothing left (no timer, no descriptor to watch, no callback) that
/// could ever wake one: waiting on would hang the process for ever.
/// gevent calls this LoopExit; Eventlet hangs.
class Deadlock : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Thrown by a Timeout scope whose time is up (Eventlet's `Timeout`), and the
/// base of IOTimeout, so that `catch (const TimeoutError&)` catches both.
///
/// It deliberately does not derive from `std::exception`, as GreenletExit
/// does not, and for the same reason Eventlet makes its Timeout a
/// BaseException: a handler's `catch (const std::exception&)` inside the
/// scope must not swallow the limit an outer scope set, or that limit would
/// be silently lost. Catch it by name, or let it reach its scope.
class TimeoutError {
public:
    /// An error that says `message`.
    explicit TimeoutError(const std::string& message) : message_(message) {}
    virtual ~TimeoutError() = default;
    /// What timed out, and after how long.
    virtual const char* what() const noexcept { return message_.what(); }

private:
    // Its reference-counted string: copying the error never throws.
    std::runtime_error message_;
};

/// Thrown by a blocking call whose own timeout expired before what it waited
/// for (a descriptor, a socket's recv, a name lookup): Python's
/// `socket.timeout`, an ordinary error that `catch (const std::exception&)`
/// catches, unlike a Timeout scope's TimeoutError. Not a SocketError (where
/// Python's `socket.timeout` is an OSError): a loop that ends on
/// `catch (const SocketError&)` catches IOTimeout and IOClosed apart.
class IOTimeout : public std::runtime_error, public TimeoutError {
public:
    /// An error that says `message`.
    explicit IOTimeout(const std::string& message)
        : std::runtime_error(message), TimeoutError(message)
    {
    }
    /// What timed out, and after how long.
    const char* what() const noexcept override { return std::runtime_error::what(); }
};

/// Thrown in a green thread that waits on a descriptor when that descriptor
/// is closed (through notify_close()) under it. Not a SocketError, as
/// IOTimeout is not.
class IOClosed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace eventlet
