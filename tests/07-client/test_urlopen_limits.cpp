// Chapter 7: urlopen() against what a hostile server or a crowded process
// does to it: a head of countless tiny fields, and no file descriptor left.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/http/client.hpp>
#include <eventlet/http/session.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "../support/no_descriptors.hpp"
#include "test_server.hpp"

using eventlet::GreenSocket;
using eventlet::http::urlopen;
using test_support::response_with;
using test_support::SeenRequest;
using test_support::TestServer;

namespace {

/// A response whose head carries `fields` header fields besides its
/// Content-Length.
std::string response_with_fields(std::size_t fields)
{
    std::string extra;
    for (std::size_t i = 0; i < fields; ++i)
        extra += "a:\r\n";
    return response_with("ok", "200 OK", extra);
}

} // namespace

TEST_CASE("a response head of more than 100 header fields is refused with ResponseTooLarge",
          "[http][client][limit]")
{
    eventlet::Timeout bound(10);
    TestServer hundred(test_support::always(response_with_fields(99))); // and Content-Length
    CHECK(urlopen(hundred.url("/")).headers.size() == 100);

    TestServer many(test_support::always(response_with_fields(100)));
    CHECK_THROWS_MATCHES(urlopen(many.url("/")), eventlet::http::ResponseTooLarge,
                         Catch::Message(many.url("/") + ": more than 100 header fields"));
    // 16k fields would fit in the 64 KiB of the byte limit.
    TestServer endless(test_support::always(response_with_fields(16'000)));
    CHECK_THROWS_AS(urlopen(endless.url("/")), eventlet::http::ResponseTooLarge);
    CHECK(urlopen(endless.url("/"), {.max_header_size = 1 << 20, .max_header_fields = 20'000})
              .headers.size() == 16'001);
}

TEST_CASE("out of file descriptors, urlopen waits for one within its connect timeout",
          "[http][client][limit]")
{
    eventlet::Timeout bound(10);
    TestServer server(test_support::always(response_with("here")));
    const std::string url = server.url("/");
    // Served once before descriptors run out, so that the server's accept()
    // is parked: Linux takes the descriptor before it looks for a connection,
    // and an accept() that found none free would end the test server.
    REQUIRE(urlopen(url).body == "here");

    SECTION("one freed while it waits is used")
    {
        test_support::NoDescriptorsLeft none;
        // Two: one for the client's socket, one for the server's accept().
        auto freer = eventlet::spawn_after(0.05, [&none] { none.free(2); });
        CHECK(urlopen(url).body == "here");
        freer.cancel(); // if urlopen did not need it: it must not run once `none` is gone
    }
    SECTION("none freed: a SocketError of code EMFILE that says so, when the connect timeout ends")
    {
        test_support::NoDescriptorsLeft none;
        const auto start = std::chrono::steady_clock::now();
        try {
            urlopen(url, {.connect_timeout = 0.3});
            FAIL("urlopen succeeded without a file descriptor");
        } catch (const eventlet::SocketError& e) {
            CHECK(e.code() == std::errc::too_many_files_open);
            CHECK_THAT(e.what(), Catch::Contains("connect to " + url.substr(7, url.size() - 8) +
                                                 ": no file descriptor free within"));
        }
        const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        CHECK(waited > 0.15); // it waited, and gave up a pause (at most 0.1 s) early
        CHECK(waited < 2);
    }
    SECTION("a Session closes its idle connections to free their descriptors")
    {
        TestServer other(test_support::always(response_with("other")), eventlet::Family::ipv4,
                         test_support::Requests::many_per_connection);
        eventlet::http::Session session;
        CHECK(session.urlopen(other.url("/")).body == "other");
        CHECK(session.idle_connections() == 1);
        test_support::NoDescriptorsLeft none;
        // The idle connection's descriptor goes to the new one; the server's
        // accept() needs one more.
        auto freer = eventlet::spawn_after(0.05, [&none] { none.free(1); });
        CHECK(session.urlopen(url).body == "here");
        freer.cancel(); // if urlopen did not need it: it must not run once `none` is gone
    }
}
