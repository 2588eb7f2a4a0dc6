// The send deadline against a client that reads nothing, whatever its
// kernel and ours buffered on its behalf: megabytes on a local connection,
// which must not count as bytes it took.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/wsgi/server.hpp>

#include <memory>
#include <optional>
#include <string>

#include "../09-dispatch/wsgi_support.hpp"

TEST_CASE("a client that reads nothing is cut off at send_timeout, with the rate's credit on, "
          "however much the kernels buffered",
          "[wsgi][limits]")
{
    // Long enough for any machine; the bug held the connection for hours.
    const eventlet::Timeout bound(10);
    eventlet::Event<void> body_dropped;
    // Signals when the server lets go of the body: after it gave up sending.
    struct SignalOnDrop {
        explicit SignalOnDrop(eventlet::Event<void>& dropped) : event(dropped) {}
        SignalOnDrop(const SignalOnDrop&) = delete;
        SignalOnDrop& operator=(const SignalOnDrop&) = delete;
        ~SignalOnDrop() { event.send(); }
        eventlet::Event<void>& event;
    };
    wsgi_test::TestServer server(
        [&](eventlet::wsgi::Request&, eventlet::wsgi::StartResponse& start_response) -> eventlet::wsgi::Body {
            start_response("200 OK", {});
            auto signal = std::make_shared<SignalOnDrop>(body_dropped);
            return eventlet::wsgi::Body(
                [signal]() -> std::optional<std::string> { return std::string(64 * 1024, 'x'); });
        },
        [](auto& options) {
            options.socket_timeout = 60; // each wait alone would hold the slot for a minute
            options.send_timeout = 0.2;
            options.send_min_rate = 500; // the default: a byte taken buys 2 ms
        });
    wsgi_test::RawClient client(server.address());
    client.send(wsgi_test::get("/"));
    body_dropped.wait(); // the client reads nothing meanwhile
    CHECK(client.reader.readline() == "HTTP/1.1 200 OK\r\n");
}
