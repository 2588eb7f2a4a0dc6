// Chapter 11: a short read of a stream socket took all the kernel had; the
// socket does not ask again until the hub has seen new data, and must never
// miss data that did come.
#include <catch2/catch.hpp>

#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/socket.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "../support/net_helpers.hpp"

using test_support::connect_pair;

namespace {

std::optional<std::string> try_text(eventlet::GreenSocket& socket)
{
    char buffer[64];
    const auto got = socket.try_recv(std::span<char>(buffer));
    if (!got)
        return std::nullopt;
    return std::string(buffer, *got);
}

// Keeps a green thread parked on a descriptor of its own, so that the hub
// looks at its descriptors (and takes notes) on every turn.
struct BusyHub {
    int fds[2] = {-1, -1};
    eventlet::GreenThread<void> waiter;
    BusyHub()
    {
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
        waiter = eventlet::spawn([fd = fds[0]] { eventlet::trampoline(fd, eventlet::Readiness::read); });
        eventlet::sleep(0); // the waiter parks
    }
    ~BusyHub()
    {
        const char byte = 'x';
        (void)::write(fds[1], &byte, 1);
        waiter.wait();
        for (int fd : fds) {
            eventlet::notify_close(fd);
            ::close(fd);
        }
    }
    BusyHub(const BusyHub&) = delete;
    BusyHub& operator=(const BusyHub&) = delete;
};

} // namespace

TEST_CASE("after a short read, data that comes later is still received", "[socket][edge]")
{
    auto pair = connect_pair();
    auto first = eventlet::spawn([&pair] { pair.client.sendall("one"); });
    char buffer[64];
    CHECK(std::string(buffer, pair.server.recv(std::span<char>(buffer))) == "one"); // short
    first.wait();
    auto sender = eventlet::spawn([&pair] { pair.client.sendall("two"); });
    CHECK(std::string(buffer, pair.server.recv(std::span<char>(buffer))) == "two");
    sender.wait();
}

TEST_CASE("after a short read, try_recv finds nothing until new data, then finds it",
          "[socket][edge]")
{
    BusyHub busy;
    auto pair = connect_pair();
    // Sent while the server waits: the wait puts the socket in the hub's set.
    auto first = eventlet::spawn([&pair] { pair.client.sendall("one"); });
    char buffer[64];
    CHECK(std::string(buffer, pair.server.recv(std::span<char>(buffer))) == "one");
    first.wait();
    CHECK_FALSE(try_text(pair.server).has_value());
    pair.client.sendall("two");
    // The hub notes the arrival at its next turn; until then the socket may
    // say "nothing yet", never lose it.
    std::optional<std::string> got;
    for (int turn = 0; turn < 3 && !got; ++turn) {
        got = try_text(pair.server);
        if (!got)
            eventlet::sleep(0);
    }
    REQUIRE(got.has_value());
    CHECK(*got == "two");
}

TEST_CASE("with nobody waiting on a descriptor, try_recv after a short read asks the kernel",
          "[socket][edge]")
{
    // The hub takes no notes then: the socket cannot know that nothing came,
    // so it must look, or a loop of try_recv and sleep(0) would spin for ever.
    auto pair = connect_pair();
    pair.client.sendall("one");
    char buffer[64];
    CHECK(std::string(buffer, pair.server.recv(std::span<char>(buffer))) == "one");
    pair.client.sendall("two");
    const auto got = try_text(pair.server);
    REQUIRE(got.has_value());
    CHECK(*got == "two");
}

TEST_CASE("a read that fills the buffer leaves the rest to the next read", "[socket][edge]")
{
    BusyHub busy;
    auto pair = connect_pair();
    pair.client.sendall("abcdef");
    char small[3];
    REQUIRE(pair.server.recv(std::span<char>(small)) == 3); // full, not short
    CHECK(std::string(small, 3) == "abc");
    const auto rest = try_text(pair.server);
    REQUIRE(rest.has_value());
    CHECK(*rest == "def");
}

TEST_CASE("a moved socket keeps what it knows, and a closed one forgets it", "[socket][edge]")
{
    auto pair = connect_pair();
    pair.client.sendall("one");
    char buffer[64];
    CHECK(pair.server.recv(std::span<char>(buffer)) == 3);
    eventlet::GreenSocket moved = std::move(pair.server);
    pair.client.sendall("two");
    auto receiver = eventlet::spawn([&moved] {
        char inner[64];
        return std::string(inner, moved.recv(std::span<char>(inner)));
    });
    CHECK(receiver.wait() == "two");
}

TEST_CASE("after a short read, the end of the stream that came with the data is seen",
          "[socket][edge]")
{
    // The data and the FIN arrive together: one edge, taken by the wait.
    // The short read leaves the end in the kernel, and no edge will follow.
    BusyHub busy;
    for (int round = 0; round < 20; ++round) {
        auto pair = connect_pair();
        auto sender = eventlet::spawn([&pair] {
            pair.client.sendall("last words");
            pair.client.shutdown(eventlet::Shutdown::write);
        });
        char buffer[64];
        std::string got;
        for (std::size_t n; (n = pair.server.recv(std::span<char>(buffer))) > 0;)
            got.append(buffer, n);
        CHECK(got == "last words");
        sender.wait();
    }
}
