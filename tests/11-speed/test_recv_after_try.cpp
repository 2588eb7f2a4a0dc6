// Chapter 11: a reader that has just tried and found nothing parks at once,
// instead of asking the kernel twice in a row.
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>

#include <optional>
#include <string>

#include "../support/net_helpers.hpp"

using test_support::connect_pair;

TEST_CASE("recv_after_try parks, then returns what arrives", "[socket][edge]")
{
    auto pair = connect_pair();
    char buffer[16];
    REQUIRE_FALSE(pair.server.try_recv(std::span<char>(buffer)).has_value());
    auto sender = eventlet::spawn([&pair] { pair.client.sendall("late"); });
    const std::size_t got = pair.server.recv_after_try(std::span<char>(buffer));
    CHECK(std::string(buffer, got) == "late");
    sender.wait();
}

TEST_CASE("recv_after_try returns 0 at the end of the stream", "[socket][edge]")
{
    auto pair = connect_pair();
    char buffer[16];
    REQUIRE_FALSE(pair.server.try_recv(std::span<char>(buffer)).has_value());
    auto closer = eventlet::spawn([&pair] { pair.client.close(); });
    CHECK(pair.server.recv_after_try(std::span<char>(buffer)) == 0);
    closer.wait();
}

TEST_CASE("recv_after_try keeps the socket's timeout", "[socket][edge]")
{
    auto pair = connect_pair();
    char buffer[16];
    REQUIRE_FALSE(pair.server.try_recv(std::span<char>(buffer)).has_value());
    pair.server.set_timeout(0.05);
    CHECK_THROWS_AS(pair.server.recv_after_try(std::span<char>(buffer)), eventlet::IOTimeout);
    // Nothing was lost: what comes next is read as usual.
    pair.client.sendall("after");
    pair.server.set_timeout(5);
    const std::size_t got = pair.server.recv(std::span<char>(buffer));
    CHECK(std::string(buffer, got) == "after");
}

TEST_CASE("recv_after_try into an empty buffer returns 0 without waiting", "[socket][edge]")
{
    auto pair = connect_pair();
    CHECK(pair.server.recv_after_try(std::span<char>()) == 0);
}

TEST_CASE("recv into an empty buffer returns 0 at once, even with nothing to read",
          "[socket]")
{
    auto pair = connect_pair();
    CHECK(pair.server.recv(std::span<char>()) == 0);
    CHECK(pair.server.recv(0).empty());
}
