// What runs in the hub's own greenlet, and what must not: a GreenletExit
// that escapes a hub callback is that callback's failure, reported, not the
// end of the hub; std::exit() in a hub callback ends the process as it
// would anywhere; a green thread's function, with what it captured, is
// destroyed in the green thread, where a destructor may block.
#include <catch2/catch.hpp>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <eventlet/eventlet.hpp>

#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <unistd.h>

#include "../support/child_process.hpp"

namespace {

// The part of a test that runs in a child: a hub callback lets a GreenletExit
// out through `escape` (a scheduled call, or an Asio handler), then green
// threads and the root must still be able to wait.
void hub_context_let_exit_escape(const std::function<void(std::function<void()>)>& escape)
{
    auto victim = eventlet::spawn([] { eventlet::sleep(10); });
    eventlet::sleep(0);
    victim.kill();
    // wait() on a killed green thread rethrows the GreenletExit that ended it.
    escape([victim]() mutable { victim.wait(); });
    auto bystander = eventlet::spawn([] {
        eventlet::sleep(0.001);
        return 7;
    });
    if (bystander.wait() != 7)
        throw std::runtime_error("the bystander's result is lost");
    eventlet::Event<int> later;
    eventlet::Hub::current().schedule_call(0.001, [&later] { later.send(8); });
    if (later.wait() != 8)
        throw std::runtime_error("the event's value is lost");
}

// Counts destructions of a capture, and where they ran: in a green thread,
// where it yields as a flush over a socket would, or in the hub.
struct HubContextCapture {
    int* destroyed;
    int* in_hub;
    bool owner = true;
    HubContextCapture(int* destroyed_count, int* in_hub_count) : destroyed(destroyed_count), in_hub(in_hub_count) {}
    HubContextCapture(HubContextCapture&& other) noexcept
        : destroyed(other.destroyed), in_hub(other.in_hub), owner(std::exchange(other.owner, false))
    {
    }
    HubContextCapture& operator=(HubContextCapture&&) = delete;
    ~HubContextCapture()
    {
        if (!owner)
            return;
        ++*destroyed;
        if (&eventlet::Greenlet::current() == &eventlet::Hub::current().greenlet())
            ++*in_hub;
        else
            eventlet::sleep(0); // blocking is allowed here, in a green thread
    }
};

} // namespace

TEST_CASE("a GreenletExit that escapes a hub callback is reported, and the hub goes on", "[hub][lib]")
{
    SECTION("from a scheduled call")
    {
        const auto child = test_support::run_in_child(
            [] {
                hub_context_let_exit_escape([](std::function<void()> call) {
                    eventlet::Hub::current().schedule_call(0, std::move(call));
                });
            },
            10'000);
        INFO("the child's stderr: " << child.stderr_text);
        CHECK(child.exited());
        CHECK(child.exit_code() == 0);
        CHECK_THAT(child.stderr_text, Catch::Contains("a hub callback") && Catch::Contains("GreenletExit"));
    }
    SECTION("from an Asio handler on the hub's context")
    {
        const auto child = test_support::run_in_child(
            [] {
                hub_context_let_exit_escape([](std::function<void()> call) {
                    asio::post(eventlet::Hub::current().io_context(), std::move(call));
                });
            },
            10'000);
        INFO("the child's stderr: " << child.stderr_text);
        CHECK(child.exited());
        CHECK(child.exit_code() == 0);
        CHECK_THAT(child.stderr_text, Catch::Contains("a hub handler") && Catch::Contains("GreenletExit"));
    }
}

TEST_CASE("a green thread's captures are destroyed in the green thread, once", "[greenthread][lib]")
{
    int destroyed = 0;
    int in_hub = 0;
    SECTION("spawn_n")
    {
        eventlet::spawn_n([capture = HubContextCapture(&destroyed, &in_hub)] {});
        eventlet::sleep(0);
        eventlet::sleep(0);
    }
    SECTION("spawn, its handle dropped before it ends")
    {
        eventlet::spawn([capture = HubContextCapture(&destroyed, &in_hub)] { eventlet::sleep(0); });
        eventlet::sleep(0);
        eventlet::sleep(0);
        eventlet::sleep(0);
    }
    SECTION("spawn, waited for: the function is gone when wait() returns")
    {
        auto thread = eventlet::spawn([capture = HubContextCapture(&destroyed, &in_hub)] { return 5; });
        CHECK(thread.wait() == 5);
        CHECK(destroyed == 1);
    }
    SECTION("a function that throws")
    {
        auto thread = eventlet::spawn(
            [capture = HubContextCapture(&destroyed, &in_hub)]() -> int { throw std::runtime_error("no"); });
        CHECK_THROWS_AS(thread.wait(), std::runtime_error);
        CHECK(destroyed == 1);
    }
    SECTION("killed before it started: destroyed with the state")
    {
        {
            auto thread = eventlet::spawn([capture = HubContextCapture(&destroyed, &in_hub)] {});
            thread.kill();
        }
        CHECK(destroyed == 1);
    }
    CHECK(destroyed == 1);
    CHECK(in_hub == 0);
}

namespace {

// Made on an OS thread before its hub, so destroyed after it: ends the
// child with status 4 once the hub's destructor has returned (and before
// the test program's own static destructors could run).
struct HubContextExitAfterHub {
    ~HubContextExitAfterHub() { ::_exit(4); }
};

} // namespace

TEST_CASE("std::exit() called in a hub callback ends the process without a fault", "[hub][lib]")
{
    if (!test_support::threads_in_child)
        return; // a thread in a child of fork(): see child_process.hpp
    const auto child = test_support::run_in_child(
        [] {
            std::thread thread([] {
                thread_local HubContextExitAfterHub after_hub;
                eventlet::Hub::current().schedule_call(0, [] { std::exit(9); });
                eventlet::sleep(1);
                ::_exit(1); // exit() did not end the thread
            });
            thread.join();
        },
        10'000);
    INFO("the child's stderr: " << child.stderr_text);
    CHECK(child.exited());
    CHECK(child.exit_code() == 4);
}
