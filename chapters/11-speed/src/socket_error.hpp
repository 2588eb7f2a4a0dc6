// Private: the exception of a failed socket call, by its errno.
#pragma once

#include <string>

namespace eventlet::detail {

/// Throws the SocketError for `error` (an errno): ConnectionRefused,
/// ConnectionReset and BrokenPipe for the errors a user handles apart.
[[noreturn]] void throw_socket_error(int error, const std::string& what);

} // namespace eventlet::detail
