// The exercise of chapter 10: a TLS forwarder in front of a plain service.
//
// Everything runs in this process, on the loopback: a backend (a plain
// eventlet::Server whose handler each test chooses), the forwarder (a TLS
// eventlet::Server whose handler is TlsForwarder::handle), and clients that
// speak TLS to it. Every wait is bounded: each client socket has a timeout
// of 5 s, each test a Timeout, and a server that does not stop fails its
// test instead of hanging it. No test waits for time: each waits for an
// answer, the end of a stream, or a handler that returns.
#include <catch2/catch.hpp>

#include <tls_forwarder.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenpool.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/queue.hpp>
#include <eventlet/serve.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tls.hpp>

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../../tests/10-tls/certificates.hpp"
#include "../../tests/support/hub_helpers.hpp"
#include "../../tests/support/timeout_message.hpp"

using eventlet::Address;
using eventlet::GreenSocket;
using eventlet::Shutdown;
using exercise::TlsForwarder;
namespace tls = eventlet::tls;

namespace {

/// How long each wait of a client may last before the test calls it a hang.
constexpr double patience = 5;

tls::Context server_context()
{
    const auto& files = tls_test::Certificates::get();
    return tls::Context::server(files.server_certificate, files.server_key);
}

/// Made once: a client Context reads the system's CA store as well as the
/// test CA, which takes a while under AddressSanitizer.
const tls::Context& trusting_client()
{
    static const tls::Context made =
        tls::Context::client({.ca_file = tls_test::Certificates::get().ca});
    return made;
}

/// Joins `serving` (a green thread running Server::serve()) within a bound;
/// a handler that never returns fails the test here instead of hanging it.
void join_bounded(eventlet::GreenThread<void>& serving, const char* what)
{
    try {
        const eventlet::Timeout bound(2 * patience);
        serving.join();
    } catch (const eventlet::TimeoutError&) {
        FAIL_CHECK(what << ": a handler did not return after its clients were closed");
    }
}

/// A plain TCP service on the loopback whose connections `handler` serves;
/// stopped, its clients closed, when it goes.
struct Backend {
    explicit Backend(eventlet::Handler handler)
        : server(eventlet::listen({"127.0.0.1", 0}), 200),
          serving(eventlet::spawn([this, handler = std::move(handler)] { server.serve(handler); }))
    {
    }
    ~Backend()
    {
        server.stop();
        server.close_clients();
        join_bounded(serving, "the backend");
    }
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;

    eventlet::Server server;
    eventlet::GreenThread<void> serving;
};

/// The forwarder: a TLS Server on the loopback whose handler is
/// TlsForwarder::handle(), to `backend`. Each time a handle() returns, the
/// pumps still running at that moment are put into `returned`.
struct Front {
    explicit Front(const Address& backend, eventlet::Seconds connect_timeout = patience)
        : forwarder(std::make_shared<TlsForwarder>(backend, connect_timeout)),
          returned(std::make_shared<eventlet::Queue<std::size_t>>()),
          server(eventlet::listen({"127.0.0.1", 0}), 200, server_context()),
          serving(eventlet::spawn([this] {
              // The handler holds what it uses: a Server still serving when
              // the test gives up on it finds them alive.
              server.serve([forwarder = forwarder, returned = returned](GreenSocket& client,
                                                                        const Address& peer) {
                  struct Returned {
                      TlsForwarder& forwarder;
                      eventlet::Queue<std::size_t>& returned;
                      ~Returned() { returned.put(forwarder.pumps()); }
                  } record{*forwarder, *returned};
                  forwarder->handle(client, peer);
              });
          }))
    {
    }
    ~Front()
    {
        server.stop();
        server.close_clients();
        join_bounded(serving, "the forwarder");
        CHECK(forwarder->pumps() == 0);
    }
    Front(const Front&) = delete;
    Front& operator=(const Front&) = delete;

    /// Waits for the next handle() to return (at most `patience`), and
    /// tells how many pumps were still running when it did: none, for a
    /// single connection. -1 if no handle() returned in time.
    long pumps_left_at_return()
    {
        try {
            return static_cast<long>(returned->get(patience));
        } catch (const eventlet::QueueEmpty&) {
            return -1;
        }
    }

    /// A TLS client of the forwarder, connected and through its handshake.
    GreenSocket client()
    {
        GreenSocket socket = eventlet::connect(server.address(), patience);
        socket.set_timeout(patience);
        tls::start_client(socket, "localhost", trusting_client());
        return socket;
    }

    std::shared_ptr<TlsForwarder> forwarder;
    std::shared_ptr<eventlet::Queue<std::size_t>> returned;
    eventlet::Server server;
    eventlet::GreenThread<void> serving;
};

/// Echoes every byte back until the end of its client's stream. Its socket
/// buffers are small, and fixed (the kernel would otherwise grow them to
/// megabytes): a large transfer cannot hide in them, and a forwarder that
/// does not carry both directions at once stops.
void echo(GreenSocket& client, const Address&)
{
    client.set_option(SOL_SOCKET, SO_RCVBUF, 64 * 1024);
    client.set_option(SOL_SOCKET, SO_SNDBUF, 64 * 1024);
    std::vector<char> buffer(16 * 1024);
    while (const std::size_t n = client.recv(std::span<char>(buffer)))
        client.sendall(std::string_view(buffer.data(), n));
}

/// `count` bytes in a pattern that does not repeat within 26 bytes.
std::string body_of(std::size_t count)
{
    std::string body(count, '\0');
    for (std::size_t i = 0; i < count; ++i)
        body[i] = static_cast<char>('a' + i * 7 % 26);
    return body;
}

/// Everything `socket` receives until the end of its stream (recv() returns
/// 0): with TLS, the peer's close_notify. Throws what recv() throws
/// (tls::Truncated for a stream cut without close_notify).
std::string read_to_end(GreenSocket& socket)
{
    std::string all;
    std::vector<char> buffer(16 * 1024);
    while (const std::size_t n = socket.recv(std::span<char>(buffer)))
        all.append(buffer.data(), n);
    return all;
}

/// `count` bytes from `socket`, or fewer if its stream ends first.
std::string read_exactly(GreenSocket& socket, std::size_t count)
{
    std::string all;
    std::vector<char> buffer(count);
    while (all.size() < count) {
        const std::size_t n = socket.recv(std::span<char>(buffer.data(), count - all.size()));
        if (n == 0)
            break;
        all.append(buffer.data(), n);
    }
    return all;
}

/// True if `socket`'s connection ends (recv() returns 0 or fails) with no
/// more data, within the socket's timeout: the way a failed forwarding
/// must look to its client. False if data comes, or nothing at all.
bool ends(GreenSocket& socket)
{
    try {
        return socket.recv(std::size_t{64}).empty();
    } catch (const eventlet::IOTimeout&) {
        return false;
    } catch (const eventlet::SocketError&) {
        return true; // tls::Truncated, ConnectionReset: ended too
    }
}

/// What a recording backend saw of one connection.
struct Recorded {
    std::string received; ///< every byte it received
    bool clean_end;       ///< the stream ended with end of file, not an error
};

/// A backend handler that reads its client to the end, sends `answer(what
/// it received)` only then, and sends what it saw to `seen`.
eventlet::Handler recording(std::shared_ptr<eventlet::Event<Recorded>> seen,
                            std::string (*answer)(const std::string&) = nullptr)
{
    return [seen, answer](GreenSocket& client, const Address&) {
        client.set_timeout(2 * patience);
        Recorded recorded{"", false};
        try {
            recorded.received = read_to_end(client);
            recorded.clean_end = true;
        } catch (const eventlet::SocketError&) {
        } catch (const eventlet::IOTimeout&) {
        }
        if (!seen->ready())
            seen->send(recorded);
        if (answer != nullptr && recorded.clean_end)
            client.sendall(answer(recorded.received));
    };
}

} // namespace

TEST_CASE("bytes sent over TLS reach the backend decrypted, and its answers come back",
          "[forwarder]")
{
    const eventlet::Timeout bound(30); // a failure bound, not a synchronisation
    Backend backend(echo);
    Front front(backend.server.address());
    GreenSocket client = front.client();
    std::string answer;
    client.sendall("hello, backend\n");
    CHECK_NOTHROW(answer = read_exactly(client, 15));
    REQUIRE(answer == "hello, backend\n");
    client.sendall("and again\n");
    CHECK_NOTHROW(answer = read_exactly(client, 10));
    CHECK(answer == "and again\n");
    client.shutdown(Shutdown::write);
    CHECK_NOTHROW(answer = read_to_end(client));
    CHECK(answer.empty());
    CHECK(front.pumps_left_at_return() == 0);
}

TEST_CASE("a large transfer goes both ways at once", "[forwarder]")
{
    const eventlet::Timeout bound(60);
    Backend backend(echo);
    Front front(backend.server.address());
    GreenSocket client = front.client();
    // 16 MB, far more than the sockets' buffers hold: the forwarder must
    // read from the client while it writes to it, or it stops.
    const std::string body = body_of(16 * 1024 * 1024);
    auto sending = eventlet::spawn([&client, &body] {
        client.sendall(body);
        client.shutdown(Shutdown::write);
    });
    std::string echoed;
    CHECK_NOTHROW(echoed = read_to_end(client));
    CHECK_NOTHROW(sending.wait());
    CHECK(echoed.size() == body.size());
    const bool same = echoed == body; // not CHECK(echoed == body): 16 MB in the report
    CHECK(same);
    CHECK(front.pumps_left_at_return() == 0);
}

TEST_CASE("the client's close_notify reaches the backend as end of file, and the backend's answer "
          "still comes back",
          "[forwarder]")
{
    const eventlet::Timeout bound(30);
    auto seen = std::make_shared<eventlet::Event<Recorded>>();
    // This backend answers only once its client's stream has ended.
    Backend backend(recording(seen, [](const std::string& received) {
        return "received " + std::to_string(received.size()) + " bytes\n";
    }));
    Front front(backend.server.address());
    GreenSocket client = front.client();
    CHECK_NOTHROW(client.sendall("a question"));
    CHECK_NOTHROW(client.shutdown(Shutdown::write)); // close_notify, and only that direction
    const std::optional<Recorded> recorded = seen->wait(patience);
    REQUIRE(recorded.has_value());
    CHECK(recorded->received == "a question");
    CHECK(recorded->clean_end);
    std::string answer;
    CHECK_NOTHROW(answer = read_to_end(client)); // ends with close_notify, not tls::Truncated
    CHECK(answer == "received 10 bytes\n");
    CHECK(front.pumps_left_at_return() == 0);
}

TEST_CASE("the backend's end of file reaches the client as close_notify, and the client may still "
          "send",
          "[forwarder]")
{
    const eventlet::Timeout bound(30);
    auto seen = std::make_shared<eventlet::Event<Recorded>>();
    // This backend speaks first, ends its direction, then listens.
    Backend backend([record = recording(seen)](GreenSocket& client, const Address& peer) {
        client.sendall("greetings\n");
        client.shutdown(Shutdown::write);
        record(client, peer);
    });
    Front front(backend.server.address());
    GreenSocket client = front.client();
    std::string greeting;
    CHECK_NOTHROW(greeting = read_to_end(client)); // close_notify: 0, not tls::Truncated
    REQUIRE(greeting == "greetings\n");
    CHECK_NOTHROW(client.sendall("late words"));
    CHECK_NOTHROW(client.shutdown(Shutdown::write));
    const std::optional<Recorded> recorded = seen->wait(patience);
    REQUIRE(recorded.has_value());
    CHECK(recorded->received == "late words");
    CHECK(recorded->clean_end);
    CHECK(front.pumps_left_at_return() == 0);
}

TEST_CASE("a backend that closes reaches the client as close_notify, not as a cut stream",
          "[forwarder]")
{
    const eventlet::Timeout bound(30);
    // This backend says one line and closes its connection.
    Backend backend([](GreenSocket& client, const Address&) { client.sendall("bye\n"); });
    Front front(backend.server.address());
    GreenSocket client = front.client();
    std::string words;
    CHECK_NOTHROW(words = read_to_end(client));
    CHECK(words == "bye\n");
    client.close(); // close_notify: the forwarder's other direction ends too
    CHECK(front.pumps_left_at_return() == 0);
}

TEST_CASE("a client that cuts its stream without close_notify ends the backend's connection, and "
          "nothing is reported",
          "[forwarder]")
{
    const eventlet::Timeout bound(30);
    test_support::CaptureCerr cerr;
    auto seen = std::make_shared<eventlet::Event<Recorded>>();
    Backend backend(recording(seen));
    Front front(backend.server.address());
    GreenSocket client = front.client();
    client.sendall("partial");
    // A FIN under the TLS state, as a crash would leave: no close_notify.
    // The forwarder's recv() throws tls::Truncated.
    REQUIRE(::shutdown(client.fd(), SHUT_WR) == 0);
    // The backend sees its connection end, though nobody sends it more.
    const std::optional<Recorded> recorded = seen->wait(patience);
    CHECK(recorded.has_value());
    CHECK(front.pumps_left_at_return() == 0);
    CHECK(cerr.text() == "");
}

TEST_CASE("a backend that resets its connection ends the client's, and nothing is reported",
          "[forwarder]")
{
    const eventlet::Timeout bound(30);
    test_support::CaptureCerr cerr;
    auto got_request = std::make_shared<eventlet::Event<std::string>>();
    // This backend reads a request, then closes with a reset (SO_LINGER 0),
    // as a crashing process does.
    Backend backend([got_request](GreenSocket& client, const Address&) {
        got_request->send(client.recv(std::size_t{64}));
        const linger reset{1, 0};
        CHECK(::setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset) == 0);
    });
    Front front(backend.server.address());
    GreenSocket client = front.client();
    client.sendall("request");
    CHECK(got_request->wait(patience).value_or("(nothing)") == "request");
    // The client waits for an answer that will not come: the forwarder
    // must end its connection rather than leave it waiting.
    CHECK(ends(client));
    CHECK(front.pumps_left_at_return() == 0);
    CHECK(cerr.text() == "");
}

TEST_CASE("a backend that refuses ends the client's connection, and nothing is reported",
          "[forwarder]")
{
    const eventlet::Timeout bound(30);
    test_support::CaptureCerr cerr;
    // A port that is bound, so that nobody else takes it, and that does
    // not listen: a connection to it is refused.
    GreenSocket closed_port(eventlet::Family::ipv4);
    closed_port.bind({"127.0.0.1", 0});
    Front front(closed_port.local_address());
    GreenSocket client = front.client();
    CHECK(ends(client));
    CHECK(front.pumps_left_at_return() == 0);
    CHECK(cerr.text() == "");
}

TEST_CASE("a backend that does not answer is given up after the connect timeout", "[forwarder]")
{
    const eventlet::Timeout bound(30);
    test_support::CaptureCerr cerr;
    // A listener whose backlog is full and never accepted from: the kernel
    // drops the next connection's SYN, and its connect waits for ever.
    GreenSocket listener = eventlet::listen({"127.0.0.1", 0}, 0);
    std::vector<GreenSocket> fillers;
    for (bool full = false; !full && fillers.size() < 8;) {
        try {
            fillers.push_back(eventlet::connect(listener.local_address(), 0.2));
        } catch (const eventlet::IOTimeout&) {
            full = true;
        }
    }
    REQUIRE(fillers.size() < 8); // the backlog is full: the next connect is not answered

    Front front(listener.local_address(), 0.2); // well within the client's patience
    GreenSocket client = front.client();
    CHECK(ends(client)); // before the client's own timeout
    CHECK(front.pumps_left_at_return() == 0);
    CHECK(cerr.text() == "");
}

TEST_CASE("fifty clients are forwarded at once, each to its own backend connection", "[forwarder]")
{
    const eventlet::Timeout bound(60);
    Backend backend(echo);
    Front front(backend.server.address());
    constexpr int clients = 50;
    int echoed = 0;
    int failed = 0;
    std::string first_failure;
    eventlet::GreenPool pool(clients);
    for (int i = 0; i < clients; ++i)
        pool.spawn_n([&, i] {
            std::string message;
            for (int line = 0; line < 100; ++line)
                message += "client " + std::to_string(i) + ", line " + std::to_string(line) + "\n";
            try {
                GreenSocket client = front.client();
                client.sendall(message);
                client.shutdown(Shutdown::write);
                if (read_to_end(client) == message)
                    ++echoed;
            } catch (const std::exception& error) {
                if (failed++ == 0)
                    first_failure = error.what();
            }
        });
    pool.waitall();
    INFO(failed << " clients failed; the first with: " << first_failure);
    CHECK(echoed == clients);
}
