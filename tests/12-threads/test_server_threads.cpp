// Chapter 12: ServerThreads and wsgi::ServerThreads, a server per OS thread,
// each with its own hub and its own listener on one port (SO_REUSEPORT).
// The clients are green sockets of the test's own hub, which also runs the
// first thread's server: the calling green thread is one of the servers.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/server_threads.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tls/context.hpp>
#include <eventlet/wsgi/server_threads.hpp>

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "../08-server/server_support.hpp"
#include "../09-dispatch/wsgi_support.hpp"

// A namespace of its own: the files of this folder are compiled as one unit.
namespace server_threads_test {

using eventlet::Address;
using eventlet::GreenSocket;
using eventlet::ServerThreads;

const Address loopback{"127.0.0.1", 0};

/// The OS threads that handlers ran on, noted from any of them.
class ThreadsSeen {
public:
    void note()
    {
        const std::lock_guard lock(mutex_);
        ids_.insert(std::this_thread::get_id());
    }
    std::size_t count() const
    {
        const std::lock_guard lock(mutex_);
        return ids_.size();
    }
    bool saw(std::thread::id id) const
    {
        const std::lock_guard lock(mutex_);
        return ids_.contains(id);
    }

private:
    mutable std::mutex mutex_;
    std::set<std::thread::id> ids_;
};

/// The echo handler, noting its thread first.
eventlet::Handler noting_echo(ThreadsSeen& seen)
{
    return [&seen](GreenSocket& client, const Address& peer) {
        seen.note();
        server_test::echo(client, peer);
    };
}

/// Connects clients, one round trip each, until handlers have run on
/// `threads` OS threads: then every thread's server is serving. The kernel
/// picks the listener by a hash of each connection's ports, so a few
/// connections suffice (the failure bound is the test's Timeout).
void connect_until_served_by(const ServerThreads& servers, const ThreadsSeen& seen, std::size_t threads)
{
    while (seen.count() < threads) {
        GreenSocket client = eventlet::connect(servers.address(), 5);
        client.sendall("ping");
        REQUIRE(server_test::recv_exactly(client, 4) == "ping");
    }
}

} // namespace server_threads_test

using namespace server_threads_test;

TEST_CASE("two threads serve one port: 64 clients each get their echo, from two OS threads",
          "[threads][server-threads]")
{
    const eventlet::Timeout bound(10); // a failure bound, not a synchronisation
    ServerThreads servers(loopback, 2, 100);
    CHECK(servers.threads() == 2);
    CHECK(servers.address().port() != 0);
    ThreadsSeen seen;
    auto serving = eventlet::spawn([&] { servers.serve(noting_echo(seen)); });

    std::vector<GreenSocket> clients;
    for (int i = 0; i < 64; ++i)
        clients.push_back(eventlet::connect(servers.address(), 5));
    const auto message = [](std::size_t i) { return "client " + std::to_string(i) + "\n"; };
    for (std::size_t i = 0; i < clients.size(); ++i)
        clients[i].sendall(message(i));
    for (std::size_t i = 0; i < clients.size(); ++i)
        CHECK(server_test::recv_exactly(clients[i], message(i).size()) == message(i));
    clients.clear(); // each handler reads the end of its stream, and returns

    servers.stop();
    serving.wait();
    // The kernel hashes each connection's addresses and ports to pick a
    // listener: all 64 on one of two has a chance of 2^-63.
    CHECK(seen.count() == 2);
    CHECK(seen.saw(std::this_thread::get_id())); // the calling thread serves too
}

TEST_CASE("stop() from another OS thread makes serve() return, and the port refuses connections",
          "[threads][server-threads]")
{
    const eventlet::Timeout bound(10);
    ServerThreads servers(loopback, 2, 10);
    ThreadsSeen seen;
    auto serving = eventlet::spawn([&] { servers.serve(noting_echo(seen)); });
    connect_until_served_by(servers, seen, 2);
    CHECK_FALSE(servers.stopped());

    std::jthread stopper([&servers] { servers.stop(); });
    serving.wait(); // this hub parks meanwhile; the stop reaches it through its handle
    stopper.join();
    CHECK(servers.stopped());
    // Every listener of the port is closed: nobody is left to take it.
    CHECK_THROWS_AS(eventlet::connect(servers.address(), 5), eventlet::ConnectionRefused);
}

TEST_CASE("StopServe thrown by a handler of one thread stops the servers of every thread",
          "[threads][server-threads]")
{
    const eventlet::Timeout bound(10);
    const std::thread::id test_thread = std::this_thread::get_id();
    const bool in_new_thread = GENERATE(true, false);
    INFO((in_new_thread ? "thrown in a new thread" : "thrown in the calling thread"));
    ServerThreads servers(loopback, 2, 10);
    auto serving = eventlet::spawn([&] {
        servers.serve([&](GreenSocket& client, const Address&) {
            if ((std::this_thread::get_id() != test_thread) == in_new_thread)
                throw eventlet::StopServe();
            client.sendall("not this thread");
        });
    });
    // Until a connection reaches the thread that throws: it ends with
    // nothing sent.
    for (;;) {
        GreenSocket client = eventlet::connect(servers.address(), 5);
        if (server_test::recv_to_end(client).empty())
            break;
    }
    serving.wait();
    CHECK(servers.stopped());
    CHECK_THROWS_AS(eventlet::connect(servers.address(), 5), eventlet::ConnectionRefused);
}

TEST_CASE("a thread whose server fails stops the others, and serve() rethrows its error",
          "[threads][server-threads]")
{
    const eventlet::Timeout bound(10);
    const std::thread::id test_thread = std::this_thread::get_id();
    ServerThreads servers(loopback, 2, 10);
    CHECK_THROWS_WITH(servers.serve(ServerThreads::MakeHandler([test_thread]() -> eventlet::Handler {
                          if (std::this_thread::get_id() != test_thread)
                              throw std::runtime_error("no handler in this thread");
                          return server_test::echo;
                      })),
                      "no handler in this thread");
    CHECK(servers.stopped());
    CHECK_THROWS_AS(eventlet::connect(servers.address(), 5), eventlet::ConnectionRefused);
}

TEST_CASE("serve(make_handler) makes each thread's handler once, in that thread",
          "[threads][server-threads]")
{
    const eventlet::Timeout bound(10);
    ThreadsSeen made, served;
    ServerThreads servers(loopback, 2, 10);
    auto serving = eventlet::spawn([&] {
        servers.serve(ServerThreads::MakeHandler([&made, &served] {
            made.note();
            return noting_echo(served);
        }));
    });
    connect_until_served_by(servers, served, 2);
    servers.stop();
    serving.wait();
    CHECK(made.count() == 2);
    CHECK(made.saw(std::this_thread::get_id()));
}

TEST_CASE("stop() before serve() makes serve() return at once, having served nobody",
          "[threads][server-threads]")
{
    const eventlet::Timeout bound(10);
    ServerThreads servers(loopback, 2, 10);
    servers.stop();
    ThreadsSeen seen;
    servers.serve(noting_echo(seen));
    CHECK(seen.count() == 0);
    CHECK_THROWS_AS(eventlet::connect(servers.address(), 5), eventlet::ConnectionRefused);
    CHECK_THROWS_AS(servers.serve(noting_echo(seen)), std::logic_error); // once only
}

TEST_CASE("a ServerThreads that cannot be made, or a serve() that cannot start, says why",
          "[threads][server-threads]")
{
    SECTION("no concurrency")
    {
        CHECK_THROWS_AS(ServerThreads(loopback, 2, 0), std::invalid_argument);
    }
    SECTION("more threads than a group may have")
    {
        CHECK_THROWS_WITH(ServerThreads(loopback, ServerThreads::max_threads + 1, 10),
                          Catch::Contains("at most 1024"));
    }
    SECTION("a port that a listener without SO_REUSEPORT holds: refused, not shared")
    {
        const GreenSocket taken = eventlet::listen(loopback);
        const std::size_t threads = GENERATE(1, 2);
        try {
            ServerThreads servers(taken.local_address(), threads, 10);
            FAIL("the port was shared");
        } catch (const eventlet::SocketError& e) {
            CHECK(e.code() == std::errc::address_in_use);
        }
    }
    SECTION("a client TLS Context")
    {
        CHECK_THROWS_AS(ServerThreads(loopback, 2, 10, eventlet::tls::Context::client()), std::invalid_argument);
    }
    SECTION("0 threads: one per core")
    {
        const ServerThreads servers(loopback, 0, 10);
        CHECK(servers.threads() == std::max(1U, std::thread::hardware_concurrency()));
    }
    SECTION("an empty handler")
    {
        ServerThreads servers(loopback, 2, 10);
        CHECK_THROWS_AS(servers.serve(eventlet::Handler()), std::invalid_argument);
    }
}

TEST_CASE("one thread is a Server on the calling thread, on a listener without SO_REUSEPORT",
          "[threads][server-threads]")
{
    const eventlet::Timeout bound(10);
    ServerThreads servers(loopback, 1, 10);
    CHECK(servers.threads() == 1);
    // Nobody else may bind the port, even with SO_REUSEPORT.
    CHECK_THROWS_AS(eventlet::listen(servers.address(), {.reuse_port = true}), eventlet::SocketError);
    ThreadsSeen seen;
    auto serving = eventlet::spawn([&] { servers.serve(noting_echo(seen)); });
    connect_until_served_by(servers, seen, 1);
    servers.stop();
    serving.wait();
    CHECK(seen.saw(std::this_thread::get_id()));
}

TEST_CASE("wsgi::ServerThreads serves one app from two threads, and their log lines never mix",
          "[threads][server-threads]")
{
    namespace wsgi = eventlet::wsgi;
    const eventlet::Timeout bound(10);
    std::ostringstream log;
    wsgi::ServerThreads servers(loopback, 2, wsgi_test::test_options(log));
    CHECK(servers.threads() == 2);
    ThreadsSeen seen;
    auto serving = eventlet::spawn([&] {
        servers.serve([&seen](wsgi::Request&, wsgi::StartResponse& start_response) -> wsgi::Body {
            seen.note();
            start_response("200 OK", {{"Content-Type", "text/plain"}});
            return "hello\n";
        });
    });
    constexpr int requests = 32;
    for (int i = 0; i < requests; ++i) {
        wsgi_test::RawClient client(servers.address());
        client.send(wsgi_test::get("/" + std::to_string(i)));
        const wsgi_test::Response response = client.response();
        CHECK(response.status == 200);
        CHECK(response.body == "hello\n");
    }
    std::jthread stopper([&servers] { servers.stop(); });
    serving.wait();
    stopper.join();
    CHECK(seen.count() == 2); // all 32 connections on one listener of two: 2^-31

    // One whole line per request, whichever thread wrote it.
    const std::regex access_line(R"(127\.0\.0\.1 - - \[[^\]]+\] "GET /\d+ HTTP/1\.1" 200 6 \d+\.\d{6})");
    std::istringstream lines(log.str());
    int count = 0;
    for (std::string line; std::getline(lines, line); ++count)
        CHECK(std::regex_match(line, access_line));
    CHECK(count == requests);
    CHECK_THROWS_AS(eventlet::connect(servers.address(), 5), eventlet::ConnectionRefused);
}

TEST_CASE("wsgi::ServerThreads refuses what wsgi::server refuses, before it binds anything",
          "[threads][server-threads]")
{
    namespace wsgi = eventlet::wsgi;
    wsgi::ServerOptions options;
    SECTION("no concurrency")
    {
        options.concurrency = 0;
        CHECK_THROWS_AS(wsgi::ServerThreads(loopback, 2, options), std::invalid_argument);
    }
    SECTION("a client TLS Context")
    {
        options.tls = eventlet::tls::Context::client();
        CHECK_THROWS_AS(wsgi::ServerThreads(loopback, 2, options), std::invalid_argument);
    }
    SECTION("an empty application")
    {
        wsgi::ServerThreads servers(loopback, 2, options);
        CHECK_THROWS_AS(servers.serve(wsgi::App()), std::invalid_argument);
    }
}
