// Chapter 9: wsgi::server speaks HTTP/1.1 - requests, keep-alive,
// pipelining, chunked bodies both ways, 100-continue, HEAD, HTTP/1.0.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/wsgi/server.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "wsgi_support.hpp"

using eventlet::wsgi::Body;
using eventlet::wsgi::Request;
using eventlet::wsgi::StartResponse;
using wsgi_test::get;
using wsgi_test::RawClient;
using wsgi_test::TestServer;

namespace {

/// Answers with the request's method, path, query and body, one per line.
Body echo(Request& request, StartResponse& start_response)
{
    std::string body = request.input.read();
    start_response("200 OK", {{"Content-Type", "text/plain"}});
    return request.method + "\n" + request.path + "\n" + request.query + "\n" + body;
}

} // namespace

TEST_CASE("a request reaches the application as method, path, query, headers and peer",
          "[wsgi][http]")
{
    eventlet::Timeout bound(5);
    std::optional<std::string> seen_header;
    std::string peer_host;
    TestServer server([&](Request& request, StartResponse& start_response) -> Body {
        seen_header = request.headers.get("x-custom");
        peer_host = request.peer.host();
        start_response("200 OK", {{"Content-Type", "text/plain"}});
        return request.method + " " + request.path + " ? " + request.query + " " + request.version;
    });
    RawClient client(server.address());
    client.send(get("/feeds/a%20b?n=3&x=%20", "X-Custom: hello  \r\n"));
    const auto response = client.response();
    CHECK(response.status_line == "HTTP/1.1 200 OK");
    CHECK(response.body == "GET /feeds/a b ? n=3&x=%20 HTTP/1.1");
    CHECK(response.headers.get("Content-Length") == std::to_string(response.body.size()));
    CHECK(response.headers.get("Content-Type") == "text/plain");
    CHECK(response.headers.contains("Date"));
    CHECK_FALSE(response.chunked);
    CHECK(seen_header == "hello");
    CHECK(peer_host == "127.0.0.1");
}

TEST_CASE("two requests on one keep-alive connection are both answered", "[wsgi][http]")
{
    eventlet::Timeout bound(5);
    TestServer server(echo);
    RawClient client(server.address());
    client.send(get("/one"));
    const auto first = client.response();
    CHECK(first.body == "GET\n/one\n\n");
    CHECK_FALSE(first.headers.contains("Connection"));
    client.send("POST /two HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello");
    CHECK(client.response().body == "POST\n/two\n\nhello");
    client.send(get("/three", "Connection: close\r\n"));
    const auto last = client.response();
    CHECK(last.body == "GET\n/three\n\n");
    CHECK(last.headers.get("Connection") == "close");
    CHECK(client.closed_by_server());
}

TEST_CASE("pipelined requests sent in one write are answered in order", "[wsgi][http]")
{
    eventlet::Timeout bound(5);
    TestServer server(echo);
    RawClient client(server.address());
    // The second has a body the application does not get to read before
    // the third arrives: the parser must stop at each request's end.
    client.send(get("/a") + "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz" +
                "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
    CHECK(client.response().body == "GET\n/a\n\n");
    CHECK(client.response().body == "POST\n/b\n\nxyz");
    CHECK(client.response().body == "POST\n/c\n\nhi");
}

TEST_CASE("pipelined requests cut anywhere between reads are answered in order", "[wsgi][http]")
{
    // Each write ends in the middle of the next request, at a different
    // point each time: the parser must carry its state across reads
    // wherever a read ends, in the request line, a header, the body.
    eventlet::Timeout bound(10);
    TestServer server(echo);
    RawClient client(server.address());
    constexpr int requests = 500;
    std::string pending;
    for (int i = 0; i < requests; ++i)
        pending += "POST /" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody";
    const std::size_t piece = 61; // shorter than a request, and prime: cuts fall everywhere
    std::size_t sent = 0;
    auto send_piece = [&] {
        const std::size_t n = std::min(piece, pending.size() - sent);
        client.send(std::string_view(pending).substr(sent, n));
        sent += n;
    };
    for (int i = 0; i < requests; ++i) {
        // Send until request i is whole, and the next one begun.
        const std::size_t end_of_i = pending.find("body", pending.find("POST /" + std::to_string(i) + " ")) + 4;
        while (sent <= end_of_i && sent < pending.size())
            send_piece();
        INFO("request " << i);
        REQUIRE(client.response().body == "POST\n/" + std::to_string(i) + "\n\nbody");
    }
}

TEST_CASE("an unread body is skipped so the next request on the connection is served",
          "[wsgi][http]")
{
    eventlet::Timeout bound(5);
    TestServer server([](Request& request, StartResponse& start_response) -> Body {
        start_response("200 OK", {});
        return request.path;
    });
    RawClient client(server.address());
    client.send("POST /ignored HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789" + get("/next"));
    CHECK(client.response().body == "/ignored");
    CHECK(client.response().body == "/next");
}

TEST_CASE("a chunked request body reaches the application decoded, through read, readline and readlines",
          "[wsgi][http]")
{
    eventlet::Timeout bound(5);
    std::vector<std::string> pieces;
    TestServer server([&](Request& request, StartResponse& start_response) -> Body {
        pieces.push_back(request.input.read(3));
        pieces.push_back(request.input.readline());
        for (std::string& line : request.input.readlines())
            pieces.push_back(line);
        pieces.push_back(request.input.read());
        start_response("204 No Content", {});
        return "";
    });
    RawClient client(server.address());
    client.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                "4\r\nabc\n\r\n"
                "a;ext=1\r\nline two\nl\r\n"
                "5\r\nast\nx\r\n"
                "0\r\nTrailer: dropped\r\n\r\n");
    const auto response = client.response();
    CHECK(response.status == 204);
    CHECK_FALSE(response.headers.contains("Transfer-Encoding"));
    CHECK(pieces == std::vector<std::string>{"abc", "\n", "line two\n", "last\n", "x", ""});
}

TEST_CASE("readlines on a keep-alive request returns exactly the body's lines, without blocking",
          "[wsgi][http]")
{
    // Eventlet 0.33 reads past the body here and waits for the client to close.
    eventlet::Timeout bound(5);
    std::vector<std::vector<std::string>> seen;
    TestServer server([&](Request& request, StartResponse& start_response) -> Body {
        seen.push_back(request.input.readlines());
        start_response("200 OK", {});
        return std::to_string(seen.back().size());
    });
    RawClient client(server.address());
    client.send("POST /feed HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\none\ntwo\nend");
    CHECK(client.response().body == "3");
    client.send("POST /feed HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nxyz\n");
    CHECK(client.response().body == "1");
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] == std::vector<std::string>{"one\n", "two\n", "end"});
    CHECK(seen[1] == std::vector<std::string>{"xyz\n"});
}

TEST_CASE("Expect: 100-continue gets its 100 only when the application reads the body",
          "[wsgi][http]")
{
    eventlet::Timeout bound(5);
    const std::string head =
        "Host: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";

    SECTION("the application reads: 100 Continue, then the body, then the answer")
    {
        TestServer server(echo);
        RawClient client(server.address());
        client.send("PUT /x HTTP/1.1\r\n" + head); // no body until told
        const auto interim = client.response();
        CHECK(interim.status_line == "HTTP/1.1 100 Continue");
        CHECK(interim.headers.empty());
        client.send("data");
        const auto final_response = client.response();
        CHECK(final_response.status == 200);
        CHECK(final_response.body == "PUT\n/x\n\ndata");
        client.send(get("/again")); // the connection goes on
        CHECK(client.response().body == "GET\n/again\n\n");
    }
    SECTION("the application does not read: no 100, the answer, and the connection closes")
    {
        TestServer server([](Request&, StartResponse& start_response) -> Body {
            start_response("403 Forbidden", {});
            return "no";
        });
        RawClient client(server.address());
        client.send("PUT /x HTTP/1.1\r\n" + head);
        const auto response = client.response();
        CHECK(response.status == 403);
        CHECK(response.headers.get("Connection") == "close");
        CHECK(client.closed_by_server());
    }
}

TEST_CASE("HEAD gets the headers a GET would get, and no body", "[wsgi][http]")
{
    eventlet::Timeout bound(5);
    TestServer server([](Request& request, StartResponse& start_response) -> Body {
        start_response("200 OK", {{"Content-Type", "text/plain"}});
        if (request.path == "/stream")
            return Body([n = 0]() mutable -> std::optional<std::string> {
                if (n == 2)
                    return std::nullopt;
                return std::string(++n, 'x');
            });
        return "twelve bytes";
    });
    RawClient client(server.address());
    client.send("HEAD /whole HTTP/1.1\r\nHost: t\r\n\r\n");
    const auto whole = client.response(true);
    CHECK(whole.status == 200);
    CHECK(whole.headers.get("Content-Length") == "12");
    client.send("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    const auto stream = client.response(true);
    CHECK(stream.headers.get("Transfer-Encoding") == "chunked");
    // Had a byte of body gone out, this would read it as its status line.
    client.send(get("/whole"));
    CHECK(client.response().body == "twelve bytes");
}

TEST_CASE("a body produced piece by piece goes out chunked, each piece as it comes",
          "[wsgi][http]")
{
    eventlet::Timeout bound(5);
    eventlet::Event<void> go_on;
    TestServer server([&](Request&, StartResponse& start_response) -> Body {
        start_response("200 OK", {{"Content-Type", "text/plain"}});
        return Body([&, n = 0]() mutable -> std::optional<std::string> {
            if (n == 1)
                go_on.wait(); // the first piece must be out before the second exists
            if (n == 3)
                return std::nullopt;
            return "piece " + std::to_string(n++) + "\n";
        });
    });

    SECTION("HTTP/1.1: chunked, and the connection goes on")
    {
        RawClient client(server.address());
        client.send(get("/"));
        CHECK(client.reader.readline() == "HTTP/1.1 200 OK\r\n");
        std::string head;
        for (std::string line; (line = client.reader.readline()) != "\r\n";)
            head += line;
        CHECK(head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
        CHECK(head.find("Content-Length") == std::string::npos);
        CHECK(client.reader.readline() == "8\r\n");
        CHECK(client.reader.readline() == "piece 0\n");
        go_on.send();
        CHECK(client.reader.read_exactly(2 + 3 + 8 + 2 + 3 + 8 + 2 + 5) ==
              "\r\n8\r\npiece 1\n\r\n8\r\npiece 2\n\r\n0\r\n\r\n");
        client.send(get("/"));
        CHECK(client.response().body == "piece 0\npiece 1\npiece 2\n"); // and the connection went on
    }
    SECTION("HTTP/1.0: the body ends with the connection")
    {
        go_on.send();
        RawClient client(server.address());
        client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        const auto response = client.response();
        CHECK_FALSE(response.chunked);
        CHECK_FALSE(response.headers.contains("Content-Length"));
        CHECK(response.headers.get("Connection") == "close");
        CHECK(response.body == "piece 0\npiece 1\npiece 2\n");
    }
}

// A generator must say where it ends: one returning a plain string would
// never end, so it is not a body.
static_assert(std::is_constructible_v<Body, std::optional<std::string> (*)()>);
static_assert(!std::is_constructible_v<Body, std::string (*)()>);

TEST_CASE("an HTTP/1.0 connection closes after its response unless it asks for keep-alive",
          "[wsgi][http]")
{
    eventlet::Timeout bound(5);
    TestServer server(echo);
    {
        RawClient client(server.address());
        client.send("GET /plain HTTP/1.0\r\n\r\n");
        const auto response = client.response();
        CHECK(response.status_line == "HTTP/1.1 200 OK");
        CHECK(response.headers.get("Connection") == "close");
        CHECK(client.closed_by_server());
    }
    RawClient client(server.address());
    client.send("GET /kept HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const auto response = client.response();
    CHECK(response.headers.get("Connection") == "keep-alive");
    client.send("GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(client.response().body == "GET\n/again\n\n");
}

TEST_CASE("the access log has one line per request, in Eventlet's format", "[wsgi][http]")
{
    eventlet::Timeout bound(5);
    TestServer server(echo);
    RawClient client(server.address());
    client.send(get("/logged?q=1") + get("/second"));
    client.response();
    client.response();
    const std::string log = server.log();
    CHECK(log.find("127.0.0.1 - - [") == 0);
    INFO(log);
    CHECK(log.find("] \"GET /logged?q=1 HTTP/1.1\" 200 16 0.") != std::string::npos);
    CHECK(log.find("\"GET /second HTTP/1.1\" 200 13 ") != std::string::npos);
    CHECK(std::count(log.begin(), log.end(), '\n') == 2);
}

TEST_CASE("split_target decodes the path and keeps the query as sent", "[wsgi]")
{
    using eventlet::wsgi::split_target;
    CHECK(split_target("/a%20b/%zz?x=%20") == std::pair<std::string, std::string>("/a b/%zz", "x=%20"));
    CHECK(split_target("http://host:80/p?q") == std::pair<std::string, std::string>("/p", "q"));
    CHECK(split_target("*") == std::pair<std::string, std::string>("*", ""));
}
