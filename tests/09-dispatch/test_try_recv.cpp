// Chapter 9: GreenSocket::try_recv, the read that never parks, which the
// server uses to set a Timeout only when a read must wait.
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/socket_errors.hpp>

#include <sys/socket.h>

#include <array>
#include <optional>
#include <string_view>

#include "../support/net_helpers.hpp"

using test_support::connect_pair;

TEST_CASE("try_recv returns nullopt where recv would wait, and never parks", "[socket][try_recv]")
{
    auto [client, server] = connect_pair();
    std::array<char, 16> buffer{};
    // Called from the main greenlet with nothing else to run: a park here
    // would end in Deadlock, not in a return.
    CHECK_FALSE(server.try_recv(buffer).has_value());
    // Not even a zero timeout turns it into an error: it does not wait.
    server.set_timeout(0);
    CHECK_FALSE(server.try_recv(buffer).has_value());
}

TEST_CASE("try_recv returns what is there, and 0 at the end of the stream", "[socket][try_recv]")
{
    auto [client, server] = connect_pair();
    client.sendall("abc");
    std::array<char, 16> buffer{};
    // On the loopback, sent means arrived.
    const auto received = server.try_recv(buffer);
    REQUIRE(received.has_value());
    CHECK(std::string_view(buffer.data(), *received) == "abc");
    CHECK_FALSE(server.try_recv(buffer).has_value());
    client.shutdown(eventlet::Shutdown::write);
    CHECK(server.try_recv(buffer) == std::optional<std::size_t>(0));
}

TEST_CASE("try_recv throws what recv throws", "[socket][try_recv]")
{
    std::array<char, 16> buffer{};
    SECTION("a reset connection")
    {
        auto [client, server] = connect_pair();
        // SO_LINGER with a zero timeout: close sends RST instead of FIN.
        const ::linger reset{1, 0};
        REQUIRE(::setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset) == 0);
        client.close();
        CHECK_THROWS_AS(server.try_recv(buffer), eventlet::ConnectionReset);
    }
    SECTION("a closed socket")
    {
        auto [client, server] = connect_pair();
        server.close();
        CHECK_THROWS_AS(server.try_recv(buffer), eventlet::SocketError);
    }
}
