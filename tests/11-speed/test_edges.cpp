// Chapter 11: descriptors registered once, edge-triggered. The kernel reports
// each arrival once; the hub must neither lose one nobody was waiting for nor
// wake a green thread for one whose data it already read.
#include <catch2/catch.hpp>

#include <eventlet/event.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <cerrno>
#include <chrono>
#include <string>

using eventlet::Hub;
using eventlet::Readiness;
using eventlet::Registration;
using eventlet::Tried;

namespace {

// Two connected non-blocking sockets, closed (after telling the hub) when
// the test ends.
struct SocketPair {
    int fds[2] = {-1, -1};
    SocketPair()
    {
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    }
    ~SocketPair()
    {
        for (int fd : fds) {
            eventlet::notify_close(fd);
            ::close(fd);
        }
    }
    SocketPair(const SocketPair&) = delete;
    SocketPair& operator=(const SocketPair&) = delete;
    int ours() const { return fds[0]; }
    int peer() const { return fds[1]; }
};

void send_byte(int fd, char byte) { REQUIRE(::write(fd, &byte, 1) == 1); }

// Reads until the kernel has nothing more, as a green socket does before it
// waits; returns what it read.
std::string drain(int fd)
{
    std::string got;
    char buffer[64];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) {
            got.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        REQUIRE(n < 0);
        REQUIRE(errno == EAGAIN);
        return got;
    }
}

// Two turns of the hub: whatever the kernel reported by now has been
// harvested (a turn runs its due calls, then looks at the descriptors).
void let_the_hub_turn_twice()
{
    eventlet::sleep(0);
    eventlet::sleep(0);
}

// Leaves `reader` with a spent edge: an arrival ("y") that the hub saw
// while nobody waited on the socket, and whose byte the test then read.
// Another socket keeps a green thread waiting, so that the hub looks at
// its descriptors on every turn.
struct SpentEdge {
    SocketPair reader;
    SocketPair other;
    eventlet::GreenThread<void> keeps_hub_looking;

    SpentEdge()
    {
        keeps_hub_looking = eventlet::spawn([fd = other.ours()] {
            eventlet::trampoline(fd, Readiness::read);
        });
        // The first wait registers the socket with the hub.
        auto first = eventlet::spawn([fd = reader.ours()] {
            eventlet::trampoline(fd, Readiness::read, std::nullopt, Registration::until_close,
                                 Tried::got_eagain);
        });
        send_byte(reader.peer(), 'x');
        first.wait();
        REQUIRE(drain(reader.ours()) == "x");

        send_byte(reader.peer(), 'y');
        let_the_hub_turn_twice();
        REQUIRE(drain(reader.ours()) == "y");
    }
    ~SpentEdge()
    {
        send_byte(other.peer(), 'z');
        keeps_hub_looking.wait();
    }
    SpentEdge(const SpentEdge&) = delete;
    SpentEdge& operator=(const SpentEdge&) = delete;
};

} // namespace

TEST_CASE("an arrival nobody waited for wakes the next wait at once", "[hub][fd][edge]")
{
    SpentEdge setup;
    // The edge of "y" came while nobody waited: a wait that has not tried
    // first must see it, or a caller that waits before reading would sleep
    // on data already there.
    bool returned = false;
    auto waiter = eventlet::spawn([&returned, fd = setup.reader.ours()] {
        eventlet::trampoline(fd, Readiness::read, std::nullopt, Registration::until_close,
                             Tried::not_yet);
        returned = true;
    });
    let_the_hub_turn_twice();
    CHECK(returned);
    waiter.wait();
}

TEST_CASE("a wait after EAGAIN skips an edge already spent, and wakes on the next arrival",
          "[hub][fd][edge]")
{
    SpentEdge setup;
    bool returned = false;
    std::string read_after_wake;
    auto waiter = eventlet::spawn([&, fd = setup.reader.ours()] {
        eventlet::trampoline(fd, Readiness::read, std::nullopt, Registration::until_close,
                             Tried::got_eagain);
        returned = true;
        read_after_wake = drain(fd);
    });
    // The kernel had nothing after "y": the waiter stays parked however
    // many turns pass...
    for (int turn = 0; turn < 5; ++turn)
        eventlet::sleep(0);
    CHECK_FALSE(returned);
    // ...until something new arrives.
    send_byte(setup.reader.peer(), 'z');
    waiter.wait();
    CHECK(returned);
    CHECK(read_after_wake == "z");
}

TEST_CASE("a descriptor waited on a thousand times keeps working", "[hub][fd][edge]")
{
    SocketPair pair;
    int received = 0;
    auto reader = eventlet::spawn([&received, fd = pair.ours()] {
        while (received < 1000) {
            eventlet::trampoline(fd, Readiness::read, std::nullopt, Registration::until_close,
                                 Tried::got_eagain);
            received += static_cast<int>(drain(fd).size());
        }
    });
    for (int i = 0; i < 1000; ++i) {
        send_byte(pair.peer(), 'b');
        eventlet::sleep(0);
    }
    reader.wait();
    CHECK(received == 1000);
}

TEST_CASE("a closed descriptor whose number comes back is watched afresh", "[hub][fd][edge]")
{
    int number = -1;
    {
        SocketPair first;
        number = first.ours();
        auto waiter = eventlet::spawn([fd = first.ours()] {
            eventlet::trampoline(fd, Readiness::read, std::nullopt, Registration::until_close,
                                 Tried::got_eagain);
        });
        send_byte(first.peer(), 'a');
        waiter.wait();
    } // notify_close() and close(): the number is free again
    SocketPair second;
    // The kernel hands out the lowest free number, so the new socket may get
    // the old one: the hub must not take it for the registration it forgot.
    INFO("the old number was " << number << ", the new one is " << second.ours());
    auto waiter = eventlet::spawn([fd = second.ours()] {
        eventlet::trampoline(fd, Readiness::read, std::nullopt, Registration::until_close,
                             Tried::got_eagain);
        return drain(fd);
    });
    send_byte(second.peer(), 'b');
    CHECK(waiter.wait() == "b");
}

TEST_CASE("Asio's own completions still run while green threads keep the hub busy",
          "[hub][asio]")
{
    // The hub looks at Asio's queue less often than at its own work while it
    // has work: less often must not mean never.
    bool posted_ran = false;
    asio::post(Hub::current().io_context(), [&posted_ran] { posted_ran = true; });
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    long turns = 0;
    while (!posted_ran && std::chrono::steady_clock::now() < give_up) {
        eventlet::sleep(0);
        ++turns;
    }
    INFO("after " << turns << " turns of sleep(0)");
    CHECK(posted_ran);
}
