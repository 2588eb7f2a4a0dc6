/// \file
/// The errors a green socket call can end with, besides IOTimeout and IOClosed.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace eventlet {

/// A socket call failed in the operating system; code() holds the errno
/// (Python's OSError). The common cases have classes of their own below.
class SocketError : public std::system_error {
public:
    using std::system_error::system_error;
};

/// The peer refused the connection: nothing listens on that port (ECONNREFUSED).
class ConnectionRefused : public SocketError {
public:
    using SocketError::SocketError;
};

/// The peer reset the connection: it closed abruptly, or it closed with
/// unread data in its buffer (ECONNRESET).
class ConnectionReset : public SocketError {
public:
    using SocketError::SocketError;
};

/// Sending to a connection that can no longer carry data: the peer is
/// gone, or this side shut down writing (EPIPE). Never a SIGPIPE.
class BrokenPipe : public SocketError {
public:
    using SocketError::SocketError;
};

/// A host name could not be resolved (Python's socket.gaierror); code()
/// holds the resolver's error, in Asio's netdb or addrinfo category.
class ResolveError : public SocketError {
public:
    using SocketError::SocketError;
};

/// An address that cannot be parsed or used: "127.0.0.1" without a port,
/// "[::1" without its bracket, a port above 65535, "300.1.2.3".
class AddressError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

} // namespace eventlet
