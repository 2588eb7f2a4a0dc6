// Test support for tests/lib's TLS tests: the test certificates' contexts,
// and both ends of a connection with TLS running.
#pragma once

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/tls.hpp>

#include <string>

#include "../10-tls/certificates.hpp"
#include "../support/net_helpers.hpp"

namespace tls_pair {

/// A client Context that trusts the test CA.
inline eventlet::tls::Context trusting_client()
{
    return eventlet::tls::Context::client({.ca_file = tls_test::Certificates::get().ca});
}

/// A server Context with the CA's certificate for localhost.
inline eventlet::tls::Context server_context()
{
    const auto& files = tls_test::Certificates::get();
    return eventlet::tls::Context::server(files.server_certificate, files.server_key);
}

/// Both ends of a connection.
struct Pair {
    eventlet::GreenSocket client; ///< the connecting end
    eventlet::GreenSocket server; ///< the accepted end
};

/// A connection with TLS running on both ends (5 s timeouts): the server's
/// handshake in a green thread of its own, since it must run while the
/// client's waits.
inline Pair handshaken()
{
    auto [client, server] = test_support::connect_pair();
    client.set_timeout(5);
    server.set_timeout(5);
    const eventlet::tls::Context server_side = server_context();
    auto accepting = eventlet::spawn([&server, &server_side] { eventlet::tls::start_server(server, server_side); });
    try {
        eventlet::tls::start_client(client, "localhost", trusting_client());
    } catch (...) {
        accepting.kill(); // before `server` goes, while the green thread waits on it
        throw;
    }
    accepting.wait();
    return {std::move(client), std::move(server)};
}

/// Lets the hub run until a green thread parks on `fd` (it was spawned to).
inline void until_parked_on(int fd)
{
    while (!eventlet::Hub::current().waited_on(fd))
        eventlet::sleep(0);
}

} // namespace tls_pair
