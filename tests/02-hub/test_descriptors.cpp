// Chapter 2: waiting for descriptors through the hub.
#include <catch2/catch.hpp>

#include <eventlet/hub.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "../support/hub_helpers.hpp"
#include "../support/timeout_message.hpp"

using eventlet::Hub;
using eventlet::Readiness;
using test_support::green;
using test_support::run_until_idle;
using test_support::start;

namespace {

// A pair of connected descriptors, closed when the test ends.
struct Pair {
    int fds[2] = {-1, -1};
    ~Pair()
    {
        for (int fd : fds)
            if (fd >= 0)
                ::close(fd);
    }
    int& a() { return fds[0]; }
    int& b() { return fds[1]; }
};

Pair make_pipe()
{
    Pair p;
    REQUIRE(::pipe2(p.fds, O_NONBLOCK | O_CLOEXEC) == 0);
    return p;
}

Pair make_socketpair()
{
    Pair p;
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p.fds) == 0);
    return p;
}

void write_all(int fd, const std::string& text)
{
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
}

} // namespace

TEST_CASE("a green thread waiting to read wakes when data arrives", "[hub][fd]")
{
    Pair pipe = make_pipe();
    std::vector<std::string> log;
    auto reader = green([&] {
        log.push_back("waiting");
        eventlet::trampoline(pipe.a(), Readiness::read);
        char buffer[16];
        const ssize_t n = ::read(pipe.a(), buffer, sizeof buffer);
        log.push_back("read " + std::string(buffer, static_cast<std::size_t>(n)));
    });
    auto writer = green([&] {
        log.push_back("writing");
        write_all(pipe.b(), "hello");
    });
    start(*reader);
    start(*writer);
    run_until_idle();
    CHECK(log == std::vector<std::string>{"waiting", "writing", "read hello"});
}

TEST_CASE("the root greenlet can wait on a descriptor", "[hub][fd]")
{
    Pair pipe = make_pipe();
    Hub::current().schedule_call(0.001, [&] { write_all(pipe.b(), "x"); });
    eventlet::trampoline(pipe.a(), Readiness::read);
    char c = 0;
    CHECK(::read(pipe.a(), &c, 1) == 1);
    CHECK(c == 'x');
}

TEST_CASE("a green thread waiting to write wakes when the peer drains the buffer", "[hub][fd]")
{
    Pair pair = make_socketpair();
    const std::string chunk(64 * 1024, 'z');
    std::size_t written = 0;
    while (::write(pair.a(), chunk.data(), chunk.size()) > 0)
        written += chunk.size();
    REQUIRE(errno == EAGAIN);
    bool writable = false;
    auto writer = green([&] {
        eventlet::trampoline(pair.a(), Readiness::write);
        writable = true;
    });
    auto drainer = green([&] {
        std::vector<char> buffer(1 << 20);
        while (::read(pair.b(), buffer.data(), buffer.size()) > 0) {
        }
    });
    start(*writer);
    eventlet::sleep(0); // the writer is now parked: its buffer is full
    CHECK_FALSE(writable);
    start(*drainer);
    run_until_idle();
    CHECK(writable);
}

TEST_CASE("a reader and a writer may wait on one descriptor at once", "[hub][fd]")
{
    Pair pair = make_socketpair();
    std::vector<std::string> log;
    auto reader = green([&] {
        eventlet::trampoline(pair.a(), Readiness::read);
        log.push_back("readable");
    });
    auto writer = green([&] {
        eventlet::trampoline(pair.a(), Readiness::write);
        log.push_back("writable");
    });
    start(*reader);
    start(*writer);
    // Wait for the writer's wake-up itself (at most 5 s): a fixed sleep may
    // end before the hub has looked at the descriptor on a loaded machine.
    for (int turns = 0; log.empty() && turns < 5000; ++turns)
        eventlet::sleep(0.001);
    CHECK(log == std::vector<std::string>{"writable"});
    write_all(pair.b(), "ping");
    run_until_idle();
    CHECK(log == std::vector<std::string>{"writable", "readable"});
}

TEST_CASE("two green threads may not wait to read the same descriptor", "[hub][fd]")
{
    Pair pipe = make_pipe();
    auto first = green([&] { eventlet::trampoline(pipe.a(), Readiness::read); });
    std::string error;
    auto second = green([&] {
        try {
            eventlet::trampoline(pipe.a(), Readiness::read);
        } catch (const std::logic_error& e) {
            error = e.what();
        }
    });
    start(*first);
    start(*second);
    eventlet::sleep(0.001);
    CHECK_THAT(error, Catch::Contains("two green threads wait for descriptor"));
    write_all(pipe.b(), "!"); // the first one still gets its wake-up
    run_until_idle();
    CHECK(first->dead());
}

TEST_CASE("a wait with a timeout throws TimeoutError when nothing arrives", "[hub][fd]")
{
    Pair pipe = make_pipe();
    const auto before = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(eventlet::trampoline(pipe.a(), Readiness::read, 0.02), eventlet::TimeoutError);
    CHECK(std::chrono::steady_clock::now() - before >= std::chrono::milliseconds(20));

    SECTION("an IOTimeout: an ordinary error, which a generic handler catches")
    {
        // Python's socket.timeout; only a Timeout scope's error is no std::exception.
        CHECK_THROWS_AS(eventlet::trampoline(pipe.a(), Readiness::read, 0.001), eventlet::IOTimeout);
        CHECK_THROWS_AS(eventlet::trampoline(pipe.a(), Readiness::read, 0.001), std::runtime_error);
    }

    SECTION("and the descriptor can be waited on again afterwards")
    {
        Hub::current().schedule_call(0.001, [&] { write_all(pipe.b(), "late"); });
        CHECK_NOTHROW(eventlet::trampoline(pipe.a(), Readiness::read, 5));
    }
}

TEST_CASE("a descriptor closed while a green thread waits on it wakes that green thread with "
          "an error",
          "[hub][fd]")
{
    Pair pipe = make_pipe();
    std::string error;
    auto reader = green([&] {
        try {
            eventlet::trampoline(pipe.a(), Readiness::read);
        } catch (const eventlet::IOClosed& e) {
            error = e.what();
        }
    });
    auto closer = green([&] {
        eventlet::notify_close(pipe.a());
        ::close(pipe.a());
        pipe.a() = -1;
    });
    start(*reader);
    start(*closer);
    run_until_idle();
    CHECK_THAT(error, Catch::Contains("was closed while a green thread waited on it"));
}

TEST_CASE("destroying a green thread that waits on a descriptor ends its wait", "[hub][fd]")
{
    Pair pipe = make_pipe();
    auto reader = green([&] { eventlet::trampoline(pipe.a(), Readiness::read); });
    start(*reader);
    eventlet::sleep(0);
    reader.reset();
    // Were the wait still registered, the hub would watch the pipe for ever
    // instead of reporting that nothing is left.
    CHECK_THROWS_AS(Hub::current().switch_to(), eventlet::Deadlock);
    // And the descriptor is free for a new waiter.
    Hub::current().schedule_call(0, [&] { write_all(pipe.b(), "again"); });
    CHECK_NOTHROW(eventlet::trampoline(pipe.a(), Readiness::read, 5));
}

TEST_CASE("waiting on a descriptor the hub cannot watch is a clear error", "[hub][fd]")
{
    CHECK_THROWS_AS(eventlet::trampoline(-1, Readiness::read), std::invalid_argument);
    Pair pipe = make_pipe();
    const int closed = pipe.a();
    ::close(closed);
    pipe.a() = -1;
    CHECK_THROWS_WITH(eventlet::trampoline(closed, Readiness::read),
                      Catch::Contains("cannot wait on descriptor " + std::to_string(closed)));
}

TEST_CASE("a busy green thread that keeps yielding does not starve I/O", "[hub][fd]")
{
    Pair pipe = make_pipe();
    bool data_seen = false;
    int spins = 0;
    auto spinner = green([&] {
        while (!data_seen && spins < 100'000) {
            ++spins;
            eventlet::sleep(0);
        }
    });
    auto reader = green([&] {
        eventlet::trampoline(pipe.a(), Readiness::read);
        data_seen = true;
    });
    write_all(pipe.b(), "ready before anyone runs");
    start(*reader);
    start(*spinner);
    run_until_idle();
    CHECK(data_seen);
    CHECK(spins < 100);
}
