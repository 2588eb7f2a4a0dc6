// Chapter 8: serve(), a green thread per connection, and stopping it cleanly.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/serve.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../support/hub_helpers.hpp"
#include "../support/net_helpers.hpp"
#include "server_support.hpp"

using eventlet::Address;
using eventlet::GreenSocket;
using eventlet::Server;
using server_test::echo;
using server_test::recv_exactly;
using server_test::recv_to_end;
using test_support::loopback;

namespace {

/// A handler that runs `inner`, then sends `ended` (if not yet sent),
/// however `inner` ends.
eventlet::Handler signalling_end(eventlet::Handler inner, eventlet::Event<>& ended)
{
    return [inner, &ended](GreenSocket& client, const Address& peer) {
        struct SendOnExit {
            eventlet::Event<>& ended;
            ~SendOnExit()
            {
                if (!ended.ready())
                    ended.send();
            }
        } send_on_exit{ended};
        inner(client, peer);
    };
}

/// Sends `message` and returns what comes back, as many bytes.
std::string round_trip(GreenSocket& client, const std::string& message)
{
    client.sendall(message);
    return recv_exactly(client, message.size());
}

/// Raises the soft limit on descriptors to at least `needed`, if the hard
/// limit allows. \returns false if it does not.
bool allow_descriptors(rlim_t needed)
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return false;
    if (limit.rlim_cur >= needed)
        return true;
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed)
        return false;
    limit.rlim_cur = needed;
    return ::setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

} // namespace

TEST_CASE("serve() echoes 1,000 concurrent clients, each its own data", "[server][serve]")
{
    constexpr int clients = 1000;
    if (!allow_descriptors(2 * clients + 64)) {
        WARN("the open-file limit is below " << 2 * clients + 64 << ": test skipped");
        return;
    }
    const eventlet::Timeout bound(60); // a failure bound, not a synchronisation
    Server server(eventlet::listen(loopback(eventlet::Family::ipv4)), clients);
    auto serving = eventlet::spawn([&] { server.serve(echo); });

    int connected = 0;
    int echoed_once = 0;
    eventlet::Event<> all_connected;
    eventlet::Event<> all_echoed_once;
    std::size_t served_at_once = 0;
    std::vector<eventlet::GreenThread<int>> threads;
    for (int i = 0; i < clients; ++i) {
        threads.push_back(eventlet::spawn([&, i] {
            GreenSocket client = eventlet::connect(server.address(), 10);
            if (++connected == clients)
                all_connected.send();
            all_connected.wait(); // all 1,000 are connected before anyone sends
            int correct = 0;
            const std::string first = "client " + std::to_string(i) + " says " +
                                      std::string(100 + i, static_cast<char>('a' + i % 26)) + "\n";
            correct += round_trip(client, first) == first;
            if (++echoed_once == clients)
                all_echoed_once.send();
            all_echoed_once.wait(); // now every handler is running at once
            served_at_once = std::max(served_at_once, server.connections());
            const std::string second = std::string(3000, static_cast<char>('A' + i % 26)) +
                                       std::to_string(i);
            correct += round_trip(client, second) == second;
            client.shutdown(eventlet::Shutdown::write);
            correct += recv_to_end(client).empty(); // the server closes after our end of file
            return correct;
        }));
    }
    int correct = 0;
    for (auto& thread : threads)
        correct += thread.wait();
    CHECK(correct == 3 * clients);
    CHECK(served_at_once == clients);
    server.stop();
    serving.wait();
    CHECK(server.connections() == 0);
}

TEST_CASE("a client that vanishes mid-message ends its handler quietly, and the server goes on",
          "[server][serve]")
{
    test_support::CaptureCerr cerr;
    Server server(eventlet::listen(loopback(eventlet::Family::ipv4)), 10);
    eventlet::Event<> ended;
    auto serving = eventlet::spawn([&] { server.serve(signalling_end(echo, ended)); });

    GreenSocket vanishing = eventlet::connect(server.address(), 5);
    vanishing.sendall("half of a mess");
    SECTION("with a reset")
    {
        // SO_LINGER with a zero timeout: close() sends a reset, not a FIN.
        const linger abort{1, 0};
        REQUIRE(::setsockopt(vanishing.fd(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort) == 0);
        vanishing.close();
    }
    SECTION("with a close before reading the echo")
    {
        vanishing.close();
    }
    ended.wait();
    CHECK(server.connections() == 0);
    GreenSocket next = eventlet::connect(server.address(), 5);
    CHECK(round_trip(next, "still there?") == "still there?");
    next.close();
    server.stop();
    serving.wait();
    CHECK(cerr.text() == "");
}

TEST_CASE("a half-closed client gets the echo of what it sent, then the end of the stream",
          "[server][serve]")
{
    Server server(eventlet::listen(loopback(eventlet::Family::ipv4)), 10);
    auto serving = eventlet::spawn([&] { server.serve(echo); });
    GreenSocket client = eventlet::connect(server.address(), 5);
    std::string message;
    for (int i = 0; i < 2000; ++i)
        message += "line " + std::to_string(i) + "\n";
    client.sendall(message);
    client.shutdown(eventlet::Shutdown::write); // no more from us; we still read
    CHECK(recv_to_end(client) == message);
    server.stop();
    serving.wait();
}

TEST_CASE("an exception in a handler is reported with the peer, and the server goes on",
          "[server][serve]")
{
    test_support::CaptureCerr cerr;
    Server server(eventlet::listen(loopback(eventlet::Family::ipv4)), 10);
    auto serving = eventlet::spawn([&] {
        server.serve([](GreenSocket& client, const Address& peer) {
            const std::string first = client.recv(100);
            if (first == "boom")
                throw std::runtime_error("boom from the handler");
            client.sendall(first);
            echo(client, peer);
        });
    });
    GreenSocket failing = eventlet::connect(server.address(), 5);
    failing.sendall("boom");
    CHECK(recv_to_end(failing).empty()); // its connection is closed
    const std::string text = cerr.text();
    CHECK_THAT(text, Catch::Contains("boom from the handler"));
    CHECK_THAT(text, Catch::Contains("std::runtime_error"));
    CHECK_THAT(text, Catch::Contains("a serve() handler for " + failing.local_address().to_string()));

    GreenSocket next = eventlet::connect(server.address(), 5);
    CHECK(round_trip(next, "hello again") == "hello again");
    next.close();
    server.stop();
    serving.wait();
}

TEST_CASE("stop() from another green thread closes the listener; serve() returns once the "
          "handlers end",
          "[server][stop]")
{
    Server server(eventlet::listen(loopback(eventlet::Family::ipv4)), 10);
    const Address where = server.address();
    auto serving = eventlet::spawn([&] { server.serve(echo); });
    GreenSocket client = eventlet::connect(where, 5);
    CHECK(round_trip(client, "ping") == "ping");

    eventlet::spawn([&] { server.stop(); }).wait();
    CHECK(server.stopped());
    CHECK_THROWS_AS(eventlet::connect(where, 5), eventlet::ConnectionRefused);
    // The handler still runs, and serve() waits for it.
    CHECK(round_trip(client, "pong") == "pong");
    CHECK_FALSE(serving.dead());
    client.shutdown(eventlet::Shutdown::write);
    CHECK(recv_to_end(client).empty());
    serving.wait();
    CHECK(server.connections() == 0);
}

TEST_CASE("close_clients() ends the connections being served, quietly", "[server][stop]")
{
    test_support::CaptureCerr cerr;
    Server server(eventlet::listen(loopback(eventlet::Family::ipv4)), 10);
    auto serving = eventlet::spawn([&] { server.serve(echo); });
    std::vector<GreenSocket> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(eventlet::connect(server.address(), 5));
        CHECK(round_trip(clients.back(), "hi " + std::to_string(i)) == "hi " + std::to_string(i));
    }
    CHECK(server.connections() == 3);
    server.stop();
    server.close_clients();
    serving.wait(); // the handlers woke from recv() with the end of the stream
    for (GreenSocket& client : clients)
        CHECK(recv_to_end(client).empty());
    CHECK(server.connections() == 0);
    CHECK(cerr.text() == "");
}

TEST_CASE("a handler that throws StopServe stops serve(), which waits for the others",
          "[server][stop]")
{
    test_support::CaptureCerr cerr;
    GreenSocket listener = eventlet::listen(loopback(eventlet::Family::ipv4));
    const Address where = listener.local_address();
    auto serving = eventlet::spawn([&] {
        eventlet::serve(std::move(listener), [](GreenSocket& client, const Address& peer) {
            const std::string first = client.recv(100);
            if (first == "stop")
                throw eventlet::StopServe();
            client.sendall(first);
            echo(client, peer);
        });
    });
    GreenSocket other = eventlet::connect(where, 5);
    CHECK(round_trip(other, "first words") == "first words");
    GreenSocket stopper = eventlet::connect(where, 5);
    stopper.sendall("stop");
    CHECK(recv_to_end(stopper).empty());
    CHECK_THROWS_AS(eventlet::connect(where, 5), eventlet::ConnectionRefused);
    CHECK(round_trip(other, "still served") == "still served");
    CHECK_FALSE(serving.dead());
    other.close();
    serving.wait();
    CHECK(cerr.text() == "");
}

TEST_CASE("killing the green thread in serve() stops the server and ends its connections",
          "[server][stop]")
{
    Server server(eventlet::listen(loopback(eventlet::Family::ipv4)), 10);
    eventlet::Event<> ended;
    auto serving = eventlet::spawn([&] { server.serve(signalling_end(echo, ended)); });
    GreenSocket client = eventlet::connect(server.address(), 5);
    CHECK(round_trip(client, "ping") == "ping");
    serving.kill();
    CHECK(serving.dead());
    CHECK(server.stopped());
    CHECK(recv_to_end(client).empty());
    ended.wait(); // serve() did not wait for the handler: it ends on its own
    CHECK(server.connections() == 0);
}

TEST_CASE("stop() before serve() makes serve() return at once; serve() runs once",
          "[server][stop]")
{
    Server server(eventlet::listen(loopback(eventlet::Family::ipv4)), 10);
    server.stop();
    server.serve(echo);
    CHECK(server.connections() == 0);
    CHECK_THROWS_AS(server.serve(echo), std::logic_error);
    CHECK_THROWS_AS(Server(GreenSocket(), 10), std::invalid_argument);
    CHECK_THROWS_AS(Server(eventlet::listen(loopback(eventlet::Family::ipv4)), 0),
                    std::invalid_argument);
}

TEST_CASE("a full server leaves the next connection in the backlog until a handler ends",
          "[server][serve]")
{
    Server server(eventlet::listen(loopback(eventlet::Family::ipv4)), 1);
    auto serving = eventlet::spawn([&] { server.serve(echo); });
    GreenSocket first = eventlet::connect(server.address(), 5);
    CHECK(round_trip(first, "one") == "one");
    // The kernel completes the second connection, but nobody accepts it.
    GreenSocket second = eventlet::connect(server.address(), 5);
    second.sendall("two");
    second.set_timeout(0.2);
    CHECK_THROWS_AS(second.recv(3), eventlet::TimeoutError);
    CHECK(server.connections() == 1);
    first.close(); // its handler ends, a slot frees: the second is accepted
    second.set_timeout(5);
    CHECK(recv_exactly(second, 3) == "two");
    server.stop();
    server.close_clients();
    serving.wait();
}
