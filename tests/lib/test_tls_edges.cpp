// TLS edges: a server name with a NUL byte.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tls.hpp>

#include <stdexcept>
#include <string_view>

#include "tls_pair.hpp"

namespace tls = eventlet::tls;
using namespace std::string_view_literals;

TEST_CASE("a server name holding a NUL byte is refused before anything is sent", "[tls]")
{
    eventlet::Timeout bound(10);
    auto [client, server] = test_support::connect_pair();
    const tls::Context server_side = tls_pair::server_context();
    // Were the name cut at the NUL, this handshake would pass as localhost.
    auto accepting = eventlet::spawn([&] { tls::start_server(server, server_side); });
    for (const std::string_view name : {"localhost\0.attacker.example"sv, "127.0.0.1\0.attacker.example"sv}) {
        CHECK_THROWS_AS(tls::start_client(client, name, tls_pair::trusting_client()), std::invalid_argument);
        CHECK_FALSE(client.is_tls());
    }
    accepting.kill(); // still waiting for a ClientHello
}
