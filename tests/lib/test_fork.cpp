// What a child of fork() inherits from a process that used the library: the
// forking thread's hub goes on, with state of its own; the thread pools of
// the parent (lookups, tpool) are not there, and must not be waited for.
#include <catch2/catch.hpp>

#include <eventlet/address.hpp>
#include <eventlet/detail/lookup.hpp>
#include <eventlet/greenthread.hpp>
#include <eventlet/hub.hpp>
#include <eventlet/resolver.hpp>
#include <eventlet/signals.hpp>
#include <eventlet/socket.hpp>
#include <eventlet/timeout.hpp>
#include <eventlet/tpool.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"

namespace {

// A child may hang for good (its only OS thread blocked, where no Timeout
// fires): each runs within this bound, and is killed past it.
constexpr int child_bound_ms = 10000;

// The child ended by itself, and `body` returned.
void check_child(const test_support::ChildResult& result)
{
    INFO(result.stderr_text);
    CHECK(result.exited());
    CHECK(result.exit_code() == 0);
}

} // namespace

TEST_CASE("resolve() works in a child of fork() of a process whose lookup threads wait for work",
          "[fork][resolve]")
{
    const eventlet::detail::LookupFunction old = eventlet::detail::replace_lookup(
        [](const std::string&, std::uint16_t port) {
            return std::vector<eventlet::Address>{eventlet::Address("127.0.0.1", port)};
        });
    // A lookup thread now idles on the condition variable, which records it.
    CHECK(eventlet::resolve({"fork.test", 80}).size() == 1);
    const auto result = test_support::run_in_child(
        [] {
            for (int i = 0; i < 3; ++i) {
                if (eventlet::resolve({"fork.test", 80}).size() != 1)
                    throw std::runtime_error("resolve() in the child found no address");
            }
        },
        child_bound_ms);
    eventlet::detail::replace_lookup(old);
    check_child(result);
}

TEST_CASE("tpool works in a child of fork() of a process that used it, and its pools can be "
          "destroyed there",
          "[fork][tpool]")
{
    REQUIRE(eventlet::tpool::execute([] { return 41; }) == 41);
    // Its threads now idle on its condition variable, which records them.
    auto own = std::make_unique<eventlet::ThreadPool>(2);
    REQUIRE(own->execute([] { return 1; }) == 1);

    SECTION("a child destroys a pool (as exit() destroys tpool's)")
    {
        check_child(test_support::run_in_child([&own] { own.reset(); }, child_bound_ms));
    }
    SECTION("a child calls on the pools, then destroys one")
    {
        const auto result = test_support::run_in_child(
            [&own] {
                if (own->threads() != 0)
                    throw std::runtime_error("the child's pool has the parent's threads");
                if (eventlet::tpool::execute([] { return 42; }) != 42 || own->execute([] { return 7; }) != 7)
                    throw std::runtime_error("a pool call in the child returned a wrong result");
                own.reset();
            },
            child_bound_ms);
        check_child(result);
    }
    CHECK(own->execute([] { return 2; }) == 2); // the parent's pools are whole
    CHECK(eventlet::tpool::execute([] { return 43; }) == 43);
}

TEST_CASE("a fork-per-connection server answers every client: parent and child hubs steal no "
          "wake-ups from each other",
          "[fork][hub]")
{
    eventlet::GreenSocket listener = eventlet::listen({"127.0.0.1", 0});
    const eventlet::Address address = listener.local_address();
    std::vector<pid_t> children;
    auto server = eventlet::spawn([&] {
        for (;;) {
            auto [connection, peer] = listener.accept();
            const pid_t pid = ::fork();
            if (pid == 0) {
                listener.close(); // the child does not accept
                try {
                    connection.set_timeout(eventlet::Seconds(5));
                    const std::string request = connection.recv(100);
                    connection.sendall("got " + request);
                    connection.close();
                } catch (...) {
                    ::_exit(1);
                }
                ::_exit(0);
            }
            children.push_back(pid);
            connection.close(); // the parent does not serve
        }
    });
    // The clients run on an OS thread of their own, with its own hub: in a
    // child, the forking hub's green threads go on (a client parked in the
    // forking hub would go on there too, and send its request twice).
    std::vector<std::string> answers;
    int done[2];
    REQUIRE(::pipe(done) == 0);
    std::thread clients([&] {
        for (int i = 0; i < 5; ++i) {
            try {
                eventlet::GreenSocket client = eventlet::connect(address, eventlet::Seconds(3));
                client.set_timeout(eventlet::Seconds(3));
                client.sendall("request " + std::to_string(i));
                answers.push_back(client.recv(100));
            } catch (const std::exception& error) {
                answers.push_back(error.what());
            }
        }
        (void)::write(done[1], "d", 1);
    });
    try {
        eventlet::trampoline(done[0], eventlet::Readiness::read, eventlet::Seconds(30));
    } catch (const eventlet::IOTimeout&) {
    }
    clients.join();
    ::close(done[0]);
    ::close(done[1]);
    server.kill();
    for (const pid_t pid : children) {
        ::kill(pid, SIGKILL); // ended already, unless one hangs
        ::waitpid(pid, nullptr, 0);
    }
    REQUIRE(answers.size() == 5);
    for (int i = 0; i < 5; ++i)
        CHECK(answers[static_cast<std::size_t>(i)] == "got request " + std::to_string(i));
}

TEST_CASE("a signal sent to a child of fork() wakes the child's SignalSet, not the parent's",
          "[fork][hub][signals]")
{
    eventlet::SignalSet parent_set{SIGUSR1};
    bool parent_woken = false;
    auto parent_waiter = eventlet::spawn([&] {
        parent_set.wait();
        parent_woken = true;
    });
    eventlet::sleep(0); // the waiter waits: the parent's hub watches Asio's signal pipe
    int ready[2];
    int result[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(result) == 0);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(ready[0]);
        ::close(result[0]);
        parent_waiter.kill(); // the child's copy
        char got = 'n';
        try {
            eventlet::SignalSet child_set{SIGUSR1};
            // A turn that waits: the child's hub makes its own state before
            // it first looks at the kernel. (A sleep(0) turn may only run
            // what is ready, and look at nothing.)
            eventlet::sleep(0.001);
            (void)::write(ready[1], "r", 1);
            const eventlet::Timeout bound(eventlet::Seconds(5));
            if (child_set.wait() == SIGUSR1)
                got = 'y';
        } catch (...) {
        }
        (void)::write(result[1], &got, 1);
        ::_exit(0);
    }
    ::close(ready[1]);
    ::close(result[1]);
    char byte = 0;
    bool told = false;
    try {
        eventlet::trampoline(ready[0], eventlet::Readiness::read, eventlet::Seconds(5));
        told = ::read(ready[0], &byte, 1) == 1;
    } catch (const eventlet::IOTimeout&) {
    }
    CHECK(told);
    if (told)
        ::kill(pid, SIGUSR1);
    bool answered = false;
    try {
        // The parent's hub runs meanwhile, as it would steal the signal.
        eventlet::trampoline(result[0], eventlet::Readiness::read, eventlet::Seconds(5));
        answered = ::read(result[0], &byte, 1) == 1;
    } catch (const eventlet::IOTimeout&) {
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(ready[0]);
    ::close(result[0]);
    CHECK(answered);
    CHECK(byte == 'y');
    CHECK_FALSE(parent_woken);
    parent_waiter.kill();
}

namespace {

// Made on an OS thread before its hub, so destroyed after it when the
// thread ends: in a child of fork(), it ends the child there, once the hub
// is destroyed, before the test program's static destructors could run.
struct ExitInChild {
    pid_t parent = ::getpid();
    ~ExitInChild()
    {
        if (::getpid() != parent)
            ::_exit(0);
    }
};

} // namespace

TEST_CASE("a child of fork() that destroys its hub before it turns leaves the parent's hub whole",
          "[fork][hub]")
{
    // The answer comes from another OS thread, later: the parent's hub has
    // to sleep in Asio, which must still watch the hub's epoll set.
    int request[2];
    int answer[2];
    REQUIRE(::pipe(request) == 0);
    REQUIRE(::pipe(answer) == 0);
    std::thread peer([&] {
        char byte = 0;
        while (::read(request[0], &byte, 1) == 1)
            (void)::write(answer[1], &byte, 1);
    });
    const auto round_trip = [&] {
        (void)::write(request[1], "x", 1);
        try {
            eventlet::trampoline(answer[0], eventlet::Readiness::read, eventlet::Seconds(3));
        } catch (const eventlet::IOTimeout&) {
            return false;
        }
        char byte = 0;
        return ::read(answer[0], &byte, 1) == 1;
    };
    // On a thread of its own, whose end destroys its hub (the main thread's
    // is destroyed only by exit()).
    bool before = false;
    bool child_ended = false;
    bool after = false;
    std::thread forker([&] {
        thread_local ExitInChild exit_in_child;
        (void)exit_in_child.parent;
        before = round_trip(); // the hub's epoll set is in Asio's reactor now
        int ends[2];
        if (::pipe(ends) != 0)
            return;
        std::fflush(nullptr);
        const pid_t pid = ::fork();
        if (pid == 0)
            return; // the child's thread ends: its hub goes, then the child
        ::close(ends[1]);
        try {
            eventlet::trampoline(ends[0], eventlet::Readiness::read, eventlet::Seconds(10));
            child_ended = true;
        } catch (const eventlet::IOTimeout&) {
            ::kill(pid, SIGKILL);
        }
        ::close(ends[0]);
        ::waitpid(pid, nullptr, 0);
        after = round_trip();
    });
    forker.join();
    ::close(request[1]); // the peer's read returns 0: it ends
    peer.join();
    ::close(request[0]);
    ::close(answer[0]);
    ::close(answer[1]);
    CHECK(before);
    CHECK(child_ended);
    CHECK(after);
}
