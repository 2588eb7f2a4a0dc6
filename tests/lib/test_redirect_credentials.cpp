// What a request keeps when a server redirects it: the caller's credentials
// only for the origin they were given for, no description of a body it no
// longer has; and what a response's trailers may not do (stand in for its
// header fields).
#include <catch2/catch.hpp>

#include <eventlet/http/client.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <string>

#include "../07-client/test_server.hpp"

namespace {

eventlet::http::Options with_credentials()
{
    eventlet::http::Options options;
    options.headers.add("Authorization", "Bearer secret");
    options.headers.add("Cookie", "sid=1");
    options.headers.add("X-Trace", "kept");
    return options;
}

} // namespace

TEST_CASE("a redirect to another port drops the caller's Authorization and Cookie, and keeps its "
          "other fields",
          "[http][client][redirect]")
{
    const eventlet::Timeout bound(10);
    test_support::TestServer elsewhere(test_support::always(test_support::response_with("there")));
    test_support::TestServer first([&](const test_support::SeenRequest&, eventlet::GreenSocket& socket) {
        const std::string location = "Location: " + elsewhere.url("/x") + "\r\n";
        socket.sendall(test_support::response_with("", "302 Found", location));
    });
    CHECK(eventlet::http::urlopen(first.url("/start"), with_credentials()).body == "there");
    REQUIRE(first.requests().size() == 1);
    CHECK(first.requests()[0].header("Authorization") == "Bearer secret");
    REQUIRE(elsewhere.requests().size() == 1);
    CHECK(elsewhere.requests()[0].header("Authorization").empty());
    CHECK(elsewhere.requests()[0].header("Cookie").empty());
    CHECK(elsewhere.requests()[0].header("X-Trace") == "kept");
}

TEST_CASE("a redirect within the origin keeps the caller's credentials", "[http][client][redirect]")
{
    const eventlet::Timeout bound(10);
    test_support::TestServer server([](const test_support::SeenRequest& request,
                                       eventlet::GreenSocket& socket) {
        if (request.target == "/start")
            socket.sendall(test_support::response_with("", "302 Found", "Location: /final\r\n"));
        else
            socket.sendall(test_support::response_with("final"));
    });
    CHECK(eventlet::http::urlopen(server.url("/start"), with_credentials()).body == "final");
    REQUIRE(server.requests().size() == 2);
    CHECK(server.requests()[1].header("Authorization") == "Bearer secret");
    CHECK(server.requests()[1].header("Cookie") == "sid=1");
}

TEST_CASE("a POST that a 303 turns into a GET drops the fields of its body; a 307 keeps them",
          "[http][client][redirect]")
{
    const eventlet::Timeout bound(10);
    const std::string status =
        GENERATE(std::string("303 See Other"), std::string("307 Temporary Redirect"));
    INFO(status);
    test_support::TestServer server([&](const test_support::SeenRequest& request,
                                        eventlet::GreenSocket& socket) {
        if (request.target == "/form")
            socket.sendall(test_support::response_with("", status, "Location: /done\r\n"));
        else
            socket.sendall(test_support::response_with("done"));
    });
    eventlet::http::Options options;
    options.method = "POST";
    options.body = R"({"a": 1})";
    options.headers.add("Content-Type", "application/json");
    CHECK(eventlet::http::urlopen(server.url("/form"), options).body == "done");
    REQUIRE(server.requests().size() == 2);
    const test_support::SeenRequest& redirected = server.requests()[1];
    if (status.starts_with("303")) {
        CHECK(redirected.method == "GET");
        CHECK(redirected.body.empty());
        CHECK(redirected.header("Content-Type").empty());
    } else {
        CHECK(redirected.method == "POST");
        CHECK(redirected.body == options.body);
        CHECK(redirected.header("Content-Type") == "application/json");
    }
}

TEST_CASE("a chunked response's trailers are not taken for its header fields", "[http][client]")
{
    const eventlet::Timeout bound(10);
    // A plain body, then trailers that would say it is gzip, and send a
    // redirect elsewhere, were they header fields.
    test_support::TestServer server(
        test_support::always("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5\r\nhello\r\n0\r\n"
                             "Content-Encoding: gzip\r\nLocation: http://127.0.0.1:9/\r\n\r\n"));
    eventlet::http::Options options;
    options.decompress = true;
    const eventlet::http::Response response = eventlet::http::urlopen(server.url("/"), options);
    CHECK(response.body == "hello");
    CHECK_FALSE(response.headers.get("Content-Encoding"));
    CHECK_FALSE(response.headers.get("Location"));
}
