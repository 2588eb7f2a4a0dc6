// A response's Body as the server takes it: a body known whole (a string,
// or a list of strings, WSGI's usual iterable) hands out its pieces once,
// in order, and has a length; one made by a generator has none. And on
// the wire: a whole body in pieces goes out with the Content-Length of all
// of them, an empty list as an empty body.
#include <catch2/catch.hpp>

#include <eventlet/wsgi/body.hpp>
#include <eventlet/wsgi/server.hpp>

#include <optional>
#include <string>
#include <vector>

#include "../09-dispatch/wsgi_support.hpp"

namespace wsgi = eventlet::wsgi;

namespace {

// Every piece `body` hands out, and then three more asks: it stays ended.
std::vector<std::string> drain(wsgi::Body& body)
{
    std::vector<std::string> pieces;
    while (std::optional<std::string> piece = body.next())
        pieces.push_back(*piece);
    for (int ask = 0; ask < 3; ++ask)
        CHECK_FALSE(body.next());
    return pieces;
}

} // namespace

TEST_CASE("a body known whole hands out its pieces once, in order, with their length", "[wsgi]")
{
    SECTION("a string")
    {
        wsgi::Body body("hello");
        CHECK(body.length() == 5u);
        CHECK(drain(body) == std::vector<std::string>{"hello"});
    }
    SECTION("nothing: one empty piece")
    {
        wsgi::Body body;
        CHECK(body.length() == 0u);
        CHECK(drain(body) == std::vector<std::string>{""});
    }
    SECTION("a list of strings, an empty one among them")
    {
        wsgi::Body body(std::vector<std::string>{"ab", "", "cde"});
        CHECK(body.length() == 5u);
        CHECK(drain(body) == std::vector<std::string>{"ab", "", "cde"});
    }
    SECTION("an empty list")
    {
        wsgi::Body body(std::vector<std::string>{});
        CHECK(body.length() == 0u);
        CHECK(drain(body).empty());
    }
    SECTION("a copy taken before the first piece hands out its own")
    {
        wsgi::Body body(std::vector<std::string>{"x", "y"});
        wsgi::Body copy = body;
        CHECK(drain(body) == std::vector<std::string>{"x", "y"});
        CHECK(drain(copy) == std::vector<std::string>{"x", "y"});
    }
}

TEST_CASE("a body made by a generator has no length and ends when the generator does", "[wsgi]")
{
    int made = 0;
    wsgi::Body body([&made]() -> std::optional<std::string> {
        if (made == 2)
            return std::nullopt;
        return std::to_string(made++);
    });
    CHECK_FALSE(body.length());
    CHECK(body.next() == "0");
    CHECK(body.next() == "1");
    CHECK_FALSE(body.next());
}

TEST_CASE("a whole body in pieces goes out with the length of all of them", "[wsgi]")
{
    wsgi_test::TestServer server([](wsgi::Request& request, wsgi::StartResponse& start_response) -> wsgi::Body {
        start_response("200 OK", {{"Content-Type", "text/plain"}});
        if (request.target == "/empty")
            return std::vector<std::string>{};
        return std::vector<std::string>{"Hello, ", "", "World"};
    });
    wsgi_test::RawClient client(server.address());
    client.send(wsgi_test::get("/pieces"));
    const wsgi_test::Response pieces = client.response();
    CHECK(pieces.status == 200);
    CHECK_FALSE(pieces.chunked);
    CHECK(pieces.headers.get("Content-Length") == "12");
    CHECK(pieces.body == "Hello, World");
    client.send(wsgi_test::get("/empty"));
    const wsgi_test::Response empty = client.response();
    CHECK(empty.status == 200);
    CHECK(empty.headers.get("Content-Length") == "0");
    CHECK(empty.body.empty());
}
