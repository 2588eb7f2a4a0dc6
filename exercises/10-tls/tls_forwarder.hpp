/// \file
/// TlsForwarder: TLS in front of a plain TCP service, as the handler of a
/// TLS eventlet::Server. The exercise of chapter 10: fill in the gaps marked
/// TODO(exercise); README.md says what they must do.
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
    // TODO(exercise): connect `backend` to backend_, giving up after
    // connect_timeout_. A backend that refuses, or does not answer in time,
    // is no fault of this handler: return, and the Server closes the
    // client. An exception escaping handle() would be reported on stderr.
    if (!backend.is_open())
        return;

    // Each pump puts here how its direction ended: true for the end of its
    // stream, passed on; false for a failure.
    eventlet::Queue<bool> ended;
    eventlet::GreenThread<void> upstream, downstream;
    // TODO(exercise): start the two pumps, each in a green thread of its
    // own (client to backend, backend to client), each putting what pump()
    // returns into `ended`. Why not one after the other in this green
    // thread? What if the backend speaks first?
    (void)client;

    // However handle() returns, both pumps must end first: they use
    // `backend`, `client` and `ended`, which go with this call.
    struct Stop {
        eventlet::GreenThread<void>& upstream;
        eventlet::GreenThread<void>& downstream;
        ~Stop()
        {
            // TODO(exercise): end both pumps, whatever they are doing.
        }
    } stop{upstream, downstream};

    // TODO(exercise): wait until the connection is done: both directions
    // ended, or one of them failed. After a failure, the other pump may be
    // parked for ever (a silent backend, a client waiting for an answer).
}

inline bool TlsForwarder::pump(eventlet::GreenSocket& from, eventlet::GreenSocket& to)
{
    ++pumps_;
    struct Count {
        std::size_t& pumps;
        ~Count() { --pumps; }
    } count{pumps_};
    std::vector<char> buffer(chunk_size); // on the heap: OpenSSL shares the stack
    // TODO(exercise): send what `from` receives to `to`, until the end of
    // `from`'s stream; then pass that end on to `to`, and only that
    // direction (with TLS, the end is close_notify). Return true then, and
    // false when a socket fails (ConnectionReset, tls::Truncated...); let a
    // kill (GreenletExit) through.
    (void)from;
    (void)to;
    return false;
}

} // namespace exercise
