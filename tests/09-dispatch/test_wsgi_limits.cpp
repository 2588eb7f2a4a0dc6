// Chapter 9: time limits and the pool's bound protect the other clients
// from one client; closing the listener stops the server cleanly.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/wsgi/server.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wsgi_support.hpp"

using eventlet::wsgi::Body;
using eventlet::wsgi::Request;
using eventlet::wsgi::StartResponse;
using wsgi_test::get;
using wsgi_test::RawClient;
using wsgi_test::seconds_since;
using wsgi_test::TestServer;
using Clock = std::chrono::steady_clock;

namespace {

Body hello_without_reading(Request&, StartResponse& start_response)
{
    start_response("200 OK", {});
    return "hello";
}

} // namespace

TEST_CASE("a client that sends its request head too slowly gets 408 and is closed, while others are served",
          "[wsgi][limits]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello_without_reading, [](auto& options) { options.header_timeout = 0.05; });
    RawClient slow(server.address());
    const auto start = Clock::now();
    // One byte every 10 ms: the head would take 2 s to arrive.
    auto trickle = eventlet::spawn([&] {
        const std::string head = get("/", "X-Slow: " + std::string(150, 's') + "\r\n");
        try {
            for (char c : head) {
                slow.send(std::string_view(&c, 1));
                eventlet::sleep(0.01);
            }
        } catch (const eventlet::SocketError&) { // the server closed: as it should
        }
    });
    for (int i = 0; i < 3; ++i) {
        RawClient quick(server.address());
        quick.send(get("/"));
        CHECK(quick.response().body == "hello");
    }
    const auto response = slow.response();
    const double waited = seconds_since(start);
    CHECK(response.status == 408);
    CHECK(slow.closed_by_server());
    CHECK(waited >= 0.05);
    CHECK(waited < 1.0);
    trickle.kill();
}

TEST_CASE("a keep-alive connection idle longer than the idle timeout is closed", "[wsgi][limits]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello_without_reading, [](auto& options) { options.idle_timeout = 0.05; });
    RawClient client(server.address());
    client.send(get("/"));
    CHECK(client.response().body == "hello");
    const auto start = Clock::now();
    CHECK(client.closed_by_server()); // nothing sent: the close of the timeout
    CHECK(seconds_since(start) >= 0.04);
}

TEST_CASE("the idle timeout bounds each wait, not the life of a connection", "[wsgi][limits]")
{
    // The server keeps one timer for all the waits of a connection: a wait
    // that ends early must not leave the next one a shorter limit, and the
    // limit must still hold after many of them.
    eventlet::Timeout bound(5);
    TestServer server(hello_without_reading, [](auto& options) { options.idle_timeout = 0.1; });
    RawClient client(server.address());
    const auto start = Clock::now();
    for (int i = 0; i < 6; ++i) {
        client.send(get("/"));
        CHECK(client.response().body == "hello");
        eventlet::sleep(0.04); // the client's pace: each wait well within the limit
    }
    CHECK(seconds_since(start) > 0.2); // twice the limit, on one connection
    const auto idle_since = Clock::now();
    CHECK(client.closed_by_server());
    CHECK(seconds_since(idle_since) >= 0.05); // 0.1 from the last request, 0.04 of it slept above
}

TEST_CASE("a short limit after a long one is kept: a stalled body after an idle wait",
          "[wsgi][limits]")
{
    // The wait for the second request runs under the idle timeout (2 s);
    // the wait for its body under the socket timeout (0.05 s), which must
    // not wait for the timer set for the first.
    eventlet::Timeout bound(5);
    TestServer server(
        [](Request& request, StartResponse& start_response) -> Body {
            request.input.read();
            start_response("200 OK", {});
            return "read";
        },
        [](auto& options) {
            options.idle_timeout = 2;
            options.socket_timeout = 0.05;
        });
    RawClient client(server.address());
    client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok");
    CHECK(client.response().body == "read");
    const auto start = Clock::now();
    client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    CHECK(client.response().status == 408);
    CHECK(seconds_since(start) < 1.0);
}

TEST_CASE("a head under way belongs to the header timeout, not to the idle timeout", "[wsgi][limits]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello_without_reading, [](auto& options) {
        options.idle_timeout = 0.05;
        options.header_timeout = 2;
    });
    RawClient client(server.address());
    client.send("GET / HTTP/1.1\r\n");
    eventlet::sleep(0.2); // a pause of four idle limits, inside the head: the client is slow, not idle
    client.send("Host: t\r\n\r\n");
    CHECK(client.response().status == 200);
}

TEST_CASE("a connection that never sends a request is closed after the idle timeout", "[wsgi][limits]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello_without_reading, [](auto& options) { options.idle_timeout = 0.05; });
    RawClient silent(server.address());
    RawClient other(server.address());
    other.send(get("/"));
    CHECK(other.response().body == "hello");
    CHECK(silent.closed_by_server());
}

TEST_CASE("a body that stops arriving is answered 408 after the socket timeout", "[wsgi][limits]")
{
    eventlet::Timeout bound(5);
    TestServer server(
        [](Request& request, StartResponse& start_response) -> Body {
            request.input.read();
            start_response("200 OK", {});
            return "never";
        },
        [](auto& options) { options.socket_timeout = 0.05; });
    RawClient client(server.address());
    client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    CHECK(client.response().status == 408);
    CHECK(client.closed_by_server());
}

TEST_CASE("no more connections are served at once than the server's concurrency", "[wsgi][limits]")
{
    eventlet::Timeout bound(5);
    int inside = 0;
    int most_inside = 0;
    eventlet::Event<void> two_inside;
    eventlet::Event<void> release;
    TestServer server(
        [&](Request& request, StartResponse& start_response) -> Body {
            most_inside = std::max(most_inside, ++inside);
            if (inside == 2)
                two_inside.send();
            release.wait();
            --inside;
            start_response("200 OK", {});
            return request.path;
        },
        [](auto& options) { options.concurrency = 2; });
    RawClient first(server.address());
    RawClient second(server.address());
    first.send(get("/1", "Connection: close\r\n"));
    second.send(get("/2", "Connection: close\r\n"));
    two_inside.wait();
    // Connected only now: a connection that has sent nothing while the
    // pool is full would give its slot to the next one (see below).
    RawClient third(server.address());
    third.send(get("/3", "Connection: close\r\n"));
    // With the pool full, the third is not even read: it waits in the
    // backlog. Were the bound broken, it would be answered at once.
    {
        eventlet::Timeout not_served(0.1);
        CHECK_THROWS_AS(third.reader.readline(), eventlet::TimeoutError);
    }
    CHECK(inside == 2);
    release.send();
    CHECK(first.response().body == "/1");
    CHECK(second.response().body == "/2");
    CHECK(third.response().body == "/3");
    CHECK(most_inside == 2);
}

TEST_CASE("closing the listener stops the server: idle connections close, a request under way finishes",
          "[wsgi][limits]")
{
    eventlet::Timeout bound(5);
    eventlet::Event<void> busy;
    eventlet::Event<void> release;
    TestServer server([&](Request& request, StartResponse& start_response) -> Body {
        if (request.path == "/slow") {
            busy.send();
            release.wait();
        }
        start_response("200 OK", {});
        return request.path;
    });
    RawClient idle(server.address());
    idle.send(get("/quick"));
    CHECK(idle.response().body == "/quick");
    RawClient working(server.address());
    working.send(get("/slow"));
    busy.wait();

    auto stopper = eventlet::spawn([&] { server.stop(); });
    CHECK(idle.closed_by_server());
    CHECK_FALSE(stopper.dead()); // still waiting for the request under way
    release.send();
    CHECK(working.response().body == "/slow");
    CHECK(working.closed_by_server());
    stopper.wait();
    CHECK(server.thread().dead());
    CHECK_THROWS_AS(RawClient(server.address()), eventlet::ConnectionRefused);
}

TEST_CASE("a body that arrives too slowly gets 408 at its deadline, though no single wait is long",
          "[wsgi][limits]")
{
    // A byte every 10 ms: each wait far within the socket timeout, the
    // whole body 1,000 s away. The body's deadline (0.2 s, and 1 ms more per
    // byte at 1,000 bytes/s, ten times the client's rate) comes at about
    // 0.22 s. A minimum rate equal to the client's would make the deadline
    // race the client, and a timer a millisecond late would decide it.
    eventlet::Timeout bound(5);
    TestServer server(
        [](Request& request, StartResponse& start_response) -> Body {
            request.input.read();
            start_response("200 OK", {});
            return "read";
        },
        [](auto& options) {
            options.socket_timeout = 2;
            options.body_timeout = 0.2;
            options.body_min_rate = 1000;
        });
    RawClient client(server.address());
    client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n");
    const auto start = Clock::now();
    auto trickle = eventlet::spawn([&] {
        try {
            for (;;) {
                client.send("x");
                eventlet::sleep(0.01);
            }
        } catch (const eventlet::SocketError&) { // the server closed: as it should
        }
    });
    CHECK(client.response().status == 408);
    CHECK(seconds_since(start) < 2.0);
    trickle.kill();
}

TEST_CASE("with every slot held by an idle connection, a new client is served at once, and the one idle "
          "longest is closed",
          "[wsgi][limits]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello_without_reading, [](auto& options) {
        options.concurrency = 4;
        options.idle_timeout = 30;
    });
    std::vector<std::unique_ptr<RawClient>> idle;
    SECTION("keep-alive connections between requests")
    {
        for (int i = 0; i < 4; ++i) {
            idle.push_back(std::make_unique<RawClient>(server.address()));
            idle.back()->send(get("/"));
            CHECK(idle.back()->response().body == "hello");
        }
    }
    SECTION("fresh connections that sent nothing")
    {
        for (int i = 0; i < 4; ++i)
            idle.push_back(std::make_unique<RawClient>(server.address()));
    }
    RawClient fifth(server.address());
    fifth.send(get("/"));
    CHECK(fifth.response().body == "hello");
    CHECK(idle.front()->closed_by_server());
    // The others keep their connection, and are served on it.
    idle.back()->send(get("/"));
    CHECK(idle.back()->response().body == "hello");
}

TEST_CASE("a client that does not read its response is cut off at the send deadline", "[wsgi][limits]")
{
    eventlet::Timeout bound(5);
    eventlet::Event<void> body_dropped;
    // Tells when the server is done with the body: after it gave up.
    struct DropSignal {
        explicit DropSignal(eventlet::Event<void>& event) : event(event) {}
        DropSignal(const DropSignal&) = delete;
        ~DropSignal() { event.send(); }
        eventlet::Event<void>& event;
    };
    TestServer server(
        [&](Request&, StartResponse& start_response) -> Body {
            start_response("200 OK", {});
            auto signal = std::make_shared<DropSignal>(body_dropped);
            return Body([signal]() -> std::optional<std::string> { return std::string(64 * 1024, 'x'); });
        },
        [](auto& options) {
            options.socket_timeout = 30; // each wait alone would hold the slot for 30 s
            options.send_timeout = 0.2;
            options.send_min_rate = 0;
        });
    RawClient client(server.address());
    client.send(get("/"));
    const auto start = Clock::now();
    body_dropped.wait(); // the client reads nothing meanwhile
    CHECK(seconds_since(start) < 2.0);
    CHECK(client.reader.readline() == "HTTP/1.1 200 OK\r\n");
}

TEST_CASE("a request still under way at the end of the grace period is ended, and the server returns",
          "[wsgi][limits]")
{
    eventlet::Timeout bound(5);
    eventlet::Event<void> busy;
    eventlet::Event<void> never;
    TestServer server(
        [&](Request&, StartResponse& start_response) -> Body {
            busy.send();
            never.wait();
            start_response("200 OK", {});
            return "too late";
        },
        [](auto& options) { options.grace = 0.1; });
    RawClient stuck(server.address());
    stuck.send(get("/"));
    busy.wait();
    const auto start = Clock::now();
    server.stop();
    CHECK(seconds_since(start) >= 0.1);
    CHECK(server.thread().dead());
    CHECK(stuck.closed_by_server());
}

TEST_CASE("a connection still lingering after an error response at the end of the grace period is "
          "ended too",
          "[wsgi][limits]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello_without_reading, [](auto& options) {
        options.grace = 0.1;
        options.linger_timeout = 10; // longer than the test: the kill must end it
    });
    RawClient client(server.address());
    client.send("NOT HTTP AT ALL\r\n\r\n");
    CHECK(client.response().status == 400);
    // The server has shut its side, and reads what the client may still
    // send: it lingers, and this client never closes.
    CHECK(client.closed_by_server());
    const auto start = Clock::now();
    server.stop();
    CHECK(seconds_since(start) >= 0.1);
    CHECK(server.thread().dead());
}
