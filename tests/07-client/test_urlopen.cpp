// Chapter 7: urlopen() against green servers in the test process.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/http/client.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <sys/socket.h>

#include <chrono>
#include <string>
#include <vector>

#include "../support/net_helpers.hpp"
#include "../support/timeout_message.hpp"
#include "test_server.hpp"

using eventlet::GreenSocket;
using eventlet::http::HttpError;
using eventlet::http::Options;
using eventlet::http::Response;
using eventlet::http::urlopen;
using test_support::always;
using test_support::response_with;
using test_support::SeenRequest;
using test_support::TestServer;
using Catch::Contains;

namespace {

/// `size` bytes that are not all alike, so that a lost or repeated piece shows.
std::string pattern(std::size_t size)
{
    std::string text(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        text[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    return text;
}

/// Seconds since `start`.
double since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

TEST_CASE("urlopen sends a proper HTTP/1.1 request", "[http][client]")
{
    TestServer server(always(response_with("hi")));
    const Response response = urlopen(server.url("/path?q=1"));
    REQUIRE(server.requests().size() == 1);
    const SeenRequest& request = server.requests()[0];
    CHECK(request.method == "GET");
    CHECK(request.target == "/path?q=1");
    CHECK(request.header("Host") == server.url("").substr(7));
    CHECK(request.header("User-Agent").starts_with("eventlet-cpp-urlopen/"));
    CHECK(request.header("Accept-Encoding") == "identity");
    CHECK(request.header("Connection") == "close");
    CHECK(request.header("Content-Length").empty());

    SECTION("with the caller's headers, which replace the defaults of the same name")
    {
        Options options;
        options.headers = {{"User-Agent", "crawler/2"}, {"X-Trace", "1"}, {"X-Trace", "2"}};
        urlopen(server.url("/"), options);
        const SeenRequest& second = server.requests().at(1);
        CHECK(second.header("User-Agent") == "crawler/2");
        std::vector<std::string> traces;
        for (const std::string& line : second.header_lines)
            if (line.starts_with("X-Trace"))
                traces.push_back(line);
        CHECK(traces == std::vector<std::string>{"X-Trace: 1", "X-Trace: 2"});
    }
    SECTION("and a body with its Content-Length")
    {
        Options options;
        options.method = "POST";
        options.body = "name=value";
        urlopen(server.url("/form"), options);
        const SeenRequest& second = server.requests().at(1);
        CHECK(second.method == "POST");
        CHECK(second.header("Content-Length") == "10");
        CHECK(second.body == "name=value");
    }
    SECTION("but nothing that would change the request's framing or split a field")
    {
        Options options;
        options.headers = {{"Content-Length", "5"}};
        CHECK_THROWS_WITH(urlopen(server.url("/"), options), Contains("Content-Length header is urlopen's own"));
        options.headers = {{"X-Evil", "a\r\nInjected: 1"}};
        CHECK_THROWS_AS(urlopen(server.url("/"), options), std::invalid_argument);
        options.headers = {{"Bad Name", "x"}};
        CHECK_THROWS_AS(urlopen(server.url("/"), options), std::invalid_argument);
        options = Options{.method = "GET /x HTTP/1.1\r\n"};
        CHECK_THROWS_WITH(urlopen(server.url("/"), options), Contains("is not an HTTP method"));
        CHECK(server.requests().size() == 1);
    }
}

TEST_CASE("urlopen reads a body framed by Content-Length, chunked, or the end of the connection",
          "[http][client]")
{
    SECTION("Content-Length, the response sent in pieces")
    {
        TestServer server([](const SeenRequest&, GreenSocket& socket) {
            const std::string response = response_with("hello, world", "200 OK", "Content-Type: text/plain\r\n");
            for (char c : response) {
                socket.sendall(std::string(1, c));
                eventlet::sleep(0); // one byte per read, at worst
            }
        });
        const Response response = urlopen(server.url("/"));
        CHECK(response.status == 200);
        CHECK(response.reason == "OK");
        CHECK(response.ok());
        CHECK(response.body == "hello, world");
        CHECK(response.headers.get("content-type") == "text/plain");
        CHECK(response.url.to_string() == server.url("/"));
    }
    SECTION("chunked, with extensions and trailers")
    {
        TestServer server(always("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "5\r\nhello\r\n7;note=x\r\n, green\r\n1\r\n!\r\n0\r\nX-Trailer: t\r\n\r\n"));
        const Response response = urlopen(server.url("/"));
        CHECK(response.body == "hello, green!");
    }
    SECTION("read to close, with HTTP/1.0")
    {
        TestServer server(always("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end"));
        const Response response = urlopen(server.url("/"));
        CHECK(response.body == "until the end");
        CHECK(response.version_major == 1);
        CHECK(response.version_minor == 0);
    }
    SECTION("read to close, with HTTP/1.1 and no length")
    {
        TestServer server([](const SeenRequest&, GreenSocket& socket) {
            socket.sendall("HTTP/1.1 200 OK\r\n\r\nfirst ");
            eventlet::sleep(0);
            socket.sendall("second");
        });
        CHECK(urlopen(server.url("/")).body == "first second");
    }
    SECTION("no body at all: 204, and the answer to HEAD")
    {
        TestServer server([](const SeenRequest& request, GreenSocket& socket) {
            if (request.method == "HEAD")
                socket.sendall("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
            else
                socket.sendall("HTTP/1.1 204 No Content\r\n\r\n");
        });
        CHECK(urlopen(server.url("/")).status == 204);
        const Response head = urlopen(server.url("/"), {.method = "HEAD"});
        CHECK(head.body.empty());
        CHECK(head.headers.get("Content-Length") == "1000");
    }
    SECTION("after an interim 100 Continue")
    {
        TestServer server(always("HTTP/1.1 100 Continue\r\n\r\n" + response_with("after")));
        const Response response = urlopen(server.url("/"));
        CHECK(response.status == 200);
        CHECK(response.body == "after");
    }
}

TEST_CASE("response headers keep their order and their repeats", "[http][client]")
{
    TestServer server(always(response_with("", "200 Fine Thanks",
                                           "Set-Cookie: a=1\r\nX-Padded:   spaced   \r\nset-cookie: b=2\r\n")));
    const Response response = urlopen(server.url("/"));
    CHECK(response.reason == "Fine Thanks");
    CHECK(response.headers.get_all("SET-COOKIE") == std::vector<std::string_view>{"a=1", "b=2"});
    CHECK(response.headers.get("x-padded") == "spaced");
    CHECK(response.headers.begin()->name == "Content-Length");
}

TEST_CASE("urlopen follows redirects", "[http][client][redirect]")
{
    TestServer server([](const SeenRequest& request, GreenSocket& socket) {
        const std::string& target = request.target;
        if (target.starts_with("/status/")) // "/status/303/to/x" answers 303 to /x
            socket.sendall(response_with("moved", target.substr(8, 3) + " Moved",
                                         "Location: " + target.substr(14) + "\r\n"));
        else if (target == "/relative/a")
            socket.sendall(response_with("", "302 Found", "Location: b?x=1\r\n"));
        else if (target.starts_with("/hop/")) { // /hop/N redirects to /hop/N-1, /hop/0 answers
            const int n = std::stoi(target.substr(5));
            socket.sendall(n == 0 ? response_with("landed")
                                  : response_with("", "302 Found",
                                                  "Location: /hop/" + std::to_string(n - 1) + "\r\n"));
        } else if (target == "/loop/a")
            socket.sendall(response_with("", "302 Found", "Location: /loop/b\r\n"));
        else if (target == "/loop/b")
            socket.sendall(response_with("", "301 Moved Permanently", "Location: http://" +
                                                 request.header("Host") + "/loop/a\r\n"));
        else if (target == "/to-ftp")
            socket.sendall(response_with("", "302 Found", "Location: ftp://example.com/\r\n"));
        else
            socket.sendall(response_with(request.method + " " + target + " [" + request.body + "]"));
    });

    SECTION("each of 301, 302, 303, 307 and 308")
    {
        for (const char* status : {"301", "302", "303", "307", "308"}) {
            INFO(status);
            const Response response = urlopen(server.url("/status/") + status + "/to/end");
            CHECK(response.status == 200);
            CHECK(response.body == "GET /end []");
            CHECK(response.url.to_string() == server.url("/end"));
        }
    }
    SECTION("a relative Location, against the URL that sent it")
    {
        CHECK(urlopen(server.url("/relative/a")).body == "GET /relative/b?x=1 []");
    }
    SECTION("303 turns a POST into a GET without a body; 307 and 308 keep both")
    {
        const Options post{.method = "POST", .body = "data"};
        CHECK(urlopen(server.url("/status/303/to/end"), post).body == "GET /end []");
        CHECK(urlopen(server.url("/status/302/to/end"), post).body == "GET /end []");
        CHECK(urlopen(server.url("/status/307/to/end"), post).body == "POST /end [data]");
        CHECK(urlopen(server.url("/status/308/to/end"), post).body == "POST /end [data]");
    }
    SECTION("up to max_redirects, and no more")
    {
        CHECK(urlopen(server.url("/hop/10")).body == "landed");
        CHECK_THROWS_MATCHES(urlopen(server.url("/hop/11")), eventlet::http::RedirectError,
                             Catch::Message(server.url("/hop/11") + ": more than 10 redirects"));
        CHECK(urlopen(server.url("/hop/3"), {.max_redirects = 3}).body == "landed");
        CHECK_THROWS_AS(urlopen(server.url("/hop/1"), {.max_redirects = 0}), eventlet::http::RedirectError);
    }
    SECTION("a loop is stopped as soon as it closes")
    {
        const std::size_t before = server.requests().size();
        CHECK_THROWS_MATCHES(urlopen(server.url("/loop/a")), eventlet::http::RedirectError,
                             Catch::Message("redirect loop: " + server.url("/loop/a") + " -> " +
                                            server.url("/loop/b") + " -> " + server.url("/loop/a")));
        CHECK(server.requests().size() - before == 2);
    }
    SECTION("a redirect to a scheme it cannot fetch keeps its error's type and says where it came from")
    {
        CHECK_THROWS_AS(urlopen(server.url("/to-ftp")), eventlet::http::UnsupportedScheme);
        CHECK_THROWS_WITH(urlopen(server.url("/to-ftp")),
                          Catch::StartsWith(server.url("/to-ftp") + " redirects to 'ftp://example.com/': the "
                                            "scheme 'ftp' is not supported (only http://"));
    }
}

TEST_CASE("a 4xx or 5xx status throws HttpError, which carries the response", "[http][client]")
{
    TestServer server([](const SeenRequest& request, GreenSocket& socket) {
        if (request.target == "/missing")
            socket.sendall(response_with("no such page", "404 Not Found", "X-Why: gone\r\n"));
        else if (request.target == "/redirect-without-location")
            socket.sendall(response_with("", "302 Found"));
        else
            socket.sendall(response_with("oops", "503 Service Unavailable"));
    });
    try {
        urlopen(server.url("/missing"));
        FAIL("no HttpError");
    } catch (const HttpError& e) {
        CHECK(std::string(e.what()) == "HTTP Error 404: Not Found");
        CHECK(e.status() == 404);
        CHECK(e.reason() == "Not Found");
        CHECK(e.url().to_string() == server.url("/missing"));
        CHECK(e.response().body == "no such page");
        CHECK(e.response().headers.get("x-why") == "gone");
        // Copies share the response (throwing and catching copy).
        const HttpError copy = e;
        CHECK(&copy.response() == &e.response());
    }
    CHECK_THROWS_MATCHES(urlopen(server.url("/down")), HttpError,
                         Catch::Message("HTTP Error 503: Service Unavailable"));
    CHECK_THROWS_MATCHES(urlopen(server.url("/redirect-without-location")), HttpError,
                         Catch::Message("HTTP Error 302: Found"));
    // Every error about the response derives from http::Error.
    CHECK_THROWS_AS(urlopen(server.url("/down")), eventlet::http::Error);
}

TEST_CASE("a malformed response throws ProtocolError with llhttp's reason", "[http][client]")
{
    struct Case {
        const char* response;
        const char* reason;
    };
    const Case cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "Invalid character in Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", "Duplicate Content-Length"},
        // The request-smuggling classic: two framings that disagree.
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         "Content-Length can't be present with Transfer-Encoding"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "Invalid character in chunk size"},
        {"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n", "Invalid header token"},
        {"HTTP/1.1 2000 OK\r\n\r\n", "Response overflow"},
        {"SMTP ready\r\n", "Expected HTTP/"},
        {"HTTP/1.1 200 OK\r\nHost : x\r\n\r\n", "Invalid header token"},
        // What llhttp 8.1 lets through, and RFC 9110/9112 do not: our own reason.
        {"HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 0\r\n\r\n", "a header field with an empty name"},
        {"HTTP/1.1 41 X\r\nContent-Length: 0\r\n\r\n", "the status code 41 is not three digits"},
    };
    for (const Case& c : cases) {
        INFO(c.response);
        TestServer server(always(c.response));
        CHECK_THROWS_MATCHES(urlopen(server.url("/")), eventlet::http::ProtocolError,
                             Catch::Predicate<std::exception>([&](const std::exception& e) {
                                 const std::string message = e.what();
                                 return message.starts_with(server.url("/") + ": malformed response: ") &&
                                        message.find(c.reason) != std::string::npos;
                             }, std::string("mentions '") + c.reason + "'"));
    }
}

TEST_CASE("a response cut short throws ProtocolError", "[http][client]")
{
    SECTION("a connection closed without a response")
    {
        TestServer server([](const SeenRequest&, GreenSocket&) {});
        CHECK_THROWS_MATCHES(urlopen(server.url("/")), eventlet::http::ProtocolError,
                             Catch::Message(server.url("/") + ": the server closed the connection without "
                                                              "sending a response"));
    }
    SECTION("a body shorter than its Content-Length")
    {
        TestServer server(always("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"));
        CHECK_THROWS_WITH(urlopen(server.url("/")),
                          Contains("the server closed the connection before the response was complete"));
    }
    SECTION("a chunked body without its last chunk")
    {
        TestServer server(always("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));
        CHECK_THROWS_AS(urlopen(server.url("/")), eventlet::http::ProtocolError);
    }
    SECTION("a header cut in the middle")
    {
        TestServer server(always("HTTP/1.1 200 OK\r\nContent-Le"));
        CHECK_THROWS_AS(urlopen(server.url("/")), eventlet::http::ProtocolError);
    }
}

TEST_CASE("a connection refused or reset throws the socket's error", "[http][client]")
{
    SECTION("refused: nobody listens")
    {
        GreenSocket bound(eventlet::Family::ipv4);
        bound.bind({"127.0.0.1", 0});
        const std::string url = "http://" + bound.local_address().to_string() + "/";
        CHECK_THROWS_MATCHES(urlopen(url), eventlet::ConnectionRefused,
                             Catch::Message("connect to " + bound.local_address().to_string() +
                                            ": Connection refused"));
    }
    SECTION("reset: the server aborts the connection")
    {
        TestServer server([](const SeenRequest&, GreenSocket& socket) {
            socket.sendall("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
            // Linger of zero: close() sends RST instead of FIN.
            const linger abort{1, 0};
            ::setsockopt(socket.fd(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
        });
        CHECK_THROWS_AS(urlopen(server.url("/")), eventlet::ConnectionReset);
    }
}

TEST_CASE("the timeout bounds the whole request, not each read", "[http][client][timeout]")
{
    SECTION("a server that never answers")
    {
        TestServer server([](const SeenRequest&, GreenSocket& socket) { socket.recv(1); });
        const auto start = std::chrono::steady_clock::now();
        CHECK_THROWS_MATCHES(urlopen(server.url("/"), {.timeout = 0.1}), eventlet::IOTimeout,
                             Catch::Message(server.url("/") + ": no complete response within 0.1 s"));
        CHECK(since(start) >= 0.1);
        CHECK(since(start) < 5);
    }
    SECTION("a server that sends a byte now and then, for ever")
    {
        TestServer server([](const SeenRequest&, GreenSocket& socket) {
            socket.sendall("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
            for (;;) {
                socket.sendall("x");
                eventlet::sleep(0.01);
            }
        });
        // Each read gets a byte well within 0.1 s: only a limit on the
        // whole call ends this.
        CHECK_THROWS_AS(urlopen(server.url("/"), {.timeout = 0.1}), eventlet::TimeoutError);
    }
    SECTION("over redirects")
    {
        TestServer server([](const SeenRequest& request, GreenSocket& socket) {
            eventlet::sleep(0.04);
            socket.sendall(response_with("", "302 Found", "Location: " + request.target + "x\r\n"));
        });
        CHECK_THROWS_WITH(urlopen(server.url("/"), {.timeout = 0.1, .max_redirects = 100}),
                          Contains("no complete response within 0.1 s"));
    }
    SECTION("an outer Timeout of the caller stays the caller's")
    {
        TestServer server([](const SeenRequest&, GreenSocket& socket) { socket.recv(1); });
        eventlet::Timeout outer(0.05);
        // The scope's TimeoutError, no std::exception: Catch2 reads its
        // message through the translator of chapter 2's tests.
        CHECK_THROWS_WITH(urlopen(server.url("/"), {.timeout = 10}), "timed out after 0.05 s");
        CHECK(outer.expired());
    }
}

TEST_CASE("the connect timeout bounds each connection", "[http][client][timeout]")
{
    // As in chapter 4: a listener whose backlog is full stalls further
    // connects (the kernel drops their SYNs).
    GreenSocket listener = eventlet::listen({"127.0.0.1", 0}, 0);
    const std::string url = "http://" + listener.local_address().to_string() + "/";
    std::vector<GreenSocket> fill;
    for (int i = 0; i < 8; ++i) {
        try {
            fill.push_back(eventlet::connect(listener.local_address(), 0.2));
        } catch (const eventlet::TimeoutError&) {
            CHECK_THROWS_MATCHES(urlopen(url, {.connect_timeout = 0.1}), eventlet::IOTimeout,
                                 Catch::Message("connect to " + listener.local_address().to_string() +
                                                ": no connection within 0.1 s"));
            return;
        }
    }
    WARN("this kernel completed 8 connects with a backlog of 0; the stall is not tested");
}

TEST_CASE("urlopen works over IPv6, and by name", "[http][client]")
{
    if (test_support::ipv6_available()) {
        TestServer server(always(response_with("six")), eventlet::Family::ipv6);
        CHECK(server.url("/").starts_with("http://[::1]:"));
        CHECK(urlopen(server.url("/")).body == "six");
        CHECK(server.requests().at(0).header("Host") == server.url("").substr(7));
    }
    TestServer server(always(response_with("by name")));
    const std::string port = server.url("").substr(server.url("").rfind(':') + 1);
    CHECK(urlopen("http://localhost:" + port + "/").body == "by name");
}

TEST_CASE("a 20 MB body arrives whole", "[http][client][large]")
{
    const std::string body = pattern(20 * 1024 * 1024);
    SECTION("with a Content-Length")
    {
        TestServer server(always(response_with(body)));
        CHECK(urlopen(server.url("/")).body == body);
    }
    SECTION("chunked, in chunks of 1 MB")
    {
        TestServer server([&body](const SeenRequest&, GreenSocket& socket) {
            socket.sendall("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            constexpr std::size_t chunk = 1024 * 1024;
            for (std::size_t at = 0; at < body.size(); at += chunk) {
                char size[32];
                std::snprintf(size, sizeof size, "%zx\r\n", chunk);
                socket.sendall(size);
                socket.sendall(std::string_view(body).substr(at, chunk));
                socket.sendall("\r\n");
            }
            socket.sendall("0\r\n\r\n");
        });
        CHECK(urlopen(server.url("/")).body == body);
    }
}

TEST_CASE("the response size limit stops a transfer as soon as it is passed", "[http][client][limit]")
{
    SECTION("a Content-Length over the limit, before any of the body is read")
    {
        TestServer server([](const SeenRequest&, GreenSocket& socket) {
            socket.sendall("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n");
            socket.recv(1); // until the client gives up
        });
        CHECK_THROWS_MATCHES(urlopen(server.url("/"), {.max_body_size = 1000}),
                             eventlet::http::ResponseTooLarge,
                             Catch::Message(server.url("/") + ": the body of 2000 bytes (Content-Length) "
                                                              "exceeds the limit of 1000 bytes"));
    }
    SECTION("a chunked body that grows past it")
    {
        TestServer server([](const SeenRequest&, GreenSocket& socket) {
            socket.sendall("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (;;) {
                socket.sendall("100\r\n" + std::string(256, 'x') + "\r\n");
                eventlet::sleep(0);
            }
        });
        CHECK_THROWS_MATCHES(urlopen(server.url("/"), {.max_body_size = 1000}),
                             eventlet::http::ResponseTooLarge,
                             Catch::Message(server.url("/") + ": the body exceeds the limit of 1000 bytes"));
    }
    SECTION("a body read to the close")
    {
        TestServer server(always("HTTP/1.0 200 OK\r\n\r\n" + std::string(5000, 'x')));
        CHECK_THROWS_AS(urlopen(server.url("/"), {.max_body_size = 4999}), eventlet::http::ResponseTooLarge);
        CHECK(urlopen(server.url("/"), {.max_body_size = 5000}).body.size() == 5000);
    }
    SECTION("header fields without end")
    {
        TestServer server([](const SeenRequest&, GreenSocket& socket) {
            socket.sendall("HTTP/1.1 200 OK\r\n");
            for (int i = 0;; ++i)
                socket.sendall("X-Filler-" + std::to_string(i) + ": " + std::string(100, 'y') + "\r\n");
        });
        CHECK_THROWS_WITH(urlopen(server.url("/"), {.max_header_size = 4096}),
                          Contains("the status line and header fields exceed 4096 bytes"));
    }
}

TEST_CASE("urlopen parks only its own green thread", "[http][client]")
{
    TestServer server([](const SeenRequest&, GreenSocket& socket) {
        eventlet::sleep(0.02);
        socket.sendall(response_with("slow"));
    });
    int ticks = 0;
    auto ticker = eventlet::spawn([&ticks] {
        for (; ticks < 1000; ++ticks)
            eventlet::sleep(0.001);
    });
    CHECK(urlopen(server.url("/")).body == "slow");
    CHECK(ticks > 0);
    ticker.kill();
}
