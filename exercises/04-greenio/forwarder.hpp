/// \file
/// A green port forwarder: every connection accepted on a listener is
/// piped, both ways, to a new connection to a target. The exercise of
/// chapter 4: fill in the two gaps marked TODO(exercise); README.md says
/// what they must do.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>

namespace exercise {

/// Copies bytes from `from` to `to` until `from` ends its stream, then
/// shuts down writing on `to`, so that its peer sees the end of the stream
/// too (the half-close is passed on). Parks as recv() and sendall() do.
/// \returns the number of bytes copied.
/// \throws what recv() and sendall() throw (ConnectionReset, BrokenPipe...).
inline std::size_t pipe([[maybe_unused]] eventlet::GreenSocket& from,
                        [[maybe_unused]] eventlet::GreenSocket& to)
{
    // TODO(exercise): receive from `from` and send all of it to `to`, until
    // recv() says the stream ended (0); then pass the end on.
    return 0;
}

/// Serves one accepted connection: connects to `target`, then pipes both
/// ways until both directions have ended, and closes both sockets. A
/// target that cannot be reached closes the client's connection at once.
/// Throws nothing but GreenletExit (when killed): one connection's failure
/// must not end the forwarder.
inline void serve_connection([[maybe_unused]] eventlet::GreenSocket client,
                             [[maybe_unused]] eventlet::Address target)
{
    // TODO(exercise): connect to `target` (a failure ends this connection:
    // `client` closes on return), then pipe both ways at once, each way in
    // a green thread of its own. What must happen to the other direction
    // when one fails? And what must the sockets outlive before you return?
}

/// Accepts connections on `listener` and serves each in a green thread of
/// its own, forwarding it to `target`, until `listener` is closed.
/// \returns the number of connections accepted.
inline std::size_t forward(eventlet::GreenSocket& listener, const eventlet::Address& target)
{
    std::size_t accepted = 0;
    while (listener.is_open()) {
        try {
            eventlet::Accepted next = listener.accept();
            ++accepted;
            eventlet::spawn_n(serve_connection, std::move(next.socket), target);
        } catch (const eventlet::IOClosed&) {
            break; // closed by another green thread while we waited: stop
        }
    }
    return accepted;
}

} // namespace exercise
