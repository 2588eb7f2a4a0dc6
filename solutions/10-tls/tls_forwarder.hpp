/// \file
/// TlsForwarder: TLS in front of a plain TCP service, as the handler of a
/// TLS eventlet::Server. The reference solution of exercise 10.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <eventlet/address.hpp>
#include <eventlet/errors.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/queue.hpp>
#include <eventlet/seconds.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/socket_errors.hpp>

namespace exercise {

/// Puts TLS in front of a plain TCP service, as stunnel or nginx's stream
/// module do: each client of a TLS Server gets a connection of its own to
/// the backend, and the bytes go both ways, decrypted on the way in and
/// encrypted on the way out. The Server runs the handshake; handle() does
/// the rest.
///
///     exercise::TlsForwarder forwarder({"127.0.0.1", 6000});
///     eventlet::Server server(eventlet::listen({"0.0.0.0", 6443}), 1000,
///                             eventlet::tls::Context::server("cert.pem", "key.pem"));
///     server.serve([&forwarder](eventlet::GreenSocket& client, const eventlet::Address& peer) {
///         forwarder.handle(client, peer);
///     });
class TlsForwarder {
public:
    /// The most bytes one recv() takes, in either direction.
    static constexpr std::size_t chunk_size = 16 * 1024;

    /// A forwarder to `backend`, a plain TCP service. A connection to it
    /// that is not made within `connect_timeout` ends the client's.
    explicit TlsForwarder(eventlet::Address backend, eventlet::Seconds connect_timeout = 5)
        : backend_(std::move(backend)), connect_timeout_(connect_timeout)
    {
    }

    /// Serves one client, whose handshake is done: connects to the backend
    /// and forwards both directions at once, one green thread (a pump) for
    /// each, until both streams have ended. The end of one stream is passed
    /// on as the end of the other: the client's close_notify becomes the
    /// backend's end of file, and the backend's end of file becomes
    /// close_notify. A failure on either side (a reset, a client that cuts
    /// its stream, a backend that refuses or does not answer within the
    /// connect timeout) ends both connections. Parks until then.
    ///
    /// When it returns, by any path, no pump is left running.
    /// \throws nothing that ends a connection (SocketError, IOTimeout,
    ///         IOClosed): the Server would report it as a fault of the
    ///         handler. A kill (GreenletExit) goes through.
    void handle(eventlet::GreenSocket& client, const eventlet::Address& peer);

    /// Pumps running now, over every connection: two per connection being
    /// forwarded, none once every handle() has returned.
    std::size_t pumps() const noexcept { return pumps_; }

    /// Where the forwarder connects.
    const eventlet::Address& backend() const noexcept { return backend_; }

private:
    // Carries one direction, from `from` to `to`, until `from`'s stream
    // ends (true: the end was passed on) or a socket fails (false).
    bool pump(eventlet::GreenSocket& from, eventlet::GreenSocket& to);

    eventlet::Address backend_;
    eventlet::Seconds connect_timeout_;
    std::size_t pumps_ = 0;
};

inline void TlsForwarder::handle(eventlet::GreenSocket& client, const eventlet::Address&)
{
    eventlet::GreenSocket backend;
    // A backend that refuses or does not answer is no fault of this
    // handler: the client's connection just ends (the Server closes it).
    try {
        backend = eventlet::connect(backend_, connect_timeout_);
    } catch (const eventlet::SocketError&) {
        return;
    } catch (const eventlet::IOTimeout&) { // not a SocketError
        return;
    }

    // Each pump puts here how its direction ended: true for the end of its
    // stream, passed on; false for a failure.
    eventlet::Queue<bool> ended;
    eventlet::GreenThread<void> upstream, downstream;
    // One green thread per direction: each parks in its own recv(), so
    // neither side waits for the other to speak first.
    upstream = eventlet::spawn([&] { ended.put(pump(client, backend)); });
    downstream = eventlet::spawn([&] { ended.put(pump(backend, client)); });
    // The pumps use `backend`, `client` and `ended`, which go when handle()
    // returns: however it returns, both pumps end first. kill() runs the
    // pump at once, and it unwinds out of its recv() or sendall() before
    // kill() returns; killing a pump that has ended does nothing.
    struct Stop {
        eventlet::GreenThread<void>& upstream;
        eventlet::GreenThread<void>& downstream;
        ~Stop()
        {
            upstream.kill();
            downstream.kill();
        }
    } stop{upstream, downstream};

    // Both ends passed on: the connection is done. A failure: the other
    // direction may be parked for ever (a silent backend, a client waiting
    // for an answer that will not come), so stop waits no longer.
    if (ended.get())
        ended.get();
}

inline bool TlsForwarder::pump(eventlet::GreenSocket& from, eventlet::GreenSocket& to)
{
    ++pumps_;
    struct Count {
        std::size_t& pumps;
        ~Count() { --pumps; }
    } count{pumps_};
    std::vector<char> buffer(chunk_size); // on the heap: OpenSSL shares the stack
    try {
        while (const std::size_t n = from.recv(std::span<char>(buffer)))
            to.sendall(std::string_view(buffer.data(), n));
        // The end of `from`'s stream, and only that direction: the other
        // side may still be sending. On the TLS socket, close_notify.
        to.shutdown(eventlet::Shutdown::write);
        return true;
    } catch (const eventlet::SocketError&) {
        // ConnectionReset, BrokenPipe, tls::Truncated (the client's stream
        // cut without close_notify): every TLS error is a SocketError.
        return false;
    } catch (const eventlet::IOClosed&) {
        return false;
    }
}

} // namespace exercise
