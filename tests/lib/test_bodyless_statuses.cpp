// A 204 and a 304 never have a body (RFC 9112 6.3), whatever Content-Length
// they carry: a 304's is the length the full answer would have had. A client
// that waits for those bytes waits for ever (until its timeout), on a
// connection the server keeps open for the next request.
#include <catch2/catch.hpp>

#include <eventlet/http/client.hpp>
#include <eventlet/http/http_error.hpp>
#include <eventlet/http/session.hpp>
#include <eventlet/timeout.hpp>

#include <string>

#include "../07-client/test_server.hpp"

namespace http = eventlet::http;

TEST_CASE("a 204 or a 304 that declares a Content-Length ends with its head, and its connection "
          "is reused",
          "[http]")
{
    eventlet::Timeout bound(10);
    std::string status = GENERATE("204 No Content", "304 Not Modified");
    test_support::TestServer server(
        test_support::always("HTTP/1.1 " + status + "\r\nContent-Length: 500\r\n\r\n"),
        eventlet::Family::ipv4, test_support::Requests::many_per_connection);
    http::Session session;
    for (const char* target : {"/first", "/second"}) {
        // A 304 is an HttpError (a 3xx not followed), with its response.
        const auto fetch = [&]() -> http::Response {
            try {
                return session.urlopen(server.url(target), {.timeout = 5});
            } catch (const http::HttpError& error) {
                return error.response();
            }
        };
        const http::Response response = fetch();
        CHECK(response.status == std::stoi(status));
        CHECK(response.body.empty());
    }
    CHECK(session.reused_connections() == 1);
    CHECK(server.connections() == 1);
}
