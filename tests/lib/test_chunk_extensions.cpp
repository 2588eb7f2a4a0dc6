// A chunked body's size lines may carry extensions ("3;name=value"), which
// are checked (RFC 9112 section 7.1.1) and dropped before llhttp sees the
// line: llhttp 8.1 refuses several valid forms ("5;a=b;c=d", "5 ;a"). A peer
// that sends one without end would hold the other side until a timeout, a
// byte at a time; so the extensions of a message count against the limit of
// its header section, on both sides. Ordinary ones still pass.
#include <catch2/catch.hpp>

#include <eventlet/http/client.hpp>
#include <eventlet/http/errors.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/wsgi/server.hpp>

#include <string>

#include "../07-client/test_server.hpp"
#include "../09-dispatch/wsgi_support.hpp"

namespace http = eventlet::http;
namespace wsgi = eventlet::wsgi;

namespace {

// Sends a chunked response whose first size line has `extension_bytes` of
// extension, in 1 KiB pieces, then the chunk "abc" and the end.
test_support::TestServer chunked_server(std::size_t extension_bytes)
{
    return test_support::TestServer([extension_bytes](const test_support::SeenRequest&,
                                                      eventlet::GreenSocket& socket) {
        try {
            socket.sendall(std::string_view("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;"));
            const std::string piece(1024, 'e');
            for (std::size_t sent = 0; sent < extension_bytes; sent += piece.size())
                socket.sendall(std::string_view(piece).substr(0, extension_bytes - sent));
            socket.sendall(std::string_view("\r\nabc\r\n0\r\n\r\n"));
        } catch (const std::exception&) {
            // the client gave up: what this test wants
        }
    });
}

// Size lines RFC 9112 allows: chunk-ext = *( BWS ";" BWS chunk-ext-name
// [ BWS "=" BWS chunk-ext-val ] ), a value a token or a quoted string.
const char* const valid_size_lines[] = {
    "5;a", "5;a;b", "5;a=b", "5;a=b;c=d", "5;a=b;c", "5;a=b;c=d;e=f", "5 ;a=b", "5; a=b", "5;a = b",
    "5\t;\ta\t=\t\"q s\"", "5;a=\"x\";c=d", "5;a=\"\"", "5;a=\"b\\\"c\"", "5;a=\"b;c\";d", "005;a=b;c=d",
};

// And what it does not: an extension without a name or a value, white space
// inside a token or at the end of the line, a control byte, a bare LF.
const std::string invalid_size_lines[] = {
    "5;a=b c", "5;=b", "5;a=", "5;", "5;;a", "5;a;", "5 ", "5;a ", "5;a=b ", "5 ;", "5;a=\"b", "5;a=\"b\"c",
    std::string("5;a\0b", 5), "5;a\x01", "5;a=b\x7f", "5;a=\"b\x7f\"", "5;a,b", "5;a\n", "5;a=b\n",
    "5\n", " 5", "0x5", ";a",
};

// A server that answers each request with its body; the chunk extensions
// count against its header limit of 4096 bytes.
wsgi_test::TestServer echoing_server()
{
    return wsgi_test::TestServer(
        [](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
            std::string body = request.input.read();
            start_response("200 OK", {});
            return body;
        },
        [](wsgi::ServerOptions& options) { options.max_header_bytes = 4096; });
}

} // namespace

TEST_CASE("urlopen reads a chunked body whatever valid extensions its size lines carry", "[http]")
{
    eventlet::Timeout bound(10);
    for (const char* line : valid_size_lines) {
        CAPTURE(line);
        test_support::TestServer server(test_support::always(
            std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + line +
            "\r\nhello\r\n3;x=y;z\r\n, g\r\n0;a=b;c=d\r\nX-Trailer: t\r\n\r\n"));
        CHECK(http::urlopen(server.url()).body == "hello, g");
    }
    for (const std::string& line : invalid_size_lines) {
        CAPTURE(line);
        test_support::TestServer server(test_support::always(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + line + "\r\nhello\r\n0\r\n\r\n"));
        CHECK_THROWS_AS(http::urlopen(server.url()), http::ProtocolError);
    }
}

TEST_CASE("urlopen refuses a response whose chunk extensions exceed its header limit", "[http]")
{
    eventlet::Timeout bound(10);
    SECTION("an ordinary extension passes")
    {
        auto server = chunked_server(20);
        CHECK(http::urlopen(server.url(), {.max_header_size = 4096}).body == "abc");
    }
    SECTION("one without end is stopped at the limit")
    {
        auto server = chunked_server(1 << 20);
        CHECK_THROWS_WITH(http::urlopen(server.url(), {.max_header_size = 4096}),
                          Catch::Contains("chunk extensions exceed 4096 bytes"));
    }
}

TEST_CASE("the server answers 400 to a body whose chunk extensions exceed its header limit", "[wsgi]")
{
    eventlet::Timeout bound(10);
    wsgi_test::TestServer server = echoing_server();
    wsgi_test::RawClient client(server.address());
    const std::string head = "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
    SECTION("an ordinary extension passes")
    {
        client.send(head + "3;name=value\r\nabc\r\n0\r\n\r\n");
        const wsgi_test::Response response = client.response();
        CHECK(response.status == 200);
        CHECK(response.body == "abc");
    }
    SECTION("one without end is stopped at the limit")
    {
        client.send(head + "3;" + std::string(8192, 'e'));
        const wsgi_test::Response response = client.response();
        CHECK(response.status == 400);
        CHECK_THAT(response.body, Catch::Contains("chunk extensions exceed 4096 bytes"));
    }
}

TEST_CASE("the server reads a chunked body whatever valid extensions its size lines carry", "[wsgi]")
{
    eventlet::Timeout bound(10);
    wsgi_test::TestServer server = echoing_server();
    const std::string head = "POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
    SECTION("valid ones pass, on every chunk")
    {
        wsgi_test::RawClient client(server.address());
        for (const char* line : valid_size_lines) {
            CAPTURE(line);
            client.send(head + line + "\r\nhello\r\n3;x=y;z\r\n, g\r\n0;a=b;c=d\r\nX-Trailer: t\r\n\r\n");
            const wsgi_test::Response response = client.response();
            CHECK(response.status == 200);
            CHECK(response.body == "hello, g");
        }
    }
    SECTION("the others are refused")
    {
        for (const std::string& line : invalid_size_lines) {
            CAPTURE(line);
            wsgi_test::RawClient client(server.address());
            client.send(head + line + "\r\nhello\r\n0\r\n\r\n");
            CHECK(client.response().status == 400);
        }
    }
    SECTION("on a later chunk too")
    {
        wsgi_test::RawClient client(server.address());
        client.send(head + "3;a=b\r\nabc\r\n2;a=b c\r\nde\r\n0\r\n\r\n");
        const wsgi_test::Response response = client.response();
        CHECK(response.status == 400);
        CHECK_THAT(response.body, Catch::Contains("invalid chunk extension"));
    }
    SECTION("separators count against the limit: ';a' without end is stopped")
    {
        std::string line = "3";
        for (int i = 0; i < 4000; ++i)
            line += ";a";
        wsgi_test::RawClient client(server.address());
        client.send(head + line);
        const wsgi_test::Response response = client.response();
        CHECK(response.status == 400);
        CHECK_THAT(response.body, Catch::Contains("chunk extensions exceed 4096 bytes"));
    }
}
