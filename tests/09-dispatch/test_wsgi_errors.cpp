// Chapter 9: bad input gets the right status, and the server goes on
// serving everyone else.
#include <catch2/catch.hpp>

#include <eventlet/timeout.hpp>
#include <eventlet/wsgi/server.hpp>

#include <optional>
#include <stdexcept>
#include <string>

#include "wsgi_support.hpp"

using eventlet::wsgi::Body;
using eventlet::wsgi::Request;
using eventlet::wsgi::StartResponse;
using wsgi_test::get;
using wsgi_test::RawClient;
using wsgi_test::TestServer;

namespace {

Body hello(Request& request, StartResponse& start_response)
{
    request.input.read();
    start_response("200 OK", {{"Content-Type", "text/plain"}});
    return "hello";
}

/// Sends `bytes` on a new connection; checks that the answer has `status`
/// and that the connection is closed after it; then checks that a new
/// connection is served.
void expect_refusal(TestServer& server, const std::string& bytes, int status)
{
    {
        RawClient client(server.address());
        client.send(bytes);
        const auto response = client.response();
        CHECK(response.status == status);
        CHECK(response.headers.get("Connection") == "close");
        CHECK(client.closed_by_server());
    }
    RawClient next(server.address());
    next.send(get("/"));
    CHECK(next.response().body == "hello");
}

} // namespace

TEST_CASE("a malformed request gets 400 and the server goes on serving", "[wsgi][errors]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello);
    SECTION("a request line that is not one")
    {
        expect_refusal(server, "HELLO\r\n\r\n", 400);
    }
    SECTION("a space before the colon of a header (strict mode)")
    {
        expect_refusal(server, "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
    }
    SECTION("a bare LF ending a line (strict mode)")
    {
        expect_refusal(server, "GET / HTTP/1.1\nHost: x\n\n", 400);
    }
    SECTION("both Content-Length and chunked (a smuggling attempt)")
    {
        expect_refusal(server,
                       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                       400);
    }
    SECTION("a chunk size that is not hexadecimal, found while the application reads")
    {
        expect_refusal(server, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400);
    }
    SECTION("a connection that ends inside the body")
    {
        RawClient client(server.address());
        client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
        client.socket.shutdown(eventlet::Shutdown::write);
        CHECK(client.response().status == 400);
        RawClient next(server.address());
        next.send(get("/"));
        CHECK(next.response().body == "hello");
    }
}

TEST_CASE("a body over the limit gets 413", "[wsgi][errors]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello, [](auto& options) { options.max_body_bytes = 10; });
    SECTION("a Content-Length over the limit: refused before the body is read")
    {
        expect_refusal(server, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", 413);
    }
    SECTION("a chunked body that grows over the limit")
    {
        expect_refusal(server,
                       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "6\r\n123456\r\n6\r\n789012\r\n0\r\n\r\n",
                       413);
    }
    SECTION("a body of exactly the limit is accepted")
    {
        RawClient client(server.address());
        client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
        CHECK(client.response().status == 200);
    }
}

TEST_CASE("a header section over the limit gets 431", "[wsgi][errors]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello, [](auto& options) { options.max_header_bytes = 200; });
    SECTION("one long header")
    {
        expect_refusal(server, get("/", "X-Big: " + std::string(300, 'x') + "\r\n"), 431);
    }
    SECTION("many short headers, sent without end")
    {
        std::string many = "GET / HTTP/1.1\r\n";
        for (int i = 0; i < 100; ++i)
            many += "X-" + std::to_string(i) + ": y\r\n";
        expect_refusal(server, many, 431);
    }
    SECTION("a header section of exactly the limit is accepted")
    {
        std::string request = get("/", "X-Pad: ");
        request.insert(request.size() - 2, std::string(200 - request.size() - 2, 'p') + "\r\n");
        REQUIRE(request.size() == 200);
        RawClient client(server.address());
        client.send(request);
        CHECK(client.response().status == 200);
    }
}

TEST_CASE("a version other than HTTP/1.0 and HTTP/1.1 gets 505", "[wsgi][errors]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello);
    SECTION("HTTP/2.0") { expect_refusal(server, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505); }
    SECTION("HTTP/1.2") { expect_refusal(server, "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505); }
    SECTION("HTTP/0.9") { expect_refusal(server, "GET / HTTP/0.9\r\n\r\n", 505); }
    SECTION("a version that is not a version is malformed instead")
    {
        expect_refusal(server, "GET / HTTP/x.1\r\n\r\n", 400);
    }
}

TEST_CASE("an expectation other than 100-continue gets 417", "[wsgi][errors]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello);
    expect_refusal(server, get("/", "Expect: something-else\r\nContent-Length: 0\r\n"), 417);
}

TEST_CASE("an exception thrown by the application is logged and answered with 500, and the server goes on",
          "[wsgi][errors]")
{
    eventlet::Timeout bound(5);
    TestServer server([](Request& request, StartResponse& start_response) -> Body {
        if (request.path == "/fail")
            throw std::runtime_error("the database is on fire");
        if (request.path == "/late") {
            start_response("200 OK", {});
            return Body([]() -> std::optional<std::string> { throw std::runtime_error("late failure"); });
        }
        if (request.path == "/missing")
            throw eventlet::wsgi::HttpError(404, "no such feed");
        if (request.path == "/int")
            throw 42;
        if (request.path == "/nostart")
            return "no start_response";
        return hello(request, start_response);
    });
    SECTION("before the response began")
    {
        expect_refusal(server, get("/fail"), 500);
        const std::string log = server.log();
        CHECK(log.find("error in the application answering \"GET /fail HTTP/1.1\": the database is on fire") !=
              std::string::npos);
        CHECK(log.find("\"GET /fail HTTP/1.1\" 500 ") != std::string::npos);
    }
    SECTION("inside the body generator, before the first piece")
    {
        expect_refusal(server, get("/late"), 500);
        CHECK(server.log().find("late failure") != std::string::npos);
    }
    SECTION("an HttpError keeps its status")
    {
        RawClient client(server.address());
        client.send(get("/missing"));
        const auto response = client.response();
        CHECK(response.status_line == "HTTP/1.1 404 Not Found");
        CHECK(response.body == "no such feed\n");
    }
    SECTION("an exception of no standard type")
    {
        expect_refusal(server, get("/int"), 500);
        CHECK(server.log().find("unknown type") != std::string::npos);
    }
    SECTION("an application that never calls start_response")
    {
        expect_refusal(server, get("/nostart"), 500);
        CHECK(server.log().find("start_response") != std::string::npos);
    }
}

TEST_CASE("more header fields than the limit get 431, however few bytes they take", "[wsgi][errors]")
{
    // 16k fields of "a:" fit in 64 KiB and would cost 1 MiB of strings.
    eventlet::Timeout bound(5);
    TestServer server(hello);
    std::string fields;
    for (int i = 0; i < 100; ++i)
        fields += "a:\r\n";
    SECTION("one field over the default of 100") { expect_refusal(server, get("/", fields + "a:\r\n"), 431); }
    SECTION("100 fields (the Host one included) are accepted")
    {
        RawClient client(server.address());
        client.send(get("/", fields.substr(4)));
        CHECK(client.response().status == 200);
    }
}

TEST_CASE("a header byte limit of SIZE_MAX means no limit, not a limit of nothing", "[wsgi][errors]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello, [](auto& options) {
        options.max_header_bytes = SIZE_MAX;
        options.header_timeout = 1;
    });
    RawClient client(server.address());
    client.send(get("/"));
    CHECK(client.response().status == 200);
}

TEST_CASE("a request line over 8 KiB gets 414", "[wsgi][errors]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello);
    const std::string prefix = "GET /";
    const std::string suffix = " HTTP/1.1";
    SECTION("8193 bytes")
    {
        const std::string line = prefix + std::string(8193 - prefix.size() - suffix.size(), 'x') + suffix;
        REQUIRE(line.size() == 8193);
        expect_refusal(server, line + "\r\nHost: x\r\n\r\n", 414);
    }
    SECTION("8192 bytes are accepted")
    {
        const std::string line = prefix + std::string(8192 - prefix.size() - suffix.size(), 'x') + suffix;
        RawClient client(server.address());
        client.send(line + "\r\nHost: x\r\n\r\n");
        CHECK(client.response().status == 200);
    }
}

TEST_CASE("an HTTP/1.1 request without a Host, with two, or with a field of no name gets 400 (RFC 9112)",
          "[wsgi][errors]")
{
    eventlet::Timeout bound(5);
    TestServer server(hello);
    SECTION("no Host") { expect_refusal(server, "GET / HTTP/1.1\r\n\r\n", 400); }
    SECTION("two Host fields") { expect_refusal(server, "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400); }
    SECTION("a field with an empty name") { expect_refusal(server, get("/", ": value\r\n"), 400); }
    SECTION("HTTP/1.0 needs no Host")
    {
        RawClient client(server.address());
        client.send("GET / HTTP/1.0\r\n\r\n");
        CHECK(client.response().status == 200);
    }
}
