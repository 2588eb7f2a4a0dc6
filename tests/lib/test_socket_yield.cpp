// A green thread that has moved its fair share of bytes without parking
// yields (a sleep(0)) at the start of its next recv() or send(), without
// parking on the hub. Whatever another green thread does to the socket
// meanwhile (closes, destroys, moves it away), the yielding one wakes with
// IOClosed, as a parked one does, and touches nothing of the socket (under
// AddressSanitizer, reading a destroyed one would stop the test).
#include <catch2/catch.hpp>

#include <eventlet/errors.hpp>
#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <sys/socket.h>

#include <exception>
#include <memory>
#include <string>
#include <utility>

namespace {

using eventlet::GreenSocket;

constexpr std::size_t share = GreenSocket::fair_share_bytes;

// Connected ends whose buffers hold more than a fair share, so that moving
// one never parks: the kernel takes it, or has it, at once. The near end is
// on the heap, so that a test can destroy it under its green thread.
std::pair<std::unique_ptr<GreenSocket>, GreenSocket> roomy_pair()
{
    int ends[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) == 0);
    auto near = std::make_unique<GreenSocket>(GreenSocket::adopt(ends[0]));
    GreenSocket far = GreenSocket::adopt(ends[1]);
    for (GreenSocket* end : {near.get(), &far}) {
        end->set_option(SOL_SOCKET, SO_SNDBUF, 1 << 20);
        end->set_option(SOL_SOCKET, SO_RCVBUF, 1 << 20);
    }
    return {std::move(near), std::move(far)};
}

// How `call` ended, as text Catch shows when it is not the expected one.
template <class Call>
std::string outcome_of(Call call)
{
    try {
        call();
        return "returned";
    } catch (const eventlet::IOClosed&) {
        return "IOClosed";
    } catch (const std::exception& error) {
        return std::string("other: ") + error.what();
    }
}

// Takes the socket away from the green thread yielding in a call on it, in
// one of three ways (each a SECTION), then returns what that green thread's
// call ended with. `yielding` is sent just before the call: its wake-up is
// queued before the yield's, so this runs while the other yields.
template <class Thread>
std::string take_away(std::unique_ptr<GreenSocket>& socket, eventlet::Event<>& yielding,
                      Thread& thread)
{
    yielding.wait();
    GreenSocket elsewhere;
    SECTION("closed")
    {
        socket->close();
    }
    SECTION("destroyed")
    {
        socket.reset();
    }
    SECTION("moved away")
    {
        elsewhere = std::move(*socket);
    }
    return thread.wait();
}

} // namespace

TEST_CASE("a reader yielding for fairness wakes with IOClosed when its socket is taken away",
          "[socket][yield]")
{
    eventlet::Timeout bound(5); // a reader left waiting would wait for ever
    auto [near, far] = roomy_pair();
    far.sendall(std::string(share + 16 * 1024, 'x'));
    eventlet::Event<> yielding;
    auto reader = eventlet::spawn([socket = near.get(), &yielding] {
        return outcome_of([socket, &yielding] {
            char buffer[16 * 1024];
            for (std::size_t total = 0; total < share;)
                total += socket->recv(std::span<char>(buffer)); // the data is there: never parks
            yielding.send();
            socket->recv(std::span<char>(buffer));
        });
    });
    CHECK(take_away(near, yielding, reader) == "IOClosed");
}

TEST_CASE("a sender yielding for fairness in sendall() wakes with IOClosed when its socket is "
          "taken away",
          "[socket][yield]")
{
    eventlet::Timeout bound(5);
    auto [near, far] = roomy_pair();
    eventlet::Event<> yielding;
    auto sender = eventlet::spawn([socket = near.get(), &yielding] {
        return outcome_of([socket, &yielding] {
            socket->sendall(std::string(share, 'x')); // the buffers take it all: never parks
            yielding.send();
            socket->sendall(std::string_view("more"));
        });
    });
    CHECK(take_away(near, yielding, sender) == "IOClosed");
}
