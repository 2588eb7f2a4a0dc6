// The WSGI-style server at the edges of HTTP/1.1 that a real client reaches:
// requests asking to upgrade the protocol (what a WebSocket client and
// `curl --http2` send), CONNECT, applications that fail after their head is
// final but before any byte went out, and a request kept by the application
// past its exchange.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/socket_errors.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/wsgi/server.hpp>

#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "../09-dispatch/wsgi_support.hpp"

using wsgi_test::get;
using wsgi_test::RawClient;
using wsgi_test::TestServer;
namespace wsgi = eventlet::wsgi;

namespace {

// Answers with the request's target, and with the body it sent, if any.
wsgi::Body echo_target(wsgi::Request& request, wsgi::StartResponse& start_response)
{
    start_response("200 OK", {{"Content-Type", "text/plain"}});
    return request.target + ":" + request.input.read();
}

} // namespace

TEST_CASE("a request asking to upgrade is answered as HTTP/1.1 and its connection goes on",
          "[wsgi]")
{
    TestServer server(echo_target);
    RawClient client(server.address());
    SECTION("h2c, as curl --http2 asks on http://")
    {
        client.send(get("/1", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                              "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"));
    }
    SECTION("a WebSocket")
    {
        client.send(get("/1", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    }
    SECTION("with a body")
    {
        client.send("POST /1 HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    "Content-Length: 4\r\n\r\nbody");
    }
    const wsgi_test::Response first = client.response();
    CHECK(first.status == 200);
    CHECK((first.body == "/1:" || first.body == "/1:body"));
    client.send(get("/2"));
    const wsgi_test::Response second = client.response();
    CHECK(second.status == 200);
    CHECK(second.body == "/2:");
}

TEST_CASE("a request and the next one sent together after an upgrade request are both answered",
          "[wsgi]")
{
    TestServer server(echo_target);
    RawClient client(server.address());
    client.send(get("/1", "Connection: Upgrade\r\nUpgrade: websocket\r\n") + get("/2"));
    CHECK(client.response().body == "/1:");
    CHECK(client.response().body == "/2:");
}

TEST_CASE("a CONNECT is answered, then its connection is closed", "[wsgi]")
{
    TestServer server([](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
        start_response("405 Method Not Allowed", {});
        return request.method + " " + request.target;
    });
    RawClient client(server.address());
    client.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    const wsgi_test::Response response = client.response();
    CHECK(response.status == 405);
    CHECK(response.body == "CONNECT example.com:443");
    CHECK(response.headers.has_token("Connection", "close"));
    CHECK(client.closed_by_server());
}

TEST_CASE("an application that fails before any byte went out gets a 500, its head never sent",
          "[wsgi]")
{
    std::string method = "GET";
    SECTION("a body longer than the Content-Length it declared")
    {
    }
    SECTION("the same, to HEAD") { method = "HEAD"; }
    TestServer server([](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
        start_response("200 OK", {{"Content-Length", "3"}});
        return "hello";
    });
    RawClient client(server.address());
    client.send(method + " / HTTP/1.1\r\nHost: test\r\n\r\n");
    const wsgi_test::Response response = client.response(method == "HEAD");
    CHECK(response.status == 500);
    CHECK(client.closed_by_server());
    server.stop();
    CHECK(server.log().find("Content-Length of 3 bytes") != std::string::npos);
    CHECK(server.log().find("\" 500 ") != std::string::npos);
    CHECK(server.log().find("\" 200 ") == std::string::npos);
}

TEST_CASE("an application whose generator throws after a first piece to HEAD gets a 500", "[wsgi]")
{
    TestServer server([](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
        start_response("200 OK", {});
        return wsgi::Body([pieces = 0]() mutable -> std::optional<std::string> {
            if (pieces++ == 0)
                return "first";
            throw std::runtime_error("the second piece failed");
        });
    });
    RawClient client(server.address());
    client.send("HEAD / HTTP/1.1\r\nHost: test\r\n\r\n");
    CHECK(client.response(true).status == 500);
    CHECK(client.closed_by_server());
}

TEST_CASE("a request kept past its exchange refuses to read its body, and the server goes on",
          "[wsgi]")
{
    std::optional<wsgi::Request> kept;
    TestServer server([&kept](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
        kept = request; // the body unread
        start_response("202 Accepted", {});
        return "later";
    });
    RawClient client(server.address());
    client.send("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello");
    CHECK(client.response().status == 202);
    REQUIRE(kept);
    CHECK_THROWS_WITH(kept->input.read(), Catch::Contains("while the application answers it"));
    client.send(get("/next"));
    CHECK(client.response().body == "later");
}

// The server answers each request of a connection in the same Request
// object, and reuses what guards the reads of its body while nobody else
// holds it: neither may let one request see another's.
TEST_CASE("a request kept from an earlier exchange cannot read the body of a later one on its connection",
          "[wsgi]")
{
    std::optional<wsgi::Request> kept;
    TestServer server([&kept](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
        start_response("200 OK", {});
        if (!kept) {
            kept = request;
            return "kept";
        }
        std::string kept_read;
        try {
            kept_read = "read '" + kept->input.read() + "'";
        } catch (const std::logic_error&) {
            kept_read = "refused";
        }
        return kept_read + ", own '" + request.input.read() + "'";
    });
    RawClient client(server.address());
    client.send("POST /1 HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
    CHECK(client.response().body == "kept");
    client.send("POST /2 HTTP/1.1\r\nHost: test\r\nContent-Length: 6\r\n\r\nsecond");
    CHECK(client.response().body == "refused, own 'second'");
}

TEST_CASE("each request on a kept-alive connection starts with nothing of the one before", "[wsgi]")
{
    TestServer server([](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
        start_response("200 OK", {});
        std::string fields;
        for (const auto& [name, value] : request.headers)
            fields += name + "=" + value + ";";
        return request.method + " " + request.path + " ?" + request.query + " " + fields + " body '" +
               request.input.read() + "'";
    });
    RawClient client(server.address());
    client.send("POST /first%20one?a=1 HTTP/1.1\r\nHost: test\r\nX-Only-First: yes\r\n"
                "Content-Length: 4\r\n\r\nbody");
    CHECK(client.response().body == "POST /first one ?a=1 Host=test;X-Only-First=yes;Content-Length=4; body 'body'");
    client.send("GET /b HTTP/1.1\r\nHost: other\r\n\r\n");
    CHECK(client.response().body == "GET /b ? Host=other; body ''");
}

// An application may hand its request to another green thread (to pump
// the body somewhere while it does something else), and answer without
// waiting for it: the read under way must end before the exchange does.
TEST_CASE("a green thread still reading the body when its request is answered gets logic_error, "
          "and the server goes on",
          "[wsgi]")
{
    const bool application_fails = GENERATE(false, true);
    std::optional<wsgi::Request> handed;
    std::optional<eventlet::GreenThread<std::string>> reader;
    eventlet::Event<void> reading;
    TestServer server([&](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
        start_response("200 OK", {});
        if (request.target == "/next")
            return "next";
        handed = request;
        reader = eventlet::spawn([&]() -> std::string {
            reading.send();
            try {
                return "read " + handed->input.read();
            } catch (const std::logic_error& error) {
                return error.what();
            }
        });
        reading.wait(); // the reader has parked: the client sends no body
        if (application_fails)
            throw std::runtime_error("the application failed");
        return "answered";
    });
    eventlet::Timeout bound(10);
    RawClient client(server.address());
    client.send("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\n");
    CHECK(client.response().status == (application_fails ? 500 : 200));
    CHECK(client.closed_by_server());
    REQUIRE(reader);
    CHECK_THAT(reader->wait(), Catch::Contains("while another green thread still read its body"));
    RawClient next(server.address());
    next.send(get("/next"));
    CHECK(next.response().body == "next");
}

TEST_CASE("a server killed closes its listener: the port refuses new connections", "[wsgi]")
{
    eventlet::Timeout bound(10);
    auto listener = eventlet::listen({"127.0.0.1", 0});
    const auto address = listener.local_address();
    auto serving = eventlet::spawn([&] { wsgi::server(listener, echo_target); });
    eventlet::sleep(0); // it parks in accept
    serving.kill();
    CHECK_THROWS_AS(serving.wait(), eventlet::GreenletExit);
    CHECK_FALSE(listener.is_open());
    CHECK_THROWS_AS(eventlet::connect(address), eventlet::ConnectionRefused);
}

TEST_CASE("an application's Content-Length with spaces around its digits frames the body",
          "[wsgi]")
{
    TestServer server([](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
        start_response("200 OK", {{"Content-Length", " 5\t"}});
        return "hello";
    });
    RawClient client(server.address());
    client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    const wsgi_test::Response response = client.response();
    CHECK(response.status == 200);
    CHECK(response.body == "hello");
}

TEST_CASE("a request body in a transfer coding other than chunked is answered 501", "[wsgi]")
{
    TestServer server(echo_target);
    RawClient client(server.address());
    SECTION("gzip, then chunked, in one field")
    {
        client.send("POST /up HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                    "3\r\nabc\r\n0\r\n\r\n");
    }
    SECTION("the same in two fields")
    {
        client.send("POST /up HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    }
    CHECK(client.response().status == 501);
    CHECK(client.closed_by_server());
}

TEST_CASE("a chunked request body, the coding written in any case, reaches the application",
          "[wsgi]")
{
    TestServer server(echo_target);
    RawClient client(server.address());
    client.send("POST /up HTTP/1.1\r\nHost: test\r\nTransfer-Encoding:  Chunked \r\n\r\n"
                "3\r\nabc\r\n0\r\n\r\n");
    const wsgi_test::Response response = client.response();
    CHECK(response.status == 200);
    CHECK(response.body == "/up:abc");
}

TEST_CASE("an application answering with an informational status gets a 500, not a client left "
          "waiting",
          "[wsgi]")
{
    std::string status = GENERATE("100 Continue", "101 Switching Protocols", "199 Custom",
                                  "600 Beyond");
    TestServer server([status](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
        start_response(status, {});
        return "body";
    });
    RawClient client(server.address());
    client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    CHECK(client.response().status == 500);
    server.stop();
    CHECK(server.log().find("is not a final status") != std::string::npos);
}

TEST_CASE("a malformed request line gets 414 when it passed 8 KiB before its bad byte, 400 when not",
          "[wsgi]")
{
    // However the reads split the line: whole, llhttp meets the bad byte
    // before the server has seen the target.
    TestServer server(echo_target);
    RawClient client(server.address());
    const std::string long_target = "/" + std::string(9000, 'x');
    SECTION("the bad byte past the limit")
    {
        client.send("GET " + long_target + "\x01 HTTP/1.1\r\nHost: test\r\n\r\n");
        CHECK(client.response().status == 414);
    }
    SECTION("the bad byte before the limit")
    {
        client.send("GET /x\x01" + long_target + " HTTP/1.1\r\nHost: test\r\n\r\n");
        CHECK(client.response().status == 400);
    }
    CHECK(client.closed_by_server());
}

TEST_CASE("a header field over 8 KiB gets 431 naming it, as Eventlet's MAX_HEADER_LINE refuses it",
          "[wsgi]")
{
    // Counted as sent, from the name's first byte to the value's last:
    // "Long: " and 8186 bytes of value make 8192.
    TestServer server(echo_target);
    RawClient client(server.address());
    const auto request_with = [](const std::string& field) {
        return "GET / HTTP/1.1\r\nHost: test\r\n" + field + "\r\n\r\n";
    };
    SECTION("8193 bytes")
    {
        client.send(request_with("Long: " + std::string(8187, 'a')));
        const wsgi_test::Response response = client.response();
        CHECK(response.status == 431);
        CHECK(response.body.find("'Long' exceeds 8192 bytes") != std::string::npos);
        CHECK(client.closed_by_server());
    }
    SECTION("8192 bytes are served")
    {
        client.send(request_with("Long: " + std::string(8186, 'a')));
        CHECK(client.response().status == 200);
    }
    SECTION("the white space before the value counts")
    {
        client.send(request_with("Long:" + std::string(9000, ' ') + "a"));
        CHECK(client.response().status == 431);
    }
    SECTION("so does a name alone")
    {
        client.send(request_with(std::string(9000, 'N') + ": a"));
        const wsgi_test::Response response = client.response();
        CHECK(response.status == 431);
        CHECK(response.body.find("'" + std::string(40, 'N') + "...' exceeds") != std::string::npos);
    }
    // However the reads split the field, as for the request line (below).
    SECTION("a bad byte past the limit")
    {
        client.send(request_with("Long: " + std::string(9000, 'a') + "\x01"));
        CHECK(client.response().status == 431);
    }
    SECTION("a bad byte past the limit, in the name")
    {
        client.send(request_with(std::string(9000, 'N') + "\x01: a"));
        CHECK(client.response().status == 431);
    }
    SECTION("a bad byte before the limit")
    {
        client.send(request_with("Long: a\x01" + std::string(9000, 'a')));
        CHECK(client.response().status == 400);
    }
}

TEST_CASE("ServerOptions::max_header_line raises the limit on a header field", "[wsgi]")
{
    TestServer server(echo_target, [](auto& options) { options.max_header_line = 16 * 1024; });
    RawClient client(server.address());
    client.send("GET / HTTP/1.1\r\nHost: test\r\nCookie: " + std::string(10'000, 'c') + "\r\n\r\n");
    CHECK(client.response().status == 200);
}

TEST_CASE("a response whose write an application interrupted and caught ends its connection", "[wsgi]")
{
    // More than the two ends' socket buffers hold, so that the write parks
    // until the client reads, which it does only once the application has
    // given up on it.
    const std::size_t big = 32 * 1024 * 1024;
    eventlet::Event<void> gave_up;
    TestServer server([&](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
        if (request.target != "/big")
            return "second";
        start_response("200 OK", {{"Content-Length", std::to_string(big)}});
        try {
            eventlet::Timeout limit(0.2);
            start_response.write(std::string(big, 'x'));
        } catch (const eventlet::TimeoutError&) {
            CHECK(start_response.broken());
            CHECK_THROWS_AS(start_response.write("more"), std::logic_error);
        }
        gave_up.send();
        return "";
    });
    eventlet::Timeout bound(10);
    auto client = eventlet::connect(server.address());
    client.sendall(get("/big") + get("/second"));
    gave_up.wait();
    std::string received;
    for (std::string piece; !(piece = client.recv(std::size_t{65536})).empty();)
        received += piece;
    // One head, then part of the body, then the end of the stream: not the
    // second response, which would read as more of the first body.
    CHECK(received.find("HTTP/1.1") == 0);
    CHECK(received.find("HTTP/1.1", 1) == std::string::npos);
    CHECK(received.size() < big);
}

TEST_CASE("a server killed ends the requests under way with it", "[wsgi]")
{
    eventlet::Event<void> answering;
    bool unwound = false;
    auto listener = eventlet::listen({"127.0.0.1", 0});
    auto server = eventlet::spawn([&] {
        wsgi::server(
            listener,
            [&](wsgi::Request&, wsgi::StartResponse&) -> wsgi::Body {
                const struct Unwound {
                    bool& flag;
                    ~Unwound() { flag = true; }
                } guard{unwound};
                answering.send();
                eventlet::sleep(3600);
                return "never";
            },
            {.log = nullptr});
    });
    eventlet::Timeout bound(5);
    auto client = eventlet::connect(listener.local_address());
    client.sendall(get("/"));
    answering.wait();
    server.kill();
    CHECK_THROWS_AS(server.wait(), eventlet::GreenletExit);
    CHECK(unwound);
    CHECK(client.recv(std::size_t{100}).empty());
}
