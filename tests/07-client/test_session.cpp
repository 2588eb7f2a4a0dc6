// Chapter 7: http::Session, urlopen() with keep-alive. The test server counts
// the connections it accepts: a reused connection is one fewer.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/http/session.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <string>
#include <vector>

#include "test_server.hpp"

using eventlet::GreenSocket;
using eventlet::http::HttpError;
using eventlet::http::Session;
using test_support::always;
using test_support::Requests;
using test_support::response_with;
using test_support::SeenRequest;
using test_support::TestServer;

namespace {

/// A server that answers every request on a connection with `response`,
/// until the client closes the connection.
TestServer keep_alive_server(std::string response)
{
    return TestServer(always(std::move(response)), eventlet::Family::ipv4,
                      Requests::many_per_connection);
}

} // namespace

TEST_CASE("a Session sends successive requests to one host on one connection", "[http][session]")
{
    TestServer server = keep_alive_server(response_with("kept"));
    Session session;
    for (int i = 0; i < 3; ++i)
        CHECK(session.urlopen(server.url("/" + std::to_string(i))).body == "kept");
    CHECK(server.connections() == 1);
    CHECK(server.requests().size() == 3);
    CHECK(server.requests()[2].target == "/2");
    // HTTP/1.1 keeps a connection unless a side says otherwise.
    CHECK(server.requests()[0].header("Connection").empty());
    CHECK(session.reused_connections() == 2);
    CHECK(session.idle_connections() == 1);

    session.close_idle();
    CHECK(session.idle_connections() == 0);
    CHECK(session.urlopen(server.url("/after")).body == "kept");
    CHECK(server.connections() == 2);
}

TEST_CASE("a response that does not allow reuse leaves its connection closed", "[http][session]")
{
    std::string response;
    bool server_closes = false; // when the response says "the end of the body is the close"
    SECTION("Connection: close") { response = response_with("bye", "200 OK", "Connection: close\r\n"); }
    SECTION("a body that ends with the connection")
    {
        response = "HTTP/1.1 200 OK\r\n\r\nbye";
        server_closes = true;
    }
    SECTION("HTTP/1.0 without keep-alive") { response = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nbye"; }
    SECTION("bytes after the response that nobody asked for")
    {
        response = response_with("bye") + "HTTP/1.1 200 OK\r\n";
    }
    TestServer server([&](const SeenRequest&, GreenSocket& socket) {
        socket.sendall(response);
        if (server_closes)
            socket.close();
    }, eventlet::Family::ipv4, Requests::many_per_connection);
    Session session;
    CHECK(session.urlopen(server.url("/1")).body == "bye");
    CHECK(session.idle_connections() == 0);
    CHECK(session.urlopen(server.url("/2")).body == "bye");
    CHECK(server.connections() == 2);
    CHECK(session.reused_connections() == 0);
}

TEST_CASE("a connection the server closed while it was idle is not reused", "[http][session]")
{
    // Answers as if it would keep the connection, then closes it at once:
    // the end of file is waiting on the idle connection before the next
    // request is made.
    TestServer server([](const SeenRequest&, GreenSocket& socket) {
        socket.sendall(response_with("once"));
        socket.close();
    }, eventlet::Family::ipv4, Requests::many_per_connection);
    Session session;
    CHECK(session.urlopen(server.url("/1")).body == "once");
    CHECK(session.idle_connections() == 1);
    CHECK(session.urlopen(server.url("/2")).body == "once");
    CHECK(server.connections() == 2);
    CHECK(server.requests().size() == 2); // nothing was sent on the closed one
    CHECK(session.reused_connections() == 0);
}

TEST_CASE("bytes that arrive on an idle connection make it unusable", "[http][session]")
{
    // Bytes after a response, sent once the client has it: the check
    // before reuse must see them, or they would be read as the next
    // response's first bytes.
    eventlet::Event<void> first_read;
    eventlet::Event<void> junk_sent;
    int answered = 0;
    TestServer server([&](const SeenRequest&, GreenSocket& socket) {
        if (++answered > 1) {
            socket.sendall(response_with("second"));
            return;
        }
        socket.sendall(response_with("first"));
        first_read.wait();
        socket.sendall("junk");
        junk_sent.send();
    }, eventlet::Family::ipv4, Requests::many_per_connection);
    Session session;
    CHECK(session.urlopen(server.url("/1")).body == "first");
    first_read.send();
    junk_sent.wait(); // on the loopback, sent means arrived
    CHECK(session.urlopen(server.url("/2")).body == "second");
    CHECK(server.connections() == 2);
    CHECK(session.reused_connections() == 0);
}

TEST_CASE("a GET that a reused connection drops unanswered is sent again on a new one",
          "[http][session]")
{
    // The race the check before reuse cannot see: the server closes the
    // connection just as the request goes out. It reads the second request
    // of its first connection, and closes without a word.
    int answered = 0;
    TestServer server([&answered](const SeenRequest&, GreenSocket& socket) {
        if (answered == 1) {
            ++answered;
            socket.close();
            return;
        }
        ++answered;
        socket.sendall(response_with("fine"));
    }, eventlet::Family::ipv4, Requests::many_per_connection);
    Session session;
    CHECK(session.urlopen(server.url("/1")).body == "fine");
    CHECK(session.urlopen(server.url("/2")).body == "fine");
    CHECK(server.connections() == 2);
    REQUIRE(server.requests().size() == 3);
    CHECK(server.requests()[1].target == "/2");
    CHECK(server.requests()[2].target == "/2");
}

TEST_CASE("a POST never goes on a reused connection, so it is never sent twice", "[http][session]")
{
    TestServer server = keep_alive_server(response_with("ok"));
    Session session;
    CHECK(session.urlopen(server.url("/get")).body == "ok");
    CHECK(session.idle_connections() == 1);
    CHECK(session.urlopen(server.url("/post"), {.method = "POST", .body = "data"}).body == "ok");
    CHECK(server.connections() == 2);
    // Its connection, once answered, is as good as any for the next GET.
    CHECK(session.idle_connections() == 2);
    CHECK(session.urlopen(server.url("/get")).body == "ok");
    CHECK(server.connections() == 2);
}

TEST_CASE("an error status leaves a reusable connection; a failed request closes its own",
          "[http][session]")
{
    SECTION("404 is a complete response")
    {
        TestServer server = keep_alive_server(response_with("gone", "404 Not Found"));
        Session session;
        CHECK_THROWS_AS(session.urlopen(server.url("/a")), HttpError);
        CHECK_THROWS_AS(session.urlopen(server.url("/b")), HttpError);
        CHECK(server.connections() == 1);
    }
    SECTION("a timeout in the middle of a body")
    {
        TestServer server([](const SeenRequest&, GreenSocket& socket) {
            socket.sendall("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
            socket.recv(1); // until the client goes
        }, eventlet::Family::ipv4, Requests::many_per_connection);
        Session session;
        CHECK_THROWS_AS(session.urlopen(server.url("/"), {.timeout = 0.05}), eventlet::TimeoutError);
        CHECK(session.idle_connections() == 0);
    }
}

TEST_CASE("a Session keeps no more idle connections than its limits", "[http][session]")
{
    TestServer server = keep_alive_server(response_with("x"));
    SECTION("per host, when requests run at once")
    {
        Session session({.per_host = 2});
        eventlet::GreenPool pool(5);
        for (int i = 0; i < 5; ++i)
            pool.spawn_n([&] { session.urlopen(server.url("/")); });
        pool.waitall();
        CHECK(server.connections() == 5);
        CHECK(session.idle_connections() == 2);
    }
    SECTION("in all")
    {
        TestServer other = keep_alive_server(response_with("y"));
        Session session({.total = 1});
        session.urlopen(server.url("/"));
        session.urlopen(other.url("/"));
        CHECK(session.idle_connections() == 1);
    }
    SECTION("in time: a connection idle too long is closed, not reused")
    {
        Session session({.idle_timeout = 0});
        session.urlopen(server.url("/"));
        session.urlopen(server.url("/"));
        CHECK(server.connections() == 2);
        CHECK(session.reused_connections() == 0);
    }
}

TEST_CASE("1,000 URLs through imap at concurrency 100 share at most 100 connections",
          "[http][session][imap]")
{
    TestServer server = keep_alive_server(response_with("page"));
    Session session({.per_host = 100});
    eventlet::GreenPool pool(100);
    std::vector<std::string> urls;
    for (int i = 0; i < 1000; ++i)
        urls.push_back(server.url("/" + std::to_string(i)));
    std::size_t bodies = 0;
    for (const std::string& body :
         pool.imap([&session](const std::string& url) { return session.urlopen(url).body; }, urls)) {
        CHECK(body == "page");
        ++bodies;
    }
    CHECK(bodies == 1000);
    CHECK(server.connections() <= 100);
    CHECK(session.reused_connections() >= 900);
}
