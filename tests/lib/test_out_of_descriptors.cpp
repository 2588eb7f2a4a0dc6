// Out of descriptors, accept() fails with EMFILE. The WSGI server then
// takes one back from the connection idle longest, as it takes back a slot
// when its pool is full; serve() pauses. Neither fills its log while the
// process stays at the limit.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/serve.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/wsgi/server.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "../09-dispatch/wsgi_support.hpp"
#include "../support/hub_helpers.hpp"
#include "../support/no_descriptors.hpp"

namespace {

std::size_t occurrences(std::string_view text, std::string_view part)
{
    std::size_t count = 0;
    for (std::size_t at = text.find(part); at != std::string_view::npos; at = text.find(part, at + 1))
        ++count;
    return count;
}

} // namespace

TEST_CASE("out of descriptors, the WSGI server closes the connection idle longest and serves a new "
          "client at once",
          "[wsgi][limits][emfile]")
{
    const eventlet::Timeout bound(10); // the idle limit below is a minute
    wsgi_test::TestServer server(
        [](eventlet::wsgi::Request&, eventlet::wsgi::StartResponse& start_response) -> eventlet::wsgi::Body {
            start_response("200 OK", {});
            return "hello";
        },
        [](auto& options) {
            options.idle_timeout = 60;
            options.header_timeout = 60;
        });
    wsgi_test::RawClient idle(server.address()); // sends nothing
    {
        // Served after `idle` was accepted: the server has it in its idle list.
        wsgi_test::RawClient first(server.address());
        first.send(wsgi_test::get("/"));
        REQUIRE(first.response().body == "hello");
    }
    test_support::NoDescriptorsLeft none;
    none.free(1); // for the new client's own socket; the server has none for it
    wsgi_test::RawClient fresh(server.address());
    fresh.send(wsgi_test::get("/"));
    CHECK(fresh.response().body == "hello");
    CHECK(idle.closed_by_server());
    CHECK(occurrences(server.log(), "cannot accept") == 1);
}

TEST_CASE("serve() out of descriptors says so once, however often clients come and go at the limit",
          "[server][emfile]")
{
    const eventlet::Timeout bound(10);
    test_support::CaptureCerr cerr;
    eventlet::Server server(eventlet::listen({"127.0.0.1", 0}), 10);
    auto serving = eventlet::spawn([&] {
        server.serve([](eventlet::GreenSocket& client, const eventlet::Address&) {
            for (std::string data = client.recv(100); !data.empty(); data = client.recv(100))
                client.sendall(data);
        });
    });
    {
        test_support::NoDescriptorsLeft none;
        for (int client_number = 0; client_number < 3; ++client_number) {
            none.free(1); // the client's socket
            eventlet::GreenSocket client = eventlet::connect(server.address(), 5);
            client.sendall("ping");
            // accept() fails until a descriptor is free: one more now.
            none.free(1);
            CHECK(client.recv(100) == "ping");
            client.close();
            while (server.connections() != 0) // its handler ends, its descriptor frees
                eventlet::sleep(0);
            none.take_the_rest();
        }
    }
    server.stop();
    serving.wait();
    CHECK(occurrences(cerr.text(), "cannot accept a connection") == 1);
}
