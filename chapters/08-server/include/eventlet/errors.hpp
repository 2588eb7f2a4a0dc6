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

/// Thrown by a blocking call whose timeout expired before what it waited for.
class TimeoutError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Thrown in a green thread that waits on a descriptor when that descriptor
/// is closed (through notify_close()) under it.
class IOClosed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace eventlet
