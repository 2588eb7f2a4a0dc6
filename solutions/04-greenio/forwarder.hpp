/// \file
/// A green port forwarder: every connection accepted on a listener is
/// piped, both ways, to a new connection to a target. The exercise of
/// chapter 4; README.md says what each part must do.
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
inline std::size_t pipe(eventlet::GreenSocket& from, eventlet::GreenSocket& to)
{
    std::vector<std::byte> buffer(64 * 1024);
    std::size_t copied = 0;
    for (std::size_t n; (n = from.recv(std::span(buffer))) > 0; copied += n)
        to.sendall(std::span(buffer).first(n));
    to.shutdown(eventlet::Shutdown::write);
    return copied;
}

/// Serves one accepted connection: connects to `target`, then pipes both
/// ways until both directions have ended, and closes both sockets. A
/// target that cannot be reached closes the client's connection at once.
/// Throws nothing but GreenletExit (when killed): one connection's failure
/// must not end the forwarder.
inline void serve_connection(eventlet::GreenSocket client, eventlet::Address target)
{
    eventlet::GreenSocket upstream;
    try {
        upstream = eventlet::connect(target, 10);
    } catch (const std::exception&) {
        return; // refused, unreachable, timed out: `client` closes on return
    }
    // A direction that fails ends the whole connection: closing both
    // sockets wakes the other direction, wherever it is parked, with IOClosed.
    auto one_way = [&](eventlet::GreenSocket& from, eventlet::GreenSocket& to) {
        try {
            pipe(from, to);
        } catch (const std::exception&) {
            client.close();
            upstream.close();
        }
    };
    // Each direction parks on its own socket: one green thread each, so
    // that neither waits for the other.
    auto up = eventlet::spawn(one_way, std::ref(client), std::ref(upstream));
    one_way(upstream, client);
    up.wait(); // it refers to our sockets: they must outlive it
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
