// The exercise of chapter 4: a green port forwarder.
//
// Every scenario runs on an OS thread of its own, and so on a hub of its
// own, and ends by running that hub until nothing is left: a forwarder
// that leaves a green thread parked for ever fails the test after a bound
// instead of hanging the run. Assertions are made on the test's thread,
// from what the scenario recorded. The sockets' timeouts are failure
// bounds too: nothing here waits for time to let something happen.
#include <catch2/catch.hpp>

#include <forwarder.hpp>

#include <eventlet/buffered_reader.hpp>
#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using eventlet::Address;
using eventlet::GreenSocket;
using Seen = std::map<std::string, std::string>;

void run_until_idle()
{
    try {
        eventlet::Hub::current().switch_to();
    } catch (const eventlet::Deadlock&) {
    }
}

/// A target server: runs `handler` on each connection it accepts, in a
/// green thread of its own, until stop().
class Target {
public:
    explicit Target(std::function<void(GreenSocket&)> handler)
        : listener_(eventlet::listen({"127.0.0.1", 0})), address_(listener_.local_address())
    {
        eventlet::spawn_n([this, handler = std::move(handler)] {
            for (;;) {
                GreenSocket connection;
                try {
                    connection = listener_.accept().socket;
                } catch (const eventlet::IOClosed&) {
                    return;
                }
                eventlet::spawn_n([handler](GreenSocket c) {
                    c.set_timeout(5);
                    handler(c);
                }, std::move(connection));
            }
        });
    }
    const Address& address() const { return address_; }
    void stop() { listener_.close(); }

private:
    GreenSocket listener_;
    Address address_;
};

/// Echoes what it receives until the client shuts down its side.
void echo(GreenSocket& connection)
{
    for (std::string data; !(data = connection.recv(64 * 1024)).empty();)
        connection.sendall(data);
}

/// A forwarder in front of `target`, run in a green thread until stop().
class Forwarder {
public:
    explicit Forwarder(const Address& target)
        : listener_(eventlet::listen({"127.0.0.1", 0})), address_(listener_.local_address())
    {
        running_ = eventlet::spawn([this, target] { return exercise::forward(listener_, target); });
    }
    const Address& address() const { return address_; }
    /// A client connected to the forwarder, with a 5 s failure bound.
    GreenSocket client() const
    {
        GreenSocket socket = eventlet::connect(address_, 5);
        socket.set_timeout(5);
        return socket;
    }
    /// Closes the listener; returns what forward() returned.
    std::size_t stop()
    {
        listener_.close();
        return running_.wait();
    }

private:
    GreenSocket listener_;
    Address address_;
    eventlet::GreenThread<std::size_t> running_;
};

/// Receives until the end of the stream (or `limit` bytes).
std::string recv_all(GreenSocket& socket, std::size_t limit = 64 * 1024 * 1024)
{
    eventlet::BufferedReader reader(socket);
    return reader.read(limit);
}

/// Runs `scenario` on a new OS thread, then that thread's hub until idle,
/// and returns what it saw. Fails the test if that takes more than 15 s.
Seen on_own_hub(std::function<void(Seen&)> scenario)
{
    auto outcome = std::make_shared<std::promise<Seen>>();
    std::future<Seen> result = outcome->get_future();
    std::thread thread([scenario = std::move(scenario), outcome] {
        try {
            Seen seen;
            scenario(seen);
            run_until_idle();
            outcome->set_value(std::move(seen));
        } catch (...) {
            outcome->set_exception(std::current_exception());
        }
    });
    if (result.wait_for(15s) != std::future_status::ready) {
        thread.detach();
        FAIL("the scenario was still running after 15 s: a green thread of the forwarder is "
             "still parked (is every socket closed, in both directions?)");
    }
    thread.join();
    return result.get(); // rethrows what escaped the scenario
}

} // namespace

TEST_CASE("bytes sent to the forwarder reach the target, and its answers come back",
          "[exercise][forwarder]")
{
    const Seen seen = on_own_hub([](Seen& seen) {
        Target target(echo);
        Forwarder forwarder(target.address());
        GreenSocket client = forwarder.client();
        eventlet::BufferedReader reader(client);
        client.sendall("hello\n");
        seen["first"] = reader.readline();
        client.sendall("world\n");
        seen["second"] = reader.readline();
        client.close();
        forwarder.stop();
        target.stop();
    });
    CHECK(seen.at("first") == "hello\n");
    CHECK(seen.at("second") == "world\n");
}

TEST_CASE("a half-close is passed on in both directions", "[exercise][forwarder]")
{
    const Seen seen = on_own_hub([](Seen& seen) {
        // The target answers only once the client has ended its request.
        Target target([&seen](GreenSocket& connection) {
            seen["request"] = recv_all(connection);
            connection.sendall("response");
            connection.shutdown(eventlet::Shutdown::write);
            seen["after response"] = connection.recv(10); // the client has no more to say
        });
        Forwarder forwarder(target.address());
        GreenSocket client = forwarder.client();
        client.sendall("request");
        client.shutdown(eventlet::Shutdown::write);
        seen["response"] = recv_all(client);
        client.close();
        forwarder.stop();
        target.stop();
    });
    CHECK(seen.at("request") == "request");
    CHECK(seen.at("response") == "response");
    CHECK(seen.at("after response").empty());
}

TEST_CASE("when the target closes first, the client sees the end of the stream",
          "[exercise][forwarder]")
{
    const Seen seen = on_own_hub([](Seen& seen) {
        Target target([](GreenSocket& connection) {
            connection.sendall("bye");
            connection.close();
        });
        Forwarder forwarder(target.address());
        GreenSocket client = forwarder.client();
        seen["received"] = recv_all(client);
        client.close();
        forwarder.stop();
        target.stop();
    });
    CHECK(seen.at("received") == "bye");
}

TEST_CASE("a target that refuses closes the client's connection, and the forwarder goes on",
          "[exercise][forwarder]")
{
    const Seen seen = on_own_hub([](Seen& seen) {
        // A port where a socket is bound but nobody listens: refused.
        GreenSocket nobody(eventlet::Family::ipv4);
        nobody.bind({"127.0.0.1", 0});
        Forwarder forwarder(nobody.local_address());
        for (const char* name : {"first", "second"}) {
            GreenSocket client = forwarder.client();
            try {
                seen[name] = "received '" + recv_all(client) + "'";
            } catch (const eventlet::ConnectionReset&) {
                seen[name] = "received ''"; // a close with unread data is a reset
            }
        }
        seen["accepted"] = std::to_string(forwarder.stop());
    });
    CHECK(seen.at("first") == "received ''");
    CHECK(seen.at("second") == "received ''");
    CHECK(seen.at("accepted") == "2");
}

TEST_CASE("many clients are forwarded at once, each to its own connection",
          "[exercise][forwarder]")
{
    const Seen seen = on_own_hub([](Seen& seen) {
        Target target(echo);
        Forwarder forwarder(target.address());
        std::vector<eventlet::GreenThread<std::string>> clients;
        for (int i = 0; i < 50; ++i) {
            clients.push_back(eventlet::spawn([&forwarder, i] {
                GreenSocket client = forwarder.client();
                const std::string message = "client " + std::to_string(i) + " says hi";
                for (char c : message) { // byte by byte, interleaved with the others
                    client.sendall(std::string(1, c));
                    eventlet::sleep(0);
                }
                client.shutdown(eventlet::Shutdown::write);
                return recv_all(client);
            }));
        }
        int right = 0;
        for (int i = 0; i < 50; ++i)
            right += clients[static_cast<std::size_t>(i)].wait() ==
                     "client " + std::to_string(i) + " says hi";
        seen["right"] = std::to_string(right);
        seen["accepted"] = std::to_string(forwarder.stop());
        target.stop();
    });
    CHECK(seen.at("right") == "50");
    CHECK(seen.at("accepted") == "50");
}

TEST_CASE("a large transfer crosses the forwarder intact in both directions",
          "[exercise][forwarder]")
{
    const Seen seen = on_own_hub([](Seen& seen) {
        Target target(echo);
        Forwarder forwarder(target.address());
        GreenSocket client = forwarder.client();
        std::string payload(4 * 1024 * 1024, '\0');
        for (std::size_t i = 0; i < payload.size(); ++i)
            payload[i] = static_cast<char>(i * 7 % 253);
        // Written and read at once: the echo sends back while we still send.
        auto writer = eventlet::spawn([&] {
            client.sendall(payload);
            client.shutdown(eventlet::Shutdown::write);
        });
        const std::string echoed = recv_all(client);
        writer.wait();
        seen["intact"] = echoed == payload ? "yes" : "no, " + std::to_string(echoed.size()) + " bytes";
        client.close();
        forwarder.stop();
        target.stop();
    });
    CHECK(seen.at("intact") == "yes");
}

TEST_CASE("a client that aborts ends its connection to the target", "[exercise][forwarder]")
{
    const Seen seen = on_own_hub([](Seen& seen) {
        eventlet::Event<void> target_done;
        Target target([&](GreenSocket& connection) {
            connection.recv(1);
            connection.sendall("ack");
            try {
                seen["target read"] = recv_all(connection); // ends when the forwarder gives up
            } catch (const eventlet::SocketError&) {
                seen["target read"] = "reset";
            }
            target_done.send();
        });
        Forwarder forwarder(target.address());
        {
            GreenSocket client = forwarder.client();
            client.sendall("x");
            seen["ack"] = recv_all(client, 3);
            const linger abort{1, 0}; // close() sends a reset
            ::setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
        }
        if (seen["ack"] == "ack")
            target_done.wait();
        seen["accepted"] = std::to_string(forwarder.stop());
        target.stop();
    });
    REQUIRE(seen.at("ack") == "ack");
    CHECK((seen.at("target read") == "reset" || seen.at("target read").empty()));
    CHECK(seen.at("accepted") == "1");
}

TEST_CASE("forward returns the number of connections once its listener is closed",
          "[exercise][forwarder]")
{
    const Seen seen = on_own_hub([](Seen& seen) {
        Target target(echo);
        Forwarder forwarder(target.address());
        for (int i = 0; i < 3; ++i) {
            GreenSocket client = forwarder.client();
            client.sendall("ping");
            client.shutdown(eventlet::Shutdown::write);
            seen["reply " + std::to_string(i)] = recv_all(client);
        }
        seen["accepted"] = std::to_string(forwarder.stop());
        target.stop();
    });
    CHECK(seen.at("reply 2") == "ping");
    CHECK(seen.at("accepted") == "3");
}
