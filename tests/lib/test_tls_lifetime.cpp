// A green thread waiting in a TLS send or handshake whose socket goes away
// (destroyed, or moved on its own thread or another): nothing of the object
// is touched after, and the engine that lives on knows what was abandoned.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tls.hpp>

#include <sys/socket.h>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <thread>

#include "../support/child_process.hpp"
#include "tls_pair.hpp"

using eventlet::GreenSocket;
namespace tls = eventlet::tls;

namespace {

// Room for one GreenSocket, so that a new one can be made exactly where a
// destroyed one was: a stale access to the old one then lands in the new
// one, in a release build as under ASan.
class Slot {
public:
    Slot() = default;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { destroy(); }

    GreenSocket& emplace(GreenSocket&& socket)
    {
        destroy();
        live_ = new (bytes_) GreenSocket(std::move(socket));
        return *live_;
    }
    void destroy()
    {
        if (live_ != nullptr)
            std::exchange(live_, nullptr)->~GreenSocket();
    }
    GreenSocket& get() { return *live_; }

private:
    alignas(GreenSocket) std::byte bytes_[sizeof(GreenSocket)];
    GreenSocket* live_ = nullptr;
};

// Small kernel buffers: a large send parks after a few records.
void shrink_buffers(GreenSocket& sender, GreenSocket& receiver)
{
    sender.set_option(SOL_SOCKET, SO_SNDBUF, 16 * 1024);
    receiver.set_option(SOL_SOCKET, SO_RCVBUF, 16 * 1024);
}

// A green thread parked in a TLS sendall() on `socket` of more than the
// kernel's buffers hold (`socket` may be destroyed under it later).
eventlet::GreenThread<void> park_a_send(GreenSocket& socket)
{
    static const std::string flood(4 << 20, 'x');
    auto writer = eventlet::spawn([&socket] { socket.sendall(flood); });
    tls_pair::until_parked_on(socket.fd());
    return writer;
}

enum class Call { send, handshake };
enum class Ending { kill, timeout };

// A green thread waits in `call` on a socket; the socket is destroyed and,
// in the same turn of the hub, before its IOClosed, the green thread is
// killed or its Timeout falls due. A healthy connection is moved to where
// the destroyed socket was, and must stay healthy.
void destroyed_then_interrupted(Call call, Ending ending)
{
    eventlet::Timeout bound(10);
    tls_pair::Pair victim = tls_pair::handshaken();
    auto [client, server] = test_support::connect_pair();
    Slot slot;
    GreenSocket& socket = slot.emplace(std::move(client));
    if (call == Call::send) {
        tls_pair::Pair pair = tls_pair::handshaken();
        shrink_buffers(pair.client, pair.server);
        socket = std::move(pair.client);
        server = std::move(pair.server); // never reads: the send parks
    } // else the server never answers: the handshake parks

    const std::string flood(4 << 20, 'x');
    const tls::Context client_side = tls_pair::trusting_client();
    std::chrono::steady_clock::time_point due{};
    auto waiter = eventlet::spawn([&] {
        std::optional<eventlet::Timeout> limit;
        if (ending == Ending::timeout) {
            limit.emplace(0.2);
            due = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        }
        if (call == Call::send)
            socket.sendall(flood);
        else
            tls::start_client(socket, "localhost", client_side);
    });
    tls_pair::until_parked_on(socket.fd());

    GreenSocket* moved = nullptr;
    auto destroy_and_reuse = [&] {
        slot.destroy(); // the waiter's IOClosed is due at the hub's next turn
        moved = &slot.emplace(std::move(victim.client));
    };
    if (ending == Ending::kill) {
        destroy_and_reuse();
        waiter.kill(); // thrown in at once, before that turn
        CHECK_THROWS_AS(waiter.wait(), eventlet::GreenletExit);
    } else {
        // The hub reads the clock once a turn, fires the timers due then,
        // and only after them resumes the waits a close ended. For the
        // Timeout to come first, the socket must go in a turn that starts
        // once it is due, woken by a call scheduled before: a green thread
        // wakes this one, then holds the hub until the Timeout is due.
        eventlet::Event<void> go;
        auto holder = eventlet::spawn([&] {
            go.send();
            while (std::chrono::steady_clock::now() < due) {
            }
        });
        go.wait();
        destroy_and_reuse();
        CHECK_THROWS_AS(waiter.wait(), eventlet::TimeoutError);
        holder.wait();
    }

    moved->sendall("still here");
    CHECK(victim.server.recv(std::size_t{64}) == "still here");
    victim.server.sendall("and well");
    CHECK(moved->recv(std::size_t{64}) == "and well");
}

} // namespace

TEST_CASE("a TLS send whose socket is destroyed, then killed before its IOClosed, touches "
          "nothing of the socket",
          "[tls][lifetime]")
{
    SECTION("killed") { destroyed_then_interrupted(Call::send, Ending::kill); }
    SECTION("its Timeout") { destroyed_then_interrupted(Call::send, Ending::timeout); }
}

TEST_CASE("a TLS handshake whose socket is destroyed, then killed before its IOClosed, "
          "touches nothing of the socket",
          "[tls][lifetime]")
{
    SECTION("killed") { destroyed_then_interrupted(Call::handshake, Ending::kill); }
    SECTION("its Timeout") { destroyed_then_interrupted(Call::handshake, Ending::timeout); }
}

TEST_CASE("a TLS send whose socket is freed, then killed before its IOClosed, reads no freed "
          "memory (ASan)",
          "[tls][lifetime]")
{
    eventlet::Timeout bound(10);
    tls_pair::Pair pair = tls_pair::handshaken();
    shrink_buffers(pair.client, pair.server);
    auto socket = std::make_unique<GreenSocket>(std::move(pair.client));
    auto writer = park_a_send(*socket);
    socket.reset();
    writer.kill();
    CHECK_THROWS_AS(writer.wait(), eventlet::GreenletExit);
}

TEST_CASE("a TLS send abandoned by a move of its socket leaves the moved-to socket fit only "
          "to be closed",
          "[tls][lifetime]")
{
    eventlet::Timeout bound(10);
    tls_pair::Pair pair = tls_pair::handshaken();
    shrink_buffers(pair.client, pair.server);
    auto writer = park_a_send(pair.client);
    GreenSocket moved = std::move(pair.client);
    CHECK_THROWS_AS(writer.wait(), eventlet::IOClosed);
    // Half a record went out: the next bytes cannot follow it.
    CHECK_THROWS_WITH(moved.send("more"), Catch::Contains("was cut short"));
    moved.close();
}

TEST_CASE("moving a socket on another OS thread than the one whose hub it waits on stops the "
          "program with a message that says so",
          "[tls][lifetime][threads]")
{
    if (!test_support::threads_in_child)
        return;
    for (const bool assign : {false, true}) {
        const auto child = test_support::run_in_child([assign] {
            auto [client, server] = test_support::connect_pair();
            auto socket = std::make_unique<GreenSocket>(std::move(server));
            auto reader = eventlet::spawn([&] { socket->recv(std::size_t{16}); });
            tls_pair::until_parked_on(socket->fd());
            std::thread([&] {
                GreenSocket elsewhere;
                if (assign) {
                    elsewhere = std::move(*socket); // the mistake
                } else {
                    GreenSocket taken(std::move(*socket)); // the mistake
                }
            }).join();
        });
        CHECK(child.killed_by(SIGABRT));
        CHECK_THAT(child.stderr_text, Catch::Contains("move on socket") && Catch::Contains("another OS thread"));
    }
}
