// A green thread parked in a call on a GreenSocket holds the socket's
// address. When the socket is moved (a vector of sockets that grows), the
// waiter is woken with IOClosed instead of resuming into an object that no
// longer holds it, or no longer exists; the socket goes on in its new place.
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <sys/socket.h>

#include <string>
#include <utility>
#include <vector>

namespace {

std::pair<eventlet::GreenSocket, eventlet::GreenSocket> socket_pair()
{
    int ends[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) == 0);
    return {eventlet::GreenSocket::adopt(ends[0]), eventlet::GreenSocket::adopt(ends[1])};
}

} // namespace

TEST_CASE("moving a socket wakes the green thread parked on it with IOClosed; the socket lives on",
          "[socket]")
{
    eventlet::Timeout bound(5); // a waiter left parked would wait for ever
    auto [near, far] = socket_pair();
    std::vector<eventlet::GreenSocket> sockets;
    sockets.push_back(std::move(near));
    std::string outcome;
    auto reader = eventlet::spawn([&sockets, &outcome] {
        char buffer[16];
        try {
            sockets[0].recv(std::span<char>(buffer));
            outcome = "received";
        } catch (const eventlet::IOClosed& error) {
            outcome = error.what();
        }
    });
    eventlet::sleep(0); // the reader parks in recv()
    SECTION("by a vector that grows")
    {
        sockets.reserve(sockets.capacity() + 8);
    }
    SECTION("by move assignment")
    {
        eventlet::GreenSocket elsewhere;
        elsewhere = std::move(sockets[0]);
        sockets[0] = std::move(elsewhere);
    }
    reader.wait();
    CHECK_THAT(outcome, Catch::Contains("moved away"));
    far.sendall(std::string_view("hello"));
    char buffer[16];
    CHECK(sockets[0].recv(std::span<char>(buffer)) == 5);
}

TEST_CASE("moving a socket nobody waits on keeps its registration and its waits", "[socket]")
{
    auto [near, far] = socket_pair();
    char buffer[16];
    far.sendall(std::string_view("one"));
    CHECK(near.recv(std::span<char>(buffer)) == 3);
    eventlet::GreenSocket moved = std::move(near);
    auto writer = eventlet::spawn([&far] { far.sendall(std::string_view("two")); });
    CHECK(moved.recv(std::span<char>(buffer)) == 3); // parks until the writer runs
    writer.wait();
}
