// The test of exercise 9, the routing table. Each case serves a Router with
// wsgi::server in the test process (tests/09-dispatch/wsgi_support.hpp) and
// asks it with raw HTTP requests.
#include <catch2/catch.hpp>

#include <router.hpp>

#include <eventlet/timeout.hpp>

#include <stdexcept>
#include <string>

#include "../../tests/09-dispatch/wsgi_support.hpp"

using exercise::Params;
using exercise::Router;
using eventlet::wsgi::Body;
using eventlet::wsgi::Request;
using eventlet::wsgi::StartResponse;
using wsgi_test::get;
using wsgi_test::RawClient;
using wsgi_test::TestServer;

namespace {

/// A handler that answers with `name` and the params it got: "feed name=a".
exercise::Handler says(std::string name)
{
    return [name](Request&, StartResponse& start_response, const Params& params) -> Body {
        std::string text = name;
        for (const auto& [key, value] : params)
            text += " " + key + "=" + value;
        start_response("200 OK", {{"Content-Type", "text/plain"}});
        return text;
    };
}

/// The response to `request` (raw bytes) on a connection of its own.
wsgi_test::Response ask(const TestServer& server, const std::string& request, bool head = false)
{
    RawClient client(server.address());
    client.send(request);
    return client.response(head);
}

} // namespace

TEST_CASE("a request reaches the route of its method and path, with the values of its {name} segments",
          "[exercise][router]")
{
    eventlet::Timeout bound(10);
    Router router;
    router.add("GET", "/", says("home"))
        .add("GET", "/feeds/{name}", says("feed"))
        .add("GET", "/users/{user}/feeds/{feed}", says("user feed"))
        .add("POST", "/feeds/{name}", says("new feed"));
    TestServer server(router);
    CHECK(ask(server, get("/")).body == "home");
    CHECK(ask(server, get("/feeds/news")).body == "feed name=news");
    CHECK(ask(server, get("/feeds/a%20b")).body == "feed name=a b"); // the path is decoded
    CHECK(ask(server, get("/users/ann/feeds/7?x=1")).body == "user feed feed=7 user=ann");
    const auto posted = ask(server, "POST /feeds/tech HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    CHECK(posted.status == 200);
    CHECK(posted.body == "new feed name=tech");
}

TEST_CASE("a path no route matches is answered 404", "[exercise][router]")
{
    eventlet::Timeout bound(10);
    Router router;
    router.add("GET", "/feeds", says("feeds"));
    TestServer server(router);
    CHECK(ask(server, get("/nothing")).status == 404);
    CHECK(ask(server, get("/feeds/x")).status == 404);
    CHECK(ask(server, get("/feeds")).status == 200);
}

TEST_CASE("routes are tried in the order they were added: the first that matches wins", "[exercise][router]")
{
    eventlet::Timeout bound(10);
    Router router;
    router.add("GET", "/feeds/new", says("the form"))
        .add("GET", "/feeds/{name}", says("feed"))
        .add("GET", "/feeds/other", says("never reached"));
    TestServer server(router);
    CHECK(ask(server, get("/feeds/new")).body == "the form");
    CHECK(ask(server, get("/feeds/other")).body == "feed name=other");
}

TEST_CASE("a {name} matches exactly one non-empty segment, and a trailing slash counts", "[exercise][router]")
{
    eventlet::Timeout bound(10);
    Router router;
    router.add("GET", "/feeds/{name}", says("feed")).add("GET", "/feeds/", says("the list"));
    TestServer server(router);
    CHECK(ask(server, get("/feeds/a")).body == "feed name=a");
    CHECK(ask(server, get("/feeds/")).body == "the list");
    CHECK(ask(server, get("/feeds")).status == 404);
    CHECK(ask(server, get("/feeds/a/b")).status == 404);
    CHECK(ask(server, get("/feeds/a/")).status == 404);
}

TEST_CASE("a path that routes only for other methods is answered 405, with an Allow header naming them",
          "[exercise][router]")
{
    eventlet::Timeout bound(10);
    Router router;
    router.add("POST", "/feeds/{name}", says("create"))
        .add("GET", "/feeds/latest", says("latest"))
        .add("DELETE", "/feeds/{name}", says("delete"))
        .add("POST", "/feeds/{id}", says("twice the same method"));
    TestServer server(router);
    const auto put = ask(server, "PUT /feeds/x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    CHECK(put.status == 405);
    CHECK(put.headers.get("Allow") == "POST, DELETE");
    const auto latest = ask(server, "PUT /feeds/latest HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    CHECK(latest.status == 405);
    CHECK(latest.headers.get("Allow") == "POST, GET, DELETE");
    CHECK(ask(server, get("/elsewhere")).status == 404);
}

TEST_CASE("a GET route serves HEAD too, and the server sends its headers without the body",
          "[exercise][router]")
{
    eventlet::Timeout bound(10);
    Router router;
    router.add("GET", "/feeds/{name}", says("feed"));
    TestServer server(router);
    const auto head = ask(server, "HEAD /feeds/abc HTTP/1.1\r\nHost: t\r\n\r\n", true);
    CHECK(head.status == 200);
    CHECK(head.headers.get("Content-Length") == "13"); // "feed name=abc"
    CHECK(head.body.empty());
}

TEST_CASE("add() refuses a route it could never match", "[exercise][router]")
{
    Router router;
    const auto handler = says("x");
    CHECK_THROWS_AS(router.add("GET", "feeds", handler), std::invalid_argument);
    CHECK_THROWS_AS(router.add("GET", "", handler), std::invalid_argument);
    CHECK_THROWS_AS(router.add("GET", "/feeds/{name", handler), std::invalid_argument);
    CHECK_THROWS_AS(router.add("GET", "/feeds/{a}{b}", handler), std::invalid_argument);
    CHECK_THROWS_AS(router.add("GET", "/feeds/x}", handler), std::invalid_argument);
    CHECK_THROWS_AS(router.add("", "/feeds", handler), std::invalid_argument);
    CHECK_THROWS_AS(router.add("GET", "/feeds", nullptr), std::invalid_argument);
    CHECK_NOTHROW(router.add("GET", "/feeds/{name}", handler));
}

TEST_CASE("a router is an application: handlers read the body, and one connection carries many requests",
          "[exercise][router]")
{
    eventlet::Timeout bound(10);
    Router router;
    router.add("POST", "/echo/{tag}", [](Request& request, StartResponse& start_response, const Params& params) -> Body {
        std::string body = request.input.read();
        start_response("201 Created", {});
        return params.at("tag") + ":" + body;
    });
    eventlet::wsgi::App app = router; // a copy: the router may go
    router = Router();
    TestServer server(app);
    RawClient client(server.address());
    client.send("POST /echo/one HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    client.send(get("/echo/one"));
    client.send("POST /echo/two HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    const auto first = client.response();
    CHECK(first.status == 201);
    CHECK(first.body == "one:hello");
    const auto second = client.response();
    CHECK(second.status == 405);
    CHECK(second.headers.get("Allow") == "POST");
    CHECK(client.response().body == "two:abc");
}
