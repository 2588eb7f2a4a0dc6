// The framing of requests and responses, where a front end (a proxy, a load
// balancer) and this server could read one stream of bytes differently: a
// folded header line, an empty Transfer-Encoding, a Transfer-Encoding the
// application sets. Each difference lets a client hide a request inside
// another (request smuggling), so each is refused rather than guessed at.
// And the limits and field checks that keep a slow or careless peer from
// holding a connection or corrupting a response.
#include <catch2/catch.hpp>

#include <eventlet/timeout.hpp>
#include <eventlet/wsgi/server.hpp>

#include <optional>
#include <stdexcept>
#include <string>

#include "../09-dispatch/wsgi_support.hpp"

namespace wsgi = eventlet::wsgi;

namespace {

// Answers with the request's target and its body.
wsgi::Body framing_echo(wsgi::Request& request, wsgi::StartResponse& start_response)
{
    std::string body = request.input.read();
    start_response("200 OK", {{"Content-Type", "text/plain"}});
    return request.target + ":" + body;
}

// Sends `bytes` on a new connection; checks that the answer has `status`,
// says that the connection ends, and that it does.
void framing_expect_refusal(wsgi_test::TestServer& server, const std::string& bytes, int status)
{
    wsgi_test::RawClient client(server.address());
    client.send(bytes);
    const wsgi_test::Response response = client.response();
    CHECK(response.status == status);
    CHECK(response.headers.get("Connection") == "close");
    CHECK(client.closed_by_server());
}

// A POST of `body` to `target` with the header lines given (Host first).
std::string framing_post(std::string_view target, std::string_view headers, std::string_view body)
{
    return "POST " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(headers) + "\r\n" +
           std::string(body);
}

} // namespace

// ---- 1: obs-fold

TEST_CASE("a header line folded onto the one before (obs-fold) gets 400, and the connection ends",
          "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server(framing_echo);
    // A front end that does not fold sees a Content-Length of 5 here, and
    // "hello" as this request's body; unfolded, it is the next request's start.
    SECTION("a Content-Length hidden in the Host field by a leading space")
    {
        framing_expect_refusal(server, framing_post("/", " Content-Length: 5\r\n", "hello") + wsgi_test::get("/2"),
                               400);
    }
    SECTION("a value continued on a line of its own")
    {
        framing_expect_refusal(server, wsgi_test::get("/", "X-A: a\r\n b\r\n"), 400);
    }
    SECTION("a value continued after a tab")
    {
        framing_expect_refusal(server, wsgi_test::get("/", "X-A: a\r\n\tb\r\n"), 400);
    }
    SECTION("the fold in a read of its own")
    {
        wsgi_test::RawClient client(server.address());
        client.send("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n");
        client.send(" b\r\n\r\n");
        CHECK(client.response().status == 400);
        CHECK(client.closed_by_server());
    }
}

TEST_CASE("a body that begins with a space or a tab is no folded header line", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server(framing_echo);
    wsgi_test::RawClient client(server.address());
    client.send(framing_post("/1", "Content-Length: 3\r\n", " ab") + framing_post("/2", "Content-Length: 2\r\n", "\tc"));
    CHECK(client.response().body == "/1: ab");
    CHECK(client.response().body == "/2:\tc");
}

// ---- 2: empty Transfer-Encoding

TEST_CASE("a Transfer-Encoding without a coding gets 400, and the connection ends", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server(framing_echo);
    // Either a front end reads this body by its Content-Length and we by
    // Transfer-Encoding, or the other way round: one of the two is wrong.
    SECTION("an empty one beside a Content-Length")
    {
        framing_expect_refusal(server,
                               framing_post("/", "Transfer-Encoding: \r\nContent-Length: 5\r\n", "hello") +
                                   wsgi_test::get("/2"),
                               400);
    }
    SECTION("an empty one before a chunked body")
    {
        framing_expect_refusal(server,
                               framing_post("/", "Transfer-Encoding: \r\n", "5\r\nhello\r\n0\r\n\r\n") +
                                   wsgi_test::get("/2"),
                               400);
    }
    SECTION("one of empty list elements only")
    {
        framing_expect_refusal(server, framing_post("/", "Transfer-Encoding: , \r\n", "0\r\n\r\n"), 400);
    }
    SECTION("an empty one after a chunked one")
    {
        framing_expect_refusal(
            server, framing_post("/", "Transfer-Encoding: chunked\r\nTransfer-Encoding: \r\n", "0\r\n\r\n"), 400);
    }
}

TEST_CASE("a chunked Transfer-Encoding among empty list elements is still chunked", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server(framing_echo);
    wsgi_test::RawClient client(server.address());
    client.send(framing_post("/", "Transfer-Encoding: , chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"));
    CHECK(client.response().body == "/:hello");
}

// ---- 3: the application's Transfer-Encoding

TEST_CASE("an application that sets Transfer-Encoding gets a 500, its head never sent", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    std::string version = "HTTP/1.1";
    std::string coding = "chunked";
    bool piece_by_piece = false;
    SECTION("chunked, with a body known whole") {}
    SECTION("chunked, with a body piece by piece") { piece_by_piece = true; }
    SECTION("chunked, to HTTP/1.0") { version = "HTTP/1.0"; }
    SECTION("gzip") { coding = "gzip"; }
    wsgi_test::TestServer server([&](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
        start_response("200 OK", {{"Transfer-Encoding", coding}});
        if (!piece_by_piece)
            return "hello world";
        return wsgi::Body([pieces = 0]() mutable -> std::optional<std::string> {
            if (pieces++ < 2)
                return std::string("abc");
            return std::nullopt;
        });
    });
    wsgi_test::RawClient client(server.address());
    client.send("GET / " + version + "\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
    const wsgi_test::Response response = client.response();
    CHECK(response.status == 500);
    CHECK_FALSE(response.headers.contains("Transfer-Encoding"));
    CHECK(response.headers.get("Connection") == "close");
    CHECK(client.closed_by_server());
    server.stop();
    CHECK(server.log().find("Transfer-Encoding") != std::string::npos);
}

// ---- 4: trailers and chunk sizes

TEST_CASE("a chunked body's trailer section over the header limit gets 431", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server(framing_echo, [](wsgi::ServerOptions& options) { options.max_header_bytes = 1024; });
    std::string trailers;
    SECTION("one long field")
    {
        trailers = "X-T: " + std::string(2000, 't') + "\r\n";
    }
    SECTION("many short ones")
    {
        for (int i = 0; i < 300; ++i)
            trailers += "X: y\r\n";
    }
    framing_expect_refusal(server, framing_post("/", "Transfer-Encoding: chunked\r\n", "1\r\na\r\n0\r\n" + trailers + "\r\n"),
                           431);
}

TEST_CASE("a trailer section within the header limit is accepted, and dropped", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server(framing_echo, [](wsgi::ServerOptions& options) { options.max_header_bytes = 1024; });
    wsgi_test::RawClient client(server.address());
    const std::string trailers = "X-T: " + std::string(900, 't') + "\r\n";
    client.send(framing_post("/1", "Transfer-Encoding: chunked\r\n", "1\r\na\r\n0\r\n" + trailers + "\r\n") +
                wsgi_test::get("/2"));
    CHECK(client.response().body == "/1:a");
    CHECK(client.response().body == "/2:");
}

TEST_CASE("a chunk size of more than 32 digits gets 400, though most are leading zeros", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server(framing_echo);
    SECTION("in one read")
    {
        framing_expect_refusal(
            server, framing_post("/", "Transfer-Encoding: chunked\r\n", std::string(32, '0') + "1\r\na\r\n0\r\n\r\n"),
            400);
    }
    SECTION("a digit at a time")
    {
        wsgi_test::RawClient client(server.address());
        client.send(framing_post("/", "Transfer-Encoding: chunked\r\n", ""));
        for (int i = 0; i < 32; ++i)
            client.send("0");
        client.send("1\r\na\r\n0\r\n\r\n");
        CHECK(client.response().status == 400);
        CHECK(client.closed_by_server());
    }
    SECTION("in the last chunk's size")
    {
        framing_expect_refusal(
            server, framing_post("/", "Transfer-Encoding: chunked\r\n", "1\r\na\r\n" + std::string(33, '0') + "\r\n\r\n"),
            400);
    }
}

TEST_CASE("a chunk size of 32 digits, leading zeros included, is accepted", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server(framing_echo);
    wsgi_test::RawClient client(server.address());
    client.send(framing_post("/", "Transfer-Encoding: chunked\r\n",
                             std::string(31, '0') + "5\r\nhello\r\n" + std::string(32, '0') + "\r\n\r\n"));
    CHECK(client.response().body == "/:hello");
}

// ---- 5: the application's header fields and status

TEST_CASE("start_response refuses a header name that is no token, and control bytes in a value or "
          "the status",
          "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    std::string status = "200 OK";
    std::string name = "X-A";
    std::string value = "v";
    bool valid = false;
    SECTION("a space in a name") { name = "Bad Name"; }
    SECTION("a leading space in a name (a fold on the wire)") { name = " X-A"; }
    SECTION("a trailing space in a name") { name = "X-A "; }
    SECTION("a NUL in a name") { name = std::string("X\0A", 3); }
    SECTION("a '(' in a name") { name = "X(A)"; }
    SECTION("a byte past ASCII in a name") { name = "X-\xc3\xa9"; }
    SECTION("a NUL in a value") { value = std::string("a\0b", 3); }
    SECTION("a control byte in a value") { value = "a\x01" "b"; }
    SECTION("DEL in a value") { value = "a\x7f"; }
    SECTION("a NUL in the status") { status = std::string("200 OK\0", 7); }
    SECTION("a control byte in the status") { status = "200 O\x1bK"; }
    SECTION("a tab and bytes past ASCII in a value are fine")
    {
        value = "a\tcaf\xc3\xa9";
        valid = true;
    }
    SECTION("a token's punctuation in a name is fine")
    {
        name = "X-!#$%&'*+.^_`|~";
        valid = true;
    }
    SECTION("a tab and bytes past ASCII in the phrase are fine")
    {
        status = "200 O\tK \xc3\xa9";
        valid = true;
    }
    wsgi_test::TestServer server([&](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
        try {
            start_response(status, {{name, value}});
        } catch (const std::invalid_argument&) {
            start_response("200 OK", {});
            return "refused";
        }
        return "accepted";
    });
    wsgi_test::RawClient client(server.address());
    client.send(wsgi_test::get("/"));
    CHECK(client.response().body == (valid ? "accepted" : "refused"));
}

// ---- 6: the application's Connection header

TEST_CASE("an application's Connection: keep-alive is dropped when the server closes", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    bool keepalive_option = true;
    std::string extra;
    SECTION("the client asks to close") { extra = "Connection: close\r\n"; }
    SECTION("the server keeps no connection") { keepalive_option = false; }
    wsgi_test::TestServer server(
        [](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
            start_response("200 OK", {{"Connection", "keep-alive"}});
            return "ka";
        },
        [keepalive_option](wsgi::ServerOptions& options) { options.keepalive = keepalive_option; });
    wsgi_test::RawClient client(server.address());
    client.send(wsgi_test::get("/", extra));
    const wsgi_test::Response response = client.response();
    CHECK(response.body == "ka");
    int connection_fields = 0;
    for (const auto& [field, field_value] : response.headers)
        connection_fields += wsgi::iequals(field, "Connection") ? 1 : 0;
    CHECK(connection_fields == 1);
    CHECK(response.headers.get("Connection") == "close");
    CHECK(client.closed_by_server());
}

// ---- 7: 204 and Content-Length

TEST_CASE("a 204 goes out without the application's Content-Length, and the connection goes on",
          "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server([](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
        if (request.target == "/204") {
            start_response("204 No Content", {{"Content-Length", "5"}});
            return "";
        }
        start_response("200 OK", {});
        return "next";
    });
    wsgi_test::RawClient client(server.address());
    client.send(wsgi_test::get("/204") + wsgi_test::get("/2"));
    const wsgi_test::Response response = client.response();
    CHECK(response.status == 204);
    CHECK_FALSE(response.headers.contains("Content-Length"));
    CHECK_FALSE(response.headers.contains("Transfer-Encoding"));
    CHECK(client.response().body == "next");
}

// ---- 8: HTTP/1.0 and chunked

TEST_CASE("an HTTP/1.0 request with a chunked body ends its connection, keep-alive or not", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server(framing_echo);
    wsgi_test::RawClient client(server.address());
    client.send("POST /1 HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n0\r\n\r\nGET /2 HTTP/1.0\r\n\r\n");
    const wsgi_test::Response response = client.response();
    CHECK(response.body == "/1:hello");
    CHECK(response.headers.get("Connection") == "close");
    CHECK(client.closed_by_server());
}

// ---- 9: the Host value

TEST_CASE("a Host that is no host and port gets 400", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server(framing_echo);
    SECTION("a space inside") { framing_expect_refusal(server, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400); }
    SECTION("a path") { framing_expect_refusal(server, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400); }
    SECTION("user information") { framing_expect_refusal(server, "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400); }
    SECTION("in HTTP/1.0 too") { framing_expect_refusal(server, "GET / HTTP/1.0\r\nHost: a b\r\n\r\n", 400); }
}

TEST_CASE("a Host of a name, an IP literal or nothing, with or without a port, is accepted", "[wsgi][framing]")
{
    eventlet::Timeout bound(5);
    wsgi_test::TestServer server(framing_echo);
    for (const char* host : {"example.com", "example.com:8080", "127.0.0.1:80", "[::1]:8080", "[v1.x]", "",
                             "a_b-c~d%41!$&'()*+,;="}) {
        wsgi_test::RawClient client(server.address());
        client.send("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n");
        CHECK(client.response().status == 200);
    }
}
