// A descriptor closed under its socket by a raw close(), which the hub never
// hears of, and its number handed out again by the system to a new socket:
// the new socket works, and a green thread still parked on the old one
// wakes with IOClosed (Eventlet's notify_opened), instead of the new socket
// inheriting the old one's registration and waiting for ever.
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <unistd.h>

#include <string>

namespace {

// Closes `socket`'s descriptor behind its back, then opens a listener,
// which the system gives the lowest free number: the one just closed.
// (The old socket still holds the number: the test releases it at its end,
// which tells the hub too, so not before the listener has been used.)
eventlet::GreenSocket listener_on_number_of(eventlet::GreenSocket& socket)
{
    const int number = socket.fd();
    ::close(number);
    eventlet::GreenSocket listener = eventlet::listen({"127.0.0.1", 0});
    REQUIRE(listener.fd() == number);
    return listener;
}

// The listener takes a connection, waiting for it in accept(): it does not
// wait through a registration of the descriptor that had its number before.
void check_accepts(eventlet::GreenSocket& listener)
{
    auto acceptor = eventlet::spawn([&] { return listener.accept().socket.recv(std::size_t{4}); });
    eventlet::sleep(0); // the acceptor parks in accept()
    auto client = eventlet::connect(listener.local_address());
    client.sendall(std::string_view("ping"));
    CHECK(acceptor.wait() == "ping");
}

} // namespace

TEST_CASE("a socket on a reused number accepts, and the old one's waiter gets IOClosed", "[socket]")
{
    eventlet::Timeout bound(5);
    auto listener = eventlet::listen({"127.0.0.1", 0});
    auto old = eventlet::connect(listener.local_address());
    auto old_peer = listener.accept().socket;
    auto reader = eventlet::spawn([&]() -> std::string {
        try {
            return old.recv(std::size_t{10});
        } catch (const eventlet::IOClosed&) {
            return "IOClosed";
        }
    });
    eventlet::sleep(0); // the reader runs, and parks in recv
    auto reused = listener_on_number_of(old);
    check_accepts(reused);
    CHECK(reader.wait() == "IOClosed");
    old.release(); // its number is the listener's: not its to close
}

TEST_CASE("a socket on a reused number accepts though the old one stayed registered after its waits",
          "[socket]")
{
    eventlet::Timeout bound(5);
    auto listener = eventlet::listen({"127.0.0.1", 0});
    auto old = eventlet::connect(listener.local_address());
    auto old_peer = listener.accept().socket;
    auto reader = eventlet::spawn([&] { return old.recv(std::size_t{10}); });
    eventlet::sleep(0); // parks: the hub registers the descriptor
    old_peer.sendall(std::string_view("data"));
    CHECK(reader.wait() == "data");
    auto reused = listener_on_number_of(old);
    check_accepts(reused);
    old.release();
}
